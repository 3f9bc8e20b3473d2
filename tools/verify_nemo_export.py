#!/usr/bin/env python3
"""Check asr-adapt's NeMo adapter import/export against NVIDIA NeMo itself.

Run from the repository root with the NeMo environment, after building asr-adapt:

    .venv-nemo/bin/python tools/verify_nemo_export.py --make-fixtures   # rewrites tests/fixtures/nemo/export/
    .venv-nemo/bin/python tools/verify_nemo_export.py                   # verify only (writes to a temp dir)

Options: --binary PATH (default build/bin/asr-adapt), --keep DIR (keep the exported files there).

1. NeMo (fixtures): restores tests/fixtures/nemo/conformer_ctc.nemo with its encoder switched to
   ConformerEncoderAdapter, adds three adapters and fills every adapter weight with seeded random,
   non-zero values:
     lin       LinearAdapter(dim 8, swish, pre) on every encoder layer
     tiny_attn RelPositionMultiHeadAttentionAdapter(n_head 2, proj_dim 16) on every encoder layer
     dec       decoder:LinearAdapter(dim 4, relu, post)
   It writes tests/fixtures/nemo/export/adapters.pt (model.save_adapters) and reference.h5: NeMo's
   log-probs on the fixture audio (tests/fixtures/nemo/audio, read as make_nemo_fixtures.py reads
   it) with all adapters enabled (/all_enabled/uttN/log_probs [T', V+1], valid frames only). The
   base model's log-probs are in ../conformer_ctc_reference.h5; the adapters change them by ~17.
2. asr-adapt: `import --adapters adapters.pt --model conformer_ctc.nemo -o A.h5`, then
   `export --model conformer_ctc.nemo --adapter A.h5 -o adapted.nemo`, the same with
   `--disable tiny_attn`, and `export ... --nemo-adapters -o roundtrip.pt`.
3. NeMo (verify): restore_from(adapted.nemo) must have exactly the three adapters enabled and
   reproduce the reference log-probs; the --disable export must have tiny_attn disabled and match
   adapted.nemo + set_enabled_adapters('tiny_attn', False) in NeMo; the base model + load_adapters(roundtrip.pt) must match /all_enabled;
   model_weights.ckpt and roundtrip.pt must load with torch.load(weights_only=True).
   Tolerance: max |diff| <= 1e-5 (NeMo runs the same weights through the same code, so the
   difference is 0 unless torch's CPU kernels change between runs; it is printed).

NeMo cannot load_adapters() its own adapters.pt here, by design of the fixture: save_adapters
collects an adapter's keys by substring, so the list for "lin" also holds "tiny_attn.linear_*"
keys, which load_adapters then rejects. asr-adapt's import takes only "<name>.*" keys.

The fixtures are small (about 200 KB: adapters.pt is mostly the pickled model config). They are not byte-reproducible: save_adapters pickles the
whole model config (with the temp folder NeMo restored into) and torch adds a random
serialization id; the weights and references are reproducible (fixed seeds, one thread).
Note: tools/make_nemo_fixtures.py deletes tests/fixtures/nemo/ first; rerun --make-fixtures after it.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import zipfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NEMO_DIR = os.path.join(ROOT, "tests", "fixtures", "nemo")
BASE = os.path.join(NEMO_DIR, "conformer_ctc.nemo")
AUDIO = os.path.join(NEMO_DIR, "audio")
OUT = os.path.join(NEMO_DIR, "export")
SEED = 20251121
SR = 16000
TOL = 1e-5
ADAPTERS = ["lin", "tiny_attn", "dec"]


def log(msg):
    print(msg, flush=True)


def load_audio():
    import json
    import torch
    from nemo.collections.asr.parts.preprocessing.segment import AudioSegment

    sigs = []
    with open(os.path.join(AUDIO, "manifest.json")) as f:
        for line in f:
            item = json.loads(line)
            path = os.path.join(AUDIO, item["audio_filepath"]) if not os.path.isabs(item["audio_filepath"]) else item["audio_filepath"]
            kw = {"channel_selector": "average"} if "stereo" in path else {}
            seg = AudioSegment.from_file(path, target_sr=SR, **kw)
            sigs.append(torch.tensor(seg.samples, dtype=torch.float32))
    return sigs


def log_probs(model, sigs):
    import torch

    model.eval()
    out = []
    with torch.no_grad():
        for x in sigs:
            lp, elen, _ = model.forward(input_signal=x[None], input_signal_length=torch.tensor([x.numel()]))
            out.append(lp[0, : int(elen[0])].numpy().astype(np.float32))
    return out


def restore(path, adapter_encoder=False):
    from nemo.collections.asr.models import EncDecCTCModelBPE
    from nemo.core.classes.mixins import adapter_mixins

    if not adapter_encoder:
        return EncDecCTCModelBPE.restore_from(path, map_location="cpu")
    cfg = EncDecCTCModelBPE.restore_from(path, return_config=True)
    cfg.encoder._target_ = adapter_mixins.get_registered_adapter(cfg.encoder._target_).adapter_class_path
    return EncDecCTCModelBPE.restore_from(path, override_config_path=cfg, map_location="cpu")


def make_fixtures():
    import h5py
    import torch
    from nemo.collections.common.parts.adapter_modules import LinearAdapterConfig
    from nemo.collections.asr.parts.submodules.adapters.multi_head_attention_adapter_module import (
        RelPositionMultiHeadAttentionAdapterConfig,
    )

    torch.manual_seed(SEED)
    sigs = load_audio()
    base = restore(BASE)
    base_lp = log_probs(base, sigs)
    model = restore(BASE, adapter_encoder=True)
    d = model.cfg.encoder.d_model
    model.add_adapter("lin", LinearAdapterConfig(in_features=d, dim=8, activation="swish", norm_position="pre"))
    model.add_adapter("tiny_attn", RelPositionMultiHeadAttentionAdapterConfig(n_head=2, n_feat=d, proj_dim=16))
    model.add_adapter("decoder:dec", LinearAdapterConfig(in_features=d, dim=4, activation="relu", norm_position="post"))
    gen = torch.Generator().manual_seed(SEED + 1)
    with torch.no_grad():  # LayerNorm gains near 1, everything else N(0, 0.2^2)
        for mname, mod in model.named_modules():
            if ".adapter_layer." not in mname:
                continue
            for pname, p in mod.named_parameters(recurse=False):
                r = torch.randn(p.shape, generator=gen)
                is_gain = isinstance(mod, torch.nn.LayerNorm) and pname == "weight"
                p.copy_(1.0 + 0.1 * r if is_gain else 0.2 * r)
    assert sorted(model.get_enabled_adapters()) == sorted(ADAPTERS), model.get_enabled_adapters()
    all_lp = log_probs(model, sigs)
    model.set_enabled_adapters("tiny_attn", enabled=False)
    partial_lp = log_probs(model, sigs)
    model.set_enabled_adapters("tiny_attn", enabled=True)
    os.makedirs(OUT, exist_ok=True)
    model.save_adapters(os.path.join(OUT, "adapters.pt"))
    with h5py.File(os.path.join(OUT, "reference.h5"), "w", track_order=True) as f:
        import nemo

        f.attrs["nemo_version"] = str(nemo.__version__)
        f.attrs["torch_version"] = str(torch.__version__)
        f.attrs["base_model"] = "conformer_ctc.nemo"
        f.attrs["adapters"] = ",".join(ADAPTERS)
        f.attrs["notes"] = ("NeMo log-probs [T', V+1] (valid frames) of conformer_ctc.nemo + adapters.pt on "
                            "audio/manifest.json, CPU fp32, eval mode; features as in conformer_ctc_reference.h5")
        for i, lp in enumerate(all_lp):
            f.create_dataset(f"all_enabled/utt{i}/log_probs", data=lp, compression="gzip", shuffle=True)
    for i, (a, b, c) in enumerate(zip(base_lp, all_lp, partial_lp)):
        log(f"  utt{i}: adapters change log-probs by {np.abs(a - b).max():.3f} (tiny_attn alone: {np.abs(b - c).max():.3f})")
        assert np.abs(a - b).max() > 0.1 and np.abs(b - c).max() > 0.01, "adapters barely matter: raise the scale"
    for fn in sorted(os.listdir(OUT)):
        log(f"  {os.path.getsize(os.path.join(OUT, fn)):>8}  {os.path.relpath(os.path.join(OUT, fn), ROOT)}")


def reference(group):
    import h5py

    with h5py.File(os.path.join(OUT, "reference.h5"), "r") as f:
        return [f[f"{group}/utt{i}/log_probs"][()] for i in range(len(f[group]))]


def compare(tag, got, ref):
    worst = max(float(np.abs(g - r).max()) if g.shape == r.shape else float("inf") for g, r in zip(got, ref))
    ok = len(got) == len(ref) and worst <= TOL
    log(f"  {'ok  ' if ok else 'FAIL'} {tag}: max |diff| {worst:.3g} over {len(got)} utterances (tol {TOL})")
    return ok


def run(cmd):
    log("  $ " + " ".join(os.path.relpath(c, ROOT) if os.path.isabs(c) else c for c in cmd))
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"command failed ({r.returncode}):\n{r.stderr}")


def check_weights_only(path, member=None):
    import io
    import tarfile
    import torch

    if member:
        with tarfile.open(path, "r:") as t:
            data = t.extractfile("./" + member).read()
        obj = torch.load(io.BytesIO(data), weights_only=True)
    else:
        obj = torch.load(path, weights_only=True)
    with zipfile.ZipFile(io.BytesIO(data) if member else path) as z:
        for info in z.infolist():
            assert info.compress_type == zipfile.ZIP_STORED, info.filename
    return obj


def verify(binary, work):
    import torch

    adapters_pt = os.path.join(OUT, "adapters.pt")
    a_h5 = os.path.join(work, "A.h5")
    adapted = os.path.join(work, "adapted.nemo")
    partial = os.path.join(work, "adapted_partial.nemo")
    roundtrip = os.path.join(work, "roundtrip.pt")
    log("asr-adapt:")
    run([binary, "import", "--adapters", adapters_pt, "--model", BASE, "-o", a_h5, "--force"])
    run([binary, "export", "--model", BASE, "--adapter", a_h5, "-o", adapted, "--force"])
    run([binary, "export", "--model", BASE, "--adapter", a_h5, "--disable", "tiny_attn", "-o", partial, "--force"])
    run([binary, "export", "--model", BASE, "--adapter", a_h5, "--nemo-adapters", "-o", roundtrip, "--force"])

    log("NeMo:")
    sigs = load_audio()
    ok = True
    m = restore(adapted)
    enabled = sorted(m.get_enabled_adapters())
    ok &= enabled == sorted(ADAPTERS)
    log(f"  {'ok  ' if enabled == sorted(ADAPTERS) else 'FAIL'} adapted.nemo: encoder {type(m.encoder).__name__}, enabled adapters {enabled}")
    ok &= compare("adapted.nemo vs NeMo reference", log_probs(m, sigs), reference("all_enabled"))
    m = restore(partial)
    enabled = sorted(m.get_enabled_adapters())
    want = sorted(a for a in ADAPTERS if a != "tiny_attn")
    ok &= enabled == want
    log(f"  {'ok  ' if enabled == want else 'FAIL'} adapted_partial.nemo: enabled adapters {enabled}")
    m = restore(adapted)
    m.set_enabled_adapters("tiny_attn", enabled=False)
    ok &= compare("adapted_partial.nemo vs adapted.nemo with tiny_attn disabled in NeMo", log_probs(restore(partial), sigs),
                  log_probs(m, sigs))
    m = restore(BASE, adapter_encoder=True)
    m.load_adapters(roundtrip, map_location="cpu")  # ours needs no TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD
    ok &= compare("base + load_adapters(roundtrip.pt) vs NeMo reference", log_probs(m, sigs), reference("all_enabled"))
    sd = check_weights_only(adapted, "model_weights.ckpt")
    pt = check_weights_only(roundtrip)
    log(f"  ok   torch.load(weights_only=True): model_weights.ckpt ({len(sd)} tensors), roundtrip.pt (keys {sorted(pt)})")
    if not ok:
        sys.exit("verify_nemo_export: FAILED")
    log("verify_nemo_export: all checks passed")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--make-fixtures", action="store_true", help="rewrite tests/fixtures/nemo/export/ first")
    ap.add_argument("--binary", default=os.path.join(ROOT, "build", "bin", "asr-adapt"))
    ap.add_argument("--keep", help="keep the exported files in this folder")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    if args.make_fixtures:
        log("NeMo fixtures:")
        make_fixtures()
    if not os.path.exists(args.binary):
        sys.exit(f"{args.binary} not found: build asr-adapt first (or pass --binary)")
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
        verify(os.path.abspath(args.binary), os.path.abspath(args.keep))
    else:
        with tempfile.TemporaryDirectory() as work:
            verify(os.path.abspath(args.binary), work)


if __name__ == "__main__":
    main()
