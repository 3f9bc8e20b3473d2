#!/usr/bin/env bash
# The main job, NeMo's ASR_with_Adapters tutorial made real here: a base model trained by
# asr-adapt (configs/models/base/) does well on its own domain and badly on a new one; adapters
# trained for a few minutes fix the new domain while the base domain is untouched.
#   launch/adapt_demo.sh ASR_ADAPT_BINARY OUT_DIR [--quick]
# 1. speech corpora: the base domain's test set and the adaptation domain (espeak-ng / flite /
#    festival, tools/make_speech_corpus.py), kept and reused by a second run; shards likewise
# 2. evaluate the base model on both domains
# 3. train an adapter on the adaptation domain with mpirun -np 2 (configs/adapt_an4.yaml)
# 4. evaluate again: adaptation domain with the adapter; base domain with the adapter disabled
#    (checked identical to step 2) and enabled
# 5. a before/after WER table, OUT_DIR/report.md and OUT_DIR/curves.png
# --quick (CI): a smaller adaptation corpus and fewer steps.
set -euo pipefail
BIN=$(realpath "$1")
OUT=$2
QUICK=${3:-}
SRC=$(cd "$(dirname "$0")/.." && pwd)
BASE=$(realpath "${BASE_MODEL:-$SRC/configs/models/base/conformer_ctc_base.nemo}")  # BASE_MODEL: another base model
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
mkdir -p "$OUT"
cd "$OUT"
fail() { echo "FAIL: $*" >&2; exit 1; }
t0=$(date +%s)
stamp() { echo "== [$(( $(date +%s) - t0 )) s] $*"; }

ADAPT_HOURS=0.5; STEPS=500; R=${REPLAY:-1500}; BASE_TEST=0; Q=; EXTRA=()
if [ "$QUICK" = "--quick" ]; then
  ADAPT_HOURS=0.15; STEPS=150; R=${REPLAY:-400}; BASE_TEST=200; Q=_quick
  EXTRA=(trainer.val_check_interval=50 checkpoint.every_n_steps=50)
fi
# TRAIN_OVERRIDES: more key=value overrides for `asr-adapt train` (e.g. optim.lr=0.001)
read -r -a MORE <<< "${TRAIN_OVERRIDES:-}"

stamp "1. corpora and shards (reused when present; synthesis logs in $OUT/*.log)"
# The base domain's test split exactly as in the corpus the base model was trained on
# (launch/make_base_model.sh: seed 2, 10 h); --only test synthesizes just that split, whose
# sentences the model never saw.
[ -f base_corpus$Q/test.json ] || python3 "$SRC/tools/make_speech_corpus.py" --preset base --out base_corpus$Q --seed 2 --hours 10 \
  --only test --head $BASE_TEST --jobs 2 > base_corpus$Q.log
# Replay: the first utterances of the base model's own train split. Mixed into the adapter's
# training data they keep the base domain working while the adapter is enabled; the first 100 of
# its dev split show that during training (validation set base_dev).
[ -f base_replay_$R/train.json ] || python3 "$SRC/tools/make_speech_corpus.py" --preset base --out base_replay_$R --seed 2 --hours 10 \
  --only train --head "$R" --jobs 2 > base_replay_$R.log
[ -f base_dev/dev.json ] || python3 "$SRC/tools/make_speech_corpus.py" --preset base --out base_dev --seed 2 --hours 10 \
  --only dev --head 100 --jobs 2 > base_dev.log
[ -f adapt_corpus$Q/test.json ] || python3 "$SRC/tools/make_speech_corpus.py" --preset adapt --out adapt_corpus$Q --seed 2 --hours "$ADAPT_HOURS" --jobs 2 > adapt_corpus$Q.log
tail -1 base_corpus$Q.log base_replay_$R.log base_dev.log adapt_corpus$Q.log 2> /dev/null | grep generated || true
shard() { "$BIN" shard --model "$BASE" --manifest "$1" --out "$2" 2>&1 | grep -E "^shard: $2" || true; }
SH=shards$Q  # one folder per mode, so --quick and the full run never mix corpora
shard base_corpus$Q/test.json $SH/base_test
for s in train dev test; do shard adapt_corpus$Q/$s.json $SH/adapt_$s; done
shard base_replay_$R/train.json $SH/base_replay_$R
shard base_dev/dev.json $SH/base_dev

stamp "2. the base model on both domains"
"$BIN" eval --model "$BASE" --shards $SH/base_test --out base_on_base.jsonl --json > base_on_base.json
"$BIN" eval --model "$BASE" --shards $SH/adapt_test --out base_on_adapt.jsonl --json > base_on_adapt.json

stamp "3. train the adapter (mpirun -np 2)"
rm -rf adapt_run
mpirun --allow-run-as-root --oversubscribe -np 2 "$BIN" train "$SRC/configs/adapt_an4.yaml" model.path="$BASE" \
  run_dir=adapt_run trainer.max_steps="$STEPS" data.train.shards=[$SH/adapt_train,$SH/base_replay_$R] \
  data.validation.0.shards=[$SH/adapt_dev] data.validation.1.shards=[$SH/base_dev] "${EXTRA[@]}" "${MORE[@]}"
[ -f adapt_run/adapters.h5 ] || fail "no adapter file"

stamp "4. evaluate with the adapter"
A=adapt_run/adapters.h5
"$BIN" eval --model "$BASE" --adapter $A --shards $SH/adapt_test --json > adapted_on_adapt.json
"$BIN" eval --model "$BASE" --adapter $A --shards $SH/base_test --json > adapted_on_base.json
"$BIN" eval --model "$BASE" --adapter $A --disable-adapters --shards $SH/base_test --out disabled_on_base.jsonl \
  --json > disabled_on_base.json
cmp -s base_on_base.jsonl disabled_on_base.jsonl || fail "adapter disabled: base-domain hypotheses differ from the base model's"

stamp "5. report"
"$PY" - "$SRC" "$(( $(date +%s) - t0 ))" <<'PY'
import json, sys
r = {k: json.load(open(f"{k}.json")) for k in
     ["base_on_base", "base_on_adapt", "adapted_on_adapt", "adapted_on_base", "disabled_on_base"]}
w = lambda k: 100 * r[k]["wer"]
rows = [("base domain (test)", w("base_on_base"), w("disabled_on_base"), w("adapted_on_base")),
        ("adaptation domain (test)", w("base_on_adapt"), None, w("adapted_on_adapt"))]
rel_adapt = 100 * (1 - r["adapted_on_adapt"]["wer"] / max(r["base_on_adapt"]["wer"], 1e-9))
rel_base = 100 * (r["adapted_on_base"]["wer"] / max(r["base_on_base"]["wer"], 1e-9) - 1)
table = ["| test set | base model | adapter disabled | adapter enabled |", "| --- | --- | --- | --- |"]
for name, a, b, c in rows:
    table.append(f"| {name} | {a:.2f}% | {'-' if b is None else f'{b:.2f}%'} | {c:.2f}% |")
lines = ["# Adapter quickstart report", "", *table, "",
         f"- adaptation-domain WER: {rel_adapt:.1f}% relative reduction (target >= 50%)",
         f"- base-domain WER with the adapter disabled: identical hypotheses to the base model (checked)",
         f"- base-domain WER with the adapter enabled: {rel_base:+.1f}% relative (target <= +10%)",
         "- adapter: adapt_run/adapters.h5; curves: curves.png; metrics: adapt_run/metrics.jsonl",
         f"- wall time of launch/adapt_demo.sh: {int(sys.argv[2]) / 60:.1f} min (corpora and shards reused when present)"]
open("report.md", "w").write("\n".join(lines) + "\n")
summary = {k: {"wer": r[k]["wer"], "cer": r[k].get("cer")} for k in r}
summary |= {"adapt_relative_reduction": rel_adapt / 100, "base_relative_change": rel_base / 100,
            "targets_met": rel_adapt >= 50 and rel_base <= 10}
json.dump(summary, open("report.json", "w"), indent=1)
print("\n".join(table))
print("\n".join(lines[-5:]))
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    m = [json.loads(l) for l in open("adapt_run/metrics.jsonl")]
    tr = [(x["step"], x["train/loss"]) for x in m if "train/loss" in x]
    curve = lambda key: [(x["step"], 100 * x[key]) for x in m if key in x]
    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    ax[0].plot(*zip(*tr)); ax[0].set_xlabel("step"); ax[0].set_ylabel("train CTC loss"); ax[0].set_title("training loss")
    for key, label in [("dev/wer", "adaptation domain (dev)"), ("base_dev/wer", "base domain (dev, adapter on)")]:
        if curve(key): ax[1].plot(*zip(*curve(key)), marker="o", label=label)
    ax[1].legend(); ax[1].set_xlabel("step"); ax[1].set_ylabel("WER (%)"); ax[1].set_title("dev WER during adapter training")
    fig.tight_layout(); fig.savefig("curves.png", dpi=100)
except ImportError:
    print("(matplotlib not installed: no curves.png)")
PY
stamp "done: $OUT/report.md"
