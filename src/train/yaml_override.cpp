#include "yaml_override.h"

#include <algorithm>
#include <cctype>
#include <vector>

#include "asr/core/error.h"

namespace asr::train::yaml_binding {

namespace {

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    parts.push_back(path.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return parts;
}

bool is_index(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

}  // namespace

void apply_override(YAML::Node& root, const std::string& text, Origins& origins) {
  const std::string where = str_cat(origins.source(), ": override '", text, "'");
  const size_t eq = text.find('=');
  if (eq == std::string::npos) throw Error(str_cat(where, ": expected KEY.PATH=VALUE"));
  const std::string path = text.substr(0, eq);
  const std::vector<std::string> parts = split_path(path);
  for (const auto& p : parts)
    if (p.empty()) throw Error(str_cat(where, ": empty key in '", path, "'"));

  YAML::Node value;
  try {
    value = YAML::Load(text.substr(eq + 1));
  } catch (const YAML::Exception& e) {
    throw Error(str_cat(where, ": value is not valid YAML: ", e.msg));
  }

  if (!root.IsDefined() || root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  // `cursor` is re-seated with reset(): assigning one yaml-cpp Node to another would overwrite
  // the node it refers to inside the tree.
  YAML::Node cursor;
  cursor.reset(root);
  std::string walked;
  std::string created;  // the first mapping this override creates: it and all below are its own
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string& key = parts[i];
    const bool last = i + 1 == parts.size();
    const std::string here = join_path(walked, key);
    if (cursor.IsSequence()) {
      if (!is_index(key))
        throw Error(str_cat(where, ": ", walked, " is a list: '", key, "' is not an index"));
      const size_t index = std::stoul(key);
      if (index >= cursor.size())
        throw Error(str_cat(where, ": ", here, ": index out of range (", walked, " has ",
                            cursor.size(), " entries; an override cannot append)"));
      if (last) {
        cursor[index] = value;
      } else {
        YAML::Node next = cursor[index];
        if (next.IsNull()) {
          cursor[index] = YAML::Node(YAML::NodeType::Map);
          if (created.empty()) created = here;
        }
        cursor.reset(cursor[index]);
      }
    } else if (cursor.IsMap()) {
      const YAML::Node& lookup = cursor;  // const: a lookup must not insert the key
      const YAML::Node existing = lookup[key];
      if (last) {
        cursor[key] = value;
      } else {
        if (!existing.IsDefined() || existing.IsNull()) {
          // No list to index into: a missing mapping is created, a missing list is not.
          if (is_index(parts[i + 1]))
            throw Error(str_cat(where, ": ", join_path(here, parts[i + 1]),
                                ": index out of range (", here,
                                " has no entries; an override cannot append)"));
          cursor[key] = YAML::Node(YAML::NodeType::Map);
          if (created.empty()) created = here;
        }
        cursor.reset(cursor[key]);
      }
    } else {
      throw Error(str_cat(where, ": ", walked, " holds ", describe(cursor),
                          ", not a mapping or list: cannot set '", key, "' in it"));
    }
    walked = here;
  }
  origins.set_by_override(created.empty() ? path : created, text);
}

}  // namespace asr::train::yaml_binding
