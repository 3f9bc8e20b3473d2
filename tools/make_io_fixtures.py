#!/usr/bin/env python3
"""Make the small torch.save checkpoints that tests/io/test_unpickler.cpp reads (tests/fixtures/io/).

    .venv/bin/python tools/make_io_fixtures.py

Writes (a few KB in all):
    mixed_dtypes.ckpt      torch.save of a state-dict-like OrderedDict (default protocol 2, zip)
                           with every storage type we accept, a transposed view, views with a
                           storage offset that share one storage, a 0-d tensor and an nn.Parameter
    mixed_dtypes_p4.ckpt   the same dict saved with pickle_protocol=4 (FRAME, MEMOIZE, STACK_GLOBAL...)
    big_endian.ckpt        f32-only dict, rewritten as a big-endian checkpoint (byteorder "big",
                           every storage byte-swapped), as torch.save writes on big-endian hosts
    expected.json          per key: dtype torch reports, shape and the values as floats
    nemo_spot_values.json  for each tests/fixtures/nemo/*.nemo (when present), torch's view of its
                           model_weights.ckpt: per key the shape, the sum and the first values, plus
                           key count, parameter count and tokenizer size (rerun after the NeMo
                           fixtures are regenerated)
Values are small integers / halves so they are exact in every dtype.
"""
import collections
import io
import json
import os
import tarfile
import zipfile

import torch

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "fixtures", "io")


def mixed():
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4) * 0.5 - 2.0
    shared = torch.arange(10, dtype=torch.float32) + 100.0
    d = collections.OrderedDict()
    d["f32"] = base.clone()
    d["f32_transposed"] = base.t()                 # stride (1, 4): not contiguous
    d["f32_offset_a"] = shared[2:5]                # shares one storage, offset 2
    d["f32_offset_b"] = shared[6:10].reshape(2, 2)  # same storage, offset 6
    d["f16"] = torch.tensor([1.5, -2.0, 0.25, 1024.0], dtype=torch.float16)
    d["bf16"] = torch.tensor([[1.0, -0.5, 3.0]], dtype=torch.bfloat16)
    d["f64"] = torch.tensor([0.125, -7.0], dtype=torch.float64)
    d["i64_scalar"] = torch.tensor(1000, dtype=torch.int64)  # like num_batches_tracked
    d["i64_big"] = torch.tensor([2**40 + 3, -5], dtype=torch.int64)
    d["i32"] = torch.tensor([7, -8, 9], dtype=torch.int32)
    d["bool"] = torch.tensor([True, False, True])
    d["param"] = torch.nn.Parameter(torch.tensor([[0.5, 1.5]]))  # _rebuild_parameter
    d["empty"] = torch.zeros(0, 3)
    return d


def expected(d):
    out = {}
    for k, t in d.items():
        t = t.detach()
        out[k] = {"dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape),
                  "values": [float(v) if t.dtype.is_floating_point else int(v) for v in t.reshape(-1).tolist()]}
    return out


def to_big_endian(data):
    """Rewrite a little-endian torch zip of f32 storages as torch would write it on a big-endian host."""
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            raw = src.read(info.filename)
            if info.filename.endswith("/byteorder"):
                raw = b"big"
            elif "/data/" in info.filename:
                raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
            zi = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            dst.writestr(zi, raw)
    return buf.getvalue()


def nemo_spots():
    """torch's reading of the NeMo fixtures, for tests/io/test_model_file.cpp."""
    import re

    spots = {}
    nemo_dir = os.path.join(os.path.dirname(OUT), "nemo")
    for model in ("conformer_ctc", "fastconformer_ctc"):
        path = os.path.join(nemo_dir, model + ".nemo")
        if not os.path.exists(path):
            continue
        with tarfile.open(path, "r:") as tar:
            files = {m.name[2:] if m.name.startswith("./") else m.name: tar.extractfile(m).read()
                     for m in tar.getmembers() if m.isfile()}
        cfg = files["model_config.yaml"].decode()  # no yaml module needed for two keys
        subsampling = re.search(r"^  subsampling: (\S+)$", cfg, re.M).group(1)
        tok = re.search(r"^  model_path: (\S+)$", cfg, re.M).group(1).removeprefix("nemo:")
        sd = torch.load(io.BytesIO(files["model_weights.ckpt"]), map_location="cpu", weights_only=True)
        buffers = ("running_mean", "running_var", "num_batches_tracked")
        spots[model] = {
            "subsampling": subsampling,
            "num_keys": len(sd),
            "n_params": sum(t.numel() for k, t in sd.items()
                            if not k.startswith("preprocessor.") and not k.endswith(buffers)),
            "tokenizer_bytes": len(files[tok]),
            "tensors": {k: {"shape": list(t.shape), "sum": float(t.double().sum()),
                            "head": [float(v) for v in t.reshape(-1)[:4].tolist()]} for k, t in sd.items()},
        }
    return spots


def main():
    os.makedirs(OUT, exist_ok=True)
    d = mixed()
    torch.save(d, os.path.join(OUT, "mixed_dtypes.ckpt"))
    torch.save(d, os.path.join(OUT, "mixed_dtypes_p4.ckpt"), pickle_protocol=4)
    be = collections.OrderedDict([("w", torch.tensor([[1.0, -2.5], [3.25, 1e-3]])), ("b", torch.tensor([42.0]))])
    raw = io.BytesIO()
    torch.save(be, raw)
    with open(os.path.join(OUT, "big_endian.ckpt"), "wb") as f:
        f.write(to_big_endian(raw.getvalue()))
    exp = expected(d)
    exp["big_endian"] = expected(be)
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump({"torch_version": torch.__version__, "tensors": exp}, f, indent=1, sort_keys=True)
    spots = nemo_spots()
    if spots:
        with open(os.path.join(OUT, "nemo_spot_values.json"), "w") as f:
            json.dump(spots, f, indent=0, sort_keys=True)
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print(f"wrote {len(os.listdir(OUT))} files, {total} bytes, to {OUT}")


if __name__ == "__main__":
    main()
