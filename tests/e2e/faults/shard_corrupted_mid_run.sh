#!/usr/bin/env bash
# A shard damaged on disk while `mpirun -np 2 asr-adapt train` runs: the next epoch stops the job
# with an error naming the shard (the loader re-checks changed shards against index.json's
# checksums at each epoch, src/data/loader.cpp); the job ends at once (a failing rank ends the
# whole job: its peer would otherwise wait for collective_timeout). With the file
# restored, the same command resumes from the last checkpoint and finishes.
#   shard_corrupted_mid_run.sh ASR_ADAPT_BINARY SOURCE_DIR MPIEXEC
set -euo pipefail
source "$2/tests/e2e/faults/lib.sh"
fault_setup "$1" "$2"
MPIEXEC=${3:-mpirun}
shard_fixture shards
write_experiment exp.yaml run shards 300 5
run_job() { timeout -k 5 120 "$MPIEXEC" --allow-run-as-root --oversubscribe -np 2 "$BIN" train exp.yaml; }
shard=shards/$(ls shards | grep -m1 '^shard-.*\.h5$')
cp "$shard" shard.backup

run_job > job1.log 2>&1 &
JOB=$!
for _ in $(seq 3000); do [ -f run/checkpoints/latest ] && break; sleep 0.02; done
[ -f run/checkpoints/latest ] || { cat job1.log; fail "no checkpoint after 60 s"; }
# Invert 64 bytes in the middle of the shard, in place.
python3 - "$shard" <<'PY'
import os, sys
with open(sys.argv[1], "r+b") as f:
    f.seek(os.path.getsize(sys.argv[1]) // 2)
    data = f.read(64)
    f.seek(-len(data), 1)
    f.write(bytes(b ^ 0xFF for b in data))
PY
start=$(date +%s)
status=0
wait "$JOB" || status=$?
took=$(( $(date +%s) - start ))
[ "$status" -ne 0 ] || { cat job1.log; fail "the job exited 0 with a corrupted shard"; }
[ "$status" -ne 124 ] || fail "the job hung (killed by timeout)"
# Well under collective_timeout (20 s): the failing rank ends the job instead of leaving its peer
# waiting in a collective.
[ "$took" -le 10 ] || { cat job1.log; fail "the job took ${took}s to end after the corruption"; }
[ ! -f run/adapters.h5 ] || fail "the job finished before the corruption: the test proves nothing"
grep -q "$shard: shard changed on disk since training started" job1.log || { cat job1.log; fail "the error does not name $shard"; }
echo "job ended with status $status ${took}s after the corruption: $(grep -m1 'shard changed' job1.log)"

cp shard.backup "$shard"
run_job > job2.log 2>&1 || { cat job2.log; fail "the job with the shard restored failed"; }
grep -q "resuming from run/checkpoints/step-" job2.log || { cat job2.log; fail "the second job did not resume"; }
[ -f run/adapters.h5 ] || fail "no adapter after the resumed job"
echo "PASS: corrupted shard named, job ended; restored and resumed ($(elapsed) s)"
