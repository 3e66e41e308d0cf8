// Secrets planted in every place the config can carry one — ${VAR} in HTTP
// headers and DSNs, *_file keys, heartbeat tokens — must appear in no output
// of the daemon: logs (at debug), /metrics, /status, the status page,
// /readyz, reload answers, config errors and --check-config.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/daemon_process.h"
#include "support/redis_server.h"
#include "support/tcp_test_server.h"
#include "support/test_http_server.h"

namespace hx {
namespace {

using namespace std::chrono_literals;

constexpr const char* kHeaderSecret = "hdr-S3CRET-aa11";
constexpr const char* kRedisSecret = "redis-S3CRET-bb22";
constexpr const char* kPgSecret = "pg-S3CRET-cc33";
constexpr const char* kTokenSecret = "token-S3CRET-dd44-0123456789";
constexpr const char* kWrongSecret = "wrong-S3CRET-ee55";

const std::vector<std::string>& Secrets() {
  static const std::vector<std::string> secrets = {kHeaderSecret, kRedisSecret, kPgSecret,
                                                   kTokenSecret, kWrongSecret};
  return secrets;
}

void ExpectNoSecret(const std::string& where, const std::string& text) {
  for (const std::string& secret : Secrets()) {
    EXPECT_EQ(text.find(secret), std::string::npos) << where << " shows " << secret << ":\n"
                                                    << text;
  }
}

// A port with nothing listening: bound, then closed.
int ClosedPort() {
  TcpTestServer server;
  const int port = server.port();
  return port;
}

TEST(SecretsTest, PlantedSecretsAppearInNoOutput) {
  TestHttpServer web;
  RedisServer::Options redis_options;
  redis_options.requirepass = kRedisSecret;
  RedisServer redis(redis_options);
  TempDir dir;
  const std::string token_file = dir.Write("token", std::string(kTokenSecret) + "\n");
  const std::string redis_file = dir.Write("redis.pass", std::string(kRedisSecret) + "\n");
  chmod(token_file.c_str(), 0600);
  chmod(redis_file.c_str(), 0600);
  const std::string closed = std::to_string(ClosedPort());

  const std::string config =
      "global: {interval: 200ms, timeout: 150ms}\n"
      "checks:\n"
      "  - name: api\n"
      "    http:\n"
      "      url: '" + web.Url("/status/500") + "'\n"
      "      headers: {Authorization: 'Bearer ${API_TOKEN}'}\n"
      "  - name: cache\n"
      "    redis: {address: '127.0.0.1:" + std::to_string(redis.port()) + "', password_file: '" +
      redis_file + "'}\n"
      "  - name: cache-wrong\n"
      "    redis: {address: '127.0.0.1:" + std::to_string(redis.port()) +
      "', password: '${WRONG}'}\n"
      "  - name: db\n"
      "    postgres: {dsn: 'host=127.0.0.1 port=" + closed +
      " user=monitor password=${PG_PASSWORD} dbname=x'}\n"
      "  - name: backup\n"
      "    heartbeat: {ttl: 1h, token_file: '" + token_file + "'}\n";
  const std::map<std::string, std::string> env = {
      {"API_TOKEN", kHeaderSecret}, {"PG_PASSWORD", kPgSecret}, {"WRONG", kWrongSecret}};
  DaemonProcess d(config, {}, env);
  ASSERT_TRUE(d.started()) << d.Logs();

  // Every check ran twice, and the secrets did their work.
  d.PollUntil(
      "/status",
      [](const HttpReply& r) {
        if (r.status != 200) return false;
        const nlohmann::json checks = nlohmann::json::parse(r.body).at("checks");
        int ran = 0;
        for (const auto& c : checks) {
          if (c.at("name") != "backup" && c.at("runs").get<int>() >= 2) ++ran;
        }
        return ran == 4;
      },
      10s);
  ASSERT_FALSE(web.requests().empty()) << HttpRequest(d.Url("/status")).body << d.Logs();
  EXPECT_EQ(web.requests().back().Header("Authorization"), std::string("Bearer ") + kHeaderSecret);
  const nlohmann::json status = nlohmann::json::parse(HttpRequest(d.Url("/status")).body);
  for (const auto& c : status["checks"]) {
    if (c["name"] == "cache") {
      EXPECT_EQ(c["state"], "healthy") << c.dump();
    }
    if (c["name"] == "cache-wrong") {
      EXPECT_EQ(c["state"], "unhealthy") << c.dump();
    }
  }
  EXPECT_EQ(HttpPost(d.Url("/heartbeat/backup"), std::string("Bearer ") + kTokenSecret, ""), 200);
  EXPECT_EQ(HttpPost(d.Url("/heartbeat/backup"), std::string("Bearer ") + kWrongSecret, ""), 401);

  for (const char* path : {"/metrics", "/status", "/readyz", "/readyz?verbose=1", "/healthz", "/",
                           "/map", "/status/api", "/status/cache-wrong", "/status/db", "/check/api",
                           "/check/cache-wrong", "/check/db"}) {
    ExpectNoSecret(path, HttpRequest(d.Url(path)).body);
  }
  // The debug run's traces (request headers, the response body, the verdict).
  for (const char* check : {"api", "cache-wrong", "db"}) {
    const std::string path = std::string("/-/probe/") + check;
    const HttpReply probe = HttpRequest(d.Url(path), "POST");
    EXPECT_EQ(probe.status, 200) << path << ": " << probe.body;
    ExpectNoSecret(path.c_str(), probe.body);
  }
  // The store on disk (journal entries hold details and body excerpts).
  for (const auto& entry : std::filesystem::directory_iterator(d.storage_path())) {
    std::ifstream in(entry.path(), std::ios::binary);
    ExpectNoSecret(entry.path().c_str(), std::string(std::istreambuf_iterator<char>(in), {}));
  }

  // A reload with errors next to every secret: the answer quotes the file's
  // text, never an expanded value or a file's content.
  std::string bad = config;
  bad += "  - name: api2\n"
         "    http:\n"
         "      url: '" + web.Url("/") + "'\n"
         "      headers: {Authorization: 'Bearer ${API_TOKEN}', X-Bad: [1]}\n"
         "  - name: db2\n"
         "    postgres: {dsn: 'host=127.0.0.1 password=${PG_PASSWORD} port=x', query: 1}\n";
  {
    const std::string temp = d.config_path() + ".tmp";
    FILE* f = fopen(temp.c_str(), "w");
    fputs(bad.c_str(), f);
    fclose(f);
    ASSERT_EQ(std::rename(temp.c_str(), d.config_path().c_str()), 0);
  }
  const HttpReply reload = HttpRequest(d.Url("/-/reload"), "POST");
  EXPECT_EQ(reload.status, 500);
  EXPECT_NE(reload.body.find("errors; the running config stays in force"), std::string::npos)
      << reload.body;
  ExpectNoSecret("the reload answer", reload.body);
  ExpectNoSecret("/metrics after the failed reload", HttpRequest(d.Url("/metrics")).body);

  std::vector<std::string> argv = {"/usr/bin/env"};
  for (const auto& [k, v] : env) argv.push_back(k + "=" + v);
  for (const std::string& a : {std::string(HX_BINARY), std::string("--check-config"),
                               "--config.file=" + d.config_path()}) {
    argv.push_back(a);
  }
  const CommandResult check = RunCommand(argv);
  EXPECT_EQ(check.exit_code, 2) << check.output;
  ExpectNoSecret("--check-config", check.output);

  EXPECT_EQ(d.Stop(SIGTERM, 5s), 0);
  ExpectNoSecret("the logs (debug level)", d.Logs());
}

}  // namespace
}  // namespace hx
