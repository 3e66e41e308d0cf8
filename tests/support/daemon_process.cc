#include "support/daemon_process.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

#ifndef HX_BINARY
#error "HX_BINARY must point at the health_exporter binary"
#endif

namespace hx {
namespace {

void SleepMs(int ms) {
  struct timespec ts {ms / 1000, (ms % 1000) * 1000L * 1000L};
  nanosleep(&ts, nullptr);
}

size_t AppendBody(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

size_t AppendHeader(char* data, size_t size, size_t n, void* out) {
  std::string line(data, size * n);
  auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    for (auto& c : name) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ')) value.erase(0, 1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.pop_back();
    (*static_cast<std::map<std::string, std::string>*>(out))[name] = value;
  }
  return size * n;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void ExpectNoSanitizerReport(const std::string& what, const std::string& output) {
  std::string report = FindSanitizerReport(output);
  if (!report.empty()) ADD_FAILURE() << what << " reported a sanitizer error:\n" << report;
}

}  // namespace

std::string FindSanitizerReport(const std::string& output) {
  // Every sanitizer ends a report with "SUMMARY: <Name>Sanitizer: ..."; the
  // report starts at its "==PID==ERROR:"/"WARNING:" banner or, for UBSan,
  // at the "runtime error:" line, so return from a little before the summary.
  static const std::regex kSummary(R"(SUMMARY: \w+Sanitizer: )");
  std::smatch m;
  if (!std::regex_search(output, m, kSummary)) return "";
  const size_t summary = static_cast<size_t>(m.position(0));
  size_t begin = output.rfind("==ERROR: ", summary);
  if (begin == std::string::npos) begin = output.rfind("WARNING: ThreadSanitizer", summary);
  if (begin == std::string::npos) begin = output.rfind("runtime error: ", summary);
  if (begin == std::string::npos || summary - begin > 16000) {
    begin = summary > 4000 ? summary - 4000 : 0;
  }
  begin = output.rfind('\n', begin);
  begin = begin == std::string::npos ? 0 : begin + 1;
  size_t end = output.find('\n', summary);
  return output.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

HttpReply HttpRequest(const std::string& url, const std::string& method, bool accept_gzip) {
  HttpReply reply;
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
  if (method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  if (accept_gzip) curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "gzip");
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, AppendHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &reply.headers);
  CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  } else {
    reply.error = curl_easy_strerror(rc);
  }
  curl_easy_cleanup(curl);
  return reply;
}

long HttpPost(const std::string& url, const std::string& authorization, const std::string& body) {
  CURL* curl = curl_easy_init();
  std::string sink;
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, ("Authorization: " + authorization).c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  long status = 0;
  if (curl_easy_perform(curl) == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return status;
}

CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& stdin_data) {
  TempDir dir;
  std::string in_path = dir.Write("stdin", stdin_data);
  std::string out_path = dir.path() + "/out";
  pid_t pid = fork();
  if (pid == 0) {
    int in = open(in_path.c_str(), O_RDONLY);
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(in, 0);
    dup2(out, 1);
    dup2(out, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  CommandResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.output = ReadFile(out_path);
  ExpectNoSanitizerReport(argv.empty() ? "command" : argv[0], result.output);
  return result;
}

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "hx-test-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::Write(const std::string& name, const std::string& content) const {
  std::string path = path_ + "/" + name;
  std::ofstream out(path, std::ios::binary);
  out << content;
  return path;
}

DaemonProcess::DaemonProcess(const std::string& config_yaml, std::vector<std::string> extra_args,
                             std::map<std::string, std::string> env) {
  config_path_ = dir_.Write("health_exporter.yml", config_yaml);
  log_path_ = dir_.path() + "/daemon.log";
  pid_ = fork();
  if (pid_ == 0) {
    int out = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(out, 1);
    dup2(out, 2);
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    std::vector<std::string> args = {HX_BINARY, "--log.level=debug"};
    bool has_listen = false;
    bool has_config = false;
    bool has_storage = false;
    for (auto& a : extra_args) {
      has_listen = has_listen || a.rfind("--web.listen-address", 0) == 0;
      has_config = has_config || a.rfind("--config.file", 0) == 0;
      has_storage = has_storage || a.rfind("--storage.path", 0) == 0;
      args.push_back(std::move(a));
    }
    // An explicit --config.file (e.g. a directory) replaces the written one.
    if (!has_config) args.push_back("--config.file=" + config_path_);
    if (!has_listen) args.push_back("--web.listen-address=127.0.0.1:0");
    // State of its own: the default ("data" in the working directory) would
    // be shared by every test's daemon, and a heartbeat state kept across
    // removals (24 h) would leak from one test, or one run, into the next.
    if (!has_storage) args.push_back("--storage.path=" + dir_.path() + "/data");
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  // The daemon logs `msg=started ... address=127.0.0.1:PORT` once it serves.
  // The line must be whole: a read while it is being written could end in the
  // middle of the port.
  static const std::regex kStarted(R"(msg=started .*address=127\.0\.0\.1:(\d+)\n)");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    std::smatch m;
    std::string logs = Logs();
    if (std::regex_search(logs, m, kStarted)) {
      port_ = std::stoi(m[1]);
      return;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      return;
    }
    SleepMs(10);
  }
}

DaemonProcess::~DaemonProcess() {
  // A SIGKILLed process never runs LeakSanitizer, so sanitized builds ask
  // the daemon to shut down first (SIGKILL after 5s still ends a hung one).
  if (!exit_code_ && kSanitized) Stop(SIGTERM, std::chrono::seconds(5));
  if (!exit_code_) Stop(SIGKILL, std::chrono::seconds(5));
  ExpectNoSanitizerReport("the daemon", Logs());
}

std::string DaemonProcess::Url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

std::string DaemonProcess::Logs() const { return ReadFile(log_path_); }

int DaemonProcess::WaitExit(std::chrono::milliseconds timeout) {
  if (exit_code_) return *exit_code_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  do {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return *exit_code_;
    }
    SleepMs(5);
  } while (std::chrono::steady_clock::now() < deadline);
  return -1;
}

void DaemonProcess::Signal(int signal) const {
  if (pid_ > 0) kill(pid_, signal);
}

int DaemonProcess::Stop(int signal, std::chrono::milliseconds timeout,
                        std::chrono::milliseconds* took) {
  if (exit_code_) return *exit_code_;
  const auto start = std::chrono::steady_clock::now();
  kill(pid_, signal);
  int rc = WaitExit(timeout);
  if (took) {
    *took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
  }
  if (rc == -1) {
    kill(pid_, SIGKILL);
    WaitExit(std::chrono::seconds(5));
  }
  return rc;
}

}  // namespace hx
