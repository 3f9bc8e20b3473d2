#include "asr/models/conformer_encoder.h"

#include "asr/ops/ops.h"
#include "masks.h"

namespace asr::models {

namespace {
void check_config(const io::EncoderConfig& c) {
  auto need = [](bool ok, const std::string& key, const std::string& what) {
    if (!ok) throw Error("ConformerEncoder: encoder." + key + " " + what);
  };
  need(c.self_attention_model == "rel_pos", "self_attention_model",
       "'" + c.self_attention_model + "' is not supported (only rel_pos)");
  need(c.untie_biases, "untie_biases", "false (shared pos_bias_u/v) is not supported");
  need(c.d_model >= 2 && c.d_model % 2 == 0, "d_model", "must be even and >= 2");
  need(c.n_heads >= 1 && c.d_model % c.n_heads == 0, "n_heads", "must divide d_model");
  need(c.n_layers >= 0, "n_layers", "must be >= 0");
  need(c.feat_in >= 1, "feat_in", "must be >= 1");
  need(c.ff_expansion_factor >= 1, "ff_expansion_factor", "must be >= 1");
  need(c.att_context_size.size() == 2, "att_context_size", "must have two entries");
}
}  // namespace

ConformerEncoder::ConformerEncoder(const io::EncoderConfig& cfg, Generator& init,
                                   GeneratorPtr dropout_gen)
    : cfg_(cfg) {
  check_config(cfg);
  pre_encode_ = register_module(
      "pre_encode", std::make_shared<ConvSubsampling>(cfg.subsampling, cfg.subsampling_factor,
                                                      cfg.feat_in, cfg.d_model, cfg.conv_channels(), init));
  pos_enc_ = register_module("pos_enc", std::make_shared<RelPositionalEncoding>(
                                            cfg.d_model, cfg.xscaling, cfg.dropout_pre_encoder,
                                            cfg.dropout_emb, dropout_gen));
  layer_list_ = register_module("layers", std::make_shared<ModuleList>());
  ConformerLayerOptions opt;
  opt.d_model = cfg.d_model;
  opt.ff_expansion_factor = cfg.ff_expansion_factor;
  opt.n_heads = cfg.n_heads;
  opt.conv_kernel_size = cfg.conv_kernel_size;
  opt.conv_norm_type = cfg.conv_norm_type;
  opt.use_bias = cfg.use_bias;
  opt.dropout = cfg.dropout;
  opt.dropout_att = cfg.dropout_att;
  for (int64_t i = 0; i < cfg.n_layers; ++i)
    layers_.push_back(layer_list_->add(std::to_string(i),
                                       std::make_shared<ConformerLayer>(opt, init, dropout_gen)));
}

EncoderOutput ConformerEncoder::forward(const Tensor& features,
                                        const std::vector<int64_t>& lengths) const {
  ASR_CHECK(features.dim() == 3 && features.size(1) == cfg_.feat_in, "ConformerEncoder",
            "features must be [B, ", cfg_.feat_in, ", T], got ", features.describe());
  ASR_CHECK(static_cast<size_t>(features.size(0)) == lengths.size(), "ConformerEncoder",
            lengths.size(), " lengths for a batch of ", features.size(0));
  EncoderOutput out;
  out.lengths = lengths;
  Tensor x = pre_encode_->forward(features.transpose(1, 2), out.lengths);  // [B, T', d]
  auto [h, pos_emb] = pos_enc_->forward(x);
  const int64_t t = h.size(1);
  const int64_t left = cfg_.att_context_size[0], right = cfg_.att_context_size[1];
  // Without padding and with full context every mask is all false: skip them.
  Tensor att_mask, pad_mask;
  if (detail::has_padding(out.lengths, t) || left >= 0 || right >= 0)
    att_mask = detail::attention_mask(out.lengths, t, left, right, h.device());
  if (detail::has_padding(out.lengths, t)) pad_mask = detail::pad_mask(out.lengths, t, h.device());
  for (const auto& layer : layers_) h = layer->forward(h, pos_emb, att_mask, pad_mask);
  out.x = h;
  return out;
}

}  // namespace asr::models
