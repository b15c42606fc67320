#!/usr/bin/env bash
# A newcomer's first half hour, end to end, on a fresh clone (ctest: newcomer; label newcomer).
#
#   bash tests/newcomer/test_newcomer.sh [REPO]      # REPO: a git checkout (default: this one)
#
# It clones REPO at its HEAD commit: only committed changes are seen (uncommitted edits and
# untracked files of the checkout are not part of the test). Then, in the clone, as the README
# and the scripts say:
#   1. git clone                      the clone is at REPO's HEAD and clean
#   2. ./scripts/run.sh --duration 20 --snapshot-every 5 -o tour.h5
#                                     builds the release preset, installs (FIREFLIES_PREFIX: a
#                                     temporary prefix, never the machine's /usr/local), runs
#                                     with mpirun; its last line says status=complete and
#                                     output=tour.h5; tour.h5 and its XDMF sidecar tour.xmf exist
#   3. fireflies --help / --version / a bad option
#                                     the installed program: usage on stdout, exit 0; the
#                                     version names the clone's commit; `--no-such-option` is
#                                     one line `fireflies: error: ...` on stderr, exit 2
#   4. Python                         Debian's python3 imports the INSTALLED fireflies_analysis
#                                     (the prefix's site dir, as Debian's python3 has for
#                                     /usr/local; no PYTHONPATH=scripts, run from elsewhere),
#                                     loads tour.h5: status complete, 41 samples of R in [0, 1];
#                                     ./scripts/report.sh tour.h5 writes its PNGs
#   5. ParaView                       xvfb-run -a pvbatch tests/paraview/check_xdmf.py tour.xmf
#                                     tour.h5 shot.png, when the clone has that file; else
#                                     "SKIP paraview: tests/paraview/check_xdmf.py not present"
#   6. Slurm                          the clone's tests/slurm/cluster.sh starts a private
#                                     single-node cluster (own directory and ports); a TOML made
#                                     with `fireflies ... --print-config` (as the README says) is
#                                     submitted with `sbatch --ntasks=2 jobs/fireflies.sbatch
#                                     tiny.toml`, fireflies found on PATH; the job ends COMPLETED,
#                                     its log says status=complete and "finished:", and its
#                                     output's status attribute is complete
# Every step checks its result (PASS/FAIL lines); exit 0 only if all pass. Steps 3-6 need the
# install of step 2: when 1 or 2 fails the test stops there.
#
# Needs root (run.sh's default, Slurm's daemons): exits 77 (ctest: skipped) otherwise. Takes
# about 2-4 minutes on 2 cores, mostly the clone's build. Every wait is bounded; the cluster is
# stopped on exit. Knobs: KEEP=1 keeps the work directory (kept anyway on failure);
# NEWCOMER_PYTHON (default /usr/bin/python3, Debian's); NEWCOMER_RANKS (FIREFLIES_RANKS for
# run.sh, default: run.sh's own default of 8); FIREFLIES_SLURM_DIR, FIREFLIES_SLURMCTLD_PORT,
# FIREFLIES_SLURMD_PORT (default: a directory in the work directory and the first two free ports
# from 16837 on, so that neither cluster.sh's defaults, the Slurm harness, nor another newcomer
# test running at the same time in another checkout are touched).
# shellcheck disable=SC2016  # single-quoted `bash -c` snippets expand in the child, on purpose
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "${1:-$HERE/../..}" && pwd)
PY=${NEWCOMER_PYTHON:-/usr/bin/python3}
RANKS=${NEWCOMER_RANKS:-}
KEEP=${KEEP:-0}
SLURM_DIR=${FIREFLIES_SLURM_DIR:-}
CTLD_PORT=${FIREFLIES_SLURMCTLD_PORT:-}
SLURMD_PORT=${FIREFLIES_SLURMD_PORT:-}

# A newcomer's environment: none of the developer's or ctest's FIREFLIES_* settings (such as
# FIREFLIES_BIN, which would make the job script skip the installed program), no PYTHONPATH.
while read -r var; do unset "$var"; done < <(compgen -e | grep -E '^(FIREFLIES_|PYTHONPATH$|PYTHONHOME$|VIRTUAL_ENV$)' || true)
# Open MPI refuses root without these (run.sh adds --allow-run-as-root and --oversubscribe
# itself; the Slurm job's mpirun/srun gets them from the environment sbatch passes on). Set
# here, in the test only.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export MPLBACKEND=Agg PYTHONDONTWRITEBYTECODE=1

passes=0
fails=0
pass() { passes=$((passes + 1)); echo "PASS: $*"; }
fail() { fails=$((fails + 1)); echo "FAIL: $*"; }
check() {  # check <description> <command...>
  local what=$1; shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}
stage() { echo "== $* (t=${SECONDS}s)"; }
show() {  # show <file> [lines]: the end of a log, indented
  echo "---- $1"
  tail -n "${2:-25}" "$1" 2>/dev/null | sed 's/^/  | /' || true
}
trap 'echo "test_newcomer.sh: error at line $LINENO: $BASH_COMMAND" >&2' ERR

if ((EUID != 0)); then
  echo "SKIP: the newcomer test needs root (run.sh installs as root; Slurm's daemons run as root)"
  exit 77
fi
command -v git >/dev/null || { echo "FAIL: git not found"; exit 1; }
"$PY" -c 'import h5py, numpy' 2>/dev/null || { echo "FAIL: $PY does not import h5py and numpy (set NEWCOMER_PYTHON)"; exit 1; }

work=$(mktemp -d /tmp/fireflies-newcomer.XXXXXX)
chmod 0755 "$work"
clone=$work/fireflies
SLURM_DIR=${SLURM_DIR:-$work/slurm}
port_busy() { ss -Htln "sport = :$1" 2>/dev/null | grep -q .; }
if [[ -z $CTLD_PORT || -z $SLURMD_PORT ]]; then
  for ((port = 16837; port < 16937; port += 2)); do
    port_busy "$port" || port_busy "$((port + 1))" || break
  done
  CTLD_PORT=$port SLURMD_PORT=$((port + 1))
fi
prefix=$work/prefix
cluster_started=0
cleanup() {
  local rc=$?
  trap - ERR
  if ((cluster_started)); then
    FIREFLIES_SLURM_DIR=$SLURM_DIR FIREFLIES_SLURMCTLD_PORT=$CTLD_PORT FIREFLIES_SLURMD_PORT=$SLURMD_PORT \
      timeout 60 "$clone/tests/slurm/cluster.sh" stop >/dev/null 2>&1 || echo "WARN: cluster stop failed" >&2
  fi
  echo "== $passes passed, $fails failed (t=${SECONDS}s)"
  if ((rc == 0 && fails == 0)) && [[ $KEEP != 1 ]]; then
    rm -rf "$work"
  else
    echo "work directory kept: $work"
  fi
  ((rc == 0 && fails == 0)) || exit 1
}
trap cleanup EXIT
stop_here() { echo "FAIL: $* (the later steps need it: stopping)"; fails=$((fails + 1)); exit 1; }

# ---- 1. clone ---------------------------------------------------------------------------------
stage "1. git clone $REPO (HEAD, committed state only)"
head=$(git -C "$REPO" rev-parse HEAD) || stop_here "$REPO is not a git checkout"
if [[ -n $(git -C "$REPO" status --porcelain --untracked-files=no 2>/dev/null) ]]; then
  echo "  .. note: $REPO has uncommitted changes; the clone (and so this test) does not see them"
fi
git clone --quiet "$REPO" "$clone" >"$work/clone.log" 2>&1 || { show "$work/clone.log"; stop_here "git clone"; }
git -C "$clone" -c advice.detachedHead=false checkout --quiet "$head" || stop_here "checkout $head in the clone"
check "1. the clone is at $REPO's HEAD ${head:0:12}" [ "$(git -C "$clone" rev-parse HEAD)" = "$head" ]
check "1. the clone is clean" [ -z "$(git -C "$clone" status --porcelain)" ]
cd "$clone"

# ---- 2. run.sh ---------------------------------------------------------------------------------
stage "2. ./scripts/run.sh --duration 20 --snapshot-every 5 -o tour.h5 (build, install into $prefix, run)"
export FIREFLIES_PREFIX=$prefix
[[ -n $RANKS ]] && export FIREFLIES_RANKS=$RANKS
rc=0
timeout 600 ./scripts/run.sh --duration 20 --snapshot-every 5 -o tour.h5 >"$work/run.out" 2>"$work/run.err" || rc=$?
unset FIREFLIES_PREFIX FIREFLIES_RANKS
echo "  .. run.sh exited $rc after ${SECONDS}s"
done_line=$(grep '^fireflies: done ' "$work/run.out" | tail -n 1 || true)
[[ -z $done_line ]] || echo "  .. $done_line"
if ((rc != 0)) || [[ -z $done_line ]]; then
  show "$work/run.err" 30
  show "$work/run.out"
  stop_here "2. run.sh exited $rc${done_line:+ ($done_line)}"
fi
check "2. run.sh's last line says status=complete" grep -q ' status=complete ' <<<"$done_line"
check "2. ... and output=tour.h5" grep -q ' output=tour\.h5$' <<<"$done_line"
check "2. tour.h5 exists" [ -s tour.h5 ]
check "2. its XDMF sidecar tour.xmf exists (snapshots)" [ -s tour.xmf ]
check "2. the program was installed into FIREFLIES_PREFIX ($prefix/bin/fireflies)" [ -x "$prefix/bin/fireflies" ]
[[ -x $prefix/bin/fireflies ]] || stop_here "2. no installed program"
# The machine's /usr/local is never touched here; the installed program is found on PATH, as
# /usr/local/bin is for a newcomer.
export PATH=$prefix/bin:$PATH

# ---- 3. the program's command line ---------------------------------------------------------------
stage "3. fireflies --help, --version, a bad option"
check "3. fireflies on PATH is the installed one" [ "$(command -v fireflies)" = "$prefix/bin/fireflies" ]
help_rc=0
fireflies --help >"$work/help.out" 2>"$work/help.err" || help_rc=$?
check "3. fireflies --help exits 0 ($help_rc)" [ "$help_rc" = 0 ]
check "3. fireflies --help prints the usage and the options" \
  bash -c 'grep -q "^Usage:" "$0" && grep -q -- "--duration" "$0" && grep -q -- "--snapshot-every" "$0"' "$work/help.out"
describe=$(git -C "$clone" describe --always --dirty --abbrev=12)
version=$(fireflies --version 2>&1 || true)
echo "  .. $version"
check "3. fireflies --version names the clone's commit ($describe)" grep -qF "(git $describe)" <<<"$version"
bad_rc=0
fireflies --no-such-option >"$work/bad.out" 2>"$work/bad.err" || bad_rc=$?
echo "  .. fireflies --no-such-option: exit $bad_rc, stderr: $(head -c 300 "$work/bad.err")"
check "3. a bad option exits 2 ($bad_rc)" [ "$bad_rc" = 2 ]
check "3. ... with one line 'fireflies: error: ...' on stderr" \
  bash -c '[[ $(wc -l <"$0") == 1 ]] && grep -q "^fireflies: error: .*no-such-option" "$0"' "$work/bad.err"
check "3. ... and nothing on stdout" [ ! -s "$work/bad.out" ]

# ---- 4. Python: the installed analysis module, report.sh --------------------------------------------
stage "4. R in Python with the installed fireflies_analysis; ./scripts/report.sh"
sitedir=$("$PY" -c 'import os, sysconfig; print(os.path.relpath(sysconfig.get_path("purelib"), sysconfig.get_path("data")))')
echo "  .. $PY's site directory for a prefix: $sitedir (/usr/local/$sitedir for /usr/local)"
check "4. run.sh installed fireflies_analysis into $prefix/$sitedir" [ -f "$prefix/$sitedir/fireflies_analysis/__init__.py" ]
check "4. /usr/local/$sitedir is on $PY's default sys.path" \
  env -u PYTHONPATH "$PY" -s -c 'import sys; sys.exit(sys.argv[1] not in sys.path)' "/usr/local/$sitedir"
mkdir -p "$work/notebook"
cat >"$work/notebook/check_run.py" <<'EOF'
import sys
from pathlib import Path

import numpy as np

import fireflies_analysis
from fireflies_analysis import load_run, summary

prefix, h5 = Path(sys.argv[1]).resolve(), sys.argv[2]
where = Path(fireflies_analysis.__file__).resolve()
assert where.is_relative_to(prefix), f"imported {where}, not the copy installed under {prefix}"
run = load_run(h5)
print(f"module {where}; status {run.status}; {len(run.R)} samples; "
      f"R from {run.R[0]:.3f} to {run.R[-1]:.3f}; R_state {run.R_state[-1]:.3f}")
assert run.status == "complete", run.status
assert len(run.t) == len(run.R) == 41, (len(run.t), len(run.R))     # 0, 0.5, ..., 20 s
assert np.isclose(run.t[-1], 20.0), run.t[-1]
assert np.all(np.isfinite(run.R)) and np.all((run.R >= 0) & (run.R <= 1)), run.R
assert run.snapshot_t is not None and len(run.snapshot_t) == 5, run.snapshot_t  # 0, 5, ..., 20 s
values = summary(run)
assert values["totals_consistent"], values
print("summary: final R", values.get("final_R"))
EOF
# Run from elsewhere, with only the prefix's site dir added (as Debian's python3 has
# /usr/local's on its path): no PYTHONPATH=scripts, not in the clone.
check "4. Debian's python3 loads tour.h5 through the installed fireflies_analysis: R is there" \
  bash -c 'cd "$0" && PYTHONPATH=$1 "$2" check_run.py "$3" "$4"' \
  "$work/notebook" "$prefix/$sitedir" "$PY" "$prefix" "$clone/tour.h5"
report_rc=0
timeout 180 ./scripts/report.sh tour.h5 >"$work/report.out" 2>&1 || report_rc=$?
check "4. ./scripts/report.sh tour.h5 exits 0 ($report_rc)" [ "$report_rc" = 0 ]
((report_rc == 0)) || show "$work/report.out"
for png in order_parameter.png snapshot_first.png snapshot_last.png blocks_R.png; do
  check "4. ... and writes tour-report/$png" [ -s "tour-report/$png" ]
done
check "4. ... and tour-report/summary.txt" [ -s tour-report/summary.txt ]

# ---- 5. ParaView ------------------------------------------------------------------------------------
stage "5. ParaView"
if [[ -f tests/paraview/check_xdmf.py ]]; then
  pv_rc=0
  timeout 180 xvfb-run -a pvbatch tests/paraview/check_xdmf.py tour.xmf tour.h5 "$work/paraview.png" \
    >"$work/paraview.out" 2>&1 || pv_rc=$?
  check "5. xvfb-run -a pvbatch tests/paraview/check_xdmf.py tour.xmf tour.h5 exits 0 ($pv_rc)" [ "$pv_rc" = 0 ]
  ((pv_rc == 0)) || show "$work/paraview.out"
  check "5. ... and writes the screenshot" [ -s "$work/paraview.png" ]
else
  echo "SKIP paraview: tests/paraview/check_xdmf.py not present"
fi

# ---- 6. Slurm ---------------------------------------------------------------------------------------
stage "6. a Slurm job: sbatch jobs/fireflies.sbatch tiny.toml on a private cluster ($SLURM_DIR, ports $CTLD_PORT/$SLURMD_PORT)"
export FIREFLIES_SLURM_DIR=$SLURM_DIR FIREFLIES_SLURMCTLD_PORT=$CTLD_PORT FIREFLIES_SLURMD_PORT=$SLURMD_PORT
cluster_started=1
if start_out=$(timeout 120 ./tests/slurm/cluster.sh start 2>"$work/cluster.err"); then
  eval "$start_out"
  pass "6. cluster.sh start ($start_out)"
else
  show "$work/cluster.err"
  stop_here "6. cluster.sh start"
fi
# The job scripts take nothing but the environment: not these knobs of the test cluster.
unset FIREFLIES_SLURM_DIR FIREFLIES_SLURMCTLD_PORT FIREFLIES_SLURMD_PORT
jobdir=$work/job
mkdir -p "$jobdir"
cd "$jobdir"
# The README's way to write a config: the settings as TOML with --print-config.
fireflies --width 16 --height 12 --duration 10 --seed 3 --print-config >tiny.toml
job=$(timeout 30 sbatch --parsable --ntasks=2 --time=5 "$clone/jobs/fireflies.sbatch" tiny.toml 2>"$work/sbatch.err") || job=
job=${job%%;*}
if [[ ! $job =~ ^[0-9]+$ ]]; then
  show "$work/sbatch.err"
  stop_here "6. sbatch jobs/fireflies.sbatch tiny.toml gave no job id ('$job')"
fi
echo "  .. job $job submitted"
state=
for ((i = 0; i < 240; i++)); do   # up to 120 s
  state=$(timeout 10 scontrol -o show job "$job" 2>/dev/null | grep -o ' JobState=[^ ]*' | cut -d= -f2 || true)
  case $state in COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | BOOT_FAIL | DEADLINE | PREEMPTED) break ;; esac
  sleep 0.5
done
log=fireflies-$job.log
out=fireflies-$job.h5
check "6. job $job COMPLETED ($state)" [ "$state" = COMPLETED ]
check "6. its log ($log) has the program's line status=complete" grep -q '^fireflies: done status=complete ' "$log"
check "6. ... and the job script's 'finished: $out'" grep -q "finished: $out" "$log"
[[ $state == COMPLETED ]] || show "$log" 40
# 10 s sampled every 0.5 s: 21 samples.
h5_complete() {
  [[ -f $1 ]] && "$PY" - "$1" <<'EOF'
import sys
import h5py
with h5py.File(sys.argv[1], "r") as f:
    status = f.attrs["status"]
    status = status.decode() if isinstance(status, bytes) else str(status)
    samples = f["timeseries/R"].shape[0]
print(f"  .. {sys.argv[1]}: status {status}, {samples} samples")
sys.exit(status != "complete" or samples != 21)
EOF
}
check "6. $out exists and says status complete" h5_complete "$out"
