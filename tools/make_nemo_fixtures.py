#!/usr/bin/env python3
"""Make the NeMo reference fixtures (tests/fixtures/nemo/) for the Conformer-CTC parity tests.

Everything here is produced by NVIDIA NeMo itself (not by our code): two small CTC models
built from NeMo's published configs and saved as real .nemo files, a few synthesized
utterances, and NeMo's own preprocessor / encoder / decoder / CTC-loss / greedy-decoding
outputs for them, written to HDF5.

Regenerate (from the repository root; needs espeak-ng and sox on PATH):

    python3 -m venv .venv-nemo
    .venv-nemo/bin/pip install "nemo_toolkit[asr]==3.0.0" h5py
    .venv-nemo/bin/python tools/make_nemo_fixtures.py

Takes ~20 s on 2 CPU cores (the pip install takes several minutes: it pulls torch + CUDA wheels).
Seeds are fixed, torch runs single-threaded, the .nemo artifact uuids are seeded and tar/gzip/zip
metadata is zeroed, so a rerun with the same NeMo / torch / espeak-ng / sox versions rewrites every
file byte-identically (checked with NeMo 3.0.0, torch 2.15.0, espeak-ng 1.51, SoX 14.4.2).

How the "random" models are made: NeMo's own init under a fixed seed, then (randomize()) every
BatchNorm gets random weight/bias/running_mean/running_var (var in [0.5, 2)), every LayerNorm a
random weight/bias, pos_bias_u/v random; the subsampling weights are rescaled to He init (torch's
default leaves the encoder output nearly constant over time), the CTC decoder weight is x4 and
the blank logit gets a bias so that ~40-50% of frames are blank.

Outputs (tests/fixtures/nemo/):
    conformer_ctc.nemo, fastconformer_ctc.nemo   real NeMo checkpoints (model.save_to)
    conformer_ctc_reference.h5, fastconformer_ctc_reference.h5
    audio/*.wav, audio/manifest.json            NeMo JSON-lines manifest (paths relative to it)
    bad/                                        malformed checkpoints for import tests
See tools/README.md for the HDF5 layout.
"""
import contextlib
import gzip
import io
import json
import os
import pickletools
import random
import shutil
import subprocess
import sys
import tarfile
import tempfile
import uuid
import zipfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "nemo")
AUDIO = os.path.join(OUT, "audio")
BAD = os.path.join(OUT, "bad")
SEED = 20250920
SR = 16000

# --------------------------------------------------------------------------------------------
# 1. Text: a small English corpus for the tokenizer; the utterances come from it.
# --------------------------------------------------------------------------------------------
UTTERANCES = [  # (file name, text); the last one is the 22.05 kHz stereo file
    ("utt0.wav", "the cat sat on the mat."),
    ("utt1.wav", "don't open the red door"),
    ("utt2.wav", "is it raining today?"),
    ("utt3.wav", "seven green apples, please."),
    ("utt4_22k_stereo.wav", "we'll meet at the old station."),
]

DET = ["the", "a", "my", "your", "our", "this", "that", "every", "one"]
ADJ = ["red", "green", "old", "new", "small", "big", "quiet", "happy", "cold", "bright", "slow", "quick"]
NOUN = ["cat", "dog", "door", "mat", "apple", "station", "river", "house", "teacher", "car", "bird",
        "window", "garden", "letter", "train", "friend", "morning", "city", "table", "song"]
VERB = ["sees", "opens", "finds", "likes", "paints", "follows", "carries", "watches", "needs", "keeps"]
PREP = ["on", "near", "under", "behind", "at", "in", "over", "beside"]
NUM = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
CONTR = ["don't", "can't", "won't", "it's", "we'll", "i'm", "they're", "isn't", "you'll", "she's"]


def make_corpus():
    rng = random.Random(SEED)
    c = lambda xs: rng.choice(xs)  # noqa: E731
    templates = [
        lambda: f"{c(DET)} {c(ADJ)} {c(NOUN)} {c(VERB)} {c(DET)} {c(NOUN)}.",
        lambda: f"{c(DET)} {c(NOUN)} sat {c(PREP)} {c(DET)} {c(NOUN)}.",
        lambda: f"{c(CONTR)} {c(VERB).rstrip('s')} the {c(ADJ)} {c(NOUN)}",
        lambda: f"is it {c(ADJ)} {c(PREP)} the {c(NOUN)} today?",
        lambda: f"{c(NUM)} {c(ADJ)} {c(NOUN)}s, please.",
        lambda: f"{c(CONTR)} meet at the {c(ADJ)} {c(NOUN)}, {c(NUM)} o'clock.",
        lambda: f"where is {c(DET)} {c(NOUN)}?",
        lambda: f"{c(DET)} {c(NOUN)} and {c(DET)} {c(NOUN)} {c(VERB)} {c(NUM)} {c(NOUN)}s",
    ]
    lines = [t for _, t in UTTERANCES]
    lines += [templates[i % len(templates)]() for i in range(400)]
    return lines


# --------------------------------------------------------------------------------------------
# 2. Tokenizer: SentencePiece unigram with the flags of NeMo's
#    scripts/tokenizers/process_asr_text_tokenizer.py / create_spt_model (no bos/eos/pad,
#    hard_vocab_limit=false, character_coverage=1.0, remove_extra_whitespaces=false), plus
#    num_threads=1 and a fixed seed so that it is reproducible.
#    conformer_ctc keeps SentencePiece's default normalizer (nmt_nfkc: a ~240 KB precompiled
#    charsmap inside tokenizer.model, as in released NeMo models); fastconformer_ctc uses
#    --normalization_rule_name=identity (no charsmap) so that it, and bad/ made from it, stay
#    small. On this lowercase ASCII corpus both give the same pieces.
# --------------------------------------------------------------------------------------------
VOCAB_SIZE = 64
NORMALIZATION = {"conformer_ctc": "nmt_nfkc", "fastconformer_ctc": "identity"}


def train_tokenizer(workdir, normalization):
    import sentencepiece as spm

    tokdir = os.path.join(workdir, "tokenizer_" + normalization)
    os.makedirs(tokdir)
    with open(os.path.join(tokdir, "text.txt"), "w", encoding="utf8") as f:
        f.write("\n".join(make_corpus()) + "\n")
    spm.set_random_generator_seed(SEED)
    cwd = os.getcwd()
    os.chdir(tokdir)  # relative paths: the trainer spec stored in tokenizer.model holds them
    try:
        spm.SentencePieceTrainer.Train(
            f"--input=text.txt --model_prefix=tokenizer --vocab_size={VOCAB_SIZE} "
            "--shuffle_input_sentence=true --hard_vocab_limit=false --model_type=unigram "
            "--character_coverage=1.0 --bos_id=-1 --eos_id=-1 --remove_extra_whitespaces=false "
            f"--normalization_rule_name={normalization} --num_threads=1 --minloglevel=2"
        )
    finally:
        os.chdir(cwd)
    # vocab.txt exactly as create_spt_model writes it
    special = ["<s>", "</s>", "<pad>", "<unk>"]
    toks = []
    with open(os.path.join(tokdir, "tokenizer.vocab"), encoding="utf8") as f:
        for line in f:
            piece = line.split("\t")[0]
            if piece in special:
                continue
            tok = piece[1:] if piece.startswith("\u2581") else f"##{piece}"
            toks.append(tok if len(tok) > 0 else piece[0])
    with open(os.path.join(tokdir, "vocab.txt"), "w", encoding="utf8") as f:
        f.write("".join(t + "\n" for t in toks))
    os.remove(os.path.join(tokdir, "text.txt"))
    return tokdir


# --------------------------------------------------------------------------------------------
# 3. Model configs: the `model:` sections of NeMo's published
#    examples/asr/conf/conformer/conformer_ctc_bpe.yaml and
#    examples/asr/conf/fastconformer/fast-conformer_ctc_bpe.yaml (not shipped in the wheel,
#    so copied here), with only the sizes reduced.
# --------------------------------------------------------------------------------------------
COMMON_MODEL = """
sample_rate: 16000
log_prediction: true
ctc_reduction: 'mean_batch'
skip_nan_grad: false
train_ds:
  manifest_filepath: null
  sample_rate: ${model.sample_rate}
  batch_size: 16
  shuffle: true
  num_workers: 8
  pin_memory: true
  use_start_end_token: false
  trim_silence: false
  max_duration: 16.7
  min_duration: 0.1
  is_tarred: false
  tarred_audio_filepaths: null
  shuffle_n: 2048
  bucketing_strategy: "synced_randomized"
  bucketing_batch_size: null
validation_ds:
  manifest_filepath: null
  sample_rate: ${model.sample_rate}
  batch_size: 16
  shuffle: false
  num_workers: 8
  pin_memory: true
  use_start_end_token: false
test_ds:
  manifest_filepath: null
  sample_rate: ${model.sample_rate}
  batch_size: 16
  shuffle: false
  num_workers: 8
  pin_memory: true
  use_start_end_token: false
tokenizer:
  dir: ???
  type: bpe
preprocessor:
  _target_: nemo.collections.asr.modules.AudioToMelSpectrogramPreprocessor
  sample_rate: ${model.sample_rate}
  normalize: "per_feature"
  window_size: 0.025
  window_stride: 0.01
  window: "hann"
  features: 80
  n_fft: 512
  log: true
  frame_splicing: 1
  dither: 0.00001
  pad_to: 0
  pad_value: 0.0
spec_augment:
  _target_: nemo.collections.asr.modules.SpectrogramAugmentation
  freq_masks: 2
  time_masks: 10
  freq_width: 27
  time_width: 0.05
encoder:
  _target_: nemo.collections.asr.modules.ConformerEncoder
  feat_in: ${model.preprocessor.features}
  feat_out: -1
  n_layers: 18
  d_model: 512
  subsampling: striding
  subsampling_factor: 4
  subsampling_conv_channels: -1
  causal_downsampling: false
  ff_expansion_factor: 4
  self_attention_model: rel_pos
  n_heads: 8
  att_context_size: [-1, -1]
  att_context_style: regular
  xscaling: true
  untie_biases: true
  pos_emb_max_len: 5000
  conv_kernel_size: 31
  conv_norm_type: 'batch_norm'
  conv_context_size: null
  dropout: 0.1
  dropout_pre_encoder: 0.1
  dropout_emb: 0.0
  dropout_att: 0.1
  stochastic_depth_drop_prob: 0.0
  stochastic_depth_mode: linear
  stochastic_depth_start_layer: 1  # 0 in older copies of the yaml; NeMo 3.0 requires >= 1
decoder:
  _target_: nemo.collections.asr.modules.ConvASRDecoder
  feat_in: null
  num_classes: -1
  vocabulary: []
interctc:
  loss_weights: []
  apply_at_layers: []
optim:
  name: adamw
  lr: 2.0
  betas: [0.9, 0.98]
  weight_decay: 1e-3
  sched:
    name: NoamAnnealing
    d_model: ${model.encoder.d_model}
    warmup_steps: 10000
    warmup_ratio: null
    min_lr: 1e-6
"""

MODELS = {
    # conformer_ctc_bpe.yaml: only d_model / n_heads / n_layers reduced.
    "conformer_ctc": {
        "name": "Conformer-CTC-BPE",
        "overrides": {"encoder": {"d_model": 64, "n_heads": 4, "n_layers": 2}},
    },
    # fast-conformer_ctc_bpe.yaml: its differences from the conformer yaml, then the reductions
    # (subsampling_conv_channels 256 -> 32).
    "fastconformer_ctc": {
        "name": "FastConformer-CTC-BPE",
        "overrides": {
            "ctc_reduction": "mean_volume",
            "train_ds": {"bucketing_strategy": "fully_randomized"},
            "encoder": {"subsampling": "dw_striding", "subsampling_factor": 8,
                        "subsampling_conv_channels": 32, "conv_kernel_size": 9,
                        "d_model": 64, "n_heads": 4, "n_layers": 2},
            "optim": {"lr": 1e-3, "sched": {"name": "CosineAnnealing", "d_model": None,
                                             "warmup_steps": 15000, "min_lr": 1e-4}},
        },
    },
}


def build_cfg(kind, tokdir):
    from omegaconf import OmegaConf

    spec = MODELS[kind]
    full = OmegaConf.create({"name": spec["name"], "model": OmegaConf.create(COMMON_MODEL)})
    full = OmegaConf.merge(full, {"model": spec["overrides"]})
    if full.model.optim.sched.get("d_model", 0) is None:
        del full.model.optim.sched["d_model"]
    full.model.tokenizer.dir = tokdir
    OmegaConf.resolve(full)
    return full.model


PRE_ENCODE_GAIN = 6 ** 0.5  # kaiming_uniform(a=sqrt(5)) std 1/sqrt(3 fan_in) -> sqrt(2/fan_in)
DECODER_GAIN = 4.0
BLANK_BIAS = {"conformer_ctc": 8.0, "fastconformer_ctc": 13.0}  # about 40% blank frames


def randomize(model, kind, seed):
    """Seeded non-trivial values for everything that default init leaves trivial."""
    import torch

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, m in model.named_modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                n = m.num_features
                m.weight.copy_(1.0 + 0.2 * torch.randn(n, generator=g))
                m.bias.copy_(0.2 * torch.randn(n, generator=g))
                m.running_mean.copy_(0.5 * torch.randn(n, generator=g))
                m.running_var.copy_(0.5 + 1.5 * torch.rand(n, generator=g))  # in [0.5, 2)
                m.num_batches_tracked.fill_(1000)
            elif isinstance(m, torch.nn.LayerNorm):
                n = m.normalized_shape[0]
                m.weight.copy_(1.0 + 0.1 * torch.randn(n, generator=g))
                m.bias.copy_(0.1 * torch.randn(n, generator=g))
        for name, p in model.named_parameters():
            if name.endswith("pos_bias_u") or name.endswith("pos_bias_v"):
                p.copy_(0.2 * torch.randn(p.shape, generator=g))
        # torch's default init shrinks the signal through the ReLU conv stack of the subsampling, which
        # leaves the encoder output almost constant over time (biases dominate): rescale to He init.
        for m in model.encoder.pre_encode.modules():
            if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
                m.weight.mul_(PRE_ENCODE_GAIN)
        # sharper output distribution (greedy argmax not decided by tiny margins), and a blank bias
        # so that the greedy paths mix blanks, repeats and tokens like a trained CTC model's.
        model.decoder.decoder_layers[0].weight.mul_(DECODER_GAIN)
        model.decoder.decoder_layers[0].bias[-1] += BLANK_BIAS[kind]


# --------------------------------------------------------------------------------------------
# 4. Audio
# --------------------------------------------------------------------------------------------
def synthesize(tmp):
    os.makedirs(AUDIO, exist_ok=True)
    entries = []
    for i, (fname, text) in enumerate(UTTERANCES):
        raw = os.path.join(tmp, f"raw{i}.wav")  # espeak-ng writes 22050 Hz mono s16
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "165", "-p", str(40 + 5 * i), "-w", raw, text],
                       check=True)
        dst = os.path.join(AUDIO, fname)
        if "stereo" in fname:
            # espeak's own 22.05 kHz, s16 stereo: channels differ in gain and by a 2 ms delay, so the
            # downmix matters
            cmd = ["sox", "-D", raw, "-r", "22050", "-b", "16", "-c", "2", dst,
                   "remix", "1v0.9", "1v0.5", "delay", "0", "0.002"]
        else:
            cmd = ["sox", "-D", raw, "-r", "16000", "-b", "16", "-c", "1", dst]
        subprocess.run(cmd, check=True)
        entries.append((fname, text))
    return entries


def write_manifest(entries):
    import soundfile as sf

    with open(os.path.join(AUDIO, "manifest.json"), "w", encoding="utf8") as f:
        for fname, text in entries:
            info = sf.info(os.path.join(AUDIO, fname))
            f.write(json.dumps({"audio_filepath": fname, "duration": round(info.frames / info.samplerate, 6),
                                "text": text}) + "\n")


# --------------------------------------------------------------------------------------------
# 5. References
# --------------------------------------------------------------------------------------------
def h5_put(g, name, a, compress=True):
    a = np.ascontiguousarray(a)
    kw = {}
    if compress and a.size >= 512 and a.dtype.kind == "f":
        kw = dict(compression="gzip", compression_opts=9, shuffle=True, chunks=a.shape)
    g.create_dataset(name, data=a, track_times=False, **kw)


def h5_str(g, name, s):
    """A string as a UTF-8 uint8 dataset (readable with numeric HDF5 readers) + a str attribute."""
    b = np.frombuffer(s.encode("utf8"), dtype=np.uint8) if s else np.zeros((0,), np.uint8)
    g.create_dataset(name + "_utf8", data=b, track_times=False)
    g.attrs[name] = s


def greedy_collapse(ids, blank):
    out, prev = [], blank
    for p in ids:
        if p != blank and (p != prev or prev == blank):
            out.append(int(p))
        prev = p
    return out


# Frame-level label sequences (pieces; "<b>" = blank) for NeMo's greedy CTC decoding and its
# text post-processing, independent of any model output.
DECODING_CASES = [
    ["<b>", "\u2581the", "\u2581the", "<b>", "\u2581the", "\u2581cat", "\u2581cat", "<b>", "<b>"],
    ["\u2581the", "\u2581cat", "\u2581", ",", "\u2581is", "\u2581th", "e", "r", "e", "\u2581", "?"],
    ["\u2581", "\u2581it", "'", "s", "<b>", "\u2581", "'", "\u2581", "."],
    ["<b>", "<b>", "<b>", "<b>"],
    ["\u2581a", "<unk>", "<unk>", "<b>", "<unk>", "\u2581door", "\u2581"],
    ["\u2581", "\u2581", "\u2581m", "at", "at", "<b>", "at", "\u2581", "\u2581", "."],
    [".", ",", "\u2581", "\u2581", "?", "e", "\u2581", "'", "'"],
]


def write_decoding_cases(f, model, blank):
    import torch

    sp = model.tokenizer.tokenizer
    g = f.create_group("decoding")
    g.attrs["note"] = ("frame-level argmax sequences run through model.decoding (greedy_batch) as "
                       "log_softmax(12*one_hot); transcript = NeMo's text incl. the space-before-"
                       "punctuation fix; supported_punctuation = chars of category P* in vocab pieces")
    g.attrs["supported_punctuation"] = "".join(sorted(model.decoding.supported_punctuation or []))
    for c, pieces in enumerate(DECODING_CASES):
        ids = [blank if p == "<b>" else sp.piece_to_id(p) for p in pieces]
        assert all(sp.id_to_piece(i) == p for i, p in zip(ids, pieces) if p != "<b>"), pieces
        lp = torch.log_softmax(12.0 * torch.nn.functional.one_hot(torch.tensor(ids), blank + 1).float(), -1)[None]
        hyp = model.decoding.ctc_decoder_predictions_tensor(lp, decoder_lengths=torch.tensor([len(ids)]),
                                                            return_hypotheses=True)[0]
        coll = greedy_collapse(ids, blank)
        gc = g.create_group(f"case{c}")
        h5_put(gc, "frame_ids", np.array(ids, dtype=np.int64))
        h5_put(gc, "greedy_ids", np.array(coll, dtype=np.int64))
        h5_str(gc, "transcript", hyp.text)
        h5_str(gc, "transcript_before_punct_fix", model.decoding.decode_ids_to_str(coll))
        gc.attrs["pieces"] = json.dumps(pieces)


def run_model(kind, nemo_path, entries, h5_path):
    import h5py
    import torch
    import nemo
    import librosa
    import soundfile
    import soxr
    from nemo.collections.asr.models import EncDecCTCModelBPE
    from nemo.collections.asr.losses.ctc import CTCLoss
    from nemo.collections.asr.parts.mixins.transcription import TranscribeConfig
    from nemo.collections.asr.parts.preprocessing.segment import AudioSegment

    model = EncDecCTCModelBPE.restore_from(nemo_path, map_location="cpu")
    model.eval()  # eval: no dither, dropout off, BatchNorm uses running stats
    blank = model.decoder.num_classes_with_blank - 1
    V = blank
    tok = model.tokenizer
    per_utt_loss = CTCLoss(num_classes=V, zero_infinity=True, reduction="none")
    reduction = model.cfg.ctc_reduction
    summary = {}

    sigs, texts, targets, names = [], [], [], []
    for fname, text in entries:
        path = os.path.join(AUDIO, fname)
        if "stereo" in fname:
            seg = AudioSegment.from_file(path, target_sr=SR, channel_selector="average")
        else:
            seg = AudioSegment.from_file(path, target_sr=SR)
        sigs.append(torch.tensor(seg.samples, dtype=torch.float32))
        texts.append(text)
        targets.append(tok.text_to_ids(text))
        names.append(fname)

    f = h5py.File(h5_path, "w", track_order=True)
    f.attrs["nemo_version"] = str(nemo.__version__)
    f.attrs["torch_version"] = str(torch.__version__)
    f.attrs["librosa_version"] = str(librosa.__version__)
    f.attrs["soxr_version"] = str(soxr.__version__)
    f.attrs["notes"] = (
        "CPU fp32, model.eval(). Audio: soundfile float32 (s16 / 32768), via NeMo AudioSegment. "
        "features has 1 + L//160 columns (STFT frames) but feature_length = L//160: the columns at "
        "or beyond feature_length are zeroed by NeMo; likewise encoded/log_probs have "
        "ceil(columns/4 or /8) frames of which encoded_length are valid. Compare only valid frames. "
        "ctc_loss = NeMo CTCLoss(reduction='none') = per-utterance NLL (not length-normalized); "
        "ctc_loss_model_reduction = model.loss on a batch of one.")
    f.attrs["model"] = kind
    f.attrs["nemo_file"] = os.path.basename(nemo_path)
    enc = model.cfg.encoder
    f.attrs["config_summary"] = json.dumps({
        "subsampling": enc.subsampling, "subsampling_factor": enc.subsampling_factor,
        "subsampling_conv_channels": enc.subsampling_conv_channels, "d_model": enc.d_model,
        "n_heads": enc.n_heads, "n_layers": enc.n_layers, "conv_kernel_size": enc.conv_kernel_size,
        "conv_norm_type": enc.conv_norm_type, "xscaling": enc.xscaling,
        "use_bias": enc.get("use_bias", True), "ctc_reduction": reduction,
        "vocab_size": V, "blank_id": blank, "features": model.cfg.preprocessor.features,
    })
    f.attrs["vocab_size"] = V
    f.attrs["blank_id"] = blank
    f.attrs["num_utterances"] = len(entries)
    f.attrs["ctc_reduction"] = reduction
    f.attrs["vocabulary"] = json.dumps(list(model.decoder.vocabulary))
    f.attrs["tokenizer_normalization"] = NORMALIZATION[kind]
    f.attrs["resampler"] = "librosa.resample(res_type='soxr_hq') via AudioSegment.from_file(target_sr=16000)"

    singles = []
    with torch.no_grad():
        for i, (x, text, tgt, fname) in enumerate(zip(sigs, texts, targets, names)):
            L = torch.tensor([x.numel()])
            feats, flen = model.preprocessor(input_signal=x[None], length=L)
            encd, elen = model.encoder(audio_signal=feats, length=flen)
            lp = model.decoder(encoder_output=encd)
            lp2, elen2, _ = model.forward(input_signal=x[None], input_signal_length=L)
            assert torch.equal(lp, lp2) and torch.equal(elen, elen2)
            t = torch.tensor([tgt], dtype=torch.long)
            tl = torch.tensor([len(tgt)])
            loss_none = per_utt_loss(log_probs=lp, targets=t, input_lengths=elen, target_lengths=tl)
            loss_model = model.loss(log_probs=lp, targets=t, input_lengths=elen, target_lengths=tl)
            hyp = model.decoding.ctc_decoder_predictions_tensor(lp, decoder_lengths=elen, return_hypotheses=True)[0]
            argmax = lp[0, : elen[0]].argmax(-1)
            ids = greedy_collapse(argmax.tolist(), blank)
            # hyp.y_sequence is the frame-level argmax; hyp.text the collapsed, detokenized text
            assert argmax.tolist() == [int(v) for v in hyp.y_sequence], (argmax, hyp.y_sequence)
            raw_text = model.decoding.decode_ids_to_str(ids)  # SentencePiece decode, before punct fix
            top2 = lp[0, : elen[0]].topk(2, dim=-1).values
            margin = float((top2[:, 0] - top2[:, 1]).min())

            g = f.create_group(f"utt{i}")
            g.attrs["audio_filepath"] = "audio/" + fname
            g.attrs["text"] = text
            g.attrs["audio_length"] = int(L[0])
            if "stereo" in fname:
                h5_put(g, "audio_resampled", x.numpy())  # NeMo's 16 kHz mono input (after downmix+resample)
                with soundfile.SoundFile(os.path.join(AUDIO, fname)) as sfh:
                    g.attrs["source_sample_rate"] = sfh.samplerate
                    g.attrs["source_channels"] = sfh.channels
                g.attrs["channel_selector"] = "average"
            h5_put(g, "features", feats[0].numpy())                       # [80, T]
            h5_put(g, "feature_length", flen.numpy().astype(np.int64)[0:1])
            h5_put(g, "encoded", encd[0].numpy())                         # [d, T']
            h5_put(g, "encoded_length", elen.numpy().astype(np.int64)[0:1])
            h5_put(g, "log_probs", lp[0].numpy())                         # [T', V+1]
            h5_put(g, "target_ids", np.array(tgt, dtype=np.int64))
            h5_put(g, "ctc_loss", loss_none.numpy().astype(np.float32).reshape(1))  # NLL, reduction none
            h5_put(g, "ctc_loss_model_reduction", loss_model.numpy().astype(np.float32).reshape(1))
            h5_put(g, "greedy_ids", np.array(ids, dtype=np.int64))
            h5_put(g, "argmax", argmax.numpy().astype(np.int64))
            h5_str(g, "transcript", hyp.text)
            h5_str(g, "transcript_before_punct_fix", raw_text)
            g.attrs["argmax_min_margin"] = margin
            singles.append(dict(feats=feats[0], encd=encd[0], lp=lp[0], text=hyp.text,
                                loss=float(loss_none[0]), T=int(flen[0]), Tp=int(elen[0]), margin=margin))

        # ---- transcribe() on the files: NeMo's own data path ----
        # mono 16 kHz files: the default (lhotse) dataloader.
        paths = [os.path.join(AUDIO, n) for n in names]
        tr = model.transcribe(paths[:-1], batch_size=len(paths) - 1, num_workers=0, verbose=False)
        model.eval()
        tr = [h.text if hasattr(h, "text") else h for h in tr]
        for i, s in enumerate(tr):
            assert s == singles[i]["text"], (i, s, singles[i]["text"])
        # stereo 22.05 kHz file: lhotse cannot average channels ("Channel selector average not found
        # in cut.custom") and rejects [1, 2, T] without a selector, so use the classic
        # AudioToBPEDataset path (AudioSegment: channel mean, then librosa soxr_hq), which feeds
        # the model the same samples as above (checked bit-identical while writing this script).
        tr_st = model.transcribe(paths[-1:], override_config=TranscribeConfig(
            use_lhotse=False, batch_size=1, num_workers=0, channel_selector="average", verbose=False))
        model.eval()
        tr_st = [h.text if hasattr(h, "text") else h for h in tr_st][0]
        assert tr_st == singles[-1]["text"], (tr_st, singles[-1]["text"])
        f[f"utt{len(entries) - 1}"].attrs["transcribe_api"] = (
            "transcribe(override_config=TranscribeConfig(use_lhotse=False, channel_selector='average'))")

        # ---- padded batch of all utterances ----
        B = len(sigs)
        Lmax = max(s.numel() for s in sigs)
        xb = torch.zeros(B, Lmax)
        for i, s in enumerate(sigs):
            xb[i, : s.numel()] = s
        Lb = torch.tensor([s.numel() for s in sigs])
        fb, fbl = model.preprocessor(input_signal=xb, length=Lb)
        eb, ebl = model.encoder(audio_signal=fb, length=fbl)
        lpb = model.decoder(encoder_output=eb)
        tmax = max(len(t) for t in targets)
        tb = torch.full((B, tmax), blank, dtype=torch.long)  # padding value is irrelevant
        for i, t in enumerate(targets):
            tb[i, : len(t)] = torch.tensor(t)
        tlb = torch.tensor([len(t) for t in targets])
        loss_b_none = per_utt_loss(log_probs=lpb, targets=tb, input_lengths=ebl, target_lengths=tlb)
        loss_b = model.loss(log_probs=lpb, targets=tb, input_lengths=ebl, target_lengths=tlb)
        loss_mb = CTCLoss(num_classes=V, zero_infinity=True, reduction="mean_batch")(
            log_probs=lpb, targets=tb, input_lengths=ebl, target_lengths=tlb)
        loss_mv = CTCLoss(num_classes=V, zero_infinity=True, reduction="mean_volume")(
            log_probs=lpb, targets=tb, input_lengths=ebl, target_lengths=tlb)
        hyps_b = model.decoding.ctc_decoder_predictions_tensor(lpb, decoder_lengths=ebl, return_hypotheses=True)

        g = f.create_group("batch")
        g.attrs["note"] = ("all utterances zero-padded to the longest and run together; "
                           "frames at or beyond each length are padding")
        h5_put(g, "audio_lengths", Lb.numpy().astype(np.int64))
        h5_put(g, "features", fb.numpy())           # [B, 80, Tmax]
        h5_put(g, "feature_lengths", fbl.numpy().astype(np.int64))
        h5_put(g, "encoded", eb.numpy())            # [B, d, T'max]
        h5_put(g, "encoded_lengths", ebl.numpy().astype(np.int64))
        h5_put(g, "log_probs", lpb.numpy())         # [B, T'max, V+1]
        h5_put(g, "targets", tb.numpy())            # [B, Umax], padded with blank
        h5_put(g, "target_lengths", tlb.numpy().astype(np.int64))
        h5_put(g, "ctc_loss_per_utt", loss_b_none.numpy().astype(np.float32))
        h5_put(g, "ctc_loss", loss_b.numpy().astype(np.float32).reshape(1))  # model's reduction
        h5_put(g, "ctc_loss_mean_batch", loss_mb.numpy().astype(np.float32).reshape(1))
        h5_put(g, "ctc_loss_mean_volume", loss_mv.numpy().astype(np.float32).reshape(1))
        g.attrs["ctc_reduction"] = reduction
        g.attrs["transcripts"] = json.dumps([h.text for h in hyps_b])

        # ---- batch vs single consistency (informational) ----
        dmax = {"features": 0.0, "encoded": 0.0, "log_probs": 0.0, "loss": 0.0}
        for i, s in enumerate(singles):
            dmax["features"] = max(dmax["features"], float((fb[i, :, : s["T"]] - s["feats"][:, : s["T"]]).abs().max()))
            dmax["encoded"] = max(dmax["encoded"], float((eb[i, :, : s["Tp"]] - s["encd"][:, : s["Tp"]]).abs().max()))
            dmax["log_probs"] = max(dmax["log_probs"], float((lpb[i, : s["Tp"]] - s["lp"][: s["Tp"]]).abs().max()))
            dmax["loss"] = max(dmax["loss"], abs(float(loss_b_none[i]) - s["loss"]))
            assert hyps_b[i].text == s["text"], (i, hyps_b[i].text, s["text"])
        g.attrs["max_abs_diff_vs_single"] = json.dumps(dmax)
        write_decoding_cases(f, model, blank)
    f.close()

    summary.update(
        transcribe_matches="yes (asserted)",
        V=V, reduction=reduction,
        lengths=[(int(s.numel()), sg["T"], sg["Tp"]) for s, sg in zip(sigs, singles)],
        transcripts=[s["text"] for s in singles], losses=[s["loss"] for s in singles],
        batch_loss=float(loss_b), min_margin=min(s["margin"] for s in singles), batch_vs_single=dmax,
        n_params=sum(p.numel() for p in model.parameters()),
    )
    return summary


# --------------------------------------------------------------------------------------------
# 6. Bad inputs
# --------------------------------------------------------------------------------------------
def _tar_from_members(path, members):
    """An uncompressed tar like save_to writes ('./name' members), with fixed metadata."""
    with tarfile.open(path, "w:") as tar:
        di = tarfile.TarInfo("."); di.type = tarfile.DIRTYPE; di.mode = 0o755; di.mtime = 0
        tar.addfile(di)
        for name, data in members:
            ti = tarfile.TarInfo("./" + name); ti.size = len(data); ti.mode = 0o644; ti.mtime = 0
            tar.addfile(ti, io.BytesIO(data))


def evil_pickle():
    """Hand-written protocol-2 pickle: {'encoder.x': os.system('echo unknown-global')}.

    Never unpickled here: it is only checked with pickletools.dis, which does not execute it.
    """
    arg = b"echo unknown-global"
    return (b"\x80\x02"                                   # PROTO 2
            b"}q\x00"                                     # EMPTY_DICT, BINPUT 0
            b"X\x09\x00\x00\x00encoder.xq\x01"            # BINUNICODE 'encoder.x'
            b"cos\nsystem\nq\x02"                         # GLOBAL os.system
            + b"X" + len(arg).to_bytes(4, "little") + arg + b"q\x03"
            b"\x85q\x04"                                  # TUPLE1
            b"Rq\x05"                                     # REDUCE
            b"s."                                         # SETITEM, STOP
            )


def evil_ckpt():
    """A torch.save-style zip (archive/data.pkl, version, byteorder) holding evil_pickle()."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name, data in [("archive/data.pkl", evil_pickle()), ("archive/byteorder", b"little"),
                           ("archive/version", b"3\n")]:
            zi = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            z.writestr(zi, data)
    return buf.getvalue()


def make_bad(good_nemo):
    os.makedirs(BAD, exist_ok=True)
    data = open(good_nemo, "rb").read()
    open(os.path.join(BAD, "truncated.nemo"), "wb").write(data[: len(data) // 2])
    with tarfile.open(good_nemo, "r:") as tar:
        members = [(m.name[2:] if m.name.startswith("./") else m.name, tar.extractfile(m).read())
                   for m in tar.getmembers() if m.isfile()]
    no_w = [(n, d) for n, d in members if n != "model_weights.ckpt"]
    assert len(no_w) == len(members) - 1
    _tar_from_members(os.path.join(BAD, "no_weights.nemo"), no_w)
    with open(os.path.join(BAD, "gzipped_good.nemo"), "wb") as fo:  # pre-1.7 style: tar.gz, still valid
        with gzip.GzipFile(filename="", mode="wb", fileobj=fo, mtime=0, compresslevel=9) as gz:
            gz.write(data)
    ck = evil_ckpt()
    open(os.path.join(BAD, "unknown_global_model_weights.ckpt"), "wb").write(ck)
    _tar_from_members(os.path.join(BAD, "unknown_global.nemo"), no_w + [("model_weights.ckpt", ck)])
    # parse-only check of the hand-made pickle
    out = io.StringIO()
    pickletools.dis(evil_pickle(), out=out)
    assert "GLOBAL     'os system'" in out.getvalue(), out.getvalue()
    with open(os.path.join(BAD, "README.txt"), "w") as fo:
        fo.write(
            "Malformed checkpoints for import tests (made by tools/make_nemo_fixtures.py from "
            "../fastconformer_ctc.nemo):\n"
            "  truncated.nemo                   first half of the bytes of fastconformer_ctc.nemo\n"
            "  no_weights.nemo                  valid tar (config + tokenizer) without model_weights.ckpt\n"
            "  gzipped_good.nemo                gzip of fastconformer_ctc.nemo (pre-1.7 tar.gz style); VALID:\n"
            "                                   must load and equal the plain one\n"
            "  unknown_global_model_weights.ckpt  torch-zip-style ckpt whose archive/data.pkl is\n"
            "                                   {'encoder.x': os.system('echo unknown-global')} (GLOBAL os system\n"
            "                                   + REDUCE): must be rejected, never executed\n"
            "  unknown_global.nemo              valid config + tokenizer with that ckpt as model_weights.ckpt\n")


@contextlib.contextmanager
def _reproducible_save(seed):
    """Make model.save_to() reproducible: artifacts are stored as "<uuid4hex>_<basename>" (seed
    uuid4), and the folder is tarred with tar.add() (zero member mtimes/owners). Member names,
    order, modes and contents are otherwise untouched."""
    orig, orig_uuid4 = tarfile.TarFile.add, uuid.uuid4
    urng = random.Random(seed)

    def add(self, name, arcname=None, recursive=True, *, filter=None):
        def norm(ti):
            ti.mtime, ti.uid, ti.gid, ti.uname, ti.gname = 0, 0, 0, "", ""
            return filter(ti) if filter else ti

        return orig(self, name, arcname, recursive, filter=norm)

    tarfile.TarFile.add = add
    uuid.uuid4 = lambda: uuid.UUID(int=urng.getrandbits(128), version=4)
    try:
        yield
    finally:
        tarfile.TarFile.add, uuid.uuid4 = orig, orig_uuid4


# --------------------------------------------------------------------------------------------
def main():
    import torch

    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} not found (apt-get install -y espeak-ng sox)")
    torch.set_num_threads(1)  # deterministic CPU reductions
    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)

    from nemo.collections.asr.models import EncDecCTCModelBPE

    # Replace what this script makes; keep export/ (made from these models by
    # tools/verify_nemo_export.py --make-fixtures, which must be re-run after this script).
    os.makedirs(OUT, exist_ok=True)
    for entry in os.listdir(OUT):
        if entry == "export":
            continue
        path = os.path.join(OUT, entry)
        shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
    # fixed work dir: its path ends up in model_config.yaml as the (stale) tokenizer.dir
    tmp = os.path.join(tempfile.gettempdir(), "asr_adapt_nemo_fixtures")
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    try:
        tokdirs = {n: train_tokenizer(tmp, n) for n in sorted(set(NORMALIZATION.values()))}
        entries = synthesize(tmp)
        write_manifest(entries)
        summaries = {}
        for k, kind in enumerate(MODELS):
            torch.manual_seed(SEED + k)
            cfg = build_cfg(kind, tokdirs[NORMALIZATION[kind]])
            model = EncDecCTCModelBPE(cfg=cfg)
            randomize(model, kind, SEED + 100 + k)
            model.eval()
            path = os.path.join(OUT, f"{kind}.nemo")
            with _reproducible_save(SEED + k):
                model.save_to(path)
            back = EncDecCTCModelBPE.restore_from(path, map_location="cpu")
            sd0, sd1 = model.state_dict(), back.state_dict()
            assert sd0.keys() == sd1.keys() and all(torch.equal(sd0[n], sd1[n]) for n in sd0)
            summaries[kind] = run_model(kind, path, entries, os.path.join(OUT, f"{kind}_reference.h5"))
        make_bad(os.path.join(OUT, "fastconformer_ctc.nemo"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print("\n==== summary ====")
    for kind, s in summaries.items():
        print(f"[{kind}]")
        for k, v in s.items():
            print(f"  {k}: {v}")
    total = 0
    for dp, _, fs in sorted(os.walk(OUT)):
        for fn in sorted(fs):
            p = os.path.join(dp, fn)
            total += os.path.getsize(p)
            print(f"  {os.path.getsize(p):>9}  {os.path.relpath(p, ROOT)}")
    print(f"  total {total} bytes ({total / 2**20:.2f} MiB)")


if __name__ == "__main__":
    main()
