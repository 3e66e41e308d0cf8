// health_exporter: checks the services a team depends on and publishes what it
// finds to Prometheus. Flags follow the Prometheus exporters' conventions.

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "app/daemon.h"
#include "app/probe.h"
#include "build_info.h"
#include "checks/check.h"
#include "config/config.h"
#include "http/web_config.h"
#include "util/duration.h"
#include "util/log.h"

int main(int argc, char** argv) {
  // A peer that resets a connection must cost one check a failure, not kill
  // the daemon: every socket write reports EPIPE instead.
  std::signal(SIGPIPE, SIG_IGN);
  // Blocking work (getaddrinfo, statfs, file writes) runs on libuv's thread
  // pool; a few hung mounts or slow resolvers must not occupy all of it.
  // libuv reads this once, when the pool first starts.
  setenv("UV_THREADPOOL_SIZE", "16", /*overwrite=*/0);
  CLI::App app{"health_exporter: health checks for the services you depend on, as Prometheus metrics"};
  app.set_version_flag("--version", std::string("health_exporter ") + hx::build::kVersion +
                                        " (revision " + hx::build::kRevision + ")");
  hx::DaemonOptions options;
  options.config_file = "health_exporter.yml";
  std::string log_level = "info";
  std::string log_format = "logfmt";
  bool check_config = false;
  std::string shard;
  app.add_option("--config.file", options.config_file, "Path to the YAML config file")
      ->capture_default_str();
  app.add_option("--web.listen-address", options.listen_address,
                 "Address to serve /metrics, /status, /readyz, /healthz on ([host]:port)")
      ->capture_default_str();
  app.add_option("--web.config.file", options.web_config_file,
                 "exporter-toolkit web config file: TLS (tls_server_config) and basic auth "
                 "(basic_auth_users with bcrypt hashes)");
  app.add_option("--storage.path", options.storage_path,
                 "Directory for state kept across restarts (the embedded store "
                 "health_exporter.db, docs/storage.md); created if missing, relative to the "
                 "working directory; the daemon exits (2) at start if it cannot write there")
      ->capture_default_str();
  app.add_option("--log.level", log_level, "Log level: debug, info, warn, error")
      ->capture_default_str()
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  app.add_option("--log.format", log_format, "Log format: logfmt or json")
      ->capture_default_str()
      ->check(CLI::IsMember({"logfmt", "json"}));
  app.add_option("--shard", shard,
                 "Run only share i of n of the checks (i/n, 0-based); every instance reads the "
                 "same config");
  std::string reload_timeout = "10s";
  app.add_option("--config.reload-timeout", reload_timeout,
                 "How long a reload (SIGHUP, POST /-/reload) may take to read and check the "
                 "config before it is given up and the running config stays; POST /-/reload "
                 "answers 504 then")
      ->capture_default_str();
  app.add_flag("--check-config", check_config,
               "Validate the config (and --web.config.file, if given) and exit (2 if invalid)");
  std::string probe_check;
  std::string probe_output = "text";
  app.add_option("--probe-once", probe_check,
                 "Run one attempt of this check of the config, print a trace of what it did "
                 "(resolution, connect, TLS, request and response with secrets masked, the "
                 "verdict) and exit: 0 healthy, 1 degraded or unhealthy, 2 config error or "
                 "unknown check. Writes no state and serves nothing");
  app.add_option("--output", probe_output, "Output of --probe-once: text or json")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "json"}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    // CLI11 uses 0 for --help/--version; any flag error is a usage error.
    return rc == 0 ? 0 : 2;
  }

  if (!shard.empty()) {
    std::string error;
    options.shard = hx::ParseShard(shard, &error);
    if (!options.shard) {
      std::cerr << error << "\n";
      return 2;
    }
  }

  {
    std::string error;
    const std::optional<hx::Duration> timeout = hx::ParseDuration(reload_timeout, &error);
    if (!timeout || *timeout < std::chrono::milliseconds(1)) {
      std::cerr << "--config.reload-timeout: " << (timeout ? "must be at least 1ms" : error)
                << "\n";
      return 2;
    }
    options.reload_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(*timeout);
  }

  spdlog::level::level_enum level = spdlog::level::info;
  hx::log::Format format = hx::log::Format::kLogfmt;
  // The debug run prints its trace: start-up chatter (info) would be noise.
  if (!probe_check.empty() && app.count("--log.level") == 0) log_level = "warn";
  hx::log::ParseLevel(log_level, &level);
  hx::log::ParseFormat(log_format, &format);
  hx::log::Init(level, format);

  if (!probe_check.empty()) {
    return hx::ProbeOnce(options.config_file, probe_check, options.storage_path,
                         probe_output == "json", std::cout, std::cerr);
  }

  if (check_config) {
    hx::LoadResult loaded = hx::LoadConfigFile(options.config_file, hx::BuiltinCheckTypes());
    if (!loaded.config) {
      for (const auto& e : loaded.errors) std::cerr << e.ToString() << "\n";
      std::cerr << options.config_file << ": " << loaded.errors.size()
                << (loaded.errors.size() == 1 ? " error" : " errors") << "\n";
      return 2;
    }
    std::cout << options.config_file << ": OK, " << loaded.config->checks.size()
              << (loaded.config->checks.size() == 1 ? " check" : " checks") << "\n";
    if (!options.web_config_file.empty()) {
      std::string error;
      if (!hx::LoadWebConfigFile(options.web_config_file, &error)) {
        std::cerr << error << "\n";
        return 2;
      }
      std::cout << options.web_config_file << ": OK\n";
    }
    return 0;
  }
  return hx::Daemon(std::move(options)).Run();
}
