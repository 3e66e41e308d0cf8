#include "app/daemon.h"

#include <spdlog/spdlog.h>
#include <uv.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <vector>

#include "app/check_set.h"
#include "app/probe.h"
#include "app/reload_coordinator.h"
#include "app/run_publisher.h"
#include "app/systemd_notifier.h"
#include "build_info.h"
#include "checks/check.h"
#include "checks/common/check_services.h"
#include "config/config.h"
#include "http/public_page.h"
#include "http/public_server.h"
#include "http/web_config.h"
#include "http/web_server.h"
#include "io/io_context.h"
#include "metrics/check_metrics.h"
#include "scheduler/check_scheduler.h"
#include "scheduler/uv_clock.h"
#include "status/daily_history.h"
#include "status/failure_journal.h"
#include "status/status_board.h"
#include "store/storage_directory.h"
#include "store/store.h"
#include "util/log.h"

namespace hx {
namespace {

// /healthz answers 503 when the loop has not turned for this long: the daemon
// is wedged even though its HTTP threads still answer.
constexpr auto kLivenessWindow = std::chrono::seconds(5);
constexpr uint64_t kLoopTickMs = 1000;
constexpr uint64_t kShutdownGraceMs = 2000;

int64_t SteadyNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Loop-thread state reachable from libuv's C callbacks through handle->data.
struct LoopState {
  std::atomic<int64_t> last_tick{SteadyNanos()};  // the loop's liveness, for /healthz
  uv_timer_t tick{};
  uv_timer_t watchdog{};
  // Bounds shutdown: work already running on the thread pool (a hung DNS
  // lookup or statfs) cannot be cancelled, and waiting for it could take
  // forever. Unreferenced, so it only matters if something else is pending.
  uv_timer_t shutdown_grace{};
  bool gave_up_waiting = false;
  const SystemdNotifier* systemd = nullptr;
  uv_signal_t sigterm{};
  uv_signal_t sigint{};
  uv_signal_t sighup{};
  bool stopping = false;
  std::function<void()> stop;
};

// The listen address with the port actually bound (which differs for port 0),
// so that whoever started us can find us.
std::string BoundAddress(const std::string& listen_address, int port) {
  auto colon = listen_address.rfind(':');
  std::string host = colon == std::string::npos ? "" : listen_address.substr(0, colon);
  return (host.empty() ? "0.0.0.0" : host) + ":" + std::to_string(port);
}

void CloseIfActive(uv_handle_t* handle) {
  if (handle->loop != nullptr && !uv_is_closing(handle)) uv_close(handle, nullptr);
}

// Reads and validates the config, keeping this instance's shard of the
// checks. Blocking file I/O: at start-up, or on the thread pool.
LoadResult LoadForThisInstance(const DaemonOptions& options, bool log_shard) {
  LoadResult loaded = LoadConfigFile(options.config_file, BuiltinCheckTypes());
  if (!loaded.config || !options.shard) return loaded;
  const Shard shard = *options.shard;
  const std::vector<bool> mine = ChecksInShard(loaded.config->checks, shard);
  std::vector<CheckConfig> kept;
  for (size_t i = 0; i < mine.size(); ++i) {
    if (mine[i]) kept.push_back(std::move(loaded.config->checks[i]));
  }
  if (log_shard) {
    log::Info("running a shard of the checks",
              {{"shard", std::to_string(shard.index) + "/" + std::to_string(shard.count)},
               {"checks", std::to_string(kept.size())},
               {"of", std::to_string(mine.size())}});
  }
  loaded.config->checks = std::move(kept);
  return loaded;
}

double WallSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Summary(const CheckSet::Changes& changes) {
  return std::to_string(changes.added.size()) + " added, " +
         std::to_string(changes.removed.size()) + " removed, " +
         std::to_string(changes.changed.size()) + " changed, " +
         std::to_string(changes.unchanged) + " unchanged";
}

std::string Names(const std::vector<std::string>& names) {
  constexpr size_t kMaxNamed = 20;  // a reload of thousands stays one readable line
  std::string out;
  for (size_t i = 0; i < names.size() && i < kMaxNamed; ++i) {
    if (i > 0) out += ",";
    out += names[i];
  }
  if (names.size() > kMaxNamed) out += ",... (" + std::to_string(names.size()) + ")";
  return out;
}

}  // namespace

int Daemon::Run() {
  LoadResult loaded = LoadForThisInstance(options_, /*log_shard=*/true);
  if (!loaded.config) {
    for (const auto& e : loaded.errors) std::cerr << e.ToString() << "\n";
    log::Error("invalid config, not starting",
               {{"file", options_.config_file}, {"errors", std::to_string(loaded.errors.size())}});
    return 2;
  }
  Config config = std::move(*loaded.config);

  std::shared_ptr<const WebSecurity> web_security;
  if (!options_.web_config_file.empty()) {
    std::string error;
    web_security = LoadWebConfigFile(options_.web_config_file, &error);
    if (!web_security) {
      std::cerr << error << "\n";
      log::Error("invalid web config, not starting", {{"file", options_.web_config_file}});
      return 2;
    }
  }

  // A storage path the daemon cannot create or write in stops it now, with
  // the reason, instead of a life whose state vanishes at the next restart.
  if (auto error = store::CheckStorageDirectory(options_.storage_path)) {
    const std::string message = "--storage.path: " + *error;
    std::cerr << message << "\n";
    log::Error("cannot use the storage path, not starting", {{"error", message}});
    return 2;
  }
  // The one embedded store (docs/storage.md): opened before anything that
  // reads from it. Beyond the directory, never fatal: a file it cannot use
  // (locked, newer schema) runs from memory, and the store logs why.
  store::StoreOptions store_options;
  store_options.dir = options_.storage_path;
  store_options.journal_per_check = static_cast<size_t>(config.global.journal_entries);
  store_options.history_days = config.global.history_days;
  std::unique_ptr<store::Store> store = store::Store::Open(store_options);

  CheckServices services({options_.storage_path, store.get()});
  AddBuiltinCheckServices(services);
  if (auto error = services.Open()) {
    std::cerr << *error << "\n";
    log::Error("cannot set up the checks' shared state, not starting", {{"error", *error}});
    return 2;
  }

  uv_loop_t loop;
  uv_loop_init(&loop);
  bool gave_up_waiting = false;
  int exit_code = 0;
  {
    UvClock clock(&loop);
    IoContext io(&loop);
    StatusBoard board;
    CheckMetrics metrics;
    RunPublisher publisher(board, metrics, clock);
    FailureJournal journal(store.get());
    publisher.set_journal(&journal);
    publisher.set_redactor(config.global.redactor);
    // Daily aggregates for the uptime bars (docs/status-page.md): today's
    // rows read back from the store, then fed every run.
    DailyHistory history(clock, store.get());
    history.Resume();
    publisher.set_history(&history);
    CheckScheduler scheduler(clock, publisher);
    CheckSet checks(scheduler, board, io, services);
    checks.Apply(config);
    history.SetChecks(board.Snapshot());
    // The live checks, for POST /-/probe/<check> (loop thread only).
    std::vector<CheckConfig> live_checks = config.checks;
    DaemonProber prober(io, services,
                        [&live_checks](const std::string& name) -> const CheckConfig* {
                          for (const CheckConfig& c : live_checks) {
                            if (c.name == name) return &c;
                          }
                          return nullptr;
                        });
    metrics.RecordConfigLoad(/*reload=*/false, /*success=*/true, WallSeconds(), config.hash);
    metrics.SetClassicBucketsInProtobuf(config.global.duration_buckets_in_protobuf);
    std::string config_hash = config.hash;

    // status_page.public, replaced on reload; its listen_address is read
    // at start-up only.
    auto public_page = std::make_shared<PublicPageSource>();
    public_page->Set(config.status_page.public_page);
    SystemdNotifier systemd;
    auto apply_reload = [&](LoadResult& result) -> ReloadCoordinator::Outcome {
      if (!result.config) {
        for (const auto& e : result.errors) {
          log::Error("config error", {{"error", e.ToString()}});
        }
        log::Error("config reload failed; the running config stays in force",
                   {{"file", options_.config_file},
                    {"errors", std::to_string(result.errors.size())}});
        metrics.RecordConfigLoad(/*reload=*/true, /*success=*/false, WallSeconds(), config_hash);
        std::string message;
        for (const auto& e : result.errors) message += e.ToString() + "\n";
        return {ReloadCoordinator::Result::kRejected,
                message + std::to_string(result.errors.size()) +
                    (result.errors.size() == 1 ? " error" : " errors") +
                    "; the running config stays in force"};
      }
      systemd.Reloading();
      Config& fresh = *result.config;
      public_page->Set(fresh.status_page.public_page);
      const CheckSet::Changes changes = checks.Apply(fresh);
      publisher.set_redactor(fresh.global.redactor);
      history.SetChecks(board.Snapshot());
      live_checks = fresh.checks;
      config_hash = fresh.hash;
      metrics.RecordConfigLoad(/*reload=*/true, /*success=*/true, WallSeconds(), config_hash);
      metrics.SetClassicBucketsInProtobuf(fresh.global.duration_buckets_in_protobuf);
      const std::string summary = Summary(changes);
      log::Info("config reloaded", {{"file", options_.config_file},
                                    {"checks", std::to_string(fresh.checks.size())},
                                    {"added", Names(changes.added)},
                                    {"removed", Names(changes.removed)},
                                    {"changed", Names(changes.changed)},
                                    {"unchanged", std::to_string(changes.unchanged)},
                                    {"hash", config_hash.substr(0, 12)}});
      systemd.Ready(std::to_string(fresh.checks.size()) + " checks, config reloaded");
      return {ReloadCoordinator::Result::kApplied, "config reloaded: " + summary};
    };
    // A reload that timed out or was refused because earlier ones are stuck:
    // a failed reload like one with errors.
    auto unfinished_reload = [&](const ReloadCoordinator::Outcome& outcome) {
      log::Error("config reload failed; the running config stays in force",
                 {{"file", options_.config_file}, {"error", outcome.message}});
      metrics.RecordConfigLoad(/*reload=*/true, /*success=*/false, WallSeconds(), config_hash);
    };
    ReloadCoordinator::Limits reload_limits;
    reload_limits.deadline = options_.reload_timeout;
    ReloadCoordinator reloader(
        &loop, [this] { return LoadForThisInstance(options_, /*log_shard=*/false); }, apply_reload,
        unfinished_reload, reload_limits);

    LoopState state;
    WebServerOptions web_options;
    web_options.listen_address = options_.listen_address;
    web_options.security = web_security;
    WebServer web(web_options, board, metrics, [&state] {
      return SteadyNanos() - state.last_tick.load(std::memory_order_relaxed) <
             std::chrono::nanoseconds(kLivenessWindow).count();
    });
    // Push endpoints of check types (POST /heartbeat/<name>), always routed:
    // a reload may add a type's first check.
    web.set_push_endpoints(services.PushEndpoints());
    // GET /status/<check> and /check/<name> read the failure journal.
    web.set_store(store.get());
    web.set_history(&history);
    web.set_public_page(public_page);
    // The public page on an address of its own as well, when configured.
    std::unique_ptr<WebServer> public_web =
        MakePublicPageServer(config.status_page.public_page ? &*config.status_page.public_page
                                                            : nullptr,
                             web_security, board, metrics, public_page);
    if (public_web) public_web->set_history(&history);
    // POST /-/reload: the handler runs on a web server thread and waits for
    // the loop, at most the reload deadline (a reload of thousands of checks
    // takes well under a second; a hung filesystem takes forever).
    web.set_reload_handler([&reloader]() -> WebServer::ReloadReply {
      const ReloadCoordinator::Outcome outcome = reloader.RequestAndWait();
      switch (outcome.result) {
        case ReloadCoordinator::Result::kApplied:
          return {200, outcome.message};
        case ReloadCoordinator::Result::kRejected:
          return {500, outcome.message};
        case ReloadCoordinator::Result::kTimedOut:
          return {504, outcome.message + "; the running config stays in force"};
        case ReloadCoordinator::Result::kBusy:
        case ReloadCoordinator::Result::kShuttingDown:
          break;
      }
      return {503, outcome.message};
    });
    // POST /-/probe/<check>: one traced attempt of a live check, run on the
    // loop and waited for by this web thread (docs/debug-run.md).
    web.set_probe_handler([&prober](const std::string& check, bool json) {
      DaemonProber::Reply r = prober.Probe(check, json);
      return WebServer::ProbeReply{r.status, std::move(r.content_type), std::move(r.body),
                                   r.retry_after_seconds};
    });
    // Before serving: instant checks (a restored heartbeat) have their first
    // result inside Start(), so not even the first request sees them pending.
    scheduler.Start();
    std::optional<std::string> start_error = web.Start();
    if (!start_error && public_web) {
      if (auto error = public_web->Start()) {
        start_error = "public page: " + *error;
        web.Stop();
      }
    }
    if (auto error = start_error) {
      // Everything is torn down the same way as after a stop, so that the
      // scheduler's timers are closed before the loop is.
      log::Error("cannot start the web server", {{"error", *error}});
      reloader.Close();
      prober.Close();
      scheduler.Stop();
      io.Shutdown();
      exit_code = 1;
    } else {
      state.stop = [&] {
        if (state.stopping) return;
        state.stopping = true;
        log::Info("stopping");
        reloader.Close();
        prober.Close();
        scheduler.Stop();
        history.Stop();
        io.Shutdown();
        state.systemd->Stopping();
        CloseIfActive(reinterpret_cast<uv_handle_t*>(&state.tick));
        CloseIfActive(reinterpret_cast<uv_handle_t*>(&state.watchdog));
        CloseIfActive(reinterpret_cast<uv_handle_t*>(&state.sigterm));
        CloseIfActive(reinterpret_cast<uv_handle_t*>(&state.sigint));
        CloseIfActive(reinterpret_cast<uv_handle_t*>(&state.sighup));
        uv_timer_init(&loop, &state.shutdown_grace);
        state.shutdown_grace.data = &state;
        uv_timer_start(
            &state.shutdown_grace,
            [](uv_timer_t* t) {
              auto* s = static_cast<LoopState*>(t->data);
              s->gave_up_waiting = true;
              log::Warn("not waiting any longer for blocked work (e.g. a hung DNS lookup or "
                        "filesystem) to finish");
              uv_stop(t->loop);
            },
            kShutdownGraceMs, 0);
        uv_unref(reinterpret_cast<uv_handle_t*>(&state.shutdown_grace));
      };

      uv_timer_init(&loop, &state.tick);
      state.tick.data = &state;
      uv_timer_start(
          &state.tick,
          [](uv_timer_t* t) {
            static_cast<LoopState*>(t->data)->last_tick.store(SteadyNanos(),
                                                              std::memory_order_relaxed);
          },
          kLoopTickMs, kLoopTickMs);
      state.systemd = &systemd;
      if (auto every = systemd.watchdog_ping_interval()) {
        // Pinged from the loop itself: if the loop wedges, systemd restarts us.
        auto ms = std::max<uint64_t>(
            1, std::chrono::duration_cast<std::chrono::milliseconds>(*every).count());
        uv_timer_init(&loop, &state.watchdog);
        state.watchdog.data = &state;
        uv_timer_start(
            &state.watchdog,
            [](uv_timer_t* t) { static_cast<LoopState*>(t->data)->systemd->WatchdogPing(); }, ms,
            ms);
      }
      auto on_stop_signal = [](uv_signal_t* s, int signum) {
        log::Info("signal received", {{"signal", signum == SIGTERM ? "SIGTERM" : "SIGINT"}});
        static_cast<LoopState*>(s->data)->stop();
      };
      for (auto [handle, signum] : {std::pair{&state.sigterm, SIGTERM}, {&state.sigint, SIGINT}}) {
        uv_signal_init(&loop, handle);
        handle->data = &state;
        uv_signal_start(handle, on_stop_signal, signum);
      }
      uv_signal_init(&loop, &state.sighup);
      state.sighup.data = &reloader;
      uv_signal_start(
          &state.sighup,
          [](uv_signal_t* s, int) {
            log::Info("signal received", {{"signal", "SIGHUP"}});
            static_cast<ReloadCoordinator*>(s->data)->Request(nullptr);
          },
          SIGHUP);

      history.Start();
      if (public_web) {
        log::Info("serving the public page",
                  {{"address", BoundAddress(config.status_page.public_page->listen_address,
                                            public_web->port())}});
      }
      systemd.Ready(std::to_string(config.checks.size()) + " checks, serving on " +
                    BoundAddress(options_.listen_address, web.port()));
      log::Info("started", {{"version", build::kVersion},
                            {"config", options_.config_file},
                            {"checks", std::to_string(config.checks.size())},
                            {"address", BoundAddress(options_.listen_address, web.port())}});

      uv_run(&loop, UV_RUN_DEFAULT);
      // Stop serving before the objects the handlers read go away.
      if (public_web) public_web->Stop();
      web.Stop();
      state.stop();
      if (!state.gave_up_waiting) uv_run(&loop, UV_RUN_DEFAULT);
      gave_up_waiting = state.gave_up_waiting;
      history.Flush();  // today's rows up to the stop; the store commits them on close
      CloseIfActive(reinterpret_cast<uv_handle_t*>(&state.shutdown_grace));
    }
  }
  if (gave_up_waiting) {
    // Pool threads still run blocked calls that reference the loop: leave
    // without closing it or running static destructors under them.
    log::Info("stopped");
    spdlog::default_logger_raw()->flush();
    std::_Exit(0);
  }
  // Handles closed by destructors (timers of the scheduler) finish here.
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0) log::Debug("loop closed with handles still open");
  if (exit_code == 0) log::Info("stopped");
  return exit_code;
}

}  // namespace hx
