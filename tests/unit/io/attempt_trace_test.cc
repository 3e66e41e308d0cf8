// The masking rules of the debug run's trace (io/attempt_trace.h): what a
// trace may show of URLs and header lines.

#include "io/attempt_trace.h"

#include <gtest/gtest.h>

namespace hx {
namespace {

TEST(MaskUrlTest, MasksUserInfoAndQueryValuesKeepsTheRest) {
  EXPECT_EQ(MaskUrl("https://alice:pw@api.internal:8443/v1/health?key=abc&x=1#frag"),
            "https://<masked>@api.internal:8443/v1/health?key=<masked>&x=<masked>");
  EXPECT_EQ(MaskUrl("/health?token"), "/health?<masked>");
  EXPECT_EQ(MaskUrl("/health"), "/health");
  EXPECT_EQ(MaskUrl("http://[::1]:80/?a=&b=2"), "http://[::1]:80/?a=<masked>&b=<masked>");
  // An '@' in the path is not user-info.
  EXPECT_EQ(MaskUrl("http://host/a@b"), "http://host/a@b");
}

TEST(MaskHeaderLineTest, KeepsHarmlessHeadersMasksEveryOther) {
  EXPECT_EQ(MaskHeaderLine("Host: api.internal"), "Host: api.internal");
  EXPECT_EQ(MaskHeaderLine("content-type: application/json"), "content-type: application/json");
  EXPECT_EQ(MaskHeaderLine("Authorization: Basic YWxpY2U6cHc="), "Authorization: <masked>");
  EXPECT_EQ(MaskHeaderLine("Cookie: sid=1"), "Cookie: <masked>");
  EXPECT_EQ(MaskHeaderLine("Set-Cookie: sid=1"), "Set-Cookie: <masked>");
  EXPECT_EQ(MaskHeaderLine("X-Api-Key: k"), "X-Api-Key: <masked>");
  EXPECT_EQ(MaskHeaderLine("Location: https://sso/cb?code=xyz"),
            "Location: https://sso/cb?code=<masked>");
  EXPECT_EQ(MaskHeaderLine("GET /v1?key=abc HTTP/1.1"), "GET /v1?key=<masked> HTTP/1.1");
  EXPECT_EQ(MaskHeaderLine("HTTP/1.1 503 Service Unavailable"), "HTTP/1.1 503 Service Unavailable");
}

TEST(PrintableExcerptTest, EscapesBinaryAndCuts) {
  EXPECT_EQ(PrintableExcerpt(std::string("ok\n\x01\xff", 5), 512), "ok\n\\x01\\xff");
  EXPECT_EQ(PrintableExcerpt("abcdef", 3), "abc...");
}

TEST(AttemptTraceTest, EventsKeepTheirOrderAndTime) {
  AttemptTrace trace;
  trace.Add("start", "a");
  trace.Add("connect", "b");
  ASSERT_EQ(trace.events().size(), 2u);
  EXPECT_EQ(trace.events()[0].step, "start");
  EXPECT_EQ(trace.events()[1].text, "b");
  EXPECT_LE(trace.events()[0].at_ns, trace.events()[1].at_ns);
}

}  // namespace
}  // namespace hx
