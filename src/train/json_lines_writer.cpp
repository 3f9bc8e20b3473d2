// Metrics as JSON lines. JSON has no NaN/Infinity, so a non-finite value is written as null
// (nlohmann::json's own rule), keeping every line parseable by any JSON reader.
#include <chrono>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "asr/core/error.h"
#include "asr/train/metrics_log.h"

namespace asr::train {

JsonLinesWriter::JsonLinesWriter(const std::string& path) : path_(path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) throw Error(str_cat(path, ": cannot create folder for metrics log (", ec.message(), ")"));
  out_.open(path, std::ios::app);  // a resumed run continues the same file
  if (!out_) throw Error(str_cat(path, ": cannot open metrics log for appending"));
}

void JsonLinesWriter::write(int64_t step, const std::map<std::string, double>& values,
                            const std::map<std::string, std::string>& text) {
  nlohmann::json line;
  line["step"] = step;
  line["time"] = std::chrono::duration<double>(
                     std::chrono::system_clock::now().time_since_epoch()).count();
  auto claim = [&](const std::string& key) {
    ASR_CHECK(!line.contains(key), "JsonLinesWriter", path_, ": metric key \"", key,
              "\" given twice at step ", step, " (\"step\" and \"time\" are reserved)");
  };
  for (const auto& [key, value] : values) {
    claim(key);
    line[key] = std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr);
  }
  for (const auto& [key, value] : text) {
    claim(key);
    line[key] = value;
  }
  // Invalid UTF-8 in text is replaced rather than thrown on: a log line must not stop training.
  out_ << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  out_.flush();
  if (!out_) throw Error(str_cat(path_, ": cannot write metrics log"));
}

}  // namespace asr::train
