#!/usr/bin/env python3
"""Writes the PyTorch golden fixtures in tests/golden/*.h5 (read by tests/golden/test_golden.cpp).

Regenerate (from the repository root):

    python3 -m venv .venv && .venv/bin/pip install torch h5py numpy
    .venv/bin/python tools/make_golden.py

Conventions:
  * Inputs (and upstream gradients "gy") are float32, drawn from fixed seeds, and stored as
    float32 datasets with their natural shapes. Integer inputs (CTC targets/lengths) are int64.
  * References are computed by PyTorch in float64 from exactly those float32 values and stored as
    float64, so the C++ test, which runs our ops in f32, measures only our own f32 error.
  * Gradients are those of sum(output * gy) (i.e. backward seeded with gy).
  * Each file records torch_version (and the generator script) as root attributes; op
    parameters (stride, eps, blank, ...) are attributes of the group they apply to.
"""
import os

import h5py
import numpy as np
import torch
import torch.nn.functional as F

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden")


def f32(shape, gen, scale=1.0, shift=0.0):
    """A float32 random normal tensor (the stored input)."""
    return (torch.randn(shape, generator=gen, dtype=torch.float32) * scale + shift).float()


def leaf64(t):
    """The float64 leaf the reference is computed from (exact copy of the float32 values)."""
    return t.double().requires_grad_(True)


def grads(out, gy, inputs):
    """Gradients of sum(out * gy) with respect to `inputs`."""
    return torch.autograd.grad(out, inputs, grad_outputs=gy.double())


def put(g, name, t):
    a = t.detach().cpu().numpy() if torch.is_tensor(t) else np.asarray(t)
    g.create_dataset(name, data=a, track_times=False)


def open_file(name):
    f = h5py.File(os.path.join(OUT_DIR, name), "w", track_order=True)
    f.attrs["torch_version"] = str(torch.__version__)  # TorchVersion is a str subclass h5py rejects
    f.attrs["generator"] = "tools/make_golden.py"
    return f


def make_softmax():
    gen = torch.Generator().manual_seed(101)
    x = f32((3, 5, 7), gen, 2.0)
    gy = f32((3, 5, 7), gen)
    with open_file("softmax.h5") as f:
        put(f, "x", x)
        put(f, "gy", gy)
        for log in (False, True):
            for dim in (-1, 1):
                g = f.create_group(f"{'log_softmax' if log else 'softmax'}_dim{dim}")
                g.attrs["dim"] = dim
                xl = leaf64(x)
                y = F.log_softmax(xl, dim) if log else F.softmax(xl, dim)
                (gx,) = grads(y, gy, [xl])
                put(g, "y", y)
                put(g, "gx", gx)


def make_layer_norm():
    gen = torch.Generator().manual_seed(102)
    x = f32((2, 5, 16), gen, 2.0, 1.5)
    w = f32((16,), gen, 0.5, 1.0)
    b = f32((16,), gen, 0.5)
    gy = f32((2, 5, 16), gen)
    eps = 1e-5
    with open_file("layer_norm.h5") as f:
        f.attrs["eps"] = eps
        for name, v in (("x", x), ("weight", w), ("bias", b), ("gy", gy)):
            put(f, name, v)
        xl, wl, bl = leaf64(x), leaf64(w), leaf64(b)
        y = F.layer_norm(xl, (16,), wl, bl, eps)
        gx, gw, gb = grads(y, gy, [xl, wl, bl])
        g = f.create_group("affine")
        for name, v in (("y", y), ("gx", gx), ("gweight", gw), ("gbias", gb)):
            put(g, name, v)
        xl = leaf64(x)
        y = F.layer_norm(xl, (16,), None, None, eps)
        (gx,) = grads(y, gy, [xl])
        g = f.create_group("plain")
        put(g, "y", y)
        put(g, "gx", gx)


def conv_case(f, group, conv, xs, ws, stride, pad, groups, gen):
    x = f32(xs, gen)
    w = f32(ws, gen, 0.3)
    b = f32((ws[0],), gen)
    xl, wl, bl = leaf64(x), leaf64(w), leaf64(b)
    y = conv(xl, wl, bl, stride=stride, padding=pad, groups=groups)
    gy = f32(tuple(y.shape), gen)
    gx, gw, gb = grads(y, gy, [xl, wl, bl])
    g = f.create_group(group)
    g.attrs["stride"], g.attrs["pad"], g.attrs["groups"] = stride, pad, groups
    for name, v in (("x", x), ("weight", w), ("bias", b), ("gy", gy), ("y", y), ("gx", gx),
                    ("gweight", gw), ("gbias", gb)):
        put(g, name, v)


def make_conv():
    gen = torch.Generator().manual_seed(103)
    with open_file("conv1d_depthwise.h5") as f:
        # The Conformer convolution module's depthwise conv: groups = C, K = 31, 'same' padding.
        conv_case(f, "depthwise", F.conv1d, (2, 8, 40), (8, 1, 31), 1, 15, 8, gen)
    with open_file("conv2d.h5") as f:
        # The 2-D subsampling front end: kernel 3, stride 2, padding 1.
        conv_case(f, "regular", F.conv2d, (2, 3, 9, 11), (4, 3, 3, 3), 2, 1, 1, gen)
        conv_case(f, "depthwise", F.conv2d, (2, 4, 9, 11), (4, 1, 3, 3), 2, 1, 4, gen)


def make_batch_norm():
    gen = torch.Generator().manual_seed(104)
    momentum, eps = 0.1, 1e-5
    with open_file("batch_norm.h5") as f:
        f.attrs["momentum"], f.attrs["eps"] = momentum, eps
        for group, xs, training in (("train3d", (4, 6, 10), True), ("train2d", (8, 6), True),
                                    ("eval", (4, 6, 10), False)):
            C = xs[1]
            x = f32(xs, gen, 2.0, 0.5)
            w = f32((C,), gen, 0.5, 1.0)
            b = f32((C,), gen, 0.5)
            rm = f32((C,), gen, 0.3)
            rv = (torch.rand((C,), generator=gen) + 0.5).float()
            gy = f32(xs, gen)
            xl, wl, bl = leaf64(x), leaf64(w), leaf64(b)
            rm64, rv64 = rm.double(), rv.double()  # updated in place in training mode
            y = F.batch_norm(xl, rm64, rv64, wl, bl, training=training, momentum=momentum,
                             eps=eps)
            gx, gw, gb = grads(y, gy, [xl, wl, bl])
            g = f.create_group(group)
            g.attrs["training"] = int(training)
            for name, v in (("x", x), ("weight", w), ("bias", b), ("running_mean", rm),
                            ("running_var", rv), ("gy", gy), ("y", y), ("gx", gx),
                            ("gweight", gw), ("gbias", gb), ("running_mean_out", rm64),
                            ("running_var_out", rv64)):
                put(g, name, v)


def make_ctc():
    """CTC on logits [B, T, V] (our layout; torch wants [T, B, V]) through log_softmax.

    Gradients are taken with respect to the LOGITS, not log_probs: torch's native CTC backward
    returns exp(log_probs) - occupancy (a shortcut that assumes the log_softmax follows), while
    ours returns the exact d nll / d log_probs = -occupancy. The two agree only after the
    log_softmax backward (both give softmax - occupancy), so logits are what we compare.
    The reductions are NeMo's: mean_batch = mean over utterances, mean_volume = sum of losses /
    sum of target lengths (torch's reduction='mean' is neither, so it is built from 'none').
    """
    gen = torch.Generator().manual_seed(105)
    cases = (
        # name, blank, zero_infinity, input_lengths, target_lengths
        ("blank0", 0, False, [30, 24, 17, 9], [7, 5, 3, 0]),
        ("blank_last", 7, False, [30, 28, 12, 20], [6, 6, 4, 2]),
        # Utterance 2 is infeasible (4 labels, 3 frames): zeroed loss and gradient.
        ("zero_inf", 0, True, [30, 20, 3, 15], [5, 4, 4, 3]),
    )
    B, T, V, S = 4, 30, 8, 7
    with open_file("ctc.h5") as f:
        for name, blank, zero_inf, il, tl in cases:
            logits = f32((B, T, V), gen, 1.5)
            labels = [v for v in range(V) if v != blank]
            targets = torch.tensor(labels)[torch.randint(0, V - 1, (B, S), generator=gen)]
            targets[0, 1] = targets[0, 2]  # a repeated label needs a blank between the two
            il_t = torch.tensor(il, dtype=torch.int64)
            tl_t = torch.tensor(tl, dtype=torch.int64)
            lg = leaf64(logits)
            lp = F.log_softmax(lg, -1).transpose(0, 1)  # [T, B, V] for torch
            loss = F.ctc_loss(lp, targets, il_t, tl_t, blank=blank, reduction="none",
                              zero_infinity=zero_inf)
            mean_batch = loss.mean()
            mean_volume = loss.sum() / tl_t.sum()
            (g_sum,) = torch.autograd.grad(loss.sum(), [lg], retain_graph=True)
            (g_mb,) = torch.autograd.grad(mean_batch, [lg], retain_graph=True)
            (g_mv,) = torch.autograd.grad(mean_volume, [lg])
            g = f.create_group(name)
            g.attrs["blank"], g.attrs["zero_infinity"] = blank, int(zero_inf)
            for key, v in (("logits", logits), ("targets", targets), ("input_lengths", il_t),
                           ("target_lengths", tl_t), ("loss_none", loss),
                           ("loss_sum", loss.sum()), ("loss_mean_batch", mean_batch),
                           ("loss_mean_volume", mean_volume), ("grad_logits_sum", g_sum),
                           ("grad_logits_mean_batch", g_mb),
                           ("grad_logits_mean_volume", g_mv)):
                put(g, key, v)


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    make_softmax()
    make_layer_norm()
    make_conv()
    make_batch_norm()
    make_ctc()
    total = sum(os.path.getsize(os.path.join(OUT_DIR, n))
                for n in os.listdir(OUT_DIR) if n.endswith(".h5"))
    print(f"wrote fixtures to {os.path.normpath(OUT_DIR)} ({total} bytes, torch {torch.__version__})")


if __name__ == "__main__":
    main()
