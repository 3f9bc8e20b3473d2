// TensorBoard event-file writer: each scalar is one Event{wall_time, step, Summary{Value{tag,
// simple_value}}} record in TFRecord framing, encoded by hand (no protobuf dependency).
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "asr/core/error.h"
#include "asr/train/metrics_log.h"
#include "protobuf_wire.h"
#include "tensorboard_proto.h"

namespace asr::train {
namespace {

namespace fs = std::filesystem;

double unix_seconds_now() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

// Opens DIR/events.out.tfevents.<seconds>.<host>, adding ".1", ".2", ... when a writer created in
// the same second (a quick restart) already took that name: never overwrite an earlier run's log.
std::FILE* create_event_file(const std::string& dir, std::string& path) {
  const std::string base = str_cat(dir, "/events.out.tfevents.",
                                   static_cast<int64_t>(unix_seconds_now()), ".", host_name());
  for (int suffix = 0; suffix < 1000; ++suffix) {
    path = suffix == 0 ? base : str_cat(base, ".", suffix);
    std::FILE* f = std::fopen(path.c_str(), "wbx");  // "x": fail if it exists (C11 / glibc)
    if (f) return f;
    if (errno != EEXIST)
      throw Error(str_cat(path, ": cannot create TensorBoard event file (", std::strerror(errno), ")"));
  }
  throw Error(str_cat(base, ": cannot create TensorBoard event file (1000 names taken)"));
}

std::string event_header(double wall_time, int64_t step) {
  std::string event;
  wire::put_double(event, tb::kEventWallTime, wall_time);
  wire::put_int64(event, tb::kEventStep, step);
  return event;
}

}  // namespace

TensorBoardWriter::TensorBoardWriter(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(str_cat(dir, ": cannot create TensorBoard log directory (", ec.message(), ")"));
  file_ = create_event_file(dir, path_);
  std::string event = event_header(unix_seconds_now(), 0);
  wire::put_bytes(event, tb::kEventFileVersion, tb::kFileVersion);
  write_record(event);
  flush();
}

TensorBoardWriter::~TensorBoardWriter() {
  if (file_) std::fclose(file_);  // errors here have nowhere to go; flush() reports them
}

void TensorBoardWriter::add_scalar(const std::string& tag, double value, int64_t step,
                                   double wall_time) {
  ASR_CHECK(!tag.empty(), "TensorBoardWriter", path_, ": empty scalar tag at step ", step);
  std::string summary_value;
  wire::put_bytes(summary_value, tb::kValueTag, tag);
  wire::put_float(summary_value, tb::kValueSimpleValue, static_cast<float>(value));
  std::string summary;
  wire::put_bytes(summary, tb::kSummaryValue, summary_value);
  std::string event = event_header(wall_time < 0 ? unix_seconds_now() : wall_time, step);
  wire::put_bytes(event, tb::kEventSummary, summary);
  write_record(event);
}

void TensorBoardWriter::flush() {
  if (std::fflush(file_) != 0)
    throw Error(str_cat(path_, ": cannot write TensorBoard event file (", std::strerror(errno), ")"));
}

void TensorBoardWriter::write_record(const std::string& payload) {
  std::string header;
  wire::put_le(header, payload.size(), tb::kLengthBytes);
  wire::put_le(header, masked_crc32c(header.data(), header.size()), tb::kCrcBytes);
  std::string footer;
  wire::put_le(footer, masked_crc32c(payload.data(), payload.size()), tb::kCrcBytes);
  const bool ok = std::fwrite(header.data(), 1, header.size(), file_) == header.size() &&
                  std::fwrite(payload.data(), 1, payload.size(), file_) == payload.size() &&
                  std::fwrite(footer.data(), 1, footer.size(), file_) == footer.size();
  if (!ok)
    throw Error(str_cat(path_, ": cannot write TensorBoard event file (", std::strerror(errno), ")"));
}

}  // namespace asr::train
