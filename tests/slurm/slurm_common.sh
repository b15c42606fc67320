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
