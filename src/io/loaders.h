#pragma once
// The two model-file readers behind load_model_file (private to src/io).
#include <map>
#include <string>

#include "asr/io/model_file.h"

namespace asr::io {

ModelFile load_nemo(const std::string& path);     // nemo_file.cpp
// The same for a .nemo already in memory (`source` names it in errors); the fuzz target uses it.
ModelFile load_nemo_from_memory(const std::string& bytes, const std::string& source);
ModelFile load_model_h5(const std::string& path);  // model_h5.cpp

// The archive member that tokenizer.model_path ("nemo:<name>" or a plain path) refers to.
std::string resolve_tokenizer_member(const std::map<std::string, std::string>& members,
                                     const std::string& model_path, const std::string& source);

}  // namespace asr::io
