// WebServer end to end: a real server on 127.0.0.1:0, libcurl as the client,
// RunRecords built by hand.
#include "http/web_server.h"

#include <curl/curl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "http/gzip.h"

namespace hx {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

// A response header's value, or "" when absent.
std::string Header(const HttpResponse& response, const std::string& name) {
  auto it = response.headers.find(name);
  return it == response.headers.end() ? "" : it->second;
}

size_t AppendBody(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

size_t AppendHeader(char* data, size_t size, size_t count, void* out) {
  std::string line(data, size * count);
  const size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    value.erase(value.find_last_not_of("\r\n ") + 1);
    (*static_cast<std::map<std::string, std::string>*>(out))[name] = value;
  }
  return size * count;
}

class WebServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    curl_ = curl_easy_init();
    ASSERT_NE(curl_, nullptr);
    StartServer();
  }
  void TearDown() override {
    server_.reset();
    curl_easy_cleanup(curl_);
  }

  void StartServer() {
    WebServerOptions options;
    options.listen_address = "127.0.0.1:0";
    options.threads = 2;
    server_ = std::make_unique<WebServer>(
        options, board_, metrics_, [this] { return alive_.load(); }, [] { return 1714564804.0; });
    const auto error = server_->Start();
    ASSERT_FALSE(error.has_value()) << *error;
    ASSERT_GT(server_->port(), 0);
  }

  // One request on a reused handle, so keep-alive is exercised too.
  HttpResponse Fetch(const std::string& path, const std::string& method = "GET",
                     std::vector<std::string> headers = {}) {
    HttpResponse response;
    const std::string url = "http://127.0.0.1:" + std::to_string(server_->port()) + path;
    curl_easy_reset(curl_);
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, AppendBody);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &response.body);
    curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, AppendHeader);
    curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &response.headers);
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(curl_, CURLOPT_HTTP_CONTENT_DECODING, 0L);  // see raw gzip bytes
    if (method == "HEAD") {
      curl_easy_setopt(curl_, CURLOPT_NOBODY, 1L);
    } else if (method != "GET") {
      curl_easy_setopt(curl_, CURLOPT_CUSTOMREQUEST, method.c_str());
    }
    curl_slist* list = nullptr;
    for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, list);
    const CURLcode code = curl_easy_perform(curl_);
    curl_slist_free_all(list);
    EXPECT_EQ(code, CURLE_OK) << curl_easy_strerror(code);
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &response.status);
    return response;
  }

  void Add(size_t id, CheckInfo info) { board_.AddCheck(id, info); }
  void Record(size_t id, Health state, std::string detail = "") {
    RunRecord run;
    run.check_id = id;
    run.result.health = state;
    run.result.detail = std::move(detail);
    if (state != Health::kHealthy) run.result.reason = FailureReason::kConnectRefused;
    run.state = state;
    run.duration = std::chrono::milliseconds(12);
    run.started_at = 1714564800;
    run.finished_at = 1714564800.012;
    board_.Record(run);
  }
  static CheckInfo Info(std::string name, bool critical = true) {
    CheckInfo info;
    info.name = std::move(name);
    info.type = "tcp";
    info.target = "127.0.0.1:5432";
    info.critical = critical;
    info.interval = std::chrono::seconds(15);
    info.timeout = std::chrono::seconds(3);
    return info;
  }

  StatusBoard board_;
  CheckMetrics metrics_;
  std::atomic<bool> alive_{true};
  std::unique_ptr<WebServer> server_;
  CURL* curl_ = nullptr;
};

// Lines of an exposition except process_* ones, which change between scrapes.
std::string WithoutProcessMetrics(const std::string& text) {
  std::istringstream in(text);
  std::string out;
  for (std::string line; std::getline(in, line);) {
    if (line.find("process_") == std::string::npos) out += line + "\n";
  }
  return out;
}

TEST_F(WebServerTest, MetricsServesTheTextFormat) {
  Add(0, Info("db"));
  Record(0, Health::kHealthy);
  HttpResponse response = Fetch("/metrics");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(Header(response, "content-type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(Header(response, "content-length"), std::to_string(response.body.size()));
  EXPECT_EQ(response.headers.count("content-encoding"), 0u);
  EXPECT_THAT(response.body,
              HasSubstr("health_check_status{check=\"db\",critical=\"true\",type=\"tcp\"} 1\n"));
  EXPECT_THAT(response.body, HasSubstr("health_overall_status 1\n"));
}

// The format follows Accept (exposition/negotiation.h), from the same store.
TEST_F(WebServerTest, MetricsFormatFollowsAccept) {
  Add(0, Info("db"));
  Record(0, Health::kHealthy);
  // What Prometheus 2.42 sends without native histograms: OpenMetrics first.
  const HttpResponse om = Fetch(
      "/metrics", "GET",
      {"Accept: application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
       "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"});
  EXPECT_EQ(om.status, 200);
  EXPECT_THAT(Header(om, "content-type"), StartsWith("application/openmetrics-text; version=1.0.0"));
  EXPECT_THAT(om.body, ::testing::EndsWith("# EOF\n"));
  EXPECT_THAT(om.body, HasSubstr("health_check_runs_total{check=\"db\",status=\"healthy\"} 1\n"));
  EXPECT_THAT(om.body, HasSubstr("# TYPE health_check_runs counter\n"));
  // With --enable-feature=native-histograms it asks for protobuf first.
  const HttpResponse proto = Fetch(
      "/metrics", "GET",
      {"Accept: application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
       "encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3"});
  EXPECT_THAT(Header(proto, "content-type"), StartsWith("application/vnd.google.protobuf"));
  EXPECT_THAT(proto.body, HasSubstr("health_check_duration_seconds"));
  // No Accept, or one we cannot serve: text 0.0.4.
  for (const char* accept : {"", "Accept: application/json"}) {
    const HttpResponse text =
        Fetch("/metrics", "GET", *accept ? std::vector<std::string>{accept} : std::vector<std::string>{});
    EXPECT_EQ(Header(text, "content-type"), "text/plain; version=0.0.4; charset=utf-8") << accept;
    EXPECT_THAT(text.body, Not(HasSubstr("# EOF")));
  }
}

TEST_F(WebServerTest, MetricsAreGzippedWhenAccepted) {
  Add(0, Info("db"));
  Record(0, Health::kDegraded);
  const HttpResponse plain = Fetch("/metrics");
  const HttpResponse zipped = Fetch("/metrics", "GET", {"Accept-Encoding: deflate, gzip;q=0.8"});
  EXPECT_EQ(zipped.status, 200);
  EXPECT_EQ(Header(zipped, "content-encoding"), "gzip");
  EXPECT_EQ(Header(zipped, "vary"), "Accept-Encoding");
  EXPECT_EQ(Header(zipped, "content-length"), std::to_string(zipped.body.size()));
  EXPECT_LT(zipped.body.size(), plain.body.size());
  const auto decoded = GzipDecompress(zipped.body);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(WithoutProcessMetrics(*decoded), WithoutProcessMetrics(plain.body));

  const HttpResponse refused = Fetch("/metrics", "GET", {"Accept-Encoding: gzip;q=0"});
  EXPECT_EQ(refused.headers.count("content-encoding"), 0u);
  EXPECT_THAT(refused.body, StartsWith("# HELP"));
}

// Per check in one text exposition: runs_total summed over results, and the
// duration histogram's _count.
struct ScrapeCounts {
  std::map<std::string, double> runs;
  std::map<std::string, double> counts;
};
ScrapeCounts CountsOf(const std::string& text) {
  ScrapeCounts out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    const bool runs = line.rfind("health_check_runs_total{check=\"", 0) == 0;
    const bool count = line.rfind("health_check_duration_seconds_count{check=\"", 0) == 0;
    if (!runs && !count) continue;
    const size_t start = line.find('"') + 1;
    const std::string check = line.substr(start, line.find('"', start) - start);
    const double value = std::stod(line.substr(line.rfind(' ') + 1));
    (runs ? out.runs[check] : out.counts[check]) += value;
  }
  return out;
}

// Four clients scrape in a tight loop while the loop thread records results
// of 1,000 checks and reloads replace some of them. Every scrape comes from
// one snapshot, so within a scrape each check's runs by result add up to its
// histogram's count (with two stores collected family by family they did
// not, whenever a result landed mid-scrape). Most useful under ThreadSanitizer.
TEST_F(WebServerTest, ScrapesAreConsistentWhileChecksRunAndReload) {
  constexpr size_t kChecks = 1000;
  for (size_t id = 0; id < kChecks; ++id) Add(id, Info("c" + std::to_string(id)));
  std::atomic<bool> done{false};
  std::atomic<int> scrapes{0};
  std::atomic<int> torn{0};
  std::vector<std::thread> clients;
  const std::string url = "http://127.0.0.1:" + std::to_string(server_->port()) + "/metrics";
  for (int i = 0; i < 4; ++i) {
    clients.emplace_back([&] {
      CURL* curl = curl_easy_init();
      while (!done.load()) {
        std::string body;
        curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, AppendBody);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
        curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
        if (curl_easy_perform(curl) != CURLE_OK) continue;
        const ScrapeCounts counts = CountsOf(body);
        // (A reload step swaps one check at a time: 999 or 1,000 checks.)
        bool consistent =
            counts.runs.size() == counts.counts.size() && counts.runs.size() + 1 >= kChecks;
        for (const auto& [check, runs] : counts.runs) {
          auto it = counts.counts.find(check);
          consistent = consistent && it != counts.counts.end() && it->second == runs;
        }
        if (!consistent) ++torn;
        ++scrapes;
      }
      curl_easy_cleanup(curl);
    });
  }
  size_t first = 0;  // the oldest check's id
  for (int round = 0; round < 10 || scrapes.load() < 12; ++round) {
    for (size_t id = first; id < first + kChecks; ++id) {
      Record(id, static_cast<Health>(id % 3));
      if (id % 7 == 0) board_.RecordSkip(id);
    }
    // A reload: the 20 oldest checks go, 20 new ones come.
    for (size_t k = 0; k < 20; ++k) {
      board_.RemoveCheck(first + k);
      Add(first + kChecks + k, Info("c" + std::to_string(first + kChecks + k)));
    }
    first += 20;
  }
  done = true;
  for (auto& t : clients) t.join();
  EXPECT_EQ(torn.load(), 0) << "of " << scrapes.load() << " scrapes";
  EXPECT_GE(scrapes.load(), 12);
}

TEST_F(WebServerTest, HealthzFollowsTheLivenessFunction) {
  HttpResponse response = Fetch("/healthz");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "ok\n");
  EXPECT_EQ(Header(response, "cache-control"), "no-store");
  alive_ = false;
  response = Fetch("/healthz");
  EXPECT_EQ(response.status, 503);
}

TEST_F(WebServerTest, ReadyzStatusFollowsOverallStatus) {
  Add(0, Info("api"));
  Add(1, Info("cache", /*critical=*/false));

  HttpResponse response = Fetch("/readyz");  // pending
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(Header(response, "content-type"), "application/json");
  EXPECT_EQ(Header(response, "cache-control"), "no-store");
  auto doc = nlohmann::json::parse(response.body);
  // Only the overall state unless ?verbose=1.
  EXPECT_EQ(doc, nlohmann::json({{"status", "pending"}}));
  doc = nlohmann::json::parse(Fetch("/readyz?verbose=1").body);
  EXPECT_EQ(doc["checks"]["api"]["status"], "pending");

  Record(0, Health::kHealthy, "HTTP 200");
  response = Fetch("/readyz?verbose=1");
  EXPECT_EQ(response.status, 200);
  doc = nlohmann::json::parse(response.body);
  EXPECT_EQ(doc["status"], "healthy");
  EXPECT_EQ(doc["checks"]["api"]["detail"], "HTTP 200");
  EXPECT_EQ(doc["checks"]["api"]["duration_ms"], 12.0);

  Record(1, Health::kUnhealthy, "connection refused");  // non-critical
  response = Fetch("/readyz");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(nlohmann::json::parse(response.body)["status"], "degraded");

  Record(0, Health::kUnhealthy, "HTTP 503");
  response = Fetch("/readyz");
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(nlohmann::json::parse(response.body)["status"], "unhealthy");

  response = Fetch("/readyz?verbose=0");
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(nlohmann::json::parse(response.body), nlohmann::json({{"status", "unhealthy"}}));
}

TEST_F(WebServerTest, StatusDescribesEveryCheck) {
  CheckInfo info = Info("db");
  info.labels = {{"team", "storage"}};
  Add(0, info);
  Add(1, Info("queue"));
  Record(0, Health::kHealthy, "connected");
  HttpResponse response = Fetch("/status");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(Header(response, "content-type"), "application/json");
  EXPECT_EQ(Header(response, "cache-control"), "no-store");
  auto doc = nlohmann::json::parse(response.body);
  EXPECT_EQ(doc["overall"], "pending");
  EXPECT_EQ(doc["generated_at"], "2024-05-01T12:00:04.000Z");
  ASSERT_EQ(doc["checks"].size(), 2u);
  EXPECT_EQ(doc["checks"][0]["name"], "db");
  EXPECT_EQ(doc["checks"][0]["target"], "127.0.0.1:5432");
  EXPECT_EQ(doc["checks"][0]["labels"]["team"], "storage");
  EXPECT_EQ(doc["checks"][0]["interval_seconds"], 15.0);
  EXPECT_EQ(doc["checks"][0]["state"], "healthy");
  EXPECT_EQ(doc["checks"][0]["last_result"]["detail"], "connected");
  EXPECT_EQ(doc["checks"][0]["last_result"]["started_at"], "2024-05-01T12:00:00.000Z");
  EXPECT_EQ(doc["checks"][1]["state"], "pending");
}

TEST_F(WebServerTest, LandingPageEscapesEverythingFromConfigAndTargets) {
  CheckInfo info = Info("web.front-1");
  info.labels = {{"owner", "<script>alert('x')</script>"}};
  info.target = "GET http://127.0.0.1/?a=1&b=2";
  Add(0, info);
  Record(0, Health::kUnhealthy, "body does not match \"<b>ok</b>\"");
  HttpResponse response = Fetch("/");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(Header(response, "content-type"), "text/html; charset=utf-8");
  EXPECT_THAT(response.body, HasSubstr("<strong class=\"unhealthy\">unhealthy</strong>"));
  EXPECT_THAT(response.body, HasSubstr("web.front-1"));
  EXPECT_THAT(response.body, HasSubstr("owner=&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
  EXPECT_THAT(response.body, HasSubstr("a=1&amp;b=2"));
  EXPECT_THAT(response.body, HasSubstr("&quot;&lt;b&gt;ok&lt;/b&gt;&quot;"));
  EXPECT_THAT(response.body, Not(HasSubstr("<script>")));
  EXPECT_THAT(response.body, Not(HasSubstr("<b>ok")));
  for (const char* link : {"/metrics", "/status", "/readyz", "/healthz"}) {
    EXPECT_THAT(response.body, HasSubstr(std::string("<a href=\"") + link + "\">"));
  }
}

TEST_F(WebServerTest, HeadSendsHeadersWithoutBody) {
  const HttpResponse get = Fetch("/status");
  const HttpResponse head = Fetch("/status", "HEAD");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
  EXPECT_EQ(Header(head, "content-length"), std::to_string(get.body.size()));
}

TEST_F(WebServerTest, UnknownPathsAre404AndOtherMethods405) {
  for (const char* path : {"/nope", "/metrics/", "/status.json", "/healthz/x"}) {
    const HttpResponse response = Fetch(path);
    EXPECT_EQ(response.status, 404) << path;
    EXPECT_EQ(Header(response, "content-length"), std::to_string(response.body.size()));
  }
  for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS"}) {
    const HttpResponse response = Fetch("/metrics", method);
    EXPECT_EQ(response.status, 405) << method;
    EXPECT_EQ(Header(response, "allow"), "GET, HEAD") << method;
  }
  EXPECT_EQ(Fetch("/elsewhere", "POST").status, 404);
}

TEST_F(WebServerTest, StartFailsWhenThePortIsTaken) {
  const std::string address = "127.0.0.1:" + std::to_string(server_->port());
  WebServerOptions options;
  options.listen_address = address;
  WebServer second(options, board_, metrics_, [] { return true; });
  const auto error = second.Start();
  ASSERT_TRUE(error.has_value());
  EXPECT_THAT(*error, StartsWith("cannot listen on \"" + address + "\": "));
  EXPECT_EQ(*error, "cannot listen on \"" + address + "\": cannot bind to " + address +
                        ": 98 (Address already in use)");
  EXPECT_EQ(second.port(), 0);
}

TEST(WebServerStartTest, RejectsMalformedAddresses) {
  StatusBoard board;
  CheckMetrics metrics;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"9841", "cannot listen on \"9841\": expected host:port or :port"},
      {":http", "cannot listen on \":http\": port must be a number from 0 to 65535"},
      {":70000", "cannot listen on \":70000\": port must be a number from 0 to 65535"},
      {"[::1]:9841",
       "cannot listen on \"[::1]:9841\": host must be an IPv4 address (names and IPv6 are not "
       "supported)"},
      {"localhost:9841",
       "cannot listen on \"localhost:9841\": host must be an IPv4 address (names and IPv6 are "
       "not supported)"},
      {"127.0.0.1:80s",
       "cannot listen on \"127.0.0.1:80s\": port must be a number from 0 to "
       "65535"},
  };
  for (const auto& [address, message] : cases) {
    WebServerOptions options;
    options.listen_address = address;
    WebServer server(options, board, metrics, [] { return true; });
    const auto error = server.Start();
    ASSERT_TRUE(error.has_value()) << address;
    EXPECT_EQ(*error, message);
  }
}

TEST(ToCivetwebPortsTest, ConvertsListenAddresses) {
  std::string error;
  EXPECT_EQ(ToCivetwebPorts(":9841", &error), "9841");
  EXPECT_EQ(ToCivetwebPorts("127.0.0.1:0", &error), "127.0.0.1:0");
  EXPECT_EQ(ToCivetwebPorts("0.0.0.0:9841", &error), "0.0.0.0:9841");
  EXPECT_EQ(ToCivetwebPorts("127.0.0.1:1,127.0.0.1:2", &error), std::nullopt);
  EXPECT_EQ(error, "host must be an IPv4 address (names and IPv6 are not supported)");
}

TEST_F(WebServerTest, StopClosesTheListenerEvenWithAKeepAliveConnection) {
  EXPECT_EQ(Fetch("/healthz").status, 200);  // leaves a keep-alive connection in curl_
  const int port = server_->port();
  server_->Stop();
  EXPECT_EQ(server_->port(), 0);
  server_->Stop();  // idempotent

  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_NE(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ::close(fd);
}

TEST(GzipTest, AcceptEncodingRules) {
  EXPECT_TRUE(AcceptsGzip("gzip"));
  EXPECT_TRUE(AcceptsGzip("deflate, GZIP, br"));
  EXPECT_TRUE(AcceptsGzip("gzip;q=0.5"));
  EXPECT_TRUE(AcceptsGzip("*"));
  EXPECT_TRUE(AcceptsGzip("x-gzip"));
  EXPECT_FALSE(AcceptsGzip(""));
  EXPECT_FALSE(AcceptsGzip("identity"));
  EXPECT_FALSE(AcceptsGzip("gzip;q=0"));
  EXPECT_FALSE(AcceptsGzip("*, gzip;q=0"));
  EXPECT_FALSE(AcceptsGzip("*;q=0"));
  EXPECT_FALSE(AcceptsGzip("gzipx"));
}

TEST(GzipTest, RoundTrips) {
  const std::string text(10000, 'a');
  const auto compressed = GzipCompress(text);
  ASSERT_TRUE(compressed.has_value());
  EXPECT_LT(compressed->size(), text.size());
  EXPECT_EQ(GzipDecompress(*compressed), text);
  EXPECT_EQ(GzipDecompress("not gzip"), std::nullopt);
}

}  // namespace
}  // namespace hx
