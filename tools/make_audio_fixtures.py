#!/usr/bin/env python3
"""Writes tests/fixtures/audio/features_reference.h5: small reference values for tests/audio.

  * torch's symmetric windows, librosa mel filterbanks (a few configs, a few rows of the 80-mel one);
  * NeMo's own FilterbankFeatures on a 0.25 s synthetic signal for several preprocessor configs
    (default Conformer config, pad_to/all_features/clamp/64 mels, exact_pad/no normalisation/
    magnitude), plus a 2-signal padded batch;
  * a torch re-statement of the NeMo < 2.5 pipeline (reflect-padded STFT, L//hop + 1 frames),
    since the installed NeMo only has the current behaviour.

Run with the NeMo environment (needs nemo_toolkit, librosa, torch, h5py):
    .venv-nemo/bin/python tools/make_audio_fixtures.py
"""
import os

import h5py
import librosa
import numpy as np
import torch

from nemo.collections.asr.parts.preprocessing.features import FilterbankFeatures

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "audio", "features_reference.h5")
SR = 16000


def signal():
    rng = np.random.default_rng(7)
    t = np.arange(4000) / SR
    x = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 2500 * t * (1 + t))
    x += 0.05 * rng.standard_normal(t.size)
    x[:400] = 0.0  # digital silence: exercises the log guard
    return x.astype(np.float32)


def nemo_features(x, lengths, **kw):
    fe = FilterbankFeatures(**kw)
    fe.eval()
    with torch.no_grad():
        f, n = fe(torch.from_numpy(x), torch.tensor(lengths))
    return f.numpy(), n.numpy(), fe


def legacy_features(x, win=400, hop=160, n_fft=512, nfilt=80):
    """NeMo < 2.5 FilterbankFeatures.forward (inference), re-stated in torch."""
    fb = torch.tensor(librosa.filters.mel(sr=SR, n_fft=n_fft, n_mels=nfilt, fmin=0, fmax=SR / 2,
                                          norm="slaney"), dtype=torch.float)
    w = torch.hann_window(win, periodic=False)
    x = torch.from_numpy(x)[None]
    L = x.shape[1]
    seq_len = (L + n_fft // 2 * 2 - n_fft) // hop + 1
    x = torch.cat((x[:, :1], x[:, 1:] - 0.97 * x[:, :-1]), dim=1)
    s = torch.stft(x, n_fft=n_fft, hop_length=hop, win_length=win, center=True, window=w,
                   return_complex=True)  # default pad_mode: reflect
    s = torch.view_as_real(s)
    p = torch.sqrt(s.pow(2).sum(-1)).pow(2.0)
    m = torch.log(torch.matmul(fb, p) + 2 ** -24)
    m = m[:, :, :seq_len]
    mean = m.mean(dim=2, keepdim=True)
    std = m.std(dim=2, keepdim=True) + 1e-5
    return ((m - mean) / std)[0].numpy(), seq_len


def main():
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    x = signal()
    with h5py.File(OUT, "w") as f:
        f.attrs["torch_version"] = str(torch.__version__)
        f.attrs["librosa_version"] = str(librosa.__version__)
        f["signal"] = x

        g = f.create_group("window")
        g["hann_400"] = torch.hann_window(400, periodic=False).numpy()
        for name, fn in (("hamming", torch.hamming_window), ("blackman", torch.blackman_window),
                         ("bartlett", torch.bartlett_window)):
            for n in (24, 25):
                g[f"{name}_{n}"] = fn(n, periodic=False).numpy()

        g = f.create_group("mel")
        g["slaney_8k_64_10"] = librosa.filters.mel(sr=8000, n_fft=64, n_mels=10, norm="slaney")
        g["htk_nonorm_16k_128_12_100_7000"] = librosa.filters.mel(
            sr=16000, n_fft=128, n_mels=12, fmin=100, fmax=7000, htk=True, norm=None)
        full = librosa.filters.mel(sr=16000, n_fft=512, n_mels=80, norm="slaney")
        g["slaney_16k_512_80_rows"] = full[[0, 1, 40, 79]]

        g = f.create_group("features")
        cases = {
            # the Conformer/FastConformer example config
            "default": dict(n_window_size=400, n_window_stride=160, n_fft=512, nfilt=80, pad_to=0),
            # window_size 0.02, n_fft derived, 64 mels, pad_to 16, all_features, clamp guard
            "pad16_all_clamp": dict(n_window_size=320, n_window_stride=160, nfilt=64, pad_to=16,
                                    normalize="all_features", log_zero_guard_type="clamp"),
            # exact_pad, no normalisation, magnitude (not power), pad_value -1
            "exact_nonorm_mag": dict(n_window_size=400, n_window_stride=160, n_fft=512, nfilt=80,
                                     pad_to=0, exact_pad=True, normalize=None, mag_power=1.0,
                                     pad_value=-1.0),
        }
        for name, kw in cases.items():
            feats, n, _ = nemo_features(x[None], [x.size], dither=0.0, **kw)
            d = g.create_group(name)
            d["features"] = feats[0]
            d["length"] = n.astype(np.int64)
        leg, n = legacy_features(x)
        d = g.create_group("legacy")
        d["features"] = leg
        d["length"] = np.array([n], dtype=np.int64)

        # padded batch: the signal and its first 2500 samples, pad_to 16
        xb = np.zeros((2, x.size), dtype=np.float32)
        xb[0] = x
        xb[1, :2500] = x[:2500]
        feats, n, _ = nemo_features(xb, [x.size, 2500], dither=0.0, n_window_size=400,
                                    n_window_stride=160, n_fft=512, nfilt=80, pad_to=16)
        d = g.create_group("batch_pad16")
        d["features"] = feats
        d["lengths"] = n.astype(np.int64)
    print("wrote", OUT, os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    main()
