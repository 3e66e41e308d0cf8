// Parsing of the `icmp:` mapping, from inline YAML, with the check's timeout
// as the config reader hands it to the type's parser.

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "checks/icmp/icmp_check.h"
#include "config/parse_context.h"

namespace hx {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

struct Parsed {
  std::shared_ptr<const IcmpCheckSpec> spec;
  std::vector<std::string> errors;
};

Parsed Parse(const std::string& yaml, std::optional<Duration> timeout = seconds(5)) {
  config::ParseContext ctx("inline.yml", [](const std::string& name) -> std::optional<std::string> {
    if (name == "GATEWAY") return "10.0.0.1";
    return std::nullopt;
  });
  ctx.set_check_timeout(timeout);
  YAML::Node root = YAML::Load(yaml);
  config::MapReader reader(root, "icmp", ctx);
  Parsed out;
  out.spec = ParseIcmpCheckSpec(reader);
  for (const auto& e : ctx.errors()) out.errors.push_back(e.ToString());
  return out;
}

TEST(IcmpConfigTest, HostOnlyTakesTheDefaults) {
  Parsed p = Parse("host: 127.0.0.1");
  ASSERT_NE(p.spec, nullptr) << ::testing::PrintToString(p.errors);
  const IcmpCheckSettings& s = p.spec->settings();
  EXPECT_EQ(s.host, "127.0.0.1");
  EXPECT_EQ(s.count, 5);
  EXPECT_EQ(s.packet_interval, milliseconds(200));
  EXPECT_EQ(s.size, 56);
  EXPECT_EQ(s.loss_degraded_above, 0.0);
  EXPECT_EQ(s.loss_unhealthy_above, 0.5);
  EXPECT_FALSE(s.rtt_degraded_above.has_value());
  EXPECT_FALSE(s.rtt_unhealthy_above.has_value());
  EXPECT_EQ(s.ip_policy, IpPolicy::kFirst);
  // 5s timeout less 100ms to report, less 4 intervals before the last packet.
  EXPECT_EQ(s.reply_wait, milliseconds(5000 - 100 - 4 * 200));
  EXPECT_EQ(p.spec->Target(), "127.0.0.1");
}

TEST(IcmpConfigTest, EveryKey) {
  Parsed p = Parse(R"(
host: "${GATEWAY}"
count: 10
packet_interval: 100ms
size: 1400
loss_degraded_above: 10%
loss_unhealthy_above: 50%
rtt_degraded_above: 100ms
rtt_unhealthy_above: 250ms
ip_policy: all
)");
  ASSERT_NE(p.spec, nullptr) << ::testing::PrintToString(p.errors);
  const IcmpCheckSettings& s = p.spec->settings();
  EXPECT_EQ(s.host, "10.0.0.1");
  EXPECT_EQ(s.count, 10);
  EXPECT_EQ(s.packet_interval, milliseconds(100));
  EXPECT_EQ(s.size, 1400);
  EXPECT_DOUBLE_EQ(*s.loss_degraded_above, 0.10);
  EXPECT_DOUBLE_EQ(*s.loss_unhealthy_above, 0.50);
  EXPECT_EQ(*s.rtt_degraded_above, milliseconds(100));
  EXPECT_EQ(*s.rtt_unhealthy_above, milliseconds(250));
  EXPECT_EQ(s.ip_policy, IpPolicy::kAll);
  EXPECT_EQ(s.reply_wait, milliseconds(5000 - 100 - 9 * 100));
}

TEST(IcmpConfigTest, MarginIsATenthOfShortTimeouts) {
  EXPECT_EQ(IcmpReportMargin(seconds(1)), milliseconds(100));
  EXPECT_EQ(IcmpReportMargin(milliseconds(500)), milliseconds(50));
  EXPECT_EQ(IcmpReportMargin(seconds(30)), milliseconds(100));
}

TEST(IcmpConfigTest, PacketsMustFitInTheTimeout) {
  // 5 x 200ms = 1s fits a 2s timeout but not a 1s one (900ms after the margin).
  EXPECT_NE(Parse("{host: ::1, count: 5, packet_interval: 200ms}", seconds(2)).spec, nullptr);
  Parsed p = Parse("{host: ::1, count: 5, packet_interval: 200ms}", seconds(1));
  EXPECT_EQ(p.spec, nullptr);
  ASSERT_EQ(p.errors.size(), 1u);
  EXPECT_EQ(p.errors[0],
            "inline.yml:1:20: icmp.count: 5 packets at 200ms need 1s, more than the check's "
            "timeout (1s) leaves: 900ms (the timeout less 100ms to report in); lower count or "
            "packet_interval, or raise timeout");
  // Without count the error sits at packet_interval.
  p = Parse("{host: ::1, packet_interval: 300ms}", seconds(1));
  ASSERT_EQ(p.errors.size(), 1u);
  EXPECT_NE(p.errors[0].find("icmp.packet_interval: 5 packets at 300ms need 1s500ms"),
            std::string::npos)
      << p.errors[0];
}

TEST(IcmpConfigTest, RttThresholdBeyondTheReplyWaitIsAnError) {
  // 1s timeout, one packet: a reply may take 900ms, so 1s can never be crossed.
  Parsed p = Parse("{host: ::1, count: 1, rtt_unhealthy_above: 1s}", seconds(1));
  EXPECT_EQ(p.spec, nullptr);
  ASSERT_EQ(p.errors.size(), 1u);
  EXPECT_EQ(p.errors[0],
            "inline.yml:1:44: icmp.rtt_unhealthy_above: is never reached: a reply later than "
            "900ms counts as lost (see reply wait in docs/checks/icmp.md)");
}

TEST(IcmpConfigTest, BadValues) {
  Parsed p = Parse(R"(
host: ""
count: 0
packet_interval: 1ms
size: 70000
loss_degraded_above: 60%
loss_unhealthy_above: 50%
rtt_degraded_above: 300ms
rtt_unhealthy_above: 200ms
colour: red
)");
  EXPECT_EQ(p.spec, nullptr);
  EXPECT_EQ(p.errors,
            (std::vector<std::string>{
                "inline.yml:2:7: icmp.host: must not be empty",
                "inline.yml:3:8: icmp.count: must be an integer from 1 to 100, got \"0\"",
                "inline.yml:4:18: icmp.packet_interval: must be at least 10ms",
                "inline.yml:5:7: icmp.size: must be an integer from 0 to 65507, got \"70000\"",
                "inline.yml:6:22: icmp.loss_degraded_above: must not be above "
                "loss_unhealthy_above (50%)",
                "inline.yml:8:21: icmp.rtt_degraded_above: must not be above rtt_unhealthy_above "
                "(200ms)",
                "inline.yml:10:1: icmp: unknown key \"colour\"",
            }));
}

TEST(IcmpConfigTest, HostIsRequired) {
  Parsed p = Parse("count: 3");
  EXPECT_EQ(p.spec, nullptr);
  ASSERT_EQ(p.errors.size(), 1u);
  EXPECT_NE(p.errors[0].find("missing required key \"host\""), std::string::npos) << p.errors[0];
}

}  // namespace
}  // namespace hx
