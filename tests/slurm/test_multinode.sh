#!/usr/bin/env bash
# jobs/fireflies.sbatch across several (emulated) nodes, with the REAL fireflies program: a
# private 4-node Slurm cluster on this machine (tests/slurm/cluster.sh with
# FIREFLIES_SLURM_NODES=4: four slurmd daemons, node1..node4, 2 CPUs each, all on localhost),
# and Open MPI forced onto its network path between ranks (OMPI_MCA_pml=ob1,
# OMPI_MCA_btl=self,tcp: no shared memory, even between ranks of one node). The job script is
# submitted unchanged; sizes come from sbatch options and the environment it documents
# (FIREFLIES_BIN is a two-line wrapper that notes where each rank runs, then execs fireflies).
#
#   FIREFLIES_BIN=build/release/src/fireflies bash tests/slurm/test_multinode.sh
#
# What it shows (PASS/FAIL lines; exit 0 only if all pass):
#   0  the cluster: 4 nodes idle, `start` idempotent, `status` 0 and naming every node
#   A  one run on 4 nodes (--nodes=4 --ntasks=4 --ntasks-per-node=1), through srun --mpi=pmix
#      (A1) and through mpirun (A2, LAUNCHER=mpirun; Open MPI starts its daemons on the nodes with
#      srun): the ranks ran under 4 (A1) / at least 2 (A2) distinct slurmd's (each rank's
#      SLURMD_NODENAME, as the wrapper saw it just before exec), with OMPI_MCA_btl=self,tcp, and
#      /timeseries is bitwise identical to the same config run by the same script on 1 node (A0)
#   B  preempted and requeued onto another node count: a job of 4 ranks on 4 nodes
#      (--nodes=2-4 --ntasks=4 --spread-job), every rank holding a TCP connection to another
#      rank (ss -tnp), gets `scancel --signal=USR1 --batch` mid-run while
#      node3 and node4 are draining; it checkpoints (exit 85), the script requeues it, and the
#      same job continues on node1 and node2 only (2 ranks each): COMPLETED, Restarts=1, and
#      /timeseries and /flashes bitwise identical to an uninterrupted run
#   C  one node lost: a job on 4 nodes (1 rank each) writes periodic checkpoints; after the
#      first, SIGKILL to every fireflies process of the job whose SLURMD_NODENAME (in
#      /proc/PID/environ) is node3, which must be the rank the wrapper saw there; the job FAILS
#      and is not requeued; a new job on 2 nodes (2 ranks), given FIREFLIES_OUTPUT and
#      FIREFLIES_CHECKPOINT as the job script documents, resumes from the last checkpoint:
#      COMPLETED, /timeseries and /flashes bitwise identical to an uninterrupted run
#   Z  `status` fails once one slurmd is gone; `stop` stops every daemon
# The uninterrupted references are one process outside Slurm (the run is the same for any
# number of ranks).
#
# Proving the checks can fail: FIREFLIES_MULTINODE_BREAK=<what> sabotages one thing on purpose,
# and the checks named must then FAIL (the rest still pass):
#   seed    the references use another seed        -> every "bitwise identical" check
#   nodes   the "multi-node" jobs get --nodes=1     -> A1/A2 "ranks on N nodes", B "4 nodes",
#                                                      C "4 nodes" (and C "FAILED": no node3)
#   drain   B drains no node before the requeue    -> B "continued on node1,node2 only"
#   kill    C kills nothing                         -> C "the job FAILED", C "resumed"
#   shm     Open MPI may use shared memory          -> a1/a2 "OMPI_MCA_btl=self,tcp" (and, on the
#           (OMPI_MCA_btl=self,vader,tcp)              machine this was written on, B and C, whose
#                                                      ranks crash in the vader BTL: all emulated
#                                                      nodes share one /dev/shm and hostname)
# (B's "TCP connection to another rank" counts 0 for 4 ranks of one mpirun on self,vader and 4
# on self,tcp, tried by hand; with shm, B's ranks on 4 nodes still held TCP connections.)
#
# Needs root (the daemons run as root): exits 77 (ctest: skipped) otherwise. The binary:
# FIREFLIES_BIN, else `fireflies` on PATH. h5py: FIREFLIES_PYTHON, else /usr/bin/python3, else
# python3. Knobs: FIREFLIES_SLURM_DIR / FIREFLIES_SLURMCTLD_PORT / FIREFLIES_SLURMD_PORT (the
# 4 slurmd's use this port and the next 3; defaults below differ from cluster.sh's and
# test_harness.sh's), KEEP=1 keeps the work directory. Every wait is bounded; the cluster is
# stopped on exit in every case. About 1-2 minutes.
# shellcheck disable=SC2016  # single-quoted `bash -c` snippets expand in the child, on purpose
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CLUSTER=$HERE/cluster.sh
JOB=$REPO/jobs/fireflies.sbatch
export FIREFLIES_SLURM_DIR=${FIREFLIES_SLURM_DIR:-/tmp/fireflies-slurm-multinode}
export FIREFLIES_SLURMCTLD_PORT=${FIREFLIES_SLURMCTLD_PORT:-16837}
export FIREFLIES_SLURMD_PORT=${FIREFLIES_SLURMD_PORT:-16838}
export FIREFLIES_SLURM_NODES=4 FIREFLIES_SLURM_CPUS_PER_NODE=2
# Open MPI: root allowed, oversubscription allowed (2 real cores), and the network path only:
# ob1 over TCP, no shared-memory BTL (vader), as between real nodes. These belong to the
# test's environment (sbatch passes it on to the jobs), never to the job scripts.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
# TCP on the loopback interface, the emulated nodes' NodeAddr (Open MPI leaves 127.0.0.0/8 out
# by default and would need another interface).
export OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,tcp OMPI_MCA_btl_tcp_if_include=127.0.0.1/8
BREAK=${FIREFLIES_MULTINODE_BREAK:-}
case $BREAK in
  '' | seed | nodes | drain | kill) ;;
  shm) export OMPI_MCA_btl=self,vader,tcp ;;
  *) echo "FIREFLIES_MULTINODE_BREAK: seed, nodes, drain, kill or shm, not '$BREAK'"; exit 2 ;;
esac

TEST_NAME=test_multinode.sh
# shellcheck source=slurm_common.sh
source "$HERE/slurm_common.sh"

work=$(mktemp -d /tmp/fireflies-multinode.XXXXXX)
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

# ---- helpers (the job helpers as in test_harness.sh) --------------------------------------
file_has() { [[ -f $1 ]] && grep -q -- "$2" "$1"; }
show_file() { echo "---- $1"; sed 's/^/  | /' "$1" 2>/dev/null | tail -n "${2:-40}"; }
started() { file_has "$1" '^  output '; }   # the program's banner is in the log

# Where the ranks run. The jobs get FIREFLIES_BIN=$work/bin/fireflies-ranks, which appends
# "<segment> <rank> <node> <btl> <pid>" to $work/ranks-<jobid> and then execs the program (same
# pid, same environment): SLURMD_NODENAME is the slurmd that started the process (srun: the task
# itself; mpirun: the Open MPI daemon that forked it), the rank is Open MPI's
# (OMPI_COMM_WORLD_RANK under mpirun, PMIX_RANK under srun), the segment SLURM_RESTART_COUNT.
mkdir -p bin
cat >bin/fireflies-ranks <<EOF
#!/bin/bash
printf '%s %s %s %s %s\n' "\${SLURM_RESTART_COUNT:-0}" "\${OMPI_COMM_WORLD_RANK:-\${PMIX_RANK:-?}}" \\
  "\${SLURMD_NODENAME:-?}" "\${OMPI_MCA_btl:-?}" "\$\$" >>"$work/ranks-\${SLURM_JOB_ID:-none}"
exec "$bin" "\$@"
EOF
chmod 0755 bin/fireflies-ranks
export FIREFLIES_BIN=$work/bin/fireflies-ranks
ranks() {  # ranks <jobid> [segment]: "<rank> <node> <btl>" of each rank of that segment (0: first)
  awk -v s="${2:-0}" '$1 == s {print $2, $3, $4}' "ranks-$1" 2>/dev/null | sort -n
}
rank_count() { ranks "$@" | wc -l; }
nodes_of() { ranks "$@" | cut -d' ' -f2 | sort -u | paste -sd, -; }   # e.g. node1,node3
per_node() {  # e.g. node1:2,node2:2
  ranks "$@" | cut -d' ' -f2 | sort | uniq -c | awk '{printf "%s%s:%s", (NR > 1 ? "," : ""), $2, $1}'
}
all_tcp() { [[ -n $(ranks "$@") ]] && ! ranks "$@" | cut -d' ' -f3 | grep -qvx 'self,tcp'; }
show_ranks() { note "$1: $(ranks "${@:2}" | awk '{printf "rank %s@%s ", $1, $2}')"; }
# tcp_linked <pid...>: how many of these processes hold an established TCP connection whose
# other end is one of them (ss -tnp); fails without ss.
tcp_linked() {
  local out
  out=$(ss -Htnp state established 2>/dev/null) && [[ -n $out ]] || return 1
  awk -v pids=" $* " '
    { pid = ""; if (match($0, /pid=[0-9]+,/)) pid = substr($0, RSTART + 4, RLENGTH - 5)
      if (index(pids, " " pid " ") == 0) next
      n = 0; for (i = 1; i <= NF; i++) if ($i ~ /:[0-9]+$/) ends[++n] = $i
      if (n < 2) next
      owner[ends[1]] = pid; peer[NR] = ends[2]; from[NR] = pid }
    END { for (r in peer) if (peer[r] in owner) linked[from[r]] = 1
          c = 0; for (p in linked) c++; print c }' <<<"$out"
}
# node_procs <jobid> <node>: pids of the live fireflies processes of the job under that node's
# slurmd, found through /proc/PID/environ (SLURM_JOB_ID, SLURMD_NODENAME) alone.
node_procs() {
  local p comm e job node env=()
  for p in /proc/[0-9]*; do
    read -r comm 2>/dev/null <"$p/comm" || continue
    [[ $comm == fireflies ]] || continue
    mapfile -d '' env 2>/dev/null <"$p/environ" || continue
    job='' node=''
    for e in "${env[@]}"; do
      case $e in SLURM_JOB_ID=*) job=${e#*=} ;; SLURMD_NODENAME=*) node=${e#*=} ;; esac
    done
    if [[ $job == "$1" && $node == "$2" ]]; then echo "${p#/proc/}"; fi
  done | sort -n
}

# ---- 0. cluster ---------------------------------------------------------------------------
echo "== starting a private 4-node cluster ($FIREFLIES_SLURM_DIR, ports $FIREFLIES_SLURMCTLD_PORT," \
     "$FIREFLIES_SLURMD_PORT-$((FIREFLIES_SLURMD_PORT + 3))) (t=${SECONDS}s)"
if start_out=$(timeout 900 "$CLUSTER" start); then
  eval "$start_out"
  pass "cluster.sh start ($start_out)"
else
  fail "cluster.sh start"
  exit 1
fi
check "sinfo: node1..node4 idle, 2 CPUs each" \
  bash -c '[[ $(timeout 10 sinfo -h -N -o "%N %t %c" | sort | tr "\n" " ") == "node1 idle 2 node2 idle 2 node3 idle 2 node4 idle 2 " ]]'
check "cluster.sh start is idempotent (one export line)" \
  bash -c '[[ $(timeout 60 "$0" start 2>/dev/null) == "$1" ]]' "$CLUSTER" "$start_out"
check "cluster.sh status: 0, every node's slurmd running and idle" \
  bash -c 'out=$(timeout 60 "$0" status) && [[ $(grep -c "^slurmd node[1-4]: running (pid [0-9]*), node idle$" <<<"$out") == 4 ]]' "$CLUSTER"
check "srun -l on 4 nodes: each task under its own slurmd" \
  bash -c '[[ $(timeout 60 srun -l --nodes=4 --ntasks-per-node=1 printenv SLURMD_NODENAME | sort | tr "\n" " ") == "0: node1 1: node2 2: node3 3: node4 " ]]'
note "srun --mpi=list: $(timeout 10 srun --mpi=list 2>&1 | tr -s '\n\t ' ' ')"
if timeout 10 srun --mpi=list 2>&1 | grep -qw pmix; then have_pmix=1; else have_pmix=0; fi
note "fireflies: $bin ($("$bin" --version 2>&1 | head -n 1))"

# ---- configs and references ---------------------------------------------------------------
# quick: unpaced, for A. paced: 30 s simulated at 4x (about 8 s of wall time uninterrupted),
# so that a signal or a kill 2 s after the start lands mid-run; delay 0.05 s keeps the epochs
# (one TCP exchange each) few.
ref_seed_shift=0
[[ $BREAK == seed ]] && ref_seed_shift=1
quick() { printf '[fireflies]\nwidth = 40\nheight = 30\nduration = 20.0\ndelay = 0.05\nseed = %s\n' "$1"; }
paced() {
  printf '[fireflies]\nwidth = 48\nheight = 36\nduration = 30.0\ndelay = 0.05\nseed = %s\n' "$1"
  printf 'record-flashes = true\nspeed = 4.0\n'
}
quick 11 >quick.toml
quick $((11 + ref_seed_shift)) >quick-ref.toml
paced 5 >paced.toml
paced $((5 + ref_seed_shift)) >paced-ref.toml
echo "== reference outside Slurm (t=${SECONDS}s)"
check "reference: paced.toml in one process, uninterrupted" \
  bash -c 'timeout 120 "$0" --config paced-ref.toml --speed 0 -o ref-paced.h5 >ref-paced.log 2>&1' "$bin"

# Sizes of the multi-node jobs (BREAK=nodes: all on one node, which the node checks must catch).
# --ntasks as well as --ntasks-per-node: the job script's #SBATCH --ntasks=4 would win otherwise.
four_nodes=(--nodes=4 --ntasks=4 --ntasks-per-node=1)
[[ $BREAK == nodes ]] && four_nodes=(--nodes=1 --ntasks=4 --overcommit)

submit() {  # submit <name> <sbatch options...> -- <config>: FIREFLIES_OUTPUT=<name>.h5 ...
  local n=$1; shift
  local opts=()
  while [[ $1 != -- ]]; do opts+=("$1"); shift; done
  # A refused submission gives the job id "none" (wait_job: NOT-SUBMITTED).
  FIREFLIES_OUTPUT=$n.h5 FIREFLIES_CHECKPOINT=$n.ckpt \
    sbatch --parsable --time=5 -o "ff-$n.log" "${opts[@]}" "$JOB" "$2" \
    || { echo "  .. $n: sbatch ${opts[*]} refused (the checks on this job fail)" >&2; echo none; }
}

# ---- A: one run on 4 nodes, srun and mpirun, against the same on 1 node -----------------------
echo "== A: 4 nodes (srun, mpirun) vs 1 node (t=${SECONDS}s)"
submit_a() {  # submit_a <a0|a1|a2>: job A's runs
  case $1 in
    a0) submit a0 --nodes=1 --ntasks=4 --overcommit -- quick-ref.toml ;;
    a1) submit a1 "${four_nodes[@]}" -- quick.toml ;;
    a2) LAUNCHER=mpirun submit a2 "${four_nodes[@]}" -- quick.toml ;;
  esac
}
ja0=$(submit_a a0)
ja1=$(submit_a a1)
ja2=$(submit_a a2)
note "jobs: A0=$ja0 (1 node) A1=$ja1 (4 nodes, srun) A2=$ja2 (4 nodes, mpirun)"
launch_retries=0
for j in a0:$ja0 a1:$ja1 a2:$ja2; do
  n=${j%%:*} j=${j#*:}
  st=$(wait_job "$j")
  # Open MPI's TCP wire-up between emulated nodes (all on 127.0.0.1) has failed once at start-up
  # ("failed to TCP connect", then a rank's segfault) before the program wrote anything. Such a
  # launch, and only such, is submitted once more; it is counted and printed, never hidden.
  if [[ $st != COMPLETED && ! -e $n.h5 ]] && grep -q 'failed to TCP connect' "ff-$n.log"; then
    echo "NOTE: $n: job $j failed in Open MPI's TCP wire-up before the program started; its log:"
    show_file "ff-$n.log"
    launch_retries=$((launch_retries + 1))
    mv "ff-$n.log" "ff-$n.wireup-failure.log"
    j=$(submit_a "$n")
    printf -v "j${n}" '%s' "$j"
    st=$(wait_job "$j")
  fi
  check "$n: job $j COMPLETED ($st, nodes $(field "$j" NodeList))" [ "$st" = COMPLETED ]
  check "$n: output valid (status complete, 1 segment, totals balance)" h5check valid "$n.h5" complete 1
  [[ $st == COMPLETED ]] || show_file "ff-$n.log"
  show_ranks "$n" "$j"
done
check "a0: 4 ranks, all on one node ($(per_node "$ja0"))" \
  bash -c '[[ $0 == 4 && $1 != *,* ]]' "$(rank_count "$ja0")" "$(nodes_of "$ja0")"
if ((have_pmix)); then
  check "a1: launched with srun --mpi=pmix" file_has ff-a1.log 'srun --mpi=pmix'
else
  check "a1: no PMIx in srun: fell back to mpirun" file_has ff-a1.log 'falling back to mpirun'
fi
check "a1: 4 ranks on 4 nodes, one each ($(per_node "$ja1"))" \
  [ "$(per_node "$ja1")" = node1:1,node2:1,node3:1,node4:1 ]
check "a2: launched with mpirun" file_has ff-a2.log ': mpirun -np 4 '
check "a2: 4 ranks on at least 2 nodes ($(per_node "$ja2"))" \
  bash -c '[[ $0 == 4 && $1 == *,* ]]' "$(rank_count "$ja2")" "$(nodes_of "$ja2")"
check "a1: every rank had OMPI_MCA_btl=self,tcp" all_tcp "$ja1"
check "a2: every rank had OMPI_MCA_btl=self,tcp" all_tcp "$ja2"
check "a1: /timeseries bitwise identical to 1 node (a0)" h5check same a0.h5 a1.h5 timeseries
check "a2: /timeseries bitwise identical to 1 node (a0)" h5check same a0.h5 a2.h5 timeseries

# ---- B: preempted on 4 nodes, requeued onto 2 ---------------------------------------------
echo "== B: USR1 on 4 nodes, requeued, continued on 2 (t=${SECONDS}s)"
b_nodes=(--nodes=2-4 --ntasks=4 --spread-job)
[[ $BREAK == nodes ]] && b_nodes=(--nodes=1 --ntasks=4 --overcommit)
jb=$(FIREFLIES_CHECKPOINT_EVERY=0 submit b "${b_nodes[@]}" -- paced.toml)
note "job B=$jb"
if wait_until 60 started ff-b.log; then
  # The network path: each rank talks TCP to at least one other (the hub to every worker).
  b_pids=$(awk '$1 == 0 {print $5}' "ranks-$jb" 2>/dev/null | paste -sd' ' -)
  if command -v ss >/dev/null; then
    # shellcheck disable=SC2086  # one word per pid
    linked() { [[ $(tcp_linked $b_pids) == 4 ]]; }
    wait_until 10 linked || true
    # shellcheck disable=SC2086
    check "b: each of the 4 ranks has a TCP connection to another rank ($(tcp_linked $b_pids || echo "ss failed"))" linked
  else
    note "b: no ss here: the TCP connections between ranks are not checked"
  fi
  # node3 and node4 take no new work from now on; the running segment keeps them.
  [[ $BREAK == drain ]] || timeout 10 scontrol update NodeName=node3,node4 State=DRAIN Reason=multinode-test
  sleep 1.5
  timeout 10 scancel --signal=USR1 --batch "$jb"
  st=$(wait_job "$jb" 150)   # (releases the requeued job from its hold)
  timeout 10 scontrol update NodeName=node3,node4 State=RESUME 2>/dev/null || true
  show_ranks "b segment 1" "$jb" 0
  show_ranks "b segment 2" "$jb" 1
  check "b: job $jb COMPLETED after one requeue ($st, Restarts=$(field "$jb" Restarts))" \
    [ "$st/$(field "$jb" Restarts)" = COMPLETED/1 ]
  check "b: segment 1 ran 4 ranks on 4 nodes ($(per_node "$jb" 0))" \
    [ "$(per_node "$jb" 0)" = node1:1,node2:1,node3:1,node4:1 ]
  check "b: the program checkpointed on the relayed USR1" file_has ff-b.log 'fireflies: checkpoint at t='
  check "b: exit 85 led to scontrol requeue" file_has ff-b.log 'job [0-9]* requeued'
  check "b: segment 2 resumed from b.ckpt" file_has ff-b.log 'resuming from b.ckpt'
  check "b: segment 2 continued on node1, node2 only, 2 ranks each ($(field "$jb" NodeList): $(per_node "$jb" 1))" \
    [ "$(field "$jb" NodeList)/$(per_node "$jb" 1)" = "node[1-2]/node1:2,node2:2" ]
  check "b: output valid, status complete, 2 segments" h5check valid b.h5 complete 2
  check "b: /timeseries and /flashes bitwise identical to the uninterrupted run" \
    h5check same ref-paced.h5 b.h5 timeseries flashes
  [[ $st == COMPLETED ]] || show_file ff-b.log 60
else
  fail "b: job $jb did not start within 60 s"
  show_file ff-b.log
  timeout 10 scancel "$jb" || true
  timeout 10 scontrol update NodeName=node3,node4 State=RESUME 2>/dev/null || true
fi
check "b: node3, node4 back in service" \
  wait_until 30 bash -c '[[ $(timeout 10 sinfo -h -N -o "%N %t" | sort | tr "\n" " ") == "node1 idle node2 idle node3 idle node4 idle " ]]'

# ---- C: one node's ranks SIGKILLed after a periodic checkpoint; resumed on 2 nodes ----------
echo "== C: SIGKILL to the ranks on node3 after a checkpoint; resumed on 2 nodes (t=${SECONDS}s)"
jc=$(FIREFLIES_CHECKPOINT_EVERY=5 submit c "${four_nodes[@]}" -- paced.toml)
note "job C=$jc"
if wait_until 60 started ff-c.log && wait_until 60 test -e c.ckpt; then
  sleep 1
  victims=$(node_procs "$jc" node3 | paste -sd' ' -)
  epoch=$(h5check checkpoint c.ckpt 2>/dev/null || echo unreadable)
  note "c: SIGKILL to the fireflies processes of job $jc under node3's slurmd: pids ${victims:-none}" \
       "(last checkpoint: epoch $epoch)"
  if [[ $BREAK != kill && -n $victims ]]; then
    # shellcheck disable=SC2086  # one word per pid
    kill -KILL $victims
  fi
  st=$(wait_job "$jc" 90)
  show_ranks "c" "$jc"
  on_node3=$(awk '$1 == 0 && $3 == "node3" {print $5}' "ranks-$jc" 2>/dev/null | sort -n | paste -sd' ' -)
  check "c: the processes killed (${victims:-none}) were the ranks node3 hosted (${on_node3:-none})" \
    [ "${victims:-none}" = "${on_node3:-none}" ]
  check "c: the job ran on 4 nodes ($(per_node "$jc"))" [ "$(per_node "$jc")" = node1:1,node2:1,node3:1,node4:1 ]
  check "c: job $jc FAILED, not requeued ($st, Restarts=$(field "$jc" Restarts))" [ "$st/$(field "$jc" Restarts)" = FAILED/0 ]
  check "c: the script says so" file_has ff-c.log 'failed (code [0-9]*); not requeued'
  epoch=$(h5check checkpoint c.ckpt || echo unreadable)
  check "c: the last checkpoint is whole (h5py reads every dataset; epoch $epoch)" h5check checkpoint c.ckpt
  # Resume as the job script documents: a new job with the earlier job's files, on 2 nodes.
  jc2=$(submit c --nodes=2 --ntasks=2 --ntasks-per-node=1 -- paced.toml)
  st=$(wait_job "$jc2" 120)
  show_ranks "c resumed" "$jc2"
  check "c: a new job $jc2 resumed from c.ckpt and COMPLETED ($st)" \
    bash -c '[[ $0 == COMPLETED ]] && grep -q "segment 1: resuming from c.ckpt" ff-c.log' "$st"
  check "c: it ran on 2 nodes, 1 rank each ($(per_node "$jc2"))" [ "$(per_node "$jc2")" = node1:1,node2:1 ]
  check "c: output valid, status complete" h5check valid c.h5 complete
  check "c: /timeseries and /flashes bitwise identical to the uninterrupted run" \
    h5check same ref-paced.h5 c.h5 timeseries flashes
  [[ $st == COMPLETED ]] || show_file ff-c.log 60
else
  fail "c: job $jc did not start or wrote no checkpoint within 60 s"
  show_file ff-c.log
  timeout 10 scancel "$jc" || true
fi

# ---- Z: status notices a missing node; stop ---------------------------------------------------
echo "== stopping (t=${SECONDS}s)"
pid4=$(cat "$FIREFLIES_SLURM_DIR/run/slurmd-node4.pid" 2>/dev/null || true)
if [[ -n $pid4 && $(cat "/proc/$pid4/comm" 2>/dev/null) == slurmd ]]; then
  kill -TERM "$pid4"
  wait_until 10 bash -c '! test -d /proc/$0' "$pid4" || true
fi
check "cluster.sh status fails without node4's slurmd" \
  bash -c 'out=$(timeout 30 "$0" status); rc=$?; ((rc != 0)) && grep -q "^slurmd node4: not running" <<<"$out"' "$CLUSTER"
check "cluster.sh stop" timeout 60 "$CLUSTER" stop
check "no daemon of ours left" bash -c '! timeout 30 "$0" status >/dev/null 2>&1' "$CLUSTER"
check "no slurmd of ours left" bash -c '! pgrep -f -- "-f $0/etc/slurm.conf" >/dev/null' "$FIREFLIES_SLURM_DIR"

echo "== $passes passed, $fails failed (t=${SECONDS}s)"
((fails == 0))
