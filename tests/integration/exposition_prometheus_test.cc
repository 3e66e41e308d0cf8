// The text writers against the real consumer: Debian's Prometheus (2.42)
// scrapes a test server whose /metrics negotiates with NegotiateFormat and
// renders the fixed snapshot with the chosen writer. What Prometheus stored
// (values, escaped label values, metadata with units, the exemplar) is read
// back through its HTTP API.

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "exposition/negotiation.h"
#include "exposition/openmetrics_writer.h"
#include "exposition/text_writer.h"
#include "support/daemon_process.h"
#include "support/exposition_fixture.h"
#include "support/test_http_server.h"

extern char** environ;

namespace hx {
namespace {

using metrics::ExpositionFormat;

uint16_t PickFreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  uint16_t port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

std::string UrlEncode(std::string_view text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// /metrics as the daemon will serve it (protobuf is not this test's).
class NegotiatingTarget {
 public:
  NegotiatingTarget() {
    server_.Route("/metrics", [this](const TestHttpRequest& request) {
      const auto negotiated = metrics::NegotiateFormat(request.Header("Accept"), false);
      std::string body;
      if (negotiated.format == ExpositionFormat::kText004) {
        metrics::TextWriter writer;
        test::WriteFixedSnapshot(writer);
        body = std::move(writer.output());
      } else {
        metrics::OpenMetricsWriter writer;
        test::WriteFixedSnapshot(writer);
        body = std::move(writer.output());
      }
      std::lock_guard lock(mu_);
      content_types_.push_back(negotiated.content_type);
      return TestHttpResponse{200, std::move(body), {{"Content-Type", negotiated.content_type}}};
    });
  }
  uint16_t port() const { return server_.port(); }
  std::vector<TestHttpRequest> requests() const { return server_.requests(); }
  std::vector<std::string> content_types() const {
    std::lock_guard lock(mu_);
    return content_types_;
  }

 private:
  TestHttpServer server_;
  mutable std::mutex mu_;
  std::vector<std::string> content_types_;
};

// A throwaway Prometheus scraping `target_port` every second.
class Prometheus {
 public:
  Prometheus(uint16_t target_port, const std::vector<std::string>& flags) {
    const std::string config =
        dir_.Write("prometheus.yml",
                   "global: {scrape_interval: 1s, scrape_timeout: 1s}\n"
                   "scrape_configs: [{job_name: t, static_configs: [{targets: ['127.0.0.1:" +
                       std::to_string(target_port) + "']}]}]\n");
    port_ = PickFreePort();
    std::vector<std::string> args = {"prometheus", "--config.file=" + config,
                                     "--storage.tsdb.path=" + dir_.path() + "/data",
                                     "--web.listen-address=127.0.0.1:" + std::to_string(port_)};
    args.insert(args.end(), flags.begin(), flags.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    const std::string log = dir_.path() + "/prometheus.log";
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    if (posix_spawnp(&pid_, "prometheus", &actions, nullptr, argv.data(), environ) != 0) pid_ = 0;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~Prometheus() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  bool started() const { return pid_ > 0; }

  // GET /api/v1/<path>?<query>, parsed; null on failure.
  nlohmann::json Api(const std::string& path_and_query) const {
    const HttpReply reply =
        HttpRequest("http://127.0.0.1:" + std::to_string(port_) + "/api/v1/" + path_and_query);
    if (reply.status != 200) return nullptr;
    return nlohmann::json::parse(reply.body, nullptr, false);
  }
  nlohmann::json Query(const std::string& promql) const {
    auto json = Api("query?query=" + UrlEncode(promql));
    return json.is_object() ? json["data"]["result"] : nlohmann::json();
  }
  // Polls until `promql` returns a non-empty result (20 s at most).
  nlohmann::json WaitFor(const std::string& promql) const {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      auto result = Query(promql);
      if (result.is_array() && !result.empty()) return result;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    return nlohmann::json::array();
  }

 private:
  TempDir dir_;
  uint16_t port_ = 0;
  pid_t pid_ = 0;
};

TEST(ExpositionPrometheusTest, PrometheusIngestsTheOpenMetricsOutput) {
  NegotiatingTarget target;
  Prometheus prometheus(target.port(), {"--enable-feature=exemplar-storage"});
  ASSERT_TRUE(prometheus.started());

  auto runs = prometheus.WaitFor(R"(health_check_runs_total{check="api",status="healthy"})");
  ASSERT_EQ(runs.size(), 1u) << "Prometheus never stored the scrape";
  EXPECT_EQ(runs[0]["value"][1], "5");

  // Prometheus asked for OpenMetrics first, and got it.
  ASSERT_FALSE(target.requests().empty());
  EXPECT_EQ(target.requests()[0].Header("Accept"),
            "application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
            "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1");
  EXPECT_EQ(target.content_types()[0],
            "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores");

  // An escaped label value arrives as it was.
  auto db = prometheus.Query(R"(health_check_status{team="payments"})");
  ASSERT_EQ(db.size(), 1u);
  EXPECT_EQ(db[0]["metric"]["check"], "db \"primary\" C:\\data\nline2");
  EXPECT_EQ(db[0]["value"][1], "0.5");
  // Canonical le, and the histogram's own samples.
  auto bucket = prometheus.Query(R"(health_check_duration_seconds_bucket{check="api",le="1.0"})");
  ASSERT_EQ(bucket.size(), 1u);
  EXPECT_EQ(bucket[0]["value"][1], "7");
  EXPECT_EQ(prometheus.Query(R"(health_check_duration_seconds_count{check="api"})")[0]["value"][1],
            "7");
  EXPECT_EQ(prometheus.Query(R"(test_untyped{check=""})")[0]["value"][1], "NaN");

  // Metadata: counters under their name without _total, units.
  auto metadata = prometheus.Api("metadata");
  ASSERT_TRUE(metadata.is_object());
  EXPECT_EQ(metadata["data"]["health_check_runs"][0]["type"], "counter");
  EXPECT_EQ(metadata["data"]["health_check_duration_seconds"][0]["unit"], "seconds");
  EXPECT_EQ(metadata["data"]["process_cpu_seconds"][0]["unit"], "seconds");

  // The exemplar, on the bucket that holds its value.
  auto exemplars = prometheus.Api(
      "query_exemplars?query=health_check_duration_seconds_bucket&"
      "start=1700000000&end=4000000000");
  ASSERT_TRUE(exemplars.is_object());
  ASSERT_EQ(exemplars["data"].size(), 1u) << exemplars.dump();
  EXPECT_EQ(exemplars["data"][0]["seriesLabels"]["le"], "0.1");
  EXPECT_EQ(exemplars["data"][0]["exemplars"][0]["labels"]["attempt_id"], "api-42");
  EXPECT_EQ(exemplars["data"][0]["exemplars"][0]["value"], "0.0825");
}

TEST(ExpositionPrometheusTest, NativeHistogramScrapesFallBackToOpenMetricsWithoutProtobuf) {
  NegotiatingTarget target;
  Prometheus prometheus(target.port(), {"--enable-feature=native-histograms"});
  ASSERT_TRUE(prometheus.started());
  auto runs = prometheus.WaitFor(R"(health_check_runs_total{check="api",status="healthy"})");
  ASSERT_EQ(runs.size(), 1u) << "Prometheus never stored the scrape";
  ASSERT_FALSE(target.requests().empty());
  EXPECT_EQ(target.requests()[0].Header("Accept").rfind("application/vnd.google.protobuf;", 0), 0u)
      << target.requests()[0].Header("Accept");
  EXPECT_EQ(target.content_types()[0],
            "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores");
}

}  // namespace
}  // namespace hx
