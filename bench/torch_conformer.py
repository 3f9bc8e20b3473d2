#!/usr/bin/env python3
"""The PyTorch side of bench/vs_pytorch.sh and of launch/gpu_check.sh's step benchmark: the same
Conformer-CTC work as bench_train_step, on PyTorch.

The model is Conformer-CTC --config small (d_model 176, 16 layers, 4 heads) or large (d_model 512,
18 layers, 8 heads; conv kernel 31, striding 4x with d_model conv channels, as NeMo's
conformer_ctc_bpe.yaml), 128 tokens + blank, random weights, built either from
  --impl nemo: NeMo's own classes (ConformerEncoderAdapter + ConvASRDecoder; needs NeMo), or
  --impl port: bench/torch_conformer_port.py, a pure-PyTorch port with NeMo's state-dict names,
               checked against NeMo by tools/check_torch_port.py (for machines without NeMo).
Then either
  --mode step:  adds a LinearAdapter (--adapter-dim, 32) to every layer and freezes the base exactly
                as NeMo's ASR_with_Adapters tutorial does (encoder.freeze(); unfreeze_enabled_adapters():
                BatchNorm frozen, base in eval mode, adapters training), then times
                forward + CTC loss (mean_batch) + backward + AdamW on one synthetic batch;
  --mode infer: times eval-mode forward + greedy CTC decoding under torch.inference_mode().
--device cuda runs it on the GPU (the clock is read after torch.cuda.synchronize(); peak memory is
torch.cuda.max_memory_allocated()). --precision bf16 is PyTorch's usual mixed precision:
torch.autocast(dtype=bfloat16) around the forward, the CTC loss in fp32, fp32 weights and AdamW.
The batch matches bench_train_step's: normalised log-mels ~ N(0,1), --batch utterances of
--seconds each, ~12 tokens per second. Prints one line per timed repetition:
  torch mode=step rep=I seconds_per_step=S peak_rss_mib=M trainable=N total=N threads=N impl=.. device=..
        precision=.. config=.. batch=B seconds=S audio_s_per_s=X peak_gpu_mib=M (-1 on the CPU)
so a driver can interleave it with asr-adapt's runs (A B A B ...).
"""
import argparse
import os
import resource
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def build(args):
    import logging

    logging.disable(logging.WARNING)
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(11)
    sys.path.insert(0, HERE)
    import torch_conformer_port as port

    cfg = port.model_config(args.config)
    if args.impl == "port":
        model = port.ConformerCTC(**cfg)
        encoder, decoder = model.encoder, model.decoder
    else:
        from nemo.collections.asr.modules.conformer_encoder import ConformerEncoderAdapter
        from nemo.collections.asr.modules.conv_asr import ConvASRDecoder

        model = None
        encoder = ConformerEncoderAdapter(
            feat_in=cfg["feat_in"], n_layers=cfg["n_layers"], d_model=cfg["d_model"], feat_out=-1,
            subsampling=cfg["subsampling"], subsampling_factor=cfg["subsampling_factor"],
            subsampling_conv_channels=cfg["subsampling_conv_channels"],
            ff_expansion_factor=cfg["ff_expansion_factor"], self_attention_model="rel_pos", n_heads=cfg["n_heads"],
            xscaling=cfg["xscaling"], untie_biases=True, pos_emb_max_len=cfg["pos_emb_max_len"],
            conv_kernel_size=cfg["conv_kernel_size"], conv_norm_type=cfg["conv_norm_type"],
            dropout=cfg["dropout"], dropout_pre_encoder=cfg["dropout_pre_encoder"], dropout_emb=cfg["dropout_emb"],
            dropout_att=cfg["dropout_att"])
        decoder = ConvASRDecoder(feat_in=cfg["d_model"], num_classes=cfg["num_classes"])
    return torch, port, cfg, model, encoder, decoder


def batch(torch, n, seconds, vocab):
    frames = int(seconds * 100)
    tokens = int(seconds * 12)
    g = torch.Generator().manual_seed(3)
    features = torch.randn(n, 80, frames, generator=g)
    lengths = torch.full((n,), frames, dtype=torch.long)
    targets = torch.randint(0, vocab, (n, tokens), generator=g)
    target_lengths = torch.full((n,), tokens, dtype=torch.long)
    return features, lengths, targets, target_lengths


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=["step", "infer"], required=True)
    ap.add_argument("--impl", choices=["nemo", "port"], default="nemo")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    ap.add_argument("--config", choices=["small", "large"], default="small")
    ap.add_argument("--adapter-dim", type=int, default=32)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--reps", type=int, default=3, help="timed repetitions, one line each")
    ap.add_argument("--steps", type=int, default=1, help="steps (or forwards) per timed repetition")
    args = ap.parse_args()

    torch, port, cfg, model, encoder, decoder = build(args)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("torch_conformer: --device cuda, but torch.cuda.is_available() is False", file=sys.stderr)
        return 2
    device = torch.device(args.device)
    blank = cfg["num_classes"]
    features, lengths, targets, target_lengths = batch(torch, args.batch, args.seconds, blank)

    if args.mode == "step":
        if args.impl == "port":
            model.add_adapter("bench", args.adapter_dim)
            model.freeze_base_for_adapters()
        else:
            from nemo.collections.common.parts.adapter_modules import LinearAdapterConfig

            encoder.add_adapter("bench", LinearAdapterConfig(in_features=cfg["d_model"], dim=args.adapter_dim))
            encoder.set_enabled_adapters("bench", enabled=True)
            encoder.freeze()
            decoder.freeze()
            for layer in encoder.layers:  # the model-level call reaches each adapter-holding layer
                layer.unfreeze_enabled_adapters()
    else:
        encoder.eval()
        decoder.eval()
    encoder.to(device)
    decoder.to(device)
    features, lengths = features.to(device), lengths.to(device)
    targets, target_lengths = targets.to(device), target_lengths.to(device)
    autocast = torch.autocast(device_type=args.device, dtype=torch.bfloat16, enabled=args.precision == "bf16")

    def forward():
        with autocast:
            enc, enc_len = encoder(audio_signal=features, length=lengths)
            return decoder(encoder_output=enc), enc_len

    if args.mode == "step":
        params = [p for p in encoder.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=1e-4)  # (PyTorch picks its foreach implementation)

        def run():
            opt.zero_grad(set_to_none=True)
            log_probs, enc_len = forward()
            # NeMo's CTCLoss (reduction mean_batch): sum over utterances / batch size, blank last;
            # in fp32 under bf16 autocast too (autocast runs ctc_loss in fp32 anyway).
            loss = torch.nn.functional.ctc_loss(
                log_probs.float().transpose(1, 0), targets, enc_len, target_lengths, blank=blank,
                reduction="sum", zero_infinity=True) / args.batch
            loss.backward()
            opt.step()
    else:

        def run():
            with torch.inference_mode():
                log_probs, enc_len = forward()
                best = log_probs.argmax(dim=-1).cpu()
                enc_len = enc_len.cpu()
                for b in range(best.shape[0]):  # greedy CTC: collapse repeats, drop blanks
                    ids = best[b, : int(enc_len[b])].tolist()
                    _ = [t for i, t in enumerate(ids) if t != blank and (i == 0 or t != ids[i - 1])]

    def sync():
        if args.device == "cuda":
            torch.cuda.synchronize()

    trainable = sum(p.numel() for p in encoder.parameters() if p.requires_grad)
    total = sum(p.numel() for p in encoder.parameters()) + sum(p.numel() for p in decoder.parameters())
    extra = ""
    if args.device == "cuda":
        try:  # what fp32 means here: PyTorch's defaults (TF32 off for matmuls, on for cuDNN convs)
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                extra = (f" tf32_matmul={int(torch.backends.cuda.matmul.allow_tf32)}"
                         f" tf32_cudnn={int(torch.backends.cudnn.allow_tf32)}")
        except Exception:  # noqa: BLE001 (only a label)
            pass
        extra += f" gpu={torch.cuda.get_device_name().replace(' ', '_')}"
    for _ in range(args.warmup):
        run()
    sync()
    audio = args.batch * args.seconds
    for rep in range(args.reps):
        t0 = time.perf_counter()
        for _ in range(args.steps):
            run()
        sync()
        dt = (time.perf_counter() - t0) / args.steps
        peak_gpu = torch.cuda.max_memory_allocated() / 2**20 if args.device == "cuda" else -1
        print(f"torch mode={args.mode} rep={rep} seconds_per_step={dt:.4f} peak_rss_mib={peak_rss_mib():.1f} "
              f"trainable={trainable} total={total} threads={args.threads} impl={args.impl} device={args.device} "
              f"precision={args.precision} config={args.config} batch={args.batch} seconds={args.seconds:g} "
              f"audio_s_per_s={audio / dt:.2f} peak_gpu_mib={peak_gpu:.1f}{extra}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
