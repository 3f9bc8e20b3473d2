#!/usr/bin/env python3
"""NeMo's own feature pipeline timed on a manifest, for bench/shard_throughput.sh.

Per utterance, as NeMo's ASR datasets do it: AudioSegment.from_file (soundfile read, channel
mean, librosa soxr_hq resample to the model's rate), then model.preprocessor (STFT, mel, log,
per-feature normalisation) on CPU in eval mode (no dither). Tokenisation and writing are not
included (asr-adapt's figure includes both). With --threads N > 1 the utterances are spread over
N DataLoader worker processes (one torch thread each), as NeMo's training data loading does.
Prints one line:
  nemo_preprocess threads=N audio_s=A wall_s=W xrt=X xrt_per_core=Y
with the best of --repeat runs.
"""
import argparse
import json
import os
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    import logging

    logging.disable(logging.WARNING)
    import torch

    torch.set_num_threads(args.threads)
    from nemo.collections.asr.models import EncDecCTCModelBPE
    from nemo.collections.asr.parts.preprocessing.segment import AudioSegment

    model = EncDecCTCModelBPE.restore_from(args.model, map_location="cpu")
    model.eval()
    sr = model.cfg.preprocessor.sample_rate
    base = os.path.dirname(os.path.abspath(args.manifest))
    items = []
    with open(args.manifest, encoding="utf8") as f:
        for line in f:
            if line.strip():
                e = json.loads(line)
                p = e["audio_filepath"]
                items.append(p if os.path.isabs(p) else os.path.join(base, p))

    preprocessor = model.preprocessor

    class Features(torch.utils.data.Dataset):
        def __len__(self):
            return len(items)

        def __getitem__(self, i):
            with torch.inference_mode():
                seg = AudioSegment.from_file(items[i], target_sr=sr, channel_selector="average")
                x = torch.as_tensor(seg.samples, dtype=torch.float32)
                feats, lens = preprocessor(input_signal=x[None], length=torch.tensor([x.shape[0]]))
            return x.shape[0] / sr

    def one_thread_per_worker(_):
        torch.set_num_threads(1)

    # Workers persist across repeats, so the best repeat does not pay for starting them.
    loader = None
    if args.threads > 1:
        loader = torch.utils.data.DataLoader(Features(), batch_size=None, num_workers=args.threads,
                                             worker_init_fn=one_thread_per_worker, persistent_workers=True)
    best = None
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        if loader is not None:
            audio_s = sum(float(a) for a in loader)
        else:
            audio_s = sum(Features()[i] for i in range(len(items)))
        wall = time.perf_counter() - t0
        if best is None or wall < best[1]:
            best = (audio_s, wall)
    audio_s, wall = best
    print(f"nemo_preprocess threads={args.threads} audio_s={audio_s:.2f} wall_s={wall:.3f} "
          f"xrt={audio_s / wall:.1f} xrt_per_core={audio_s / wall / args.threads:.1f}")


if __name__ == "__main__":
    main()
