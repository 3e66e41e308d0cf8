// The one port rule (ParsePort), used by every "host:port" (SplitHostPort),
// a dns check's server and a postgres DSN.
#include "checks/common/host_port.h"

#include <gtest/gtest.h>

namespace hx {
namespace {

TEST(ParsePortTest, AcceptsOneTo65535InDigitsOnly) {
  EXPECT_EQ(ParsePort("1"), 1);
  EXPECT_EQ(ParsePort("5432"), 5432);
  EXPECT_EQ(ParsePort("65535"), 65535);
  EXPECT_EQ(ParsePort("00080"), 80);
  for (const char* bad : {"", "0", "65536", "99999", "000080", "+80", "-1", " 80", "80 ", "8o",
                          "0x50", "123456"}) {
    EXPECT_EQ(ParsePort(bad), std::nullopt) << '"' << bad << '"';
  }
}

TEST(SplitHostPortTest, SplitsNamesV4AndBracketedV6) {
  std::string error;
  EXPECT_EQ(SplitHostPort("db.internal:5432", &error), std::make_pair(std::string("db.internal"),
                                                                      uint16_t{5432}));
  EXPECT_EQ(SplitHostPort("[::1]:25", &error), std::make_pair(std::string("::1"), uint16_t{25}));
  EXPECT_EQ(SplitHostPort("10.0.0.1:0", &error), std::nullopt);
  EXPECT_EQ(error, "port must be a number from 1 to 65535");
  EXPECT_EQ(SplitHostPort("::1:25", &error), std::nullopt);
  EXPECT_EQ(error, "an IPv6 address must be in brackets, e.g. [::1]:25");
}

}  // namespace
}  // namespace hx
