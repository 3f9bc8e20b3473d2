#!/usr/bin/env bash
# A private one-node Slurm cluster on localhost, for tests and for trying the job scripts in
# cluster/ on a laptop:
#
#   launch/slurm_local.sh start  DIR   # munged + slurmctld + slurmd; returns once the node is idle
#   launch/slurm_local.sh status DIR   # daemons and node state; exit 0 when the cluster is usable
#   launch/slurm_local.sh env    DIR   # prints `export SLURM_CONF=...` for the client commands
#   launch/slurm_local.sh stop   DIR   # cancels its jobs, then stops exactly the daemons it started
#
# Everything lives under DIR: slurm.conf, a fresh MUNGE key and socket, state, pid and log files
# (DIR/log/{munged,slurmctld,slurmd}.log). Nothing in /etc is read or written, so it runs beside
# a system Slurm or MUNGE; its ports are the first free pair from 16817 up (SLURM_LOCAL_PORT sets
# the first). Client commands find the cluster through SLURM_CONF=DIR/etc/slurm.conf.
# Needs root (slurmd launches jobs as their submitter) and the packages of
# launch/install_slurm.sh.
#
# Exit status: 0 done, 1 a daemon failed (its log is printed), 2 usage, 77 Slurm or MUNGE is not
# installed or this user cannot run it (callers may skip).
set -uo pipefail

START_TIMEOUT_S=${SLURM_LOCAL_START_TIMEOUT_S:-60}

usage() {
  echo "usage: $0 start|stop|status|env DIR" >&2
  exit 2
}
[ $# -eq 2 ] || usage
ACTION=$1
mkdir -p "$2" || exit 1
DIR=$(cd "$2" && pwd)
CONF=$DIR/etc/slurm.conf
export SLURM_CONF=$CONF

say() { echo "slurm_local: $*"; }
fail() {
  echo "slurm_local: error: $*" >&2
  exit 1
}

# The pid in FILE if that process is alive and is NAME started with this DIR's files: a stale pid
# file, or a pid reused by another process, never gets signalled.
owned_pid() {
  local name=$1 file=$2 pid cmd
  [ -s "$file" ] || return 1
  pid=$(tr -dc 0-9 <"$file")
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline")
  [[ $(basename "${cmd%% *}") == "$name" && $cmd == *"$DIR/"* ]] || return 1
  echo "$pid"
}

MUNGED_PID=$DIR/run/munged.pid
CTLD_PID=$DIR/run/slurmctld.pid
SLURMD_PID=$DIR/run/slurmd.pid

node_state() { sinfo -h -N -o '%t' 2>/dev/null | head -n 1; }

daemons_up() {
  owned_pid munged "$MUNGED_PID" >/dev/null && owned_pid slurmctld "$CTLD_PID" >/dev/null &&
    owned_pid slurmd "$SLURMD_PID" >/dev/null
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

write_config() {
  local port=${SLURM_LOCAL_PORT:-16817} host node
  while ! port_free "$port" || ! port_free $((port + 1)); do
    port=$((port + 2))
    [ "$port" -lt 17817 ] || fail "no free port pair in ${SLURM_LOCAL_PORT:-16817}..17817"
  done
  host=$(hostname -s)
  # The node's real sockets/cores/threads as slurmd sees them; no RealMemory, so jobs get no
  # memory limit.
  node=$(slurmd -C 2>/dev/null | head -n 1 | sed -E 's/ RealMemory=[0-9]+//')
  [[ $node == NodeName=* ]] || fail "slurmd -C printed no node line"
  cat >"$CONF" <<EOF
# Written by launch/slurm_local.sh for a private one-node cluster under $DIR.
ClusterName=asrlocal
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# cred_expire is also how long a requeued job waits before it may start again (default 120 s).
AuthInfo=socket=$DIR/munge/munge.socket,cred_expire=5
StateSaveLocation=$DIR/state/slurmctld
SlurmdSpoolDir=$DIR/state/slurmd
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups: containers and CI machines rarely delegate them. Processes are tracked by parent.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
# No slurmdbd: sacct has no data here; finished jobs stay in slurmctld (scontrol show job) for
# MinJobAge seconds and are appended to the job-completion file.
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/log/jobcomp.txt
MinJobAge=3600
JobRequeue=1
ReturnToService=2
MpiDefault=none
# Schedule every few seconds (defaults: 60 s, backfill 30 s): a requeued job is only started by a
# periodic pass once its begin time has come.
SchedulerParameters=sched_interval=2,bf_interval=1
KillWait=10
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=local Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
}

start() {
  command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null &&
    command -v sinfo >/dev/null || {
    echo "slurm_local: slurmctld/slurmd/munged/sinfo not installed (run launch/install_slurm.sh)" >&2
    exit 77
  }
  [ "$(id -u)" -eq 0 ] || {
    echo "slurm_local: slurmd must run as root" >&2
    exit 77
  }
  if daemons_up; then
    say "already running in $DIR"
    wait_idle
    return
  fi
  stop_daemons quiet
  rm -rf "${DIR:?}/etc" "${DIR:?}/munge" "${DIR:?}/state" "${DIR:?}/run"
  mkdir -p "$DIR/etc" "$DIR/munge" "$DIR/state/slurmctld" "$DIR/state/slurmd" "$DIR/run" "$DIR/log" || exit 1
  chmod 700 "$DIR/munge"
  write_config

  mungekey --create --keyfile="$DIR/munge/munge.key" --force >/dev/null 2>&1 ||
    dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none || fail "cannot make a MUNGE key"
  chmod 400 "$DIR/munge/munge.key"
  munged --force --socket="$DIR/munge/munge.socket" --key-file="$DIR/munge/munge.key" \
    --pid-file="$MUNGED_PID" --log-file="$DIR/log/munged.log" --seed-file="$DIR/munge/munged.seed" ||
    { cat "$DIR/log/munged.log" >&2; fail "munged did not start"; }

  # -c: a fresh controller state (no jobs from an earlier start).
  slurmctld -c -f "$CONF" || { tail -n 30 "$DIR/log/slurmctld.log" >&2; fail "slurmctld did not start"; }
  slurmd -f "$CONF" || { tail -n 30 "$DIR/log/slurmd.log" >&2; fail "slurmd did not start"; }
  wait_idle
}

wait_idle() {
  local deadline=$((SECONDS + START_TIMEOUT_S)) state=""
  while [ $SECONDS -lt $deadline ]; do
    state=$(node_state)
    case $state in
      idle | mix | alloc) say "node $(hostname -s) is $state; export SLURM_CONF=$CONF"; return 0 ;;
    esac
    daemons_up || break
    sleep 0.5
  done
  echo "slurm_local: node not idle after ${START_TIMEOUT_S}s (state '${state:-none}'); logs:" >&2
  for log in munged slurmctld slurmd; do
    echo "--- $DIR/log/$log.log" >&2
    tail -n 20 "$DIR/log/$log.log" >&2 2>/dev/null
  done
  exit 1
}

# Sends TERM to each daemon this DIR started (slurmd, then slurmctld, then munged), waits, and
# KILLs what is left after 10 s.
stop_daemons() {
  local quiet=${1:-} name file pid pids=()
  for name in slurmd slurmctld munged; do
    case $name in
      slurmd) file=$SLURMD_PID ;;
      slurmctld) file=$CTLD_PID ;;
      munged) file=$MUNGED_PID ;;
    esac
    if pid=$(owned_pid "$name" "$file"); then
      [ -n "$quiet" ] || say "stopping $name (pid $pid)"
      kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
    fi
  done
  local deadline=$((SECONDS + 10))
  for pid in "${pids[@]}"; do
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  done
  rm -f "$SLURMD_PID" "$CTLD_PID" "$MUNGED_PID"
}

stop() {
  if owned_pid slurmctld "$CTLD_PID" >/dev/null; then
    # Jobs first, so no slurmstepd outlives its slurmd.
    local jobs
    jobs=$(squeue -h -o '%i' 2>/dev/null | tr '\n' ' ')
    if [ -n "${jobs// /}" ]; then
      say "cancelling jobs $jobs"
      # shellcheck disable=SC2086
      scancel $jobs 2>/dev/null
      local deadline=$((SECONDS + 15))
      while [ -n "$(squeue -h -o '%i' 2>/dev/null)" ] && [ $SECONDS -lt $deadline ]; do sleep 0.5; done
    fi
  fi
  stop_daemons
  say "stopped"
}

status() {
  local name file ok=0
  for name in munged slurmctld slurmd; do
    case $name in
      munged) file=$MUNGED_PID ;;
      slurmctld) file=$CTLD_PID ;;
      slurmd) file=$SLURMD_PID ;;
    esac
    if pid=$(owned_pid "$name" "$file"); then say "$name running (pid $pid)"; else
      say "$name not running"
      ok=1
    fi
  done
  if [ $ok -eq 0 ]; then
    local state
    state=$(node_state)
    say "node state: ${state:-unknown}"
    case $state in idle | mix | alloc) ;; *) ok=1 ;; esac
  fi
  return $ok
}

case $ACTION in
  start) start ;;
  stop) stop ;;
  status) status ;;
  env) echo "export SLURM_CONF=$CONF" ;;
  *) usage ;;
esac
