#!/usr/bin/env bash
# Memory of the node when 1 and 2 ranks train adapters on one frozen model: the weights of an
# asr-adapt .h5 are mmap'ed read-only, so ranks share one physical copy (page cache). Uses a
# random-weight Conformer-CTC Small (13M parameters, 52 MB) made by make_random_model. Samples
# every rank's RSS and PSS (proportional: shared pages divided among the processes mapping them)
# and the file-backed part, and prints the peaks of their sums.
#   bash bench/frozen_memory.sh [BUILD_DIR] [STEPS]
set -euo pipefail
BUILD_DIR=$(realpath "${1:-build}")
STEPS=${2:-12}
SRC=$(cd "$(dirname "$0")/.." && pwd)
BIN=$BUILD_DIR/bin/asr-adapt
WORK=$(mktemp -d /tmp/asr_mem_bench.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT
cd "$WORK"
"$BUILD_DIR/bin/make_random_model" "$SRC/tests/fixtures/nemo/conformer_ctc.nemo" small.h5
python3 "$SRC/tools/make_speech_corpus.py" --out corpus --seed 5 --split train:32 > /dev/null
"$BIN" shard --model small.h5 --manifest corpus/train.json --out shards > /dev/null 2>&1
cat > exp.yaml <<YAML
name: mem
model: {path: small.h5}
adapters: [{name: a, dim: 32}]
data: {train: {shards: [shards], batch_size: 4, num_buckets: 1}, prefetch_batches: 1}
optim: {name: adamw, lr: 0.001, sched: {name: constant}}
trainer: {max_steps: $STEPS, threads: 1}
logging: {progress: never, tensorboard: false}
YAML
# Peak over time of the summed kB of rss, pss and pss_file of this job's asr-adapt processes.
sample() {
  local job=$1 peak_rss=0 peak_pss=0 peak_file=0
  while kill -0 "$job" 2> /dev/null; do
    local rss=0 pss=0 file=0
    for pid in $(pgrep -x asr-adapt); do
      read -r r p f < <(awk '/^Rss:/{r=$2} /^Pss:/{p=$2} /^Pss_File:/{f=$2} END{print r+0, p+0, f+0}' \
        "/proc/$pid/smaps_rollup" 2> /dev/null || echo "0 0 0")
      rss=$((rss + r)); pss=$((pss + p)); file=$((file + f))
    done
    [ $rss -gt $peak_rss ] && peak_rss=$rss
    [ $pss -gt $peak_pss ] && peak_pss=$pss
    [ $file -gt $peak_file ] && peak_file=$file
    sleep 0.05
  done
  echo "$((peak_rss / 1024)) $((peak_pss / 1024)) $((peak_file / 1024))"
}
"$BIN" train exp.yaml run_dir=one 2> one.log & read -r r1 p1 f1 < <(sample $!)
mpirun --allow-run-as-root --oversubscribe -np 2 "$BIN" train exp.yaml run_dir=two 2> two.log &
read -r r2 p2 f2 < <(sample $!)
grep -h "frozen base weights unchanged" one.log two.log | sed 's/^.*\] //'
echo "1 rank : peak RSS ${r1} MiB, peak PSS ${p1} MiB (file-backed PSS ${f1} MiB)"
echo "2 ranks: peak RSS ${r2} MiB summed, peak PSS ${p2} MiB summed (file-backed PSS ${f2} MiB)"
echo "the model file: $(du -m small.h5 | cut -f1) MiB; 2 ranks use $(python3 -c "print(f'{$p2/$p1:.2f}')")x the memory of 1"
