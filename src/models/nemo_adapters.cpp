// cfg.adapters <-> AdapterSpec and NeMo's save_adapters file. One config tree (io::TorchValue)
// is built per export and written both as YAML (model_config.yaml) and as a pickled dict
// ('__cfg__'); both readers turn what they find into a YAML::Node and share one spec parser.
#include "asr/models/nemo_adapters.h"

#include <yaml-cpp/yaml.h>
#include <zip.h>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>

#include "asr/autograd/node.h"
#include "asr/io/nemo_writer.h"
#include "asr/io/torch_zip_writer.h"
#include "asr/io/unpickler.h"

namespace asr::models {

const char* const kNemoConformerEncoderAdapter = "nemo.collections.asr.modules.conformer_encoder.ConformerEncoderAdapter";
const char* const kNemoLinearAdapter = "nemo.collections.common.parts.adapter_modules.LinearAdapter";
const char* const kNemoRelPositionMhaAdapter =
    "nemo.collections.asr.parts.submodules.adapters.multi_head_attention_adapter_module."
    "RelPositionMultiHeadAttentionAdapter";

namespace {

using io::TorchValue;
constexpr const char* kResidualStrategy = "nemo.core.classes.mixins.adapter_mixin_strategies.ResidualAddAdapterStrategy";
constexpr const char* kMhaResidualStrategy =
    "nemo.collections.asr.parts.submodules.adapters.multi_head_attention_adapter_module.MHAResidualAddAdapterStrategy";
constexpr const char* kGlobalKey = "global_cfg";

std::string last_component(const std::string& s) {
  const size_t dot = s.rfind('.');
  return dot == std::string::npos ? s : s.substr(dot + 1);
}

// ---- specs -> config tree --------------------------------------------------------------------

std::string nemo_module_name(const AdapterSpec& s) { return s.module == "encoder" ? "" : s.module; }

TorchValue adapter_cfg_tree(const AdapterSpec& s, int64_t d_model) {
  if (!s.layers.empty())
    throw Error(str_cat("adapter '", s.name, "' sits on some encoder layers only; NeMo's ConformerEncoderAdapter "
                        "adds an encoder adapter to every layer, so it cannot be exported"));
  const AdapterConfig& c = s.config;
  TorchValue t = TorchValue::plain_dict();
  TorchValue strategy = TorchValue::plain_dict();
  strategy.set("stochastic_depth", TorchValue::real(c.strategy.stochastic_depth));
  strategy.set("l2_lambda", TorchValue::real(c.strategy.l2_lambda));
  if (c.type == AdapterType::Linear) {
    t.set("in_features", TorchValue::integer(d_model));
    t.set("dim", TorchValue::integer(c.dim));
    t.set("activation", TorchValue::string(c.activation));
    t.set("norm_position", TorchValue::string(c.norm_position));
    t.set("dropout", TorchValue::real(c.dropout));
    strategy.set("_target_", TorchValue::string(kResidualStrategy));
    t.set("adapter_strategy", strategy);
    t.set("_target_", TorchValue::string(kNemoLinearAdapter));
  } else {
    t.set("n_head", TorchValue::integer(c.n_head));
    t.set("n_feat", TorchValue::integer(d_model));
    t.set("dropout_rate", TorchValue::real(c.dropout));
    t.set("proj_dim", c.proj_dim ? TorchValue::integer(*c.proj_dim) : TorchValue::none());
    strategy.set("_target_", TorchValue::string(kMhaResidualStrategy));
    t.set("adapter_strategy", strategy);
    t.set("_target_", TorchValue::string(kNemoRelPositionMhaAdapter));
  }
  t.set("enabled", TorchValue::boolean(s.enabled));
  return t;
}

// The cfg.adapters mapping as NeMo's add_adapter leaves it: global_cfg first, then each adapter.
TorchValue adapters_cfg_tree(const std::vector<AdapterSpec>& specs, int64_t d_model) {
  TorchValue root = TorchValue::plain_dict();
  TorchValue modules = TorchValue::plain_dict();
  for (const auto& s : specs) {
    if (s.name.empty() || s.name == kGlobalKey || s.name.find(':') != std::string::npos)
      throw Error(str_cat("adapter name '", s.name, "' cannot be written to a NeMo config"));
    modules.set(s.name, TorchValue::string(nemo_module_name(s)));
  }
  TorchValue meta = TorchValue::plain_dict();
  meta.set("modules", modules);
  TorchValue global = TorchValue::plain_dict();
  global.set("adapter_meta_cfg", meta);
  root.set(kGlobalKey, global);
  for (const auto& s : specs) root.set(s.name, adapter_cfg_tree(s, d_model));
  return root;
}

// ---- config tree -> YAML text ----------------------------------------------------------------

// Python's float repr, spelled as PyYAML writes floats (always with a '.').
std::string yaml_float(double v) {
  if (std::isnan(v)) return ".nan";
  if (std::isinf(v)) return v > 0 ? ".inf" : "-.inf";
  char buf[40];
  for (int prec = 1; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  std::string s = buf;
  const size_t e = s.find('e');
  if (s.find('.') == std::string::npos) s.insert(e == std::string::npos ? s.size() : e, ".0");
  return s;
}

bool plain_safe(const std::string& s) {
  if (s.empty()) return false;
  for (char ch : s)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.' || ch == '-' || ch == '/'))
      return false;
  if (!std::isalpha(static_cast<unsigned char>(s[0])) && s[0] != '_') return false;
  std::string lower;
  for (char ch : s) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  for (const char* word : {"true", "false", "yes", "no", "on", "off", "null", "y", "n"})
    if (lower == word) return false;
  return true;
}

std::string yaml_string(const std::string& s) {
  if (plain_safe(s)) return s;
  std::string out = "'";
  for (char ch : s) out += ch == '\'' ? std::string("''") : std::string(1, ch);
  return out + "'";
}

std::string yaml_scalar(const TorchValue& v) {
  using K = TorchValue::Kind;
  switch (v.kind) {
    case K::None: return "null";
    case K::Bool: return v.b ? "true" : "false";
    case K::Int: return std::to_string(v.i);
    case K::Float: return yaml_float(v.f);
    case K::String: return yaml_string(v.s);
    default: throw Error("nemo_adapters_yaml: not a scalar");
  }
}

void emit_yaml(const TorchValue& map, int indent, std::string& out) {
  const std::string pad(static_cast<size_t>(indent), ' ');
  for (const auto& [k, v] : map.dict) {
    out += pad + yaml_string(k) + ":";
    if (v.kind == TorchValue::Kind::Dict) {
      if (v.dict.empty()) {
        out += " {}\n";
      } else {
        out += "\n";
        emit_yaml(v, indent + 2, out);
      }
    } else {
      out += " " + yaml_scalar(v) + "\n";
    }
  }
}

// ---- YAML::Node -> specs ---------------------------------------------------------------------

class SpecReader {
 public:
  explicit SpecReader(std::string where) : where_(std::move(where)) {}

  std::vector<AdapterSpec> read(const YAML::Node& adapters) const {
    if (!adapters.IsMap()) fail("adapters", "is not a mapping");
    YAML::Node modules;
    if (adapters[kGlobalKey]) {
      const YAML::Node meta = adapters[kGlobalKey]["adapter_meta_cfg"];
      if (meta && meta["modules"]) modules.reset(meta["modules"]);
    }
    const YAML::Node& mods = modules;
    std::vector<AdapterSpec> out;
    for (const auto& kv : adapters) {
      const std::string name = kv.first.as<std::string>();
      if (name == kGlobalKey) continue;
      std::string module;
      if (mods.IsMap() && mods[name] && !mods[name].IsNull()) module = mods[name].as<std::string>();
      out.push_back(spec(name, module, kv.second));
    }
    return out;
  }

 private:
  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw Error(str_cat(where_, ": '", key, "' ", what));
  }
  template <typename T>
  T get(const YAML::Node& n, const std::string& key, const std::string& field, const T& dflt, bool required) const {
    const YAML::Node v = n[field];
    if (!v || v.IsNull()) {
      if (required) fail(key + "." + field, "is missing");
      return dflt;
    }
    try {
      return v.as<T>();
    } catch (const YAML::Exception&) {
      fail(key + "." + field, str_cat("has the wrong type (", v.IsScalar() ? "'" + v.Scalar() + "'" : "not a scalar", ")"));
    }
  }

  AdapterSpec spec(const std::string& name, const std::string& module, const YAML::Node& n) const {
    const std::string key = "adapters." + name;
    if (!n.IsMap()) fail(key, "is not a mapping");
    AdapterSpec s;
    s.name = name;
    if (module.empty() || module == "encoder") s.module = "encoder";
    else if (module == "decoder") s.module = "decoder";
    else if (module == "encoder+decoder" || module == "decoder+encoder") s.module = "encoder+decoder";
    else fail(str_cat("adapters.global_cfg.adapter_meta_cfg.modules.", name),
              str_cat("is '", module, "': only encoder and decoder adapters are supported"));
    const std::string target = get<std::string>(n, key, "_target_", "", true);
    const std::string cls = last_component(target);
    AdapterConfig& c = s.config;
    if (cls == "LinearAdapter") {
      c.type = AdapterType::Linear;
      c.dim = get<int64_t>(n, key, "dim", 0, true);
      c.activation = get<std::string>(n, key, "activation", "swish", false);
      c.norm_position = get<std::string>(n, key, "norm_position", "pre", false);
      c.dropout = get<double>(n, key, "dropout", 0.0, false);
      if (c.dim < 1) fail(key + ".dim", "must be >= 1");
      if (c.norm_position != "pre" && c.norm_position != "post") fail(key + ".norm_position", "must be pre or post");
    } else if (cls == "RelPositionMultiHeadAttentionAdapter") {
      c.type = AdapterType::RelPositionMHA;
      c.n_head = get<int64_t>(n, key, "n_head", 0, true);
      c.dropout = get<double>(n, key, "dropout_rate", 0.0, false);
      if (n["proj_dim"] && !n["proj_dim"].IsNull()) c.proj_dim = get<int64_t>(n, key, "proj_dim", 0, true);
      if (c.n_head < 1) fail(key + ".n_head", "must be >= 1");
    } else {
      fail(key + "._target_", str_cat("is '", target, "': only LinearAdapter and RelPositionMultiHeadAttentionAdapter ",
                                      "are supported (the encoder uses rel_pos attention)"));
    }
    const YAML::Node st = n["adapter_strategy"];
    if (st && !st.IsNull()) {
      const std::string skey = key + ".adapter_strategy";
      const std::string starget = get<std::string>(st, skey, "_target_", "", false);
      const std::string scls = last_component(starget);
      if (!starget.empty() && scls != "ResidualAddAdapterStrategy" && scls != "MHAResidualAddAdapterStrategy")
        fail(skey + "._target_", str_cat("is '", starget, "': only the residual add strategy is supported"));
      c.strategy.stochastic_depth = get<double>(st, skey, "stochastic_depth", 0.0, false);
      c.strategy.l2_lambda = get<double>(st, skey, "l2_lambda", 0.0, false);
    }
    s.enabled = get<bool>(n, key, "enabled", true, false);
    if (s.module != "encoder" && c.type != AdapterType::Linear)
      fail(key, "is a decoder adapter that is not a LinearAdapter (NeMo's decoder accepts LinearAdapter only)");
    return s;
  }

  std::string where_;
};

YAML::Node load_yaml(const std::string& text, const std::string& source) {
  try {
    return YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw Error(str_cat(source, ":", e.mark.line + 1, ": YAML syntax error: ", e.msg));
  }
}

// The model section: the root, or `model:` in a full experiment config (as parse_model_config).
YAML::Node model_section(const YAML::Node& root) {
  if (root.IsMap() && !root["encoder"] && root["model"] && root["model"].IsMap()) return root["model"];
  return root;
}

bool same_spec(const AdapterSpec& a, const AdapterSpec& b) {
  const AdapterConfig &x = a.config, &y = b.config;
  return a.name == b.name && a.module == b.module && a.layers == b.layers && a.enabled == b.enabled &&
         x.type == y.type && x.dropout == y.dropout && x.strategy.stochastic_depth == y.strategy.stochastic_depth &&
         x.strategy.l2_lambda == y.strategy.l2_lambda &&
         (x.type == AdapterType::Linear
              ? x.dim == y.dim && x.activation == y.activation && x.norm_position == y.norm_position
              : x.n_head == y.n_head && x.proj_dim == y.proj_dim);
}

// ---- config text surgery -----------------------------------------------------------------------

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::string cur;
  std::istringstream in(text);
  while (std::getline(in, cur)) lines.push_back(cur);
  return lines;
}

size_t indentation(const std::string& line) {
  const size_t p = line.find_first_not_of(' ');
  return p == std::string::npos ? line.size() : p;
}

// Lines [first, end) of the block that starts with the key on line `first` at column `col`:
// deeper-indented lines, blank lines and, as PyYAML writes lists, "- " items at the same column.
size_t block_end(const std::vector<std::string>& lines, size_t first, size_t col) {
  size_t end = first + 1, last_content = first + 1;
  for (; end < lines.size(); ++end) {
    const std::string& l = lines[end];
    const size_t ind = indentation(l);
    if (ind == l.size()) continue;  // blank
    if (ind > col || (ind == col && l[ind] == '-' && (ind + 1 == l.size() || l[ind + 1] == ' '))) {
      last_content = end + 1;
      continue;
    }
    break;
  }
  return last_content;
}

}  // namespace

bool is_adapter_key(const std::string& key) { return key.find(".adapter_layer.") != std::string::npos; }

std::vector<AdapterSpec> adapter_specs_from_config(const std::string& config_yaml, const std::string& source) {
  const YAML::Node m = model_section(load_yaml(config_yaml, source));
  if (!m.IsMap() || !m["adapters"] || m["adapters"].IsNull()) return {};
  return SpecReader(source).read(m["adapters"]);
}

std::string nemo_adapters_yaml(const std::vector<AdapterSpec>& specs, int64_t d_model) {
  TorchValue wrapper = TorchValue::plain_dict();
  wrapper.set("adapters", adapters_cfg_tree(specs, d_model));
  std::string out;
  emit_yaml(wrapper, 0, out);
  return out;
}

std::string config_with_adapters(const std::string& base_yaml, const std::vector<AdapterSpec>& specs,
                                 int64_t d_model, const std::string& source) {
  const YAML::Node root = load_yaml(base_yaml, source);
  const YAML::Node m = model_section(root);
  if (!m.IsMap() || !m["encoder"] || !m["encoder"].IsMap()) throw Error(str_cat(source, ": no encoder section"));
  std::vector<std::string> lines = split_lines(base_yaml);
  // Locate the lines through yaml-cpp's marks (0-based line/column of each key and value).
  long enc_line = -1, adapters_line = -1;
  size_t key_col = 0;
  for (const auto& kv : m) {
    const std::string k = kv.first.Scalar();
    if (k == "encoder") {
      enc_line = kv.first.Mark().line;
      key_col = static_cast<size_t>(kv.first.Mark().column);
    }
    if (k == "adapters") adapters_line = kv.first.Mark().line;
  }
  YAML::Node target_value;
  for (const auto& kv : m["encoder"])
    if (kv.first.Scalar() == "_target_") target_value.reset(kv.second);
  if (!target_value || !target_value.IsScalar())
    throw Error(str_cat(source, ": 'encoder._target_' is missing or not a string"));
  const int tl = target_value.Mark().line, tc = target_value.Mark().column;
  if (tl < 0 || static_cast<size_t>(tl) >= lines.size() || tc < 0 || static_cast<size_t>(tc) > lines[tl].size())
    throw Error(str_cat(source, ": cannot locate 'encoder._target_' in the text"));
  // Only a plain or quoted one-line value is rewritten (a trailing comment is dropped with it);
  // anything else (flow style, multi-line) is refused rather than guessed at.
  std::string rest = lines[tl].substr(static_cast<size_t>(tc));
  const size_t comment = rest.find(" #");
  if (comment != std::string::npos) rest.erase(comment);
  rest.erase(rest.find_last_not_of(' ') + 1);
  const std::string& v = target_value.Scalar();
  if (rest != v && rest != "'" + v + "'" && rest != "\"" + v + "\"")
    throw Error(str_cat(source, ":", tl + 1, ": 'encoder._target_' is not a one-line value; cannot rewrite it"));
  lines[tl] = lines[tl].substr(0, static_cast<size_t>(tc)) + kNemoConformerEncoderAdapter;

  const std::string pad(key_col, ' ');
  std::vector<std::string> block;
  if (!specs.empty())
    for (const std::string& l : split_lines(nemo_adapters_yaml(specs, d_model))) block.push_back(pad + l);
  if (adapters_line >= 0) {
    const size_t first = static_cast<size_t>(adapters_line);
    const size_t end = block_end(lines, first, key_col);
    lines.erase(lines.begin() + static_cast<long>(first), lines.begin() + static_cast<long>(end));
    lines.insert(lines.begin() + static_cast<long>(first), block.begin(), block.end());
  } else if (key_col == 0) {
    lines.insert(lines.end(), block.begin(), block.end());  // NeMo appends cfg.adapters
  } else {
    lines.insert(lines.begin() + enc_line, block.begin(), block.end());
  }
  std::string out;
  for (const auto& l : lines) out += l + "\n";

  // The result must be a config we (and so NeMo) read back as exactly these adapters.
  const std::string where = source + " (with adapters)";
  io::ModelConfig parsed = io::parse_model_config(out, where);
  if (parsed.encoder.target != kNemoConformerEncoderAdapter)
    throw Error(str_cat(where, ": encoder._target_ reads back as '", parsed.encoder.target, "'"));
  const std::vector<AdapterSpec> back = adapter_specs_from_config(out, where);
  bool same = back.size() == specs.size();
  for (size_t i = 0; same && i < specs.size(); ++i) same = same_spec(back[i], specs[i]);
  if (!same) throw Error(str_cat(where, ": the adapters section does not read back as written"));
  return out;
}

// ---- save_adapters files ---------------------------------------------------------------------

namespace {

// The OmegaConf/NeMo classes a pickled DictConfig refers to. They are never instantiated: the
// unpickler keeps them as records, and dictconfig_to_yaml reads their _content/_val fields.
io::UnpickleOptions omegaconf_options() {
  io::UnpickleOptions o;
  o.record_classes = {"omegaconf.dictconfig.DictConfig", "omegaconf.listconfig.ListConfig",
                      "omegaconf.nodes.AnyNode",         "omegaconf.nodes.StringNode",
                      "omegaconf.nodes.IntegerNode",     "omegaconf.nodes.FloatNode",
                      "omegaconf.nodes.BooleanNode",     "omegaconf.nodes.EnumNode",
                      "omegaconf.nodes.BytesNode",       "omegaconf.nodes.PathNode",
                      "omegaconf.base.ContainerMetadata", "omegaconf.base.Metadata",
                      "collections.defaultdict"};
  // Types that appear as metadata values (ref_type, object_type, key_type): typing.Any, dict, and
  // NeMo's config dataclasses.
  o.value_prefixes = {"typing.", "__builtin__.", "builtins.", "nemo."};
  return o;
}

using PV = io::PickleValue;

const io::PickleValuePtr* state_field(const PV& obj, const std::string& key) {
  for (const auto& [k, v] : obj.dict)
    if (k->kind == PV::Kind::String && k->s == key) return &v;
  return nullptr;
}

YAML::Node to_yaml(const PV& v, const std::string& where, int depth) {
  if (depth > 64) throw Error(str_cat(where, ": '__cfg__' is nested too deeply"));
  switch (v.kind) {
    case PV::Kind::None: return YAML::Node(YAML::NodeType::Null);
    case PV::Kind::Bool: return YAML::Node(v.b ? "true" : "false");
    case PV::Kind::Int: return YAML::Node(std::to_string(v.i));
    case PV::Kind::Float: return YAML::Node(yaml_float(v.f));
    case PV::Kind::String: return YAML::Node(v.s);
    case PV::Kind::List:
    case PV::Kind::Tuple: {
      YAML::Node seq(YAML::NodeType::Sequence);
      for (const auto& it : v.items) seq.push_back(to_yaml(*it, where, depth + 1));
      return seq;
    }
    case PV::Kind::Dict: {
      YAML::Node map(YAML::NodeType::Map);
      for (const auto& [k, val] : v.dict) {
        if (k->kind != PV::Kind::String) throw Error(str_cat(where, ": '__cfg__' has a non-string key (", k->kind_name(), ")"));
        map[k->s] = to_yaml(*val, where, depth + 1);
      }
      return map;
    }
    case PV::Kind::Object: {
      // DictConfig/ListConfig keep their children in _content, value nodes their value in _val.
      const bool container = v.s == "omegaconf.dictconfig.DictConfig" || v.s == "omegaconf.listconfig.ListConfig";
      const io::PickleValuePtr* f = state_field(v, container ? "_content" : "_val");
      if (!f) throw Error(str_cat(where, ": a pickled '", v.s, "' without its ", container ? "_content" : "_val"));
      return to_yaml(**f, where, depth + 1);
    }
    default:
      throw Error(str_cat(where, ": '__cfg__' holds a ", v.kind_name(), ", not a config value"));
  }
}

class ZipArchive {
 public:
  ZipArchive(const std::string& bytes, const std::string& source) : src_(source) {
    zip_error_t err;
    zip_error_init(&err);
    zip_source_t* zs = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &err);
    if (zs && !(zip_ = zip_open_from_source(zs, ZIP_RDONLY, &err))) zip_source_free(zs);
    const std::string why = zip_error_strerror(&err);
    zip_error_fini(&err);
    if (!zip_) throw Error(str_cat(source, ": not a readable torch zip file (", why, ")"));
  }
  ~ZipArchive() { zip_discard(zip_); }
  ZipArchive(const ZipArchive&) = delete;
  ZipArchive& operator=(const ZipArchive&) = delete;

  std::string prefix() const {
    std::string found;
    const zip_int64_t n = zip_get_num_entries(zip_, 0);
    for (zip_int64_t i = 0; i < n; ++i) {
      const char* nm = zip_get_name(zip_, static_cast<zip_uint64_t>(i), 0);
      const std::string s = nm ? nm : "";
      const size_t slash = s.find('/');
      if (slash != std::string::npos && s.compare(slash, std::string::npos, "/data.pkl") == 0) found = s.substr(0, slash);
    }
    if (found.empty()) throw Error(str_cat(src_, ": no <archive>/data.pkl (not a torch.save file)"));
    return found;
  }
  std::string read(const std::string& name) const {
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat(zip_, name.c_str(), 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE))
      throw Error(str_cat(src_, ": member '", name, "' is missing"));
    std::unique_ptr<zip_file_t, int (*)(zip_file_t*)> f(zip_fopen(zip_, name.c_str(), 0), zip_fclose);
    if (!f) throw Error(str_cat(src_, ": cannot open member '", name, "'"));
    std::string out(st.size, '\0');
    if (st.size && zip_fread(f.get(), out.data(), st.size) != static_cast<zip_int64_t>(st.size))
      throw Error(str_cat(src_, ": member '", name, "' is truncated or corrupt"));
    return out;
  }

 private:
  std::string src_;
  zip_t* zip_ = nullptr;
};

// A contiguous pickled tensor copied out of its storage member (floating types become F32).
Tensor materialize(const ZipArchive& zip, const std::string& prefix, const io::PickledTensor& pt,
                   const std::string& where) {
  const io::PickledStorage& ps = *pt.storage;
  int64_t numel = 1;
  for (int64_t s : pt.size) {
    if (s < 0) throw Error(str_cat(where, ": negative size"));
    numel *= s;
  }
  int64_t expect = 1;
  for (int64_t d = static_cast<int64_t>(pt.size.size()) - 1; d >= 0; --d) {
    if (pt.size[d] != 1 && pt.stride[d] != expect) throw Error(str_cat(where, ": a non-contiguous tensor"));
    expect *= pt.size[d];
  }
  if (pt.offset < 0 || pt.offset + numel > ps.numel)
    throw Error(str_cat(where, ": tensor lies outside its storage of ", ps.numel, " elements"));
  const std::string bytes = zip.read(prefix + "/data/" + ps.key);
  const size_t esize = dtype_size(ps.dtype);
  if (bytes.size() < static_cast<size_t>(ps.numel) * esize)
    throw Error(str_cat(where, ": storage ", ps.key, " is shorter than its ", ps.numel, " elements"));
  Tensor t = Tensor::empty(pt.size, ps.dtype);
  if (numel) std::memcpy(t.raw_data(), bytes.data() + static_cast<size_t>(pt.offset) * esize, static_cast<size_t>(numel) * esize);
  return is_floating(ps.dtype) && ps.dtype != DType::F32 ? t.to(DType::F32) : t;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(str_cat(path, ": cannot open"));
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Owner prefixes of an adapter in NeMo's model.modules() order: encoder layers, then decoder.
std::vector<std::string> owner_prefixes(const AdapterSpec& s, int64_t n_layers) {
  std::vector<std::string> out;
  if (s.module != "decoder")
    for (int64_t i = 0; i < n_layers; ++i) out.push_back(str_cat("encoder.layers.", i, ".adapter_layer."));
  if (s.module != "encoder") out.push_back("decoder.adapter_layer.");
  return out;
}

}  // namespace

NemoAdapters read_nemo_adapters(const std::string& path, int64_t n_layers) {
  const std::string bytes = read_file(path);
  if (bytes.size() < 4 || bytes.compare(0, 4, "PK\x03\x04") != 0)
    throw Error(str_cat(path, ": not a torch zip file (NeMo's save_adapters writes one with torch >= 1.6)"));
  ZipArchive zip(bytes, path);
  const std::string prefix = zip.prefix();
  const std::string where = path + ":" + prefix + "/data.pkl";
  io::PickleValuePtr root = io::unpickle(zip.read(prefix + "/data.pkl"), where, omegaconf_options());
  if (root->kind != PV::Kind::Dict) throw Error(str_cat(where, ": top level is a ", root->kind_name(), ", expected a dict"));
  const io::PickleValuePtr* cfg = state_field(*root, "__cfg__");
  if (!cfg) throw Error(str_cat(where, ": no '__cfg__' entry (not a NeMo save_adapters file)"));
  const std::vector<AdapterSpec> declared = SpecReader(where + ":__cfg__").read(to_yaml(**cfg, where, 0));

  NemoAdapters out;
  autograd::NoGradGuard no_grad;
  for (const AdapterSpec& spec : declared) {
    // The entry key is "name" or "<module>:name" (NeMo writes the module unless it is '').
    const io::PickleValuePtr* list = nullptr;
    std::string entry;
    for (const auto& [k, v] : root->dict)
      if (k->kind == PV::Kind::String && k->s != "__cfg__" &&
          (k->s == spec.name || (k->s.size() > spec.name.size() && k->s.compare(k->s.size() - spec.name.size() - 1,
                                                                                 std::string::npos, ":" + spec.name) == 0))) {
        list = &v;
        entry = k->s;
      }
    if (!list) continue;  // saved with save_adapters(name=...): the cfg lists more than the file holds
    const std::string ewhere = str_cat(where, ": '", entry, "'");
    if ((*list)->kind != PV::Kind::List) throw Error(str_cat(ewhere, " is a ", (*list)->kind_name(), ", expected a list"));
    const std::vector<std::string> owners = owner_prefixes(spec, n_layers);
    if ((*list)->items.size() != owners.size())
      throw Error(str_cat(ewhere, " holds ", (*list)->items.size(), " state dicts; a ", spec.module, " adapter on a model with ",
                          n_layers, " encoder layers has ", owners.size(), " (a different base model?)"));
    for (size_t m = 0; m < owners.size(); ++m) {
      const PV& sd = *(*list)->items[m];
      if (sd.kind != PV::Kind::Dict) throw Error(str_cat(ewhere, "[", m, "] is a ", sd.kind_name(), ", expected a dict"));
      for (const auto& [k, v] : sd.dict) {
        if (k->kind != PV::Kind::String) throw Error(str_cat(ewhere, "[", m, "] has a non-string key"));
        if (k->s.compare(0, spec.name.size() + 1, spec.name + ".") != 0) continue;  // another adapter's keys
        if (v->kind != PV::Kind::Tensor) throw Error(str_cat(ewhere, "[", m, "]['", k->s, "'] is not a tensor"));
        const std::string key = owners[m] + k->s;
        out.weights[key] = materialize(zip, prefix, v->tensor, str_cat(ewhere, "[", m, "]['", k->s, "']")).set_name(key);
      }
    }
    out.specs.push_back(spec);
  }
  if (out.specs.empty()) throw Error(str_cat(where, ": the file holds no adapter weights"));
  return out;
}

namespace {

// The model's adapter state grouped as save_adapters groups it: per adapter, one dict per owner.
TorchValue saved_adapters_tree(const ConformerCtcModel& model) {
  const std::vector<AdapterSpec> specs = model.adapter_specs();
  const auto state = model.named_state();
  TorchValue root = TorchValue::plain_dict();
  for (const AdapterSpec& s : specs) {
    TorchValue per_owner = TorchValue::list();
    for (const std::string& owner : owner_prefixes(s, model.config().encoder.n_layers)) {
      TorchValue sd = TorchValue::plain_dict();
      const std::string p = owner + s.name + ".";
      for (const auto& [k, t] : state)
        if (k.compare(0, p.size(), p) == 0) sd.set(k.substr(owner.size()), TorchValue::of(t));
      if (sd.dict.empty()) throw Error(str_cat("adapter '", s.name, "' has no weights under '", owner, "'"));
      per_owner.items.push_back(sd);
    }
    root.set(nemo_module_name(s).empty() ? s.name : nemo_module_name(s) + ":" + s.name, per_owner);
  }
  root.set("__cfg__", adapters_cfg_tree(specs, model.config().encoder.d_model));
  return root;
}

std::string stem(const std::string& path) {
  std::string base = path.substr(path.find_last_of('/') + 1);
  const size_t dot = base.find('.');
  base = base.substr(0, dot);
  std::string clean;
  for (char c : base) clean += std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' ? c : '_';
  return clean.empty() ? "archive" : clean;
}

}  // namespace

void write_nemo_adapters(const std::string& path, const ConformerCtcModel& model) {
  if (model.adapter_names().empty()) throw Error(str_cat(path, ": the model has no adapters to save"));
  const TorchValue root = saved_adapters_tree(model);
  io::write_file_atomically(path, [&](std::ostream& out) { io::write_torch_zip(out, root, stem(path)); });
}

void export_adapted_nemo(const std::string& out_path, const std::string& base_path, const io::ModelFile& base,
                         const ConformerCtcModel& model) {
  const std::vector<AdapterSpec> specs = model.adapter_specs();
  if (specs.empty())
    throw Error(str_cat(out_path, ": the model has no adapters; the base .nemo (", base_path, ") is already the export"));
  const std::string yaml =
      config_with_adapters(base.config.yaml, specs, model.config().encoder.d_model, base_path + ":model_config.yaml");
  io::StateDict weights;
  for (const auto& [k, t] : base.weights)
    if (!is_adapter_key(k)) weights.emplace(k, t);
  io::StateDict adapter_weights;
  for (const auto& [k, t] : model.named_state())
    if (is_adapter_key(k)) adapter_weights.emplace(k, t);
  for (const auto& [k, t] : adapter_weights) weights.emplace(k, t);
  io::write_nemo(out_path, yaml, weights, io::read_nemo_artifacts(base_path));

  // Read it back through the same path `transcribe` takes.
  const io::ModelFile back = io::load_model_file(out_path);
  auto fail = [&](const std::string& what) { throw Error(str_cat(out_path, ": verification failed: ", what)); };
  if (back.config.yaml != yaml || back.tokenizer_model != base.tokenizer_model) fail("config or tokenizer differ");
  if (back.weights.size() != weights.size()) fail("the number of weights differs");
  autograd::NoGradGuard no_grad;
  for (const auto& [k, t] : weights) {
    auto it = back.weights.find(k);
    if (it == back.weights.end()) fail(str_cat("'", k, "' is missing"));
    const Tensor a = t.contiguous(), b = it->second.contiguous();
    if (a.shape() != b.shape() || a.dtype() != b.dtype() || std::memcmp(a.raw_data(), b.raw_data(), a.nbytes()) != 0)
      fail(str_cat("'", k, "' differs"));
  }
}

}  // namespace asr::models
