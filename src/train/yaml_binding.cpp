#include "yaml_binding.h"

#include <algorithm>
#include <cmath>

#include "asr/core/error.h"

namespace asr::train::yaml_binding {

namespace {

// `prefix` equals `path` or is one of its dotted ancestors.
bool is_path_prefix(const std::string& prefix, const std::string& path) {
  if (path.compare(0, prefix.size(), prefix) != 0) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '.';
}

// Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps
// each cost 1 ("warmup_stpes" is one edit from "warmup_steps").
size_t edit_distance(const std::string& a, const std::string& b) {
  const size_t n = a.size(), m = b.size();
  std::vector<std::vector<size_t>> d(n + 1, std::vector<size_t>(m + 1, 0));
  for (size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (size_t i = 1; i <= n; ++i)
    for (size_t j = 1; j <= m; ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[n][m];
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// node[key] as a node that is always safe to inspect: yaml-cpp returns an "invalid" node for a
// missing key, which throws on IsNull()/IsMap()/Mark() and on further lookups.
YAML::Node lookup(const YAML::Node& map, const std::string& key) {
  if (map.IsDefined() && map.IsMap()) {
    const YAML::Node& self = map;  // const: a lookup must not insert the key
    YAML::Node found = self[key];
    if (found.IsDefined()) return found;
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

}  // namespace

void Origins::set_by_override(const std::string& path, const std::string& text) {
  overrides_.emplace_back(path, text);
}

std::string Origins::where(const std::string& path, const YAML::Node& node,
                           const std::string& fallback) const {
  for (auto it = overrides_.rbegin(); it != overrides_.rend(); ++it)
    if (is_path_prefix(it->first, path)) return str_cat(source_, ": override '", it->second, "'");
  if (node.IsDefined() && !node.Mark().is_null()) return str_cat(source_, ":", node.Mark().line + 1);
  return fallback;
}

void fail(const std::string& where, const std::string& path, const std::string& what) {
  throw Error(str_cat(where, ": ", path.empty() ? "(top level)" : path, ": ", what));
}

std::string closest_key(const std::string& key, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = 0;
  for (const auto& c : candidates) {
    const size_t d = edit_distance(lower(key), lower(c));
    if (best.empty() || d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  // A plausible typo changes at most about a third of the word (and at least one character).
  const size_t allowed = std::max<size_t>(1, std::min(key.size(), best.size()) / 3);
  return !best.empty() && best_distance <= allowed ? best : std::string();
}

std::string join_path(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

std::string describe(const YAML::Node& node) {
  if (!node.IsDefined()) return "nothing";
  if (node.IsNull()) return "null";
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  return "'" + node.Scalar() + "'";
}

bool decode_scalar(const YAML::Node& node, int64_t& out) {
  if (!node.IsScalar()) return false;
  try {
    out = node.as<int64_t>();
    return true;
  } catch (const YAML::Exception&) {
    return false;
  }
}

bool decode_scalar(const YAML::Node& node, uint64_t& out) {
  if (!node.IsScalar() || node.Scalar().empty() || node.Scalar()[0] == '-') return false;
  try {
    out = node.as<uint64_t>();
    return true;
  } catch (const YAML::Exception&) {
    return false;
  }
}

bool decode_scalar(const YAML::Node& node, double& out) {
  if (!node.IsScalar()) return false;
  try {
    const double v = node.as<double>();
    if (!std::isfinite(v)) return false;
    out = v;
    return true;
  } catch (const YAML::Exception&) {
    return false;
  }
}

bool decode_scalar(const YAML::Node& node, bool& out) {
  if (!node.IsScalar()) return false;
  try {
    out = node.as<bool>();
    return true;
  } catch (const YAML::Exception&) {
    return false;
  }
}

bool decode_scalar(const YAML::Node& node, std::string& out) {
  if (!node.IsScalar()) return false;
  out = node.Scalar();
  return true;
}

MapReader::MapReader(const YAML::Node& node, std::string path, const Origins& origins,
                     std::string where)
    : node_(node), path_(std::move(path)), origins_(origins), where_(std::move(where)) {
  if (node_.IsDefined() && !node_.IsNull() && !node_.IsMap()) type_error(node_, path_, "a mapping");
}

YAML::Node MapReader::key_node(const std::string& key) const {
  if (node_.IsDefined() && node_.IsMap())
    for (const auto& kv : node_)
      if (kv.first.IsScalar() && kv.first.Scalar() == key) return kv.first;
  return YAML::Node(YAML::NodeType::Undefined);
}

std::string MapReader::where_of(const std::string& key) const {
  // The key's line: for a block list or mapping the value only starts on the next line.
  return origins_.where(path_of(key), key_node(key), where_);
}

bool MapReader::has(const std::string& key) const { return lookup(node_, key).IsDefined(); }

YAML::Node MapReader::value(const std::string& key) {
  if (std::find(known_.begin(), known_.end(), key) == known_.end()) known_.push_back(key);
  return lookup(node_, key);
}

YAML::Node MapReader::sequence(const std::string& key) {
  const YAML::Node list = value(key);
  if (list.IsDefined() && !list.IsNull() && !list.IsSequence()) type_error(list, path_of(key), "a list");
  return list;
}

MapReader MapReader::map(const std::string& key) {
  return MapReader(value(key), path_of(key), origins_, where_of(key));
}

bool MapReader::read_enum(const std::string& key, std::string& out,
                          std::initializer_list<const char*> allowed) {
  std::string v;
  if (!read(key, v)) return false;
  const std::vector<std::string> options(allowed.begin(), allowed.end());
  if (std::find(options.begin(), options.end(), v) == options.end()) {
    std::string list;
    for (const auto& o : options) list += (list.empty() ? "" : ", ") + o;
    const std::string guess = closest_key(v, options);
    fail_at(key, str_cat("bad value '", v, "' (expected one of: ", list, ")",
                         guess.empty() ? "" : str_cat("; did you mean '", guess, "'?")));
  }
  out = v;
  return true;
}

void MapReader::fail_at(const std::string& key, const std::string& what) const {
  fail(where_of(key), path_of(key), what);
}

void MapReader::type_error(const YAML::Node& node, const std::string& path,
                           const std::string& expected) const {
  fail(origins_.where(path, node, where_), path,
       str_cat("expected ", expected, ", got ", describe(node)));
}

void MapReader::finish() {
  if (node_.IsDefined() && node_.IsMap()) {
    std::vector<std::string> seen;
    for (const auto& kv : node_) {
      if (!kv.first.IsScalar()) type_error(kv.first, path_, "string keys");
      const std::string key = kv.first.Scalar();
      const std::string where = origins_.where(path_of(key), kv.first, where_);
      if (std::find(seen.begin(), seen.end(), key) != seen.end())
        fail(where, path_of(key), "duplicate key");
      seen.push_back(key);
      if (std::find(known_.begin(), known_.end(), key) == known_.end()) {
        const std::string guess = closest_key(key, known_);
        fail(where, path_of(key),
             guess.empty() ? "unknown key" : str_cat("unknown key (did you mean '", guess, "'?)"));
      }
    }
  }
  if (!missing_.empty()) fail(where_, path_of(missing_.front()), "missing required key");
}

}  // namespace asr::train::yaml_binding
