#!/usr/bin/env bash
# Private Slurm cluster for tests: munged + slurmctld + one slurmd per emulated node, all as
# root, all state under one directory, own config file, own munge socket, own ports.
#
#   eval "$(tests/slurm/cluster.sh start)"   # start (installs slurm-wlm and munge if missing)
#   tests/slurm/cluster.sh status            # daemons, sinfo; exit 0 only if every node is usable
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
#   FIREFLIES_SLURMD_PORT      slurmd port                (default 16818; with N nodes, node k
#                                                          listens on this port + k - 1)
#   FIREFLIES_SLURM_NODES      number of nodes            (default 1)
#   FIREFLIES_SLURM_CPUS_PER_NODE  CPUs of each node when there are 2 or more (default 2)
#   FIREFLIES_SLURM_MPI        MpiDefault                 (default none; pmix is listed by
#                                                          `srun --mpi=list` either way)
#   FIREFLIES_SLURM_NO_INSTALL set to 1 to fail instead of running apt-get
#
# Nodes. With FIREFLIES_SLURM_NODES=1 (the default) there is one node, NodeName=localhost, with
# the CPUs, sockets, cores and memory that `slurmd -C` detects. With N >= 2 the nodes are
# emulated: node1..nodeN, each its own slurmd (`slurmd -N nodeK`; Debian's Slurm is built with
# MULTIPLE_SLURMD), all on this host (NodeHostname=localhost, NodeAddr=127.0.0.1) on ports
# FIREFLIES_SLURMD_PORT .. FIREFLIES_SLURMD_PORT+N-1, with their own pid, log and spool files
# (run/slurmd-nodeK.pid, log/slurmd-nodeK.log, spool/nodeK) and TmpFS (tmp/nodeK). Each has
# FIREFLIES_SLURM_CPUS_PER_NODE CPUs and 1/N of the memory, whatever the host has
# (SlurmdParameters=config_overrides), so that a job's tasks really spread over several nodes
# (e.g. sbatch --nodes=4 --ntasks-per-node=1). Each task's SLURMD_NODENAME and SLURM_NODEID say
# on which node it runs. All nodes share this host's /tmp, hostname and network: processes on
# two emulated nodes can still talk through shared memory unless told not to (Open MPI:
# OMPI_MCA_btl=self,tcp).
set -Eeuo pipefail

DIR=${FIREFLIES_SLURM_DIR:-/tmp/fireflies-slurm}
CTLD_PORT=${FIREFLIES_SLURMCTLD_PORT:-16817}
SLURMD_PORT=${FIREFLIES_SLURMD_PORT:-16818}
MPI_DEFAULT=${FIREFLIES_SLURM_MPI:-none}
NODES=${FIREFLIES_SLURM_NODES:-1}
CPUS_PER_NODE=${FIREFLIES_SLURM_CPUS_PER_NODE:-2}
[[ $NODES =~ ^[1-9][0-9]*$ && $NODES -le 64 ]] || { echo "cluster.sh: FIREFLIES_SLURM_NODES must be 1..64, not '$NODES'" >&2; exit 2; }
[[ $CPUS_PER_NODE =~ ^[1-9][0-9]*$ ]] || { echo "cluster.sh: FIREFLIES_SLURM_CPUS_PER_NODE must be a positive integer" >&2; exit 2; }
# NodeNames; each slurmd is started with -N <name>, so the real hostname does not matter.
if ((NODES == 1)); then
  NODE_NAMES=(localhost)
else
  NODE_NAMES=()
  for ((k = 1; k <= NODES; k++)); do NODE_NAMES+=("node$k"); done
fi
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

slurmd_pidfile() {  # slurmd_pidfile <node name>: the one node "localhost" keeps slurmd.pid
  if [[ $1 == localhost ]]; then printf '%s\n' "$DIR/run/slurmd.pid"; else printf '%s\n' "$DIR/run/slurmd-$1.pid"; fi
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

  # slurmd files and node lines: one node as detected, or N emulated nodes (%n: node name).
  local spool=$DIR/spool pidfile=$DIR/run/slurmd.pid logfile=$DIR/log/slurmd.log nodes_conf k
  if ((NODES == 1)); then
    nodes_conf="NodeName=${NODE_NAMES[0]} NodeAddr=127.0.0.1 CPUs=$cpus Boards=${boards:-1} SocketsPerBoard=$sockets CoresPerSocket=$cores ThreadsPerCore=$threads RealMemory=$mem State=UNKNOWN"
  else
    spool=$DIR/spool/%n pidfile=$DIR/run/slurmd-%n.pid logfile=$DIR/log/slurmd-%n.log
    nodes_conf="# $NODES emulated nodes, one slurmd each (slurmd -N nodeK), all on this host. The
# configuration, not the hardware, defines each node (config_overrides): $CPUS_PER_NODE CPUs, 1/$NODES of the memory.
SlurmdParameters=config_overrides
# Each node its own TmpFS: Slurm's PMIx plugin puts a directory per job step in it
# (spmix_appdir_<uid>_<job>.<step>), which the nodes of one step must not share.
TmpFS=$DIR/tmp/%n"
    for ((k = 1; k <= NODES; k++)); do
      nodes_conf+="
NodeName=node$k NodeHostname=localhost NodeAddr=127.0.0.1 Port=$((SLURMD_PORT + k - 1)) CPUs=$CPUS_PER_NODE Boards=1 SocketsPerBoard=1 CoresPerSocket=$CPUS_PER_NODE ThreadsPerCore=1 RealMemory=$((mem / NODES)) State=UNKNOWN"
    done
  fi

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
SlurmdSpoolDir=$spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$pidfile
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$logfile
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

$nodes_conf
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

node_state() { timeout 10 sinfo -h -n "$1" -o %t 2>/dev/null | head -n 1; }  # node_state <name>
usable() { [[ $1 == idle* || $1 == mix* || $1 == alloc* ]]; }                     # usable <state>

# The nodes of the cluster as configured: the NodeName lines of $CONF when it exists (so that
# `status` and `stop` find every node of a running cluster whatever FIREFLIES_SLURM_NODES says),
# else the ones FIREFLIES_SLURM_NODES asks for.
conf_nodes() {
  local names=()
  [[ -r $CONF ]] && mapfile -t names < <(sed -n 's/^NodeName=\([^ ]*\) .*/\1/p' "$CONF")
  ((${#names[@]})) || names=("${NODE_NAMES[@]}")
  printf '%s\n' "${names[@]}"
}

# Every slurmd of ours, configured or left over (pid files of any node count): for `stop`.
all_slurmd_pidfiles() {
  local f
  for f in "$DIR/run/slurmd.pid" "$DIR"/run/slurmd-*.pid; do [[ -e $f ]] && printf '%s\n' "$f"; done
  return 0
}

cmd_start() {
  [[ $(id -u) == 0 ]] || die "must run as root (the daemons run as SlurmUser=root)"
  install_if_missing

  local name up=1
  if pid_of "$DIR/run/slurmctld.pid" slurmctld >/dev/null \
     && [[ $(timeout 10 sinfo -h -N -o %N 2>/dev/null | sort -u | tr '\n' ' ') == "$(printf '%s\n' "${NODE_NAMES[@]}" | sort | tr '\n' ' ')" ]]; then
    for name in "${NODE_NAMES[@]}"; do
      if ! pid_of "$(slurmd_pidfile "$name")" slurmd >/dev/null || ! usable "$(node_state "$name")"; then
        up=0
        break
      fi
    done
  else
    up=0
  fi
  if ((up)); then
    log "already running ($DIR, nodes ${NODE_NAMES[*]})"
    printf 'export SLURM_CONF=%q\n' "$CONF"
    return 0
  fi
  # Partly up, crashed, or another node count: start clean.
  cmd_stop >/dev/null 2>&1 || true

  local p ports=("$CTLD_PORT")
  for ((p = 0; p < NODES; p++)); do ports+=($((SLURMD_PORT + p))); done
  for p in "${ports[@]}"; do
    port_busy "$p" && die "port $p is in use; set FIREFLIES_SLURMCTLD_PORT / FIREFLIES_SLURMD_PORT" \
                          "(slurmd ports: FIREFLIES_SLURMD_PORT .. +FIREFLIES_SLURM_NODES-1)"
  done

  mkdir -p "$DIR"
  chmod 0755 "$DIR"
  # Fresh controller state and spool every start: no jobs survive a restart of the test cluster.
  rm -rf "$DIR/ctld" "$DIR/spool" "$DIR/run" "$DIR/tmp"
  mkdir -p "$DIR/etc" "$DIR/ctld" "$DIR/spool" "$DIR/run" "$DIR/log"
  ((NODES == 1)) || for name in "${NODE_NAMES[@]}"; do mkdir -p "$DIR/spool/$name" "$DIR/tmp/$name"; done
  write_conf
  start_munge

  log "starting slurmctld (conf $CONF, port $CTLD_PORT)"
  slurmctld -f "$CONF" -i || die "slurmctld failed; see $DIR/log/slurmctld.log"
  local i st k
  for ((i = 0; i < WAIT_S * 10; i++)); do
    timeout 5 scontrol ping 2>/dev/null | grep -q 'is UP' && break
    sleep 0.1
  done
  ((i < WAIT_S * 10)) || die "slurmctld not answering; see $DIR/log/slurmctld.log"

  for ((k = 0; k < NODES; k++)); do
    name=${NODE_NAMES[k]}
    log "starting slurmd (node $name, port $((SLURMD_PORT + k)))"
    slurmd -f "$CONF" -N "$name" || die "slurmd -N $name failed; see $DIR/log/slurmd*.log"
  done

  local waiting=("${NODE_NAMES[@]}") left
  for ((i = 0; i < WAIT_S * 4; i++)); do
    left=()
    for name in "${waiting[@]}"; do
      st=$(node_state "$name" || true)
      case $st in
        idle*) continue ;;
        drain* | down*)   # e.g. left over from a previous run; clear it once in a while
          if ((i % 20 == 19)); then timeout 10 scontrol update NodeName="$name" State=RESUME >&2 || true; fi ;;
      esac
      left+=("$name")
    done
    waiting=("${left[@]}")
    ((${#waiting[@]} == 0)) && break
    sleep 0.25
  done
  if ((${#waiting[@]})); then
    for name in "${waiting[@]}"; do timeout 10 scontrol show node "$name" >&2 || true; done
    die "node(s) ${waiting[*]} not idle after ${WAIT_S}s; see $DIR/log/slurmd*.log"
  fi
  log "up: $(timeout 10 sinfo -h -o '%P %a %D nodes %t %c CPUs/node %m MB/node' | head -n 1)"
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
  # Every slurmd at once (each takes a second or two to exit).
  local f stoppers=()
  while read -r f; do stop_daemon "$f" slurmd & stoppers+=($!); done < <(all_slurmd_pidfiles)
  ((${#stoppers[@]} == 0)) || wait "${stoppers[@]}"
  stop_daemon "$DIR/run/slurmctld.pid" slurmctld
  stop_daemon "$MUNGE_DIR/munged.pid" munged
  log "stopped (logs kept in $DIR/log)"
}

cmd_status() {
  # Exit 0 only if munged, slurmctld and every node's slurmd run and every node is usable:
  # idle, mixed or allocated (not down, drained or not responding).
  local rc=0 d f pid name st
  for d in munged:$MUNGE_DIR/munged.pid slurmctld:$DIR/run/slurmctld.pid; do
    f=${d#*:}; d=${d%%:*}
    if pid=$(pid_of "$f" "$d"); then echo "$d: running (pid $pid)"; else echo "$d: not running"; rc=1; fi
  done
  local ctld_up=$((rc == 0))
  while read -r name; do
    if pid=$(pid_of "$(slurmd_pidfile "$name")" slurmd); then
      if ((ctld_up)); then
        st=$(node_state "$name" || true)
        if usable "$st"; then
          echo "slurmd $name: running (pid $pid), node ${st:-?}"
        else
          echo "slurmd $name: running (pid $pid), node ${st:-unknown}: not usable"; rc=1
        fi
      else
        echo "slurmd $name: running (pid $pid)"
      fi
    else
      echo "slurmd $name: not running"; rc=1
    fi
  done < <(conf_nodes)
  echo "SLURM_CONF=$CONF"
  if ((ctld_up)); then
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
