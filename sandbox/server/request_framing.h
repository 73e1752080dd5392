// Framing an HTTP/1.1 request before anything parses it for meaning: where
// the head ends, whether it is within the limits, how long the body is, and
// whether the head is one the server must refuse (RFC 9112 sections 2-7).
//
// The HTTP front (http_front.h) reads bytes off a connection and asks
// FrameHead whether they hold a whole head; only a framed request (head and
// body complete, within every limit) reaches cpp-httplib, which then never
// reads past it. That is what closes the holes cpp-httplib 0.11 has on its
// own: no limit on header count or size, compressed bodies inflated before
// the size check, a body framed by both Content-Length and
// Transfer-Encoding, pipelined requests dropped (docs/reliability.md).
//
// Everything here is pure (no I/O, no clock) and thread-compatible; the
// refusals carry the status to answer and a reason naming what was expected
// and what arrived.
#ifndef VKSPAY_SANDBOX_SERVER_REQUEST_FRAMING_H_
#define VKSPAY_SANDBOX_SERVER_REQUEST_FRAMING_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace vkspay::sandbox {

struct FramingLimits {
  size_t max_head_bytes = 64 * 1024;  // request line + header fields + CRLFs
  int max_header_fields = 100;
  size_t max_body_bytes = 1 << 20;  // Content-Length, or the decoded chunked body
};

enum class BodyFraming { kNone, kLength, kChunked };

struct FramedHead {
  size_t head_bytes = 0;  // through the blank line
  BodyFraming framing = BodyFraming::kNone;
  size_t content_length = 0;   // kLength only
  bool expect_continue = false;
  // The head as cpp-httplib should see it: the request line and the field
  // lines, each ending in CRLF, without leading CRLFs, Transfer-Encoding and
  // Expect (the front dechunks and answers 100-continue itself) and without
  // the blank line (the front adds Content-Length for a dechunked body).
  std::string rewritten;
};

// What FrameHead and DecodeChunked found.
enum class Framing {
  kNeedMore,  // no verdict yet: more bytes are needed
  kComplete,  // framed; see the out-parameter
  kRefused,   // answer `status` with `reason`, then close the connection
};

struct FramingVerdict {
  Framing result = Framing::kNeedMore;
  int status = 0;      // kRefused: 400, 413, 415, 417, 431, 501 or 505
  std::string reason;  // kRefused: one line naming the field or the limit
};

// Frames the head at the start of `data` (leading CRLFs, which RFC 9112
// section 2.2 lets a server ignore, count towards head_bytes). Refuses:
// more than max_head_bytes before the blank line or more than
// max_header_fields fields (431); a malformed request line or field line,
// obsolete line folding, whitespace before a colon (400); an HTTP version
// other than 1.0 or 1.1 (505); Content-Length together with
// Transfer-Encoding, two different Content-Lengths, a Content-Length that
// is not a number (400); a Transfer-Encoding other than "chunked" (501, 400
// on HTTP/1.0); a Content-Encoding other than "identity" (415: request
// bodies are never inflated); an Expect other than 100-continue (417); a
// Content-Length above max_body_bytes (413).
FramingVerdict FrameHead(std::string_view data, const FramingLimits& limits, FramedHead* head);

// Decodes a chunked body at the start of `data`: on kComplete, `*consumed`
// is the bytes it took (chunks, last chunk, trailer fields and the final
// CRLF) and `*body` the decoded bytes. Refuses a malformed chunk (400), a
// decoded body above max_body_bytes (413) and trailer fields above
// max_head_bytes (431). Chunk extensions and trailer fields are read and
// dropped.
FramingVerdict DecodeChunked(std::string_view data, const FramingLimits& limits, size_t* consumed,
                             std::string* body);

// "HTTP/1.1 431 Request Header Fields Too Large" with a plain-text body
// holding `reason`, and Connection: close.
std::string RefusalResponse(int status, const std::string& reason);

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_SERVER_REQUEST_FRAMING_H_
