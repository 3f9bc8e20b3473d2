// model_config.yaml parsing: the fields asr-adapt uses, NeMo's defaults, and every refusal.
#include <gtest/gtest.h>

#include "asr/io/model_config.h"
#include "io_test_util.h"

using namespace asr;
using namespace asr::io;
using asr::iotest::expect_error;
using asr::iotest::kBaseYaml;
using asr::iotest::replaced;

TEST(ModelConfig, ReadsTheFieldsOfARealConfig) {
  ModelConfig c = parse_model_config(kBaseYaml, "m.yaml");
  EXPECT_EQ(c.target, "nemo.collections.asr.models.ctc_bpe_models.EncDecCTCModelBPE");
  EXPECT_EQ(c.preprocessor.sample_rate, 16000);  // through the ${model.sample_rate} interpolation
  EXPECT_DOUBLE_EQ(c.preprocessor.window_size, 0.025);
  EXPECT_EQ(c.preprocessor.win_length(), 400);
  EXPECT_EQ(c.preprocessor.hop_length(), 160);
  EXPECT_EQ(c.preprocessor.fft_size(), 512);
  EXPECT_EQ(c.preprocessor.features, 80);
  EXPECT_EQ(c.preprocessor.pad_to, 0);
  EXPECT_DOUBLE_EQ(c.preprocessor.dither, 1e-5);
  EXPECT_DOUBLE_EQ(c.preprocessor.preemph, 0.97);  // class default: not in the yaml
  EXPECT_EQ(c.preprocessor.mel_norm, "slaney");
  EXPECT_EQ(c.encoder.n_layers, 2);
  EXPECT_EQ(c.encoder.d_model, 64);
  EXPECT_EQ(c.encoder.n_heads, 4);
  EXPECT_EQ(c.encoder.conv_channels(), 64);  // -1 means d_model
  EXPECT_EQ(c.encoder.conv_kernel_size, 31);
  EXPECT_DOUBLE_EQ(c.encoder.dropout_emb, 0.0);
  EXPECT_DOUBLE_EQ(c.encoder.dropout_att, 0.1);
  EXPECT_EQ(c.decoder.num_classes, 3);
  EXPECT_EQ(c.decoder.feat_in, 64);
  EXPECT_EQ(c.decoder.vocabulary, (std::vector<std::string>{"<unk>", "a", "b"}));
  EXPECT_EQ(c.tokenizer.type, "bpe");
  EXPECT_EQ(c.tokenizer.model_path, "nemo:0eac_tokenizer.model");
  EXPECT_EQ(c.ctc_reduction, "mean_batch");
  EXPECT_EQ(c.yaml, kBaseYaml);
}

TEST(ModelConfig, FastConformerSettingsAndNemoSpellings) {
  std::string y = replaced(kBaseYaml, "subsampling: striding", "subsampling: dw_striding");
  y = replaced(y, "subsampling_factor: 4", "subsampling_factor: 8");
  y = replaced(y, "subsampling_conv_channels: -1", "subsampling_conv_channels: 32");
  y = replaced(y, "ctc_reduction: mean_batch", "ctc_reduction: mean_volume");
  y = replaced(y, "conv_norm_type: batch_norm", "conv_norm_type: layer_norm");
  y = replaced(y, "n_fft: 512", "n_fft: null");
  y = replaced(y, "pad_value: 0.0", "pad_value: 0.0\n  log_zero_guard_value: tiny\n  mel_norm: null");
  y = replaced(y, "nemo.collections.asr.modules.ConformerEncoder",
               "nemo.collections.asr.modules.conformer_encoder.ConformerEncoderAdapter");
  ModelConfig c = parse_model_config(y, "fc.yaml");
  EXPECT_EQ(c.encoder.subsampling, "dw_striding");
  EXPECT_EQ(c.encoder.subsampling_factor, 8);
  EXPECT_EQ(c.encoder.conv_channels(), 32);
  EXPECT_EQ(c.encoder.conv_norm_type, "layer_norm");
  EXPECT_EQ(c.ctc_reduction, "mean_volume");
  EXPECT_EQ(c.preprocessor.fft_size(), 512);  // null: next power of two above 400
  EXPECT_FLOAT_EQ(static_cast<float>(c.preprocessor.log_zero_guard_value), 1.17549435e-38f);
  EXPECT_EQ(c.preprocessor.mel_norm, "none");
}

TEST(ModelConfig, DefaultsApplyWhenKeysAreAbsent) {
  std::string y = replaced(kBaseYaml, "  conv_kernel_size: 31\n", "");
  y = replaced(y, "  att_context_size:\n  - -1\n  - -1\n", "");
  y = replaced(y, "  window_size: 0.025\n", "");  // class default 0.02 s
  y = replaced(y, "  num_classes: 3\n", "");      // from the vocabulary
  y = replaced(y, "ctc_reduction: mean_batch\n", "");
  ModelConfig c = parse_model_config(y, "d.yaml");
  EXPECT_EQ(c.encoder.conv_kernel_size, 31);
  EXPECT_EQ(c.encoder.att_context_size, (std::vector<int64_t>{-1, -1}));
  EXPECT_EQ(c.preprocessor.win_length(), 320);
  EXPECT_EQ(c.preprocessor.fft_size(), 512);
  EXPECT_EQ(c.decoder.num_classes, 3);
  EXPECT_EQ(c.ctc_reduction, "mean_batch");
}

TEST(ModelConfig, AcceptsAWrappingModelSectionAndAMissingTarget) {
  std::string y = replaced(kBaseYaml, "target: nemo.collections.asr.models.ctc_bpe_models.EncDecCTCModelBPE\n", "");
  std::string wrapped = "name: x\nmodel:\n";
  std::istringstream in(y);
  for (std::string line; std::getline(in, line);) wrapped += "  " + line + "\n";
  ModelConfig c = parse_model_config(wrapped, "w.yaml");
  EXPECT_EQ(c.encoder.d_model, 64);
  EXPECT_EQ(c.preprocessor.sample_rate, 16000);
  EXPECT_NE(c.target.find("EncDecCTCModelBPE"), std::string::npos);
}

TEST(ModelConfig, RefusesOtherModelClasses) {
  expect_error([] { parse_model_config(replaced(kBaseYaml, "ctc_bpe_models.EncDecCTCModelBPE", "rnnt_bpe_models.EncDecRNNTBPEModel"), "r.yaml"); },
               {"r.yaml:", "'target'", "RNNT"});
  expect_error([] { parse_model_config(replaced(kBaseYaml, "ctc_bpe_models.EncDecCTCModelBPE", "hybrid_rnnt_ctc_bpe_models.EncDecHybridRNNTCTCBPEModel"), "h.yaml"); },
               {"h.yaml:", "hybrid"});
  expect_error([] { parse_model_config(replaced(kBaseYaml, "ctc_bpe_models.EncDecCTCModelBPE", "ctc_models.EncDecCTCModel"), "c.yaml"); },
               {"c.yaml:", "'target'", "character-based"});
  expect_error([] { parse_model_config(std::string(kBaseYaml) + "joint:\n  num_classes: 3\n", "j.yaml"); },
               {"j.yaml", "RNNT"});
}

TEST(ModelConfig, RefusesUnsupportedEncoders) {
  expect_error([] { parse_model_config(replaced(kBaseYaml, "modules.ConformerEncoder", "modules.SqueezeformerEncoder"), "s.yaml"); },
               {"s.yaml:22:", "'encoder._target_'", "SqueezeformerEncoder"});
  expect_error([] { parse_model_config(replaced(kBaseYaml, "self_attention_model: rel_pos", "self_attention_model: abs_pos"), "a.yaml"); },
               {"a.yaml:", "'encoder.self_attention_model'", "abs_pos"});
  expect_error([] { parse_model_config(replaced(kBaseYaml, "subsampling: striding", "subsampling: vggnet"), "v.yaml"); },
               {"v.yaml:", "'encoder.subsampling'", "vggnet"});
  expect_error([] { parse_model_config(replaced(kBaseYaml, "  - -1\n  - -1\n", "  - 70\n  - 13\n"), "x.yaml"); },
               {"x.yaml:", "'encoder.att_context_size'", "streaming"});
  expect_error([] { parse_model_config(replaced(kBaseYaml, "  - -1\n  - -1\n", "  - [70, 13]\n  - [70, 0]\n"), "mx.yaml"); },
               {"mx.yaml:", "'encoder.att_context_size'"});
  expect_error([] { parse_model_config(replaced(kBaseYaml, "causal_downsampling: false", "causal_downsampling: true"), "cd.yaml"); },
               {"'encoder.causal_downsampling'"});
  expect_error([] { parse_model_config(replaced(kBaseYaml, "n_heads: 4", "n_heads: 5"), "nh.yaml"); },
               {"'encoder.n_heads'", "divide"});
  expect_error([] { parse_model_config(replaced(kBaseYaml, "  feat_in: 80", "  feat_in: 64"), "fi.yaml"); },
               {"'encoder.feat_in'", "80"});
}

TEST(ModelConfig, RefusesWordPieceAndMissingTokenizers) {
  expect_error([] { parse_model_config(replaced(kBaseYaml, "type: bpe", "type: wpe"), "t.yaml"); },
               {"t.yaml:5:", "'tokenizer.type'", "WordPiece tokenizers are not supported"});
  expect_error([] { parse_model_config(replaced(kBaseYaml, "  model_path: nemo:0eac_tokenizer.model\n", ""), "t2.yaml"); },
               {"t2.yaml", "'tokenizer.model_path'"});
}

TEST(ModelConfig, ReportsWrongTypesAndBadYaml) {
  expect_error([] { parse_model_config(replaced(kBaseYaml, "d_model: 64", "d_model: big"), "w.yaml"); },
               {"w.yaml:", "'encoder.d_model'", "wrong type", "'big'"});
  expect_error([] { parse_model_config("encoder: [1, 2\n", "bad.yaml"); }, {"bad.yaml:", "YAML syntax error"});
  expect_error([] { parse_model_config(replaced(kBaseYaml, "sample_rate: ${model.sample_rate}", "sample_rate: ${model.nope}"), "i.yaml"); },
               {"i.yaml:", "preprocessor.sample_rate", "${model.nope}"});
  expect_error([] { parse_model_config(replaced(kBaseYaml, "ctc_reduction: mean_batch", "ctc_reduction: avg"), "cr.yaml"); },
               {"'ctc_reduction'", "avg"});
  expect_error([] { parse_model_config(replaced(kBaseYaml, "  num_classes: 3\n", "  num_classes: 5\n"), "nc.yaml"); },
               {"'decoder.num_classes'", "vocabulary"});
}

// A checkpoint's config sizes the model the reader builds: absurd values (which overflowed shape
// arithmetic or looped 10^9 times over layers) are refused naming the key.
TEST(ModelConfig, RefusesSizesNoRealModelHas) {
  const std::pair<std::pair<const char*, const char*>, const char*> cases[] = {
      {{"n_layers: 2", "n_layers: 1000000000"}, "'encoder.n_layers'"},
      {{"d_model: 64", "d_model: 4611686018427387904"}, "'encoder.d_model'"},
      {{"ff_expansion_factor: 4", "ff_expansion_factor: 9000000000"}, "'encoder.ff_expansion_factor'"},
      {{"conv_kernel_size: 31", "conv_kernel_size: 999999999999"}, "'encoder.conv_kernel_size'"},
      {{"window_size: 0.025", "window_size: 1.0e+300"}, "'preprocessor.window_size'"},
      {{"window_stride: 0.01", "window_stride: .nan"}, "'preprocessor.window_stride'"},
      {{"  features: 80", "  features: 100000000"}, "'preprocessor.features'"},
      {{"n_fft: 512", "n_fft: 99999999999"}, "'preprocessor.n_fft'"},
      {{"frame_splicing: 1", "frame_splicing: 1000000"}, "'preprocessor.frame_splicing'"},
      {{"  num_classes: 3\n", "  num_classes: 99999999999\n"}, "'decoder.num_classes'"}};
  for (const auto& [edit, key] : cases)
    expect_error([&, edit = edit] { parse_model_config(replaced(kBaseYaml, edit.first, edit.second), "big.yaml"); },
                 {"big.yaml", key});
}

TEST(ModelConfig, LegacyFeatureModeIsSelectableByConfig) {
  EXPECT_FALSE(parse_model_config(kBaseYaml, "m.yaml").preprocessor.legacy_nemo_pre_2_5);
  std::string y = replaced(kBaseYaml, "pad_value: 0.0", "pad_value: 0.0\n  asr_adapt_legacy_nemo_pre_2_5: true");
  EXPECT_TRUE(parse_model_config(y, "old.yaml").preprocessor.legacy_nemo_pre_2_5);
}
