#include "shard_report.h"

#include <string>

#include "asr/core/error.h"

namespace asr::cli {

void print_skip_table(std::FILE* out, const std::vector<data::SkipRecord>& skipped,
                      const std::vector<data::SkipRecord>& kept, int64_t manifest_items, size_t examples) {
  if (skipped.empty() && kept.empty()) return;
  std::vector<std::vector<const data::SkipRecord*>> by_reason(data::kNumSkipReasons);
  for (const auto* list : {&skipped, &kept})
    for (const auto& r : *list) by_reason[static_cast<size_t>(r.reason)].push_back(&r);
  std::fprintf(out, "skipped %zu of %lld manifest items%s\n", skipped.size(), static_cast<long long>(manifest_items),
               kept.empty() ? "" : str_cat(" (", kept.size(), " more kept with <unk> tokens)").c_str());
  std::fprintf(out, "  %-48s %6s  %s\n", "reason", "count", "first examples");
  for (int r = 0; r < data::kNumSkipReasons; ++r) {
    const auto& rows = by_reason[static_cast<size_t>(r)];
    if (rows.empty()) continue;
    std::string ex;
    for (size_t i = 0; i < rows.size() && i < examples; ++i) {
      std::string detail = rows[i]->detail;
      if (detail.size() > 70) detail = detail.substr(0, 67) + "...";
      ex += str_cat(i ? "; " : "", rows[i]->where, detail.empty() ? "" : " (" + detail + ")");
    }
    if (rows.size() > examples) ex += "; ...";
    std::fprintf(out, "  %-48s %6zu  %s\n", data::skip_reason_text(static_cast<data::SkipReason>(r)), rows.size(),
                 ex.c_str());
  }
}

}  // namespace asr::cli
