#!/usr/bin/env python3
"""The PyTorch side of bench/vs_pytorch.sh: NeMo's own modules on the same work as bench_conformer_vs.

Builds Conformer-CTC Small from NeMo's classes (ConformerEncoderAdapter + ConvASRDecoder: d_model
176, 16 layers, 4 heads, kernel 31, striding 4x, 128 tokens + blank; random weights), and either
  --mode step:  adds a LinearAdapter (dim 32) to every layer and freezes the base exactly as NeMo's
                ASR_with_Adapters tutorial does (encoder.freeze(); unfreeze_enabled_adapters():
                BatchNorm frozen, base in eval mode, adapters training), then times
                forward + CTC loss (mean_batch) + backward + AdamW on one synthetic batch;
  --mode infer: times eval-mode forward + greedy CTC decoding under torch.inference_mode().
The batch matches bench_conformer_vs's: normalised log-mels ~ N(0,1), --batch utterances of
--seconds each, ~12 tokens per second. Prints one line per timed repetition:
  torch mode=step rep=I seconds_per_step=S peak_rss_mib=M
so a driver can interleave it with asr-adapt's runs (A B A B ...).
"""
import argparse
import os
import resource
import sys
import time


def build(num_threads):
    import logging

    logging.disable(logging.WARNING)
    import torch

    torch.set_num_threads(num_threads)
    torch.manual_seed(11)
    from nemo.collections.asr.modules.conformer_encoder import ConformerEncoderAdapter
    from nemo.collections.asr.modules.conv_asr import ConvASRDecoder

    encoder = ConformerEncoderAdapter(
        feat_in=80, n_layers=16, d_model=176, feat_out=-1, subsampling="striding", subsampling_factor=4,
        subsampling_conv_channels=-1, ff_expansion_factor=4, self_attention_model="rel_pos", n_heads=4,
        xscaling=True, untie_biases=True, pos_emb_max_len=5000, conv_kernel_size=31,
        conv_norm_type="batch_norm", dropout=0.1, dropout_pre_encoder=0.1, dropout_emb=0.0, dropout_att=0.1)
    decoder = ConvASRDecoder(feat_in=176, num_classes=128)
    return torch, encoder, decoder


def batch(torch, n, seconds):
    frames = int(seconds * 100)
    tokens = int(seconds * 12)
    g = torch.Generator().manual_seed(3)
    features = torch.randn(n, 80, frames, generator=g)
    lengths = torch.full((n,), frames, dtype=torch.long)
    targets = torch.randint(0, 128, (n, tokens), generator=g)
    target_lengths = torch.full((n,), tokens, dtype=torch.long)
    return features, lengths, targets, target_lengths


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=["step", "infer"], required=True)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--reps", type=int, default=3, help="timed repetitions, one line each")
    ap.add_argument("--steps", type=int, default=1, help="steps (or forwards) per timed repetition")
    args = ap.parse_args()

    torch, encoder, decoder = build(args.threads)
    features, lengths, targets, target_lengths = batch(torch, args.batch, args.seconds)

    if args.mode == "step":
        from nemo.collections.common.parts.adapter_modules import LinearAdapterConfig

        encoder.add_adapter("bench", LinearAdapterConfig(in_features=176, dim=32))
        encoder.set_enabled_adapters("bench", enabled=True)
        encoder.freeze()
        decoder.freeze()
        for layer in encoder.layers:  # the model-level call reaches each adapter-holding layer
            layer.unfreeze_enabled_adapters()
        params = [p for p in encoder.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=1e-4)

        def run():
            opt.zero_grad(set_to_none=True)
            enc, enc_len = encoder(audio_signal=features, length=lengths)
            log_probs = decoder(encoder_output=enc)
            # NeMo's CTCLoss (reduction mean_batch): sum over utterances / batch size, blank last.
            loss = torch.nn.functional.ctc_loss(
                log_probs.transpose(1, 0), targets, enc_len, target_lengths, blank=128,
                reduction="sum", zero_infinity=True) / args.batch
            loss.backward()
            opt.step()
    else:
        encoder.eval()
        decoder.eval()

        def run():
            with torch.inference_mode():
                enc, enc_len = encoder(audio_signal=features, length=lengths)
                log_probs = decoder(encoder_output=enc)
                best = log_probs.argmax(dim=-1)
                for b in range(best.shape[0]):  # greedy CTC: collapse repeats, drop blanks
                    ids = best[b, : int(enc_len[b])].tolist()
                    _ = [t for i, t in enumerate(ids) if t != 128 and (i == 0 or t != ids[i - 1])]

    trainable = sum(p.numel() for p in encoder.parameters() if p.requires_grad)
    total = sum(p.numel() for p in encoder.parameters()) + sum(p.numel() for p in decoder.parameters())
    for _ in range(args.warmup):
        run()
    for rep in range(args.reps):
        t0 = time.perf_counter()
        for _ in range(args.steps):
            run()
        dt = (time.perf_counter() - t0) / args.steps
        print(f"torch mode={args.mode} rep={rep} seconds_per_step={dt:.4f} peak_rss_mib={peak_rss_mib():.1f} "
              f"trainable={trainable} total={total} threads={args.threads}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
