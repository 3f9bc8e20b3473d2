#pragma once
// The end-of-run report of `asr-adapt shard`: skipped manifest items by reason.
#include <cstdio>
#include <vector>

#include "asr/data/shard_plan.h"

namespace asr::cli {

// One row per reason that occurred (count + the first `examples` as manifest:line (detail)),
// the <unk> row marked as kept. Prints nothing when both lists are empty.
void print_skip_table(std::FILE* out, const std::vector<data::SkipRecord>& skipped,
                      const std::vector<data::SkipRecord>& kept, int64_t manifest_items, size_t examples = 3);

}  // namespace asr::cli
