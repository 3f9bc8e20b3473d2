#!/usr/bin/env bash
# ctest fixture: installs Slurm + MUNGE if missing (launch/install_slurm.sh) and starts the local
# one-node cluster in CLUSTER_DIR. Exit 77 (skipped) where that cannot be done here, e.g. not
# root or no apt-get; the reason goes to CLUSTER_DIR/skip_reason so the tests skip with it too.
#   start_cluster.sh ASR_ROOT CLUSTER_DIR
set -uo pipefail
[ $# -eq 2 ] || { echo "usage: $0 ASR_ROOT CLUSTER_DIR" >&2; exit 2; }
ASR_ROOT=$1
CLUSTER_DIR=$2
mkdir -p "$CLUSTER_DIR"
rm -f "$CLUSTER_DIR/skip_reason"

skip() {
  echo "$*" >"$CLUSTER_DIR/skip_reason"
  echo "SKIP: $*"
  exit 77
}

start=$SECONDS
bash "$ASR_ROOT/launch/install_slurm.sh"
case $? in
  0) ;;
  77) skip "Slurm and MUNGE are not installed and cannot be installed here (see launch/install_slurm.sh)" ;;
  *) echo "FAIL: launch/install_slurm.sh failed"; exit 1 ;;
esac
echo "install: $((SECONDS - start)) s"

start=$SECONDS
bash "$ASR_ROOT/launch/slurm_local.sh" start "$CLUSTER_DIR" 2>"$CLUSTER_DIR/start.err"
status=$?
cat "$CLUSTER_DIR/start.err" >&2
case $status in
  0) echo "daemons up and node idle in $((SECONDS - start)) s" ;;
  77) skip "$(tail -n 1 "$CLUSTER_DIR/start.err")" ;;
  *) echo "FAIL: launch/slurm_local.sh start $CLUSTER_DIR failed"; exit 1 ;;
esac
