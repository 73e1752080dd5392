// HTTP/1.1 request framing in front of cpp-httplib (sandbox/server/
// request_framing.h: FrameHead, DecodeChunked). Input: the bytes a client
// sends on one connection, framed request after request as the HTTP front
// does (head, then the body by Content-Length or chunked, then the next
// pipelined request); the whole input is also decoded as a chunked body.
// Both with the default limits and with small ones (256-byte head, 4 fields,
// 64-byte body). Properties: a refusal has a documented status and a
// one-line reason, and stays a refusal when more bytes arrive; "need more"
// only while no blank line ends the head and the bytes are within
// max_head_bytes; an accepted head ends at the first blank line, is within
// max_head_bytes and max_header_fields, its Content-Length within
// max_body_bytes, and its framing agrees with the fields it has (never both
// Content-Length and Transfer-Encoding, chunked only on HTTP/1.1, a
// Transfer-Encoding field always means chunked); every shorter prefix of it
// needs more; the head handed on to cpp-httplib has no Transfer-Encoding or
// Expect and frames again to the same body length. DecodeChunked never
// returns more than max_body_bytes; a decoded body, re-chunked at
// pseudo-random sizes (with extensions and trailers), decodes back to the
// same bytes and length; every shorter prefix of a complete chunked body
// needs more.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "sandbox/server/request_framing.h"

using namespace vkspay;
using sandbox::BodyFraming;
using sandbox::DecodeChunked;
using sandbox::FramedHead;
using sandbox::FrameHead;
using sandbox::Framing;
using sandbox::FramingLimits;
using sandbox::FramingVerdict;

namespace {

constexpr std::string_view kCrlf = "\r\n";

// Deterministic per input, so a replay reproduces a libFuzzer crash.
struct Rng {
  uint64_t s;
  uint64_t Next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
  size_t Below(size_t n) { return n == 0 ? 0 : static_cast<size_t>(Next() % n); }
};

uint64_t Hash(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return h | 1;
}

std::string Where(const FramingLimits& limits, std::string_view data) {
  std::string shown = "limits " + std::to_string(limits.max_head_bytes) + "/" +
                      std::to_string(limits.max_header_fields) + "/" +
                      std::to_string(limits.max_body_bytes) + ", input: ";
  static const char kHex[] = "0123456789abcdef";
  for (size_t i = 0; i < data.size() && i < 300; ++i) {
    const unsigned char c = static_cast<unsigned char>(data[i]);
    if (c < 0x20 || c >= 0x7f || c == '\\') {
      shown += "\\x";
      shown += kHex[c >> 4];
      shown += kHex[c & 15];
    } else {
      shown += static_cast<char>(c);
    }
  }
  return shown;
}

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

void CheckRefusal(const FramingVerdict& v, bool chunked, const std::string& where) {
  const int s = v.status;
  if (chunked) {
    // 400 malformed chunk, 413 body above the limit, 431 trailer too long.
    FUZZ_CHECK(s == 400 || s == 413 || s == 431, std::to_string(s) + " " + where);
  } else {
    FUZZ_CHECK(s == 400 || s == 408 || s == 413 || s == 415 || s == 417 || s == 431 ||
                   s == 501 || s == 505,
               std::to_string(s) + " " + where);
  }
  FUZZ_CHECK(!v.reason.empty(), "a refusal without a reason: " + where);
  FUZZ_CHECK(v.reason.find('\n') == std::string::npos && v.reason.find('\r') == std::string::npos,
             "a reason of more than one line: " + v.reason);
}

bool SameHead(const FramedHead& a, const FramedHead& b) {
  return a.head_bytes == b.head_bytes && a.framing == b.framing &&
         a.content_length == b.content_length && a.expect_continue == b.expect_continue &&
         a.rewritten == b.rewritten;
}

// A chunked encoding of `body`: chunks of pseudo-random sizes, hex in either
// case, sometimes extensions and trailer fields.
std::string Rechunk(std::string_view body, Rng* rng) {
  static const char kLower[] = "0123456789abcdef";
  static const char kUpper[] = "0123456789ABCDEF";
  std::string out;
  const bool upper = rng->Next() & 1;
  while (!body.empty()) {
    size_t n = 1 + rng->Below(rng->Next() % 4 == 0 ? body.size() : 17);
    if (n > body.size()) n = body.size();
    std::string hex;
    for (size_t v = n; v != 0; v >>= 4) hex.insert(hex.begin(), (upper ? kUpper : kLower)[v & 15]);
    if (rng->Next() % 3 == 0) hex.insert(0, rng->Below(3), '0');
    out += hex;
    if (rng->Next() % 4 == 0) out += ";ext=\"v\";flag";
    out += kCrlf;
    out.append(body.substr(0, n));
    out += kCrlf;
    body.remove_prefix(n);
  }
  out += rng->Next() % 2 ? "0" : "000";
  if (rng->Next() % 4 == 0) out += ";last";
  out += kCrlf;
  if (rng->Next() % 3 == 0) out += "X-Checksum: abc\r\n";
  out += kCrlf;
  return out;
}

// DecodeChunked on `data`; returns the bytes consumed when complete, else 0.
size_t CheckChunked(std::string_view data, const FramingLimits& limits, Rng* rng,
                    std::string* decoded) {
  const std::string where = Where(limits, data);
  size_t consumed = 0;
  std::string body = "stale";
  FramingVerdict v = DecodeChunked(data, limits, &consumed, &body);
  FUZZ_CHECK(body.size() <= limits.max_body_bytes,
             std::to_string(body.size()) + " decoded bytes, " + where);
  if (v.result == Framing::kRefused) {
    CheckRefusal(v, true, where);
    return 0;
  }
  FUZZ_CHECK(v.status == 0 && v.reason.empty(), "a status without a refusal: " + where);
  if (v.result == Framing::kNeedMore) return 0;

  // The shortest chunked body is "0\r\n\r\n", and it ends in CRLF.
  FUZZ_CHECK(consumed >= 5 && consumed <= data.size(), std::to_string(consumed) + " " + where);
  FUZZ_CHECK(data.substr(consumed - 2, 2) == kCrlf, "consumed does not end in CRLF: " + where);
  FUZZ_CHECK(body.size() + 5 <= consumed, "more decoded than consumed: " + where);

  // A shorter prefix needs more; exactly the consumed bytes give the same.
  for (size_t k : {consumed - 1, consumed - 2, rng->Below(consumed)}) {
    size_t c2 = 0;
    std::string b2;
    FramingVerdict p = DecodeChunked(data.substr(0, k), limits, &c2, &b2);
    FUZZ_CHECK(p.result == Framing::kNeedMore,
               "a prefix of " + std::to_string(k) + " bytes: " + p.reason + " " + where);
  }
  {
    size_t c2 = 0;
    std::string b2;
    FramingVerdict p = DecodeChunked(data.substr(0, consumed), limits, &c2, &b2);
    FUZZ_CHECK(p.result == Framing::kComplete && c2 == consumed && b2 == body,
               "the consumed bytes alone: " + p.reason + " " + where);
  }

  // Re-chunked at other sizes, followed by what came after: same body.
  for (int i = 0; i < 2; ++i) {
    const std::string again = Rechunk(body, rng);
    const std::string next = again + std::string(data.substr(consumed));
    size_t c2 = 0;
    std::string b2;
    FramingVerdict r = DecodeChunked(next, limits, &c2, &b2);
    FUZZ_CHECK(r.result == Framing::kComplete,
               "a re-chunked body refused: " + r.reason + " " + Where(limits, again));
    FUZZ_CHECK(c2 == again.size(), std::to_string(c2) + " of " + Where(limits, again));
    FUZZ_CHECK(b2 == body, "re-chunked body decoded differently: " + Where(limits, again));
  }
  if (decoded != nullptr) *decoded = body;
  return consumed;
}

// What an accepted head holds, read independently of FrameHead.
struct FieldScan {
  int fields = 0;
  bool http10 = false;
  bool content_length = false;
  bool transfer_encoding = false;
  bool expect = false;
  bool folded = false;
  std::string request_line;
};

FieldScan Scan(std::string_view head) {  // from the request line to the blank line
  FieldScan s;
  size_t eol = head.find(kCrlf);
  s.request_line = std::string(head.substr(0, eol));
  s.http10 = s.request_line.size() >= 8 &&
             s.request_line.compare(s.request_line.size() - 8, 8, "HTTP/1.0") == 0;
  size_t pos = eol + 2;
  while (pos < head.size()) {
    eol = head.find(kCrlf, pos);
    if (eol == pos || eol == std::string_view::npos) break;  // the blank line
    std::string_view line = head.substr(pos, eol - pos);
    pos = eol + 2;
    ++s.fields;
    if (line.front() == ' ' || line.front() == '\t') s.folded = true;
    std::string_view name = line.substr(0, line.find(':'));
    if (EqualsNoCase(name, "Content-Length")) s.content_length = true;
    if (EqualsNoCase(name, "Transfer-Encoding")) s.transfer_encoding = true;
    if (EqualsNoCase(name, "Expect")) s.expect = true;
  }
  return s;
}

// FrameHead on `data`, then the body as the front frames it; returns the
// bytes of the whole request when it is complete, else 0.
size_t CheckRequest(std::string_view data, const FramingLimits& limits, Rng* rng) {
  const std::string where = Where(limits, data);
  FramedHead h;
  h.head_bytes = 7;  // stale values from a previous request
  h.content_length = 9;
  h.rewritten = "stale";
  FramingVerdict v = FrameHead(data, limits, &h);

  size_t start = 0;
  while (data.substr(start, 2) == kCrlf) start += 2;
  const size_t blank = data.find("\r\n\r\n", start);

  if (v.result == Framing::kRefused) {
    CheckRefusal(v, false, where);
    // More bytes never turn a refusal into anything else.
    static const char* const kMore[] = {"\r\n", "\r\n\r\n", "Host: x\r\n\r\n", "\n\r\n"};
    const std::string longer = std::string(data) + kMore[rng->Below(4)];
    FramedHead h2;
    FramingVerdict w = FrameHead(longer, limits, &h2);
    FUZZ_CHECK(w.result == Framing::kRefused, "refused, then not with more bytes: " + v.reason +
                                                  " " + Where(limits, longer));
    return 0;
  }
  FUZZ_CHECK(v.status == 0 && v.reason.empty(), "a status without a refusal: " + where);
  if (v.result == Framing::kNeedMore) {
    FUZZ_CHECK(blank == std::string_view::npos, "a whole head needs more: " + where);
    FUZZ_CHECK(data.size() <= limits.max_head_bytes,
               "waiting for a head already above max_head_bytes: " + where);
    return 0;
  }

  // Accepted: the head ends at the first blank line, within the limits.
  FUZZ_CHECK(blank != std::string_view::npos && h.head_bytes == blank + 4,
             "head_bytes " + std::to_string(h.head_bytes) + " " + where);
  FUZZ_CHECK(h.head_bytes <= limits.max_head_bytes,
             "accepted a head of " + std::to_string(h.head_bytes) + " bytes: " + where);
  const FieldScan s = Scan(data.substr(start, h.head_bytes - start));
  FUZZ_CHECK(s.fields <= limits.max_header_fields,
             "accepted " + std::to_string(s.fields) + " fields: " + where);
  FUZZ_CHECK(!s.folded, "accepted obsolete line folding: " + where);
  FUZZ_CHECK(!(s.content_length && s.transfer_encoding),
             "accepted Content-Length with Transfer-Encoding: " + where);
  FUZZ_CHECK(!(s.http10 && s.transfer_encoding), "accepted Transfer-Encoding on HTTP/1.0: " + where);
  FUZZ_CHECK(s.transfer_encoding == (h.framing == BodyFraming::kChunked),
             "Transfer-Encoding field and chunked framing disagree: " + where);
  FUZZ_CHECK(s.content_length == (h.framing == BodyFraming::kLength),
             "Content-Length field and length framing disagree: " + where);
  FUZZ_CHECK(s.expect == h.expect_continue, "Expect and expect_continue disagree: " + where);
  if (h.framing == BodyFraming::kLength) {
    FUZZ_CHECK(h.content_length <= limits.max_body_bytes,
               "accepted Content-Length " + std::to_string(h.content_length) + ": " + where);
  } else {
    FUZZ_CHECK(h.content_length == 0, "a content_length without length framing: " + where);
  }

  // What cpp-httplib gets: the request line and the fields it may see.
  const std::string& rw = h.rewritten;
  FUZZ_CHECK(rw.compare(0, s.request_line.size() + 2, s.request_line + "\r\n") == 0,
             "rewritten does not start with the request line: " + where);
  FUZZ_CHECK(rw.size() >= 2 && rw.compare(rw.size() - 2, 2, "\r\n") == 0 &&
                 rw.find("\r\n\r\n") == std::string::npos,
             "rewritten is not CRLF-terminated lines: " + Where(limits, rw));
  FUZZ_CHECK(rw.size() + 2 <= h.head_bytes - start, "rewritten grew: " + Where(limits, rw));
  const FieldScan rs = Scan(rw + "\r\n");
  FUZZ_CHECK(!rs.transfer_encoding && !rs.expect,
             "rewritten keeps Transfer-Encoding or Expect: " + Where(limits, rw));
  FUZZ_CHECK(rs.fields + (s.transfer_encoding ? 1 : 0) + (s.expect ? 1 : 0) <= s.fields,
             "rewritten dropped too little: " + Where(limits, rw));

  // Every shorter prefix needs more; the head alone frames the same.
  for (size_t k : {h.head_bytes - 1, h.head_bytes - 2, rng->Below(h.head_bytes)}) {
    FramedHead h2;
    FramingVerdict p = FrameHead(data.substr(0, k), limits, &h2);
    FUZZ_CHECK(p.result == Framing::kNeedMore,
               "a prefix of " + std::to_string(k) + " bytes: " + p.reason + " " + where);
  }
  {
    FramedHead h2;
    FramingVerdict p = FrameHead(data.substr(0, h.head_bytes), limits, &h2);
    FUZZ_CHECK(p.result == Framing::kComplete && SameHead(h, h2),
               "the head alone frames differently: " + p.reason + " " + where);
  }

  // The body, framed as the front does.
  std::string body;
  size_t total = 0;
  switch (h.framing) {
    case BodyFraming::kNone:
      total = h.head_bytes;
      break;
    case BodyFraming::kLength:
      if (data.size() - h.head_bytes >= h.content_length) {
        total = h.head_bytes + h.content_length;
        body = std::string(data.substr(h.head_bytes, h.content_length));
      }
      break;
    case BodyFraming::kChunked: {
      const size_t used = CheckChunked(data.substr(h.head_bytes), limits, rng, &body);
      if (used != 0) total = h.head_bytes + used;
      break;
    }
  }
  if (total == 0) return 0;

  // The request handed on to cpp-httplib frames again, to the same body.
  std::string handed = rw;
  if (h.framing == BodyFraming::kChunked) {
    handed += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  handed += "\r\n";
  const size_t handed_head = handed.size();
  handed += body;
  FramedHead again;
  FramingVerdict a = FrameHead(handed, limits, &again);
  FUZZ_CHECK(a.result == Framing::kComplete,
             "the request handed on is refused: " + a.reason + " " + Where(limits, handed));
  FUZZ_CHECK(again.head_bytes == handed_head && again.rewritten == handed.substr(0, handed_head - 2) &&
                 !again.expect_continue,
             "the request handed on frames differently: " + Where(limits, handed));
  if (h.framing == BodyFraming::kNone) {
    FUZZ_CHECK(again.framing == BodyFraming::kNone, Where(limits, handed));
  } else {
    FUZZ_CHECK(again.framing == BodyFraming::kLength && again.content_length == body.size(),
               "the request handed on has another body length: " + Where(limits, handed));
  }
  return total;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = fuzz::AsText(data, size);
  const FramingLimits limit_sets[] = {FramingLimits{}, FramingLimits{256, 4, 64}};
  for (const FramingLimits& limits : limit_sets) {
    Rng rng{Hash(text)};
    // Pipelined requests on one connection, as the front frames them.
    std::string_view rest = text;
    for (int i = 0; i < 16 && !rest.empty(); ++i) {
      const size_t used = CheckRequest(rest, limits, &rng);
      if (used == 0) break;
      FUZZ_CHECK(used <= rest.size(), Where(limits, rest));
      rest.remove_prefix(used);
    }
    // The input as a chunked body on its own.
    CheckChunked(text, limits, &rng, nullptr);
  }
  return 0;
}
