# What the Slurm test scripts share (sourced by test_harness.sh and test_multinode.sh, which set
# HERE and TEST_NAME first): PASS/FAIL bookkeeping, the root check (exit 77: skipped), and the
# program and a Python with h5py found as a job script will find them.
fails=0
passes=0
pass() { passes=$((passes + 1)); echo "PASS: $*"; }
fail() { fails=$((fails + 1)); echo "FAIL: $*"; }
check() {  # check <description> <command...>
  local what=$1; shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}
note() { echo "  .. $*"; }
trap 'echo "$TEST_NAME: error at line $LINENO: $BASH_COMMAND" >&2' ERR

if ((EUID != 0)); then
  echo "SKIP: $TEST_NAME needs root"
  exit 77
fi

# ---- the program and Python -----------------------------------------------------------------
bin=${FIREFLIES_BIN:-$(command -v fireflies || true)}
if [[ -z $bin || ! -x $bin ]]; then
  echo "FAIL: no fireflies binary: set FIREFLIES_BIN or put it on PATH (ctest sets it)"
  exit 1
fi
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
[[ $(basename "$bin") == fireflies ]] || { echo "FAIL: $bin is not named fireflies (the scripts look for that name on PATH)"; exit 1; }
PATH=$(dirname "$bin"):$PATH
export PATH
unset FIREFLIES_BIN
PY=${FIREFLIES_PYTHON:-}
for candidate in $PY /usr/bin/python3 python3; do
  if "$candidate" -c 'import h5py, numpy' 2>/dev/null; then PY=$candidate; break; fi
done
"$PY" -c 'import h5py, numpy' 2>/dev/null || { echo "FAIL: no python3 with h5py and numpy (set FIREFLIES_PYTHON)"; exit 1; }
h5check() { "$PY" "$HERE/h5check.py" "$@"; }

# Waiting for Slurm jobs (a job id that is not a number: the submission was refused).
wait_until() {
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
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
  [[ $1 =~ ^[0-9]+$ ]] || { echo NOT-SUBMITTED; return 0; }
  wait_until "${2:-120}" job_done "$1" \
    || { echo "TIMEOUT-WAITING($(field "$1" JobState) $(field "$1" Reason))"; return 0; }
  field "$1" JobState
}
