// NeMo JSON-lines manifests (nlohmann::json), with NeMo's relative-path resolution.
#include "asr/io/manifest.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "asr/core/error.h"

namespace asr::io {
namespace {

namespace fs = std::filesystem;

std::string expand_user(const std::string& p) {
  if (p.empty() || p[0] != '~' || (p.size() > 1 && p[1] != '/')) return p;
  const char* home = std::getenv("HOME");
  return home ? std::string(home) + p.substr(1) : p;
}

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

// nemo/collections/common/parts/preprocessing/manifest.py::get_full_path (255-character limit
// on relative paths included).
std::string resolve_audio_path(const std::string& audio, const std::string& manifest_path) {
  const std::string expanded = expand_user(audio);
  const fs::path p(expanded);
  if (expanded.size() >= 255 || p.is_absolute() || is_file(p)) return expanded;
  const fs::path candidate = fs::path(manifest_path).parent_path() / p;
  return is_file(candidate) ? candidate.string() : expanded;
}

double number_field(const nlohmann::json& item, const char* key, const std::string& where) {
  const auto& v = item.at(key);
  if (v.is_null()) return 0.0;
  if (!v.is_number()) throw Error(str_cat(where, ": \"", key, "\" must be a number, got ", v.dump()));
  const double d = v.get<double>();
  if (!(d >= 0.0)) throw Error(str_cat(where, ": \"", key, "\" must not be negative, got ", v.dump()));
  return d;
}

}  // namespace

std::vector<ManifestEntry> parse_manifest(const std::string& text, const std::string& path) {
  std::vector<ManifestEntry> entries;
  std::istringstream in(text);
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const std::string where = str_cat(path, ":", line_no);
    nlohmann::json item;
    try {
      item = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      throw Error(str_cat(where, ": not a JSON object (", e.what(), ")"));
    }
    if (!item.is_object()) throw Error(str_cat(where, ": not a JSON object"));

    ManifestEntry e;
    e.line = line_no;
    e.json = line;
    const char* audio_key = item.contains("audio_filepath") ? "audio_filepath"
                            : item.contains("audio_filename") ? "audio_filename" : nullptr;
    if (!audio_key) throw Error(str_cat(where, ": missing \"audio_filepath\""));
    if (!item[audio_key].is_string() || item[audio_key].get<std::string>().empty())
      throw Error(str_cat(where, ": \"", audio_key, "\" must be a non-empty string"));
    e.audio_filepath = resolve_audio_path(item[audio_key].get<std::string>(), path);
    if (!item.contains("duration")) throw Error(str_cat(where, ": missing \"duration\""));
    e.duration = number_field(item, "duration", where);
    if (item.contains("offset")) e.offset = number_field(item, "offset", where);
    const char* text_key = item.contains("text") ? "text"
                           : item.contains("normalized_text") ? "normalized_text" : nullptr;
    if (text_key) {
      if (!item[text_key].is_string())
        throw Error(str_cat(where, ": \"", text_key, "\" must be a string"));
      e.text = item[text_key].get<std::string>();
      e.has_text = true;
    }
    entries.push_back(std::move(e));
  }
  return entries;
}

std::vector<ManifestEntry> read_manifest(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(str_cat(path, ": cannot open manifest"));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error(str_cat(path, ": cannot read manifest"));
  return parse_manifest(ss.str(), path);
}

}  // namespace asr::io
