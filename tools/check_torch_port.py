#!/usr/bin/env python3
"""Checks bench/torch_conformer_port.py (the pure-PyTorch Conformer-CTC the GPU step benchmark
runs where NeMo is absent) against NeMo's own modules, on the CPU.

For each config it builds NeMo's ConformerEncoderAdapter + ConvASRDecoder and the port with the
same sizes, adds a LinearAdapter to every layer of both, randomises NeMo's state (adapters nonzero,
LayerNorm/BatchNorm affine and running stats, pos_bias_u/v), copies that state dict into the port
with load_state_dict(strict=True), freezes both as NeMo's adapter tutorial does (base in eval mode,
BatchNorm frozen, adapters training, dropout 0 in the adapters), then runs one padded batch
(utterances of different lengths, garbage in the padding) through each side and compares:
  encoded lengths (exact), log-probs (all frames), NeMo's CTCLoss (mean_batch) against the port's,
  and the gradients of every adapter parameter (the set of trainable names must match too).
Errors are max |port - nemo| and, relative, that over max |nemo| of the same tensor. Exits 1 when
any relative error passes the dtype's tolerance (float64: 1e-9; float32: 2e-4), 0 otherwise.

  .venv-nemo/bin/python tools/check_torch_port.py            # tiny, tiny dw_striding, small: f64; tiny: f32
  .venv-nemo/bin/python tools/check_torch_port.py --quick    # tiny, tiny dw_striding: f64 (the ctest)
"""
import argparse
import logging
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))

TOL = {"float64": 1e-9, "float32": 2e-4}

# name -> (port size name, overrides); the small config is the issue's: d_model 176, 16 layers,
# 4 heads, kernel 31, striding 4x, vocab 128.
CHECKS = {
    "tiny": ("tiny", {}),
    "tiny-dw": ("tiny", dict(subsampling="dw_striding", subsampling_factor=8, subsampling_conv_channels=32)),
    "small": ("small", {}),
}


def build_nemo(torch, cfg, adapter_dim):
    from nemo.collections.asr.modules.conformer_encoder import ConformerEncoderAdapter
    from nemo.collections.asr.modules.conv_asr import ConvASRDecoder
    from nemo.collections.common.parts.adapter_modules import LinearAdapterConfig

    enc = ConformerEncoderAdapter(
        feat_in=cfg["feat_in"], n_layers=cfg["n_layers"], d_model=cfg["d_model"], feat_out=-1,
        subsampling=cfg["subsampling"], subsampling_factor=cfg["subsampling_factor"],
        subsampling_conv_channels=cfg["subsampling_conv_channels"], ff_expansion_factor=cfg["ff_expansion_factor"],
        self_attention_model="rel_pos", n_heads=cfg["n_heads"], xscaling=cfg["xscaling"], untie_biases=True,
        pos_emb_max_len=cfg["pos_emb_max_len"], conv_kernel_size=cfg["conv_kernel_size"],
        conv_norm_type=cfg["conv_norm_type"], use_bias=cfg["use_bias"], dropout=cfg["dropout"],
        dropout_pre_encoder=cfg["dropout_pre_encoder"], dropout_emb=cfg["dropout_emb"], dropout_att=cfg["dropout_att"])
    dec = ConvASRDecoder(feat_in=cfg["d_model"], num_classes=cfg["num_classes"])
    enc.add_adapter("port_check", LinearAdapterConfig(in_features=cfg["d_model"], dim=adapter_dim))
    enc.set_enabled_adapters("port_check", enabled=True)
    return enc, dec


def randomise(torch, state, gen):
    """In place: every tensor that NeMo initialises to a constant gets random values."""
    for k, t in state.items():
        if not t.is_floating_point():
            continue
        r = torch.randn(t.shape, generator=gen, dtype=torch.float64).to(t.dtype)
        if k.endswith("running_var"):
            t.copy_(0.5 + torch.rand(t.shape, generator=gen, dtype=torch.float64).to(t.dtype))
        elif k.endswith("running_mean") or "pos_bias" in k or k.endswith(".bias") and ("norm" in k or ".module.0." in k):
            t.copy_(0.1 * r)
        elif k.endswith(".weight") and ("norm" in k or ".module.0." in k):
            t.copy_(1.0 + 0.1 * r)
        elif k.endswith(".module.3.weight"):  # the adapter's zero-initialised output layer
            t.copy_(0.1 * r)


def rel(a, b):
    d = (a - b).abs().max().item()
    return d, d / max(b.abs().max().item(), 1e-300)


def check(name, dtype_name, adapter_dim, batch, frames):
    import torch
    import torch_conformer_port as port_mod

    dtype = getattr(torch, dtype_name)
    size, overrides = CHECKS[name]
    cfg = port_mod.model_config(size, **overrides)
    torch.manual_seed(7)
    nemo_enc, nemo_dec = build_nemo(torch, cfg, adapter_dim)
    state = {"encoder." + k: v for k, v in nemo_enc.state_dict().items()}
    state.update({"decoder." + k: v for k, v in nemo_dec.state_dict().items()})
    gen = torch.Generator().manual_seed(11)
    with torch.no_grad():
        randomise(torch, state, gen)  # (state_dict tensors share storage with the modules)
    nemo_enc.to(dtype)
    nemo_dec.to(dtype)

    port = port_mod.ConformerCTC(**cfg)
    port.add_adapter("port_check", adapter_dim)
    port.to(dtype)
    state = {"encoder." + k: v for k, v in nemo_enc.state_dict().items()}
    state.update({"decoder." + k: v for k, v in nemo_dec.state_dict().items()})
    port.load_state_dict(state, strict=True)
    port_keys = set(port.state_dict().keys())
    if port_keys != set(state.keys()):
        raise SystemExit(f"state-dict keys differ: {sorted(port_keys ^ set(state.keys()))[:10]}")

    # NeMo's adapter tutorial: freeze() then unfreeze_enabled_adapters() (the model-level call
    # reaches each adapter-holding layer; the decoder has none).
    nemo_enc.freeze()
    nemo_dec.freeze()
    for layer in nemo_enc.layers:
        layer.unfreeze_enabled_adapters()
    port.freeze_base_for_adapters()
    nemo_train = sorted("encoder." + n for n, p in nemo_enc.named_parameters() if p.requires_grad)
    port_train = sorted(n for n, p in port.named_parameters() if p.requires_grad)
    if nemo_train != port_train:
        raise SystemExit(f"trainable parameters differ: nemo {nemo_train[:4]}..., port {port_train[:4]}...")

    # One padded batch: lengths differ (odd numbers, to exercise the subsampling's rounding) and
    # the padding holds garbage, not zeros.
    lengths = torch.tensor([frames - 57 * i for i in range(batch)], dtype=torch.int64)
    feats = torch.randn(batch, cfg["feat_in"], frames, generator=gen, dtype=torch.float64).to(dtype)
    n_tok = [max(1, int(l) // (cfg["subsampling_factor"] * 4)) for l in lengths]
    targets = torch.randint(0, cfg["num_classes"], (batch, max(n_tok)), generator=gen)
    target_lengths = torch.tensor(n_tok, dtype=torch.int64)

    from nemo.collections.asr.losses.ctc import CTCLoss

    nemo_loss_fn = CTCLoss(num_classes=cfg["num_classes"], zero_infinity=True, reduction="mean_batch")
    enc, enc_len = nemo_enc(audio_signal=feats, length=lengths)
    nemo_lp = nemo_dec(encoder_output=enc)
    nemo_loss = nemo_loss_fn(log_probs=nemo_lp, targets=targets, input_lengths=enc_len, target_lengths=target_lengths)
    nemo_loss.backward()
    port_lp, port_len = port(feats, lengths)
    port_loss = port_mod.ctc_loss_mean_batch(port_lp, targets, port_len, target_lengths, port.blank)
    port_loss.backward()

    if not torch.equal(enc_len, port_len):
        raise SystemExit(f"encoded lengths differ: nemo {enc_len.tolist()} port {port_len.tolist()}")
    nemo_grads = {"encoder." + n: p.grad for n, p in nemo_enc.named_parameters() if p.requires_grad}
    port_grads = {n: p.grad for n, p in port.named_parameters() if p.requires_grad}
    lp_abs, lp_rel = rel(port_lp.detach(), nemo_lp.detach())
    loss_abs, loss_rel = rel(port_loss.detach(), nemo_loss.detach())
    worst = max(((n,) + rel(port_grads[n], nemo_grads[n]) for n in nemo_grads), key=lambda r: r[2])
    gmax = max(nemo_grads[n].abs().max().item() for n in nemo_grads)
    tol = TOL[dtype_name]
    ok = max(lp_rel, loss_rel, worst[2]) <= tol and gmax > 0
    n_params = sum(p.numel() for p in port.parameters())
    print(f"{name:8s} {dtype_name:8s} d_model {cfg['d_model']:3d} x {cfg['n_layers']:2d} layers, {cfg['subsampling']} "
          f"{cfg['subsampling_factor']}x, {n_params / 1e6:.2f}M params; batch {batch}, frames {lengths.tolist()} -> "
          f"{port_len.tolist()}")
    print(f"    log-probs  max abs {lp_abs:.3e}  rel {lp_rel:.3e}")
    print(f"    CTC loss   {nemo_loss.item():.6f} (NeMo)  abs {loss_abs:.3e}  rel {loss_rel:.3e}")
    print(f"    adapter grads ({len(nemo_grads)} tensors, max |g| {gmax:.3e})  worst {worst[0]}: abs {worst[1]:.3e}  "
          f"rel {worst[2]:.3e}")
    print(f"    {'OK' if ok else 'FAIL'} (tolerance rel {tol:g})", flush=True)
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny configs in float64 only (the ctest)")
    ap.add_argument("--adapter-dim", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    try:
        import torch
        import nemo  # noqa: F401
    except ImportError as e:
        print(f"SKIP: this Python has no NeMo/PyTorch ({e}); run it with .venv-nemo/bin/python")
        return 77
    logging.disable(logging.WARNING)
    torch.set_num_threads(args.threads)
    runs = [("tiny", "float64", 3, 403), ("tiny-dw", "float64", 3, 403)]
    if not args.quick:
        runs += [("small", "float64", 3, 403), ("tiny", "float32", 3, 403)]
    ok = True
    for name, dt, batch, frames in runs:
        ok &= check(name, dt, args.adapter_dim, batch, frames)
    print("torch port check:", "PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
