// Small text utilities shared by the sandbox, the conformance suite and the
// benchmarks: escaping for HTML and XML, and glob matching. One copy of each
// (they were written three and two times over).
//
// Pure functions; thread-safe.
#ifndef VKSPAY_TEXT_H_
#define VKSPAY_TEXT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace vkspay {

// Escapes & < > " ' (as &amp; &lt; &gt; &quot; &#39;) for HTML text and
// quoted attribute values. Bytes pass through otherwise (the pages are
// UTF-8; invalid UTF-8 stays invalid, but cannot open a tag or attribute).
std::string HtmlEscape(std::string_view text);

// Escapes text for XML 1.0 (JUnit reports, SVG): & < > " ' as entities;
// \r as &#13;; \t and \n as &#9; &#10; when `attribute` (so they survive
// attribute-value normalization), else as they are. Invalid UTF-8 (each bad
// byte), C0 control characters and U+FFFE/U+FFFF, which XML cannot carry,
// become U+FFFD. Any input gives well-formed XML text.
std::string XmlEscape(std::string_view text, bool attribute = false);

// The length of the UTF-8 sequence at s[i] (i < s.size()) with its code
// point in *cp, or 0 if the bytes there are not valid UTF-8 (bad lead or
// continuation byte, truncated, overlong, a surrogate, above U+10FFFF).
size_t Utf8At(std::string_view s, size_t i, uint32_t* cp);

// Glob match: '*' matches any run of bytes (also empty), '?' exactly one
// byte, everything else itself. No escapes, no classes. Iterative with one
// backtrack point: O(pattern * text) at worst, no recursion.
bool GlobMatch(std::string_view pattern, std::string_view text);

}  // namespace vkspay

#endif  // VKSPAY_TEXT_H_
