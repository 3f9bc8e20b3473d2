#!/usr/bin/env bash
# tools/make_speech_corpus.py with every engine: a small base-preset and adapt-preset corpus
# (with noise and reverb), made twice and compared byte for byte; 16 kHz mono s16 WAVs; manifest,
# text and report fields; `asr-adapt shard --strict` accepts a corpus with the fixture model.
#   test_make_speech_corpus.sh ASR_ADAPT_BINARY SOURCE_DIR
# Exit 77 (skipped, reason printed) when sox, soxi or a synthesizer or voice is not installed.
set -euo pipefail
BIN=$1
SRC=$2
TOOL=$SRC/tools/make_speech_corpus.py
MODEL=$SRC/tests/fixtures/nemo/conformer_ctc.nemo
ADAPT_VOICES=flite:kal,flite:kal16,flite:awb,flite:rms,flite:slt,festival:kal_diphone,festival:cmu_us_slt_arctic_hts
# The fixture model's 64-piece tokenizer has no piece for j or z.
FIXTURE_ALPHABET="abcdefghiklmnopqrstuvwxy'"
fail() { echo "FAIL: $*" >&2; exit 1; }

for program in sox soxi; do
  command -v "$program" > /dev/null || { echo "SKIP: $program not installed (launch/install_deps.sh)"; exit 77; }
done
if ! why=$(python3 "$SRC/tools/corpus_synth.py" en-us+m1 en-us+f2 ${ADAPT_VOICES//,/ } 2>&1); then
  echo "SKIP: $why"
  exit 77
fi

WORK=$(mktemp -d /tmp/asr_corpus_test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

make_corpora() {  # DIR: a base corpus (general text) and an adapt corpus (channel-shifted)
  python3 "$TOOL" --out "$1/base" --preset base --split train:6,dev:2,test:2 --seed 7 --jobs 2 \
    --voices en-us+m1,en-us+f2 > /dev/null
  python3 "$TOOL" --out "$1/adapt" --preset adapt --split train:14,test:7 --seed 7 --jobs 2 \
    --alphabet "$FIXTURE_ALPHABET" --noise-snr 20 --noise-color pink --reverb 30 > /dev/null
}

echo "== generate twice, compare"
make_corpora run1
make_corpora run2
diff -r -x timing.json run1 run2 || fail "same seed and arguments gave different files"
ls run1/base/wavs/train/*.wav run1/adapt/wavs/test/*.wav > /dev/null

echo "== --only test makes the full corpus's test split, nothing else"
python3 "$TOOL" --out only_test --preset base --split train:6,dev:2,test:2 --seed 7 --jobs 2 \
  --voices en-us+m1,en-us+f2 --only test > /dev/null
diff run1/base/test.json only_test/test.json || fail "--only test: other test manifest"
diff -r run1/base/wavs/test only_test/wavs/test || fail "--only test: other test audio"
[ ! -e only_test/train.json ] && [ ! -e only_test/wavs/train ] || fail "--only test made the train split"
python3 "$TOOL" --out head_train --preset base --split train:6,dev:2,test:2 --seed 7 --jobs 2 \
  --voices en-us+m1,en-us+f2 --only train --head 2 > /dev/null
diff <(head -2 run1/base/train.json) head_train/train.json || fail "--head 2: not the first two train utterances"
! python3 "$TOOL" --out only_bad --preset base --split train:6,test:2 --only dev > /dev/null 2>&1 \
  || fail "--only with an unknown split was accepted"

echo "== another seed gives other audio"
python3 "$TOOL" --out seed8 --preset adapt --split train:14,test:7 --seed 8 --jobs 2 \
  --alphabet "$FIXTURE_ALPHABET" --noise-snr 20 --noise-color pink --reverb 30 > /dev/null
! cmp -s run1/adapt/wavs/train/train_00000.wav seed8/wavs/train/train_00000.wav \
  || fail "--seed 8 made the same first WAV as --seed 7"

echo "== WAV format"
for wav in run1/base/wavs/*/*.wav run1/adapt/wavs/*/*.wav; do
  [ "$(soxi -r "$wav")" = 16000 ] || fail "$wav: rate $(soxi -r "$wav")"
  [ "$(soxi -c "$wav")" = 1 ] || fail "$wav: $(soxi -c "$wav") channels"
  [ "$(soxi -b "$wav")" = 16 ] || fail "$wav: $(soxi -b "$wav") bits"
done

echo "== manifests, text files, report"
python3 - run1 "$ADAPT_VOICES" "$FIXTURE_ALPHABET" <<'PY' || fail "manifest/report check"
import json, os, re, sys, wave
root, adapt_voices, alphabet = sys.argv[1], sys.argv[2].split(","), set(sys.argv[3] + " ")
expect = {"base": {"train": 6, "dev": 2, "test": 2}, "adapt": {"train": 14, "test": 7}}
for corpus, splits in expect.items():
    d = os.path.join(root, corpus)
    report = json.load(open(os.path.join(d, "report.json")))
    seen_voices = set()
    for split, count in splits.items():
        rows = [json.loads(line) for line in open(os.path.join(d, f"{split}.json"))]
        assert len(rows) == count, (corpus, split, len(rows))
        texts = open(os.path.join(d, "text", f"{split}.txt")).read().splitlines()
        assert texts == [r["text"] for r in rows], (corpus, split, "text file != manifest")
        for r in rows:
            for key in ("audio_filepath", "duration", "text", "voice", "speed", "pitch"):
                assert key in r, (corpus, split, "missing", key, r)
            assert re.fullmatch(r"[a-z']+( [a-z']+)*", r["text"]), r
            with wave.open(os.path.join(d, r["audio_filepath"])) as w:
                assert abs(w.getnframes() / 16000 - r["duration"]) < 1e-9, r
            assert 1.0 <= r["duration"] <= (12.0 if corpus == "base" else 8.0) + 0.01, r
            seen_voices.add(r["voice"])
        assert report["splits"][split]["utterances"] == count, (corpus, split)
        assert abs(report["splits"][split]["hours"] * 3600 -
                   sum(r["duration"] for r in rows)) < 0.01, (corpus, split)
    if corpus == "base":
        assert all(3 <= len(t.split()) <= 15 for t in open(os.path.join(d, "text", "train.txt"))), \
            "general sentences outside 3-15 words"
        assert json.load(open(os.path.join(d, "corpus.json")))["text"]["style"] == "general"
    else:
        assert seen_voices == set(adapt_voices), f"adapt voices used: {sorted(seen_voices)}"
        for split in splits:
            for r in map(json.loads, open(os.path.join(d, f"{split}.json"))):
                assert set(r["text"]) <= alphabet, ("outside --alphabet", r["text"])
                assert r["noise"] == "pink@20dB" and r["reverb"] == 30, r
print("manifests ok")
PY

echo "== asr-adapt shard accepts the adapt corpus (AN4-like text, no j/z)"
for split in train test; do
  "$BIN" shard --model "$MODEL" --manifest run1/adapt/$split.json --out shards/$split --strict > /dev/null
  [ -f shards/$split/index.json ] || fail "no shard index for $split"
done

echo "PASS"
