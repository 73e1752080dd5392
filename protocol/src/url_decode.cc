#include "url_decode.h"

#include <cstdint>

namespace vkspay::internal {

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The value of the `count` hex digits at s[at...], or -1 if any is missing
// or not a hex digit.
int32_t HexAt(std::string_view s, size_t at, int count) {
  if (at + static_cast<size_t>(count) > s.size()) return -1;
  int32_t v = 0;
  for (int k = 0; k < count; ++k) {
    const int d = HexValue(s[at + static_cast<size_t>(k)]);
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

void AppendUtf8(std::string& out, int32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp >= 0xD800 && cp < 0xE000) {
    // A lone surrogate is not a character: nothing.
  } else {  // %uXXXX reaches at most U+FFFF
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace

std::string PercentDecode(std::string_view s, bool plus_to_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '%' && i + 1 < s.size()) {
      if (s[i + 1] == 'u') {
        const int32_t cp = HexAt(s, i + 2, 4);
        if (cp >= 0) {
          AppendUtf8(out, cp);
          i += 5;
        } else {
          out.push_back(c);
        }
      } else {
        const int32_t byte = HexAt(s, i + 1, 2);
        if (byte >= 0) {
          out.push_back(static_cast<char>(byte));
          i += 2;
        } else {
          out.push_back(c);
        }
      }
    } else if (c == '+' && plus_to_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace vkspay::internal
