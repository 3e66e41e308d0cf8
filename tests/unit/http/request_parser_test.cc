#include "http/request_parser.h"

#include <gtest/gtest.h>

#include <string>

namespace hx {
namespace {

using State = RequestParser::State;

// Feeds `text` whole, then again one byte at a time, and checks that both
// end in the same state with the same bytes consumed.
struct Outcome {
  State state;
  int status;
  size_t used;
};

Outcome ParseWhole(const std::string& text, RequestLimits limits = {}) {
  RequestParser parser(limits);
  const size_t used = parser.Feed(text);
  return {parser.state(), parser.error_status(), used};
}

Outcome ParseBytewise(const std::string& text, RequestLimits limits = {}) {
  RequestParser parser(limits);
  size_t used = 0;
  for (char c : text) {
    if (parser.state() != State::kNeedMore) break;
    used += parser.Feed(std::string(1, c));
  }
  return {parser.state(), parser.error_status(), used};
}

void ExpectStatus(const std::string& text, int status, RequestLimits limits = {}) {
  for (const Outcome& o : {ParseWhole(text, limits), ParseBytewise(text, limits)}) {
    EXPECT_EQ(o.state, State::kError) << text;
    EXPECT_EQ(o.status, status) << text;
  }
}

TEST(RequestParserTest, SimpleGetIsCompleteAndKeepsWhatFollows) {
  const std::string first = "GET /readyz?verbose=1 HTTP/1.1\r\nHost: a\r\nX-A:  b \r\n\r\n";
  RequestParser parser;
  EXPECT_EQ(parser.Feed(first + "GET /next"), first.size());
  ASSERT_EQ(parser.state(), State::kComplete);
  const ParsedRequest& request = parser.request();
  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(request.target, "/readyz?verbose=1");
  EXPECT_EQ(request.path(), "/readyz");
  EXPECT_EQ(request.minor_version, 1);
  ASSERT_NE(request.Header("x-a"), nullptr);
  EXPECT_EQ(*request.Header("x-a"), "b");
  EXPECT_TRUE(request.keep_alive);
  EXPECT_EQ(parser.Feed("more"), 0u);  // nothing more until Reset()
  parser.Reset();
  EXPECT_EQ(parser.Feed("GET / HTTP/1.0\r\n\r\n"), 18u);
  EXPECT_EQ(parser.state(), State::kComplete);
  EXPECT_FALSE(parser.request().keep_alive);
}

TEST(RequestParserTest, ByteByByteGivesTheSameRequest) {
  const std::string text =
      "POST /heartbeat/x HTTP/1.1\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";
  const Outcome o = ParseBytewise(text);
  EXPECT_EQ(o.state, State::kComplete);
  EXPECT_EQ(o.used, text.size());
  RequestParser parser;
  parser.Feed(text);
  EXPECT_EQ(parser.request().body, "hello");
  EXPECT_FALSE(parser.request().keep_alive);
}

TEST(RequestParserTest, LeadingEmptyLinesAreIgnored) {
  RequestParser parser;
  parser.Feed("\r\n\r\nGET / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(parser.state(), State::kComplete);
}

TEST(RequestParserTest, ABodyShorterThanDeclaredIsNeverComplete) {
  RequestParser parser;
  parser.Feed("POST /heartbeat/x HTTP/1.1\r\nContent-Length: 10\r\n\r\nshort");
  EXPECT_EQ(parser.state(), State::kNeedMore);
  EXPECT_TRUE(parser.head_complete());
}

TEST(RequestParserTest, ConflictingContentLengthsAre400) {
  ExpectStatus("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400);
  ExpectStatus("POST / HTTP/1.1\r\nContent-Length: 3, 4\r\n\r\nabcd", 400);
  ExpectStatus("POST / HTTP/1.1\r\nContent-Length: +3\r\n\r\nabc", 400);
  ExpectStatus("POST / HTTP/1.1\r\nContent-Length: 0x3\r\n\r\nabc", 400);
  ExpectStatus("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400);
  // The same value twice is one value.
  RequestParser parser;
  parser.Feed("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc");
  EXPECT_EQ(parser.state(), State::kComplete);
  EXPECT_EQ(parser.Forwardable(), "POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
}

TEST(RequestParserTest, ContentLengthWithChunkedIs400) {
  ExpectStatus(
      "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n"
      "\r\n",
      400);
  ExpectStatus("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400);
  ExpectStatus("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 400);
  ExpectStatus("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501);
}

TEST(RequestParserTest, ChunkedBodiesAreDechunked) {
  const std::string text =
      "POST /heartbeat/x/fail HTTP/1.1\r\nTransfer-Encoding: Chunked\r\nX-B: 1\r\n\r\n"
      "4;ext=1\r\nboom\r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n";
  for (const Outcome& o : {ParseWhole(text), ParseBytewise(text)}) {
    EXPECT_EQ(o.state, State::kComplete);
    EXPECT_EQ(o.used, text.size());
  }
  RequestParser parser;
  parser.Feed(text);
  EXPECT_EQ(parser.request().body, "boom0123456789");
  EXPECT_EQ(parser.Forwardable(),
            "POST /heartbeat/x/fail HTTP/1.1\r\nX-B: 1\r\nContent-Length: 14\r\n\r\n"
            "boom0123456789");
}

TEST(RequestParserTest, BadChunksAre400) {
  const std::string head = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  ExpectStatus(head + "zz\r\nab\r\n0\r\n\r\n", 400);
  ExpectStatus(head + "-1\r\n", 400);
  ExpectStatus(head + "\r\n", 400);
  ExpectStatus(head + "ffffffffffffffffff\r\n", 400);
  ExpectStatus(head + "2\r\nabc\r\n0\r\n\r\n", 400);  // data longer than its size
  ExpectStatus(head + "2\nab\r\n0\r\n\r\n", 400);     // bare LF
  ExpectStatus(head + "2 x\r\nab\r\n0\r\n\r\n", 400);
  ExpectStatus(head + "0\r\nbad trailer\r\n\r\n", 400);
  ExpectStatus(head + std::string(2000, '0') + "1\r\n", 400);
}

TEST(RequestParserTest, BodiesOverTheLimitAre413) {
  RequestLimits limits;
  limits.max_body_bytes = 8;
  ExpectStatus("POST / HTTP/1.1\r\nContent-Length: 9\r\n\r\n", 413, limits);
  ExpectStatus("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n4\r\n", 413,
               limits);
  RequestParser parser(limits);
  parser.Feed("POST / HTTP/1.1\r\nContent-Length: 8\r\n\r\n12345678");
  EXPECT_EQ(parser.state(), State::kComplete);
}

TEST(RequestParserTest, HeadLimitsAre431) {
  RequestLimits limits;
  limits.max_head_bytes = 64;
  limits.max_headers = 2;
  ExpectStatus("GET / HTTP/1.1\r\nX-Big: " + std::string(100, 'a') + "\r\n\r\n", 431, limits);
  ExpectStatus("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", 431, limits);
  ExpectStatus(std::string(100, 'G'), 431, limits);  // never ends
  // Exactly at the limits is fine.
  const std::string at = "GET / HTTP/1.1\r\nA: 1\r\nB: " + std::string(35, 'b') + "\r\n\r\n";
  ASSERT_EQ(at.size(), 64u);
  EXPECT_EQ(ParseWhole(at, limits).state, State::kComplete);
  EXPECT_EQ(ParseBytewise(at, limits).state, State::kComplete);
}

TEST(RequestParserTest, MalformedHeadsAre400) {
  ExpectStatus("GET / HTTP/1.1\nHost: a\n\n", 400);           // bare LF
  ExpectStatus("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", 400);  // bare CR
  ExpectStatus("GET / HTTP/1.1\r\nX: a\r\n  folded\r\n\r\n", 400);
  ExpectStatus("GET / HTTP/1.1\r\nX : a\r\n\r\n", 400);  // space before colon
  ExpectStatus("GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400);
  ExpectStatus("GET / HTTP/1.1\r\nX: a\x01\r\n\r\n", 400);
  ExpectStatus(std::string("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", 27), 400);
  ExpectStatus("GET  / HTTP/1.1\r\n\r\n", 400);
  ExpectStatus("GET / HTTP/1.1 \r\n\r\n", 400);
  ExpectStatus("GET /a b HTTP/1.1\r\n\r\n", 400);
  ExpectStatus("G(T / HTTP/1.1\r\n\r\n", 400);
  ExpectStatus("GET / HTTX/1.1\r\n\r\n", 400);
  ExpectStatus("GET / HTTP/2.0\r\n\r\n", 505);
  ExpectStatus("GET / HTTP/1.2\r\n\r\n", 505);
}

TEST(RequestParserTest, ExpectContinueIsNotedAndNotForwarded) {
  RequestParser parser;
  parser.Feed("POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
  EXPECT_TRUE(parser.head_complete());
  EXPECT_TRUE(parser.request().expect_continue);
  parser.Feed("ok");
  ASSERT_EQ(parser.state(), State::kComplete);
  EXPECT_EQ(parser.Forwardable(), "POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\nok");
}

TEST(RequestParserTest, ForwardableNeverHasMoreHeadersThanSent) {
  RequestParser parser;
  parser.Feed("GET /metrics HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n\r\n");
  EXPECT_EQ(parser.Forwardable(),
            "GET /metrics HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n\r\n");
}

}  // namespace
}  // namespace hx
