#include "app/probe.h"

#include <uv.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "checks/common/check_services.h"
#include "io/io_context.h"
#include "store/store.h"
#include "util/duration.h"

namespace hx {
namespace {

constexpr std::string_view kMaskedText = "<masked>";

std::string Millis(uint64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fms", static_cast<double>(ns) / 1e6);
  return buf;
}

std::string ObservationText(const Observation& o) {
  std::string text(o.name());
  if (!o.label_name().empty()) {
    text += "{" + std::string(o.label_name()) + "=\"" + o.label_value + "\"}";
  }
  char value[64];
  std::snprintf(value, sizeof value, " %.17g", o.value);
  return text + value;
}

std::string VerdictText(const ProbeReport& r) {
  std::string text(HealthName(r.result.health));
  if (r.result.reason != FailureReason::kNone) {
    text += " (" + std::string(FailureReasonName(r.result.reason)) + ")";
  }
  if (!r.result.detail.empty()) text += ": " + r.result.detail;
  return text;
}

// Every occurrence of a secret of at least 4 characters (shorter ones would
// mask ordinary words and are no secrets), longest first.
std::string MaskSecrets(std::string text, std::vector<std::string> secrets) {
  std::sort(secrets.begin(), secrets.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  for (const std::string& secret : secrets) {
    if (secret.size() < 4) continue;
    for (size_t at = text.find(secret); at != std::string::npos;
         at = text.find(secret, at + kMaskedText.size())) {
      text.replace(at, secret.size(), kMaskedText);
    }
  }
  return text;
}

// One traced attempt on the loop; see StartProbe(). Owns itself: freed by
// its timer's close callback, after `done` ran. Loop thread only.
class ProbeRun {
 public:
  ProbeRun(const ProbeRun&) = delete;
  ProbeRun& operator=(const ProbeRun&) = delete;
  ProbeRun(IoContext& io, CheckServices* services, const CheckConfig& check, bool hold_loop,
           std::function<void(ProbeReport)> done)
      : config_(check), done_(std::move(done)) {
    report_.check = check.name;
    report_.type = check.type;
    report_.target = config::AsWritten(check.spec->Target(), check.expansions);
    timer_ = new uv_timer_t;
    uv_timer_init(io.loop(), timer_);
    timer_->data = this;
    if (!hold_loop) uv_unref(reinterpret_cast<uv_handle_t*>(timer_));
    CheckContext context(io, check.name, services);
    context.trace = &trace_;
    check_ = WithWrittenText(NewCheck(*check.spec, context), check.expansions);
  }

  void Begin() {
    trace_.Add("start", "check " + report_.check + " (" + report_.type + ") " + report_.target +
                            ", timeout " + FormatDuration(config_.timeout));
    const auto timeout_ms = static_cast<uint64_t>(std::max<int64_t>(
        1, std::chrono::duration_cast<std::chrono::milliseconds>(config_.timeout).count()));
    uv_timer_start(timer_, &ProbeRun::OnTimeout, timeout_ms, 0);
    if (check_ == nullptr) {
      Finish(CheckResult::Unhealthy(FailureReason::kInternal, "the check could not be created"),
             false);
      return;
    }
    check_->Start([this](CheckResult result) { Finish(std::move(result), false); });
  }

 private:
  static void OnTimeout(uv_timer_t* timer) {
    auto* self = static_cast<ProbeRun*>(timer->data);
    if (self->finished_) return;
    self->check_->Cancel();  // no callback after this
    self->Finish(CheckResult::Unhealthy(FailureReason::kTimeout,
                                        "timeout after " + FormatDuration(self->config_.timeout)),
                 true);
  }

  void Finish(CheckResult result, bool timed_out) {
    if (finished_) return;
    finished_ = true;
    const uint64_t duration_ns = trace_.Elapsed();
    // As the board records a failure whose type named no reason.
    if (result.health != Health::kHealthy && result.reason == FailureReason::kNone) {
      result.reason = FailureReason::kInternal;
    }
    // As the scheduler judges it (CheckScheduler::Finish).
    if (result.health == Health::kHealthy && config_.degraded_latency &&
        std::chrono::nanoseconds(duration_ns) > *config_.degraded_latency) {
      std::string detail =
          "slow: " + Millis(duration_ns) + " > " + FormatDuration(*config_.degraded_latency);
      if (!result.detail.empty()) detail += " (" + result.detail + ")";
      result.health = Health::kDegraded;
      result.reason = FailureReason::kSlow;
      result.detail = std::move(detail);
    }
    for (const Observation& o : result.observations) {
      trace_.Add(o.label_name() == "phase" ? "phase" : "observation",
                 o.label_name() == "phase"
                     ? o.label_value + " " + Millis(static_cast<uint64_t>(o.value * 1e9))
                     : ObservationText(o));
    }
    if (!result.address.empty()) trace_.Add("result", "address " + result.address);
    report_.result = std::move(result);
    report_.timed_out = timed_out;
    report_.duration_ns = duration_ns;
    trace_.Add("result", VerdictText(report_) + " (attempt took " + Millis(duration_ns) + ")");
    report_.events = trace_.events();
    const std::vector<std::string> secrets = config_.spec->Secrets();
    for (TraceEvent& e : report_.events) {
      e.text = config::AsWritten(MaskSecrets(std::move(e.text), secrets), config_.expansions);
    }
    // The check and the timer go on the loop's next turn, outside the
    // check's own callback.
    uv_timer_stop(timer_);
    uv_close(reinterpret_cast<uv_handle_t*>(timer_), [](uv_handle_t* handle) {
      auto* self = static_cast<ProbeRun*>(handle->data);
      delete reinterpret_cast<uv_timer_t*>(handle);
      delete self;
    });
    auto done = std::move(done_);
    done(std::move(report_));
  }

  const CheckConfig config_;  // a copy: a reload may drop the original meanwhile
  std::function<void(ProbeReport)> done_;
  AttemptTrace trace_;
  std::unique_ptr<Check> check_;
  uv_timer_t* timer_ = nullptr;  // heap: freed by its close callback
  ProbeReport report_;
  bool finished_ = false;
};

void StartProbeRun(IoContext& io, CheckServices* services, const CheckConfig& check, bool hold_loop,
                   std::function<void(ProbeReport)> done) {
  (new ProbeRun(io, services, check, hold_loop, std::move(done)))->Begin();
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

void StartProbe(IoContext& io, CheckServices* services, const CheckConfig& check,
                std::function<void(ProbeReport)> done) {
  StartProbeRun(io, services, check, /*hold_loop=*/false, std::move(done));
}

std::string ProbeReportText(const ProbeReport& r) {
  std::string out = "probe of check " + r.check + " (" + r.type + "): " + r.target + "\n";
  for (const TraceEvent& e : r.events) {
    char head[48];
    std::snprintf(head, sizeof head, "%9s  %-11s ", ("+" + Millis(e.at_ns)).c_str(),
                  e.step.c_str());
    std::string text = e.text;
    while (!text.empty() && text.back() == '\n') text.pop_back();
    // Continuation lines (a body excerpt) line up under the text.
    for (size_t at = text.find('\n'); at != std::string::npos; at = text.find('\n', at + 1)) {
      text.insert(at + 1, std::string(23, ' '));
    }
    out += head + text + "\n";
  }
  out += "verdict: " + VerdictText(r) + "\n";
  return out;
}

std::string ProbeReportJson(const ProbeReport& r) {
  nlohmann::json events = nlohmann::json::array();
  for (const TraceEvent& e : r.events) {
    events.push_back(
        {{"at_seconds", static_cast<double>(e.at_ns) / 1e9}, {"step", e.step}, {"text", e.text}});
  }
  nlohmann::json observations = nlohmann::json::array();
  for (const Observation& o : r.result.observations) {
    nlohmann::json item = {{"name", o.name()}, {"value", o.value}};
    if (!o.label_name().empty()) item[std::string(o.label_name())] = o.label_value;
    observations.push_back(std::move(item));
  }
  nlohmann::json out = {
      {"check", r.check},
      {"type", r.type},
      {"target", r.target},
      {"health", HealthName(r.result.health)},
      {"reason", r.result.reason == FailureReason::kNone
                     ? nullptr
                     : nlohmann::json(FailureReasonName(r.result.reason))},
      {"detail", r.result.detail},
      {"address", r.result.address},
      {"timed_out", r.timed_out},
      {"duration_seconds", static_cast<double>(r.duration_ns) / 1e9},
      {"observations", std::move(observations)},
      {"events", std::move(events)},
  };
  return out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

int ProbeExitCode(const ProbeReport& report) {
  return report.result.health == Health::kHealthy ? 0 : 1;
}

std::vector<std::string> CloseNames(std::string_view name, const std::vector<std::string>& names) {
  std::vector<std::pair<size_t, std::string>> scored;
  const size_t limit = std::max<size_t>(1, name.size() / 3);
  for (const std::string& candidate : names) {
    const size_t d = EditDistance(name, candidate);
    const bool contains = !name.empty() && (candidate.find(name) != std::string::npos ||
                                            name.find(candidate) != std::string::npos);
    if (d <= limit || contains) scored.emplace_back(d, candidate);
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> out;
  for (size_t i = 0; i < scored.size() && i < 3; ++i) out.push_back(scored[i].second);
  return out;
}

int ProbeOnce(const std::string& config_file, const std::string& check,
              const std::string& storage_path, bool json, std::ostream& out, std::ostream& err) {
  LoadResult loaded = LoadConfigFile(config_file, BuiltinCheckTypes());
  if (!loaded.config) {
    for (const auto& e : loaded.errors) err << e.ToString() << "\n";
    err << config_file << ": " << loaded.errors.size()
        << (loaded.errors.size() == 1 ? " error" : " errors") << "\n";
    return 2;
  }
  const Config& config = *loaded.config;
  const CheckConfig* found = nullptr;
  std::vector<std::string> names;
  for (const CheckConfig& c : config.checks) {
    if (c.name == check) found = &c;
    names.push_back(c.name);
  }
  if (found == nullptr) {
    err << "--probe-once: no check named \"" << check << "\" in " << config_file;
    const std::vector<std::string> close = CloseNames(check, names);
    for (size_t i = 0; i < close.size(); ++i) {
      err << (i == 0 ? "; did you mean " : ", ") << close[i];
    }
    err << (close.empty() ? "" : "?") << "\n";
    return 2;
  }

  // The daemon's services over a memory-only store holding a read-only copy
  // of the stored heartbeats: the debug run reads the daemon's state (also
  // while the daemon runs) and writes nothing, not even a legacy import.
  std::unique_ptr<store::Store> memory = store::Store::Open(store::StoreOptions{});
  if (!storage_path.empty()) {
    std::string error;
    const std::string file = storage_path + "/" + store::StoreOptions{}.file_name;
    for (store::HeartbeatRow& row : store::ReadHeartbeatsReadOnly(file, &error)) {
      memory->PutHeartbeat(std::move(row));
    }
    if (!error.empty()) err << "cannot read the stored heartbeats in " << file << ": " << error << "\n";
    memory->Flush();
  }
  CheckServices services({"", memory.get()});
  AddBuiltinCheckServices(services);
  if (auto error = services.Open()) {
    err << *error << "\n";
    return 2;
  }
  services.ChecksWillProbe({{found->name, found->spec.get()}});

  std::optional<ProbeReport> report;
  uv_loop_t loop;
  uv_loop_init(&loop);
  {
    IoContext io(&loop);
    StartProbeRun(io, &services, *found, /*hold_loop=*/true,
                  [&report](ProbeReport r) { report = std::move(r); });
    // Until the report: the resolver and curl may keep handles open after it.
    while (!report && uv_run(&loop, UV_RUN_ONCE) != 0) {
    }
    io.Shutdown();
    uv_run(&loop, UV_RUN_DEFAULT);
  }
  uv_loop_close(&loop);
  if (!report) {
    err << "--probe-once: the attempt did not finish\n";
    return 2;
  }
  out << (json ? ProbeReportJson(*report) : ProbeReportText(*report));
  return ProbeExitCode(*report);
}

int64_t ProbeGate::TryStart(const std::string& check) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> lock(mu_);
  if (running_ >= max_running_) return 1;
  auto [it, fresh] = slots_.try_emplace(check);
  Slot& slot = it->second;
  if (!fresh) {
    const auto next = slot.last_start + min_gap_;
    if (slot.running || now < next) {
      const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count();
      return std::max<int64_t>(1, (wait + 999) / 1000);
    }
  }
  slot.running = true;
  slot.last_start = now;
  ++running_;
  return 0;
}

void ProbeGate::Done(const std::string& check) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = slots_.find(check);
  if (it != slots_.end() && it->second.running) {
    it->second.running = false;
    --running_;
  }
}

// One POST /-/probe request, shared by the web thread that waits and the
// loop that answers (either may give up first). Guarded by its mutex.
struct DaemonProber::Waiter {
  std::string check;
  bool json = false;
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Reply> reply;
  // Set by the loop when the attempt starts: how long the web thread waits.
  std::optional<std::chrono::steady_clock::time_point> deadline;

  void Answer(Reply r) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (reply) return;
      reply = std::move(r);
    }
    cv.notify_all();
  }
};

namespace {

DaemonProber::Reply TextReply(int status, std::string body) {
  DaemonProber::Reply reply;
  reply.status = status;
  reply.body = std::move(body);
  return reply;
}

// How long the web thread waits for the loop to pick the request up.
constexpr auto kPickUpWait = std::chrono::seconds(5);
// Beyond the check's own timeout, for the loop to hand the report over.
constexpr auto kAnswerMargin = std::chrono::seconds(1);

}  // namespace

DaemonProber::DaemonProber(IoContext& io, CheckServices& services, Lookup lookup,
                           std::chrono::milliseconds min_gap)
    : io_(io),
      services_(services),
      lookup_(std::move(lookup)),
      gate_(std::make_shared<ProbeGate>(min_gap)) {
  async_ = new uv_async_t;
  uv_async_init(io_.loop(), async_, &DaemonProber::OnAsync);
  async_->data = this;
  // Only requests keep it busy; it must not keep a stopping loop alive.
  uv_unref(reinterpret_cast<uv_handle_t*>(async_));
}

DaemonProber::~DaemonProber() { Close(); }

void DaemonProber::Close() {
  std::vector<std::shared_ptr<Waiter>> waiting;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return;
    closed_ = true;
    waiting.swap(queue_);
  }
  for (const auto& w : waiting) w->Answer(TextReply(503, "the daemon is stopping\n"));
  uv_close(reinterpret_cast<uv_handle_t*>(async_),
           [](uv_handle_t* handle) { delete reinterpret_cast<uv_async_t*>(handle); });
}

DaemonProber::Reply DaemonProber::Probe(const std::string& check, bool json) {
  auto waiter = std::make_shared<Waiter>();
  waiter->check = check;
  waiter->json = json;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return TextReply(503, "the daemon is stopping\n");
    queue_.push_back(waiter);
    uv_async_send(async_);
  }
  const auto asked = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(waiter->mu);
  while (!waiter->reply) {
    const auto until = waiter->deadline ? *waiter->deadline : asked + kPickUpWait;
    if (waiter->cv.wait_until(lock, until) == std::cv_status::timeout && !waiter->reply &&
        std::chrono::steady_clock::now() >= (waiter->deadline ? *waiter->deadline : until)) {
      // The attempt may still end on the loop; its report is dropped.
      return TextReply(504, "the probe of " + check + " did not answer in time\n");
    }
  }
  return std::move(*waiter->reply);
}

void DaemonProber::OnAsync(uv_async_t* async) {
  auto* self = static_cast<DaemonProber*>(async->data);
  std::vector<std::shared_ptr<Waiter>> batch;
  {
    std::lock_guard<std::mutex> lock(self->mu_);
    batch.swap(self->queue_);
  }
  for (const auto& w : batch) self->StartOnLoop(w);
}

void DaemonProber::StartOnLoop(const std::shared_ptr<Waiter>& waiter) {
  const CheckConfig* check = lookup_(waiter->check);
  if (check == nullptr) {
    // Only configured checks: never a probe of a target named by the client.
    waiter->Answer(TextReply(404, "no check named " + waiter->check + "\n"));
    return;
  }
  if (const int64_t wait = gate_->TryStart(check->name); wait > 0) {
    Reply reply = TextReply(429, "a probe of " + check->name + " ran or runs just now; retry in " +
                                     std::to_string(wait) + "s\n");
    reply.retry_after_seconds = wait;
    waiter->Answer(std::move(reply));
    return;
  }
  {
    std::lock_guard<std::mutex> lock(waiter->mu);
    waiter->deadline =
        std::chrono::steady_clock::now() +
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(check->timeout) +
        kAnswerMargin;
  }
  waiter->cv.notify_all();
  StartProbe(io_, &services_, *check,
             [gate = gate_, waiter, name = check->name](const ProbeReport& report) {
               gate->Done(name);
               Reply reply;
               if (waiter->json) {
                 reply.content_type = "application/json";
                 reply.body = ProbeReportJson(report);
               } else {
                 reply.body = ProbeReportText(report);
               }
               waiter->Answer(std::move(reply));
             });
}

}  // namespace hx
