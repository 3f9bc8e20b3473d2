// Parity with NVIDIA NeMo itself: the fixtures (tools/make_nemo_fixtures.py) hold small .nemo
// models and, per utterance and for a padded batch, NeMo's own features, encoder outputs and
// log-probs. Feeding NeMo's features keeps this test independent of our preprocessor.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "asr/autograd/node.h"
#include "asr/io/model_file.h"
#include "asr/models/conformer_ctc.h"
#include "asr/ops/ops.h"
#include "golden/golden_io.h"
#include "models/model_test_util.h"

namespace asr {
namespace {

namespace fs = std::filesystem;

const std::string kNemoDir = std::string(ASR_FIXTURE_DIR) + "/nemo";

// Model names with both <name>.nemo and <name>_reference.h5 present.
std::vector<std::string> fixture_models() {
  std::vector<std::string> out;
  if (!fs::is_directory(kNemoDir)) return out;
  for (const auto& e : fs::directory_iterator(kNemoDir)) {
    const std::string f = e.path().filename().string();
    const std::string suffix = "_reference.h5";
    if (f.size() > suffix.size() && f.compare(f.size() - suffix.size(), suffix.size(), suffix) == 0) {
      const std::string name = f.substr(0, f.size() - suffix.size());
      if (fs::exists(kNemoDir + "/" + name + ".nemo")) out.push_back(name);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Max |got - ref| over the first `frames` frames. got_tc is time-major [T, C]; ref is [T, C]
// (channels_first false) or [C, T] (true), with its own T (it may hold padded frames).
double max_diff_frames(const Tensor& got_tc, const golden::Array& ref, bool channels_first,
                       int64_t frames) {
  const std::vector<double> g = got_tc.contiguous().to_vector();
  const int64_t c = got_tc.size(1);
  const int64_t ref_t = channels_first ? ref.shape[1] : ref.shape[0];
  const int64_t ref_c = channels_first ? ref.shape[0] : ref.shape[1];
  EXPECT_EQ(ref_c, c) << "channel count";
  EXPECT_LE(frames, std::min(ref_t, got_tc.size(0))) << "frame count";
  if (ref_c != c || frames > std::min(ref_t, got_tc.size(0))) return INFINITY;
  double m = 0;
  for (int64_t t = 0; t < frames; ++t)
    for (int64_t k = 0; k < c; ++k) {
      const double r = channels_first ? ref.data[k * ref_t + t] : ref.data[t * c + k];
      m = std::max(m, std::fabs(g[t * c + k] - r));
    }
  return m;
}

golden::Array row(const golden::Array& a, int64_t b) {  // a[b]
  golden::Array r;
  r.shape.assign(a.shape.begin() + 1, a.shape.end());
  const int64_t n = shape_numel(r.shape);
  r.data.assign(a.data.begin() + b * n, a.data.begin() + (b + 1) * n);
  return r;
}

void check_model(const std::string& name) {
  autograd::NoGradGuard ng;
  io::ModelFile mf = io::load_model_file(kNemoDir + "/" + name + ".nemo");
  std::unique_ptr<models::ConformerCtcModel> model = models::load_ctc_model(mf);
  golden::File ref("../fixtures/nemo/" + name + "_reference.h5");
  const double tol = 1e-4;
  double worst_enc = 0, worst_lp = 0;
  for (int u = 0;; ++u) {
    const std::string g = "/utt" + std::to_string(u);
    golden::Array feats;
    try {
      feats = ref.read(g + "/features");  // [n_mels, T]
    } catch (const Error&) {
      ASSERT_GT(u, 0) << name << ": no utterances in the reference";
      break;
    }
    const auto len = static_cast<int64_t>(ref.read(g + "/feature_length").data[0]);
    const golden::Array enc_ref = ref.read(g + "/encoded");     // [d, T']
    const golden::Array lp_ref = ref.read(g + "/log_probs");    // [T', V+1]
    const auto enc_len = static_cast<int64_t>(ref.read(g + "/encoded_length").data[0]);
    Tensor x = feats.f32().unsqueeze(0);
    models::CtcOutput out = model->forward(x, test::lengths_tensor({len}));
    ASSERT_EQ(static_cast<int64_t>(out.lengths.item()), enc_len) << name << g;
    ASSERT_EQ(out.log_probs.size(1), lp_ref.shape[0]) << name << g;
    const double de = max_diff_frames(out.encoded.select(0, 0).transpose(0, 1), enc_ref, true, enc_len);
    const double dl = max_diff_frames(out.log_probs.select(0, 0), lp_ref, false, enc_len);
    std::printf("[ parity ] %s %s: encoder max|diff| %.3g, log-probs max|diff| %.3g (%lld frames)\n",
                name.c_str(), g.c_str(), de, dl, static_cast<long long>(enc_len));
    EXPECT_LE(de, tol) << name << g << " encoder output";
    EXPECT_LE(dl, tol) << name << g << " log-probs";
    worst_enc = std::max(worst_enc, de);
    worst_lp = std::max(worst_lp, dl);
  }
  // The padded batch: every utterance's valid frames.
  const golden::Array bf = ref.read("/batch/features");  // [B, n_mels, T]
  const golden::Array bl = ref.read("/batch/feature_lengths");
  const golden::Array be = ref.read("/batch/encoded");   // [B, d, T']
  const golden::Array blp = ref.read("/batch/log_probs");  // [B, T', V+1]
  const golden::Array bel = ref.read("/batch/encoded_lengths");
  models::CtcOutput out = model->forward(bf.f32(), bl.i64());
  ASSERT_EQ(out.lengths.to_vector(), bel.data) << name;
  for (int64_t b = 0; b < bf.shape[0]; ++b) {
    const auto te = static_cast<int64_t>(bel.data[b]);
    const double de = max_diff_frames(out.encoded.select(0, b).transpose(0, 1), row(be, b), true, te);
    const double dl = max_diff_frames(out.log_probs.select(0, b), row(blp, b), false, te);
    std::printf("[ parity ] %s batch[%lld]: encoder max|diff| %.3g, log-probs max|diff| %.3g\n",
                name.c_str(), static_cast<long long>(b), de, dl);
    EXPECT_LE(de, tol) << name << " batch " << b << " encoder output";
    EXPECT_LE(dl, tol) << name << " batch " << b << " log-probs";
    worst_enc = std::max(worst_enc, de);
    worst_lp = std::max(worst_lp, dl);
  }
  // Padded frames carry no meaning, but NeMo's values there are deterministic too: report them.
  if (out.log_probs.shape() == blp.shape) {
    const std::vector<double> g = out.log_probs.contiguous().to_vector();
    double all = 0;
    for (size_t i = 0; i < g.size(); ++i) all = std::max(all, std::fabs(g[i] - blp.data[i]));
    std::printf("[ parity ] %s batch incl. padded frames: log-probs max|diff| %.3g\n", name.c_str(), all);
  }
  // NeMo's CTC loss on the batch (blank = V, zero_infinity) from our log-probs.
  Tensor losses = ops::ctc_loss(out.log_probs, ref.read("/batch/targets").i64(), out.lengths,
                                ref.read("/batch/target_lengths").i64(), model->blank(),
                                ops::CtcReduction::None, true);
  const golden::Array loss_ref = ref.read("/batch/ctc_loss_per_utt");
  double worst_loss = 0;
  for (size_t b = 0; b < loss_ref.data.size(); ++b)
    worst_loss = std::max(worst_loss, std::fabs(losses.to_vector()[b] - loss_ref.data[b]) /
                                          std::max(1.0, std::fabs(loss_ref.data[b])));
  std::printf("[ parity ] %s batch CTC loss per utterance: max rel diff %.3g\n", name.c_str(), worst_loss);
  EXPECT_LE(worst_loss, 1e-4) << name << " CTC loss";
  std::printf("[ parity ] %s worst: encoder %.3g, log-probs %.3g\n", name.c_str(), worst_enc, worst_lp);
}

TEST(NemoParity, EncoderOutputsAndLogProbsMatchNemoPerUtteranceAndPaddedBatch) {
  const std::vector<std::string> models = fixture_models();
  if (models.empty()) GTEST_SKIP() << "no NeMo fixtures in " << kNemoDir << " (tools/make_nemo_fixtures.py)";
  for (const std::string& m : models) {
    SCOPED_TRACE(m);
    check_model(m);
  }
}

}  // namespace
}  // namespace asr
