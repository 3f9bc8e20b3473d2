// Console progress: one redrawn line on a terminal, plain lines in logs (a \r-redrawn line in a
// Slurm log file would be unreadable).
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>

#include "asr/core/error.h"
#include "asr/train/metrics_log.h"

namespace asr::train {
namespace {

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Carriage return + ANSI "erase to end of line": the next text starts on a clean line.
constexpr const char* kClearLine = "\r\x1b[K";

}  // namespace

std::string format_hms(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "-:--:--";
  const int64_t s = static_cast<int64_t>(std::llround(seconds));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  return buf;
}

std::string format_progress(int64_t step, int64_t total_steps, double loss, double lr,
                            double audio_seconds_per_second, double eta_seconds) {
  char buf[256];
  const std::string steps = total_steps > 0 ? str_cat(step, "/", total_steps) : str_cat(step);
  std::snprintf(buf, sizeof buf, "step %s | loss %.4g | lr %.1e | %.1f audio-s/s | ETA %s",
                steps.c_str(), loss, lr, audio_seconds_per_second, format_hms(eta_seconds).c_str());
  return buf;
}

ProgressPrinter::ProgressPrinter(const std::string& mode, int64_t total_steps)
    : total_(total_steps) {
  if (mode == "auto") {
    interactive_ = isatty(fileno(stderr)) != 0;
  } else if (mode == "always") {
    interactive_ = true;
  } else if (mode == "never") {
    interactive_ = false;
  } else {
    throw Error(str_cat("progress: mode must be auto, always or never, got \"", mode, "\""));
  }
}

void ProgressPrinter::update(int64_t step, double loss, double lr,
                             double audio_seconds_per_second) {
  // The first update is the time origin: its step may include one-off warm-up (allocation,
  // first batches), and a resumed run starts counting at its own first step.
  const double now = steady_seconds();
  if (first_step_ < 0) {
    first_step_ = step;
    start_ = now;
  }
  double eta = -1;  // unknown until two updates give a rate
  const int64_t done = step - first_step_;
  if (done > 0 && total_ > 0 && now > start_) eta = (total_ - step) * (now - start_) / done;
  last_status_ = format_progress(step, total_, loss, lr, audio_seconds_per_second, eta);
  if (!interactive_) return;
  std::fprintf(stderr, "%s%s", kClearLine, last_status_.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressPrinter::line(const std::string& text) {
  if (drawn_) std::fputs(kClearLine, stderr);
  drawn_ = false;
  std::fprintf(stderr, "%s\n", text.c_str());
  std::fflush(stderr);
}

void ProgressPrinter::finish() {
  if (drawn_) std::fputc('\n', stderr);
  drawn_ = false;
  std::fflush(stderr);
}

}  // namespace asr::train
