// FUZZ_CHECK: a property of a fuzz target. On failure it prints what broke
// and aborts, which libFuzzer reports as a crash (and saves the input) and the
// corpus replay test reports as a failed ctest.
#ifndef VKSPAY_FUZZ_FUZZ_CHECK_H_
#define VKSPAY_FUZZ_FUZZ_CHECK_H_

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#define FUZZ_CHECK(cond, what)                                                                \
  do {                                                                                        \
    if (!(cond)) {                                                                            \
      std::fprintf(stderr, "%s:%d: property violated: %s\n  %s\n", __FILE__, __LINE__, #cond, \
                   std::string(what).c_str());                                                \
      std::abort();                                                                           \
    }                                                                                         \
  } while (0)

namespace vkspay::fuzz {

inline std::string_view AsText(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Splits off the first line ("" and the whole text when there is no '\n').
inline std::string_view TakeLine(std::string_view* text) {
  size_t nl = text->find('\n');
  if (nl == std::string_view::npos) {
    std::string_view line = *text;
    *text = {};
    return line;
  }
  std::string_view line = text->substr(0, nl);
  text->remove_prefix(nl + 1);
  return line;
}

}  // namespace vkspay::fuzz

#endif  // VKSPAY_FUZZ_FUZZ_CHECK_H_
