#!/usr/bin/env bash
# A full disk while writing a checkpoint and while writing shards, on small tmpfs mounts made by
# the test (root needed; otherwise it is skipped, saying why):
# - checkpoint: RUN/checkpoints is a full tmpfs. The run stops with an error saying "No space left
#   on device" and naming the checkpoint; `latest` still names the previous checkpoint, whose files
#   are unchanged; no partial step folder or temporary folder remains. Once space is freed, the
#   same command resumes from it, and the adapter equals an uninterrupted run's bit for bit.
# - shards: `asr-adapt shard` into a tmpfs too small for all shards fails naming the shard and
#   the cause; no index.json lists anything and no temporary file remains; the finished shards
#   are whole. With room again, the re-run keeps them and the result equals shards written on a
#   roomy disk (same checksums).
# - the checkpoint case again under `mpirun -np 2` (when MPIEXEC is given): the job ends at once.
#   disk_full.sh ASR_ADAPT_BINARY SOURCE_DIR [MPIEXEC]
set -euo pipefail
source "$2/tests/e2e/faults/lib.sh"
fault_setup "$1" "$2"
MPIEXEC=${3:-}

# mount_tmpfs DIR SIZE: a private small file system, unmounted at exit.
mount_tmpfs() {
  mkdir -p "$1"
  mount -t tmpfs -o "size=$2" tmpfs "$1" 2> mount.err || return 1
  CLEANUP+=("umount -l '$WORK/$1'")
}
# fill DIR KIB: a file taking every free block but KIB KiB, so that a file can still be created
# and the failure comes in the middle of writing it.
fill() {
  local avail
  avail=$(df -k --output=avail "$1" | tail -1)
  dd if=/dev/zero of="$1/fill" bs=1k count=$(( avail - $2 )) > /dev/null 2>&1 || true
}

[ "$(id -u)" -eq 0 ] || skip "needs root to mount a small tmpfs (running as uid $(id -u))"
mount_tmpfs probe 64k || skip "mount -t tmpfs is not permitted here: $(cat mount.err)"

# ---- checkpoint on a full disk ----
shard_fixture shards
write_experiment ref.yaml ref shards 15 5
timeout 120 "$BIN" train ref.yaml > ref.log 2>&1 || { cat ref.log; fail "the reference run failed"; }
write_experiment exp.yaml run shards 15 5
mkdir -p run
mount_tmpfs run/checkpoints 16m || fail "mount failed: $(cat mount.err)"
timeout 120 "$BIN" train exp.yaml trainer.max_steps=5 > run1.log 2>&1 || { cat run1.log; fail "the first run failed"; }
[ "$(cat run/checkpoints/latest)" = step-00000005 ] || fail "no step-00000005 checkpoint after the first run"
sums_before=$(cd run/checkpoints/step-00000005 && md5sum state.h5 adapters.h5 config.yaml)
fill run/checkpoints 40  # state.h5 is ~90 KiB: created, then its writes fail
status=0
timeout 120 "$BIN" train exp.yaml > run2.log 2>&1 || status=$?
# 1 = a clean error exit (HDF5 1.10 used to segfault at exit after the failed close: 139).
[ "$status" -eq 1 ] || { cat run2.log; fail "expected exit status 1 after the failed checkpoint, got $status"; }
grep -q "No space left on device" run2.log || { cat run2.log; fail "the error does not say 'No space left on device'"; }
grep -q "checkpoint of step 10 not written: run/checkpoints/.tmp-step-00000010-[0-9]*/" run2.log ||
  { cat run2.log; fail "the error does not name the checkpoint file"; }
echo "checkpoint error: $(grep -m1 'No space left' run2.log)"
[ "$(cat run/checkpoints/latest)" = step-00000005 ] || fail "latest moved to $(cat run/checkpoints/latest)"
[ ! -e run/checkpoints/step-00000010 ] || fail "a partial step-00000010 folder was left"
[ -z "$(ls -d run/checkpoints/.tmp-* run/checkpoints/*.tmp-* 2> /dev/null)" ] || fail "temporary files left: $(ls -a run/checkpoints)"
[ "$sums_before" = "$(cd run/checkpoints/step-00000005 && md5sum state.h5 adapters.h5 config.yaml)" ] ||
  fail "the previous checkpoint changed"
rm run/checkpoints/fill
timeout 120 "$BIN" train exp.yaml > run3.log 2>&1 || { cat run3.log; fail "the run after freeing space failed"; }
grep -q "resuming from run/checkpoints/step-00000005" run3.log || { cat run3.log; fail "did not resume from step 5"; }
same_adapters run/adapters.h5 ref/adapters.h5
echo "ok: checkpoint on a full disk -> clear error, step 5 intact, resumed, adapter identical"

# The same under `mpirun -np 2`: rank 0 alone writes, fails, and ends the job at once (rank 1
# would otherwise wait collective_timeout = 20 s in its next collective).
if [ -n "$MPIEXEC" ]; then
  write_experiment mpi.yaml run_mpi shards 15 5
  mkdir -p run_mpi
  mount_tmpfs run_mpi/checkpoints 16m || fail "mount failed: $(cat mount.err)"
  mpi_job() { timeout -k 5 120 "$MPIEXEC" --allow-run-as-root --oversubscribe -np 2 "$BIN" train mpi.yaml "$@"; }
  mpi_job trainer.max_steps=5 > mpi1.log 2>&1 || { cat mpi1.log; fail "the first 2-rank run failed"; }
  fill run_mpi/checkpoints 40
  start=$(date +%s)
  status=0
  mpi_job > mpi2.log 2>&1 || status=$?
  took=$(( $(date +%s) - start ))
  [ "$status" -ne 0 ] && [ "$status" -ne 124 ] || { cat mpi2.log; fail "2 ranks: expected a failed job, got status $status"; }
  grep -q "rank 0 of 2: checkpoint of step 10 not written: .*No space left on device" mpi2.log ||
    { cat mpi2.log; fail "2 ranks: no clear error from rank 0"; }
  [ "$took" -le 15 ] || { cat mpi2.log; fail "2 ranks: the job took ${took}s to end after rank 0's error"; }
  [ "$(cat run_mpi/checkpoints/latest)" = step-00000005 ] || fail "2 ranks: latest moved"
  rm run_mpi/checkpoints/fill
  mpi_job > mpi3.log 2>&1 || { cat mpi3.log; fail "2 ranks: the run after freeing space failed"; }
  grep -q "resuming from run_mpi/checkpoints/step-00000005" mpi3.log || { cat mpi3.log; fail "2 ranks: did not resume"; }
  echo "ok: 2 ranks, checkpoint on a full disk -> rank 0's clear error, job ended in ${took}s, resumed"
fi

# ---- shards on a full disk ----
shard_fixture roomy --max-shard-size 64KiB
n_roomy=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["shards"]))' roomy/index.json)
[ "$n_roomy" -ge 3 ] || fail "expected several shards of 64 KiB, got $n_roomy"
shard_bytes=$(stat -c %s roomy/shard-00000.h5)
mount_tmpfs small $(( (5 * shard_bytes / 2) / 1024 ))k || fail "mount failed: $(cat mount.err)"  # room for 2.5 shards
status=0
"$BIN" shard --model "$MODEL" --manifest "$MANIFEST" --out small/shards --threads 1 --max-shard-size 64KiB > small1.log 2>&1 || status=$?
[ "$status" -eq 1 ] || { cat small1.log; fail "expected exit status 1 from sharding into a full disk, got $status"; }
grep -q "No space left on device" small1.log || { cat small1.log; fail "the shard error does not say 'No space left on device'"; }
grep -q "small/shards/\.\?shard-[0-9]*\.h5" small1.log || { cat small1.log; fail "the shard error does not name the shard file"; }
echo "shard error: $(grep -m1 'No space left' small1.log)"
[ ! -e small/shards/index.json ] || fail "an index.json was written although sharding failed"
[ -z "$(ls -a small/shards | grep '\.tmp')" ] || fail "temporary shard files left: $(ls -a small/shards)"
finished=$(ls small/shards | grep -c '^shard-.*\.h5$' || true)
[ "$finished" -ge 1 ] || fail "no shard finished before the disk filled (tmpfs too small for the test)"
for f in small/shards/shard-*.h5; do
  [ -e "$f" ] || continue
  h5dump -H "$f" > /dev/null 2>&1 || fail "$f is not a whole HDF5 file"
done
mount -o remount,size=16m "$WORK/small"
"$BIN" shard --model "$MODEL" --manifest "$MANIFEST" --out small/shards --threads 1 --max-shard-size 64KiB > small2.log 2>&1 ||
  { cat small2.log; fail "sharding again with room failed"; }
grep -q "($finished kept from an earlier run)" small2.log || { cat small2.log; fail "the $finished finished shards were not kept"; }
python3 - roomy/index.json small/shards/index.json <<'PY' || fail "the resumed shards differ from shards written with room"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert [(s["file"], s["checksum"]) for s in a["shards"]] == [(s["file"], s["checksum"]) for s in b["shards"]], (a, b)
PY
echo "ok: shards on a full disk -> clear error, $finished finished shard(s) kept, no index, resumed identically"
echo "PASS: disk full ($(elapsed) s)"
