#pragma once
// Command-line overrides of a YAML document: "a.b.c=value" sets the value at a dotted path, with
// list elements addressed by index ("adapters.0.dim=64"). The value is parsed as YAML
// ("data.train.shards=[a,b]", "trainer.max_epochs=null"). Missing mappings on the way are created;
// a list element must already exist (an override cannot append). The schema is not known here:
// the reader that binds the document rejects unknown keys, and Origins makes those messages name
// the override instead of a file line.
#include <yaml-cpp/yaml.h>

#include <string>

#include "yaml_binding.h"

namespace asr::train::yaml_binding {

// Applies `text` to `root` (a mapping or null, made a mapping) and records it in `origins`.
// Malformed overrides (no '=', an empty path component, a bad index, bad YAML) are asr::Error.
void apply_override(YAML::Node& root, const std::string& text, Origins& origins);

}  // namespace asr::train::yaml_binding
