#!/usr/bin/env bash
# CI: the quickstart's main job, shortened (launch/adapt_demo.sh --quick): the committed base model
# (configs/models/base/) on a base-domain test set and a smaller adaptation-domain corpus made
# here, an adapter trained for 150 steps with mpirun -np 2 on the new domain plus base-domain
# replay, then the before/after table. Checks: the adapter-disabled hypotheses equal the base
# model's (the script fails otherwise), the adaptation-domain WER falls by >= 10% relative even
# in this short run, the base-domain WER with the adapter enabled rises by <= 40% relative, and
# the report and curves are written.
#   adapt_demo_quick.sh ASR_ADAPT_BINARY SOURCE_DIR
# Exit 77 (skipped, reason printed) when sox or a synthesizer voice is not installed.
set -euo pipefail
BIN=$1
SRC=$2
command -v sox > /dev/null || { echo "SKIP: sox not installed (launch/install_deps.sh)"; exit 77; }
if ! why=$(python3 "$SRC/tools/corpus_synth.py" en-us+m1 flite:kal festival:kal_diphone 2>&1); then
  echo "SKIP: $why"
  exit 77
fi
WORK=$(mktemp -d /tmp/asr_demo.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
bash "$SRC/launch/adapt_demo.sh" "$BIN" "$WORK" --quick
cd "$WORK"
[ -s report.md ] || { echo "FAIL: no report.md"; exit 1; }
python3 - <<'PY' || { echo "FAIL: quick-run targets (report.json above)"; exit 1; }
import json
r = json.load(open("report.json"))
print(json.dumps(r, indent=1))
assert r["disabled_on_base"]["wer"] == r["base_on_base"]["wer"], "adapter disabled changed the base-domain WER"
assert r["adapt_relative_reduction"] >= 0.10, "adaptation-domain WER fell by less than 10% relative"
assert r["base_relative_change"] <= 0.40, "base-domain WER with the adapter rose by more than 40% relative"
PY
if python3 -c "import matplotlib" 2> /dev/null || /usr/bin/python3 -c "import matplotlib" 2> /dev/null; then
  [ -s curves.png ] || { echo "FAIL: matplotlib is installed but no curves.png"; exit 1; }
fi
echo PASS
