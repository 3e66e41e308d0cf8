#pragma once
// What check types share across their checks, and how they reach the layers
// above without those layers naming them: CheckContext (what one check is
// created with), CheckService (a type's daemon-wide part: state, start-up
// work, a push endpoint) and CheckServices (the daemon's set of them, found by
// type). The heartbeat type is the model: its store, its token table and its
// /heartbeat/ endpoint live in one HeartbeatService
// (checks/heartbeat/heartbeat_check.h); the daemon and the web server only
// see a CheckService and a PushEndpoint.

#include <uv.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeindex>
#include <utility>
#include <vector>

namespace hx::store {
class Store;
}  // namespace hx::store

namespace hx {

class CheckSpec;

/// The checks that run once a config is applied, by name and spec, in config
/// order. The specs are owned by the config (or the running checks) and
/// outlive the call they are passed to.
using NamedCheckSpecs = std::vector<std::pair<std::string, const CheckSpec*>>;

/// What a push endpoint answers.
struct PushResponse {
  int status = 200;
  std::string body;  ///< short text, ends in "\n"
  /// Extra headers, e.g. {"Allow", "POST"} with 405, {"WWW-Authenticate",
  /// "Bearer"} with 401.
  std::vector<std::pair<std::string, std::string>> headers;
};

/// A URL prefix a check type serves on the daemon's web port, for jobs that
/// push their state (POST /heartbeat/<name>). The endpoint authenticates
/// requests itself (e.g. per-check bearer tokens), so the web server lets
/// them past basic auth; it must answer 401 before anything that tells
/// whether a name exists. Immutable; `handle` is called from the web
/// server's threads, any number at once, and must be thread-safe.
struct PushEndpoint {
  /// Served paths start with it, e.g. "/heartbeat/".
  std::string path_prefix;
  /// Largest accepted body: the server reads at most one byte more and
  /// passes what it read (the handler refuses a longer one).
  size_t max_body_bytes = 0;
  /// method, path (without query string), Authorization header, body.
  std::function<PushResponse(std::string_view method, std::string_view path,
                             std::string_view authorization, std::string_view body)>
      handle;
};

/// A check type's daemon-wide part: state its checks share, set up once.
/// Created before the loop runs and destroyed after it stopped; each
/// implementation says how it is shared between threads.
class CheckService {
 public:
  virtual ~CheckService() = default;

  /// Blocking start-up work before any check exists and before the loop
  /// runs (e.g. load state from disk). Returns a message for the user when
  /// the daemon cannot run (it then exits with status 2), naming the option
  /// at fault.
  virtual std::optional<std::string> Open() { return std::nullopt; }

  /// Called with every check that will run (kept and new) before the new
  /// checks of a config are created: the first config (`first`, before the
  /// loop runs: blocking I/O is fine) and each reload (on the loop thread:
  /// blocking I/O goes to `loop`'s thread pool).
  virtual void ChecksWillRun(const NamedCheckSpecs& /*checks*/, uv_loop_t* /*loop*/,
                             bool /*first*/) {}

  /// URL prefixes this type serves on the web port; asked once, before the
  /// web server starts.
  virtual std::vector<PushEndpoint> PushEndpoints() const { return {}; }

  /// The debug run (--probe-once) will run one attempt of each of `checks`
  /// in a process that runs no other check: prepare them in memory only,
  /// after Open(); nothing may be written (e.g. heartbeats bind the check's
  /// name to its restored state, and save nothing).
  virtual void ChecksWillProbe(const NamedCheckSpecs& /*checks*/) {}
};

/// The daemon's check services, one per type that has one, found by their
/// C++ type. Filled at start-up (AddBuiltinCheckServices()) before any check
/// is created, then fixed. Loop thread (and start-up) only; not thread-safe.
/// The services themselves say how they are shared.
class CheckServices {
 public:
  /// What services may need from the daemon's options.
  struct Options {
    /// Where state that must survive a restart lives (--storage.path).
    std::string storage_path;
    /// The daemon's one embedded store under storage_path (store/store.h);
    /// outlives every service. Null in tests that set none up.
    store::Store* store = nullptr;
  };

  explicit CheckServices(Options options) : options_(std::move(options)) {}
  CheckServices(const CheckServices&) = delete;
  CheckServices& operator=(const CheckServices&) = delete;

  const Options& options() const { return options_; }

  /// Adds `service` as the one T; a second T is ignored (the first stays).
  template <typename T>
  void Add(std::shared_ptr<T> service) {
    static_assert(std::is_base_of_v<CheckService, T>);
    if (by_type_.emplace(std::type_index(typeid(T)), service).second) {
      order_.push_back(std::move(service));
    }
  }

  /// The T added, or null.
  template <typename T>
  T* Find() const {
    auto it = by_type_.find(std::type_index(typeid(T)));
    return it == by_type_.end() ? nullptr : static_cast<T*>(it->second.get());
  }

  /// CheckService::Open() of each, in order; the first error.
  std::optional<std::string> Open();
  /// Tells the store (if any) which checks are configured, all types
  /// (Store::SetChecks: tombstones for the removed ones, queued), then
  /// CheckService::ChecksWillRun() of each. Once per applied config.
  void ChecksWillRun(const NamedCheckSpecs& checks, uv_loop_t* loop, bool first);
  /// CheckService::ChecksWillProbe() of each.
  void ChecksWillProbe(const NamedCheckSpecs& checks);
  /// Every service's push endpoints.
  std::vector<PushEndpoint> PushEndpoints() const;

 private:
  Options options_;
  std::map<std::type_index, std::shared_ptr<CheckService>> by_type_;
  std::vector<std::shared_ptr<CheckService>> order_;  // in order of Add()
};

}  // namespace hx
