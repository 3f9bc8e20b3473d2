// .nemo = tar of model_config.yaml, model_weights.ckpt (torch zip) and the tokenizer artifacts.
#include "asr/io/tar_reader.h"
#include "asr/io/torch_checkpoint.h"
#include "loaders.h"

namespace asr::io {

std::string resolve_tokenizer_member(const std::map<std::string, std::string>& members,
                                     const std::string& model_path, const std::string& source) {
  std::string name = model_path.compare(0, 5, "nemo:") == 0 ? model_path.substr(5) : model_path;
  if (members.count(name)) return name;
  // Older checkpoints hold a plain path (often from the machine that trained them): its basename,
  // or NeMo's "<uuid>_<basename>" copy of it.
  const std::string base = name.substr(name.find_last_of('/') + 1);
  if (members.count(base)) return base;
  std::string found;
  for (const auto& [m, _] : members)
    if (m.size() > base.size() && m.compare(m.size() - base.size() - 1, std::string::npos, "_" + base) == 0) {
      if (!found.empty())
        throw Error(str_cat(source, ": tokenizer.model_path '", model_path, "' matches several members ('",
                            found, "', '", m, "')"));
      found = m;
    }
  if (found.empty())
    throw Error(str_cat(source, ": the tokenizer model '", name, "' (tokenizer.model_path) is not in the archive"));
  return found;
}

namespace {

ModelFile load_nemo_members(std::map<std::string, std::string> members, const std::string& path) {
  auto config_it = members.find("model_config.yaml");
  if (config_it == members.end())
    throw Error(str_cat(path, ": no model_config.yaml in the archive (not a NeMo checkpoint)"));
  ModelFile mf;
  mf.path = path;
  mf.config = parse_model_config(config_it->second, path + ":model_config.yaml");

  auto weights_it = members.find("model_weights.ckpt");
  if (weights_it == members.end())
    throw Error(str_cat(path, ": no model_weights.ckpt in the archive (a config-only or distributed checkpoint?)"));
  mf.weights = read_torch_state_dict(weights_it->second, path + ":model_weights.ckpt");
  members.erase(weights_it);  // release the raw bytes early

  mf.tokenizer_model = members.at(resolve_tokenizer_member(members, mf.config.tokenizer.model_path, path));
  if (mf.tokenizer_model.empty()) throw Error(str_cat(path, ": the tokenizer model is empty"));
  check_weights(mf.config, mf.weights, path);
  return mf;
}

}  // namespace

ModelFile load_nemo(const std::string& path) { return load_nemo_members(read_tar_members(path), path); }

ModelFile load_nemo_from_memory(const std::string& bytes, const std::string& source) {
  return load_nemo_members(read_tar_members_from_memory(bytes, source), source);
}

}  // namespace asr::io
