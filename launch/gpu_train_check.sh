#!/usr/bin/env bash
# `asr-adapt train` end to end on the GPU against the CPU: the NeMo-made fixture model
# (tests/fixtures/nemo) and its audio, sharded here, then 6 adapter-training steps three times:
# trainer.device cpu (fp32), cuda (fp32) and cuda with precision bf16. Passes when the cuda fp32
# losses match the CPU's within 1e-3 relative at every step and bf16 stays within 2% of fp32.
# launch/gpu_check.sh runs it; without a GPU it runs on the emulated device (ASR_EMULATE_CUDA=1:
# the CPU kernels, so only the placement and copies are exercised) and says so.
#
#   launch/gpu_train_check.sh ASR_ADAPT_BINARY OUTDIR        exit 0 pass, 1 fail, 2 usage
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[[ $# -eq 2 && -x $1 ]] || { echo "usage: $0 ASR_ADAPT_BINARY OUTDIR" >&2; exit 2; }
BIN=$1 OUT=$2
mkdir -p "$OUT"
rm -rf "$OUT/shards" "$OUT"/run_*  # a fresh start on every call (runs resume otherwise)
MODEL=$ROOT/tests/fixtures/nemo/conformer_ctc.nemo
emulated=""
if ! "$BIN" --version 2>/dev/null | grep -qE " [1-9][0-9]* device\(s\) visible"; then
  export ASR_EMULATE_CUDA=1
  emulated=" (no GPU: emulated device, CPU kernels)"
fi

"$BIN" shard --model "$MODEL" --manifest "$ROOT/tests/fixtures/nemo/audio/manifest.json" --out "$OUT/shards" \
  --threads 2 >"$OUT/shard.log" 2>&1 || { echo "gpu train check: shard failed (see $OUT/shard.log)"; exit 1; }
cat >"$OUT/train.yaml" <<YAML
name: gpu_train_check
seed: 7
model:
  path: $MODEL
adapters:
  - name: domain
    type: linear
    module: encoder+decoder
    dim: 16
data:
  train:
    shards: [$OUT/shards]
    batch_size: 3
    num_buckets: 1
optim:
  name: adamw
  lr: 0.01
  sched:
    name: constant
trainer:
  max_steps: 6
  log_every_n_steps: 1
  val_check_interval: 0
logging:
  progress: never
  tensorboard: false
YAML
for run in cpu:fp32 cuda:fp32 cuda:bf16; do
  dev=${run%:*} prec=${run#*:}
  if ! "$BIN" train "$OUT/train.yaml" run_dir="$OUT/run_${dev}_$prec" trainer.device="$dev" \
      trainer.precision="$prec" >"$OUT/train_${dev}_$prec.log" 2>&1; then
    echo "gpu train check: train on $dev ($prec) failed$emulated: $(grep -m1 -i error "$OUT/train_${dev}_$prec.log")"
    exit 1
  fi
done
# (launch/gpu_check.sh points LD_LIBRARY_PATH at the bundle; Python gets the machine's own.)
LD_LIBRARY_PATH=${ASR_PY_LD_LIBRARY_PATH-${LD_LIBRARY_PATH:-}} python3 - "$OUT" "$emulated" <<'PY'
import json, sys
out, emulated = sys.argv[1], sys.argv[2]
def losses(name):
    return [json.loads(l)["train/loss"] for l in open(f"{out}/run_{name}/metrics.jsonl") if "train/loss" in l]
cpu, gpu, bf16 = losses("cpu_fp32"), losses("cuda_fp32"), losses("cuda_bf16")
rel = lambda a, b: abs(a - b) / max(abs(b), 1e-12)
worst_gpu = max(rel(g, c) for g, c in zip(gpu, cpu))
worst_bf16 = max(rel(b, g) for b, g in zip(bf16, gpu))
ok = len(cpu) == len(gpu) == len(bf16) == 6 and worst_gpu <= 1e-3 and worst_bf16 <= 0.02
print(f"gpu train check{emulated}: {'PASS' if ok else 'FAIL'}: 6 steps, cuda fp32 vs cpu worst rel {worst_gpu:.2e} "
      f"(<= 1e-3), bf16 vs fp32 worst rel {worst_bf16:.2e} (<= 2e-2); losses cpu "
      + " ".join(f"{v:.4f}" for v in cpu) + " | bf16 " + " ".join(f"{v:.4f}" for v in bf16))
sys.exit(0 if ok else 1)
PY
