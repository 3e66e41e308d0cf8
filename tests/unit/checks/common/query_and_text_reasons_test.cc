// Failure-reason mappings of checks/common/failure_reasons: a failed lookup,
// and for the types whose clients report errors their own way, a DNS query
// without a response (QueryFailure) and a client library's strerror() text
// (libpq, hiredis).

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "checks/common/failure_reasons.h"

namespace hx {
namespace {

TEST(QueryFailureReasonTest, EachKindHasItsReason) {
  EXPECT_EQ(ReasonOf(QueryFailure::kNone), FailureReason::kNone);
  EXPECT_EQ(ReasonOf(QueryFailure::kTimeout), FailureReason::kDnsTimeout);
  EXPECT_EQ(ReasonOf(QueryFailure::kRefused), FailureReason::kConnectRefused);
  EXPECT_EQ(ReasonOf(QueryFailure::kBadResponse), FailureReason::kProtocolError);
  EXPECT_EQ(ReasonOf(QueryFailure::kLocal), FailureReason::kInternal);
  EXPECT_EQ(ReasonOf(QueryFailure::kOther), FailureReason::kDnsError);
}

// A lookup that failed always has a reason, dns_error where the resolver
// classified nothing (the rule http, grpc and every Attempt share).
TEST(FailedLookupReasonTest, EachKindHasItsReasonAndNoneIsDnsError) {
  EXPECT_EQ(ReasonOfFailedLookup(ResolveFailure::kNone), FailureReason::kDnsError);
  EXPECT_EQ(ReasonOfFailedLookup(ResolveFailure::kNxDomain), FailureReason::kDnsNxdomain);
  EXPECT_EQ(ReasonOfFailedLookup(ResolveFailure::kTimeout), FailureReason::kDnsTimeout);
  EXPECT_EQ(ReasonOfFailedLookup(ResolveFailure::kOther), FailureReason::kDnsError);
  EXPECT_EQ(ReasonOfFailedLookup(ResolveFailure::kLocal), FailureReason::kInternal);
}

TEST(SocketErrorTextReasonTest, ReadsTheErrnoTextInALibrarysMessage) {
  EXPECT_EQ(ReasonOfSocketErrorText("Connection refused"), FailureReason::kConnectRefused);
  EXPECT_EQ(ReasonOfSocketErrorText("could not connect: Connection timed out"),
            FailureReason::kConnectTimeout);
  EXPECT_EQ(ReasonOfSocketErrorText("No route to host"), FailureReason::kNetworkUnreachable);
  EXPECT_EQ(ReasonOfSocketErrorText("Network is unreachable"), FailureReason::kNetworkUnreachable);
  EXPECT_EQ(ReasonOfSocketErrorText("Connection reset by peer"), FailureReason::kConnectionClosed);
  EXPECT_EQ(ReasonOfSocketErrorText("Broken pipe"), FailureReason::kConnectionClosed);
  // ENFILE's text contains EMFILE's; both are the daemon's own shortage.
  EXPECT_EQ(ReasonOfSocketErrorText(std::string("socket: ") + std::strerror(ENFILE)),
            FailureReason::kInternal);
  EXPECT_EQ(ReasonOfSocketErrorText(std::strerror(EMFILE)), FailureReason::kInternal);
  // A unix socket nobody listens on.
  EXPECT_EQ(ReasonOfSocketErrorText("No such file or directory"), FailureReason::kConnectRefused);
  EXPECT_EQ(ReasonOfSocketErrorText("server closed the connection"), FailureReason::kNone);
  EXPECT_EQ(ReasonOfSocketErrorText(""), FailureReason::kNone);
}

}  // namespace
}  // namespace hx
