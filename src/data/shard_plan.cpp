// plan_shards: manifest lines -> checked utterances -> shards of bounded estimated size.
#include "asr/data/shard_plan.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "asr/core/error.h"
#include "asr/io/manifest.h"
#include "asr/text/tokenizer.h"
#include "asr/text/unicode.h"
#include "hash64.h"

namespace asr::data {
namespace {

struct ReasonName {
  SkipReason reason;
  const char* text;
  const char* key;
};
constexpr ReasonName kReasons[kNumSkipReasons] = {
    {SkipReason::JsonSyntax, "JSON syntax error", "json_syntax"},
    {SkipReason::MissingField, "missing or invalid field", "missing_field"},
    {SkipReason::AudioMissing, "missing or unreadable audio", "audio_missing"},
    {SkipReason::AudioCorrupt, "corrupt audio", "audio_corrupt"},
    {SkipReason::AudioEmpty, "empty audio", "audio_empty"},
    {SkipReason::DurationRange, "duration outside --min/--max-duration", "duration_range"},
    {SkipReason::EmptyTranscript, "empty transcript", "empty_transcript"},
    {SkipReason::CtcInfeasible, "transcript longer than the encoder output (CTC)", "ctc_infeasible"},
    {SkipReason::UnknownChars, "kept: transcript characters map to <unk>", "unknown_chars"},
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(str_cat(path, ": cannot open manifest"));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error(str_cat(path, ": cannot read manifest"));
  return ss.str();
}

// "path:1: what" (parse_manifest's form for a one-line text) -> "what".
std::string strip_where(const std::string& msg, const std::string& where) {
  return msg.compare(0, where.size() + 2, where + ": ") == 0 ? msg.substr(where.size() + 2) : msg;
}

std::string shorten(std::string s, size_t n = 120) {
  if (s.size() > n) s = s.substr(0, n) + "...";
  return s;
}

// The distinct characters of `text` that the tokenizer can only spell as <unk>.
std::string unknown_characters(const std::string& text, const text::Tokenizer& tok) {
  std::set<char32_t> seen;
  std::string out;
  for (char32_t cp : text::utf8_decode(text)) {
    if (text::is_space(cp) || !seen.insert(cp).second) continue;
    const auto ids = tok.encode(text::utf8_encode(cp));
    if (std::find(ids.begin(), ids.end(), tok.unk_id()) == ids.end()) continue;
    if (!out.empty()) out += ' ';
    out += "'" + text::utf8_encode(cp) + "'";
  }
  return out;
}

std::string exact(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

void finish_shard(PlannedShard& s, const std::string& dtype) {
  detail::Hash64 h;
  h.update("dtype=" + dtype + ";");
  for (const auto& u : s.items) {
    h.update(u.audio_path + '\0' + exact(u.offset) + ';' + exact(u.duration) + ';' + u.text + '\0');
    h.update(u.tokens.data(), u.tokens.size() * sizeof(int32_t));
    h.update(";", 1);
  }
  s.source_fingerprint = detail::format_digest(h.digest());
}

}  // namespace

const char* skip_reason_text(SkipReason r) { return kReasons[static_cast<int>(r)].text; }
const char* skip_reason_key(SkipReason r) { return kReasons[static_cast<int>(r)].key; }
SkipReason skip_reason_from_key(const std::string& key) {
  for (const auto& r : kReasons)
    if (key == r.key) return r.reason;
  throw Error(str_cat("unknown skip reason '", key, "'"));
}

std::string shard_file_name(int64_t index) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "shard-%05lld.h5", static_cast<long long>(index));
  return buf;
}

int64_t parse_byte_size(const std::string& text) {
  size_t pos = 0;
  double value = 0;
  try {
    value = std::stod(text, &pos);
  } catch (const std::exception&) {
    throw Error(str_cat("size '", text, "' is not a number with an optional unit (e.g. 512MiB)"));
  }
  std::string unit = text.substr(pos);
  unit.erase(0, unit.find_first_not_of(' '));
  std::string u;
  for (char c : unit) u += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  double mult = 0;
  if (u.empty() || u == "b") mult = 1;
  else if (u == "k" || u == "kib") mult = 1024.0;
  else if (u == "m" || u == "mib") mult = 1024.0 * 1024;
  else if (u == "g" || u == "gib") mult = 1024.0 * 1024 * 1024;
  else if (u == "kb") mult = 1e3;
  else if (u == "mb") mult = 1e6;
  else if (u == "gb") mult = 1e9;
  if (mult == 0 || !(value > 0) || !std::isfinite(value * mult) || value * mult > 9e18)
    throw Error(str_cat("size '", text, "' must be a positive number of bytes with an optional unit "
                        "(B, KiB, MiB, GiB, KB, MB, GB)"));
  return std::max<int64_t>(1, static_cast<int64_t>(value * mult));
}

ShardPlan plan_shards(const std::vector<std::string>& manifests, const text::Tokenizer& tokenizer,
                      const io::PreprocessorConfig& pre, const ShardPlanOptions& opt) {
  if (opt.feature_dtype != "f16" && opt.feature_dtype != "f32")
    throw Error(str_cat("shard: feature dtype must be f16 or f32, got '", opt.feature_dtype, "'"));
  const double elem = opt.feature_dtype == "f16" ? 2 : 4;
  const double frames_per_second = static_cast<double>(pre.sample_rate) / static_cast<double>(pre.hop_length());

  ShardPlan plan;
  PlannedShard current;
  auto close_current = [&] {
    if (current.items.empty()) return;
    current.file = shard_file_name(static_cast<int64_t>(plan.shards.size()));
    finish_shard(current, opt.feature_dtype);
    plan.shards.push_back(std::move(current));
    current = PlannedShard();
  };

  for (const std::string& manifest : manifests) {
    std::istringstream in(read_file(manifest));
    std::string line;
    int64_t line_no = 0;
    while (std::getline(in, line)) {
      ++line_no;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.find_first_not_of(" \t") == std::string::npos) continue;
      ++plan.manifest_items;
      const std::string where = str_cat(manifest, ":", line_no);
      auto skip = [&](SkipReason r, const std::string& detail) { plan.skipped.push_back({r, where, detail}); };

      nlohmann::json item;
      try {
        item = nlohmann::json::parse(line);
      } catch (const nlohmann::json::exception& e) {
        std::string what = e.what();
        const size_t cut = what.find("] ");
        skip(SkipReason::JsonSyntax, shorten(cut == std::string::npos ? what : what.substr(cut + 2)));
        continue;
      }
      if (!item.is_object()) {
        skip(SkipReason::JsonSyntax, "not a JSON object");
        continue;
      }
      io::ManifestEntry e;
      try {
        // One line at a time through the project's manifest reader: same fields, same paths.
        auto entries = io::parse_manifest(line, manifest);
        e = std::move(entries.at(0));
      } catch (const Error& err) {
        skip(SkipReason::MissingField, strip_where(err.what(), manifest + ":1"));
        continue;
      }
      if (!e.has_text) {
        skip(SkipReason::MissingField, "missing \"text\"");
        continue;
      }
      if (!(e.duration > 0)) {
        skip(SkipReason::MissingField, "\"duration\" must be a positive number of seconds");
        continue;
      }
      if (e.duration < opt.min_duration || e.duration > opt.max_duration) {
        skip(SkipReason::DurationRange, str_cat(e.duration, " s"));
        continue;
      }
      const auto words = text::split_words(e.text);
      std::vector<int64_t> ids = words.empty() ? std::vector<int64_t>{} : tokenizer.encode(e.text);
      if (ids.empty()) {
        skip(SkipReason::EmptyTranscript, "");
        continue;
      }
      if (std::find(ids.begin(), ids.end(), tokenizer.unk_id()) != ids.end())
        plan.kept_with_unknown.push_back({SkipReason::UnknownChars, where, unknown_characters(e.text, tokenizer)});

      PlannedUtterance u;
      u.where = where;
      u.audio_path = e.audio_filepath;
      u.offset = e.offset;
      u.duration = e.duration;
      u.text = e.text;
      u.tokens.assign(ids.begin(), ids.end());
      const double frames = std::floor(e.duration * frames_per_second) + 1;
      const int64_t bytes = static_cast<int64_t>(frames * static_cast<double>(pre.features) * elem) +
                            static_cast<int64_t>(u.tokens.size() * 4 + 5 * 8 + 2 * 16 + u.text.size() +
                                                 u.audio_path.size());
      if (!current.items.empty() && current.estimated_bytes + bytes > opt.max_shard_bytes) close_current();
      current.estimated_bytes += bytes;
      plan.utterances += 1;
      plan.duration += e.duration;
      current.items.push_back(std::move(u));
    }
  }
  close_current();
  return plan;
}

}  // namespace asr::data
