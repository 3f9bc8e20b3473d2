#!/usr/bin/env bash
# Soak: STEPS training steps of the tiny fixture model under `mpirun -np 2`, each rank's resident
# memory (VmRSS) and open file descriptors sampled every second into soak.csv. Fails when, after
# warm-up (the 25% mark), resident memory grows by more than min(20 MiB, 10%) or the descriptor
# count grows. Validation and checkpoints (every STEPS/10 steps), metrics and TensorBoard logs
# run all along, so leaks in those paths show too.
#   soak.sh ASR_ADAPT_BINARY SOURCE_DIR MPIEXEC [STEPS] [CSV_OUT]
set -euo pipefail
source "$2/tests/e2e/faults/lib.sh"
fault_setup "$1" "$2"
MPIEXEC=${3:-mpirun}
STEPS=${4:-2000}
CSV_OUT=${5:-}
shard_fixture shards
EVERY=$(( STEPS / 10 ))
cat > soak.yaml <<YAML
name: soak
run_dir: run
seed: 7
model: {path: $MODEL}
adapters: [{name: a, module: encoder+decoder, dim: 16}]
data:
  train: {shards: [shards], batch_size: 2, num_buckets: 1}
  validation: [{name: dev, shards: [shards], batch_size: 2}]
optim: {name: adamw, lr: 0.001, sched: {name: CosineAnnealing, warmup_steps: 10}}
trainer: {max_steps: $STEPS, log_every_n_steps: 10, val_check_interval: $EVERY, collective_timeout: 60, threads: 1}
checkpoint: {every_n_steps: $EVERY, keep_last: 2}
logging: {progress: never, tensorboard: true}
YAML

timeout -k 5 $(( 60 + STEPS )) "$MPIEXEC" --allow-run-as-root --oversubscribe -np 2 "$BIN" train soak.yaml > soak.log 2>&1 &
JOB=$!
ranks=()
for _ in $(seq 300); do
  mapfile -t ranks < <(ranks_of_job "$JOB")
  [ "${#ranks[@]}" -eq 2 ] && break
  sleep 0.1
done
[ "${#ranks[@]}" -eq 2 ] || { cat soak.log; fail "did not find the 2 rank processes"; }

echo "seconds,pid,step,rss_kib,fds" > soak.csv
while kill -0 "$JOB" 2> /dev/null; do
  step=$(tail -c 600 run/metrics.jsonl 2> /dev/null | grep -o '"step":[0-9]*' | tail -1 | cut -d: -f2 || true)
  for pid in "${ranks[@]}"; do
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2> /dev/null || true)
    fds=$(ls "/proc/$pid/fd" 2> /dev/null | wc -l || true)  # a rank may exit between checks (pipefail)
    [ -n "$rss" ] && echo "$(elapsed),$pid,${step:-0},$rss,$fds" >> soak.csv
  done
  sleep 1
done
status=0
wait "$JOB" || status=$?
wall=$(elapsed)
[ -n "$CSV_OUT" ] && cp soak.csv "$CSV_OUT"
[ "$status" -eq 0 ] || { tail -30 soak.log; fail "the soak run failed (status $status)"; }
grep -q "done: $STEPS steps" soak.log || { tail -30 soak.log; fail "the run did not finish $STEPS steps"; }
[ "$(grep -c "validation at step" soak.log)" -eq 10 ] || { tail -30 soak.log; fail "expected 10 validations"; }
python3 - soak.csv "$STEPS" "$wall" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
steps, wall = int(sys.argv[2]), float(sys.argv[3])
ok = True
print(f"soak: {steps} steps, 2 ranks, {wall:.0f} s wall, {steps / wall:.1f} steps/s (incl. start-up), {len(rows)} samples")
for pid in sorted({r["pid"] for r in rows}):
    mine = [r for r in rows if r["pid"] == pid]
    # Steady state only: from the 25% mark until the last step is logged. What follows (final
    # checkpoint, output file, the frozen-weights fingerprint pass, MPI and CUDA teardown) is not
    # a leak and would be judged as one.
    warm = [r for r in mine if steps // 4 <= int(r["step"]) < steps]
    if len(warm) < 4:
        print(f"FAIL: pid {pid}: only {len(warm)} samples after warm-up (run too short to judge)"); ok = False; continue
    n = max(2, len(warm) // 10)
    head, tail = warm[:n], warm[-n:]
    rss_warm = max(int(r["rss_kib"]) for r in head) / 1024
    rss_end = max(int(r["rss_kib"]) for r in tail) / 1024
    rss_peak = max(int(r["rss_kib"]) for r in mine) / 1024
    fd_warm, fd_end = max(int(r["fds"]) for r in head), min(int(r["fds"]) for r in tail)
    tol = min(20.0, 0.10 * rss_warm)
    grew = rss_end - rss_warm
    print(f"  pid {pid}: RSS {rss_warm:.1f} MiB at step {head[0]['step']} (25% mark) -> {rss_end:.1f} MiB at the end "
          f"({grew:+.1f} MiB, tolerance {tol:.1f}); peak {rss_peak:.1f} MiB; fds {fd_warm} -> {fd_end}")
    if grew > tol: print(f"FAIL: pid {pid}: resident memory grew {grew:.1f} MiB after warm-up"); ok = False
    if fd_end > fd_warm: print(f"FAIL: pid {pid}: open descriptors grew {fd_warm} -> {fd_end}"); ok = False
sys.exit(0 if ok else 1)
PY
echo "PASS: soak of $STEPS steps"
