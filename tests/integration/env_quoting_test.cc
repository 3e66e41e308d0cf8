// Values with ${VAR} are quoted as the config wrote them, never expanded, in
// every message: config errors (--check-config), check targets in /status,
// result details and the log. The expansion may be a secret, and it is not
// what the user wrote. On the real binary.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "support/daemon_process.h"
#include "support/status_json.h"

namespace hx {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

TEST(EnvQuotingTest, AMissingExecProgramIsQuotedAsWritten) {
  TempDir dir;
  const std::string plugins = dir.path() + "/plugins-expanded-7f3a";
  const std::string config =
      dir.Write("health_exporter.yml",
                "checks:\n"
                "  - name: plugin\n"
                "    exec: {command: ['${HX_PLUGIN_DIR}/check_missing', '-w', '1']}\n"
                "  - name: dir\n"
                "    exec:\n"
                "      command: [/bin/true]\n"
                "      working_dir: '${HX_PLUGIN_DIR}/work'\n");
  setenv("HX_PLUGIN_DIR", plugins.c_str(), 1);
  const CommandResult r = RunCommand({HX_BINARY, "--check-config", "--config.file=" + config});
  unsetenv("HX_PLUGIN_DIR");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(
      r.output.find("cannot use \"${HX_PLUGIN_DIR}/check_missing\": No such file or directory"),
      std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("cannot use \"${HX_PLUGIN_DIR}/work\": No such file or directory"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("plugins-expanded-7f3a"), std::string::npos) << r.output;
}

TEST(EnvQuotingTest, TargetsAndDetailsQuoteTheConfigAsWritten) {
  TempDir dir;
  const std::string plugin = dir.path() + "/check-expanded-91c2";
  dir.Write("check-expanded-91c2", "#!/bin/sh\necho OK\n");
  ASSERT_EQ(chmod(plugin.c_str(), 0755), 0);
  DaemonProcess d(
      "checks:\n"
      "  - name: plugin\n"
      "    interval: 100ms\n"
      "    exec: {command: ['${HX_PLUGIN}']}\n"
      "  - name: port\n"
      "    interval: 100ms\n"
      "    tcp: {address: '${HX_HOST}:1'}\n",
      {}, {{"HX_PLUGIN", plugin}, {"HX_HOST", "127.0.0.1"}});
  ASSERT_TRUE(d.started()) << d.Logs();
  d.PollUntil(
      "/status",
      [](const HttpReply& r) {
        if (r.status != 200) return false;
        const json status = json::parse(r.body);
        const json* c = FindCheck(status, "plugin");
        return c != nullptr && (*c)["state"] == "healthy";
      },
      10s);
  // The program disappears after the config was loaded: the run fails.
  ASSERT_EQ(unlink(plugin.c_str()), 0);
  const HttpReply reply = d.PollUntil(
      "/status",
      [](const HttpReply& r) {
        if (r.status != 200) return false;
        const json status = json::parse(r.body);
        const json* c = FindCheck(status, "plugin");
        return c != nullptr && (*c)["state"] == "unhealthy";
      },
      10s);
  const json status = json::parse(reply.body);
  const json* exec = FindCheck(status, "plugin");
  ASSERT_NE(exec, nullptr);
  EXPECT_EQ((*exec)["last_result"]["detail"],
            "cannot run \"${HX_PLUGIN}\": no such file or directory")
      << exec->dump();
  EXPECT_EQ((*exec)["target"], "${HX_PLUGIN}");
  const json* tcp = FindCheck(status, "port");
  ASSERT_NE(tcp, nullptr);
  EXPECT_EQ((*tcp)["target"], "${HX_HOST}:1");

  EXPECT_EQ(reply.body.find("expanded-91c2"), std::string::npos) << reply.body;
  EXPECT_EQ(HttpRequest(d.Url("/")).body.find("expanded-91c2"), std::string::npos);
  EXPECT_EQ(HttpRequest(d.Url("/readyz?verbose=1")).body.find("expanded-91c2"), std::string::npos);
  // The log line of the state change quotes it as written too.
  const std::string logs = d.Logs();
  EXPECT_NE(logs.find("${HX_PLUGIN}"), std::string::npos) << logs;
  EXPECT_EQ(logs.find("expanded-91c2"), std::string::npos) << logs;
}

}  // namespace
}  // namespace hx
