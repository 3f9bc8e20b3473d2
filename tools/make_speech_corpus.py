#!/usr/bin/env python3
"""Generate a synthetic English speech corpus (16 kHz mono s16 WAVs + NeMo JSON-lines manifests)
with Debian's speech synthesizers (espeak-ng, flite, festival), deterministically from a seed.
No network, no Python packages beyond the standard library.

    python3 tools/make_speech_corpus.py --out DIR --seed 1 --voices en+m3,en+f2 \\
        --split train:24,dev:8 [--sentences N] [--speed 160 --pitch 50] \\
        [--text-style commands|templates|general|an4] [--noise-snr DB] [--reverb PCT]
    python3 tools/make_speech_corpus.py --out DIR --preset base  [--hours 3]    # base domain
    python3 tools/make_speech_corpus.py --out DIR --preset adapt [--hours 0.5]  # adaptation domain

writes DIR/<split>.json (one {"audio_filepath", "duration", "text", "voice", "speed", "pitch"}
object per line, audio_filepath relative to DIR as NeMo resolves it), DIR/wavs/<split>/*.wav,
DIR/text/<split>.txt (the transcripts, one a line, for spm_train), DIR/corpus.json (the settings,
text source and tool versions), DIR/report.json (hours and utterances per split and voice) and
DIR/timing.json (wall time; the only file that differs between equal runs). The same arguments
and the same tool and package versions give byte-identical files.

Stages, one module each: corpus_text.py (transcripts), corpus_synth.py (engines),
corpus_audio.py (resampling, reverb, noise); this file plans the corpus and writes it.
"""
import argparse
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
import wave
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus_audio  # noqa: E402
import corpus_synth  # noqa: E402
import corpus_text  # noqa: E402

SAMPLE_RATE = corpus_audio.SAMPLE_RATE
FULL_ALPHABET = "abcdefghijklmnopqrstuvwxyz'"

ESPEAK_US_VARIANTS = [f"en-us+m{i}" for i in range(1, 8)] + [f"en-us+f{i}" for i in range(1, 6)]
ADAPT_VOICES = ["flite:kal", "flite:kal16", "flite:awb", "flite:rms", "flite:slt",
                "festival:kal_diphone", "festival:cmu_us_slt_arctic_hts"]
# Issue 8's two domains. `splits` are fractions of --hours.
PRESETS = {
    "base": {"voices": ",".join(ESPEAK_US_VARIANTS), "text_style": "general", "hours": 3.0,
             "speed_jitter": 0.15, "pitch_jitter": 15, "min_duration": 1.0, "max_duration": 12.0,
             "splits": [("train", 0.9), ("dev", 0.05), ("test", 0.05)]},
    "adapt": {"voices": ",".join(ADAPT_VOICES), "text_style": "an4", "hours": 0.5,
              "speed_jitter": 0.1, "pitch_jitter": 6, "min_duration": 1.0, "max_duration": 8.0,
              "splits": [("train", 0.8), ("dev", 0.1), ("test", 0.1)]},
}
DEFAULTS = {"voices": "en+m3,en+f2", "text_style": "commands", "speed_jitter": 0.1,
            "pitch_jitter": 8, "min_duration": 1.0, "max_duration": 3.0}
# Seconds per character of spoken text at REFERENCE_WPM, measured on corpora of this tool
# (padding excluded); used only to size --hours corpora before any audio exists.
SECONDS_PER_CHAR = {"espeak-ng": 0.066, "flite": 0.088, "festival": 0.088}


# --------------------------------------------------------------------------------------------
# Plan
# --------------------------------------------------------------------------------------------
def estimated_seconds(spoken, voice, speed, args):
    engine, _ = corpus_synth.split_voice(voice)
    seconds = len(spoken) * SECONDS_PER_CHAR[engine] * corpus_synth.REFERENCE_WPM / speed
    return min(args.max_duration, max(args.min_duration, seconds))


def plan_utterances(args, voices):
    """Every utterance's text, voice, speed and pitch, fixed before any audio is made: the
    corpus does not depend on --jobs or on the order in which workers finish. Split sizes are
    counts (--split NAME:COUNT) or, with --hours, estimated seconds."""
    stream = corpus_text.sentence_stream(args.text_style, args.seed, args.alphabet,
                                         args.min_words, args.max_words)
    by_count = args.hours is None
    # Distinct sentences in the pool; utterance g speaks sentence g % pool_size, a repeat by the
    # next voice. Without --sentences every utterance has its own sentence.
    pool_size = args.sentences or (sum(n for _, n in args.split) if by_count else None)
    pool, plan, g = [], [], 0
    for split, size in args.split:
        i, seconds = 0, 0.0
        while (i < size) if by_count else (seconds < size):
            k = g % pool_size if pool_size else g
            while len(pool) <= k:
                item = next(stream, None)
                if item is None:
                    sys.exit(f"--text-style {args.text_style} makes only {len(pool)} distinct "
                             f"sentences, more requested (lower --sentences or --hours)")
                pool.append(item)
            rng = random.Random(f"{args.seed}:utt:{split}:{i}")
            voice = voices[(g + (g // pool_size if pool_size else 0)) % len(voices)]
            speed = round(args.speed * (1 + rng.uniform(-args.speed_jitter, args.speed_jitter)))
            pitch = round(args.pitch + rng.uniform(-args.pitch_jitter, args.pitch_jitter))
            text, spoken = pool[k]
            plan.append({"split": split, "index": i, "text": text, "spoken": spoken,
                         "voice": voice, "speed": speed, "pitch": max(0, min(99, pitch))})
            seconds += estimated_seconds(spoken, voice, speed, args)
            i += 1
            g += 1
    return plan


# --------------------------------------------------------------------------------------------
# Audio
# --------------------------------------------------------------------------------------------
def make_utterance(item, synths, args, tmp):
    engine, voice = corpus_synth.split_voice(item["voice"])
    name = f"{item['split']}_{item['index']:05d}"
    raw = os.path.join(tmp, name + ".raw.wav")
    speed = item["speed"]
    # Too long: speak faster (at most 3 tries). Too short: pad silence on both sides.
    for _ in range(3):
        synths[engine].synthesize(item["spoken"], voice, speed, item["pitch"], raw)
        seconds = corpus_audio.wav_seconds(raw)
        if seconds <= args.max_duration:
            break
        speed = int(speed * seconds / (args.max_duration * 0.95)) + 1
    else:
        raise corpus_synth.SynthesisError(
            f"{name}: {item['text']!r} lasts {seconds:.2f} s even at speed {speed}; "
            f"raise --max-duration")
    rel = os.path.join("wavs", item["split"], name + ".wav")
    out = os.path.join(args.out, rel)
    corpus_audio.finish_audio(raw, out, args.min_duration, reverb=args.reverb)
    os.remove(raw)
    if args.noise_snr is not None:
        rng = random.Random(f"{args.seed}:noise:{item['split']}:{item['index']}")
        corpus_audio.add_noise(out, args.noise_snr, args.noise_color, rng)
    with wave.open(out, "rb") as w:
        frames = w.getnframes()
    row = {"audio_filepath": os.path.abspath(out) if args.absolute_paths else rel,
           "duration": frames / SAMPLE_RATE, "text": item["text"],
           "voice": item["voice"], "speed": speed, "pitch": item["pitch"]}
    # Only when used, so corpora without a channel shift keep their first version's manifests.
    if args.reverb:
        row["reverb"] = args.reverb
    if args.noise_snr is not None:
        row["noise"] = f"{args.noise_color}@{args.noise_snr:g}dB"
    return row


# --------------------------------------------------------------------------------------------
# Outputs
# --------------------------------------------------------------------------------------------
def summarize(rows):
    voices = {}
    for r in rows:
        v = voices.setdefault(r["voice"], {"utterances": 0, "hours": 0.0})
        v["utterances"] += 1
        v["hours"] += r["duration"] / 3600
    return {"utterances": len(rows), "hours": sum(r["duration"] for r in rows) / 3600,
            "voices": dict(sorted(voices.items()))}


def write_report(out, by_split):
    report = {"splits": {s: summarize(rows) for s, rows in by_split.items()},
              "total": summarize([r for rows in by_split.values() for r in rows])}
    for part in [*report["splits"].values(), report["total"]]:  # stable bytes: rounded floats
        part["hours"] = round(part["hours"], 6)
        for v in part["voices"].values():
            v["hours"] = round(v["hours"], 6)
    with open(os.path.join(out, "report.json"), "w", encoding="utf-8") as f:
        json.dump(report, f, indent=1)
        f.write("\n")
    splits = list(by_split)
    print(f"{'voice':36s}" + "".join(f"{s:>16s}" for s in splits + ["total"]))
    for voice in report["total"]["voices"]:
        cells = []
        for part in [report["splits"][s] for s in splits] + [report["total"]]:
            v = part["voices"].get(voice, {"utterances": 0, "hours": 0.0})
            cells.append(f"{v['utterances']:6d} {v['hours'] * 60:7.1f}m")
        print(f"{voice:36s}" + "".join(f"{c:>16s}" for c in cells))
    cells = [f"{p['utterances']:6d} {p['hours']:6.3f}h"
             for p in [report["splits"][s] for s in splits] + [report["total"]]]
    print(f"{'all voices (utterances, hours)':36s}" + "".join(f"{c:>16s}" for c in cells))
    return report


def text_source_info(style):
    if style != "general":
        return {"style": style, "source": "built-in generator (tools/corpus_text.py)"}
    sentences, source, files = corpus_text.debian_sentences()
    return {"style": style, "source": source, "files": files, "sentences": len(sentences),
            "packages": corpus_text.debian_text_version(source)}


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------
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
    p.add_argument("--preset", choices=sorted(PRESETS),
                   help="issue 8's domains: base (espeak-ng en-us variants, general sentences, "
                        "train/dev/test) or adapt (flite + festival voices, AN4-like text); "
                        "other options override its settings")
    p.add_argument("--hours", type=float,
                   help="size splits by estimated audio hours (preset fractions, default "
                        "train .9 dev .05 test .05) instead of --split counts")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--voices", help="comma-separated [engine:]voice list, used in turn; engines "
                   "espeak-ng (default), flite, festival (default en+m3,en+f2)")
    p.add_argument("--split", type=parse_split,
                   help="NAME:COUNT[,NAME:COUNT...] utterances per manifest (default train:24,dev:8)")
    p.add_argument("--sentences", type=int, default=0,
                   help="distinct sentences shared by all splits, reused in turn by the next "
                        "voice (default: one per utterance, so no text repeats)")
    p.add_argument("--text-style", choices=corpus_text.TEXT_STYLES,
                   help="commands (default), templates, general (Debian text), an4")
    p.add_argument("--alphabet", default=FULL_ALPHABET,
                   help="keep only transcripts made of these characters (and space), e.g. "
                        "without j and z for a tokenizer that lacks them")
    p.add_argument("--min-words", type=int, default=3, help="general text: fewest words")
    p.add_argument("--max-words", type=int, default=15, help="general text: most words")
    p.add_argument("--speed", type=int, default=160, help="words per minute (espeak-ng -s)")
    p.add_argument("--pitch", type=int, default=50, help="0-99 (espeak-ng -p)")
    p.add_argument("--speed-jitter", type=float,
                   help="per-utterance relative speed change, uniform in +-this (default 0.1)")
    p.add_argument("--pitch-jitter", type=float, help="per-utterance pitch change, +-this (default 8)")
    p.add_argument("--min-duration", type=float, help="shorter audio is padded with silence (default 1)")
    p.add_argument("--max-duration", type=float, help="longer audio is sped up (default 3)")
    p.add_argument("--noise-snr", type=float, help="add seeded noise at this SNR in dB")
    p.add_argument("--noise-color", choices=["white", "pink"], default="white")
    p.add_argument("--reverb", type=int, default=0, help="sox reverb reverberance 1-100 (0: none)")
    p.add_argument("--only", type=lambda v: [x for x in v.split(",") if x],
                   help="synthesize only these splits (comma-separated), e.g. test: the same "
                        "utterances as in the full corpus, since every split is planned first")
    p.add_argument("--head", type=int, default=0,
                   help="synthesize only the first N utterances of each split (0: all), e.g. a "
                        "small replay set from a large corpus's train split")
    p.add_argument("--absolute-paths", action="store_true", help="write absolute audio_filepath")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel synthesis processes")
    args = p.parse_args(argv)

    preset = PRESETS.get(args.preset, {})
    for key, default in DEFAULTS.items():
        if getattr(args, key) is None:
            setattr(args, key, preset.get(key, default))
    if args.hours is None and args.split is None and preset:
        args.hours = preset["hours"]
    if args.hours is not None:
        if args.split is not None:
            p.error("--hours sizes the preset's splits; give either --hours or --split")
        if args.hours <= 0:
            p.error("--hours must be > 0")
        args.split = [(name, args.hours * frac * 3600)
                      for name, frac in preset.get("splits", PRESETS["base"]["splits"])]
    elif args.split is None:
        args.split = parse_split("train:24,dev:8")
    if args.head < 0:
        p.error("--head must be >= 0")
    if args.only and not set(args.only) <= {name for name, _ in args.split}:
        p.error(f"--only {','.join(args.only)}: the splits are {', '.join(n for n, _ in args.split)}")
    if args.sentences < 0 or args.jobs < 1 or not 0 < args.min_duration < args.max_duration:
        p.error("need --sentences >= 0, --jobs >= 1 and 0 < --min-duration < --max-duration")
    if not 0 <= args.reverb <= 100 or not 1 <= args.min_words <= args.max_words:
        p.error("need 0 <= --reverb <= 100 and 1 <= --min-words <= --max-words")
    if not set(args.alphabet) <= set(FULL_ALPHABET):
        p.error(f"--alphabet may only hold characters of {FULL_ALPHABET!r}")
    return args


def main(argv=None):
    started = time.monotonic()
    args = parse_args(argv)
    if not shutil.which("sox"):
        sys.exit("sox not found (apt-get install -y sox)")
    voices = [v.strip() for v in args.voices.split(",") if v.strip()]
    if not voices:
        sys.exit("--voices is empty")
    try:
        synths = corpus_synth.open_synthesizers(voices)
    except corpus_synth.SynthesisError as e:
        sys.exit(str(e))

    plan = plan_utterances(args, voices)
    if args.only:  # planned in full first, so a split's text and voices do not depend on --only
        plan = [item for item in plan if item["split"] in args.only]
        args.split = [(name, size) for name, size in args.split if name in args.only]
    if args.head:
        plan = [item for item in plan if item["index"] < args.head]
    os.makedirs(os.path.join(args.out, "text"), exist_ok=True)
    for split, _ in args.split:
        shutil.rmtree(os.path.join(args.out, "wavs", split), ignore_errors=True)
        os.makedirs(os.path.join(args.out, "wavs", split))
    try:
        with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(args.jobs) as pool:
            entries = list(pool.map(lambda item: make_utterance(item, synths, args, tmp), plan))
    except (corpus_synth.SynthesisError, RuntimeError) as e:
        sys.exit(str(e))

    by_split = {}
    for split, _ in args.split:
        rows = [e for e, item in zip(entries, plan) if item["split"] == split]
        by_split[split] = rows
        with open(os.path.join(args.out, f"{split}.json"), "w", encoding="utf-8") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)
        with open(os.path.join(args.out, "text", f"{split}.txt"), "w", encoding="utf-8") as f:
            f.writelines(r["text"] + "\n" for r in rows)
        hours = sum(r["duration"] for r in rows) / 3600
        print(f"{split}: {len(rows)} utterances, {hours * 60:.1f} min -> "
              f"{os.path.join(args.out, split + '.json')}")
    report = write_report(args.out, by_split)

    # What determines the corpus (not --out or --jobs), so equal corpora have equal corpus.json.
    settings = {k: v for k, v in vars(args).items()
                if k not in ("out", "jobs") and not (k == "only" and v is None)
                and not (k == "head" and v == 0)}
    meta = {"generator": "tools/make_speech_corpus.py", "settings": settings,
            "sample_rate": SAMPLE_RATE, "text": text_source_info(args.text_style),
            "tools": {name: s.version for name, s in synths.items()}
            | {"sox": corpus_synth.run(["sox", "--version"], "sox --version").strip()}}
    with open(os.path.join(args.out, "corpus.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
        f.write("\n")

    wall = time.monotonic() - started
    audio_hours = report["total"]["hours"]
    timing = {"wall_seconds": round(wall, 2), "jobs": args.jobs, "audio_hours": audio_hours,
              "wall_seconds_per_audio_hour": round(wall / audio_hours, 1) if audio_hours else None}
    with open(os.path.join(args.out, "timing.json"), "w", encoding="utf-8") as f:
        json.dump(timing, f, indent=1)
        f.write("\n")
    print(f"generated {audio_hours:.3f} h of audio in {wall:.1f} s with {args.jobs} jobs "
          f"({timing['wall_seconds_per_audio_hour']} s per audio hour)")


if __name__ == "__main__":
    main()
