// ASR_FAULT_INJECT (fault_injection.h): parsed once, hit counts per rule.
#include "asr/util/fault_injection.h"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "asr/core/error.h"

namespace asr::fault {
namespace {

enum class Action { kKill, kEnospc, kEio, kNan };

struct Rule {
  std::string point;
  Action action = Action::kKill;
  long nth = 0;  // 0: every hit
  std::atomic<long> hits{0};
};

Action parse_action(const std::string& text, const std::string& spec) {
  if (text == "kill") return Action::kKill;
  if (text == "enospc") return Action::kEnospc;
  if (text == "eio") return Action::kEio;
  if (text == "nan") return Action::kNan;
  throw Error(str_cat("ASR_FAULT_INJECT: unknown action '", text, "' in '", spec,
                      "' (kill, enospc, eio or nan)"));
}

// A mistyped variable is an error, not a test that silently injects nothing.
std::vector<std::unique_ptr<Rule>> parse(const char* env) {
  std::vector<std::unique_ptr<Rule>> rules;
  if (!env || !*env) return rules;
  const std::string all = env;
  size_t start = 0;
  while (start <= all.size()) {
    const size_t comma = all.find(',', start);
    const std::string spec = all.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    start = comma == std::string::npos ? all.size() + 1 : comma + 1;
    if (spec.empty()) continue;
    const size_t colon = spec.find(':');
    if (colon == std::string::npos || colon == 0)
      throw Error(str_cat("ASR_FAULT_INJECT: '", spec, "' is not <point>:<action>[@<n>]"));
    auto rule = std::make_unique<Rule>();
    rule->point = spec.substr(0, colon);
    std::string action = spec.substr(colon + 1);
    const size_t at = action.find('@');
    if (at != std::string::npos) {
      char* end = nullptr;
      rule->nth = std::strtol(action.c_str() + at + 1, &end, 10);
      if (rule->nth < 1 || *end != '\0')
        throw Error(str_cat("ASR_FAULT_INJECT: '", spec, "': @<n> must be a positive count"));
      action.resize(at);
    }
    rule->action = parse_action(action, spec);
    rules.push_back(std::move(rule));
  }
  return rules;
}

const std::vector<std::unique_ptr<Rule>>& rules() {
  static const std::vector<std::unique_ptr<Rule>> parsed = parse(std::getenv("ASR_FAULT_INJECT"));
  return parsed;
}

}  // namespace

bool enabled() { return !rules().empty(); }

bool point(const char* name, const std::string& file) {
  const auto& all = rules();
  if (all.empty()) return false;
  bool poison = false;
  for (const auto& r : all) {
    if (r->point != name) continue;
    const long hit = ++r->hits;
    if (r->nth != 0 && hit != r->nth) continue;
    const std::string where = file.empty() ? std::string(name) : file;
    switch (r->action) {
      case Action::kKill:
        std::raise(SIGKILL);
        break;
      case Action::kEnospc:
        throw Error(str_cat(where, ": ", std::strerror(ENOSPC), " (injected at ", name, ")"));
      case Action::kEio:
        throw Error(str_cat(where, ": ", std::strerror(EIO), " (injected at ", name, ")"));
      case Action::kNan:
        poison = true;
        break;
    }
  }
  return poison;
}

}  // namespace asr::fault
