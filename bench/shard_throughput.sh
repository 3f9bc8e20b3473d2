#!/usr/bin/env bash
# Feature throughput against NeMo's own preprocessing (tools/nemo_preprocess_bench.py:
# AudioSegment + model.preprocessor) on the same espeak-ng speech, in one run, 1 thread and all:
#  - features: bench_features, the same work as NeMo's side (read, resample, log-mels), with its
#    arithmetic rate as a fraction of the sgemm peak measured here (bench_sgemm_peak);
#  - shard: `asr-adapt shard`, which also tokenises and writes the HDF5 shard.
# Prints x real time per core for each and the ratios to NeMo.
#
#   bench/shard_throughput.sh [BUILD_DIR]        (default: build)
#   env: MODEL (.nemo; default the Conformer-CTC test fixture), NEMO_PY (python with NeMo;
#        default .venv-nemo/bin/python), AUDIO_SECONDS (default 120), REPEAT (default 3)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
BIN=$BUILD/bin/asr-adapt
MODEL=${MODEL:-$ROOT/tests/fixtures/nemo/conformer_ctc.nemo}
NEMO_PY=${NEMO_PY:-$ROOT/.venv-nemo/bin/python}
AUDIO_SECONDS=${AUDIO_SECONDS:-120}
REPEAT=${REPEAT:-3}
NPROC=$(nproc)
source "$ROOT/bench/ensure_built.sh"
ensure_built "$BUILD" asr-adapt bench_features bench_sgemm_peak
command -v espeak-ng >/dev/null || { echo "espeak-ng is needed to make the audio" >&2; exit 1; }

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# ~6-10 s utterances (three sentences each) until AUDIO_SECONDS of audio, as a NeMo manifest.
SENTENCES=("the cat sat on the mat" "don't open the red door" "is it raining today"
           "seven green apples please" "we'll meet at the old station" "the red cat"
           "open the old door" "green apples today" "meet the cat" "is the station open")
total=0 i=0
: > "$TMP/manifest.json"
while python3 -c "import sys; sys.exit(0 if $total < $AUDIO_SECONDS else 1)"; do
  n=${#SENTENCES[@]}
  text="${SENTENCES[$((i % n))]}, ${SENTENCES[$(((i + 3) % n))]}, ${SENTENCES[$(((i + 7) % n))]}"
  espeak-ng -s $((140 + (i % 5) * 10)) -w "$TMP/utt$i.wav" "$text"
  d=$(python3 -c "import wave; w = wave.open('$TMP/utt$i.wav'); print(w.getnframes() / w.getframerate())")
  printf '{"audio_filepath": "utt%d.wav", "duration": %s, "text": "%s"}\n' "$i" "$d" "${text//,/}" >> "$TMP/manifest.json"
  total=$(python3 -c "print($total + $d)")
  i=$((i + 1))
done
echo "audio: $i utterances, $(python3 -c "print(round($total, 1))") s (espeak-ng, 22.05 kHz -> resampled to the model's rate)"

# Best of REPEAT runs, each into a fresh directory (a rerun would otherwise resume).
run_asr() {  # threads -> "xrt_per_core"
  local best=0 r out
  for r in $(seq "$REPEAT"); do
    rm -rf "$TMP/shards"
    out=$("$BIN" shard --model "$MODEL" --manifest "$TMP/manifest.json" --out "$TMP/shards" --threads "$1" 2>/dev/null)
    x=$(sed -n 's/.*, \([0-9.]*\)x real time per core.*/\1/p' <<< "$out")
    best=$(python3 -c "print(max($best, $x))")
  done
  echo "$best"
}
run_features() {  # threads -> "xrt_per_core gflops"
  "$BUILD/bin/bench_features" --model "$MODEL" --manifest "$TMP/manifest.json" --threads "$1" --repeat "$REPEAT" |
    sed -n 's/.*xrt_per_core=\([0-9.]*\) gflops=\([0-9.]*\).*/\1 \2/p'
}
# The feature arithmetic (bench_features' count) against the raw sgemm rate of as many threads.
P1=$("$BUILD/bin/bench_sgemm_peak" --threads 1 | sed -n 's/.*gflops=\([0-9.]*\).*/\1/p')
PN=$("$BUILD/bin/bench_sgemm_peak" --threads "$NPROC" | sed -n 's/.*gflops=\([0-9.]*\).*/\1/p')
read -r F1 G1 <<< "$(run_features 1)"
read -r FN GN <<< "$(run_features "$NPROC")"
A1=$(run_asr 1)
AN=$(run_asr "$NPROC")
pct() { python3 -c "print(round(100 * $1 / $2, 1))"; }
echo "sgemm peak: 1 thread $P1 GFLOP/s, $NPROC threads $PN GFLOP/s"
echo "asr-adapt features 1 thread : ${F1}x real time per core, $G1 GFLOP/s = $(pct "$G1" "$P1")% of the sgemm peak"
echo "asr-adapt features $NPROC threads: ${FN}x real time per core, $GN GFLOP/s = $(pct "$GN" "$PN")% of the sgemm peak"
echo "asr-adapt shard    1 thread : ${A1}x real time per core (features + tokenise + HDF5 write)"
echo "asr-adapt shard    $NPROC threads: ${AN}x real time per core"

# NeMo's side: made on first use (launch/nemo_venv.sh, from PyPI); skipped if that fails.
[[ -x $NEMO_PY ]] || NEMO_PY=$(bash "$ROOT/launch/nemo_venv.sh" | tail -1) || true
if [[ -x $NEMO_PY ]]; then
  N1=$("$NEMO_PY" "$ROOT/tools/nemo_preprocess_bench.py" --model "$MODEL" --manifest "$TMP/manifest.json" \
        --threads 1 --repeat "$REPEAT" 2>/dev/null | sed -n 's/.*xrt_per_core=\([0-9.]*\).*/\1/p')
  NN=$("$NEMO_PY" "$ROOT/tools/nemo_preprocess_bench.py" --model "$MODEL" --manifest "$TMP/manifest.json" \
        --threads "$NPROC" --repeat "$REPEAT" 2>/dev/null | sed -n 's/.*xrt_per_core=\([0-9.]*\).*/\1/p')
  echo "NeMo preprocessor  1 thread : ${N1}x real time per core"
  echo "NeMo preprocessor  $NPROC workers: ${NN}x real time per core"
  ratio() { python3 -c "print(round($1 / $2, 2))"; }
  echo "ratio features / NeMo: 1 thread $(ratio "$F1" "$N1"), $NPROC threads $(ratio "$FN" "$NN")"
  echo "ratio shard / NeMo:    1 thread $(ratio "$A1" "$N1"), $NPROC threads $(ratio "$AN" "$NN")"
else
  echo "NeMo: skipped (no $NEMO_PY)"
fi
