// Reload and --check-config against config files that are not what they
// should be, on the real binary: a symlink to /dev/zero, a FIFO nobody
// writes, a 20 MiB file, a directory where a drop-in file belongs, a missing
// file, and a config on a filesystem that hangs. None may crash the daemon,
// hold a web worker past the reload deadline, block later reloads for good
// or block shutdown; a bad reload changes nothing.
#include <curl/curl.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "support/daemon_process.h"
#include "support/status_json.h"

namespace hx {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

using Clock = std::chrono::steady_clock;

// Healthy whatever the machine's memory use (the tests assert its state).
const std::string kGood =
    "checks:\n"
    "  - name: keep\n"
    "    interval: 100ms\n"
    "    memory: {degraded_above: 100%, unhealthy_above: 100%}\n";

struct TimedReply {
  long status = 0;  // 0: no answer within the client's timeout
  std::string body;
  std::chrono::milliseconds took{0};
};

size_t Append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// A request with a client timeout longer than HttpRequest's 5 s, timed.
TimedReply TimedRequest(const std::string& url, const std::string& method,
                        std::chrono::milliseconds timeout) {
  TimedReply reply;
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  if (method != "GET") curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  const auto start = Clock::now();
  if (curl_easy_perform(curl) == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  }
  reply.took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  curl_easy_cleanup(curl);
  return reply;
}

TimedReply PostReload(const DaemonProcess& d, std::chrono::milliseconds timeout = 15s) {
  return TimedRequest(d.Url("/-/reload"), "POST", timeout);
}

// Puts `make` (which creates the thing at a temp path) in place of `path`
// in one rename, as a config management tool replacing the file would.
template <typename Make>
void ReplaceWith(const std::string& path, Make make) {
  const std::string temp = path + ".new";
  make(temp);
  ASSERT_EQ(std::rename(temp.c_str(), path.c_str()), 0);
}

void ReplaceWithSymlink(const std::string& path, const std::string& target) {
  ReplaceWith(
      path, [&](const std::string& temp) { ASSERT_EQ(symlink(target.c_str(), temp.c_str()), 0); });
}

void ReplaceWithFifo(const std::string& path) {
  ReplaceWith(path, [](const std::string& temp) { ASSERT_EQ(mkfifo(temp.c_str(), 0600), 0); });
}

// A valid config followed by a comment that takes it to `bytes`.
std::string LargeConfig(size_t bytes) {
  std::string text = kGood + "# ";
  text.append(bytes - text.size() - 1, 'x');
  return text + "\n";
}

// What every refused reload must leave behind: the daemon serves, the
// running check goes on, the failure is in the metrics.
void ExpectNothingChanged(const DaemonProcess& d) {
  EXPECT_EQ(HttpRequest(d.Url("/healthz")).status, 200);
  EXPECT_EQ(Metric(d, "health_exporter_config_last_reload_successful"), 0);
  d.PollUntil(
      "/status", [&](const HttpReply&) { return RunsOf(d, "keep") >= 1; }, 5s);
  const int runs = RunsOf(d, "keep");
  ASSERT_GE(runs, 1);
  d.PollUntil(
      "/status", [&](const HttpReply&) { return RunsOf(d, "keep") >= runs + 2; }, 5s);
  EXPECT_GE(RunsOf(d, "keep"), runs + 2) << "the running check stopped";
}

TEST(ReloadLimitsTest, AConfigReplacedByASymlinkToDevZeroIsRefused) {
  DaemonProcess d(kGood);
  ASSERT_TRUE(d.started()) << d.Logs();
  ReplaceWithSymlink(d.config_path(), "/dev/zero");

  const TimedReply reply = PostReload(d);
  EXPECT_EQ(reply.status, 500) << "took " << reply.took.count() << " ms";
  EXPECT_EQ(reply.body, d.config_path() +
                            ": cannot read config file: a character device, not a regular file\n"
                            "1 error; the running config stays in force\n");
  ExpectNothingChanged(d);
  EXPECT_THAT(d.Logs(), HasSubstr("msg=\"config error\" error=\"" + d.config_path() +
                                  ": cannot read config file: a character device, not a "
                                  "regular file\""));
}

TEST(ReloadLimitsTest, AConfigReplacedByAFifoIsRefusedAtOnceBySighupAndPost) {
  DaemonProcess d(kGood);
  ASSERT_TRUE(d.started()) << d.Logs();
  ReplaceWithFifo(d.config_path());

  d.Signal(SIGHUP);
  d.PollUntil(
      "/metrics",
      [](const HttpReply& r) {
        return r.body.find("health_exporter_config_reloads_total{result=\"failure\"} 1") !=
               std::string::npos;
      },
      5s);
  EXPECT_EQ(Metric(d, R"(health_exporter_config_reloads_total{result="failure"})"), 1);

  // Each of these held a web worker for 60 s before; more than the server
  // has workers.
  std::vector<TimedReply> replies(6);
  std::vector<std::thread> clients;
  for (auto& reply : replies) clients.emplace_back([&] { reply = PostReload(d); });
  std::this_thread::sleep_for(500ms);  // all of them sent
  const TimedReply healthz = TimedRequest(d.Url("/healthz"), "GET", 5s);
  for (auto& client : clients) client.join();
  for (const TimedReply& reply : replies) {
    EXPECT_EQ(reply.status, 500) << "took " << reply.took.count() << " ms";
    EXPECT_EQ(reply.body, d.config_path() +
                              ": cannot read config file: a FIFO, not a regular file\n"
                              "1 error; the running config stays in force\n");
    EXPECT_LT(reply.took, 3s);
  }
  EXPECT_EQ(healthz.status, 200);
  ExpectNothingChanged(d);
}

TEST(ReloadLimitsTest, AConfigLargerThan16MiBIsRefused) {
  DaemonProcess d(kGood);
  ASSERT_TRUE(d.started()) << d.Logs();
  ReplaceWith(d.config_path(), [](const std::string& temp) {
    std::ofstream(temp) << LargeConfig(20 * 1024 * 1024);
  });

  const TimedReply reply = PostReload(d);
  EXPECT_EQ(reply.status, 500);
  EXPECT_EQ(reply.body, d.config_path() +
                            ": cannot read config file: larger than 16 MiB\n"
                            "1 error; the running config stays in force\n");
  ExpectNothingChanged(d);

  // Just under the limit is a config like any other.
  ReplaceWith(d.config_path(), [](const std::string& temp) {
    std::ofstream(temp) << LargeConfig(16 * 1024 * 1024);
  });
  EXPECT_EQ(PostReload(d).status, 200);
  EXPECT_EQ(Metric(d, "health_exporter_config_last_reload_successful"), 1);
}

// --check-config, bounded by `timeout` so that a hang fails the test
// instead of hanging it (exit 124).
CommandResult CheckConfig(const std::string& path) {
  return RunCommand({"timeout", "20", HX_BINARY, "--check-config", "--config.file=" + path});
}

TEST(ReloadLimitsTest, CheckConfigExitsTwoWithAMessageForEachBadFile) {
  TempDir dir;
  const std::string fifo = dir.path() + "/fifo.yml";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const std::string zero = dir.path() + "/zero.yml";
  ASSERT_EQ(symlink("/dev/zero", zero.c_str()), 0);
  const std::string large = dir.Write("large.yml", LargeConfig(20 * 1024 * 1024));
  const std::string missing = dir.path() + "/missing.yml";
  // A directory of drop-ins where one "file" is a directory, one a FIFO.
  const std::string dropins = dir.path() + "/conf.d";
  ASSERT_EQ(mkdir(dropins.c_str(), 0700), 0);
  std::ofstream(dropins + "/10-base.yml") << kGood;
  ASSERT_EQ(mkdir((dropins + "/20-team.yml").c_str(), 0700), 0);
  const std::string dropin_fifo_dir = dir.path() + "/fifo.d";
  ASSERT_EQ(mkdir(dropin_fifo_dir.c_str(), 0700), 0);
  std::ofstream(dropin_fifo_dir + "/10-base.yml") << kGood;
  ASSERT_EQ(mkfifo((dropin_fifo_dir + "/20-pipe.yml").c_str(), 0600), 0);

  const std::vector<std::pair<std::string, std::string>> cases = {
      {fifo, fifo + ": cannot read config file: a FIFO, not a regular file"},
      {zero, zero + ": cannot read config file: a character device, not a regular file"},
      {large, large + ": cannot read config file: larger than 16 MiB"},
      {missing, missing + ": cannot read config file: No such file or directory"},
      {dropins, dropins + "/20-team.yml: cannot read config file: a directory, not a regular file"},
      {dropin_fifo_dir,
       dropin_fifo_dir + "/20-pipe.yml: cannot read config file: a FIFO, not a regular file"},
  };
  for (const auto& [path, message] : cases) {
    const auto start = Clock::now();
    const CommandResult result = CheckConfig(path);
    EXPECT_EQ(result.exit_code, 2) << path << "\n" << result.output;
    EXPECT_EQ(result.output, message + "\n" + path + ": 1 error\n") << path;
    EXPECT_LT(Clock::now() - start, 5s) << path;
  }
}

TEST(ReloadLimitsTest, DropInsTogetherLargerThan16MiBAreRefused) {
  TempDir dir;
  dir.Write("10-base.yml", kGood);
  dir.Write("20-comments.yml", "# " + std::string(9 * 1024 * 1024, 'x') + "\n");
  dir.Write("30-comments.yml", "# " + std::string(9 * 1024 * 1024, 'x') + "\n");
  const CommandResult result = CheckConfig(dir.path());
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_EQ(result.output, dir.path() +
                               "/30-comments.yml: cannot read config file: the files of the "
                               "config directory are larger than 16 MiB together\n" +
                               dir.path() + ": 1 error\n");
}

// A FUSE filesystem whose daemon never answers: every lookup under it waits,
// as on a hung NFS mount, until Release() aborts the connection.
class HungMount {
 public:
  explicit HungMount(const std::string& dir) : dir_(dir) {
    fd_ = open("/dev/fuse", O_RDWR | O_CLOEXEC);
    if (fd_ < 0) {
      why_not_ = std::string("cannot open /dev/fuse: ") + strerror(errno);
      return;
    }
    const std::string options =
        "fd=" + std::to_string(fd_) + ",rootmode=40000,user_id=0,group_id=0";
    if (mount("hx-hung", dir_.c_str(), "fuse.hx-hung", MS_NOSUID | MS_NODEV, options.c_str()) !=
        0) {
      why_not_ = std::string("cannot mount a FUSE filesystem: ") + strerror(errno);
      close(fd_);
      fd_ = -1;
    }
  }
  ~HungMount() { Release(); }
  HungMount(const HungMount&) = delete;
  HungMount& operator=(const HungMount&) = delete;

  /// Empty when mounted, else why not (the test is then skipped).
  const std::string& why_not() const { return why_not_; }

  /// Aborts the connection (every waiting call fails with ENOTCONN) and
  /// unmounts.
  void Release() {
    if (fd_ < 0) return;
    close(fd_);
    fd_ = -1;
    umount2(dir_.c_str(), MNT_DETACH);
  }

 private:
  std::string dir_;
  int fd_ = -1;
  std::string why_not_;
};

// Mounts made after this are seen only by this process and its children
// (the daemon), never by the rest of the machine, even if the test dies with
// the mount in place. Returns why not, or "".
std::string IsolateMounts() {
  if (unshare(CLONE_NEWNS) != 0) return std::string("unshare: ") + strerror(errno);
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return std::string("cannot make / private: ") + strerror(errno);
  }
  return "";
}

// A daemon whose config is a symlink, first to a good file, then (once the
// daemon runs) into a hung mount made in this process's own mount namespace.
class HungConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const std::string why_not = IsolateMounts(); !why_not.empty()) GTEST_SKIP() << why_not;
    mkdir(mount_point.c_str(), 0700);
    symlink(good.c_str(), link.c_str());
    daemon = std::make_unique<DaemonProcess>(
        "", std::vector<std::string>{"--config.file=" + link, "--config.reload-timeout=1s"});
    ASSERT_TRUE(daemon->started()) << daemon->Logs();
    hung = std::make_unique<HungMount>(mount_point);
    if (!hung->why_not().empty()) GTEST_SKIP() << hung->why_not();
    ReplaceWithSymlink(link, mount_point + "/health_exporter.yml");
  }

  TempDir dir;
  std::string good = dir.Write("good.yml", kGood);
  std::string mount_point = dir.path() + "/mnt";
  std::string link = dir.path() + "/health_exporter.yml";
  std::unique_ptr<DaemonProcess> daemon;
  std::unique_ptr<HungMount> hung;  // released (unmounted) before the daemon stops
};

TEST_F(HungConfigTest, AReloadTimesOutAndLaterReloadsWork) {
  DaemonProcess& d = *daemon;

  // Two reloads get stuck; each answers 504 after the deadline and frees its
  // worker. /healthz answers at once all the while.
  for (int i = 0; i < 2; ++i) {
    std::thread probe([&] {
      std::this_thread::sleep_for(300ms);
      const TimedReply healthz = TimedRequest(d.Url("/healthz"), "GET", 5s);
      EXPECT_EQ(healthz.status, 200);
      EXPECT_LT(healthz.took, 1s);
    });
    const TimedReply reply = PostReload(d);
    probe.join();
    EXPECT_EQ(reply.status, 504) << reply.body;
    EXPECT_EQ(reply.body,
              "the config was not read and checked within 1s (a hung filesystem?); the running "
              "config stays in force\n");
    EXPECT_GE(reply.took, 900ms);
    EXPECT_LT(reply.took, 3s);
  }
  // Two are stuck: more are refused at once, however many come.
  std::vector<TimedReply> replies(6);
  std::vector<std::thread> clients;
  for (auto& reply : replies) clients.emplace_back([&] { reply = PostReload(d); });
  for (auto& client : clients) client.join();
  for (const TimedReply& reply : replies) {
    EXPECT_EQ(reply.status, 503);
    EXPECT_EQ(reply.body,
              "2 earlier reloads are still blocked reading the config (a hung filesystem?); no "
              "other starts until one returns\n");
    EXPECT_LT(reply.took, 1s);
  }
  ExpectNothingChanged(d);
  EXPECT_THAT(d.Logs(), HasSubstr("level=error msg=\"config reload failed; the running config "
                                  "stays in force\" file=" +
                                  link +
                                  " error=\"the config was not read and checked "
                                  "within 1s (a hung filesystem?)"));

  // The filesystem comes back (here: fails fast) and the config is fixed:
  // the stuck reads return and reloads work again.
  hung->Release();
  ReplaceWithSymlink(link, good);
  TimedReply reply;
  const auto give_up = Clock::now() + 10s;
  do {
    reply = PostReload(d);
    if (reply.status == 200) break;
    std::this_thread::sleep_for(100ms);
  } while (Clock::now() < give_up);
  EXPECT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(Metric(d, "health_exporter_config_last_reload_successful"), 1);
  EXPECT_THAT(d.Logs(), HasSubstr("msg=\"a reload given up earlier has returned; its result is "
                                  "dropped\" still_blocked=0"));
}

TEST_F(HungConfigTest, AStuckReloadDoesNotHoldUpShutdown) {
  DaemonProcess& d = *daemon;

  d.Signal(SIGHUP);  // stuck for good
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(Metric(d, "health_exporter_config_last_reload_successful"), 0);
  std::chrono::milliseconds took{};
  EXPECT_EQ(d.Stop(SIGTERM, 10s, &took), 0) << d.Logs();
  EXPECT_LT(took, 4s);
}

}  // namespace
}  // namespace hx
