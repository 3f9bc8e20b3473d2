// load_audio on files written here with libsndfile: scaling, downmix, resampling, offset/duration
// and the errors for files that are missing, not audio, or empty.
#include <gtest/gtest.h>
#include <sndfile.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "asr/audio/audio.h"
#include "support/test_util.h"

namespace asr::audio {
namespace {

namespace fs = std::filesystem;

class LoadAudio : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::temp_path("audio_test");
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes interleaved frames; format e.g. SF_FORMAT_WAV | SF_FORMAT_PCM_16.
  template <typename T>
  std::string write(const std::string& name, int format, int rate, int channels,
                    const std::vector<T>& data) {
    const std::string path = (dir_ / name).string();
    SF_INFO info{};
    info.samplerate = rate;
    info.channels = channels;
    info.format = format;
    SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
    EXPECT_NE(f, nullptr) << sf_strerror(nullptr);
    if (!f) return path;
    const sf_count_t frames = static_cast<sf_count_t>(data.size()) / channels;
    if constexpr (std::is_same_v<T, short>)
      EXPECT_EQ(sf_writef_short(f, data.data(), frames), frames);
    else if constexpr (std::is_same_v<T, int>)
      EXPECT_EQ(sf_writef_int(f, data.data(), frames), frames);
    else
      EXPECT_EQ(sf_writef_float(f, data.data(), frames), frames);
    sf_close(f);
    return path;
  }

  fs::path dir_;
};

std::vector<float> ramp(int n, float scale) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) v[i] = scale * std::sin(0.01f * static_cast<float>(i));
  return v;
}

TEST_F(LoadAudio, Int16StereoIsScaledBy32768AndAveraged) {
  std::vector<short> pcm;
  for (int i = 0; i < 1000; ++i) {
    pcm.push_back(static_cast<short>(i * 30 - 15000));  // left
    pcm.push_back(static_cast<short>(-i * 7));          // right
  }
  const auto path = write("stereo.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 2, pcm);
  const Audio a = load_audio(path, 44100);
  ASSERT_EQ(a.samples.size(), 1000u);
  EXPECT_EQ(a.sample_rate, 44100);
  for (int i = 0; i < 1000; ++i) {
    const float l = static_cast<float>(i * 30 - 15000) / 32768.0f,
                r = static_cast<float>(-i * 7) / 32768.0f;
    EXPECT_EQ(a.samples[i], (l + r) / 2.0f) << i;
  }
  EXPECT_EQ(pcm[0] / 32768.0f, -15000 / 32768.0f);
}

TEST_F(LoadAudio, Int32PcmIsScaledBy2To31) {
  const auto path = write("i32.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_32, 16000, 1,
                          std::vector<int>{1 << 30, -(1 << 30), INT32_MIN, 0});
  const Audio a = load_audio(path, 16000);
  EXPECT_EQ(a.samples, (std::vector<float>{0.5f, -0.5f, -1.0f, 0.0f}));
}

TEST_F(LoadAudio, MonoFloatIsReadAsIs) {
  const auto x = ramp(16000, 0.7f);
  const auto path = write("mono.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 16000, 1, x);
  const Audio a = load_audio(path, 16000);
  EXPECT_EQ(a.samples, x);
  EXPECT_DOUBLE_EQ(a.duration(), 1.0);
}

TEST_F(LoadAudio, OffsetAndDurationCutWholeSamplesAtTheFileRate) {
  const auto x = ramp(16000, 0.5f);
  const auto path = write("cut.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 16000, 1, x);
  const Audio a = load_audio(path, 16000, 0.25, 0.5);
  ASSERT_EQ(a.samples.size(), 8000u);
  EXPECT_EQ(a.samples.front(), x[4000]);
  EXPECT_EQ(a.samples.back(), x[11999]);
  // duration past the end reads what is there; offset alone reads to the end
  EXPECT_EQ(load_audio(path, 16000, 0.75, 5.0).samples.size(), 4000u);
  EXPECT_EQ(load_audio(path, 16000, 0.9).samples.size(), 1600u);
  EXPECT_ASR_ERROR(load_audio(path, 16000, 1.0), "beyond the end");
  EXPECT_ASR_ERROR(load_audio(path, 16000, -1.0), "offset");
}

TEST_F(LoadAudio, ResamplesToTheTargetRateWithLibrosaLength) {
  // 1 kHz sine at 44.1 kHz, 12345 samples -> ceil(12345 * 16000 / 44100) = 4479 at 16 kHz
  std::vector<float> x(12345);
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = 0.5f * static_cast<float>(std::sin(2 * M_PI * 1000.0 * i / 44100.0));
  const auto path = write("sine44k.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 44100, 1, x);
  const Audio a = load_audio(path, 16000);
  EXPECT_EQ(a.sample_rate, 16000);
  ASSERT_EQ(a.samples.size(), 4479u);
  double worst = 0;  // away from the edges the resampled sine is the sine sampled at 16 kHz
  for (size_t i = 200; i + 200 < a.samples.size(); ++i)
    worst =
        std::max(worst, std::fabs(a.samples[i] - 0.5 * std::sin(2 * M_PI * 1000.0 * i / 16000.0)));
  EXPECT_LT(worst, 1e-3);
  // and the other way: 8 kHz -> 16 kHz doubles the length exactly
  const auto up =
      write("up.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, std::vector<short>(801, 1000));
  EXPECT_EQ(load_audio(up, 16000).samples.size(), 1602u);
}

TEST_F(LoadAudio, ReadsFlacWhenLibsndfileSupportsIt) {
  SF_INFO probe{};
  probe.samplerate = 16000;
  probe.channels = 1;
  probe.format = SF_FORMAT_FLAC | SF_FORMAT_PCM_16;
  if (!sf_format_check(&probe)) GTEST_SKIP() << "libsndfile built without FLAC";
  std::vector<short> pcm(3000);
  for (size_t i = 0; i < pcm.size(); ++i) pcm[i] = static_cast<short>((i * 37) % 20000 - 10000);
  const Audio a = load_audio(write("x.flac", probe.format, 16000, 1, pcm), 16000);
  ASSERT_EQ(a.samples.size(), pcm.size());
  for (size_t i = 0; i < pcm.size(); ++i) EXPECT_EQ(a.samples[i], pcm[i] / 32768.0f);
}

TEST_F(LoadAudio, MissingFileIsAnErrorNamingIt) {
  const std::string path = (dir_ / "nope.wav").string();
  EXPECT_ASR_ERROR(load_audio(path, 16000), path + ": no such file");
}

TEST_F(LoadAudio, TextFileNamedWavIsAnErrorNamingIt) {
  const std::string path = (dir_ / "text.wav").string();
  std::ofstream(path) << "this is not audio, just text pretending to be a wav file\n";
  EXPECT_ASR_ERROR(load_audio(path, 16000), path + ": not a readable audio file");
}

TEST_F(LoadAudio, EmptyWavIsAnErrorNamingIt) {
  const auto path =
      write("empty.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, std::vector<short>{});
  EXPECT_ASR_ERROR(load_audio(path, 16000), path + ": no audio samples");
}

TEST_F(LoadAudio, DirectoryIsAnError) {
  EXPECT_ASR_ERROR(load_audio(dir_.string(), 16000), "directory");
}

TEST_F(LoadAudio, FromMemoryReadsTheSameSamplesAsFromAFile) {
  const auto path = write("mem.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 2, std::vector<short>(1600, 1234));
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const Audio from_file = load_audio(path, 16000, 0.01, 0.05);
  const Audio from_memory = load_audio_from_memory(bytes, "mem.wav", 16000, 0.01, 0.05);
  EXPECT_EQ(from_memory.samples, from_file.samples);
  EXPECT_ASR_ERROR(load_audio_from_memory("not audio", "junk.wav", 16000), "junk.wav: not a readable audio file");
}

// Fuzzing found these: a 4 KB WAV at 1 Hz hung soxr (a 16,000x upsample), and 23 KB of FLAC
// silence decodes to over two hours. Both are refused, naming the limit.
TEST_F(LoadAudio, SampleRatesBelowTheMinimumAreRefused) {
  const auto path = write("slow.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 999, 1, std::vector<short>(4000, 1));
  EXPECT_ASR_ERROR(load_audio(path, 16000), "sample rate 999 Hz is below the 1000 Hz");
  EXPECT_EQ(load_audio(write("ok.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 1000, 1, std::vector<short>(100, 1)), 16000)
                .samples.size(), 1600u);
}

TEST_F(LoadAudio, AudioLongerThanTheLimitIsRefusedWhileReading) {
  const std::string flac = std::string(ASR_FIXTURE_DIR) + "/../fuzz/regressions/audio/flac_silence_decodes_past_2h.flac";
  ASSERT_LT(fs::file_size(flac), 30000u);
  EXPECT_ASR_ERROR(load_audio(flac, 16000), "longer than 7200 s");
  // A window of it is still readable.
  EXPECT_EQ(load_audio(flac, 1000, 3600.0, 2.0).samples.size(), 2000u);
}

TEST_F(LoadAudio, OffsetsAndDurationsMustBeFiniteAndBounded) {
  const auto path = write("b.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, std::vector<short>(100, 1));
  EXPECT_ASR_ERROR(load_audio(path, 16000, 1e300), "offset and duration must be 0 to 1e9 seconds");
  EXPECT_ASR_ERROR(load_audio(path, 16000, 0.0, INFINITY), "offset and duration must be 0 to 1e9 seconds");
}

}  // namespace
}  // namespace asr::audio
