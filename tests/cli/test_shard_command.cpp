// `asr-adapt shard` end to end on generated speech: shards and index that match the model's own
// features and tokens, every kind of bad input skipped and reported, resume, --strict, and two
// MPI ranks writing exactly what one process writes.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <sndfile.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "support/mpi_launch.h"
#include "asr/audio/audio.h"
#include "asr/audio/features.h"
#include "asr/data/shard_format.h"
#include "asr/data/shard_plan.h"
#include "asr/data/shard_writer.h"
#include "asr/io/model_file.h"
#include "asr/text/tokenizer.h"
#include "support/test_util.h"


namespace {

namespace fs = std::filesystem;
using namespace asr;

const std::string kModel = std::string(ASR_FIXTURE_DIR) + "/nemo/conformer_ctc.nemo";

// Sentences in the fixture tokenizer's vocabulary (tests/fixtures/nemo/audio/manifest.json).
const char* kTexts[] = {"the cat sat on the mat",      "don't open the red door",  "is it raining today",
                        "seven green apples please",   "we'll meet at the old station", "the red cat",
                        "open the old door",           "green apples today",       "meet the cat",
                        "is the station open"};
constexpr int kClips = 10;
constexpr int kGoodItems = 30;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct CliRun {
  int code;
  std::string out, err;
};

CliRun run_command(const std::string& cmd_line) {
  const std::string err_path = test::temp_path("shard_stderr.txt");
  FILE* p = popen((cmd_line + " 2>" + err_path).c_str(), "r");
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out, slurp(err_path)};
}

CliRun shard(const std::string& args) { return run_command(std::string(ASR_CLI_BINARY) + " shard " + args); }

double wav_seconds(const std::string& path) {
  SF_INFO info{};
  SNDFILE* f = sf_open(path.c_str(), SFM_READ, &info);
  if (!f) return 0;
  sf_close(f);
  return static_cast<double>(info.frames) / info.samplerate;
}

// Speech from espeak-ng when it is installed; otherwise a tone of similar length (the command
// does not care what is said).
void make_clip(const std::string& path, const std::string& text, int speed) {
  const std::string cmd = "espeak-ng -s " + std::to_string(speed) + " -w '" + path + "' \"" + text + "\" 2>/dev/null";
  if (std::system(cmd.c_str()) == 0 && wav_seconds(path) > 0) return;
  SF_INFO info{};
  info.samplerate = 22050;
  info.channels = 1;
  info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  const double seconds = 0.06 * static_cast<double>(text.size()) * 160.0 / speed;
  std::vector<short> pcm(static_cast<size_t>(seconds * info.samplerate));
  for (size_t i = 0; i < pcm.size(); ++i) pcm[i] = static_cast<short>(8000 * std::sin(0.05 * i + 1e-5 * i * i));
  SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
  sf_writef_short(f, pcm.data(), static_cast<sf_count_t>(pcm.size()));
  sf_close(f);
}

std::string line(const std::string& audio, double duration, const std::string& text) {
  nlohmann::ordered_json j;
  j["audio_filepath"] = audio;
  j["duration"] = duration;
  j["text"] = text;
  return j.dump() + "\n";
}

// The corpus (audio + good.json + bad.json, relative paths) is made once and shared by the test
// processes ctest runs in parallel: built under a private name, then renamed into place.
const std::string& corpus() {
  static const std::string dir = [] {
    const std::string final_dir = ::testing::TempDir() + "asr_shard_corpus_v2";
    if (fs::exists(final_dir + "/bad.json")) return final_dir;
    const std::string tmp = test::temp_path("shard_corpus.tmp");
    fs::remove_all(tmp);
    fs::create_directories(tmp + "/subdir.wav");
    std::string good, bad;
    std::vector<double> secs(kClips);
    for (int i = 0; i < kClips; ++i) {
      const std::string name = "utt0" + std::to_string(i) + ".wav";
      make_clip(tmp + "/" + name, kTexts[i], 160);
      secs[i] = wav_seconds(tmp + "/" + name);
    }
    for (int k = 0; k < kGoodItems; ++k) {
      const int i = k % kClips;
      good += line("utt0" + std::to_string(i) + ".wav", secs[i], kTexts[i]);
    }
    make_clip(tmp + "/short.wav", "a", 300);
    std::ofstream(tmp + "/corrupt.wav") << "this is not audio";
    {
      SF_INFO info{};
      info.samplerate = 16000;
      info.channels = 1;
      info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
      sf_close(sf_open((tmp + "/empty.wav").c_str(), SFM_WRITE, &info));
    }
    bad += "{\"audio_filepath\": \"utt00.wav\", \"duration\": 1.0, \"text\": \"the cat\"\n";  // 1 JSON
    bad += "{\"duration\": 1.2, \"text\": \"the cat sat\"}\n";                              // 2 field
    bad += "{\"audio_filepath\": \"utt01.wav\", \"duration\": 1.5}\n";                      // 3 field
    bad += line("no_such.wav", 1.0, "the cat");                                             // 4 missing
    bad += line(final_dir + "/subdir.wav", 1.0, "the cat");  // 5 a folder (absolute: kept as written)
    bad += line("corrupt.wav", 1.0, "the cat");                                             // 6 corrupt
    bad += line("empty.wav", 1.0, "the cat");                                               // 7 empty
    bad += line("utt02.wav", 45.0, "the cat");                                              // 8 duration
    bad += line("utt03.wav", secs[3], "   ");                                               // 9 transcript
    bad += line("short.wav", wav_seconds(tmp + "/short.wav"), "seven green apples please meet the cat");  // 10 CTC
    bad += line("utt04.wav", secs[4], "the cat \u0416");                                     // 11 <unk>, kept
    bad += line("utt05.wav", secs[5], kTexts[5]);                                           // 12 fine
    std::ofstream(tmp + "/good.json") << good;
    std::ofstream(tmp + "/bad.json") << bad;
    std::ofstream(tmp + "/missing.json") << line("no_such.wav", 1.0, "the cat");
    std::error_code ec;
    fs::rename(tmp, final_dir, ec);  // another process may have won: use its copy
    if (ec) fs::remove_all(tmp);
    return final_dir;
  }();
  return dir;
}

std::string fresh_out(const std::string& name) {
  const std::string d = test::temp_path(name);
  fs::remove_all(d);
  return d;
}

std::string base_args(const std::string& out) {
  return "--model " + kModel + " --manifest " + corpus() + "/good.json --out " + out + " --max-shard-size 300KiB";
}

int64_t count(const std::string& s, const std::string& what) {
  int64_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

// The row of the skip table for `reason`: its count and examples.
std::string table_row(const std::string& out, const std::string& reason) {
  const size_t p = out.find("  " + reason);
  return p == std::string::npos ? "" : out.substr(p, out.find('\n', p) - p);
}

std::vector<float> read_rows(const std::string& path, int64_t offset, int64_t rows, int64_t n_mels) {
  std::vector<float> out(static_cast<size_t>(rows * n_mels));
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  hid_t ds = H5Dopen2(f, data::shard_keys::kFeatures, H5P_DEFAULT);
  hid_t space = H5Dget_space(ds);
  const hsize_t start[2] = {static_cast<hsize_t>(offset), 0}, cnt[2] = {static_cast<hsize_t>(rows), static_cast<hsize_t>(n_mels)};
  H5Sselect_hyperslab(space, H5S_SELECT_SET, start, nullptr, cnt, nullptr);
  hid_t mem = H5Screate_simple(2, cnt, nullptr);
  EXPECT_GE(H5Dread(ds, H5T_NATIVE_FLOAT, mem, space, H5P_DEFAULT, out.data()), 0);
  H5Sclose(mem);
  H5Sclose(space);
  H5Dclose(ds);
  H5Fclose(f);
  return out;
}

template <typename T>
std::vector<T> read_1d(const std::string& path, const char* name, hid_t type) {
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  hid_t ds = H5Dopen2(f, name, H5P_DEFAULT);
  hid_t space = H5Dget_space(ds);
  std::vector<T> out(static_cast<size_t>(H5Sget_simple_extent_npoints(space)));
  if (!out.empty()) EXPECT_GE(H5Dread(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()), 0);
  H5Sclose(space);
  H5Dclose(ds);
  H5Fclose(f);
  return out;
}

std::string first_string(const std::string& path, const char* name) {
  hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, H5T_VARIABLE);
  H5Tset_cset(type, H5T_CSET_UTF8);
  auto ptrs = read_1d<char*>(path, name, type);
  std::string s = ptrs.empty() || !ptrs[0] ? "" : ptrs[0];
  for (char* p : ptrs) H5free_memory(p);
  H5Tclose(type);
  return s;
}

ino_t inode(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

TEST(ShardCommand, WritesShardsAndAnIndexThatMatchTheModel) {
  const std::string out = fresh_out("shard_main");
  const CliRun r = shard(base_args(out) + " --threads 2");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("x real time per core (2 threads x 1 rank)"), std::string::npos) << r.out;

  const data::ShardIndex idx = data::read_shard_index(out);
  io::ModelFile mf = io::load_model_file(kModel);
  auto buf = [&](const char* k) { return mf.weights.count(k) ? mf.weights.at(k) : Tensor(); };
  audio::FeatureExtractor fx(mf.config.preprocessor, buf("preprocessor.featurizer.fb"), buf("preprocessor.featurizer.window"));
  const auto tok = text::Tokenizer::from_sentencepiece(mf.tokenizer_model, kModel);
  EXPECT_EQ(idx.preprocessor_fingerprint, data::preprocessor_fingerprint(fx.config(), fx.filterbank(), fx.window()));
  EXPECT_EQ(idx.tokenizer_fingerprint, data::tokenizer_fingerprint(mf.tokenizer_model));
  EXPECT_EQ(idx.n_mels, 80);
  EXPECT_EQ(idx.feature_dtype, "f32");
  ASSERT_GE(idx.shards.size(), 4u) << "300KiB shards of ~60 KB utterances";
  int64_t utterances = 0;
  for (size_t k = 0; k < idx.shards.size(); ++k) {
    const auto& s = idx.shards[k];
    EXPECT_EQ(s.file, data::shard_file_name(static_cast<int64_t>(k)));
    EXPECT_EQ(s.checksum, data::file_checksum(out + "/" + s.file));
    const data::ShardSummary sum = data::inspect_shard(out + "/" + s.file);
    EXPECT_EQ(sum.utterances, s.utterances);
    EXPECT_EQ(sum.frames, s.frames);
    EXPECT_EQ(sum.header.preprocessor_fingerprint, idx.preprocessor_fingerprint);
    utterances += s.utterances;
  }
  EXPECT_EQ(utterances, kGoodItems);
  for (const auto& e : fs::directory_iterator(out)) EXPECT_NE(e.path().extension(), ".tmp") << e.path();

  // The first utterance is exactly what the model's preprocessor computes, tokens as encoded.
  const std::string s0 = out + "/" + idx.shards[0].file;
  const auto lengths = read_1d<int64_t>(s0, data::shard_keys::kFeatureLengths, H5T_NATIVE_INT64);
  const std::string wav = corpus() + "/utt00.wav";
  EXPECT_EQ(first_string(s0, data::shard_keys::kAudioPaths), wav);
  EXPECT_EQ(first_string(s0, data::shard_keys::kTranscripts), kTexts[0]);
  const Tensor want = fx.compute(audio::load_audio(wav, fx.config().sample_rate).samples);  // [n_mels, T]
  ASSERT_EQ(lengths[0], want.shape()[1]);
  const auto got = read_rows(s0, 0, lengths[0], 80);
  for (int64_t t = 0; t < lengths[0]; ++t)
    for (int64_t m = 0; m < 80; ++m)
      ASSERT_EQ(got[static_cast<size_t>(t * 80 + m)], want.data<float>()[m * lengths[0] + t]) << t << " " << m;
  const auto tokens = read_1d<int32_t>(s0, data::shard_keys::kTokens, H5T_NATIVE_INT32);
  const auto want_ids = tok.encode(kTexts[0]);
  ASSERT_GE(tokens.size(), want_ids.size());
  for (size_t i = 0; i < want_ids.size(); ++i) EXPECT_EQ(tokens[i], want_ids[i]);
}

TEST(ShardCommand, ShardsAreReadableWithH5dump) {
  const std::string out = fresh_out("shard_h5dump");
  ASSERT_EQ(shard(base_args(out) + " --dtype f16").code, 0);
  const CliRun d = run_command("h5dump -H " + out + "/shard-00000.h5");
  ASSERT_EQ(d.code, 0) << d.err;
  for (const char* name : {"features", "feature_offsets", "feature_lengths", "tokens", "token_offsets", "token_lengths",
                           "durations", "transcripts", "audio_paths", "schema_version", "preprocessor_fingerprint",
                           "tokenizer_fingerprint", "n_mels", "feature_dtype", "utterances"})
    EXPECT_NE(d.out.find("\"" + std::string(name) + "\""), std::string::npos) << name << "\n" << d.out;
  EXPECT_NE(d.out.find("H5T_STD_I32LE"), std::string::npos);  // tokens
  EXPECT_NE(d.out.find("H5S_UNLIMITED"), std::string::npos);  // features: [frames, n_mels], extendible
}

TEST(ShardCommand, ShardsAreReadableWithH5py) {
  // Debian's python3-h5py (installed by launch/install_deps.sh), else the dev venv.
  std::string python = "/usr/bin/python3";
  if (run_command(python + " -c 'import h5py'").code != 0)
    python = std::string(ASR_FIXTURE_DIR) + "/../../.venv/bin/python";
  if (!fs::exists(python)) GTEST_SKIP() << "no python with h5py here";
  const std::string out = fresh_out("shard_h5py");
  ASSERT_EQ(shard(base_args(out) + " --dtype f16").code, 0);
  const std::string script = test::temp_path("check_shards.py");
  std::ofstream(script) << R"(import json, sys
import h5py, numpy as np
d = sys.argv[1]
idx = json.load(open(d + '/index.json'))
total = 0
for s in idx['shards']:
    f = h5py.File(d + '/' + s['file'], 'r')
    n = int(f.attrs['utterances'])
    assert n == s['utterances'] == len(f['durations']) == len(f['transcripts'])
    assert f['features'].dtype == np.float16 and f['features'].shape == (s['frames'], idx['n_mels'])
    assert f.attrs['feature_dtype'] == 'f16' and f.attrs['preprocessor_fingerprint'] == idx['preprocessor_fingerprint']
    off, ln = f['feature_offsets'][:], f['feature_lengths'][:]
    assert (off == np.concatenate([[0], np.cumsum(ln)[:-1]])).all() and ln.sum() == s['frames']
    x = f['features'][off[-1]:off[-1] + ln[-1]]
    assert np.isfinite(x).all() and abs(float(x.astype(np.float32).mean(axis=0).mean())) < 0.1  # per-feature normalised
    f['transcripts'][0].decode('utf-8')
    total += n
print('h5py ok', total)
)";
  const CliRun r = run_command(python + " " + script + " " + out);
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("h5py ok " + std::to_string(kGoodItems)), std::string::npos) << r.out << r.err;
}

TEST(ShardCommand, BadItemsAreSkippedAndReportedByReason) {
  const std::string out = fresh_out("shard_bad");
  const std::string bad = corpus() + "/bad.json";
  const CliRun r = shard(base_args(out) + " --manifest " + bad + " --max-duration 30");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("skipped 10 of 42 manifest items"), std::string::npos) << r.out;
  const std::pair<const char*, std::string> rows[] = {
      {"JSON syntax error", "1  " + bad + ":1"},
      {"missing or invalid field", "2  " + bad + ":2"},
      {"missing or unreadable audio", "2  " + bad + ":4"},
      {"corrupt audio", "1  " + bad + ":6"},
      {"empty audio", "1  " + bad + ":7"},
      {"duration outside --min/--max-duration", "1  " + bad + ":8"},
      {"empty transcript", "1  " + bad + ":9"},
      {"transcript longer than the encoder output (CTC)", "1  " + bad + ":10"},
      {"kept: transcript characters map to <unk>", "1  " + bad + ":11"}};
  for (const auto& [reason, want] : rows) {
    const std::string row = table_row(r.out, reason);
    EXPECT_NE(row.find(want), std::string::npos) << "row '" << reason << "': " << row << "\n" << r.out;
  }
  EXPECT_NE(table_row(r.out, "missing or invalid field").find(bad + ":3"), std::string::npos) << r.out;
  EXPECT_NE(table_row(r.out, "missing or unreadable audio").find("not a regular file"), std::string::npos) << r.out;
  EXPECT_NE(table_row(r.out, "kept: transcript").find("\u0416"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("<unk>"), std::string::npos) << "a warning names the <unk> transcripts: " << r.err;
  int64_t utterances = 0;
  for (const auto& s : data::read_shard_index(out).shards) utterances += s.utterances;
  EXPECT_EQ(utterances, kGoodItems + 2);  // the <unk> one is kept
}

TEST(ShardCommand, StrictFailsOnAnySkip) {
  // Found in the manifest: fails before any audio is read.
  const std::string out1 = fresh_out("shard_strict1");
  CliRun r = shard(base_args(out1) + " --manifest " + corpus() + "/bad.json --strict");
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("--strict"), std::string::npos) << r.err;
  EXPECT_NE(table_row(r.out, "JSON syntax error").find("1"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(out1 + "/index.json"));
  // Found while decoding: shards are kept for a later run, but no index says the set is usable.
  const std::string out2 = fresh_out("shard_strict2");
  r = shard(base_args(out2) + " --manifest " + corpus() + "/missing.json --strict");
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_NE(table_row(r.out, "missing or unreadable audio").find("1"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(out2 + "/index.json"));
  // Without --strict the same run succeeds.
  EXPECT_EQ(shard(base_args(out2) + " --manifest " + corpus() + "/missing.json").code, 0);
  EXPECT_TRUE(fs::exists(out2 + "/index.json"));
}

TEST(ShardCommand, NothingUsableIsAFailure) {
  const std::string out = fresh_out("shard_nothing");
  const std::string only_bad = test::temp_path("only_bad.json");
  std::ofstream(only_bad) << "{not json\n" << line(corpus() + "/utt00.wav", 1.0, " ");
  CliRun r = shard("--model " + kModel + " --manifest " + only_bad + " --out " + out);
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("no usable utterance"), std::string::npos) << r.err;
  // Usable on paper, but no audio decodes.
  r = shard("--model " + kModel + " --manifest " + corpus() + "/missing.json --out " + out);
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("no utterance could be used"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out + "/index.json"));
}

TEST(ShardCommand, ResumeKeepsFinishedShardsAndRedoesTheRest) {
  const std::string out = fresh_out("shard_resume");
  ASSERT_EQ(shard(base_args(out)).code, 0);
  const std::string first_index = slurp(out + "/index.json");
  const data::ShardIndex idx = data::read_shard_index(out);
  ASSERT_GE(idx.shards.size(), 4u);
  std::vector<ino_t> before;
  for (const auto& s : idx.shards) before.push_back(inode(out + "/" + s.file));

  fs::remove(out + "/shard-00001.h5");                                        // lost
  fs::resize_file(out + "/shard-00002.h5", fs::file_size(out + "/shard-00002.h5") / 2);  // partial
  {  // made by another preprocessor
    hid_t f = H5Fopen((out + "/shard-00003.h5").c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t a = H5Aopen(f, data::shard_keys::kPreprocessorFingerprint, H5P_DEFAULT);
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    const char* other = "xxh64:0000000000000000";
    H5Awrite(a, t, &other);
    H5Tclose(t);
    H5Aclose(a);
    H5Fclose(f);
  }
  std::ofstream(out + "/.shard-00000.h5.tmp") << "left by a killed run";
  const ino_t tampered = inode(out + "/shard-00003.h5");

  const CliRun r = shard(base_args(out));
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  const size_t kept = idx.shards.size() - 3;
  EXPECT_NE(r.out.find("(" + std::to_string(kept) + " kept from an earlier run)"), std::string::npos) << r.out;
  EXPECT_EQ(inode(out + "/shard-00000.h5"), before[0]) << "a complete shard is not rewritten";
  EXPECT_NE(inode(out + "/shard-00003.h5"), tampered) << "a shard with another fingerprint is redone";
  EXPECT_FALSE(fs::exists(out + "/.shard-00000.h5.tmp"));
  // Rebuilt shards are byte-identical to the first run's, so the index is too.
  EXPECT_EQ(slurp(out + "/index.json"), first_index);

  // Another feature dtype is another plan: everything is redone.
  const CliRun f16 = shard(base_args(out) + " --dtype f16");
  ASSERT_EQ(f16.code, 0) << f16.out << f16.err;
  EXPECT_NE(f16.out.find("(0 kept from an earlier run)"), std::string::npos) << f16.out;
  EXPECT_EQ(data::read_shard_index(out).feature_dtype, "f16");
}

TEST(ShardCommand, TwoMpiRanksWriteWhatOneProcessWrites) {
  const std::string one = fresh_out("shard_one"), two = fresh_out("shard_two");
  ASSERT_EQ(shard(base_args(one) + " --threads 2").code, 0);
  const CliRun r = run_command(asr::test::clean_mpi_env_prefix() + " " + ASR_MPIEXEC + " --allow-run-as-root --oversubscribe -np 2 " +
                               ASR_CLI_BINARY + " shard " + base_args(two) + " --threads 1");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  const size_t n = data::read_shard_index(one).shards.size();
  // Round robin: rank 0 has shards 0, 2, ..., rank 1 has 1, 3, ...
  EXPECT_NE(r.err.find("shard[rank 0]: " + std::to_string((n + 1) / 2) + " shards"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("shard[rank 1]: " + std::to_string(n / 2) + " shards"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("(1 thread x 2 ranks)"), std::string::npos) << r.out;
  EXPECT_EQ(count(r.out, "skipped"), 0) << r.out;
  // Same checksums in the index: every shard is byte-identical to the single-process one.
  EXPECT_EQ(slurp(two + "/index.json"), slurp(one + "/index.json"));
}

TEST(ShardCommand, UsageErrorsExitWithTwo) {
  const std::string out = fresh_out("shard_usage");
  EXPECT_EQ(shard(base_args(out) + " --min-duration 5 --max-duration 1").code, 2);
  const CliRun r = shard(base_args(out) + " --max-shard-size lots");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--max-shard-size"), std::string::npos) << r.err;
  EXPECT_EQ(shard(base_args(out) + " --dtype bf16").code, 2);
  EXPECT_EQ(shard("--model " + kModel + " --out " + out).code, 2);  // no manifest
}

}  // namespace
