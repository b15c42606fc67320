#!/usr/bin/env bash
# End-to-end check of the private Slurm cluster (tests/slurm/cluster.sh) and of the job scripts
# in jobs/, with a stand-in for the fireflies binary (a shell script that speaks the same
# options, signals and exit codes), so it does not need the real program to be built.
#
#   bash tests/slurm/test_harness.sh        # prints PASS/FAIL lines; exit 0 only if all pass
#
# Needs root (the test cluster runs its daemons as root); exits 77 (ctest: skipped) otherwise.
# Every wait is bounded (at most 60 s each); the cluster is stopped on exit in every case.
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
# Open MPI's mpirun refuses root without these. They belong to the test's environment (sbatch
# passes it on to the jobs), never to the job scripts.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Keep Open MPI quiet and local in a container (no InfiniBand/UCX probing).
export OMPI_MCA_btl=self,vader OMPI_MCA_pml=ob1 OMPI_MCA_btl_vader_single_copy_mechanism=none

fails=0
passes=0
pass() { passes=$((passes + 1)); echo "PASS: $*"; }
fail() { fails=$((fails + 1)); echo "FAIL: $*"; }
check() {  # check <description> <command...>
  local what=$1; shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}
note() { echo "  .. $*"; }
trap 'echo "test_harness.sh: error at line $LINENO: $BASH_COMMAND" >&2' ERR

if ((EUID != 0)); then
  echo "SKIP: the Slurm harness needs root"
  exit 77
fi

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
# wait_until <seconds> <command...>: poll every 0.25 s; false on timeout.
wait_until() {
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.25
  done
}
field() {  # field <jobid> <Name>: one field of `scontrol show job` (first array element)
  timeout 10 scontrol -o show job "$1" 2>/dev/null | head -n 1 | grep -o " $2=[^ ]*" | head -n 1 | cut -d= -f2-
}
finished_state() {
  case $1 in
    COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | PREEMPTED | BOOT_FAIL | DEADLINE) return 0 ;;
  esac
  return 1
}
# job_done <jobid>: true once the job has ended. A requeued job is held for about 2 minutes
# (Reason=BeginTime); release it early so the test stays short, but not in the first seconds:
# slurmd refuses to launch a job again within the second in which it killed it ("Job N already
# killed, do not launch batch job") and the job then fails.
job_done() {
  local st restarts reason submitted
  st=$(field "$1" JobState)
  finished_state "$st" && return 0
  restarts=$(field "$1" Restarts)
  reason=$(field "$1" Reason)
  submitted=$(date -d "$(field "$1" SubmitTime)" +%s 2>/dev/null || echo 0)   # reset by a requeue
  if [[ $st == PENDING && ${restarts:-0} -gt 0 && $reason == BeginTime ]] \
     && (($(date +%s) - submitted >= 3)); then
    timeout 10 scontrol update JobId="$1" StartTime=now >/dev/null 2>&1 || true
  fi
  return 1
}
wait_job() {  # wait_job <jobid> [seconds]: wait for the end; echo the final state
  wait_until "${2:-60}" job_done "$1" \
    || { echo "TIMEOUT-WAITING($(field "$1" JobState) $(field "$1" Reason))"; return 0; }
  field "$1" JobState
}
wait_job_array() {  # wait_job_array <array jobid>: all tasks ended; echo their states
  local deadline=$((SECONDS + 60))
  while [[ -n $(timeout 10 squeue -h -j "$1" -t PD,R,CG,CF,S -o %i 2>/dev/null) ]]; do
    ((SECONDS < deadline)) || break
    sleep 0.5
  done
  timeout 10 squeue -h -j "$1" -t all -o %T 2>/dev/null | sort | tr '\n' ' '

}
file_has() { [[ -f $1 ]] && grep -q -- "$2" "$1"; }
count_lines() { if [[ -f $1 ]]; then grep -c -- "$2" "$1" || true; else echo 0; fi; }
running() { [[ $(field "$1" JobState) == RUNNING ]]; }
exists() { [[ -e $1 ]]; }
all_exist() { local f; for f; do [[ -e $f ]] || return 1; done; }
show_file() { echo "---- $1"; sed 's/^/  | /' "$1" 2>/dev/null | tail -n "${2:-40}"; }

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
check "cluster.sh status" bash -c 'timeout 30 "$0" status >/dev/null' "$CLUSTER"
if timeout 10 srun --mpi=list 2>&1 | grep -qw pmix; then have_pmix=1; else have_pmix=0; fi
note "srun --mpi=list: $(timeout 10 srun --mpi=list 2>&1 | tr -s '\n\t ' ' ')"

# ---- stand-ins ----------------------------------------------------------------------------
cat >hello.c <<'EOF'
#include <mpi.h>
#include <stdio.h>
int main(int argc, char **argv) {
  int rank, size;
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  printf("hello rank %d of %d\n", rank, size);
  MPI_Finalize();
  return 0;
}
EOF
check "mpicc compiles an MPI hello" timeout 60 mpicc -o hello hello.c

# A fake `fireflies`: same options, same signals, same exit codes (0 finished, 85 checkpointed).
#   STUB_MODE=ckpt     run until SIGUSR1/SIGTERM, then write the checkpoint and exit 85;
#                      with --restart FILE check FILE and finish (exit 0)
#   STUB_MODE=sweep    record the arguments in the output file, exit 0
#   STUB_MODE=scaling  print the end summary line with a wall time of 6/ranks seconds
cat >fireflies <<'EOF'
#!/bin/bash
set -Eeuo pipefail
rank=${OMPI_COMM_WORLD_RANK:-${PMIX_RANK:-${SLURM_PROCID:-0}}}
size=${OMPI_COMM_WORLD_SIZE:-${SLURM_NTASKS:-1}}
declare -A opt=()
all="$*"
while (($#)); do
  case $1 in
    --*=*) k=${1%%=*}; opt[${k#--}]=${1#*=}; shift ;;
    --*) opt[${1#--}]=${2:-}; shift 2 ;;
    *) shift ;;
  esac
done
echo "stub rank $rank/$size: $all"
case ${STUB_MODE:-ckpt} in
  ckpt)
    ckpt=${opt[checkpoint]:?--checkpoint missing}
    if [[ -n ${opt[restart]:-} ]]; then
      grep -q checkpointed "${opt[restart]}" || { echo "stub: bad checkpoint"; exit 1; }
      ((rank == 0)) && echo "finished after restart from ${opt[restart]}" >"${opt[output]}"
      echo "stub rank $rank: restarted and finished"
      exit 0
    fi
    stop=
    trap 'stop=USR1' USR1
    trap 'stop=TERM' TERM
    touch "$ckpt.ready.$rank"        # trap installed: safe to signal this rank
    # The signal reaches every process of the task, `sleep` included: its death must not end
    # this script through set -e.
    for ((i = 0; i < 600 && ${#stop} == 0; i++)); do sleep 0.1 || true; done
    [[ -n $stop ]] || { echo "stub rank $rank: no signal within 60 s"; exit 1; }
    ((rank == 0)) && echo "checkpointed on SIG$stop" >"$ckpt"
    echo "stub rank $rank: got SIG$stop, checkpointed"
    # Stands for the collective end of a checkpoint (all ranks done before any exits): mpirun
    # and srun --kill-on-bad-exit kill the other ranks as soon as one exits with 85.
    sleep 1 || true
    exit 85 ;;
  sweep)
    ((rank == 0)) && echo "$all" >"${opt[output]}"
    exit 0 ;;
  scaling)
    ((rank == 0)) && echo "fireflies: done t=${opt[duration]}s cells=$((opt[width] * opt[height])) wall=$(awk -v n="$size" 'BEGIN { printf "%.3f", 6 / n }')s"
    exit 0 ;;
esac
EOF
chmod +x fireflies
echo 'duration = 10.0' >run.toml

# ---- 1. a batch job with srun and mpirun ----------------------------------------------------
echo "== 1. sbatch --wait --ntasks=4 --overcommit: srun hostname, mpirun -np 4, srun --mpi=pmix (t=${SECONDS}s)"
cat >basic.sh <<EOF
#!/bin/bash
set -Eeuo pipefail
echo "nodelist=\$SLURM_JOB_NODELIST ntasks=\$SLURM_NTASKS"
srun hostname | sed 's/^/host: /'
mpirun -np 4 ./hello | sed 's/^/mpirun: /'
if [[ $have_pmix == 1 ]]; then srun --mpi=pmix ./hello | sed 's/^/pmix: /'; fi
EOF
if timeout 60 sbatch --wait --ntasks=4 --overcommit --time=2 -o basic.out basic.sh >basic.submit 2>&1; then
  pass "sbatch --wait returned 0 ($(cat basic.submit))"
else
  fail "sbatch --wait (exit $?): $(cat basic.submit)"
fi
check "srun hostname ran 4 tasks on $(hostname)" [ "$(count_lines basic.out "^host: $(hostname)\$")" = 4 ]
for r in 0 1 2 3; do
  check "mpirun -np 4: rank $r of 4" file_has basic.out "^mpirun: hello rank $r of 4\$"
done
if ((have_pmix)); then
  check "srun --mpi=pmix: 4 ranks of 4" [ "$(count_lines basic.out '^pmix: hello rank [0-3] of 4$')" = 4 ]
else
  note "no pmix plugin in srun: srun --mpi=pmix not tested"
fi
((fails == 0)) || show_file basic.out

# ---- 2. signals to the batch shell --------------------------------------------------------
echo "== 2. signals delivered to a batch script's trap (t=${SECONDS}s)"
cat >trap.sh <<'EOF'
#!/bin/bash
set -Eeuo pipefail
t0=$SECONDS
got=
trap 'got=USR1' USR1
# A child in the foreground would delay the trap until it ends: run it in the background and
# `wait`, which the signal interrupts.
sleep 120 &
child=$!
touch "$1.ready"
while [[ -z $got ]] && kill -0 "$child" 2>/dev/null; do wait "$child" || true; done
kill "$child" 2>/dev/null || true
echo "trap: got SIG${got:-none} after $((SECONDS - t0)) s"
[[ -n $got ]]
EOF
# --signal=B:USR1@58 with a 1-minute limit: due 2 s after the start (Slurm checks these
# about every 15-30 s, so it comes later; by its docs it may also come up to a minute early).
# Submitted first and checked last, so that its wait overlaps the next test.
jt=$(sbatch --parsable --time=1 --signal=B:USR1@58 -o trap-timer.out trap.sh trap-timer)
j=$(sbatch --parsable -o trap-scancel.out trap.sh trap-scancel)
if wait_until 60 exists trap-scancel.ready; then
  timeout 10 scancel --signal=USR1 --batch "$j"
  st=$(wait_job "$j")
  check "scancel --signal=USR1 --batch reaches the trap (job $j $st)" file_has trap-scancel.out '^trap: got SIGUSR1'
  check "job $j COMPLETED after the trap" [ "$st" = COMPLETED ]
else
  fail "job $j did not start within 60 s"
fi
st=$(wait_job "$jt" 60)
check "--signal=B:USR1@58 reaches the trap before the time limit (job $jt $st)" file_has trap-timer.out '^trap: got SIGUSR1'
note "$(grep '^trap:' trap-timer.out 2>/dev/null || echo 'no trap line')"

# ---- 3. scontrol requeue of a running job ---------------------------------------------------
echo "== 3. scontrol requeue (t=${SECONDS}s)"
cat >requeue.sh <<'EOF'
#!/bin/bash
set -Eeuo pipefail
n=${SLURM_RESTART_COUNT:-0}
echo "run restart=$n"
if ((n == 0)); then
  touch "$1.ready"
  sleep 120 &
  wait $! || true
  echo "first run not killed"
  exit 1
fi
echo "second run done"
EOF
j=$(sbatch --parsable --requeue --open-mode=append -o requeue.out requeue.sh requeue)
if wait_until 60 exists requeue.ready; then
  check "scontrol requeue $j" timeout 10 scontrol requeue "$j"
  check "requeued job is pending again with Restarts=1" wait_until 30 bash -c \
    '[[ $(scontrol -o show job "$0" | grep -o "JobState=[A-Z]*") == JobState=PENDING && $(scontrol -o show job "$0") == *Restarts=1* ]]' "$j"
  note "after requeue: $(timeout 10 scontrol -o show job "$j" | grep -oE '(JobState|Reason|EligibleTime)=[^ ]*' | tr '\n' ' ')"
  st=$(wait_job "$j")
  check "requeued job ran again and COMPLETED ($st)" [ "$st" = COMPLETED ]
  check "second run saw SLURM_RESTART_COUNT=1" file_has requeue.out '^run restart=1$'
  check "--open-mode=append kept the first run's output" file_has requeue.out '^run restart=0$'
else
  fail "job $j did not start within 60 s"
fi

# ---- 4. jobs/fireflies.sbatch: checkpoint, requeue, restart ---------------------------------
# Four runs, all with the stand-in program on 2 ranks:
#   a) LAUNCHER=srun, USR1 from `scancel --signal=USR1 --batch`, watched by `sbatch --wait`
#   b) LAUNCHER=mpirun, USR1 from --signal=B:USR1@58 (the script's own @120 is overridden)
#   c) plain scancel: checkpoint on SIGTERM, no requeue
#   d) scontrol requeue from outside: checkpoint on SIGTERM, Slurm requeues, resume
echo "== 4. jobs/fireflies.sbatch with a stand-in program (t=${SECONDS}s)"
export FIREFLIES_BIN=$work/fireflies STUB_MODE=ckpt
jb=$(LAUNCHER=mpirun FIREFLIES_OUTPUT=b.h5 FIREFLIES_CHECKPOINT=b.ckpt \
  sbatch --parsable --ntasks=2 --overcommit --time=1 --signal=B:USR1@58 -o ff-b.log \
  "$REPO/jobs/fireflies.sbatch" run.toml)
# a)
(
  LAUNCHER=srun FIREFLIES_CONFIG=run.toml FIREFLIES_OUTPUT=a.h5 FIREFLIES_CHECKPOINT=a.ckpt \
    timeout 90 sbatch --wait --job-name=ff-a --ntasks=2 --overcommit --time=5 -o ff-a.log \
    "$REPO/jobs/fireflies.sbatch" >ff-a.submit 2>&1 && rc=0 || rc=$?
  echo "$rc" >ff-a.rc
) &
waiter=$!
# (sbatch --wait prints the job id only when it exits, if its output is a file: ask squeue.)
ff_a_id() { ja=$(timeout 10 squeue -h -n ff-a -o %i 2>/dev/null | head -n 1); [[ -n $ja ]]; }
ja=
if wait_until 60 ff_a_id \
   && wait_until 60 all_exist a.ckpt.ready.0 a.ckpt.ready.1; then
  timeout 10 scancel --signal=USR1 --batch "$ja"
  st=$(wait_job "$ja")
  wait "$waiter" || true
  check "fireflies.sbatch (srun) job $ja COMPLETED after a requeue ($st)" [ "$st" = COMPLETED ]
  check "sbatch --wait followed the requeue and returned 0" [ "$(cat ff-a.rc 2>/dev/null)" = 0 ]
  check "batch trap forwarded USR1 to the srun step" file_has ff-a.log 'got SIGUSR1, checkpointed'
  check "exit 85 led to scontrol requeue" file_has ff-a.log 'job [0-9]* requeued'
  check "second segment resumed with --restart a.ckpt" file_has ff-a.log 'resuming from a.ckpt'
  check "program finished from the checkpoint" file_has a.h5 'finished after restart from a.ckpt'
  check "Restarts=1" [ "$(field "$ja" Restarts)" = 1 ]
else
  fail "fireflies.sbatch (srun): job did not start ($(cat ff-a.submit 2>/dev/null))"
  kill "$waiter" 2>/dev/null || true
  wait "$waiter" 2>/dev/null || true
fi
((fails == 0)) || show_file ff-a.log
# b) (submitted before a), so that its wait for the timed signal overlaps a))
st=$(wait_job "$jb" 60)
check "fireflies.sbatch (mpirun, --signal=B:USR1@58) job $jb COMPLETED after a requeue ($st)" [ "$st" = COMPLETED ]
check "mpirun forwarded USR1 to both ranks" [ "$(count_lines ff-b.log 'got SIGUSR1, checkpointed')" = 2 ]
check "second segment resumed and finished" file_has b.h5 'finished after restart from b.ckpt'
[[ $st == COMPLETED ]] || show_file ff-b.log
# c) plain scancel: the program checkpoints on SIGTERM, and the job is not requeued.
jc=$(FIREFLIES_OUTPUT=c.h5 FIREFLIES_CHECKPOINT=c.ckpt \
  sbatch --parsable --ntasks=2 --overcommit --time=5 -o ff-c.log "$REPO/jobs/fireflies.sbatch" run.toml)
if wait_until 60 all_exist c.ckpt.ready.0 c.ckpt.ready.1; then
  timeout 10 scancel "$jc"
  st=$(wait_job "$jc")
  check "scancel stops fireflies.sbatch job $jc for good ($st, Restarts=$(field "$jc" Restarts))" \
    [ "$st/$(field "$jc" Restarts)" = CANCELLED/0 ]
  check "the program checkpointed on SIGTERM" file_has c.ckpt 'checkpointed on SIGTERM'
  check "the script said it did not requeue" file_has ff-c.log 'not requeued'
  [[ $st == CANCELLED ]] || show_file ff-c.log
else
  fail "fireflies.sbatch job $jc did not start within 60 s"
fi
# d) `scontrol requeue` from outside (as preemption would): SIGTERM, checkpoint, Slurm requeues
#    the job itself, and the next segment resumes from the checkpoint.
jd=$(FIREFLIES_OUTPUT=d.h5 FIREFLIES_CHECKPOINT=d.ckpt \
  sbatch --parsable --ntasks=2 --overcommit --time=5 -o ff-d.log "$REPO/jobs/fireflies.sbatch" run.toml)
if wait_until 60 all_exist d.ckpt.ready.0 d.ckpt.ready.1; then
  timeout 10 scontrol requeue "$jd"
  st=$(wait_job "$jd")
  check "externally requeued fireflies.sbatch job $jd COMPLETED ($st, Restarts=$(field "$jd" Restarts))" \
    [ "$st/$(field "$jd" Restarts)" = COMPLETED/1 ]
  check "it checkpointed on SIGTERM and resumed from it" file_has d.h5 'finished after restart from d.ckpt'
  [[ $st == COMPLETED ]] || show_file ff-d.log
else
  fail "fireflies.sbatch job $jd did not start within 60 s"
fi
unset STUB_MODE

# ---- 5. jobs/sweep.sbatch -------------------------------------------------------------------
echo "== 5. jobs/sweep.sbatch: a job array over a parameter table (t=${SECONDS}s)"
printf '# a comment\nnudge\tseed\trefractory-mode\n0.1\t1\tdrop\n\n0.25\t7\tqueue\n' >params.tsv
ja=$(STUB_MODE=sweep FIREFLIES_SWEEP_DIR=sweep sbatch --parsable --array=1-2 --ntasks=2 --overcommit \
  -o sweep-%A-%a.log "$REPO/jobs/sweep.sbatch" params.tsv run.toml)
states=$(wait_job_array "$ja")
check "both array tasks COMPLETED ($states)" [ "$states" = "COMPLETED COMPLETED " ]
check "task 1 ran row 1" file_has "sweep/sweep-$ja-1.h5" '--nudge=0.1 --seed=1 --refractory-mode=drop'
check "task 2 ran row 2" file_has "sweep/sweep-$ja-2.h5" '--nudge=0.25 --seed=7 --refractory-mode=queue'
check "task 2 used the base config" file_has "sweep/sweep-$ja-2.h5" '--config run.toml'
check "row recorded beside the output" file_has "sweep/sweep-$ja-2.params.tsv" $'^0.25\t7\tqueue$'
j=$(STUB_MODE=sweep FIREFLIES_SWEEP_DIR=sweep sbatch --parsable --array=3 --ntasks=1 -o sweep-%A-%a.log \
  "$REPO/jobs/sweep.sbatch" params.tsv)
st=$(wait_job "$j")
check "a task beyond the table fails cleanly ($st)" [ "$st" = FAILED ]

# ---- 6. jobs/scaling.sbatch -----------------------------------------------------------------
echo "== 6. jobs/scaling.sbatch (t=${SECONDS}s)"
j=$(STUB_MODE=scaling RANKS="1 2 3" DURATION=5 REPEATS=2 SCALING_TSV=scaling.tsv SCALING_DIR=scaling \
  sbatch --parsable --ntasks=3 --overcommit -o scaling.log "$REPO/jobs/scaling.sbatch" run.toml)
st=$(wait_job "$j")
check "scaling job COMPLETED ($st)" [ "$st" = COMPLETED ]
check "scaling.tsv has a header and 6 rows" [ "$(wc -l <scaling.tsv 2>/dev/null || echo 0)" = 7 ]
check "strong k=3: wall 2 s, speedup 3, efficiency 1.5" \
  grep -qP '^strong\t3\t2\t256\t256\t65536\t5\t2\t2.000\t2.000,2.000\t3.0000\t1.5000$' scaling.tsv
check "weak k=3: height 256 for 2 workers, efficiency 3" \
  grep -qP '^weak\t3\t2\t128\t256\t32768\t5\t2\t2.000\t2.000,2.000\t3.0000\t3.0000$' scaling.tsv
[[ $st == COMPLETED ]] || show_file scaling.log
[[ -f scaling.tsv ]] && show_file scaling.tsv

# ---- stop -----------------------------------------------------------------------------------
echo "== stopping the cluster (t=${SECONDS}s)"
check "cluster.sh stop" timeout 60 "$CLUSTER" stop
check "cluster.sh stop again (idempotent)" timeout 60 "$CLUSTER" stop
check "no daemon of ours left" bash -c '! timeout 30 "$0" status >/dev/null 2>&1' "$CLUSTER"

echo "== $passes passed, $fails failed (t=${SECONDS}s)"
((fails == 0))
