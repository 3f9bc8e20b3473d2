#pragma once
// Where a training run's numbers go: a progress line on a TTY (plain lines otherwise), metrics as
// JSON lines, and TensorBoard event files (TFRecord framing with masked CRC32C, hand-encoded
// Event/Summary protobufs) that `tensorboard --logdir RUN/tensorboard` reads.
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace asr::train {

// CRC32C (Castagnoli) and TFRecord's masked form: ((crc >> 15) | (crc << 17)) + 0xa282ead8.
uint32_t crc32c(const void* data, size_t n, uint32_t crc = 0);
uint32_t masked_crc32c(const void* data, size_t n);

// Appends scalar summaries to DIR/events.out.tfevents.<unix seconds>.<hostname> (".1", ".2", ...
// appended when that name exists: an earlier run's file is never overwritten). The first record
// is the file_version event ("brain.Event:2"). Each add_scalar writes one record (the value is
// stored as a float, simple_value); flush() makes it visible to a reader (called by the trainer at
// every log line). wall_time < 0 means now.
class TensorBoardWriter {
 public:
  explicit TensorBoardWriter(const std::string& dir);  // creates DIR; throws asr::Error naming it
  ~TensorBoardWriter();
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;
  void add_scalar(const std::string& tag, double value, int64_t step, double wall_time = -1);
  void flush();
  const std::string& path() const { return path_; }

 private:
  void write_record(const std::string& payload);
  std::string path_;
  std::FILE* file_ = nullptr;
};

// Reads back every scalar of an event file (tests, and `asr-adapt` tooling): {tag, step, value}
// in file order; a bad length or CRC throws asr::Error naming the file and byte offset.
struct ScalarEvent {
  std::string tag;
  int64_t step = 0;
  double value = 0;
  double wall_time = 0;
};
std::vector<ScalarEvent> read_tensorboard_scalars(const std::string& path);

// One JSON object per line: {"step": N, "time": unix_seconds, <key>: <value>, ...}, flushed per
// line, appended (a resumed run continues the same file; the parent folder is created). JSON has
// no NaN/Infinity: a non-finite value is written as null. A key given twice (or "step"/"time")
// throws asr::Error.
class JsonLinesWriter {
 public:
  explicit JsonLinesWriter(const std::string& path);
  void write(int64_t step, const std::map<std::string, double>& values,
             const std::map<std::string, std::string>& text = {});

 private:
  std::string path_;
  std::ofstream out_;
};

// "h:mm:ss" (hours unbounded), or "-:--:--" for a negative or non-finite time (ETA unknown).
std::string format_hms(double seconds);
// The progress line without control characters, e.g.
// "step 120/300 | loss 1.234 | lr 1.0e-03 | 85.2 audio-s/s | ETA 0:01:02" ("step 120" when
// total_steps <= 0; eta_seconds < 0 shows "-:--:--").
std::string format_progress(int64_t step, int64_t total_steps, double loss, double lr,
                            double audio_seconds_per_second, double eta_seconds);

// The console side. On a TTY (or mode "always") update() redraws one line with \r:
// "step 120/300 | loss 1.234 | lr 1.0e-03 | 85.2 audio-s/s | ETA 0:01:02"; otherwise (or mode
// "never") only line() prints, one plain line per call. Both go to stderr.
class ProgressPrinter {
 public:
  ProgressPrinter(const std::string& mode, int64_t total_steps);  // mode: auto | always | never
  // Current step (1-based), smoothed loss, lr, throughput. The ETA is the remaining steps at the
  // mean rate since the first update() (unknown, "-:--:--", until a second update). A mode other
  // than auto/always/never throws asr::Error. On a TTY the line is redrawn with "\r\x1b[K".
  void update(int64_t step, double loss, double lr, double audio_seconds_per_second);
  void line(const std::string& text);  // clears the progress line first, then prints text + \n
  void finish();                       // ends the progress line
  bool interactive() const { return interactive_; }
  // The line the last update() formatted (also when not interactive), for the caller's plain
  // log lines; empty before the first update().
  const std::string& last_status() const { return last_status_; }

 private:
  bool interactive_ = false;
  bool drawn_ = false;
  int64_t total_ = 0;
  int64_t first_step_ = -1;
  double start_ = 0;
  std::string last_status_;
};

}  // namespace asr::train
