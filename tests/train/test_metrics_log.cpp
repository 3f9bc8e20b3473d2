// Training logs: CRC32C against published vectors, TensorBoard records byte-for-byte against
// protobuf's own serialisation (bytes printed by tensorboard.compat.proto.event_pb2), read-back
// with CRC checks, JSON lines, and the console progress formatting.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "asr/train/metrics_log.h"
#include "support/test_util.h"

namespace asr::train {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

std::string from_hex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

std::string fresh_dir(const std::string& name) {
  const std::string dir = test::temp_path(name);
  fs::remove_all(dir);
  return dir;
}

// ---- CRC32C ----------------------------------------------------------------------------------

TEST(Crc32c, MatchesPublishedCheckValues) {
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u);  // the CRC catalogue's check value
  EXPECT_EQ(crc32c("", 0), 0u);
  // RFC 3720 (iSCSI) appendix B.4 vectors.
  std::string zeros(32, '\0'), ones(32, '\xff'), ascending, descending;
  for (int i = 0; i < 32; ++i) {
    ascending.push_back(static_cast<char>(i));
    descending.push_back(static_cast<char>(31 - i));
  }
  EXPECT_EQ(crc32c(zeros.data(), zeros.size()), 0x8A9136AAu);
  EXPECT_EQ(crc32c(ones.data(), ones.size()), 0x62A8AB43u);
  EXPECT_EQ(crc32c(ascending.data(), ascending.size()), 0x46DD794Eu);
  EXPECT_EQ(crc32c(descending.data(), descending.size()), 0x113FDB5Cu);
}

TEST(Crc32c, ChainsAcrossCalls) {
  const std::string s = "the quick brown fox jumps over the lazy dog";
  const uint32_t whole = crc32c(s.data(), s.size());
  EXPECT_EQ(crc32c(s.data() + 10, s.size() - 10, crc32c(s.data(), 10)), whole);
}

TEST(Crc32c, MaskedFormMatchesTfRecord) {
  // tensorboard.compat.tensorflow_stub.pywrap_tensorflow.masked_crc32c(b"123456789")
  EXPECT_EQ(masked_crc32c("123456789", 9), 0xC78AB0E5u);
}

// ---- TensorBoard -----------------------------------------------------------------------------

TEST(TensorBoardWriter, RecordIsByteIdenticalToProtobuf) {
  const std::string dir = fresh_dir("tb_bytes");
  std::string path;
  {
    TensorBoardWriter w(dir);
    w.add_scalar("loss", 0.5, 7, 1.5);
    path = w.path();
  }
  const std::string bytes = read_bytes(path);
  // First record: the file_version event, 26 payload bytes (wall_time, step 0, "brain.Event:2").
  ASSERT_GE(bytes.size(), 42u);
  EXPECT_EQ(bytes.substr(0, 8), from_hex("1a00000000000000"));
  EXPECT_NE(bytes.substr(12, 26).find("brain.Event:2"), std::string::npos);
  // Second record: Event{wall_time 1.5, step 7, summary{value{tag "loss", simple_value 0.5}}}
  // as event_pb2.Event.SerializeToString() gives it, framed with its masked CRCs.
  const std::string want = from_hex(
      "1a00000000000000"      // length 26
      "129bd82d"              // masked crc32c of the length
      "09000000000000f83f"    // wall_time = 1.5
      "1007"                  // step = 7
      "2a0d0a0b0a046c6f7373"  // summary { value { tag "loss"
      "150000003f"            //   simple_value 0.5 } }
      "79e18fbb");            // masked crc32c of the payload
  EXPECT_EQ(bytes.substr(42), want);
  EXPECT_THAT(fs::path(path).filename().string(), StartsWith("events.out.tfevents."));
}

TEST(TensorBoardWriter, ScalarsReadBackInOrder) {
  const std::string dir = fresh_dir("tb_roundtrip") + "/nested/run";
  TensorBoardWriter w(dir);  // creates the nested folders
  w.add_scalar("train/loss", 2.25, 1, 100.0);
  w.add_scalar("train/lr", 1e-3, 1, 100.0);
  w.add_scalar("train/loss", 1.125, 2, 101.5);
  w.add_scalar("eval/wer", 0.3, -5, 102.0);  // negative steps are 10-byte varints
  w.flush();  // readable while the writer is still open
  const std::vector<ScalarEvent> got = read_tensorboard_scalars(w.path());
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].tag, "train/loss");
  EXPECT_EQ(got[0].step, 1);
  EXPECT_EQ(got[0].value, 2.25);
  EXPECT_EQ(got[0].wall_time, 100.0);
  EXPECT_EQ(got[1].tag, "train/lr");
  EXPECT_EQ(got[1].value, static_cast<double>(1e-3f));  // stored as float
  EXPECT_EQ(got[2].step, 2);
  EXPECT_EQ(got[2].wall_time, 101.5);
  EXPECT_EQ(got[3].tag, "eval/wer");
  EXPECT_EQ(got[3].step, -5);
  EXPECT_EQ(got[3].value, static_cast<double>(0.3f));
}

TEST(TensorBoardWriter, DefaultWallTimeIsNow) {
  const double before =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  TensorBoardWriter w(fresh_dir("tb_now"));
  w.add_scalar("x", 1, 0);
  w.flush();
  const std::vector<ScalarEvent> got = read_tensorboard_scalars(w.path());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_GE(got[0].wall_time, before - 1);
  EXPECT_LE(got[0].wall_time, before + 60);
}

TEST(TensorBoardWriter, NonFiniteValuesSurvive) {
  TensorBoardWriter w(fresh_dir("tb_nan"));
  w.add_scalar("nan", std::nan(""), 1, 1);
  w.add_scalar("inf", std::numeric_limits<double>::infinity(), 1, 1);
  w.flush();
  const std::vector<ScalarEvent> got = read_tensorboard_scalars(w.path());
  ASSERT_EQ(got.size(), 2u);
  EXPECT_TRUE(std::isnan(got[0].value));
  EXPECT_TRUE(std::isinf(got[1].value));
}

TEST(TensorBoardWriter, SecondWriterInSameDirectoryGetsItsOwnFile) {
  const std::string dir = fresh_dir("tb_two");
  TensorBoardWriter a(dir);
  TensorBoardWriter b(dir);
  EXPECT_NE(a.path(), b.path());
  a.add_scalar("a", 1, 1, 1);
  b.add_scalar("b", 2, 1, 1);
  a.flush();
  b.flush();
  ASSERT_EQ(read_tensorboard_scalars(a.path()).size(), 1u);
  EXPECT_EQ(read_tensorboard_scalars(b.path())[0].tag, "b");
}

TEST(TensorBoardWriter, UncreatableDirectoryIsNamed) {
  const std::string file = test::temp_path("tb_not_a_dir");
  write_bytes(file, "x");
  EXPECT_ASR_ERROR(TensorBoardWriter(file + "/run"), file + "/run");
}

TEST(TensorBoardWriter, EmptyTagIsRejected) {
  TensorBoardWriter w(fresh_dir("tb_empty_tag"));
  EXPECT_ASR_ERROR(w.add_scalar("", 1, 3), "empty scalar tag at step 3");
}

class TensorBoardCorruption : public ::testing::Test {
 protected:
  void SetUp() override {
    TensorBoardWriter w(fresh_dir("tb_corrupt"));
    w.add_scalar("loss", 1, 1, 1);
    w.add_scalar("loss", 2, 2, 2);
    w.flush();
    path_ = w.path();
    bytes_ = read_bytes(path_);
  }
  std::string path_, bytes_;
};

TEST_F(TensorBoardCorruption, PayloadCrcMismatchNamesOffset) {
  bytes_[bytes_.size() - 10] ^= 0x01;  // inside the last record's payload
  write_bytes(path_, bytes_);
  // Records: 42 bytes (file_version), 42 bytes (first scalar), then the corrupted one.
  EXPECT_ASR_ERROR(read_tensorboard_scalars(path_), path_ + ": byte 84: record payload CRC mismatch");
}

TEST_F(TensorBoardCorruption, LengthCrcMismatchIsDetected) {
  bytes_[42 + 9] ^= 0x40;  // the second record's length CRC
  write_bytes(path_, bytes_);
  EXPECT_ASR_ERROR(read_tensorboard_scalars(path_), "byte 42: record length CRC mismatch");
}

TEST_F(TensorBoardCorruption, TruncatedFileIsDetected) {
  write_bytes(path_, bytes_.substr(0, bytes_.size() - 3));
  EXPECT_ASR_ERROR(read_tensorboard_scalars(path_), "byte 84: record of 26 bytes runs past the end");
  write_bytes(path_, bytes_.substr(0, 90));
  EXPECT_ASR_ERROR(read_tensorboard_scalars(path_), "byte 84: truncated record header");
}

TEST(ReadTensorBoardScalars, MissingFileIsNamed) {
  const std::string path = test::temp_path("tb_missing/events.out.tfevents.0.x");
  EXPECT_ASR_ERROR(read_tensorboard_scalars(path), path + ": cannot open");
}

// ---- JSON lines ------------------------------------------------------------------------------

std::vector<nlohmann::json> read_json_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

TEST(JsonLinesWriter, WritesOneObjectPerLineAndAppends) {
  const std::string path = fresh_dir("jsonl") + "/logs/metrics.jsonl";
  {
    JsonLinesWriter w(path);
    w.write(10, {{"loss", 1.5}, {"lr", 0.001}}, {{"phase", "train"}});
  }
  {
    JsonLinesWriter resumed(path);  // a resumed run continues the file
    resumed.write(20, {{"wer", 0.25}});
  }
  const std::vector<nlohmann::json> lines = read_json_lines(path);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["step"], 10);
  EXPECT_EQ(lines[0]["loss"], 1.5);
  EXPECT_EQ(lines[0]["lr"], 0.001);
  EXPECT_EQ(lines[0]["phase"], "train");
  EXPECT_TRUE(lines[0]["time"].is_number_float());
  EXPECT_GT(lines[0]["time"].get<double>(), 1.6e9);
  EXPECT_EQ(lines[1]["step"], 20);
  EXPECT_EQ(lines[1]["wer"], 0.25);
}

TEST(JsonLinesWriter, NonFiniteValuesBecomeNull) {
  const std::string path = fresh_dir("jsonl_nan") + ".jsonl";
  fs::remove(path);
  JsonLinesWriter w(path);
  w.write(1, {{"nan", std::nan("")},
              {"inf", std::numeric_limits<double>::infinity()},
              {"ninf", -std::numeric_limits<double>::infinity()},
              {"ok", 2.0}});
  const std::vector<nlohmann::json> lines = read_json_lines(path);  // parse() throws on NaN
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_TRUE(lines[0]["nan"].is_null());
  EXPECT_TRUE(lines[0]["inf"].is_null());
  EXPECT_TRUE(lines[0]["ninf"].is_null());
  EXPECT_EQ(lines[0]["ok"], 2.0);
}

TEST(JsonLinesWriter, ReservedOrDuplicateKeysAreRejected) {
  const std::string path = fresh_dir("jsonl_dup") + ".jsonl";
  JsonLinesWriter w(path);
  EXPECT_ASR_ERROR(w.write(3, {{"step", 1.0}}), "metric key \"step\" given twice at step 3");
  EXPECT_ASR_ERROR(w.write(4, {{"loss", 1.0}}, {{"loss", "x"}}), "\"loss\" given twice");
}

TEST(JsonLinesWriter, UnopenablePathIsNamed) {
  const std::string file = test::temp_path("jsonl_not_a_dir");
  write_bytes(file, "x");
  EXPECT_ASR_ERROR(JsonLinesWriter(file + "/m.jsonl"), file + "/m.jsonl");
}

// ---- console progress -----------------------------------------------------------------------

TEST(FormatHms, HoursMinutesSeconds) {
  EXPECT_EQ(format_hms(0), "0:00:00");
  EXPECT_EQ(format_hms(62), "0:01:02");
  EXPECT_EQ(format_hms(59.6), "0:01:00");  // rounded to the nearest second
  EXPECT_EQ(format_hms(3 * 3600 + 25 * 60 + 7), "3:25:07");
  EXPECT_EQ(format_hms(27 * 3600 + 5), "27:00:05");
  EXPECT_EQ(format_hms(-1), "-:--:--");
  EXPECT_EQ(format_hms(std::nan("")), "-:--:--");
  EXPECT_EQ(format_hms(std::numeric_limits<double>::infinity()), "-:--:--");
}

TEST(FormatProgress, MatchesDocumentedLine) {
  EXPECT_EQ(format_progress(120, 300, 1.234, 1e-3, 85.24, 62),
            "step 120/300 | loss 1.234 | lr 1.0e-03 | 85.2 audio-s/s | ETA 0:01:02");
  EXPECT_EQ(format_progress(5, 0, 0.0123456, 2.5e-4, 0, -1),
            "step 5 | loss 0.01235 | lr 2.5e-04 | 0.0 audio-s/s | ETA -:--:--");
  EXPECT_THAT(format_progress(1, 10, std::nan(""), 1, 1, 1), HasSubstr("loss nan"));
}

TEST(ProgressPrinter, NeverModePrintsOnlyPlainLines) {
  ProgressPrinter p("never", 10);
  EXPECT_FALSE(p.interactive());
  testing::internal::CaptureStderr();
  p.update(1, 2.0, 1e-3, 50);
  p.line("epoch 1 done");
  p.update(2, 1.5, 1e-3, 50);
  p.finish();
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "epoch 1 done\n");
  EXPECT_THAT(p.last_status(), StartsWith("step 2/10 | loss 1.5 | lr 1.0e-03 | 50.0 audio-s/s"));
}

TEST(ProgressPrinter, AutoModeIsPlainWhenStderrIsNotATerminal) {
  testing::internal::CaptureStderr();  // stderr is now a file: not a TTY
  ProgressPrinter p("auto", 10);
  p.update(1, 2.0, 1e-3, 50);
  p.line("plain");
  const std::string out = testing::internal::GetCapturedStderr();
  EXPECT_FALSE(p.interactive());
  EXPECT_EQ(out, "plain\n");
}

TEST(ProgressPrinter, AlwaysModeRedrawsOneLine) {
  ProgressPrinter p("always", 3);
  EXPECT_TRUE(p.interactive());
  testing::internal::CaptureStderr();
  p.update(1, 2.0, 1e-3, 50);
  p.update(2, 1.5, 1e-3, 50);  // one step left at microseconds per step
  p.line("eval wer 0.3");
  p.update(3, 1.25, 1e-3, 50);
  p.finish();
  p.finish();  // a second finish adds nothing
  const std::string out = testing::internal::GetCapturedStderr();
  const std::string clear = "\r\x1b[K";
  EXPECT_EQ(out,
            clear + "step 1/3 | loss 2 | lr 1.0e-03 | 50.0 audio-s/s | ETA -:--:--" +  //
            clear + "step 2/3 | loss 1.5 | lr 1.0e-03 | 50.0 audio-s/s | ETA 0:00:00" +
            clear + "eval wer 0.3\n" +  //
            clear + "step 3/3 | loss 1.25 | lr 1.0e-03 | 50.0 audio-s/s | ETA 0:00:00\n");
}

TEST(ProgressPrinter, EtaUsesRateSinceFirstUpdate) {
  ProgressPrinter p("never", 1000);
  p.update(1, 1, 1, 1);  // the time origin
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  p.update(2, 1, 1, 1);  // ~0.1 s per step, 998 steps left: ~100 s
  const std::string status = p.last_status();
  const std::string eta = status.substr(status.rfind("ETA ") + 4);
  ASSERT_EQ(eta.size(), 7u) << status;
  const int seconds = std::stoi(eta.substr(2, 2)) * 60 + std::stoi(eta.substr(5, 2));
  EXPECT_GE(seconds, 95) << status;
  EXPECT_LE(seconds, 200) << status;  // generous: a loaded CI machine sleeps longer
}

TEST(ProgressPrinter, UnknownModeIsRejected) {
  EXPECT_ASR_ERROR(ProgressPrinter("sometimes", 10), "auto, always or never, got \"sometimes\"");
}

}  // namespace
}  // namespace asr::train
