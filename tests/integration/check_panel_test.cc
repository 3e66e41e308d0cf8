// The check panel (GET /check/<name>) of the real daemon in headless
// Chromium: the status page's card links to it, it lists the failure journal
// newest first without any script, and text from targets stays text.
// Screenshots (desktop, phone, dark) go to build/artifacts/check-panel/.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "support/chromium.h"
#include "support/daemon_process.h"
#include "support/fault_servers.h"

namespace hx {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(CheckPanelTest, JournalInChromiumNewestFirstAndEscaped) {
  if (!HaveChromium()) GTEST_SKIP() << "chromium is not installed (apt-get install chromium)";
  ClosedPort closed;
  TempDir storage;
  DaemonProcess daemon(
      "checks:\n"
      "  - name: payments-db\n"
      "    interval: 300ms\n"
      "    timeout: 250ms\n"
      "    labels: {team: payments, owner: \"<img src=x onerror=alert(1)>\"}\n"
      "    tcp: {address: \"" +
          closed.address() +
          "\"}\n"
          "  - name: batch-plugin\n"
          "    interval: 400ms\n"
          "    timeout: 350ms\n"
          "    exec:\n"
          "      command: [/bin/sh, -c, 'echo \"CRITICAL: <script>alert(1)</script> queue "
          "stuck\"; exit 2']\n",
      {"--storage.path=" + storage.path()});
  ASSERT_TRUE(daemon.started()) << daemon.Logs();
  for (const std::string check : {"payments-db", "batch-plugin"}) {
    const HttpReply reply = daemon.PollUntil(
        "/status/" + check,
        [](const HttpReply& r) {
          const json doc = json::parse(r.body, nullptr, false);
          return doc.is_object() && doc["journal"].size() >= 3;
        },
        20s);
    ASSERT_EQ(reply.status, 200) << reply.body;
  }
  const std::string dir = ArtefactDir("check-panel");

  // The status page's card opens the panel.
  const CommandResult landing = RunChromium({"--dump-dom"}, daemon.Url("/"));
  ASSERT_EQ(landing.exit_code, 0) << landing.output;
  EXPECT_THAT(landing.output, HasSubstr("<a href=\"/check/payments-db\">"));
  EXPECT_THAT(landing.output, HasSubstr("<a href=\"/check/batch-plugin\">"));

  // The panel has no script at all (its policy allows none), so what the
  // browser shows is what the server rendered, with JavaScript on or off.
  // (Chromium's --dump-dom itself needs scripting, so it stays on here.)
  const HttpReply served = HttpRequest(daemon.Url("/check/batch-plugin"));
  ASSERT_EQ(served.status, 200);
  EXPECT_EQ(served.headers.at("content-type"), "text/html; charset=utf-8");
  EXPECT_THAT(served.body, Not(HasSubstr("<script")));
  const CommandResult dump = RunChromium({"--dump-dom"}, daemon.Url("/check/batch-plugin"));
  ASSERT_EQ(dump.exit_code, 0) << dump.output;
  const std::string& dom = dump.output;
  std::ofstream(dir + "/batch-plugin.html") << dom;
  EXPECT_THAT(dom, HasSubstr("<main class=\"panel\" id=\"panel\" data-check=\"batch-plugin\">"));
  EXPECT_THAT(dom, HasSubstr("<ol class=\"journal\">"));
  // The plugin's output is text in the DOM, never an element.
  EXPECT_THAT(dom, HasSubstr("CRITICAL: &lt;script&gt;alert(1)&lt;/script&gt; queue stuck"));
  EXPECT_THAT(dom, Not(HasSubstr("<script>alert")));
  // Newest first: attempts count down the list.
  std::vector<int> attempts;
  const std::regex entry(R"re(<li class="entry \w+" data-state="\w+" data-attempt="(\d+)")re");
  for (auto it = std::sregex_iterator(dom.begin(), dom.end(), entry); it != std::sregex_iterator();
       ++it) {
    attempts.push_back(std::stoi((*it)[1]));
  }
  ASSERT_GE(attempts.size(), 3u) << dom.substr(0, 3000);
  EXPECT_TRUE(std::is_sorted(attempts.rbegin(), attempts.rend()));
  EXPECT_EQ(attempts.back(), 1);
  EXPECT_THAT(dom, HasSubstr("pending \xE2\x86\x92 unhealthy"));

  const CommandResult db = RunChromium({"--dump-dom"}, daemon.Url("/check/payments-db"));
  ASSERT_EQ(db.exit_code, 0) << db.output;
  EXPECT_THAT(db.output, HasSubstr("owner=&lt;img src=x onerror=alert(1)&gt;"));
  EXPECT_THAT(db.output, Not(HasSubstr("<img")));
  EXPECT_TRUE(
      std::regex_search(db.output, std::regex(R"re(<span class="reason">[a-z_]+</span>)re")));

  Screenshots(daemon.Url("/check/payments-db"), dir, "check-panel",
              DesktopPhoneDark("1200,900", "390,844"));
}

}  // namespace
}  // namespace hx
