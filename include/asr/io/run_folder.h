// Run folders hold what a training run writes (config.yaml, metrics, TensorBoard events,
// checkpoints, the trained adapters). Nothing written there may follow a symlink out of it: a
// link planted inside (e.g. RUN/metrics.jsonl -> ~/.bashrc, RUN/checkpoints -> /etc) would make
// an append or a rotation's delete land outside the run. The run folder itself may be a link
// (runs/ -> /scratch is a user's choice); links *inside* it are refused.
#pragma once

#include <string>

namespace asr::io {

// Throws asr::Error naming the first symlink found at any depth under `root` (links are not
// followed while walking). A missing root is fine: nothing has been written yet.
void refuse_symlinks_inside(const std::string& root);

}  // namespace asr::io
