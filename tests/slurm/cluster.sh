#!/usr/bin/env bash
# Private single-node Slurm cluster for tests: munged + slurmctld + slurmd, all as root,
# all state under one directory, own config file, own munge socket, own ports.
#
#   eval "$(tests/slurm/cluster.sh start)"   # start (installs slurm-wlm and munge if missing)
#   tests/slurm/cluster.sh status            # daemons, sinfo; exit 0 only if the node is usable
#   tests/slurm/cluster.sh stop              # cancel our jobs, stop our daemons (idempotent)
#   tests/slurm/cluster.sh env               # print the export line again
#
# `start` prints exactly one line on stdout, `export SLURM_CONF=...`; everything else goes to
# stderr. Clients (sinfo, sbatch, srun, ...) find this cluster only through SLURM_CONF, so a
# system-wide Slurm on the same machine (in /etc/slurm, ports 6817/6818, /run/munge) is left
# alone.
#
# Knobs (environment):
#   FIREFLIES_SLURM_DIR        state directory            (default /tmp/fireflies-slurm)
#   FIREFLIES_SLURMCTLD_PORT   slurmctld port             (default 16817)
#   FIREFLIES_SLURMD_PORT      slurmd port                (default 16818)
#   FIREFLIES_SLURM_MPI        MpiDefault                 (default none; pmix is listed by
#                                                          `srun --mpi=list` either way)
#   FIREFLIES_SLURM_NO_INSTALL set to 1 to fail instead of running apt-get
set -Eeuo pipefail

DIR=${FIREFLIES_SLURM_DIR:-/tmp/fireflies-slurm}
CTLD_PORT=${FIREFLIES_SLURMCTLD_PORT:-16817}
SLURMD_PORT=${FIREFLIES_SLURMD_PORT:-16818}
MPI_DEFAULT=${FIREFLIES_SLURM_MPI:-none}
NODE=localhost            # NodeName; slurmd is started with -N localhost, so the real
                          # hostname does not matter
CONF=$DIR/etc/slurm.conf
MUNGE_DIR=$DIR/munge
MUNGE_SOCKET=$MUNGE_DIR/munge.socket.2
WAIT_S=60                 # every wait in this script is bounded by this

log() { printf 'cluster.sh: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
trap 'log "failed at line $LINENO: $BASH_COMMAND"' ERR

export SLURM_CONF=$CONF

# --------------------------------------------------------------------------------------------
# pid-file helpers: a pid counts as ours only if the process is alive and its executable name
# is the daemon we expect (guards against a recycled pid after a crash or reboot).
pid_of() {  # pid_of <pidfile> <comm>
  local f=$1 comm=$2 pid
  [[ -s $f ]] || return 1
  pid=$(<"$f")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [[ -r /proc/$pid/comm && $(</proc/"$pid"/comm) == "$comm" ]] || return 1
  printf '%s\n' "$pid"
}

stop_daemon() {  # stop_daemon <pidfile> <comm>
  local f=$1 comm=$2 pid i
  if pid=$(pid_of "$f" "$comm"); then
    log "stopping $comm (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do            # up to 10 s, then SIGKILL
      [[ -d /proc/$pid ]] || break
      sleep 0.1
    done
    if [[ -d /proc/$pid ]]; then
      log "$comm (pid $pid) ignored SIGTERM; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2
    fi
  fi
  rm -f "$f"
}

# --------------------------------------------------------------------------------------------
install_if_missing() {
  local need=()
  command -v slurmctld >/dev/null || need+=(slurmctld)
  command -v slurmd >/dev/null || need+=(slurmd)
  command -v sbatch >/dev/null || need+=(slurm-client)
  command -v munged >/dev/null || need+=(munge)
  ((${#need[@]} == 0)) && return 0
  [[ ${FIREFLIES_SLURM_NO_INSTALL:-0} == 1 ]] && die "missing ${need[*]} and FIREFLIES_SLURM_NO_INSTALL=1"
  log "installing slurm-wlm munge (missing: ${need[*]})"
  export DEBIAN_FRONTEND=noninteractive
  if ! timeout 600 apt-get install -y --no-install-recommends slurm-wlm munge >&2; then
    log "apt-get install failed; running apt-get update and retrying"
    timeout 600 apt-get update >&2
    timeout 600 apt-get install -y --no-install-recommends slurm-wlm munge >&2
  fi
  # The Debian packages try to start the system-wide services; where there is an init system
  # they would use /etc/slurm and /run/munge, which we never touch.
  if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then die "install failed"; fi
}

port_busy() { # port_busy <port>: true if something listens on it
  if command -v ss >/dev/null; then
    ss -Htln "sport = :$1" 2>/dev/null | grep -q .
  else
    (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null
  fi
}

write_conf() {
  # CPUs/sockets/cores/threads/memory exactly as slurmd detects them, so that slurmd does not
  # drain the node for "Low socket*core*thread count" or "Low RealMemory".
  local hw cpus boards sockets cores threads mem
  hw=$(slurmd -C | head -n 1)
  cpus=$(sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' <<<"$hw")
  boards=$(sed -n 's/.*Boards=\([0-9]*\).*/\1/p' <<<"$hw")
  sockets=$(sed -n 's/.*SocketsPerBoard=\([0-9]*\).*/\1/p' <<<"$hw")
  cores=$(sed -n 's/.*CoresPerSocket=\([0-9]*\).*/\1/p' <<<"$hw")
  threads=$(sed -n 's/.*ThreadsPerCore=\([0-9]*\).*/\1/p' <<<"$hw")
  mem=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$hw")
  [[ -n $cpus && -n $sockets && -n $cores && -n $threads && -n $mem ]] || die "cannot parse 'slurmd -C': $hw"
  mem=$((mem * 95 / 100))   # a little under the detected total, so small fluctuations never drain

  cat >"$CONF" <<EOF
# Generated by tests/slurm/cluster.sh on $(date -u +%FT%TZ). Private test cluster; do not edit.
ClusterName=fireflies
SlurmctldHost=localhost
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root

# Authentication through our own munged (own key, own socket).
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET

# All state, spool, pid and log files under $DIR.
StateSaveLocation=$DIR/ctld
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig=$DIR/etc/plugstack.conf

# No cgroups (containers rarely allow them): track processes through /proc, bind nothing.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
MpiDefault=$MPI_DEFAULT
PreemptType=preempt/none
MailProg=/bin/true

# Scheduling: cores are the consumable resource.
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core

# Requeue allowed (jobs may also ask with --requeue); short grace between SIGTERM and SIGKILL.
JobRequeue=1
KillWait=5
# Keep finished jobs visible to scontrol/squeue for 5 minutes (tests inspect them).
MinJobAge=300
ReturnToService=2
InactiveLimit=0
SlurmctldTimeout=60
SlurmdTimeout=60

NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus Boards=${boards:-1} SocketsPerBoard=$sockets CoresPerSocket=$cores ThreadsPerCore=$threads RealMemory=$mem State=UNKNOWN
# OverSubscribe=FORCE:4: up to 4 jobs may share a core (tests submit several small jobs).
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
EOF
  : >"$DIR/etc/plugstack.conf"   # empty: no SPANK plugins (not the system's /etc/slurm one)
}

start_munge() {
  if pid_of "$MUNGE_DIR/munged.pid" munged >/dev/null; then return 0; fi
  mkdir -p "$MUNGE_DIR"
  chmod 0700 "$MUNGE_DIR"
  if [[ ! -s $MUNGE_DIR/munge.key ]]; then
    if command -v mungekey >/dev/null; then
      mungekey --create --keyfile="$MUNGE_DIR/munge.key" --force
    else
      dd if=/dev/urandom of="$MUNGE_DIR/munge.key" bs=1024 count=1 status=none
    fi
  fi
  chmod 0600 "$MUNGE_DIR/munge.key"
  rm -f "$MUNGE_SOCKET" "$MUNGE_SOCKET.lock"
  munged --socket="$MUNGE_SOCKET" --key-file="$MUNGE_DIR/munge.key" \
         --pid-file="$MUNGE_DIR/munged.pid" --log-file="$DIR/log/munged.log" \
         --seed-file="$MUNGE_DIR/munged.seed" --force \
    || die "munged failed to start; see $DIR/log/munged.log"
  local i
  for ((i = 0; i < WAIT_S * 10; i++)); do
    [[ -S $MUNGE_SOCKET ]] && munge -n -S "$MUNGE_SOCKET" </dev/null | unmunge -S "$MUNGE_SOCKET" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  die "munged does not answer on $MUNGE_SOCKET"
}

node_state() { timeout 10 sinfo -h -n "$NODE" -o %t 2>/dev/null | head -n 1; }

cmd_start() {
  [[ $(id -u) == 0 ]] || die "must run as root (the daemons run as SlurmUser=root)"
  install_if_missing

  if pid_of "$DIR/run/slurmctld.pid" slurmctld >/dev/null && pid_of "$DIR/run/slurmd.pid" slurmd >/dev/null \
     && [[ $(node_state) == idle* || $(node_state) == mix* || $(node_state) == alloc* ]]; then
    log "already running ($DIR)"
    printf 'export SLURM_CONF=%q\n' "$CONF"
    return 0
  fi
  # Partly up (or crashed): start clean.
  cmd_stop >/dev/null 2>&1 || true

  for p in "$CTLD_PORT" "$SLURMD_PORT"; do
    port_busy "$p" && die "port $p is in use; set FIREFLIES_SLURMCTLD_PORT / FIREFLIES_SLURMD_PORT"
  done

  mkdir -p "$DIR"
  chmod 0755 "$DIR"
  # Fresh controller state and spool every start: no jobs survive a restart of the test cluster.
  rm -rf "$DIR/ctld" "$DIR/spool" "$DIR/run"
  mkdir -p "$DIR/etc" "$DIR/ctld" "$DIR/spool" "$DIR/run" "$DIR/log"
  write_conf
  start_munge

  log "starting slurmctld (conf $CONF, port $CTLD_PORT)"
  slurmctld -f "$CONF" -i || die "slurmctld failed; see $DIR/log/slurmctld.log"
  local i st
  for ((i = 0; i < WAIT_S * 10; i++)); do
    timeout 5 scontrol ping 2>/dev/null | grep -q 'is UP' && break
    sleep 0.1
  done
  ((i < WAIT_S * 10)) || die "slurmctld not answering; see $DIR/log/slurmctld.log"

  log "starting slurmd (node $NODE, port $SLURMD_PORT)"
  slurmd -f "$CONF" -N "$NODE" || die "slurmd failed; see $DIR/log/slurmd.log"

  for ((i = 0; i < WAIT_S * 4; i++)); do
    st=$(node_state || true)
    case $st in
      idle*) break ;;
      drain* | down*)   # e.g. left over from a previous run; clear it once
        if ((i % 20 == 19)); then timeout 10 scontrol update NodeName="$NODE" State=RESUME >&2 || true; fi ;;
    esac
    sleep 0.25
  done
  [[ $st == idle* ]] || {
    timeout 10 scontrol show node "$NODE" >&2 || true
    die "node $NODE not idle after ${WAIT_S}s (state '$st'); see $DIR/log/slurmd.log"
  }
  log "up: $(timeout 10 sinfo -h -o '%P %a %D %t %c CPUs %m MB' | head -n 1)"
  printf 'export SLURM_CONF=%q\n' "$CONF"
}

cmd_stop() {
  # Jobs first, so that no slurmstepd or job process of ours outlives the daemons.
  if pid_of "$DIR/run/slurmctld.pid" slurmctld >/dev/null; then
    if [[ -n $(timeout 10 squeue -h -o %i 2>/dev/null || true) ]]; then
      log "cancelling remaining jobs"
      timeout 10 scancel --full --signal=KILL --state=RUNNING 2>/dev/null || true
      timeout 10 scancel --state=PENDING 2>/dev/null || true
      timeout 10 scancel 2>/dev/null || true
      local i
      for ((i = 0; i < 60; i++)); do   # up to 15 s
        [[ -z $(timeout 10 squeue -h -t RUNNING,COMPLETING,PENDING,CONFIGURING -o %i 2>/dev/null || true) ]] && break
        sleep 0.25
      done
    fi
  fi
  stop_daemon "$DIR/run/slurmd.pid" slurmd
  stop_daemon "$DIR/run/slurmctld.pid" slurmctld
  stop_daemon "$MUNGE_DIR/munged.pid" munged
  log "stopped (logs kept in $DIR/log)"
}

cmd_status() {
  local rc=0 d f
  for d in munged:$MUNGE_DIR/munged.pid slurmctld:$DIR/run/slurmctld.pid slurmd:$DIR/run/slurmd.pid; do
    f=${d#*:}; d=${d%%:*}
    if pid=$(pid_of "$f" "$d"); then echo "$d: running (pid $pid)"; else echo "$d: not running"; rc=1; fi
  done
  echo "SLURM_CONF=$CONF"
  if ((rc == 0)); then
    timeout 10 sinfo || rc=1
    timeout 10 squeue || rc=1
  fi
  exit "$rc"   # (exit, not return: a non-zero return would trip the ERR trap)
}

case ${1:-} in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) printf 'export SLURM_CONF=%q\n' "$CONF" ;;
  *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
