// A padded batch gives every utterance its solo result (padding is masked in the subsampling,
// the attention and the convolution module), and encoded lengths follow NeMo's calc_length.
#include <gtest/gtest.h>

#include <cmath>

#include "asr/autograd/node.h"
#include "asr/models/conformer_ctc.h"
#include "asr/models/subsampling.h"
#include "asr/ops/ops.h"
#include "models/model_test_util.h"
#include "support/gradcheck.h"
#include "support/test_util.h"

namespace asr {
namespace {

TEST(SubsampledLength, EqualsRepeatedCalcLengthAndCeilDivision) {
  for (int64_t l = 0; l <= 200; ++l) {
    // NeMo's calc_length: floor((L + 2*1 - 3) / 2 + 1) per stage, in float.
    double f = static_cast<double>(l);
    for (int s = 1; s <= 3; ++s) {
      f = std::floor((f + 2.0 - 3.0) / 2.0 + 1.0);
      EXPECT_EQ(models::subsampled_length(l, s), static_cast<int64_t>(f)) << "L " << l << " stages " << s;
    }
    EXPECT_EQ(models::subsampled_length(l, 2), (l + 3) / 4);
    EXPECT_EQ(models::subsampled_length(l, 3), (l + 7) / 8);
  }
}

TEST(SubsampledLength, ModelReportsEncodedLengthsAndFrames) {
  autograd::NoGradGuard ng;
  for (const char* kind : {"striding", "dw_striding"}) {
    Generator gen(2);
    models::ConformerCtcModel model(test::tiny_config(kind), gen);
    model.train(false);
    Tensor feats = Tensor::randn({3, 16, 37}, gen);
    models::CtcOutput out = model.forward(feats, test::lengths_tensor({37, 20, 9}));
    const int64_t f = std::string(kind) == "striding" ? 4 : 8;
    EXPECT_EQ(out.lengths.to_vector(), (std::vector<double>{double((37 + f - 1) / f), double((20 + f - 1) / f),
                                                            double((9 + f - 1) / f)}));
    EXPECT_EQ(out.log_probs.shape(), (Shape{3, (37 + f - 1) / f, 6}));
    EXPECT_EQ(out.encoded.shape(), (Shape{3, 8, (37 + f - 1) / f}));
  }
}

// Runs the batch with garbage in the padded frames, then each utterance alone.
void expect_batch_equals_solo(const io::ModelConfig& cfg) {
  autograd::NoGradGuard ng;
  Generator gen(11);
  models::ConformerCtcModel model(cfg, gen);
  model.train(false);
  const std::vector<int64_t> lens = {41, 29, 13};
  const int64_t t_max = 41, mel = cfg.encoder.feat_in;
  Tensor feats = Tensor::randn({3, mel, t_max}, gen);
  models::CtcOutput batch = model.forward(feats, test::lengths_tensor(lens));
  const std::vector<double> enc_lens = batch.lengths.to_vector();
  for (int64_t b = 0; b < 3; ++b) {
    Tensor solo_in = feats.narrow(0, b, 1).narrow(2, 0, lens[b]).contiguous();
    models::CtcOutput solo = model.forward(solo_in, test::lengths_tensor({lens[b]}));
    const auto te = static_cast<int64_t>(enc_lens[b]);
    ASSERT_EQ(solo.log_probs.size(1), te);
    EXPECT_LE(test::max_abs_diff(batch.encoded.narrow(0, b, 1).narrow(2, 0, te), solo.encoded), 1e-5)
        << cfg.encoder.subsampling << " utterance " << b;
    EXPECT_LE(test::max_abs_diff(batch.log_probs.narrow(0, b, 1).narrow(1, 0, te), solo.log_probs), 1e-5)
        << cfg.encoder.subsampling << " utterance " << b;
  }
  // The padded frames really held garbage: changing them changes nothing valid.
  Tensor noisy = ops::add(feats, ops::scale(Tensor::randn(feats.shape(), gen), 100.0));
  std::vector<double> keep(static_cast<size_t>(3 * mel * t_max));
  for (int64_t b = 0; b < 3; ++b)
    for (int64_t c = 0; c < mel; ++c)
      for (int64_t t = 0; t < t_max; ++t) keep[(b * mel + c) * t_max + t] = t < lens[b];
  Tensor mixed = ops::where(Tensor::from_vector(keep, feats.shape(), DType::Bool), feats, noisy);
  models::CtcOutput again = model.forward(mixed, test::lengths_tensor(lens));
  for (int64_t b = 0; b < 3; ++b) {
    const auto te = static_cast<int64_t>(enc_lens[b]);
    EXPECT_LE(test::max_abs_diff(again.log_probs.narrow(0, b, 1).narrow(1, 0, te),
                                 batch.log_probs.narrow(0, b, 1).narrow(1, 0, te)),
              1e-5);
  }
}

io::ModelConfig padding_config(const std::string& kind) {
  io::ModelConfig c = test::tiny_config(kind, 2);
  c.encoder.d_model = 16;
  c.encoder.n_heads = 4;
  c.encoder.conv_kernel_size = 5;
  c.decoder.feat_in = 16;
  return c;
}

TEST(PaddedBatch, StridingBatchEqualsEachUtteranceAlone) { expect_batch_equals_solo(padding_config("striding")); }

TEST(PaddedBatch, DwStridingBatchEqualsEachUtteranceAlone) {
  expect_batch_equals_solo(padding_config("dw_striding"));
}

TEST(PaddedBatch, LayerNormConvVariantBatchEqualsEachUtteranceAlone) {
  io::ModelConfig c = padding_config("striding");
  c.encoder.conv_norm_type = "layer_norm";
  expect_batch_equals_solo(c);
}

TEST(PaddedBatch, BadLengthsAreErrors) {
  Generator gen(1);
  models::ConformerCtcModel model(test::tiny_config(), gen);
  Tensor feats = Tensor::randn({2, 16, 12}, gen);
  EXPECT_ASR_ERROR(model.forward(feats, test::lengths_tensor({12, 13})), "length 13");
  EXPECT_ASR_ERROR(model.forward(feats, test::lengths_tensor({12})), "lengths");
  EXPECT_ASR_ERROR(model.forward(Tensor::randn({2, 15, 12}, gen), test::lengths_tensor({12, 12})), "features");
}

}  // namespace
}  // namespace asr
