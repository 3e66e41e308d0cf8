#include "support/fault_servers.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <stdexcept>

namespace hx {
namespace {

void ThrowIfNot(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error(what + ": " + std::strerror(errno));
}

std::string MakeTempDir(const char* prefix) {
  std::string pattern = (std::filesystem::temp_directory_path() / prefix).string() + "-XXXXXX";
  ThrowIfNot(mkdtemp(pattern.data()) != nullptr, "mkdtemp");
  return pattern;
}

// Closes the stream at scope exit.
struct FileCloser {
  FILE* f;
  ~FileCloser() {
    if (f != nullptr) std::fclose(f);
  }
};

}  // namespace

// --- FaultCertificate -------------------------------------------------------

FaultCertificate::FaultCertificate(const Options& options) {
  dir_ = MakeTempDir("hx-fault-cert");
  cert_file_ = dir_ + "/cert.pem";
  key_file_ = dir_ + "/key.pem";

  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  if (key == nullptr || cert == nullptr) throw std::runtime_error("OpenSSL: out of memory");
  X509_set_version(cert, 2);
  std::random_device random;
  ASN1_INTEGER_set(X509_get_serialNumber(cert), static_cast<long>(random() & 0x7fffffff));
  X509_gmtime_adj(X509_getm_notBefore(cert), static_cast<long>(options.not_before.count()));
  X509_gmtime_adj(X509_getm_notAfter(cert), static_cast<long>(options.not_after.count()));
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  const std::string common_name =
      options.dns_names.empty() ? std::string("hx-fault") : options.dns_names.front();
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  X509_set_issuer_name(cert, name);

  std::string san;
  for (const std::string& dns : options.dns_names) san += (san.empty() ? "DNS:" : ",DNS:") + dns;
  if (options.loopback_ip) san += san.empty() ? "IP:127.0.0.1" : ",IP:127.0.0.1";
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  // Self-signed and used as its own trust anchor, like `openssl req -x509`.
  std::vector<std::pair<int, std::string>> extensions = {{NID_basic_constraints, "CA:TRUE"}};
  if (!san.empty()) extensions.push_back({NID_subject_alt_name, san});
  for (const auto& [nid, value] : extensions) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    if (ext == nullptr) throw std::runtime_error("OpenSSL: bad extension " + value);
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(cert, key, EVP_sha256()) == 0) throw std::runtime_error("OpenSSL: X509_sign");

  {
    FileCloser out{std::fopen(cert_file_.c_str(), "w")};
    ThrowIfNot(out.f != nullptr, "fopen " + cert_file_);
    PEM_write_X509(out.f, cert);
  }
  {
    FileCloser out{std::fopen(key_file_.c_str(), "w")};
    ThrowIfNot(out.f != nullptr, "fopen " + key_file_);
    PEM_write_PrivateKey(out.f, key, nullptr, nullptr, 0, nullptr, nullptr);
  }
  X509_free(cert);
  EVP_PKEY_free(key);
}

FaultCertificate::~FaultCertificate() {
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

// --- FaultServer ------------------------------------------------------------

// One accepted connection, plain or TLS, with blocking whole-buffer I/O.
class FaultServer::Connection {
 public:
  Connection(int fd, SSL* ssl) : fd_(fd), ssl_(ssl) {}
  ~Connection() {
    if (ssl_ != nullptr) SSL_free(ssl_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Bytes read, 0 at end of stream or on error.
  size_t Read(char* buf, size_t size) {
    if (ssl_ != nullptr) {
      const int n = SSL_read(ssl_, buf, static_cast<int>(size));
      return n > 0 ? static_cast<size_t>(n) : 0;
    }
    while (true) {
      const ssize_t n = read(fd_, buf, size);
      if (n < 0 && errno == EINTR) continue;
      return n > 0 ? static_cast<size_t>(n) : 0;
    }
  }

  bool Write(const char* data, size_t size) {
    while (size > 0) {
      size_t written = 0;
      if (ssl_ != nullptr) {
        const int n = SSL_write(ssl_, data, static_cast<int>(size));
        if (n <= 0) return false;
        written = static_cast<size_t>(n);
      } else {
        const ssize_t n = send(fd_, data, size, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        written = static_cast<size_t>(n);
      }
      data += written;
      size -= written;
    }
    return true;
  }
  bool Write(const std::string& s) { return Write(s.data(), s.size()); }

  // Reads until the end of a request head (or of the stream).
  void ReadRequestHead() {
    std::string head;
    char buf[4096];
    while (head.find("\r\n\r\n") == std::string::npos && head.size() < (1 << 20)) {
      const size_t n = Read(buf, sizeof(buf));
      if (n == 0) return;
      head.append(buf, n);
    }
  }

  // Reads and discards until the peer closes (or the server shuts the socket down).
  void Drain() {
    char buf[4096];
    while (Read(buf, sizeof(buf)) > 0) {
    }
  }

 private:
  int fd_;
  SSL* ssl_;
};

FaultServer::FaultServer(Options options)
    : options_(std::move(options)), behavior_(options_.behavior) {
  signal(SIGPIPE, SIG_IGN);
  if (options_.tls) {
    certificate_ = std::make_unique<FaultCertificate>(options_.certificate);
    ssl_ctx_ = SSL_CTX_new(TLS_server_method());
    if (ssl_ctx_ == nullptr ||
        SSL_CTX_use_certificate_file(ssl_ctx_, certificate_->cert_file().c_str(),
                                     SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_use_PrivateKey_file(ssl_ctx_, certificate_->key_file().c_str(), SSL_FILETYPE_PEM) !=
            1) {
      throw std::runtime_error("FaultServer: cannot set up TLS");
    }
  }
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ThrowIfNot(listen_fd_ >= 0, "socket");
  const int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ThrowIfNot(bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0, "bind");
  ThrowIfNot(listen(listen_fd_, 128) == 0, "listen");
  socklen_t len = sizeof(addr);
  ThrowIfNot(getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0, "getsockname");
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

FaultServer::~FaultServer() {
  Stop();
  if (ssl_ctx_ != nullptr) SSL_CTX_free(ssl_ctx_);
}

std::string FaultServer::address() const { return "127.0.0.1:" + std::to_string(port_); }

std::string FaultServer::Url(const std::string& path) const {
  return std::string(options_.tls ? "https" : "http") + "://" + address() + path;
}

const std::string& FaultServer::ca_file() const {
  static const std::string kNone;
  return certificate_ ? certificate_->cert_file() : kNone;
}

void FaultServer::SetBehavior(Behavior behavior) {
  std::lock_guard lock(mu_);
  behavior_ = behavior;
}

void FaultServer::Stop() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu_);
    if (stopping_ && listen_fd_ < 0) return;
    stopping_ = true;
    // Wakes the blocking accept() and every blocking read and write.
    if (listen_fd_ >= 0) shutdown(listen_fd_, SHUT_RDWR);
    for (int fd : open_fds_) shutdown(fd, SHUT_RDWR);
  }
  changed_.notify_all();
  if (acceptor_.joinable()) acceptor_.join();
  {
    std::lock_guard lock(mu_);
    threads.swap(handlers_);
  }
  for (std::thread& t : threads) t.join();
  std::lock_guard lock(mu_);
  if (listen_fd_ >= 0) close(listen_fd_);
  listen_fd_ = -1;
}

int FaultServer::accepted() const {
  std::lock_guard lock(mu_);
  return accepted_;
}

int FaultServer::open_connections() const {
  std::lock_guard lock(mu_);
  return static_cast<int>(open_fds_.size());
}

bool FaultServer::WaitForAccepted(int count, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return changed_.wait_for(lock, timeout, [&] { return accepted_ >= count; });
}

bool FaultServer::Pause(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  return !changed_.wait_for(lock, d, [&] { return stopping_; });
}

void FaultServer::AcceptLoop() {
  while (true) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    std::lock_guard lock(mu_);
    if (stopping_) {
      if (fd >= 0) close(fd);
      return;
    }
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;
    }
    ++accepted_;
    open_fds_.push_back(fd);
    const Behavior behavior = behavior_;
    handlers_.emplace_back([this, fd, behavior] { Serve(fd, behavior); });
    changed_.notify_all();
  }
}

void FaultServer::Serve(int fd, Behavior behavior) {
  SSL* ssl = nullptr;
  bool usable = true;
  // A stalled handshake: the ClientHello is read (by Drain below, raw) and
  // never answered.
  if (ssl_ctx_ != nullptr && behavior != Behavior::kSilent) {
    ssl = SSL_new(ssl_ctx_);
    SSL_set_fd(ssl, fd);
    // Fails when the client rejects the certificate: nothing more to do.
    usable = SSL_accept(ssl) == 1;
    ERR_clear_error();
  }
  Connection conn(fd, ssl);
  bool reset = false;
  if (usable) {
    switch (behavior) {
      case Behavior::kHealthy:
        conn.ReadRequestHead();
        conn.Write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        break;
      case Behavior::kSilent:
        conn.Drain();
        break;
      case Behavior::kDripBody:
        conn.ReadRequestHead();
        if (!conn.Write("HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")) break;
        while (Pause(std::chrono::milliseconds(50)) && conn.Write("x", 1)) {
        }
        break;
      case Behavior::kResetMidBody:
        conn.ReadRequestHead();
        conn.Write("HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + std::string(1000, 'x'));
        reset = true;
        break;
      case Behavior::kEndlessBody: {
        conn.ReadRequestHead();
        if (!conn.Write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n")) break;
        const std::string chunk(64 * 1024, 'x');
        while (conn.Write(chunk)) {
        }
        break;
      }
      case Behavior::kHugeHeader: {
        conn.ReadRequestHead();
        if (!conn.Write("HTTP/1.1 200 OK\r\nX-Huge: ")) break;
        const std::string chunk(64 * 1024, 'h');
        bool ok = true;
        for (int i = 0; ok && i < 160; ++i) ok = conn.Write(chunk);  // 10 MiB
        if (ok) conn.Write("\r\nContent-Length: 2\r\n\r\nok");
        break;
      }
      case Behavior::kInvalidHttp:
        conn.ReadRequestHead();
        conn.Write("220 smtp.example ESMTP ready, this is not HTTP\r\n\r\n");
        break;
    }
  }
  std::lock_guard lock(mu_);
  if (reset) {
    const linger hard{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
  } else if (usable && ssl != nullptr) {
    SSL_shutdown(ssl);
  }
  std::erase(open_fds_, fd);
  close(fd);
}

// --- ClosedPort -------------------------------------------------------------

ClosedPort::ClosedPort() {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ThrowIfNot(fd_ >= 0, "socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ThrowIfNot(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0, "bind");
  socklen_t len = sizeof(addr);
  ThrowIfNot(getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0, "getsockname");
  port_ = ntohs(addr.sin_port);
}

ClosedPort::~ClosedPort() { close(fd_); }

std::string ClosedPort::address() const { return "127.0.0.1:" + std::to_string(port_); }

// --- HangingFuseMount -------------------------------------------------------

namespace {

constexpr char kFuseDevice[] = "/dev/fuse";

std::string MountOptions(int fd) {
  return "fd=" + std::to_string(fd) + ",rootmode=40000,user_id=" + std::to_string(getuid()) +
         ",group_id=" + std::to_string(getgid());
}

}  // namespace

std::string UsePrivateMountNamespace() {
  if (unshare(CLONE_NEWNS) != 0) return std::string("unshare: ") + std::strerror(errno);
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return std::string("make / private: ") + std::strerror(errno);
  }
  return "";
}

std::string HangingFuseMount::Unsupported() {
  if (access(kFuseDevice, R_OK | W_OK) != 0) return "no usable /dev/fuse";
  if (geteuid() != 0) return "mounting needs root";
  // The only reliable probe is a real mount.
  const std::string dir = MakeTempDir("hx-fuse-probe");
  std::string reason;
  const int fd = open(kFuseDevice, O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    reason = std::string("open /dev/fuse: ") + std::strerror(errno);
  } else if (mount("hx-fault", dir.c_str(), "fuse.hx-fault", MS_NOSUID | MS_NODEV,
                   MountOptions(fd).c_str()) != 0) {
    reason = std::string("mount fuse: ") + std::strerror(errno);
  } else {
    umount2(dir.c_str(), MNT_DETACH);
  }
  if (fd >= 0) close(fd);
  rmdir(dir.c_str());
  return reason;
}

HangingFuseMount::HangingFuseMount() {
  dir_ = MakeTempDir("hx-fuse");
  mount_point_ = dir_ + "/mnt";
  ThrowIfNot(mkdir(mount_point_.c_str(), 0755) == 0, "mkdir");
  fuse_fd_ = open(kFuseDevice, O_RDWR | O_CLOEXEC);
  ThrowIfNot(fuse_fd_ >= 0, "open /dev/fuse");
  ThrowIfNot(pipe2(wake_pipe_, O_CLOEXEC) == 0, "pipe2");
  ThrowIfNot(mount("hx-fault", mount_point_.c_str(), "fuse.hx-fault", MS_NOSUID | MS_NODEV,
                   MountOptions(fuse_fd_).c_str()) == 0,
             "mount fuse");
  thread_ = std::thread([this] { Loop(); });
}

HangingFuseMount::~HangingFuseMount() {
  // Answer first, so no caller stays blocked on a mount that goes away.
  Release();
  umount2(mount_point_.c_str(), MNT_DETACH);
  const char byte = 0;
  (void)!write(wake_pipe_[1], &byte, 1);
  if (thread_.joinable()) thread_.join();
  close(fuse_fd_);
  close(wake_pipe_[0]);
  close(wake_pipe_[1]);
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

int HangingFuseMount::statfs_requests() const {
  std::lock_guard lock(mu_);
  return statfs_requests_;
}

int HangingFuseMount::held_requests() const {
  std::lock_guard lock(mu_);
  return static_cast<int>(held_.size());
}

bool HangingFuseMount::WaitForHeld(int count, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return changed_.wait_for(lock, timeout, [&] { return static_cast<int>(held_.size()) >= count; });
}

void HangingFuseMount::Release() {
  std::vector<uint64_t> held;
  {
    std::lock_guard lock(mu_);
    hanging_ = false;
    held.swap(held_);
  }
  for (uint64_t unique : held) ReplyStatfs(unique);
  changed_.notify_all();
}

void HangingFuseMount::Hang() {
  std::lock_guard lock(mu_);
  hanging_ = true;
}

void HangingFuseMount::Loop() {
  // The kernel wants room for a whole request (max_write plus headers).
  std::vector<char> buf(FUSE_MIN_READ_BUFFER + 128 * 1024);
  while (true) {
    pollfd fds[2] = {{fuse_fd_, POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    if ((fds[0].revents & (POLLERR | POLLHUP)) != 0) return;
    const ssize_t n = read(fuse_fd_, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == ENOENT) continue;
      return;  // ENODEV: unmounted
    }
    Handle(buf.data(), static_cast<size_t>(n));
  }
}

void HangingFuseMount::Reply(uint64_t unique, int error, const void* payload, size_t size) {
  std::vector<char> out(sizeof(fuse_out_header) + size);
  fuse_out_header header{};
  header.len = static_cast<uint32_t>(out.size());
  header.error = error;
  header.unique = unique;
  std::memcpy(out.data(), &header, sizeof(header));
  if (size > 0) std::memcpy(out.data() + sizeof(header), payload, size);
  // Fails (ENOENT) when the request was interrupted meanwhile: nothing to do.
  (void)!write(fuse_fd_, out.data(), out.size());
}

void HangingFuseMount::ReplyStatfs(uint64_t unique) {
  fuse_statfs_out out{};
  out.st.bsize = 4096;
  out.st.frsize = 4096;
  out.st.blocks = 1000;
  out.st.bfree = 900;
  out.st.bavail = 900;
  out.st.files = 1000;
  out.st.ffree = 990;
  out.st.namelen = 255;
  Reply(unique, 0, &out, sizeof(out));
}

void HangingFuseMount::Handle(const char* request, size_t size) {
  if (size < sizeof(fuse_in_header)) return;
  fuse_in_header in;
  std::memcpy(&in, request, sizeof(in));
  switch (in.opcode) {
    case FUSE_INIT: {
      fuse_init_out out{};
      out.major = FUSE_KERNEL_VERSION;
      out.minor = FUSE_KERNEL_MINOR_VERSION;
      out.max_write = 4096;
      out.max_background = 16;
      out.congestion_threshold = 12;
      Reply(in.unique, 0, &out, sizeof(out));
      return;
    }
    case FUSE_GETATTR: {
      fuse_attr_out out{};
      out.attr.ino = in.nodeid;
      out.attr.mode = S_IFDIR | 0755;
      out.attr.nlink = 2;
      out.attr.blksize = 4096;
      Reply(in.unique, 0, &out, sizeof(out));
      return;
    }
    case FUSE_STATFS: {
      std::unique_lock lock(mu_);
      ++statfs_requests_;
      if (hanging_) {
        held_.push_back(in.unique);
        changed_.notify_all();
        return;
      }
      lock.unlock();
      changed_.notify_all();
      ReplyStatfs(in.unique);
      return;
    }
    case FUSE_FORGET:
    case FUSE_BATCH_FORGET:
    case FUSE_INTERRUPT:
    case FUSE_DESTROY:
      return;  // these take no reply
    case FUSE_LOOKUP:
      Reply(in.unique, -ENOENT, nullptr, 0);
      return;
    default:
      Reply(in.unique, -ENOSYS, nullptr, 0);
      return;
  }
}

}  // namespace hx
