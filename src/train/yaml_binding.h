#pragma once
// Reads YAML mappings into C++ structs key by key, so that every failure (unknown key, wrong
// type, bad value, missing key) is an asr::Error naming where the value came from (the file's
// 1-based line, or the command-line override that set it) and its dotted key:
//   exp.yaml:12: optim.sched.warmup_stps: unknown key (did you mean 'warmup_steps'?)
//   exp.yaml: override 'optim.lr=-1': optim.lr: must be > 0 (got -1)
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace asr::train::yaml_binding {

// Where the nodes of one document came from: its source file, and the overrides applied to it.
class Origins {
 public:
  explicit Origins(std::string source) : source_(std::move(source)) {}
  const std::string& source() const { return source_; }
  // `path` (dotted) and everything below it were set by override `text` (later calls win).
  void set_by_override(const std::string& path, const std::string& text);
  // "SOURCE: override 'TEXT'" when an override set `path`, else "SOURCE:LINE" from the node's
  // mark, else `fallback` (nodes without a mark, e.g. made by an override's parent creation).
  std::string where(const std::string& path, const YAML::Node& node,
                    const std::string& fallback) const;

 private:
  std::string source_;
  std::vector<std::pair<std::string, std::string>> overrides_;  // (path, text), in order
};

// Throws asr::Error("WHERE: PATH: WHAT").
[[noreturn]] void fail(const std::string& where, const std::string& path, const std::string& what);

// The candidate closest to `key` by edit distance (adjacent swaps count once), or "" when none is
// close enough to be a plausible typo.
std::string closest_key(const std::string& key, const std::vector<std::string>& candidates);

// "a.b" + "c" -> "a.b.c"; "" + "c" -> "c".
std::string join_path(const std::string& parent, const std::string& key);

// How a node reads in a message: 'text' for scalars, "a list", "a mapping", "null".
std::string describe(const YAML::Node& node);

// Scalar conversions: false when the node does not hold a value of that type.
bool decode_scalar(const YAML::Node& node, int64_t& out);
bool decode_scalar(const YAML::Node& node, uint64_t& out);
bool decode_scalar(const YAML::Node& node, double& out);  // finite values only
bool decode_scalar(const YAML::Node& node, bool& out);
bool decode_scalar(const YAML::Node& node, std::string& out);
inline const char* type_name(const int64_t*) { return "an integer"; }
inline const char* type_name(const uint64_t*) { return "a non-negative integer"; }
inline const char* type_name(const double*) { return "a finite number"; }
inline const char* type_name(const bool*) { return "true or false"; }
inline const char* type_name(const std::string*) { return "a string"; }

// One mapping being read. Each key the schema asks for becomes known; finish() then rejects the
// others (with a did-you-mean suggestion), duplicated keys, and required keys that were absent.
// Absent keys leave the target unchanged, so struct member initialisers are the defaults.
class MapReader {
 public:
  // `node` is a mapping, or null/undefined (every key absent; anything else is a type error).
  // `where` locates the mapping itself, for missing-key errors.
  MapReader(const YAML::Node& node, std::string path, const Origins& origins, std::string where);

  const std::string& path() const { return path_; }
  const std::string& where() const { return where_; }
  const Origins& origins() const { return origins_; }
  std::string path_of(const std::string& key) const { return join_path(path_, key); }
  // Where the value of `key` came from (this mapping's location when the key is absent).
  std::string where_of(const std::string& key) const;
  bool has(const std::string& key) const;

  // The raw value of `key` (undefined when absent); `key` becomes known.
  YAML::Node value(const std::string& key);
  // The list `key` (undefined or null when absent or null; anything else is a type error).
  YAML::Node sequence(const std::string& key);
  // The sub-mapping `key`, located at its key's line.
  MapReader map(const std::string& key);
  // Reads `key` into `out` when present; returns whether it was. `required` keys that are absent
  // are reported by finish().
  template <typename T>
  bool read(const std::string& key, T& out, bool required = false) {
    const YAML::Node node = value(key);
    if (!node.IsDefined()) {
      if (required) missing_.push_back(key);
      return false;
    }
    decode(node, path_of(key), out);
    return true;
  }
  // A string that must be one of `allowed`.
  bool read_enum(const std::string& key, std::string& out,
                 std::initializer_list<const char*> allowed);

  // Throws naming `key`'s value location and dotted path.
  [[noreturn]] void fail_at(const std::string& key, const std::string& what) const;
  void finish();

  // Value conversion with element-level locations for lists.
  template <typename T>
  void decode(const YAML::Node& node, const std::string& path, T& out) const {
    if (!decode_scalar(node, out)) type_error(node, path, type_name(&out));
  }
  template <typename T>
  void decode(const YAML::Node& node, const std::string& path, std::optional<T>& out) const {
    if (node.IsNull()) {
      out.reset();
      return;
    }
    T v{};
    decode(node, path, v);
    out = v;
  }
  template <typename T>
  void decode(const YAML::Node& node, const std::string& path, std::vector<T>& out) const {
    if (node.IsNull()) {
      out.clear();
      return;
    }
    if (!node.IsSequence()) type_error(node, path, "a list");
    std::vector<T> v(node.size());
    for (size_t i = 0; i < node.size(); ++i) decode(node[i], join_path(path, std::to_string(i)), v[i]);
    out = std::move(v);
  }

 private:
  [[noreturn]] void type_error(const YAML::Node& node, const std::string& path,
                               const std::string& expected) const;
  YAML::Node key_node(const std::string& key) const;  // undefined when absent
  YAML::Node node_;
  std::string path_;
  const Origins& origins_;
  std::string where_;
  std::vector<std::string> known_, missing_;
};

}  // namespace asr::train::yaml_binding
