#include "sandbox/server/request_framing.h"

#include <cctype>
#include <cstdint>
#include <vector>

namespace vkspay::sandbox {

namespace {

constexpr std::string_view kCrlf = "\r\n";
// A chunk-size line longer than this (hex digits plus extensions) is refused.
constexpr size_t kMaxChunkLine = 4096;

FramingVerdict Refuse(int status, std::string reason) {
  return FramingVerdict{Framing::kRefused, status, std::move(reason)};
}

// At most 60 bytes of what arrived, with control bytes shown as \xNN.
std::string Shown(std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < 60; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > 60) out += "...";
  return out + "\"";
}

bool IsTokenChar(char c) {
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsTokenChar(c)) return false;
  }
  return true;
}

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Splits a field value on commas into trimmed, non-empty elements.
std::vector<std::string_view> ListElements(std::string_view v) {
  std::vector<std::string_view> out;
  while (true) {
    const size_t comma = v.find(',');
    std::string_view e = Trim(v.substr(0, comma));
    if (!e.empty()) out.push_back(e);
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
  return out;
}

// Checks the request line; `version` gets "1.0" or "1.1".
FramingVerdict CheckRequestLine(std::string_view line, std::string* version) {
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return Refuse(400, "the request line must be METHOD SP target SP HTTP/1.1, received " +
                           Shown(line));
  }
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view proto = line.substr(sp2 + 1);
  if (!IsToken(method)) return Refuse(400, "the request method is not a token: " + Shown(method));
  if (target.empty()) return Refuse(400, "the request target is empty");
  for (char c : target) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) {
      return Refuse(400, "the request target holds a control byte: " + Shown(target));
    }
  }
  if (proto == "HTTP/1.1" || proto == "HTTP/1.0") {
    *version = std::string(proto.substr(5));
    return {};
  }
  if (proto.size() == 8 && proto.substr(0, 5) == "HTTP/" && std::isdigit(static_cast<unsigned char>(proto[5])) &&
      proto[6] == '.' && std::isdigit(static_cast<unsigned char>(proto[7]))) {
    return Refuse(505, "HTTP version " + std::string(proto.substr(5)) +
                           " is not supported: 1.1 or 1.0 expected");
  }
  return Refuse(400, "the request line must end in HTTP/1.1 or HTTP/1.0, received " +
                         Shown(proto));
}

// Parses a Content-Length element: digits only, at most 18 of them.
bool ParseLength(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 18) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = v;
  return true;
}

}  // namespace

FramingVerdict FrameHead(std::string_view data, const FramingLimits& limits, FramedHead* head) {
  size_t start = 0;
  while (data.substr(start, 2) == kCrlf) start += 2;
  const size_t end = data.find("\r\n\r\n", start);
  const size_t first_eol = data.find(kCrlf, start);
  std::string version;
  if (first_eol != std::string_view::npos) {
    // A request line that cannot be valid is refused before its head ends:
    // a client speaking TLS or another protocol gets its answer at once.
    FramingVerdict v = CheckRequestLine(data.substr(start, first_eol - start), &version);
    if (v.result == Framing::kRefused) return v;
  }
  if (end == std::string_view::npos) {
    if (data.size() > limits.max_head_bytes) {
      return Refuse(431, "the request head is longer than " +
                             std::to_string(limits.max_head_bytes) + " bytes");
    }
    // Count the field lines so far, so that a client trickling small fields
    // hears the limit when it passes it, not at the end of the head.
    int lines = 0;
    for (size_t p = data.find(kCrlf, start); p != std::string_view::npos;
         p = data.find(kCrlf, p + 2)) {
      if (++lines > limits.max_header_fields + 1) {
        return Refuse(431, "more than " + std::to_string(limits.max_header_fields) +
                               " header fields");
      }
    }
    return {};
  }
  head->head_bytes = end + 4;
  if (head->head_bytes > limits.max_head_bytes) {
    return Refuse(431, "the request head is " + std::to_string(head->head_bytes) +
                           " bytes, at most " + std::to_string(limits.max_head_bytes));
  }
  head->framing = BodyFraming::kNone;
  head->content_length = 0;
  head->expect_continue = false;
  head->rewritten.clear();
  head->rewritten.reserve(end - start + 2);
  head->rewritten.append(data.substr(start, first_eol - start + 2));

  int fields = 0;
  bool has_length = false;
  uint64_t length = 0;
  bool has_transfer_encoding = false;  // even with an empty value
  std::string transfer_encoding;
  size_t pos = first_eol + 2;
  while (pos < end + 2) {
    const size_t eol = data.find(kCrlf, pos);
    const std::string_view line = data.substr(pos, eol - pos);
    pos = eol + 2;
    if (++fields > limits.max_header_fields) {
      return Refuse(431, "more than " + std::to_string(limits.max_header_fields) +
                             " header fields");
    }
    if (line.front() == ' ' || line.front() == '\t') {
      return Refuse(400, "obsolete line folding (a field line starting with whitespace): " +
                             Shown(line));
    }
    for (char c : line) {
      if (c == '\n' || c == '\r' || c == '\0') {
        return Refuse(400, "a field line holds a bare CR, LF or NUL: " + Shown(line));
      }
    }
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      return Refuse(400, "a field line without a colon: " + Shown(line));
    }
    const std::string_view name = line.substr(0, colon);
    if (!IsToken(name)) {
      return Refuse(400, "the field name " + Shown(name) +
                             " is not a token (no whitespace before the colon)");
    }
    const std::string_view value = Trim(line.substr(colon + 1));
    bool keep = true;
    if (EqualsNoCase(name, "Content-Length")) {
      const std::vector<std::string_view> elements = ListElements(value);
      if (elements.empty()) return Refuse(400, "Content-Length is empty");
      for (std::string_view e : elements) {
        uint64_t n = 0;
        if (!ParseLength(e, &n)) {
          return Refuse(400, "Content-Length must be a decimal number, received " + Shown(e));
        }
        if (has_length && n != length) {
          return Refuse(400, "two different Content-Lengths: " + std::to_string(length) +
                                 " and " + std::to_string(n));
        }
        has_length = true;
        length = n;
      }
    } else if (EqualsNoCase(name, "Transfer-Encoding")) {
      has_transfer_encoding = true;
      if (!transfer_encoding.empty()) transfer_encoding += ", ";
      transfer_encoding.append(value);
      keep = false;
    } else if (EqualsNoCase(name, "Content-Encoding")) {
      for (std::string_view e : ListElements(value)) {
        if (!EqualsNoCase(e, "identity")) {
          return Refuse(415, "Content-Encoding " + Shown(e) +
                                 ": request bodies are not decompressed; send the body as it is");
        }
      }
    } else if (EqualsNoCase(name, "Expect")) {
      if (!EqualsNoCase(value, "100-continue")) {
        return Refuse(417, "Expect " + Shown(value) + ": only 100-continue is understood");
      }
      head->expect_continue = true;
      keep = false;
    }
    if (keep) {
      head->rewritten.append(line);
      head->rewritten.append(kCrlf);
    }
  }

  if (has_transfer_encoding) {
    if (has_length) {
      return Refuse(400, "both Content-Length and Transfer-Encoding frame the body");
    }
    if (version == "1.0") return Refuse(400, "Transfer-Encoding in an HTTP/1.0 request");
    const std::vector<std::string_view> codings = ListElements(transfer_encoding);
    if (codings.size() != 1 || !EqualsNoCase(codings[0], "chunked")) {
      return Refuse(501, "Transfer-Encoding " + Shown(transfer_encoding) +
                             " is not supported: chunked expected");
    }
    head->framing = BodyFraming::kChunked;
  } else if (has_length) {
    if (length > limits.max_body_bytes) {
      return Refuse(413, "Content-Length " + std::to_string(length) + " is above the limit of " +
                             std::to_string(limits.max_body_bytes) + " bytes");
    }
    head->framing = BodyFraming::kLength;
    head->content_length = static_cast<size_t>(length);
  }
  return FramingVerdict{Framing::kComplete, 0, ""};
}

FramingVerdict DecodeChunked(std::string_view data, const FramingLimits& limits, size_t* consumed,
                             std::string* body) {
  body->clear();
  size_t pos = 0;
  while (true) {
    const size_t eol = data.find(kCrlf, pos);
    if (eol == std::string_view::npos) {
      if (data.size() - pos > kMaxChunkLine) return Refuse(400, "a chunk-size line is too long");
      return {};
    }
    if (eol - pos > kMaxChunkLine) return Refuse(400, "a chunk-size line is too long");
    std::string_view line = data.substr(pos, eol - pos);
    const size_t semi = line.find(';');
    const std::string_view hex = Trim(line.substr(0, semi));
    if (hex.empty() || hex.size() > 15) {
      return Refuse(400, "a chunk size must be 1 to 15 hex digits, received " + Shown(line));
    }
    uint64_t size = 0;
    for (char c : hex) {
      const int d = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                    : (c >= 'a' && c <= 'f')                    ? c - 'a' + 10
                    : (c >= 'A' && c <= 'F')                    ? c - 'A' + 10
                                                                : -1;
      if (d < 0) return Refuse(400, "a chunk size is not hexadecimal: " + Shown(line));
      size = size * 16 + static_cast<uint64_t>(d);
    }
    pos = eol + 2;
    if (size == 0) {
      // Trailer fields, then the blank line.
      size_t trailer_bytes = 0;
      while (true) {
        const size_t t_eol = data.find(kCrlf, pos);
        if (t_eol == std::string_view::npos) {
          if (data.size() - pos + trailer_bytes > limits.max_head_bytes) {
            return Refuse(431, "the chunked trailer is longer than " +
                                   std::to_string(limits.max_head_bytes) + " bytes");
          }
          return {};
        }
        trailer_bytes += t_eol - pos + 2;
        if (trailer_bytes > limits.max_head_bytes) {
          return Refuse(431, "the chunked trailer is longer than " +
                                 std::to_string(limits.max_head_bytes) + " bytes");
        }
        const bool blank = t_eol == pos;
        pos = t_eol + 2;
        if (blank) break;
      }
      *consumed = pos;
      return FramingVerdict{Framing::kComplete, 0, ""};
    }
    if (size > limits.max_body_bytes || body->size() + size > limits.max_body_bytes) {
      return Refuse(413, "the chunked body is above the limit of " +
                             std::to_string(limits.max_body_bytes) + " bytes");
    }
    if (data.size() - pos < size + 2) return {};
    if (data.substr(pos + size, 2) != kCrlf) {
      return Refuse(400, "a chunk of " + std::to_string(size) + " bytes is not followed by CRLF");
    }
    body->append(data.substr(pos, size));
    pos += size + 2;
  }
}

std::string RefusalResponse(int status, const std::string& reason) {
  const char* text = "Bad Request";
  switch (status) {
    case 408: text = "Request Timeout"; break;
    case 413: text = "Payload Too Large"; break;
    case 415: text = "Unsupported Media Type"; break;
    case 417: text = "Expectation Failed"; break;
    case 431: text = "Request Header Fields Too Large"; break;
    case 501: text = "Not Implemented"; break;
    case 503: text = "Service Unavailable"; break;
    case 505: text = "HTTP Version Not Supported"; break;
    default: break;
  }
  const std::string body = std::to_string(status) + " " + text + ": " + reason + "\n";
  return "HTTP/1.1 " + std::to_string(status) + " " + text +
         "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

}  // namespace vkspay::sandbox
