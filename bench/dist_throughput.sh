#!/usr/bin/env bash
# Data-parallel throughput on this machine, same global batch: 1 rank x 2 threads (batch B,
# 2 accumulated batches per step) vs 2 ranks x 1 thread (batch B each, one all-reduce per step),
# adapter training of the NeMo fixture model on an espeak-ng corpus. Prints audio-seconds/s of
# each, the GEMM rate of all ranks together as a fraction of the 2-thread sgemm peak measured in
# the same run (bench_sgemm_peak), and the all-reduce time and volume per step.
#   bash bench/dist_throughput.sh [BUILD_DIR] [STEPS]
set -euo pipefail
BUILD_DIR=$(realpath "${1:-build}")
STEPS=${2:-60}
SRC=$(cd "$(dirname "$0")/.." && pwd)
BIN=$BUILD_DIR/bin/asr-adapt
source "$SRC/bench/ensure_built.sh"
ensure_built "$BUILD_DIR" asr-adapt bench_sgemm_peak
MODEL=$SRC/tests/fixtures/nemo/conformer_ctc.nemo
WORK=$(mktemp -d /tmp/asr_dist_bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
python3 "$SRC/tools/make_speech_corpus.py" --out corpus --seed 5 --split train:64 > /dev/null
"$BIN" shard --model "$MODEL" --manifest corpus/train.json --out shards > /dev/null 2>&1
cat > exp.yaml <<YAML
name: bench
model: {path: $MODEL}
adapters: [{name: a, module: encoder+decoder, dim: 32}]
data: {train: {shards: [shards], batch_size: 8, num_buckets: 1}}
optim: {name: adamw, lr: 0.001, sched: {name: constant}}
trainer: {max_steps: $STEPS, log_every_n_steps: $STEPS}
logging: {progress: never, tensorboard: false}
YAML
PEAK=$("$BUILD_DIR/bin/bench_sgemm_peak" --threads 2 | sed -n 's/.*gflops=\([0-9.]*\).*/\1/p')
echo "sgemm peak (2 threads): $PEAK GFLOP/s"
summary() {  # run folder, ranks -> "audio-s/s, GEMM GFLOP/s (% of peak), all-reduce ms/step, bytes/step"
  python3 - "$1/metrics.jsonl" "$2" "$PEAK" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
ranks, peak = int(sys.argv[2]), float(sys.argv[3])
r = [x for x in rows if "train/audio_seconds_per_second" in x][-1]
gemm = ranks * r["train/gemm_gflops_per_second"]  # rank 0's rate; the ranks do the same work
print(f'{r["train/audio_seconds_per_second"]:.1f} audio-s/s, GEMM {gemm:.1f} GFLOP/s = {100 * gemm / peak:.1f}% of sgemm peak, '
      f'all-reduce {1000 * r.get("dist/all_reduce_seconds_per_step", 0):.2f} ms/step, '
      f'{int(r.get("dist/bytes_all_reduced_per_step", 0)):,} bytes/step')
PY
}
OMP_NUM_THREADS=2 "$BIN" train exp.yaml run_dir=one trainer.threads=2 trainer.accumulate_grad_batches=2 2> one.log
mpirun --allow-run-as-root --oversubscribe -np 2 -x OMP_NUM_THREADS=1 "$BIN" train exp.yaml run_dir=two trainer.threads=1 2> two.log
echo "1 rank x 2 threads, batch 8 x 2 accumulated: $(summary one 1)"
echo "2 ranks x 1 thread,  batch 8 per rank:      $(summary two 2)"
