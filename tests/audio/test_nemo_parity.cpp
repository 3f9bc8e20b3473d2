// Audio loading + features against NeMo itself: tests/fixtures/nemo/<model>_reference.h5 holds
// NeMo's preprocessor output for each wav in tests/fixtures/nemo/audio
// (tools/make_nemo_fixtures.py).
#include <gtest/gtest.h>
#include <hdf5.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <tuple>

#include "asr/audio/audio.h"
#include "asr/audio/features.h"
#include "asr/io/model_file.h"
#include "golden/golden_io.h"

namespace asr::audio {
namespace {

namespace fs = std::filesystem;
const std::string kNemoDir = std::string(ASR_FIXTURE_DIR) + "/nemo";
constexpr double kTol = 1e-4;  // the acceptance bar: features within 1e-4 absolute of NeMo

std::vector<std::string> reference_files() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(kNemoDir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.size() > 13 && name.compare(name.size() - 13, 13, "_reference.h5") == 0)
      out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// A variable-length string attribute (the fixture's audio_filepath), "" when absent.
std::string string_attr(const std::string& file, const std::string& obj, const std::string& name) {
  hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) return "";
  std::string out;
  if (H5Aexists_by_name(f, obj.c_str(), name.c_str(), H5P_DEFAULT) > 0) {
    hid_t at = H5Aopen_by_name(f, obj.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT);
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    char* s = nullptr;
    if (H5Aread(at, t, &s) >= 0 && s) {
      out = s;
      H5free_memory(s);
    }
    H5Tclose(t);
    H5Aclose(at);
  }
  H5Fclose(f);
  return out;
}

// The model's preprocessor config and its fb / window buffers, read from the fixture .nemo.
struct Checkpoint {
  io::PreprocessorConfig config;
  Tensor fb, window;
};

Checkpoint checkpoint_for(const std::string& reference_path) {
  const std::string nemo = kNemoDir + "/" + string_attr(reference_path, "/", "nemo_file");
  io::ModelFile m = io::load_model_file(nemo);
  Checkpoint c;
  c.config = m.config.preprocessor;
  auto fb = m.weights.find("preprocessor.featurizer.fb");
  auto win = m.weights.find("preprocessor.featurizer.window");
  EXPECT_NE(fb, m.weights.end()) << nemo;
  EXPECT_NE(win, m.weights.end()) << nemo;
  if (fb != m.weights.end()) c.fb = fb->second;
  if (win != m.weights.end()) c.window = win->second;
  return c;
}

// max |ours - NeMo| over NeMo's first `frames` frames; NeMo's frames beyond are pad_value 0.
double feature_diff(const Tensor& ours, const golden::Array& ref, int64_t frames) {
  EXPECT_EQ(ours.size(0), ref.shape[0]);
  EXPECT_EQ(ours.size(1), frames);
  const int64_t M = ref.shape[0], T = ref.shape[1];
  const auto v = ours.to_vector();
  double worst = 0;
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t t = 0; t < frames; ++t)
      worst = std::max(worst, std::fabs(v[m * frames + t] - ref.data[m * T + t]));
    for (int64_t t = frames; t < T; ++t) EXPECT_EQ(ref.data[m * T + t], 0.0);
  }
  return worst;
}

struct Utterance {
  std::string group, wav;
  std::vector<float> nemo_input;  // NeMo's 16 kHz mono input, when the fixture stored it
};

std::vector<Utterance> utterances(const golden::File& ref, const std::string& path) {
  std::vector<Utterance> out;
  const int64_t n = static_cast<int64_t>(ref.attr("/", "num_utterances"));
  for (int64_t i = 0; i < n; ++i) {
    Utterance u;
    u.group = "utt" + std::to_string(i);
    u.wav = kNemoDir + "/" + string_attr(path, u.group, "audio_filepath");
    if (string_attr(path, u.group, "channel_selector") == "average") {
      const auto a = ref.read(u.group + "/audio_resampled");
      u.nemo_input.assign(a.data.begin(), a.data.end());
    }
    out.push_back(std::move(u));
  }
  return out;
}

TEST(NemoParity, FeaturesOfEachFixtureUtteranceMatchNeMo) {
  const auto files = reference_files();
  if (files.empty()) GTEST_SKIP() << "no " << kNemoDir << "/*_reference.h5 yet";
  for (const auto& name : files) {
    const golden::File ref("../fixtures/nemo/" + name);
    const Checkpoint ck = checkpoint_for(kNemoDir + "/" + name);
    FeatureExtractor fe(ck.config, ck.fb, ck.window);
    for (const auto& u : utterances(ref, kNemoDir + "/" + name)) {
      SCOPED_TRACE(name + " " + u.group + " " + u.wav);
      const Audio audio = load_audio(u.wav, 16000);
      const auto feats = ref.read(u.group + "/features");
      const int64_t frames = static_cast<int64_t>(ref.read(u.group + "/feature_length").data[0]);
      EXPECT_EQ(static_cast<double>(audio.samples.size()), ref.attr(u.group, "audio_length"));
      EXPECT_EQ(fe.num_frames(static_cast<int64_t>(audio.samples.size())), frames);
      if (u.nemo_input.empty()) {
        const double d = feature_diff(fe.compute(audio.samples), feats, frames);
        std::printf("  [%s %s] max |features - NeMo| = %.3g\n", name.c_str(), u.group.c_str(), d);
        EXPECT_LE(d, kTol);
        continue;
      }
      // Resampled (and downmixed) file: NeMo resamples with soxr, as we do. The
      // extractor itself is checked on NeMo's own 16 kHz signal; the loader separately.
      const double d_fe = feature_diff(fe.compute(u.nemo_input), feats, frames);
      double d_audio = 0;
      for (size_t i = 0; i < audio.samples.size(); ++i)
        d_audio =
            std::max(d_audio, static_cast<double>(std::fabs(audio.samples[i] - u.nemo_input[i])));
      const double d_all = feature_diff(fe.compute(audio.samples), feats, frames);
      std::printf(
          "  [%s %s] max |features(NeMo's 16k input) - NeMo| = %.3g; our resampled audio vs "
          "NeMo's: max |diff| = %.3g; features from our loader: max |diff| = %.3g\n",
          name.c_str(), u.group.c_str(), d_fe, d_audio, d_all);
      std::printf("    (resampler: %s)\n", resampler_name());
      EXPECT_LE(d_fe, kTol);
      EXPECT_LE(d_audio, 1e-6);  // soxr HQ, NeMo's resampler: sample-exact
      EXPECT_LE(d_all, kTol);
    }
  }
}

TEST(NemoParity, PaddedBatchMatchesNeMo) {
  const auto files = reference_files();
  if (files.empty()) GTEST_SKIP() << "no " << kNemoDir << "/*_reference.h5 yet";
  for (const auto& name : files) {
    SCOPED_TRACE(name);
    const golden::File ref("../fixtures/nemo/" + name);
    const Checkpoint ck = checkpoint_for(kNemoDir + "/" + name);
    FeatureExtractor fe(ck.config, ck.fb, ck.window);
    std::vector<std::vector<float>> batch;
    for (const auto& u : utterances(ref, kNemoDir + "/" + name))
      batch.push_back(u.nemo_input.empty() ? load_audio(u.wav, 16000).samples : u.nemo_input);
    auto [feats, lengths] = fe.compute_batch(batch);
    const auto want = ref.read("batch/features");
    EXPECT_EQ(lengths.to_vector(), ref.read("batch/feature_lengths").data);
    ASSERT_EQ(feats.shape(), want.shape);
    const auto v = feats.to_vector();
    double worst = 0;
    for (size_t i = 0; i < v.size(); ++i) worst = std::max(worst, std::fabs(v[i] - want.data[i]));
    std::printf("  [%s batch] max |features - NeMo| = %.3g\n", name.c_str(), worst);
    EXPECT_LE(worst, kTol);
  }
}

// Without checkpoint buffers the extractor derives them; they must equal NeMo's.
TEST(NemoParity, DerivedWindowAndFilterbankEqualTheCheckpoints) {
  const auto files = reference_files();
  if (files.empty()) GTEST_SKIP() << "no " << kNemoDir << "/*_reference.h5 yet";
  for (const auto& name : files) {
    SCOPED_TRACE(name);
    const Checkpoint ck = checkpoint_for(kNemoDir + "/" + name);
    const FeatureExtractor derived(ck.config);
    for (auto [mine, theirs, what] : {std::make_tuple(&derived.filterbank(), ck.fb, "fb"),
                                      std::make_tuple(&derived.window(), ck.window, "window")}) {
      const auto ref = theirs.to_vector();
      ASSERT_EQ(mine->size(), ref.size()) << what;
      double worst = 0;
      for (size_t i = 0; i < ref.size(); ++i)
        worst = std::max(worst, std::fabs((*mine)[i] - ref[i]));
      std::printf("  [%s %s] max |derived - checkpoint| = %.3g\n", name.c_str(), what, worst);
      EXPECT_LE(worst, 1e-7) << what;
    }
  }
}

}  // namespace
}  // namespace asr::audio
