#!/usr/bin/env python3
"""Writes tests/fixtures/optim/optim_reference.h5: reference trajectories for src/train.

Run with the project venv (torch + h5py):
    .venv/bin/python tools/make_optim_fixtures.py
It runs torch.optim.AdamW / SGD and torch.nn.utils.clip_grad_norm_ itself, and runs NeMo's
NoamAnnealing / CosineAnnealing / WarmupPolicy in a second interpreter (--nemo-python, default
.venv-nemo/bin/python) that prints the lr sequences as JSON (that venv needs no h5py).

Layout (all f64 unless noted; f32 groups hold f32 data):
  /<case>/p0            initial parameters [N]
  /<case>/grads         gradient fed at each step [S, N]
  /<case>/params        parameters after each step [S, N]
  /<case>@lr, ...       hyper-parameters as attributes
  /clip/<case>/grad, /clip/<case>/clipped, @max_norm, @total_norm
  /sched/<case>/lr      lr after 0..S-1 scheduler steps [S] (get_last_lr), config as attributes
"""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N = 7       # parameter vector length
STEPS = 10

# Scheduler cases: (name, class, base lr, kwargs, number of lr values recorded)
SCHED_CASES = [
    ("noam_warmup", "NoamAnnealing", 2.0, dict(d_model=256, warmup_steps=10, min_lr=1e-5), 40),
    ("noam_nowarmup", "NoamAnnealing", 1.0, dict(d_model=176, min_lr=0.0), 20),
    ("noam_ratio_minlr", "NoamAnnealing", 5.0,
     dict(d_model=512, warmup_ratio=0.1, max_steps=100, min_lr=0.03), 120),
    ("cosine_warmup", "CosineAnnealing", 1e-3,
     dict(warmup_steps=5, max_steps=30, min_lr=1e-5), 40),
    ("cosine_ratio", "CosineAnnealing", 3e-4, dict(warmup_ratio=0.2, max_steps=25, min_lr=0.0), 30),
    ("cosine_nowarmup", "CosineAnnealing", 1e-2, dict(max_steps=17, min_lr=1e-4), 22),
    ("cosine_constant", "CosineAnnealing", 1e-3,
     dict(warmup_steps=4, constant_steps=5, max_steps=20, min_lr=1e-5), 25),
    ("warmup_policy", "WarmupPolicy", 1e-3, dict(warmup_steps=6, max_steps=15, min_lr=1e-6), 20),
]


def nemo_part():
    """Runs in the NeMo venv: prints {case: [lr...]} as JSON."""
    import warnings
    import torch
    from nemo.core.optim import lr_scheduler as ls

    warnings.filterwarnings("ignore")
    out = {}
    for name, cls, lr, kwargs, n in SCHED_CASES:
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
        sched = getattr(ls, cls)(opt, **kwargs)
        lrs = []
        for _ in range(n):
            lrs.append(float(sched.get_last_lr()[0]))
            opt.step()
            sched.step()
        out[name] = lrs
    print("NEMO_JSON " + json.dumps(out))


def torch_part(nemo_python, out_path):
    import h5py
    import numpy as np
    import torch

    gen = torch.Generator().manual_seed(1234)
    p0 = torch.randn(N, generator=gen, dtype=torch.float64)
    grads = torch.randn(STEPS, N, generator=gen, dtype=torch.float64)
    grads[3] *= 20.0  # one large gradient
    grads[6, 2] = 0.0

    def run(make_opt, dtype):
        p = torch.nn.Parameter(p0.clone().to(dtype))
        opt = make_opt([p])
        traj = []
        for s in range(STEPS):
            p.grad = grads[s].to(dtype).clone()
            opt.step()
            traj.append(p.detach().clone())
        return torch.stack(traj)

    cases = {
        "adamw": (torch.optim.AdamW, dict(lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1)),
        "adamw_b": (torch.optim.AdamW, dict(lr=3e-3, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.0)),
        "sgd_momentum": (torch.optim.SGD, dict(lr=5e-2, momentum=0.9, weight_decay=1e-2)),
        "sgd_nesterov": (torch.optim.SGD, dict(lr=2e-2, momentum=0.8, weight_decay=1e-3, nesterov=True)),
        "sgd_dampening": (torch.optim.SGD, dict(lr=1e-1, momentum=0.5, dampening=0.3)),
        "sgd_plain": (torch.optim.SGD, dict(lr=1e-1, weight_decay=5e-2)),
    }

    with h5py.File(out_path, "w") as f:
        f.attrs["torch_version"] = str(torch.__version__)
        for name, (cls, kw) in cases.items():
            for dtype, suffix in ((torch.float64, "f64"), (torch.float32, "f32")):
                extra = dict(foreach=False)
                traj = run(lambda ps: cls(ps, **kw, **extra), dtype)
                g = f.create_group(f"{name}_{suffix}")
                g["p0"] = p0.to(dtype).numpy()
                g["grads"] = grads.to(dtype).numpy()
                g["params"] = traj.numpy()
                for k, v in kw.items():
                    if k == "betas":
                        g.attrs["beta1"], g.attrs["beta2"] = v
                    else:
                        g.attrs[k] = float(v)

        # Clipping: one flat gradient and a list of three gradients (norm over all of them).
        clip = f.create_group("clip")
        for name, dtype, max_norm, scale in (("f64_clipped", torch.float64, 1.0, 3.0),
                                             ("f32_clipped", torch.float32, 0.5, 2.0),
                                             ("f64_unclipped", torch.float64, 100.0, 1.0)):
            g = torch.randn(13, generator=gen, dtype=torch.float64).to(dtype) * scale
            p = torch.nn.Parameter(torch.zeros(13, dtype=dtype))
            p.grad = g.clone()
            total = torch.nn.utils.clip_grad_norm_([p], max_norm, foreach=False)
            c = clip.create_group(name)
            c["grad"] = g.numpy()
            c["clipped"] = p.grad.numpy()
            c.attrs["max_norm"] = max_norm
            c.attrs["total_norm"] = float(total)
        parts = [torch.randn(k, generator=gen, dtype=torch.float64) for k in (3, 5, 4)]
        ps = [torch.nn.Parameter(torch.zeros_like(x)) for x in parts]
        for p, x in zip(ps, parts):
            p.grad = x.clone()
        total = torch.nn.utils.clip_grad_norm_(ps, 0.7, foreach=False)
        c = clip.create_group("list_f64")
        c["grad"] = torch.cat(parts).numpy()
        c["clipped"] = torch.cat([p.grad for p in ps]).numpy()
        c.attrs["max_norm"] = 0.7
        c.attrs["total_norm"] = float(total)

        # NeMo schedulers, computed by the NeMo interpreter.
        res = subprocess.run([nemo_python, os.path.abspath(__file__), "--nemo-part"],
                             check=True, capture_output=True, text=True)
        line = [l for l in res.stdout.splitlines() if l.startswith("NEMO_JSON ")][-1]
        lrs = json.loads(line[len("NEMO_JSON "):])
        sched = f.create_group("sched")
        sched.attrs["nemo_python"] = str(nemo_python)
        for name, cls, lr, kwargs, n in SCHED_CASES:
            g = sched.create_group(name)
            g["lr"] = np.asarray(lrs[name], dtype=np.float64)
            g.attrs["base_lr"] = lr
            for k, v in kwargs.items():
                g.attrs[k] = float(v)
    print("wrote", out_path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nemo-part", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--nemo-python", default=os.path.join(ROOT, ".venv-nemo/bin/python"))
    ap.add_argument("--out", default=os.path.join(ROOT, "tests/fixtures/optim/optim_reference.h5"))
    args = ap.parse_args()
    if args.nemo_part:
        nemo_part()
    else:
        os.makedirs(os.path.dirname(args.out), exist_ok=True)
        torch_part(args.nemo_python, args.out)


if __name__ == "__main__":
    main()
