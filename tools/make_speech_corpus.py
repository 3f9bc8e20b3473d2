#!/usr/bin/env python3
"""Generate a small synthetic English speech corpus (16 kHz mono s16 WAVs + NeMo JSON-lines
manifests) with espeak-ng, deterministically from a seed. Made for CI and end-to-end tests of
adapter training; no network, no Python packages beyond the standard library.

    python3 tools/make_speech_corpus.py --out DIR --seed 1 --voices en+m3,en+f2 \\
        --split train:24,dev:8 [--sentences N] [--speed 160 --pitch 50] \\
        [--text-style commands|general]

writes DIR/<split>.json (one {"audio_filepath", "duration", "text", "voice", "speed", "pitch"}
object per line, audio_filepath relative to DIR as NeMo resolves it), DIR/wavs/<split>/*.wav and
DIR/corpus.json (the arguments and tool versions). The same arguments and the same espeak-ng and
sox versions give byte-identical files.

The pipeline has one stage per concern so that a later version can add engines (flite, festival)
to SYNTHESIZERS, text styles to TEXT_STYLES and noise/reverb as further sox effects in
`finish_audio` without touching the rest.

Text is lowercase [a-z' ] only. The built-in vocabulary avoids the letters j and z: the 64-piece
tokenizer of tests/fixtures/nemo/*.nemo has no piece for them, so they would become <unk>.
"""
import argparse
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import wave
from concurrent.futures import ThreadPoolExecutor

SAMPLE_RATE = 16000

# --------------------------------------------------------------------------------------------
# Text: built-in vocabulary and templates, one generator per style
# --------------------------------------------------------------------------------------------
DIGITS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
DEVICES = ["light", "lamp", "fan", "radio", "heater", "music", "television", "oven", "alarm"]
ROOMS = ["kitchen", "bedroom", "garden", "hall", "office", "bathroom", "garage"]
ACTIONS = ["turn on", "turn off", "start", "stop", "check", "open", "close", "reset"]
SIMPLE_COMMANDS = ["stop", "go back", "cancel that", "yes please", "no thanks", "start again",
                   "what time is it", "call home", "play the next song", "read my messages",
                   "louder please", "make it quieter", "show the weather"]
UNITS = ["minutes", "seconds", "hours"]

DET = ["the", "a", "my", "your", "this", "that", "every", "one"]
ADJ = ["red", "green", "old", "new", "small", "big", "quiet", "happy", "cold", "bright", "slow",
       "quick", "warm", "dark"]
NOUN = ["cat", "dog", "door", "apple", "river", "house", "teacher", "car", "bird", "window",
        "letter", "train", "friend", "city", "table", "song", "boat", "book", "tree", "horse"]
VERB = ["sees", "opens", "finds", "likes", "paints", "follows", "carries", "watches", "needs",
        "keeps", "wants", "hears"]
PREP = ["on", "near", "under", "behind", "at", "in", "over", "beside"]


def commands_sentence(rng):
    c = rng.choice
    templates = [
        lambda: f"{c(ACTIONS)} the {c(DEVICES)}",
        lambda: f"{c(ACTIONS)} the {c(ROOMS)} {c(DEVICES)}",
        lambda: f"set a timer for {c(DIGITS)} {c(UNITS)}",
        lambda: c(SIMPLE_COMMANDS),
        lambda: f"go to room {c(DIGITS)} {c(DIGITS)}",
        lambda: f"is the {c(DEVICES)} in the {c(ROOMS)} on",
        lambda: f"wake me at {c(DIGITS)} o'clock",
    ]
    return c(templates)()


def general_sentence(rng):
    c = rng.choice
    templates = [
        lambda: f"{c(DET)} {c(ADJ)} {c(NOUN)} {c(VERB)} {c(DET)} {c(NOUN)}",
        lambda: f"{c(DET)} {c(NOUN)} sat {c(PREP)} the {c(NOUN)}",
        lambda: f"{c(DIGITS)} {c(ADJ)} {c(NOUN)}s",
        lambda: f"where is {c(DET)} {c(NOUN)}",
        lambda: f"{c(DIGITS)} {c(DIGITS)} {c(DIGITS)} {c(DIGITS)}",
        lambda: f"it's {c(ADJ)} {c(PREP)} the {c(NOUN)} today",
    ]
    return c(templates)()


TEXT_STYLES = {"commands": commands_sentence, "general": general_sentence}


def normalize_text(text):
    """Lowercase, only [a-z' ], single spaces: what the manifests and the tokenizer see."""
    text = re.sub(r"[^a-z' ]+", " ", text.lower())
    return re.sub(r" +", " ", text).strip()


def _check_vocabulary():
    words = set()
    for group in (DIGITS, DEVICES, ROOMS, ACTIONS, SIMPLE_COMMANDS, UNITS, DET, ADJ, NOUN, VERB,
                  PREP, ["o'clock", "it's", "room", "timer", "sat", "where", "is", "wake"]):
        for phrase in group:
            words.update(phrase.split())
    bad = sorted(w for w in words if normalize_text(w) != w or set(w) & set("jz"))
    assert not bad, f"vocabulary words outside [a-z'] or with j/z: {bad}"


_check_vocabulary()


def sentence_pool(style, count, seed):
    """`count` distinct sentences (fewer only if the style cannot make that many)."""
    rng = random.Random(f"{seed}:text:{style}")
    make = TEXT_STYLES[style]
    pool, seen = [], set()
    for _ in range(count * 50):
        s = normalize_text(make(rng))
        if s not in seen:
            seen.add(s)
            pool.append(s)
            if len(pool) == count:
                break
    if len(pool) < count:
        sys.exit(f"--text-style {style} makes only {len(pool)} distinct sentences, "
                 f"{count} requested (lower --sentences)")
    return pool


# --------------------------------------------------------------------------------------------
# Synthesis: one class per engine, selected by the voice's "engine:" prefix (default espeak-ng)
# --------------------------------------------------------------------------------------------
def run(cmd, what):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        sys.exit(f"{what} failed ({' '.join(cmd)}): {r.stderr.decode(errors='replace').strip()}")
    return r.stdout.decode(errors="replace")


class EspeakNg:
    """espeak-ng voices as "language[+variant]", e.g. en+m3, en-us+f2. espeak-ng silently ignores
    an unknown variant, so variants are checked against its data folder."""

    name = "espeak-ng"

    def __init__(self):
        if not shutil.which("espeak-ng"):
            sys.exit("espeak-ng not found (apt-get install -y espeak-ng)")
        self.version = run(["espeak-ng", "--version"], "espeak-ng --version").strip()
        m = re.search(r"Data at:\s*(\S+)", self.version)
        self.data_dir = m.group(1) if m else None

    def check_voice(self, voice):
        language, _, variant = voice.partition("+")
        if variant and self.data_dir and not os.path.isfile(
                os.path.join(self.data_dir, "voices", "!v", variant)):
            sys.exit(f"espeak-ng voice {voice!r}: no variant {variant!r} in {self.data_dir}/voices/!v")
        with tempfile.TemporaryDirectory() as tmp:  # an unknown language makes espeak-ng fail
            run(["espeak-ng", "-v", language, "-w", os.path.join(tmp, "probe.wav"), "test"],
                f"espeak-ng voice {voice!r}")

    def synthesize(self, text, voice, speed, pitch, wav_path):
        """Writes espeak-ng's own WAV (22.05 kHz mono s16)."""
        run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", wav_path, text],
            f"espeak-ng -v {voice}")


SYNTHESIZERS = {"espeak-ng": EspeakNg}


def split_voice(spec):
    engine, sep, voice = spec.partition(":")
    return (engine, voice) if sep else ("espeak-ng", spec)


# --------------------------------------------------------------------------------------------
# Audio: resample to 16 kHz mono s16 and pad to the minimum length, with sox
# --------------------------------------------------------------------------------------------
def wav_seconds(path):
    with wave.open(path, "rb") as w:
        return w.getnframes() / w.getframerate()


def finish_audio(raw_path, out_path, min_seconds):
    """Resamples to 16 kHz mono s16 and pads silence on both sides up to min_seconds."""
    with wave.open(raw_path, "rb") as w:
        resampled = round(w.getnframes() * SAMPLE_RATE / w.getframerate())
    # Padding is counted in output samples, after an explicit rate effect; +2 samples of slack
    # cover sox's rounding of the resampled length.
    pad = max(0, math.ceil(min_seconds * SAMPLE_RATE) - resampled + 2) if resampled < \
        min_seconds * SAMPLE_RATE else 0
    # -D: no dither, so the output is a pure function of the input (byte-identical reruns).
    cmd = ["sox", "-D", raw_path, "-b", "16", "-c", "1", "-e", "signed", out_path,
           "rate", str(SAMPLE_RATE)]
    if pad:
        cmd += ["pad", f"{pad // 2}s", f"{pad - pad // 2}s"]
    run(cmd, "sox")


# --------------------------------------------------------------------------------------------
# Corpus
# --------------------------------------------------------------------------------------------
def plan_utterances(args, voices):
    """Every utterance's text, voice, speed and pitch, fixed before any audio is made: the
    corpus does not depend on --jobs or on the order in which workers finish."""
    total = sum(n for _, n in args.split)
    pool = sentence_pool(args.text_style, args.sentences or total, args.seed)
    plan, g = [], 0
    for split, count in args.split:
        for i in range(count):
            rng = random.Random(f"{args.seed}:utt:{split}:{i}")
            # A repeated sentence is spoken by the next voice, so repeats are not duplicates.
            voice = voices[(g + g // len(pool)) % len(voices)]
            speed = round(args.speed * (1 + rng.uniform(-args.speed_jitter, args.speed_jitter)))
            pitch = round(args.pitch + rng.uniform(-args.pitch_jitter, args.pitch_jitter))
            plan.append({"split": split, "index": i, "text": pool[g % len(pool)], "voice": voice,
                         "speed": speed, "pitch": max(0, min(99, pitch))})
            g += 1
    return plan


def make_utterance(item, synths, args, tmp):
    engine, voice = split_voice(item["voice"])
    name = f"{item['split']}_{item['index']:05d}"
    raw = os.path.join(tmp, name + ".raw.wav")
    speed = item["speed"]
    # Too long: speak faster (at most 3 tries). Too short: pad silence on both sides.
    for _ in range(3):
        synths[engine].synthesize(item["text"], voice, speed, item["pitch"], raw)
        seconds = wav_seconds(raw)
        if seconds <= args.max_duration:
            break
        speed = int(speed * seconds / (args.max_duration * 0.95)) + 1
    else:
        sys.exit(f"{name}: {item['text']!r} lasts {seconds:.2f} s even at speed {speed}; "
                 f"raise --max-duration")
    rel = os.path.join("wavs", item["split"], name + ".wav")
    out = os.path.join(args.out, rel)
    finish_audio(raw, out, args.min_duration)
    os.remove(raw)
    with wave.open(out, "rb") as w:
        frames = w.getnframes()
    return {"audio_filepath": os.path.abspath(out) if args.absolute_paths else rel,
            "duration": frames / SAMPLE_RATE, "text": item["text"],
            "voice": item["voice"], "speed": speed, "pitch": item["pitch"]}


def parse_split(spec):
    splits = []
    for part in spec.split(","):
        name, sep, count = part.partition(":")
        if not sep or not re.fullmatch(r"[A-Za-z0-9_-]+", name) or not count.isdigit() \
                or int(count) <= 0:
            raise argparse.ArgumentTypeError(f"bad split {part!r}: want NAME:COUNT, e.g. train:24")
        splits.append((name, int(count)))
    if len({n for n, _ in splits}) != len(splits):
        raise argparse.ArgumentTypeError(f"split names repeat in {spec!r}")
    return splits


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="output folder (created; existing splits are replaced)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--voices", default="en+m3,en+f2",
                   help="comma-separated [engine:]voice list, used in turn (engine: espeak-ng)")
    p.add_argument("--split", type=parse_split, default=parse_split("train:24,dev:8"),
                   help="NAME:COUNT[,NAME:COUNT...] utterances per manifest (default train:24,dev:8)")
    p.add_argument("--sentences", type=int, default=0,
                   help="distinct sentences shared by all splits, reused in turn by the next "
                        "voice (default: one per utterance, so no text repeats)")
    p.add_argument("--text-style", choices=sorted(TEXT_STYLES), default="commands")
    p.add_argument("--speed", type=int, default=160, help="words per minute (espeak-ng -s)")
    p.add_argument("--pitch", type=int, default=50, help="0-99 (espeak-ng -p)")
    p.add_argument("--speed-jitter", type=float, default=0.1,
                   help="per-utterance relative speed change, uniform in +-this (default 0.1)")
    p.add_argument("--pitch-jitter", type=float, default=8, help="per-utterance pitch change, +-this")
    p.add_argument("--min-duration", type=float, default=1.0, help="shorter audio is padded with silence")
    p.add_argument("--max-duration", type=float, default=3.0, help="longer audio is sped up")
    p.add_argument("--absolute-paths", action="store_true", help="write absolute audio_filepath")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel synthesis processes")
    args = p.parse_args(argv)
    if args.sentences < 0 or args.jobs < 1 or not 0 < args.min_duration < args.max_duration:
        p.error("need --sentences >= 0, --jobs >= 1 and 0 < --min-duration < --max-duration")
    return args


def main(argv=None):
    args = parse_args(argv)
    if not shutil.which("sox"):
        sys.exit("sox not found (apt-get install -y sox)")
    voices = [v.strip() for v in args.voices.split(",") if v.strip()]
    if not voices:
        sys.exit("--voices is empty")
    synths = {}
    for spec in voices:
        engine, voice = split_voice(spec)
        if engine not in SYNTHESIZERS:
            sys.exit(f"voice {spec!r}: unknown engine {engine!r} (known: {', '.join(SYNTHESIZERS)})")
        synths.setdefault(engine, SYNTHESIZERS[engine]())
        synths[engine].check_voice(voice)

    plan = plan_utterances(args, voices)
    os.makedirs(args.out, exist_ok=True)
    for split, _ in args.split:
        shutil.rmtree(os.path.join(args.out, "wavs", split), ignore_errors=True)
        os.makedirs(os.path.join(args.out, "wavs", split))
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(args.jobs) as pool:
        entries = list(pool.map(lambda item: make_utterance(item, synths, args, tmp), plan))

    for split, _ in args.split:
        rows = [e for e, item in zip(entries, plan) if item["split"] == split]
        with open(os.path.join(args.out, f"{split}.json"), "w", encoding="utf-8") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)
        hours = sum(r["duration"] for r in rows) / 3600
        print(f"{split}: {len(rows)} utterances, {hours * 60:.1f} min -> "
              f"{os.path.join(args.out, split + '.json')}")
    # What determines the corpus (not --out or --jobs), so equal corpora have equal corpus.json.
    settings = {k: v for k, v in vars(args).items() if k not in ("out", "jobs")}
    meta = {"generator": "tools/make_speech_corpus.py", "settings": settings,
            "sample_rate": SAMPLE_RATE,
            "tools": {name: s.version for name, s in synths.items()}
            | {"sox": run(["sox", "--version"], "sox --version").strip()}}
    with open(os.path.join(args.out, "corpus.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
