#include "support/postgres_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace hx {
namespace {

namespace fs = std::filesystem;

constexpr char kBinDir[] = "/usr/lib/postgresql/15/bin/";

// A port no one listens on right now; the server binds it a moment later.
uint16_t PickFreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("PostgresServer: socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    throw std::runtime_error("PostgresServer: cannot pick a port");
  }
  close(fd);
  return ntohs(addr.sin_port);
}

passwd* PostgresUser() {
  passwd* pw = getpwnam("postgres");
  if (pw == nullptr) throw std::runtime_error("PostgresServer: no \"postgres\" user");
  return pw;
}

void ChownToPostgres(const std::string& path) {
  const passwd* pw = PostgresUser();
  if (chown(path.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
    throw std::runtime_error("PostgresServer: chown " + path + ": " + std::strerror(errno));
  }
}

std::string Tail(const std::string& file, size_t max_chars = 2000) {
  std::ifstream in(file);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  return text.size() > max_chars ? text.substr(text.size() - max_chars) : text;
}

}  // namespace

PostgresServer::PostgresServer(Options options) : options_(std::move(options)) {
  MakeBaseDir();
  try {
    Init();
  } catch (...) {
    Cleanup();
    throw;
  }
}

void PostgresServer::Init() {
  std::vector<std::string> initdb = {std::string(kBinDir) + "initdb",
                                     "-D",
                                     data_dir_,
                                     "-U",
                                     kSuperuser,
                                     "-A",
                                     "trust",
                                     "--no-sync",
                                     "--no-instructions"};
  if (!options_.superuser_password.empty()) {
    const std::string pwfile = base_dir_ + "/pwfile";
    std::ofstream(pwfile) << options_.superuser_password << "\n";
    ChownToPostgres(pwfile);
    initdb.push_back("--auth-host=scram-sha-256");
    initdb.push_back("--pwfile=" + pwfile);
  }
  RunAsPostgres("initdb", initdb);
  fs::remove(base_dir_ + "/pwfile");
  StartServer();
}

PostgresServer::PostgresServer(Options options, ReplicaOf source) : options_(std::move(options)) {
  MakeBaseDir();
  try {
    InitReplica(*source.primary);
  } catch (...) {
    Cleanup();
    throw;
  }
}

void PostgresServer::InitReplica(const PostgresServer& primary) {
  RunAsPostgres("pg_basebackup",
                {std::string(kBinDir) + "pg_basebackup", "-D", data_dir_, "-h",
                 primary.socket_dir(), "-p", std::to_string(primary.port()), "-U", kSuperuser, "-R",
                 "-X", "stream", "--checkpoint=fast", "--no-sync"});
  StartServer();
}

PostgresServer::~PostgresServer() { Cleanup(); }

void PostgresServer::Cleanup() {
  try {
    Stop();
  } catch (...) {
    // Stop() already fell back to killing by pid; nothing more to do.
  }
  // A server pg_ctl lost track of (e.g. a start that timed out) still has
  // its pid file: never leave it running.
  pid_t pid = 0;
  std::ifstream(data_dir_ + "/postmaster.pid") >> pid;
  if (pid > 0) kill(pid, SIGKILL);
  std::error_code ec;
  fs::remove_all(base_dir_, ec);
}

std::unique_ptr<PostgresServer> PostgresServer::CreateReplica() {
  return std::unique_ptr<PostgresServer>(new PostgresServer(options_, ReplicaOf{this}));
}

void PostgresServer::MakeBaseDir() {
  char tmpl[] = "/tmp/hx-pg-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) {
    throw std::runtime_error(std::string("PostgresServer: mkdtemp: ") + std::strerror(errno));
  }
  base_dir_ = tmpl;
  data_dir_ = base_dir_ + "/data";
  log_file_ = base_dir_ + "/server.log";
  ChownToPostgres(base_dir_);
  // Commands append here as root and the server (as postgres) too.
  std::ofstream(log_file_).flush();
  ChownToPostgres(log_file_);
  port_ = PickFreePort();
}

void PostgresServer::StartServer() {
  const std::string server_options =
      "-p " + std::to_string(port_) + " -k " + base_dir_ +
      " -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=" +
      std::to_string(options_.max_connections);
  RunAsPostgres("pg_ctl start", {std::string(kBinDir) + "pg_ctl", "-D", data_dir_, "-l", log_file_,
                                 "-w", "-o", server_options, "start"});
  running_ = true;
}

void PostgresServer::Start() {
  if (!running_) StartServer();
}

void PostgresServer::Stop() {
  if (!running_) return;
  running_ = false;
  // The postmaster's pid, in case pg_ctl cannot stop it.
  pid_t pid = 0;
  {
    std::ifstream pidfile(data_dir_ + "/postmaster.pid");
    pidfile >> pid;
  }
  try {
    RunAsPostgres("pg_ctl stop", {std::string(kBinDir) + "pg_ctl", "-D", data_dir_, "-m",
                                  "immediate", "-w", "stop"});
  } catch (...) {
    if (pid > 0) kill(pid, SIGKILL);
    throw;
  }
}

void PostgresServer::RunAsPostgres(const std::string& what,
                                   const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {"/usr/sbin/runuser", "-u", "postgres", "--"};
  argv.insert(argv.end(), args.begin(), args.end());
  // Opened before fork: the child only dup2()s and execs.
  const int log_fd = open(log_file_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) throw std::runtime_error("PostgresServer: cannot open " + log_file_);
  std::vector<char*> cargv;
  for (std::string& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  const pid_t child = fork();
  if (child == 0) {
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    const int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    // pg_ctl's server inherits the working directory; the base dir is ours.
    if (chdir(base_dir_.c_str()) != 0) _exit(126);
    execv(cargv[0], cargv.data());
    _exit(127);
  }
  close(log_fd);
  if (child < 0) throw std::runtime_error("PostgresServer: fork failed");
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error("PostgresServer: " + what + " failed; log:\n" + Tail(log_file_));
  }
}

std::string PostgresServer::ConnInfo(const std::string& dbname) const {
  return "host=" + base_dir_ + " port=" + std::to_string(port_) + " user=" + kSuperuser +
         " dbname=" + dbname;
}

PostgresServer::Connection PostgresServer::Connect(const std::string& dbname) const {
  Connection conn(PQconnectdb(ConnInfo(dbname).c_str()), &PQfinish);
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    throw std::runtime_error(std::string("PostgresServer: connect: ") + PQerrorMessage(conn.get()));
  }
  return conn;
}

std::string PostgresServer::Execute(const std::string& sql, const std::string& dbname) const {
  Connection conn = Connect(dbname);
  PGresult* result = PQexec(conn.get(), sql.c_str());
  const ExecStatusType status = PQresultStatus(result);
  std::string value;
  if (status == PGRES_TUPLES_OK && PQntuples(result) > 0 && PQnfields(result) > 0) {
    value = PQgetvalue(result, 0, 0);
  }
  const std::string error = PQresultErrorMessage(result);
  PQclear(result);
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    throw std::runtime_error("PostgresServer: " + sql + ": " + error);
  }
  return value;
}

bool PostgresServer::WaitForReplay(const PostgresServer& replica,
                                   std::chrono::milliseconds timeout) const {
  const std::string lsn = Execute("SELECT pg_current_wal_lsn()");
  const std::string caught_up =
      "SELECT coalesce(pg_last_wal_replay_lsn() >= '" + lsn + "'::pg_lsn, false)";
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (replica.Execute(caught_up) != "t") {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

}  // namespace hx
