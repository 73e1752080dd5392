#include "sandbox/server/request_framing.h"

#include <gtest/gtest.h>

#include <string>

namespace vkspay::sandbox {
namespace {

FramingVerdict Frame(const std::string& data, FramedHead* head = nullptr,
                     FramingLimits limits = FramingLimits()) {
  FramedHead scratch;
  return FrameHead(data, limits, head != nullptr ? head : &scratch);
}

void ExpectRefused(const FramingVerdict& v, int status, const std::string& names) {
  EXPECT_EQ(v.result, Framing::kRefused) << names;
  EXPECT_EQ(v.status, status) << v.reason;
  EXPECT_NE(v.reason.find(names), std::string::npos) << v.reason;
}

TEST(FrameHead, ASimplePostIsFramedByItsContentLength) {
  FramedHead h;
  const std::string req =
      "POST /api HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloNEXT";
  FramingVerdict v = Frame(req, &h);
  ASSERT_EQ(v.result, Framing::kComplete) << v.reason;
  EXPECT_EQ(h.head_bytes, req.find("hello"));
  EXPECT_EQ(h.framing, BodyFraming::kLength);
  EXPECT_EQ(h.content_length, 5u);
  EXPECT_EQ(h.rewritten, "POST /api HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n");
}

TEST(FrameHead, NeedsMoreUntilTheBlankLine) {
  EXPECT_EQ(Frame("GET / HTTP/1.1\r\nHost: x\r\n").result, Framing::kNeedMore);
  EXPECT_EQ(Frame("GET / HT").result, Framing::kNeedMore);
  EXPECT_EQ(Frame("").result, Framing::kNeedMore);
  FramedHead h;
  ASSERT_EQ(Frame("GET / HTTP/1.1\r\n\r\n", &h).result, Framing::kComplete);
  EXPECT_EQ(h.framing, BodyFraming::kNone);
}

TEST(FrameHead, LeadingEmptyLinesAreSkippedAndCounted) {
  FramedHead h;
  const std::string req = "\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(Frame(req + "BODY", &h).result, Framing::kComplete);
  EXPECT_EQ(h.head_bytes, req.size());
  EXPECT_EQ(h.rewritten, "GET / HTTP/1.1\r\nHost: x\r\n");
}

TEST(FrameHead, MoreThanTheFieldLimitIs431EvenBeforeTheHeadEnds) {
  std::string head = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 100; ++i) head += "X-" + std::to_string(i) + ": v\r\n";
  EXPECT_EQ(Frame(head + "\r\n").result, Framing::kComplete);
  ExpectRefused(Frame(head + "X-Last: v\r\n\r\n"), 431, "more than 100 header fields");
  ExpectRefused(Frame(head + "X-Last: v\r\nX-More: v\r\n"), 431, "more than 100 header fields");
}

TEST(FrameHead, AHeadAboveTheByteLimitIs431) {
  const std::string big = "GET / HTTP/1.1\r\nX-Big: " + std::string(64 * 1024, 'a');
  ExpectRefused(Frame(big), 431, "longer than 65536 bytes");
  ExpectRefused(Frame(big + "\r\n\r\n"), 431, "at most 65536");
  FramingLimits small;
  small.max_head_bytes = 100;
  EXPECT_EQ(Frame("GET / HTTP/1.1\r\nHost: x\r\n\r\n", nullptr, small).result, Framing::kComplete);
}

TEST(FrameHead, ContentLengthWithTransferEncodingIs400) {
  ExpectRefused(Frame("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"),
                400, "both Content-Length and Transfer-Encoding");
  ExpectRefused(Frame("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\ncontent-length: 3\r\n\r\n"),
                400, "both Content-Length and Transfer-Encoding");
}

TEST(FrameHead, TwoDifferentContentLengthsAre400AndEqualOnesAreOne) {
  ExpectRefused(Frame("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n"), 400,
                "two different Content-Lengths: 3 and 4");
  ExpectRefused(Frame("POST / HTTP/1.1\r\nContent-Length: 3, 4\r\n\r\n"), 400,
                "two different Content-Lengths");
  FramedHead h;
  ASSERT_EQ(Frame("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n", &h).result,
            Framing::kComplete);
  EXPECT_EQ(h.content_length, 3u);
}

TEST(FrameHead, ContentLengthMustBeDigitsAndWithinTheLimit) {
  ExpectRefused(Frame("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"), 400, "decimal number");
  ExpectRefused(Frame("POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n"), 400, "\"0x10\"");
  ExpectRefused(Frame("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n"), 400,
                "decimal number");
  ExpectRefused(Frame("POST / HTTP/1.1\r\nContent-Length: 1048577\r\n\r\n"), 413,
                "Content-Length 1048577 is above the limit of 1048576 bytes");
}

TEST(FrameHead, CompressedBodiesAre415BeforeAnyBodyByte) {
  ExpectRefused(Frame("POST / HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: 9\r\n\r\n"),
                415, "\"gzip\": request bodies are not decompressed");
  ExpectRefused(Frame("POST / HTTP/1.1\r\nContent-Encoding: identity, br\r\n\r\n"), 415, "\"br\"");
  EXPECT_EQ(Frame("POST / HTTP/1.1\r\nContent-Encoding: identity\r\n\r\n").result,
            Framing::kComplete);
}

TEST(FrameHead, TransferEncodingsOtherThanChunkedAre501) {
  ExpectRefused(Frame("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), 501,
                "chunked expected");
  ExpectRefused(Frame("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), 400, "HTTP/1.0");
  FramedHead h;
  ASSERT_EQ(Frame("POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\nExpect: 100-continue\r\n\r\n", &h)
                .result,
            Framing::kComplete);
  EXPECT_EQ(h.framing, BodyFraming::kChunked);
  EXPECT_TRUE(h.expect_continue);
  EXPECT_EQ(h.rewritten, "POST / HTTP/1.1\r\n");  // both are the front's business
}

// Found by fuzz/request_framing_fuzz.cc: an empty Transfer-Encoding value
// was dropped as if the field were absent, so the head was framed with no
// body (or by its Content-Length), and a chunked body after it was read as
// the next pipelined request.
TEST(FrameHead, AnEmptyTransferEncodingIsRefusedNotIgnored) {
  ExpectRefused(Frame("POST / HTTP/1.1\r\nTransfer-Encoding: \r\n\r\n"
                      "5\r\nhello\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n"),
                501, "chunked expected");
  ExpectRefused(Frame("POST / HTTP/1.1\r\nTransfer-Encoding:\t \r\nContent-Length: 3\r\n\r\nabc"),
                400, "both Content-Length and Transfer-Encoding");
  ExpectRefused(Frame("POST / HTTP/1.0\r\nTransfer-Encoding:\r\n\r\n"), 400, "HTTP/1.0");
}

TEST(FrameHead, MalformedLinesAre400NamingWhatArrived) {
  ExpectRefused(Frame("GET /\r\n"), 400, "METHOD SP target SP HTTP/1.1");
  ExpectRefused(Frame("\x16\x03\x01\x02\x10\x01\x10\x01\xfc\x03\x03\r\n"), 400, "request");
  ExpectRefused(Frame("GET / HTTP/2.0\r\n\r\n"), 505, "HTTP version 2.0");
  ExpectRefused(Frame("GET / FTP/1.1\r\n\r\n"), 400, "\"FTP/1.1\"");
  ExpectRefused(Frame("GET / HTTP/1.1\r\nHost : x\r\n\r\n"), 400, "no whitespace before the colon");
  ExpectRefused(Frame("GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n"), 400, "obsolete line folding");
  ExpectRefused(Frame("GET / HTTP/1.1\r\nNoColon\r\n\r\n"), 400, "without a colon: \"NoColon\"");
  ExpectRefused(Frame("GET / HTTP/1.1\r\nA: b\nContent-Length: 5\r\n\r\n"), 400, "bare CR, LF");
  ExpectRefused(Frame("GET / HTTP/1.1\r\nExpect: something\r\n\r\n"), 417, "only 100-continue");
}

TEST(DecodeChunked, DecodesChunksExtensionsAndTrailers) {
  const std::string body = "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\nNEXT";
  size_t used = 0;
  std::string out;
  FramingVerdict v = DecodeChunked(body, FramingLimits(), &used, &out);
  ASSERT_EQ(v.result, Framing::kComplete) << v.reason;
  EXPECT_EQ(out, "hello world");
  EXPECT_EQ(used, body.size() - 4);
  for (size_t cut = 0; cut < body.size() - 4; ++cut) {
    EXPECT_EQ(DecodeChunked(body.substr(0, cut), FramingLimits(), &used, &out).result,
              Framing::kNeedMore)
        << "cut at " << cut;
  }
}

TEST(DecodeChunked, RefusesBadSizesMissingCrlfAndBodiesAboveTheLimit) {
  size_t used = 0;
  std::string out;
  ExpectRefused(DecodeChunked("zz\r\n", FramingLimits(), &used, &out), 400, "not hexadecimal");
  ExpectRefused(DecodeChunked("3\r\nabcX\r\n", FramingLimits(), &used, &out), 400,
                "not followed by CRLF");
  ExpectRefused(DecodeChunked("ffffffffffffffffff\r\n", FramingLimits(), &used, &out), 400,
                "1 to 15 hex digits");
  FramingLimits small;
  small.max_body_bytes = 8;
  ExpectRefused(DecodeChunked("5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n", small, &used, &out), 413,
                "above the limit of 8 bytes");
  ExpectRefused(DecodeChunked(std::string(5000, '1'), FramingLimits(), &used, &out), 400,
                "chunk-size line is too long");
}

TEST(RefusalResponse, IsACompleteAnswerThatClosesTheConnection) {
  const std::string r = RefusalResponse(431, "more than 100 header fields");
  EXPECT_EQ(r.rfind("HTTP/1.1 431 Request Header Fields Too Large\r\n", 0), 0u);
  EXPECT_NE(r.find("Connection: close\r\n"), std::string::npos);
  const std::string body = r.substr(r.find("\r\n\r\n") + 4);
  EXPECT_NE(r.find("Content-Length: " + std::to_string(body.size()) + "\r\n"), std::string::npos);
  EXPECT_NE(body.find("more than 100 header fields"), std::string::npos);
}

}  // namespace
}  // namespace vkspay::sandbox
