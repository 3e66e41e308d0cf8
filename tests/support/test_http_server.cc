#include "support/test_http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace hx {

namespace {

std::string MakeTempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "hx_http_test_XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return pattern;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

int64_t ReadNotAfter(const std::string& cert_file) {
  FILE* f = std::fopen(cert_file.c_str(), "r");
  if (f == nullptr) throw std::runtime_error("cannot open " + cert_file);
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (cert == nullptr) throw std::runtime_error("cannot parse " + cert_file);
  std::tm tm{};
  const int ok = ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm);
  X509_free(cert);
  if (ok != 1) throw std::runtime_error("bad NotAfter in " + cert_file);
  return static_cast<int64_t>(timegm(&tm));
}

bool IsNumber(std::string_view s) {
  if (s.empty() || s.size() > 9) return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

const char* ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 404:
      return "Not Found";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

std::string UrlDecode(std::string_view in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out += ' ';
    } else if (in[i] == '%' && i + 2 < in.size() &&
               std::isxdigit(static_cast<unsigned char>(in[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(in[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += in[i];
    }
  }
  return out;
}

// Value of `key` in a query string, URL-decoded; "" when absent.
std::string QueryParam(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) == key) {
      return eq == std::string_view::npos ? std::string() : UrlDecode(pair.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return "";
}

}  // namespace

// ---------------------------------------------------------------------------

TestCertificate::TestCertificate(const Options& options) {
  dir_ = MakeTempDir();
  cert_file_ = dir_ + "/cert.pem";
  key_file_ = dir_ + "/key.pem";
  combined_file_ = dir_ + "/combined.pem";
  std::string san;
  for (const auto& name : options.dns_names) san += (san.empty() ? "DNS:" : ",DNS:") + name;
  if (options.loopback_ip) san += san.empty() ? "IP:127.0.0.1" : ",IP:127.0.0.1";
  // EC keys: generated in milliseconds, unlike RSA.
  std::string command =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
      " -keyout '" +
      key_file_ + "' -out '" + cert_file_ + "'" + " -days " + std::to_string(options.days) +
      " -subj '/CN=" + options.common_name + "'";
  if (!san.empty()) command += " -addext 'subjectAltName=" + san + "'";
  command += " >/dev/null 2>&1";
  if (std::system(command.c_str()) != 0) throw std::runtime_error("openssl req failed: " + command);
  std::ofstream(combined_file_) << ReadFile(key_file_) << ReadFile(cert_file_);
  not_after_ = ReadNotAfter(cert_file_);
}

TestCertificate::~TestCertificate() {
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string TestHttpRequest::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key.size() == name.size() &&
        std::equal(key.begin(), key.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      return value;
    }
  }
  return "";
}

// ---------------------------------------------------------------------------

// One accepted connection, plain or TLS, with blocking I/O.
class TestHttpServer::Connection {
 public:
  Connection(int fd, SSL* ssl) : fd_(fd), ssl_(ssl) {}
  ~Connection() {
    if (ssl_ != nullptr) {
      SSL_shutdown(ssl_);
      SSL_free(ssl_);
    }
  }

  /// Completes the TLS handshake (no-op for plain connections).
  bool Handshake() { return ssl_ == nullptr || SSL_accept(ssl_) == 1; }

  /// Like recv(): > 0 bytes read, 0 on orderly close, < 0 on error.
  ssize_t Read(char* buf, size_t size) {
    if (ssl_ == nullptr) return recv(fd_, buf, size, 0);
    const int n = SSL_read(ssl_, buf, static_cast<int>(size));
    return n > 0 ? n : (SSL_get_error(ssl_, n) == SSL_ERROR_ZERO_RETURN ? 0 : -1);
  }

  bool WriteAll(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ssl_ == nullptr
                            ? send(fd_, data.data(), data.size(), MSG_NOSIGNAL)
                            : SSL_write(ssl_, data.data(), static_cast<int>(data.size()));
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

 private:
  int fd_;
  SSL* ssl_;
};

TestHttpServer::TestHttpServer(Options options) : options_(std::move(options)) {
  // SSL_write() has no MSG_NOSIGNAL; a client that hangs up must not kill us.
  std::signal(SIGPIPE, SIG_IGN);
  if (options_.tls) {
    certificate_ = std::make_unique<TestCertificate>(options_.certificate);
    ssl_ctx_ = SSL_CTX_new(TLS_server_method());
    if (ssl_ctx_ == nullptr ||
        SSL_CTX_use_certificate_file(ssl_ctx_, certificate_->cert_file().c_str(),
                                     SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_use_PrivateKey_file(ssl_ctx_, certificate_->key_file().c_str(), SSL_FILETYPE_PEM) !=
            1) {
      throw std::runtime_error("cannot set up the TLS server context");
    }
  }
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(options_.port);
  socklen_t len = sizeof(addr);
  if (listen_fd_ < 0 || inet_pton(AF_INET, options_.address.c_str(), &addr.sin_addr) != 1 ||
      bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(listen_fd_, 1024) != 0 ||
      getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error("cannot listen on " + options_.address);
  }
  port_ = ntohs(addr.sin_port);
  accept_thread_ = std::thread([this] { AcceptLoop(); });
}

TestHttpServer::~TestHttpServer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  changed_.notify_all();            // ends /delay waits
  shutdown(listen_fd_, SHUT_RDWR);  // wakes accept()
  accept_thread_.join();
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu_);
    for (int fd : open_fds_) shutdown(fd, SHUT_RDWR);  // wakes blocked reads
    threads.swap(connection_threads_);
  }
  for (auto& t : threads) t.join();
  close(listen_fd_);
  if (ssl_ctx_ != nullptr) SSL_CTX_free(ssl_ctx_);
}

void TestHttpServer::AcceptLoop() {
  for (;;) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    std::lock_guard lock(mu_);
    if (stopping_) {
      if (fd >= 0) close(fd);
      return;
    }
    if (fd < 0) continue;  // EINTR, ECONNABORTED: keep going
    ++accepted_;
    open_fds_.push_back(fd);
    connection_threads_.emplace_back([this, fd] { Serve(fd); });
    changed_.notify_all();
  }
}

void TestHttpServer::Serve(int fd) {
  {
    SSL* ssl = nullptr;
    if (ssl_ctx_ != nullptr && !options_.never_answer) {
      ssl = SSL_new(ssl_ctx_);
      SSL_set_fd(ssl, fd);
    }
    Connection conn(fd, ssl);
    if (options_.never_answer) {
      Hold(conn);
    } else if (conn.Handshake()) {
      Answer(conn);
    }
  }
  std::lock_guard lock(mu_);
  open_fds_.erase(std::find(open_fds_.begin(), open_fds_.end(), fd));
  close(fd);
}

void TestHttpServer::Hold(Connection& conn) {
  char buf[4096];
  while (conn.Read(buf, sizeof(buf)) > 0) {
    // Read and ignore whatever arrives; never answer.
  }
  std::lock_guard lock(mu_);
  if (stopping_) return;  // our own shutdown, not the client's close
  ++client_closes_;
  changed_.notify_all();
}

void TestHttpServer::Answer(Connection& conn) {
  constexpr size_t kMaxHead = 64 * 1024;
  std::string data;
  char buf[16 * 1024];
  size_t head_end;
  while ((head_end = data.find("\r\n\r\n")) == std::string::npos) {
    const ssize_t n = conn.Read(buf, sizeof(buf));
    if (n <= 0 || data.size() > kMaxHead) return;
    data.append(buf, static_cast<size_t>(n));
  }
  TestHttpRequest request;
  std::istringstream head(data.substr(0, head_end));
  std::string line;
  std::getline(head, line);
  std::istringstream request_line(line);
  std::string target;
  request_line >> request.method >> target;
  const size_t question = target.find('?');
  request.path = target.substr(0, question);
  if (question != std::string::npos) request.query = target.substr(question + 1);
  while (std::getline(head, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const size_t value_start = line.find_first_not_of(' ', colon + 1);
    request.headers.emplace_back(line.substr(0, colon), value_start == std::string::npos
                                                            ? std::string()
                                                            : line.substr(value_start));
  }
  request.body = data.substr(head_end + 4);
  const std::string length = request.Header("Content-Length");
  const size_t want = length.empty() ? 0 : std::stoul(length);
  while (request.body.size() < want) {
    const ssize_t n = conn.Read(buf, sizeof(buf));
    if (n <= 0) return;
    request.body.append(buf, static_cast<size_t>(n));
  }
  {
    std::lock_guard lock(mu_);
    requests_.push_back(request);
  }
  changed_.notify_all();

  const TestHttpResponse response = Dispatch(request);
  std::string out =
      "HTTP/1.1 " + std::to_string(response.status) + " " + ReasonPhrase(response.status) + "\r\n";
  out += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
  out += "Connection: close\r\n";
  bool has_type = false;
  for (const auto& [name, value] : response.headers) {
    out += name + ": " + value + "\r\n";
    if (name == "Content-Type") has_type = true;
  }
  if (!has_type) out += "Content-Type: text/plain\r\n";
  out += "\r\n";
  if (request.method != "HEAD") out += response.body;
  conn.WriteAll(out);
}

std::string TestHttpServer::base_url() const {
  return std::string(options_.tls ? "https" : "http") + "://" + options_.address + ":" +
         std::to_string(port_);
}

std::string TestHttpServer::Url(std::string_view path) const {
  return base_url() + std::string(path);
}

const std::string& TestHttpServer::ca_file() const {
  static const std::string kNone;
  return certificate_ ? certificate_->cert_file() : kNone;
}

int64_t TestHttpServer::cert_not_after() const {
  return certificate_ ? certificate_->not_after() : 0;
}

void TestHttpServer::Route(std::string path, Handler handler) {
  std::lock_guard lock(mu_);
  routes_[std::move(path)] = std::move(handler);
}

std::vector<TestHttpRequest> TestHttpServer::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

size_t TestHttpServer::request_count() const {
  std::lock_guard lock(mu_);
  return requests_.size();
}

bool TestHttpServer::WaitForRequests(size_t count, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return changed_.wait_for(lock, timeout, [&] { return requests_.size() >= count; });
}

int TestHttpServer::accepted() const {
  std::lock_guard lock(mu_);
  return accepted_;
}

int TestHttpServer::client_closes() const {
  std::lock_guard lock(mu_);
  return client_closes_;
}

bool TestHttpServer::WaitForAccepted(int count, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return changed_.wait_for(lock, timeout, [&] { return accepted_ >= count; });
}

bool TestHttpServer::WaitForClientCloses(int count, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return changed_.wait_for(lock, timeout, [&] { return client_closes_ >= count; });
}

TestHttpResponse TestHttpServer::Dispatch(const TestHttpRequest& request) {
  Handler custom;
  {
    std::lock_guard lock(mu_);
    if (auto it = routes_.find(request.path); it != routes_.end()) custom = it->second;
  }
  if (custom) return custom(request);

  const std::string& path = request.path;
  auto argument = [&](std::string_view prefix) -> std::string {
    return path.rfind(prefix, 0) == 0 ? path.substr(prefix.size()) : std::string();
  };
  if (auto code = argument("/status/"); IsNumber(code)) {
    std::string body = QueryParam(request.query, "body");
    if (body.empty()) body = "status " + code;
    return {std::stoi(code), body, {}};
  }
  if (auto ms = argument("/delay/"); IsNumber(ms)) {
    std::unique_lock lock(mu_);
    changed_.wait_for(lock, std::chrono::milliseconds(std::stoi(ms)), [&] { return stopping_; });
    return {200, "delayed", {}};
  }
  if (auto n = argument("/redirect/"); IsNumber(n)) {
    const int remaining = std::stoi(n);
    if (remaining == 0) return {200, "redirected", {}};
    return {301, "moved", {{"Location", "/redirect/" + std::to_string(remaining - 1)}}};
  }
  if (auto n = argument("/bytes/"); IsNumber(n)) {
    return {200, std::string(static_cast<size_t>(std::stoll(n)), 'x'), {}};
  }
  if (path == "/echo") {
    std::string body = request.method + " " + request.path + "\n";
    for (const auto& [name, value] : request.headers) body += name + ": " + value + "\n";
    body += "\n" + request.body;
    return {200, body, {}};
  }
  return {404, "not found", {}};
}

}  // namespace hx
