#pragma once
// Every recoverable failure is an asr::Error (never abort): the message names the op and the
// offending shapes/dtypes so a user can find the bad call.
#include <sstream>
#include <stdexcept>
#include <string>

namespace asr {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& msg) : std::runtime_error(msg) {}
};

namespace detail {
inline void str_into(std::ostringstream&) {}
template <typename T, typename... Rest>
void str_into(std::ostringstream& os, const T& v, const Rest&... rest) {
  os << v;
  str_into(os, rest...);
}
}  // namespace detail

template <typename... Args>
std::string str_cat(const Args&... args) {
  std::ostringstream os;
  detail::str_into(os, args...);
  return os.str();
}

}  // namespace asr

// ASR_CHECK(cond, "op_name", "what", ...): throws asr::Error("op_name: what...") when cond fails.
#define ASR_CHECK(cond, op, ...)                                           \
  do {                                                                     \
    if (!(cond)) throw ::asr::Error(::asr::str_cat(op, ": ", __VA_ARGS__)); \
  } while (0)
