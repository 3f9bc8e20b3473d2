#!/usr/bin/env python3
"""A pure-PyTorch port of NeMo's Conformer-CTC (EncDecCTCModelBPE's encoder and decoder) for
machines without NeMo (the GPU check runs it as the PyTorch side of the step benchmark).

It reproduces NeMo 3.0's modules op for op, so its speed and memory are NeMo's:
  ConformerEncoder     ConvSubsampling 'striding' (or 'dw_striding') with NeMo's per-stage time
                       masking, RelPositionalEncoding (x * sqrt(d_model), positions T-1 .. -(T-1)),
                       full-context attention and padding masks;
  ConformerLayer       x + FF1/2, x + RelPositionMultiHeadAttention (untied pos_bias_u/v, rel_shift,
                       masked_fill -10000 before the softmax and 0 after), x + ConformerConvolution
                       (pointwise Conv1d + GLU, padding zeroed, depthwise Conv1d, BatchNorm1d, SiLU,
                       pointwise Conv1d), x + FF2/2, LayerNorm; then every enabled LinearAdapter
                       as a residual add (NeMo's ResidualAddAdapterStrategy, loc 'post');
  LinearAdapter        LayerNorm -> Linear(d, dim, no bias) -> SiLU -> Linear(dim, d, no bias,
                       zero-initialised);
  ConvASRDecoder       Conv1d(d, V + 1, 1) + log_softmax (blank = V, the last index).
Parameter and buffer names are NeMo's state-dict keys ("encoder.layers.3.self_attn.linear_q.weight",
"encoder.layers.3.adapter_layer.<name>.module.1.weight", "decoder.decoder_layers.0.weight", ...),
so a NeMo model's weights load with load_state_dict(strict=True). tools/check_torch_port.py checks
the port against NeMo's own modules (log-probs, CTC loss, adapter gradients).

Not ported (not used by the Conformer-CTC configs): streaming caches, limited attention context,
'abs_pos' / local attention, reduction modules, stochastic depth, the out_proj (feat_out > 0),
the adapters' stochastic depth / L2 loss, MHA adapters.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

INF_VAL = 10000.0  # NeMo's masking value for attention scores

# NeMo's conformer_ctc_bpe.yaml sizes (header table), encoder dropouts as the yaml sets them.
CONFIGS = {
    # a few seconds on a CPU, for the port check
    "tiny": dict(d_model=64, n_layers=2, n_heads=4, conv_kernel_size=31),
    "small": dict(d_model=176, n_layers=16, n_heads=4, conv_kernel_size=31),
    "medium": dict(d_model=256, n_layers=18, n_heads=4, conv_kernel_size=31),
    "large": dict(d_model=512, n_layers=18, n_heads=8, conv_kernel_size=31),
}
DEFAULTS = dict(feat_in=80, subsampling="striding", subsampling_factor=4, subsampling_conv_channels=-1,
                ff_expansion_factor=4, xscaling=True, pos_emb_max_len=5000, conv_norm_type="batch_norm",
                use_bias=True, dropout=0.1, dropout_pre_encoder=0.1, dropout_emb=0.0, dropout_att=0.1,
                num_classes=128)


def model_config(name, **overrides):
    """The full keyword set of ConformerCTC for a named size (CONFIGS), with overrides."""
    cfg = dict(DEFAULTS)
    cfg.update(CONFIGS[name])
    cfg.update(overrides)
    return cfg


# ---- subsampling ------------------------------------------------------------------------------

def _stage_length(lengths, kernel=3, stride=2, padding=1):
    """Output length of one strided conv stage (NeMo computes it on float lengths)."""
    return torch.div(lengths + 2 * padding - kernel, stride, rounding_mode="floor") + 1


class ConvSubsampling(nn.Module):
    """[B, T, F] features -> [B, ceil(T / factor), d_model]. 'striding': log2(factor) stages of
    Conv2d(3x3, stride 2, pad 1) + ReLU over (time, frequency); 'dw_striding': one such stage, then
    depthwise 3x3 stride-2 + pointwise 1x1 + ReLU stages. Before every module, and after the last,
    the time steps past each utterance's running length are zeroed (NeMo >= 2.5's
    MaskedConvSequential). Channels and frequency are flattened (c * F' + f) into `out`."""

    def __init__(self, subsampling, factor, feat_in, feat_out, conv_channels):
        super().__init__()
        stages = int(round(math.log2(factor)))
        if 2**stages != factor or stages < 1:
            raise ValueError(f"subsampling factor {factor} is not a power of 2")
        self.subsampling, self.conv_channels = subsampling, conv_channels
        relu = nn.ReLU(inplace=True)  # NeMo shares one in-place ReLU instance
        mods = []
        if subsampling == "striding":
            cin = 1
            for _ in range(stages):
                mods += [nn.Conv2d(cin, conv_channels, 3, stride=2, padding=1), relu]
                cin = conv_channels
        elif subsampling == "dw_striding":
            mods += [nn.Conv2d(1, conv_channels, 3, stride=2, padding=1), relu]
            for _ in range(stages - 1):
                mods += [nn.Conv2d(conv_channels, conv_channels, 3, stride=2, padding=1, groups=conv_channels),
                         nn.Conv2d(conv_channels, conv_channels, 1), relu]
        else:
            raise ValueError(f"subsampling '{subsampling}' is not ported (striding, dw_striding)")
        self.conv = nn.Sequential(*mods)
        freq = feat_in
        for _ in range(stages):
            freq = (freq + 2 - 3) // 2 + 1
        self.out = nn.Linear(conv_channels * freq, feat_out)

    @staticmethod
    def _time_mask(x, lengths):
        t = torch.arange(x.size(2), device=x.device)
        return (t.unsqueeze(0) < lengths.unsqueeze(1)).to(x.dtype)[:, None, :, None]  # [B, 1, T, 1]

    def _masked_convs(self, x, lengths):
        x = x.unsqueeze(1)  # [B, 1, T, F]: time is the height
        lengths = lengths.float()
        mask = self._time_mask(x, lengths.long())
        for mod in self.conv:
            x = mod(x * mask)
            if isinstance(mod, nn.Conv2d) and mod.stride != (1, 1):
                lengths = _stage_length(lengths, mod.kernel_size[0], mod.stride[0], mod.padding[0])
                mask = self._time_mask(x, lengths.long())
        return x * mask, lengths.long()

    def forward(self, x, lengths):
        # NeMo splits the batch when the first conv's output would pass 2**31 elements (a
        # PyTorch indexing limit); never the case at the benchmark sizes, but kept.
        limit = 2**31 / self.conv_channels * 4
        if x.numel() > limit and x.size(0) > 1:
            chunk = max(1, x.size(0) // 2 ** math.ceil(math.log2(x.numel() / limit)))
            parts = [self._masked_convs(xs, ls) for xs, ls in zip(x.split(chunk), lengths.split(chunk))]
            x, lengths = torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])
        else:
            x, lengths = self._masked_convs(x, lengths)
        b, c, t, f = x.shape
        return self.out(x.transpose(1, 2).reshape(b, t, c * f)), lengths


# ---- positions, attention ---------------------------------------------------------------------

class RelPositionalEncoding(nn.Module):
    """Sinusoidal embeddings of the relative positions L-1 .. -(L-1) (a non-persistent buffer, so
    not in the state dict); forward scales x by sqrt(d_model) and returns the 2T-1 rows for T-1 .. -(T-1)."""

    def __init__(self, d_model, dropout_rate, xscale, dropout_rate_emb):
        super().__init__()
        self.d_model, self.xscale = d_model, xscale
        self.dropout = nn.Dropout(dropout_rate)
        self.dropout_emb = nn.Dropout(dropout_rate_emb) if dropout_rate_emb > 0 else None

    def extend_pe(self, length, device, dtype):
        if hasattr(self, "pe") and self.pe.size(1) >= 2 * length - 1:
            return
        pos = torch.arange(length - 1, -length, -1, dtype=torch.float32, device=device).unsqueeze(1)
        inv_freq = torch.exp(torch.arange(0, self.d_model, 2, dtype=torch.float32, device=device)
                             * -(math.log(INF_VAL) / self.d_model))
        pe = torch.zeros(pos.size(0), self.d_model, device=device)
        pe[:, 0::2] = torch.sin(pos * inv_freq)
        pe[:, 1::2] = torch.cos(pos * inv_freq)
        pe = pe.unsqueeze(0).to(dtype)
        if hasattr(self, "pe"):
            self.pe = pe
        else:
            self.register_buffer("pe", pe, persistent=False)

    def forward(self, x):
        if self.xscale:
            x = x * self.xscale
        t = x.size(1)
        center = self.pe.size(1) // 2 + 1
        pos_emb = self.pe[:, center - t: center + t - 1]
        if self.dropout_emb is not None:
            pos_emb = self.dropout_emb(pos_emb)
        return self.dropout(x), pos_emb


class RelPositionMultiHeadAttention(nn.Module):
    """Transformer-XL attention: scores = ((q + u) k^T + rel_shift((q + v) p^T)[..., :T]) / sqrt(d_k)."""

    def __init__(self, n_head, n_feat, dropout_rate, use_bias=True):
        super().__init__()
        if n_feat % n_head:
            raise ValueError("d_model must be a multiple of n_heads")
        self.h, self.d_k = n_head, n_feat // n_head
        self.s_d_k = math.sqrt(self.d_k)
        self.linear_q = nn.Linear(n_feat, n_feat, bias=use_bias)
        self.linear_k = nn.Linear(n_feat, n_feat, bias=use_bias)
        self.linear_v = nn.Linear(n_feat, n_feat, bias=use_bias)
        self.linear_out = nn.Linear(n_feat, n_feat, bias=use_bias)
        self.dropout = nn.Dropout(dropout_rate)
        self.linear_pos = nn.Linear(n_feat, n_feat, bias=False)
        self.pos_bias_u = nn.Parameter(torch.zeros(n_head, self.d_k))
        self.pos_bias_v = nn.Parameter(torch.zeros(n_head, self.d_k))

    @staticmethod
    def rel_shift(x):
        """[B, H, T, 2T-1] scores against positions T-1 .. -(T-1) -> column j holds position i - j."""
        b, h, t, p = x.shape
        x = F.pad(x, (1, 0)).view(b, h, p + 1, t)
        return x[:, :, 1:].view(b, h, t, p)  # drop the first row

    def forward(self, x, mask, pos_emb):
        if torch.is_autocast_enabled():  # NeMo's attention takes fp32 inputs under autocast
            x = x.to(torch.float32)
        b = x.size(0)
        q = self.linear_q(x).view(b, -1, self.h, self.d_k)  # [B, T, H, d_k]
        k = self.linear_k(x).view(b, -1, self.h, self.d_k).transpose(1, 2)
        v = self.linear_v(x).view(b, -1, self.h, self.d_k).transpose(1, 2)
        p = self.linear_pos(pos_emb).view(pos_emb.size(0), -1, self.h, self.d_k).transpose(1, 2)
        q_u = (q + self.pos_bias_u).transpose(1, 2)  # [B, H, T, d_k]
        q_v = (q + self.pos_bias_v).transpose(1, 2)
        bd = self.rel_shift(torch.matmul(q_v, p.transpose(-2, -1)))
        ac = torch.matmul(q_u, k.transpose(-2, -1))
        scores = (ac + bd[:, :, :, : ac.size(-1)]) / self.s_d_k
        m = mask.unsqueeze(1)  # [B, 1, T, T], True = masked
        attn = torch.softmax(scores.masked_fill(m, -INF_VAL), dim=-1).masked_fill(m, 0.0)
        out = torch.matmul(self.dropout(attn), v)  # [B, H, T, d_k]
        return self.linear_out(out.transpose(1, 2).reshape(b, -1, self.h * self.d_k))


# ---- the Conformer block --------------------------------------------------------------------

class ConformerFeedForward(nn.Module):
    def __init__(self, d_model, d_ff, dropout, use_bias=True):
        super().__init__()
        self.linear1 = nn.Linear(d_model, d_ff, bias=use_bias)
        self.activation = nn.SiLU()
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(d_ff, d_model, bias=use_bias)

    def forward(self, x):
        return self.linear2(self.dropout(self.activation(self.linear1(x))))


class ConformerConvolution(nn.Module):
    def __init__(self, d_model, kernel_size, norm_type="batch_norm", use_bias=True):
        super().__init__()
        if (kernel_size - 1) % 2:
            raise ValueError("conv_kernel_size must be odd")
        self.pad = (kernel_size - 1) // 2  # symmetric context (NeMo's 'regular' style)
        self.norm_type = norm_type
        self.pointwise_conv1 = nn.Conv1d(d_model, 2 * d_model, 1, bias=use_bias)
        # NeMo's CausalConv1D: explicit zero padding, then a padding-free depthwise Conv1d
        self.depthwise_conv = nn.Conv1d(d_model, d_model, kernel_size, groups=d_model, bias=use_bias)
        if norm_type == "batch_norm":
            self.batch_norm = nn.BatchNorm1d(d_model)
        elif norm_type == "layer_norm":
            self.batch_norm = nn.LayerNorm(d_model)
        else:
            raise ValueError(f"conv_norm_type '{norm_type}' is not ported (batch_norm, layer_norm)")
        self.activation = nn.SiLU()
        self.pointwise_conv2 = nn.Conv1d(d_model, d_model, 1, bias=use_bias)

    def forward(self, x, pad_mask):
        x = F.glu(self.pointwise_conv1(x.transpose(1, 2)), dim=1)  # [B, d, T]
        x = x.masked_fill(pad_mask.unsqueeze(1), 0.0)
        x = self.depthwise_conv(F.pad(x, (self.pad, self.pad)))
        if self.norm_type == "layer_norm":
            x = self.batch_norm(x.transpose(1, 2)).transpose(1, 2)
        else:
            x = self.batch_norm(x)
        return self.pointwise_conv2(self.activation(x)).transpose(1, 2)


class LinearAdapter(nn.Module):
    """NeMo's LinearAdapter, norm_position 'pre', no dropout: its output is added to the input."""

    def __init__(self, in_features, dim, activation="swish"):
        super().__init__()
        act = {"swish": nn.SiLU, "silu": nn.SiLU, "relu": nn.ReLU, "gelu": nn.GELU}[activation]()
        if hasattr(act, "inplace"):
            act.inplace = True
        self.module = nn.Sequential(nn.LayerNorm(in_features), nn.Linear(in_features, dim, bias=False), act,
                                    nn.Linear(dim, in_features, bias=False))
        with torch.no_grad():
            self.module[-1].weight.zero_()

    def forward(self, x):
        return self.module(x)


class ConformerLayer(nn.Module):
    def __init__(self, d_model, d_ff, n_heads, conv_kernel_size, conv_norm_type, dropout, dropout_att, use_bias):
        super().__init__()
        self.fc_factor = 0.5
        self.norm_feed_forward1 = nn.LayerNorm(d_model)
        self.feed_forward1 = ConformerFeedForward(d_model, d_ff, dropout, use_bias)
        self.norm_conv = nn.LayerNorm(d_model)
        self.conv = ConformerConvolution(d_model, conv_kernel_size, conv_norm_type, use_bias)
        self.norm_self_att = nn.LayerNorm(d_model)
        self.self_attn = RelPositionMultiHeadAttention(n_heads, d_model, dropout_att, use_bias)
        self.norm_feed_forward2 = nn.LayerNorm(d_model)
        self.feed_forward2 = ConformerFeedForward(d_model, d_ff, dropout, use_bias)
        self.dropout = nn.Dropout(dropout)
        self.norm_out = nn.LayerNorm(d_model)
        self.enabled_adapters = []  # names, in insertion order

    def forward(self, x, att_mask, pos_emb, pad_mask):
        r = x + self.dropout(self.feed_forward1(self.norm_feed_forward1(x))) * self.fc_factor
        r = r + self.dropout(self.self_attn(self.norm_self_att(r), att_mask, pos_emb))
        r = r + self.dropout(self.conv(self.norm_conv(r), pad_mask))
        r = r + self.dropout(self.feed_forward2(self.norm_feed_forward2(r))) * self.fc_factor
        x = self.norm_out(r)
        for name in self.enabled_adapters:  # ResidualAddAdapterStrategy, no stochastic depth
            x = x + self.adapter_layer[name](x)
        return x


class ConformerEncoder(nn.Module):
    def __init__(self, feat_in, n_layers, d_model, subsampling, subsampling_factor, subsampling_conv_channels,
                 ff_expansion_factor, n_heads, xscaling, pos_emb_max_len, conv_kernel_size, conv_norm_type,
                 use_bias, dropout, dropout_pre_encoder, dropout_emb, dropout_att):
        super().__init__()
        self.d_model, self.feat_in = d_model, feat_in
        channels = d_model if subsampling_conv_channels == -1 else subsampling_conv_channels
        self.pre_encode = ConvSubsampling(subsampling, subsampling_factor, feat_in, d_model, channels)
        self.pos_enc = RelPositionalEncoding(d_model, dropout_pre_encoder, math.sqrt(d_model) if xscaling else None,
                                             dropout_emb)
        self.layers = nn.ModuleList(
            ConformerLayer(d_model, d_model * ff_expansion_factor, n_heads, conv_kernel_size, conv_norm_type,
                           dropout, dropout_att, use_bias) for _ in range(n_layers))
        self.max_audio_length = 0
        self._set_max_audio_length(pos_emb_max_len, torch.device("cpu"), torch.float32)

    def _set_max_audio_length(self, length, device, dtype):
        self.max_audio_length = length
        self.pos_enc.extend_pe(length, device, dtype)

    def add_adapter(self, name, dim, activation="swish"):
        for layer in self.layers:
            if not hasattr(layer, "adapter_layer"):
                layer.adapter_layer = nn.ModuleDict()
            layer.adapter_layer[name] = LinearAdapter(self.d_model, dim, activation).to(
                device=layer.norm_out.weight.device, dtype=layer.norm_out.weight.dtype)
            layer.enabled_adapters.append(name)

    def forward(self, audio_signal, length):
        """audio_signal [B, feat_in, T], length [B] -> ([B, d_model, T'], [B] int64)."""
        if audio_signal.size(2) > self.max_audio_length:  # NeMo's update_max_seq_length
            p = next(self.parameters())
            self._set_max_audio_length(audio_signal.size(2), p.device, p.dtype)
        x, length = self.pre_encode(audio_signal.transpose(1, 2), length)
        length = length.to(torch.int64)
        x, pos_emb = self.pos_enc(x)
        t = x.size(1)
        valid = torch.arange(t, device=x.device).unsqueeze(0) < length.unsqueeze(1)  # [B, T]
        att_mask = ~(valid.unsqueeze(1) & valid.unsqueeze(2))  # True where the query or the key is padding
        pad_mask = ~valid
        for layer in self.layers:
            x = layer(x, att_mask, pos_emb, pad_mask)
        return x.transpose(1, 2), length


class ConvASRDecoder(nn.Module):
    def __init__(self, feat_in, num_classes):
        super().__init__()
        self.num_classes_with_blank = num_classes + 1
        self.decoder_layers = nn.Sequential(nn.Conv1d(feat_in, num_classes + 1, kernel_size=1, bias=True))

    def forward(self, encoder_output):
        return F.log_softmax(self.decoder_layers(encoder_output).transpose(1, 2), dim=-1)


class ConformerCTC(nn.Module):
    """encoder + decoder; state-dict keys start with 'encoder.' and 'decoder.' as in a .nemo."""

    def __init__(self, feat_in=80, n_layers=16, d_model=176, subsampling="striding", subsampling_factor=4,
                 subsampling_conv_channels=-1, ff_expansion_factor=4, n_heads=4, xscaling=True,
                 pos_emb_max_len=5000, conv_kernel_size=31, conv_norm_type="batch_norm", use_bias=True,
                 dropout=0.1, dropout_pre_encoder=0.1, dropout_emb=0.0, dropout_att=0.1, num_classes=128):
        super().__init__()
        self.encoder = ConformerEncoder(feat_in, n_layers, d_model, subsampling, subsampling_factor,
                                        subsampling_conv_channels, ff_expansion_factor, n_heads, xscaling,
                                        pos_emb_max_len, conv_kernel_size, conv_norm_type, use_bias, dropout,
                                        dropout_pre_encoder, dropout_emb, dropout_att)
        self.decoder = ConvASRDecoder(d_model, num_classes)
        self.blank = num_classes

    def add_adapter(self, name, dim, activation="swish"):
        """A LinearAdapter `name` in every encoder layer, enabled (NeMo: add_adapter + set_enabled_adapters)."""
        self.encoder.add_adapter(name, dim, activation)

    def freeze_base_for_adapters(self):
        """NeMo's adapter tutorial: freeze() (no gradients, eval mode), then unfreeze_enabled_adapters():
        BatchNorm frozen (eval, track_running_stats False), the adapters training with gradients."""
        for p in self.parameters():
            p.requires_grad_(False)
        self.eval()
        for m in self.modules():
            if isinstance(m, nn.BatchNorm1d):
                m.eval()
                m.track_running_stats = False
        for layer in self.encoder.layers:
            for name in layer.enabled_adapters:
                layer.adapter_layer[name].train()
                for p in layer.adapter_layer[name].parameters():
                    p.requires_grad_(True)

    def forward(self, features, lengths):
        """features [B, feat_in, T] (normalised log-mels), lengths [B] -> (log_probs [B, T', V+1], lengths [B])."""
        enc, enc_len = self.encoder(features, lengths)
        return self.decoder(enc), enc_len


def ctc_loss_mean_batch(log_probs, targets, input_lengths, target_lengths, blank):
    """NeMo's CTCLoss with reduction 'mean_batch' (the Conformer configs): per-utterance NLL, mean
    over the batch, zero_infinity; log_probs [B, T, V+1]."""
    nll = F.ctc_loss(log_probs.transpose(0, 1), targets.long(), input_lengths.long(), target_lengths.long(),
                     blank=blank, reduction="none", zero_infinity=True)
    return nll.mean()
