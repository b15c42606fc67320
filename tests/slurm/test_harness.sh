#!/usr/bin/env bash
# End-to-end test of the job scripts in jobs/ with the REAL fireflies program on a private
# single-node Slurm (tests/slurm/cluster.sh: munged, slurmctld, slurmd, started and stopped here).
# The job scripts are submitted unchanged; only sizes are set, through sbatch options
# (--ntasks, --time, --array) and the environment the scripts document (FIREFLIES_OUTPUT,
# FIREFLIES_CHECKPOINT, FIREFLIES_CHECKPOINT_EVERY, LAUNCHER, RANKS, ...), and the run's size
# in the TOML config each job is given.
#
#   FIREFLIES_BIN=build/dev/src/fireflies bash tests/slurm/test_harness.sh
#
# What it shows (PASS/FAIL lines; exit 0 only if all pass):
#   A  fireflies.sbatch, one run (srun, PMIx when Slurm has it): COMPLETED, valid output,
#      identical to a run outside Slurm
#   B  sweep.sbatch, a 2-task array: both COMPLETED, valid outputs with each row's parameters
#   C  fireflies.sbatch preempted: `scancel --signal=USR1 --batch` mid-run -> checkpoint, exit 85,
#      the script requeues the job, the next segment restarts: COMPLETED, Restarts=1, and
#      /timeseries and /flashes bitwise identical to an uninterrupted run
#   D  fireflies.sbatch (mpirun) stopped with a plain scancel (SIGTERM everywhere) -> checkpoint,
#      not requeued; a new job with another --ntasks (srun) resumes it: identical as well
#   E  fireflies.sbatch killed while it writes a checkpoint after its first one, with
#      `scancel --signal=KILL <job>.0` (SIGKILL to every rank at once) and with
#      `scancel --signal=KILL <job>` (a cancel: SIGTERM, SIGKILL after KillWait): the last
#      complete checkpoint is whole (in the first case: unchanged), and a new job with another
#      rank count resumes from it: identical
#   F  scaling.sbatch on 1, 2, 3 ranks: a table with a row per mode and rank count
#
# The binary: FIREFLIES_BIN, else `fireflies` on PATH; its directory is put on PATH for the jobs
# (the scripts find it there), and job A also gets FIREFLIES_BIN. h5py: FIREFLIES_PYTHON, else
# /usr/bin/python3, else python3. Needs root (the daemons run as root): exits 77 (ctest: skipped)
# otherwise. Every wait is bounded; the cluster is stopped on exit in every case.
# Knobs: FIREFLIES_SLURM_DIR / FIREFLIES_SLURMCTLD_PORT / FIREFLIES_SLURMD_PORT (defaults below
# differ from cluster.sh's, so a developer's running cluster is not touched), KEEP=1 keeps the
# work directory.
# shellcheck disable=SC2016  # single-quoted `bash -c` snippets expand in the child, on purpose
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CLUSTER=$HERE/cluster.sh
export FIREFLIES_SLURM_DIR=${FIREFLIES_SLURM_DIR:-/tmp/fireflies-slurm-harness}
export FIREFLIES_SLURMCTLD_PORT=${FIREFLIES_SLURMCTLD_PORT:-16827}
export FIREFLIES_SLURMD_PORT=${FIREFLIES_SLURMD_PORT:-16828}
# Open MPI's mpirun refuses root without these, and this machine has fewer cores than ranks.
# They belong to the test's environment (sbatch passes it on to the jobs), never to the job
# scripts.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
# Keep Open MPI quiet and local in a container (no InfiniBand/UCX probing).
export OMPI_MCA_btl=self,vader OMPI_MCA_pml=ob1 OMPI_MCA_btl_vader_single_copy_mechanism=none

TEST_NAME=test_harness.sh
# shellcheck source=slurm_common.sh
source "$HERE/slurm_common.sh"
ckpt_ok() { h5check checkpoint "$1" >/dev/null; }
ran_with() {  # ran_with <output> <seed> <nudge>: the run's recorded settings
  local seed config
  seed=$(h5check attr "$1" seed) && config=$(h5check attr "$1" config) || return 1
  [[ $seed == "$2" ]] && grep -q "^nudge = $3 " <<<"$config"
}

work=$(mktemp -d /tmp/fireflies-harness.XXXXXX)
chmod 0755 "$work"
cleanup() {
  local rc=$?
  trap - ERR
  timeout 60 "$CLUSTER" stop >/dev/null 2>&1 || echo "WARN: cluster stop failed" >&2
  if ((fails == 0)) && [[ ${KEEP:-0} != 1 ]]; then
    rm -rf "$work"
  else
    echo "work directory kept: $work (cluster logs: $FIREFLIES_SLURM_DIR/log)"
  fi
  ((rc == 0 && fails == 0)) || exit 1
}
trap cleanup EXIT
cd "$work"

# ---- helpers -----------------------------------------------------------------------------
# wait_until <seconds> <command...>: poll every 0.1 s; false on timeout.
wait_job_array() {  # wait_job_array <array jobid> [seconds]: all tasks ended; echo their states
  local deadline=$((SECONDS + ${2:-120}))
  while [[ -n $(timeout 10 squeue -h -j "$1" -t PD,R,CG,CF,S -o %i 2>/dev/null) ]]; do
    ((SECONDS < deadline)) || break
    sleep 0.5
  done
  timeout 10 squeue -h -j "$1" -t all -o %T 2>/dev/null | sort | tr '\n' ' '
}
file_has() { [[ -f $1 ]] && grep -q -- "$2" "$1"; }
all_exist() { local f; for f; do [[ -e $f ]] || return 1; done; }
show_file() { echo "---- $1"; sed 's/^/  | /' "$1" 2>/dev/null | tail -n "${2:-40}"; }
# started <log>: the program's banner (printed by rank 0 once the run is set up) is in the log.
started() { file_has "$1" '^  output '; }
# tmp_at_least <checkpoint> <bytes>: a checkpoint write in progress has written that much.
tmp_at_least() {
  local t
  for t in "$(dirname "$1")/.$(basename "$1").tmp."*; do
    [[ -e $t ]] && (($(stat -c %s "$t" 2>/dev/null || echo 0) >= $2)) && return 0
  done
  return 1
}
# A run outside Slurm, for comparison.
reference() {  # reference <ranks> <output> <program options...>
  local n=$1 out=$2; shift 2
  if ((n == 1)); then
    timeout 300 "$bin" "$@" --speed 0 -o "$out" >"$out.log" 2>&1
  else
    timeout 300 mpirun -np "$n" "$bin" "$@" --speed 0 -o "$out" >"$out.log" 2>&1
  fi || { echo "reference run failed:"; tail -n 20 "$out.log"; return 1; }
}

# ---- 0. cluster ---------------------------------------------------------------------------
echo "== starting the private cluster ($FIREFLIES_SLURM_DIR, ports $FIREFLIES_SLURMCTLD_PORT/$FIREFLIES_SLURMD_PORT) (t=${SECONDS}s)"
if start_out=$(timeout 900 "$CLUSTER" start); then
  eval "$start_out"
  pass "cluster.sh start ($start_out)"
else
  fail "cluster.sh start"
  exit 1
fi
check "SLURM_CONF points into the private state dir" [ "$SLURM_CONF" = "$FIREFLIES_SLURM_DIR/etc/slurm.conf" ]
check "sinfo shows the node idle" bash -c '[[ $(timeout 10 sinfo -h -o %t) == idle ]]'
check "cluster.sh start is idempotent" bash -c '[[ $(timeout 60 "$0" start 2>/dev/null) == "$1" ]]' "$CLUSTER" "$start_out"
if timeout 10 srun --mpi=list 2>&1 | grep -qw pmix; then have_pmix=1; else have_pmix=0; fi
note "srun --mpi=list: $(timeout 10 srun --mpi=list 2>&1 | tr -s '\n\t ' ' ')"
note "fireflies: $bin ($("$bin" --version 2>&1 | head -n 1))"

# ---- configs and references -----------------------------------------------------------------
# quick: unpaced, for the single run and the sweep. paced: 40 s simulated at 8x (about 5 s of
# wall time per segment), so that a signal after ~1.5 s lands mid-run. big: 1500 x 1500, one
# checkpoint per epoch (~11 MB, about a second to write), for the hard kill during a write.
cat >quick.toml <<'EOF'
[fireflies]
width = 40
height = 30
duration = 30.0
seed = 11
EOF
cat >paced.toml <<'EOF'
[fireflies]
width = 48
height = 36
duration = 40.0
seed = 5
record-flashes = true
speed = 8.0
EOF
cat >big.toml <<'EOF'
[fireflies]
width = 1500
height = 1500
duration = 0.03
sample-every = 0.01
checkpoint-every = 0.01
EOF
printf '# sweep table: nudge x seed\nnudge\tseed\n0.1\t1\n\n0.3\t2\n' >params.tsv
echo "== reference runs outside Slurm (t=${SECONDS}s)"
check "reference: quick.toml at P=3" reference 3 ref-quick.h5 --config quick.toml
check "reference: paced.toml at P=3 (uninterrupted)" reference 3 ref-paced.h5 --config paced.toml

# ---- A, B, C, D1: submitted together ------------------------------------------------------
echo "== A, B, C, D: single run, array, preemption, restart with another rank count (t=${SECONDS}s)"
ja=$(FIREFLIES_BIN=$bin FIREFLIES_OUTPUT=a.h5 FIREFLIES_CHECKPOINT=a.ckpt \
  sbatch --parsable --ntasks=3 --overcommit --time=5 -o ff-a.log "$REPO/jobs/fireflies.sbatch" quick.toml)
jb=$(FIREFLIES_SWEEP_DIR=sweep sbatch --parsable --array=1-2 --ntasks=2 --overcommit --time=5 \
  -o sweep-%A-%a.log "$REPO/jobs/sweep.sbatch" params.tsv quick.toml)
jc=$(FIREFLIES_OUTPUT=c.h5 FIREFLIES_CHECKPOINT=c.ckpt \
  sbatch --parsable --ntasks=3 --overcommit --time=5 -o ff-c.log "$REPO/jobs/fireflies.sbatch" paced.toml)
jd=$(LAUNCHER=mpirun FIREFLIES_OUTPUT=d.h5 FIREFLIES_CHECKPOINT=d.ckpt \
  sbatch --parsable --ntasks=3 --overcommit --time=5 -o ff-d.log "$REPO/jobs/fireflies.sbatch" paced.toml)
note "jobs: A=$ja B=$jb C=$jc D=$jd"

# C: USR1 to the batch shell, as Slurm sends it before the time limit.
if wait_until 90 started ff-c.log; then
  sleep 1.5
  timeout 10 scancel --signal=USR1 --batch "$jc"
  c_signalled=1
else
  fail "job C ($jc) did not start within 90 s"
  c_signalled=0
fi
# D: a plain scancel: SIGTERM to every process of the job, mpirun included.
if wait_until 90 started ff-d.log; then
  sleep 1.5
  timeout 10 scancel "$jd"
  d_signalled=1
else
  fail "job D ($jd) did not start within 90 s"
  d_signalled=0
fi

st=$(wait_job "$ja")
check "A: fireflies.sbatch job $ja COMPLETED ($st)" [ "$st" = COMPLETED ]
if ((have_pmix)); then
  check "A: ran through srun --mpi=pmix" file_has ff-a.log 'srun --mpi=pmix'
else
  check "A: no PMIx in srun: fell back to mpirun" file_has ff-a.log 'falling back to mpirun'
fi
check "A: output valid (status complete, 1 segment, totals balance)" h5check valid a.h5 complete 1
check "A: /timeseries identical to the run outside Slurm" h5check same ref-quick.h5 a.h5 timeseries
[[ $st == COMPLETED ]] || show_file ff-a.log

states=$(wait_job_array "$jb")
check "B: both array tasks COMPLETED ($states)" [ "$states" = "COMPLETED COMPLETED " ]
for k in 1 2; do
  check "B: task $k output valid" h5check valid "sweep/sweep-$jb-$k.h5" complete
done
check "B: task 1 ran row 1 (seed 1, nudge 0.1)" ran_with "sweep/sweep-$jb-1.h5" 1 0.1
check "B: task 2 ran row 2 (seed 2, nudge 0.3)" ran_with "sweep/sweep-$jb-2.h5" 2 0.3
check "B: row recorded beside the output" file_has "sweep/sweep-$jb-2.params.tsv" $'^0.3\t2$'
[[ $states == "COMPLETED COMPLETED " ]] || { show_file "sweep-$jb-1.log"; show_file "sweep-$jb-2.log"; }

if ((c_signalled)); then
  st=$(wait_job "$jc" 150)
  check "C: preempted job $jc COMPLETED after a requeue ($st, Restarts=$(field "$jc" Restarts))" \
    [ "$st/$(field "$jc" Restarts)" = COMPLETED/1 ]
  check "C: the program checkpointed on the relayed USR1" file_has ff-c.log 'fireflies: checkpoint at t='
  check "C: exit 85 led to scontrol requeue" file_has ff-c.log 'job [0-9]* requeued'
  check "C: second segment resumed with --restart c.ckpt" file_has ff-c.log 'resuming from c.ckpt'
  check "C: output valid, status complete, 2 segments" h5check valid c.h5 complete 2
  check "C: /timeseries and /flashes bitwise identical to the uninterrupted run" \
    h5check same ref-paced.h5 c.h5 timeseries flashes
  [[ $st == COMPLETED ]] || show_file ff-c.log 60
fi

if ((d_signalled)); then
  st=$(wait_job "$jd")
  check "D: scancel stops job $jd for good ($st, Restarts=$(field "$jd" Restarts))" \
    [ "$st/$(field "$jd" Restarts)" = CANCELLED/0 ]
  check "D: the program checkpointed on SIGTERM" ckpt_ok d.ckpt
  check "D: the script did not requeue" file_has ff-d.log 'not requeued'
  check "D: output says checkpointed" h5check valid d.h5 checkpointed 1
  # Resume in a new job with 2 ranks instead of 3, through srun.
  jd2=$(FIREFLIES_OUTPUT=d.h5 FIREFLIES_CHECKPOINT=d.ckpt \
    sbatch --parsable --ntasks=2 --overcommit --time=5 -o ff-d2.log "$REPO/jobs/fireflies.sbatch" paced.toml)
  st=$(wait_job "$jd2")
  check "D: new job $jd2 with --ntasks=2 resumed and COMPLETED ($st)" [ "$st" = COMPLETED ]
  check "D: it resumed from d.ckpt" file_has ff-d2.log 'resuming from d.ckpt'
  check "D: output valid, status complete, 2 segments" h5check valid d.h5 complete 2
  check "D: /timeseries and /flashes bitwise identical to the uninterrupted run (3 -> 2 ranks)" \
    h5check same ref-paced.h5 d.h5 timeseries flashes
  [[ $st == COMPLETED ]] || { show_file ff-d.log 60; show_file ff-d2.log 60; }
fi

# ---- E: SIGKILL during a checkpoint write -----------------------------------------------------
# Two kinds of kill, each while the job writes a checkpoint after its first one:
#   E1 `scancel --signal=KILL <job>.0`: SIGKILL to every rank of the step at once (what a node
#      crash or the OOM killer does to the program);
#   E2 `scancel --signal=KILL <job>`: Slurm 22.05 handles this as a cancel: SIGTERM first,
#      SIGKILL KillWait (5 s here) later, wherever the program then is.
# Either way the last complete checkpoint must be whole, and a new job must resume from it.
echo "== E: SIGKILL during a checkpoint write (t=${SECONDS}s)"
check "reference: big.toml at P=1" reference 1 ref-big.h5 --config big.toml --checkpoint-every 0
kill_during_write() {  # kill_during_write <name> <scancel target suffix>
  local n=$1 suffix=$2 j st hash epoch j2 slow=()
  # The workers write a checkpoint in parallel faster than polling can catch: the job's ranks
  # load tests/checkpoint/slow_fsync.c, whose fsync of a checkpoint's temporary file first
  # sleeps 5 s, so the kill lands after the data and before the rename, every time.
  [[ -n ${FIREFLIES_SLOW_FSYNC:-} && -e $FIREFLIES_SLOW_FSYNC ]] &&
    slow=(LD_PRELOAD="$FIREFLIES_SLOW_FSYNC" FIREFLIES_TEST_FSYNC_DELAY=5)
  j=$(env "${slow[@]}" FIREFLIES_OUTPUT=$n.h5 FIREFLIES_CHECKPOINT=$n.ckpt \
    sbatch --parsable --ntasks=3 --overcommit --time=5 -o "ff-$n.log" "$REPO/jobs/fireflies.sbatch" big.toml)
  # The first checkpoint is in place, and the next write has 2 MB of its temporary file: hash
  # the checkpoint now, kill, and compare.
  if ! wait_until 150 all_exist "$n.ckpt" || ! wait_until 60 tmp_at_least "$n.ckpt" 2000000; then
    fail "$n: job $j did not reach a second checkpoint write"
    show_file "ff-$n.log"
    timeout 10 scancel "$j" || true
    return 0
  fi
  hash=$(sha256sum <"$n.ckpt")
  timeout 10 scancel --signal=KILL "$j$suffix"
  note "$n: scancel --signal=KILL $j$suffix during a write: $(stat -c '%n %s bytes' ".$n.ckpt.tmp."* 2>/dev/null | head -n 1)"
  st=$(wait_job "$j")
  check "$n: job $j ended ($st) without finishing" bash -c '[[ $0 == FAILED || $0 == CANCELLED ]]' "$st"
  if [[ $suffix == .0 ]]; then
    check "$n: the checkpoint is the one from before the kill (sha256)" [ "$(sha256sum <"$n.ckpt")" = "$hash" ]
    check "$n: the interrupted write left only its temporary file" all_exist ".$n.ckpt.tmp."*
  fi
  epoch=$(h5check checkpoint "$n.ckpt" || echo unreadable)
  check "$n: the last checkpoint is whole (h5py reads every dataset; epoch $epoch)" ckpt_ok "$n.ckpt"
  j2=$(FIREFLIES_OUTPUT=$n.h5 FIREFLIES_CHECKPOINT=$n.ckpt \
    sbatch --parsable --ntasks=2 --overcommit --time=5 -o "ff-$n-resume.log" "$REPO/jobs/fireflies.sbatch" big.toml)
  st=$(wait_job "$j2" 180)
  check "$n: a new job $j2 (2 ranks) resumed from it and COMPLETED ($st)" [ "$st" = COMPLETED ]
  check "$n: it resumed from $n.ckpt" file_has "ff-$n-resume.log" "resuming from $n.ckpt"
  if [[ $suffix == .0 ]]; then
    check "$n: it removed the unfinished temporary checkpoint" file_has "ff-$n-resume.log" "removing .*\.$n\.ckpt\.tmp\."
  fi
  check "$n: output valid, status complete" h5check valid "$n.h5" complete
  check "$n: /timeseries bitwise identical to the uninterrupted run" h5check same ref-big.h5 "$n.h5" timeseries
  [[ $st == COMPLETED ]] || { show_file "ff-$n.log"; show_file "ff-$n-resume.log"; }
}
kill_during_write e1 .0
kill_during_write e2 ""

# ---- F: scaling -------------------------------------------------------------------------------
echo "== F: jobs/scaling.sbatch (t=${SECONDS}s)"
jf=$(RANKS="1 2 3" DURATION=3 STRONG_WIDTH=64 STRONG_HEIGHT=64 WEAK_WIDTH=32 WEAK_HEIGHT_PER_WORKER=32 \
  REPEATS=1 SCALING_TSV=scaling.tsv SCALING_DIR=scaling \
  sbatch --parsable --ntasks=3 --overcommit --time=5 -o scaling.log "$REPO/jobs/scaling.sbatch")
st=$(wait_job "$jf")
check "F: scaling job $jf COMPLETED ($st)" [ "$st" = COMPLETED ]
check "F: scaling.tsv has a header and 6 rows" [ "$(wc -l <scaling.tsv 2>/dev/null || echo 0)" = 7 ]
check "F: every row has a wall time and a speedup" \
  bash -c '[[ $(awk -F"\t" "NR > 1 && \$8 == 1 && \$9 ~ /^[0-9.]+$/ && \$11 ~ /^[0-9.]+$/" scaling.tsv | wc -l) == 6 ]]'
check "F: weak k=3 has height 64 (2 workers x 32)" grep -qP '^weak\t3\t2\t32\t64\t2048\t3\t1\t' scaling.tsv
[[ $st == COMPLETED ]] || show_file scaling.log
[[ -f scaling.tsv ]] && show_file scaling.tsv

# ---- stop -----------------------------------------------------------------------------------
echo "== stopping the cluster (t=${SECONDS}s)"
check "cluster.sh stop" timeout 60 "$CLUSTER" stop
check "no daemon of ours left" bash -c '! timeout 30 "$0" status >/dev/null 2>&1' "$CLUSTER"

echo "== $passes passed, $fails failed (t=${SECONDS}s)"
((fails == 0))
