#!/usr/bin/env python3
"""Check that NVIDIA NeMo restores a .nemo written by `asr-adapt export` (the quickstart's base
model configs/models/base/conformer_ctc_base.nemo, or a base model with trained adapters) and
transcribes as asr-adapt does.

    .venv-nemo/bin/python tools/check_nemo_transcribes.py --model configs/models/base/conformer_ctc_base.nemo \\
        --manifest build/quickstart/base_corpus/test.json [--limit 100] [--binary build/bin/asr-adapt]

NeMo: ASRModel.restore_from (CPU, eval mode), transcribe() on the manifest's audio; asr-adapt:
`transcribe --manifest --json`. Prints how many transcripts are identical and both WERs against
the manifest's text; exits 1 when fewer than --min-identical (default 0.98) of them agree.
(launch/nemo_venv.sh makes .venv-nemo.)
"""
import argparse, json, os, subprocess, sys, tempfile


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True)
    p.add_argument("--manifest", required=True)
    p.add_argument("--limit", type=int, default=100, help="first N manifest lines (0: all)")
    p.add_argument("--binary", default="build/bin/asr-adapt")
    p.add_argument("--min-identical", type=float, default=0.98)
    args = p.parse_args()

    rows = [json.loads(line) for line in open(args.manifest) if line.strip()]
    rows = rows[: args.limit] if args.limit else rows
    base = os.path.dirname(os.path.abspath(args.manifest))
    for r in rows:
        if not os.path.isabs(r["audio_filepath"]):
            r["audio_filepath"] = os.path.join(base, r["audio_filepath"])
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)
        manifest = f.name
    run = subprocess.run([args.binary, "transcribe", "--model", args.model, "--manifest", manifest, "--json"],
                         capture_output=True, text=True)
    os.unlink(manifest)
    if run.returncode != 0:
        last = [l for l in run.stderr.strip().splitlines() if not l.startswith("Run with --help")][-1:] \
            or [f"exit status {run.returncode}"]
        sys.exit(f"check_nemo_transcribes: asr-adapt transcribe failed: {last[0]}")
    ours = [json.loads(line)["pred_text"] for line in run.stdout.splitlines()]

    import logging
    logging.disable(logging.WARNING)
    import torch
    from nemo.collections.asr.metrics.wer import word_error_rate
    from nemo.collections.asr.models import ASRModel
    torch.set_num_threads(2)
    model = ASRModel.restore_from(args.model, map_location="cpu").eval()
    out = model.transcribe([r["audio_filepath"] for r in rows], batch_size=16, verbose=False)
    theirs = [h.text if hasattr(h, "text") else h for h in (out[0] if isinstance(out, tuple) else out)]

    refs = [r["text"] for r in rows]
    same = sum(a == b for a, b in zip(ours, theirs))
    print(f"NeMo restored {args.model}: {type(model).__name__}, "
          f"{sum(x.numel() for x in model.parameters())} parameters")
    print(f"{len(rows)} utterances: {same} identical transcripts ({100 * same / len(rows):.1f}%); "
          f"WER (NeMo's word_error_rate) asr-adapt {100 * word_error_rate(ours, refs):.2f}%, "
          f"NeMo {100 * word_error_rate(theirs, refs):.2f}%")
    for a, b, ref in zip(ours, theirs, refs):
        if a != b:
            print(f"  differs: ref {ref!r}\n    asr-adapt {a!r}\n    NeMo      {b!r}")
            break
    return 0 if same >= args.min_identical * len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
