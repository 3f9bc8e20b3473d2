"""Audio finishing for tools/make_speech_corpus.py: resample to 16 kHz mono s16 with sox, optional
reverb (sox), padding to a minimum length, and optional additive noise at a set SNR.

sox's own noise generator (`synth whitenoise`) is not seeded, so noise is made here from a
random.Random seeded per utterance: the same seed gives the same samples on any machine.
"""
import array
import math
import subprocess
import sys
import wave

SAMPLE_RATE = 16000


def wav_seconds(path):
    with wave.open(path, "rb") as w:
        return w.getnframes() / w.getframerate()


def sox(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise RuntimeError(f"sox failed ({' '.join(cmd)}): {r.stderr.decode(errors='replace').strip()}")


def finish_audio(raw_path, out_path, min_seconds, reverb=0):
    """Resamples to 16 kHz mono s16, adds reverb (0-100 %, 0 = none) and pads silence on both
    sides up to min_seconds."""
    with wave.open(raw_path, "rb") as w:
        resampled = round(w.getnframes() * SAMPLE_RATE / w.getframerate())
    # Padding is counted in output samples, after an explicit rate effect; +2 samples of slack
    # cover sox's rounding of the resampled length. sox's reverb keeps the length.
    pad = max(0, math.ceil(min_seconds * SAMPLE_RATE) - resampled + 2) if resampled < \
        min_seconds * SAMPLE_RATE else 0
    # -D: no dither, so the output is a pure function of the input (byte-identical reruns).
    cmd = ["sox", "-D", raw_path, "-b", "16", "-c", "1", "-e", "signed", out_path,
           "rate", str(SAMPLE_RATE)]
    if reverb:
        # Reverberance %, HF damping 50 %, room scale 100 %, then back to -1 dBFS peak so that
        # the wet signal never clips.
        cmd += ["reverb", str(reverb), "50", "100", "gain", "-n", "-1"]
    if pad:
        cmd += ["pad", f"{pad // 2}s", f"{pad - pad // 2}s"]
    sox(cmd)


def make_noise(count, color, rng):
    """`count` samples of unit-variance white or pink noise from `rng`."""
    white = [rng.gauss(0.0, 1.0) for _ in range(count)]
    if color == "white":
        return white
    # Pink (1/f) noise: white noise through Paul Kellet's three-pole approximation filter.
    b0 = b1 = b2 = 0.0
    pink = []
    for x in white:
        b0 = 0.99765 * b0 + x * 0.0990460
        b1 = 0.96300 * b1 + x * 0.2965164
        b2 = 0.57000 * b2 + x * 1.0526913
        pink.append(b0 + b1 + b2 + x * 0.1848)
    mean = sum(pink) / count
    scale = math.sqrt(sum((p - mean) ** 2 for p in pink) / count) or 1.0
    return [(p - mean) / scale for p in pink]


def speech_power(samples):
    """Mean power over the samples within 40 dB of the peak: silence padding and pauses would
    otherwise lower the measured speech level and so the noise level."""
    peak = max((abs(s) for s in samples), default=0)
    active = [s * s for s in samples if abs(s) >= peak * 0.01] if peak else []
    return sum(active) / len(active) if active else 0.0


def add_noise(path, snr_db, color, rng):
    """Adds `color` noise to the 16-bit mono WAV at `path` at snr_db below its speech power."""
    with wave.open(path, "rb") as w:
        params = w.getparams()
        samples = array.array("h", w.readframes(w.getnframes()))
    if sys.byteorder == "big":
        samples.byteswap()
    power = speech_power(samples)
    noise = make_noise(len(samples), color, rng)
    gain = math.sqrt(power / 10 ** (snr_db / 10))
    mixed = array.array("h", (max(-32768, min(32767, round(s + gain * n)))
                              for s, n in zip(samples, noise)))
    if sys.byteorder == "big":
        mixed.byteswap()
    with wave.open(path, "wb") as w:
        w.setparams(params)
        w.writeframes(mixed.tobytes())
