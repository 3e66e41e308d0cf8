#include "http/basic_auth.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>

#include "util/ascii.h"
#include "util/base64.h"
#include "util/log.h"
#include "util/sha256.h"

namespace hx {
namespace {

using SteadyTime = std::chrono::steady_clock::time_point;

int BcryptCost(const std::string& hash) { return (hash[4] - '0') * 10 + (hash[5] - '0'); }

// A copy of a password that is wiped wherever it ends: verified, or dropped
// from the queue of a pool being destroyed.
struct WipedString {
  std::string text;
  ~WipedString() { OPENSSL_cleanse(text.data(), text.size()); }
};

// One bcrypt verification; its working memory is wiped.
bool VerifyBcrypt(const std::string& password, const std::string& hash) {
  auto data = std::make_unique<crypt_data>();
  const char* computed = crypt_rn(password.c_str(), hash.c_str(), data.get(), sizeof(crypt_data));
  const bool match = computed != nullptr && std::strlen(computed) == hash.size() &&
                     CRYPTO_memcmp(computed, hash.data(), hash.size()) == 0;
  OPENSSL_cleanse(data.get(), sizeof(crypt_data));
  return match;
}

// A log line is allowed per client this often while it is throttled.
constexpr auto kLogEvery = std::chrono::minutes(1);

int ThreadsFor(const BasicAuthenticator::Options& options) {
  return options.bcrypt_threads > 0 ? options.bcrypt_threads : BcryptPool::DefaultThreads();
}

size_t InFlightFor(const BasicAuthenticator::Options& options) {
  return options.max_in_flight > 0 ? options.max_in_flight
                                   : 2 * static_cast<size_t>(ThreadsFor(options));
}

}  // namespace

// ---------------------------------------------------------------------------
// ClientRateLimiter

ClientRateLimiter::ClientRateLimiter(const Options& options, Clock clock)
    : options_(options),
      clock_(clock ? std::move(clock) : Clock([] { return std::chrono::steady_clock::now(); })) {}

void ClientRateLimiter::MakeRoom(SteadyTime now) {
  // Buckets that are full again hold nothing a new bucket would not.
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    const double refilled =
        it->second.tokens + options_.tokens_per_second *
                                std::chrono::duration<double>(now - it->second.updated).count();
    const bool logged_recently = it->second.logged && now - *it->second.logged < kLogEvery;
    it = refilled >= options_.burst && !logged_recently ? buckets_.erase(it) : std::next(it);
  }
  if (buckets_.empty() || buckets_.size() < options_.max_clients) return;
  auto oldest = std::min_element(
      buckets_.begin(), buckets_.end(),
      [](const auto& a, const auto& b) { return a.second.updated < b.second.updated; });
  buckets_.erase(oldest);
}

ClientRateLimiter::Verdict ClientRateLimiter::TryTake(std::string_view client) {
  const SteadyTime now = clock_();
  std::lock_guard lock(mutex_);
  auto it = buckets_.find(std::string(client));
  if (it == buckets_.end()) {
    if (buckets_.size() >= options_.max_clients) MakeRoom(now);
    it = buckets_.emplace(std::string(client), Bucket{options_.burst, now, std::nullopt}).first;
  }
  Bucket& bucket = it->second;
  const double elapsed = std::chrono::duration<double>(now - bucket.updated).count();
  bucket.tokens = std::min(options_.burst, bucket.tokens + options_.tokens_per_second * elapsed);
  bucket.updated = now;
  Verdict verdict;
  if (bucket.tokens >= 1.0) {
    bucket.tokens -= 1.0;
    return verdict;
  }
  verdict.allowed = false;
  const double wait = (1.0 - bucket.tokens) / options_.tokens_per_second;
  verdict.retry_after = std::chrono::seconds(std::max<int64_t>(1, std::llround(std::ceil(wait))));
  if (!bucket.logged || now - *bucket.logged >= kLogEvery) {
    bucket.logged = now;
    verdict.log = true;
  }
  return verdict;
}

size_t ClientRateLimiter::clients() const {
  std::lock_guard lock(mutex_);
  return buckets_.size();
}

// ---------------------------------------------------------------------------
// BcryptPool

std::optional<bool> BcryptPool::Pending::WaitFor(std::chrono::nanoseconds timeout) {
  std::unique_lock lock(mutex_);
  done_.wait_for(lock, timeout, [this] { return result_.has_value(); });
  return result_;
}

void BcryptPool::Pending::Set(bool result) {
  {
    std::lock_guard lock(mutex_);
    result_ = result;
  }
  done_.notify_all();
}

BcryptPool::BcryptPool(int threads, size_t max_in_flight)
    : threads_wanted_(std::max(1, threads)), max_in_flight_(std::max<size_t>(1, max_in_flight)) {
  tail_ = head_ = new Node;
}

BcryptPool::~BcryptPool() {
  stopping_.store(true);
  queued_.release(static_cast<std::ptrdiff_t>(threads_.size()));
  for (std::thread& thread : threads_) thread.join();
  // Jobs still queued are dropped; a password copy is wiped as its job goes.
  while (head_ != nullptr) {
    Node* next = head_->next.load(std::memory_order_relaxed);
    delete head_;
    head_ = next;
  }
}

int BcryptPool::DefaultThreads() {
  // The CPUs this process may use (a container's or taskset's share), not
  // the machine's.
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  int count = 0;
  if (sched_getaffinity(0, sizeof(cpus), &cpus) == 0) count = CPU_COUNT(&cpus);
  if (count <= 0) count = static_cast<int>(std::thread::hardware_concurrency());
  return std::max(1, count / 2);
}

std::shared_ptr<BcryptPool::Pending> BcryptPool::TrySubmit(std::function<bool()> job,
                                                           Completion done) {
  size_t admitted = in_flight_.load();
  do {
    if (admitted >= max_in_flight_) return nullptr;
  } while (!in_flight_.compare_exchange_weak(admitted, admitted + 1));
  std::call_once(started_, [this] {
    for (int i = 0; i < threads_wanted_; ++i) threads_.emplace_back([this] { Run(); });
  });
  auto pending = std::make_shared<Pending>();
  auto node = std::make_unique<Node>();
  node->job = Job{std::move(job), pending, std::move(done)};
  {
    std::lock_guard lock(tail_mutex_);
    Node* last = tail_;
    tail_ = node.get();
    last->next.store(node.release(), std::memory_order_release);
  }
  queued_.release();
  return pending;
}

size_t BcryptPool::in_flight() const { return in_flight_.load(); }

void BcryptPool::Run() {
  // bcrypt is CPU work any client can ask for; the loop, the front door, the
  // probes and the scrapes come first. SCHED_IDLE runs it only on a CPU
  // nothing else wants: at nice 10, two busy verifiers on a 2-CPU machine
  // still delayed /healthz on the front door's loop by up to 100 ms (bench
  // figure 8: p99 95.6 ms, against 2.6 ms with slowloris alone). Where
  // SCHED_IDLE is refused, nice 10. (Linux: both are per thread.) Priority
  // alone is not enough: the pool has half the CPUs' threads (see
  // DefaultThreads()), so a flood never keeps every CPU busy.
  const sched_param idle{};
  if (sched_setscheduler(0, SCHED_IDLE, &idle) != 0) {
    (void)setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), 10);
  }
  while (true) {
    queued_.acquire();
    if (stopping_.load()) return;
    Job job;
    std::unique_ptr<Node> taken;
    {
      std::lock_guard lock(head_mutex_);
      // The permit was released after its node was linked.
      Node* next = head_->next.load(std::memory_order_acquire);
      job = std::exchange(next->job, Job{});
      taken.reset(head_);
      head_ = next;
    }
    taken.reset();
    const bool result = job.run();
    // Counted out before the waiter wakes: its next submission finds room.
    in_flight_.fetch_sub(1);
    job.pending->Set(result);
    if (job.done) job.done(result);
    // The job's captures (a password copy) go before the next wait.
  }
}

// ---------------------------------------------------------------------------
// BasicAuthenticator

BasicAuthenticator::BasicAuthenticator(std::map<std::string, std::string> users,
                                       const Options& options, ClientRateLimiter::Clock clock)
    : users_(std::move(users)),
      options_(options),
      limiter_(options.per_client, std::move(clock)),
      pool_(ThreadsFor(options), InFlightFor(options)) {
  for (const auto& [user, hash] : users_) {
    if (dummy_hash_.empty() || BcryptCost(hash) > BcryptCost(dummy_hash_)) dummy_hash_ = hash;
  }
}

BasicAuthenticator::Key BasicAuthenticator::CacheKey(std::string_view user, const std::string& hash,
                                                     std::string_view password) {
  // Lengths first, so that ("ab", "c") and ("a", "bc") differ.
  const uint64_t sizes[3] = {user.size(), hash.size(), password.size()};
  Sha256 digest;
  digest.Update(std::string_view(reinterpret_cast<const char*>(sizes), sizeof(sizes)));
  digest.Update(user);
  digest.Update(hash);
  digest.Update(password);
  return digest.FinishHex();
}

void BasicAuthenticator::Remember(const Key& key) const {
  std::lock_guard lock(mutex_);
  if (!cache_.insert(key).second) return;
  cache_order_.push_back(key);
  while (cache_order_.size() > options_.max_cached) {
    cache_.erase(cache_order_.front());
    cache_order_.pop_front();
  }
}

std::optional<AuthDecision> BasicAuthenticator::Start(std::string_view client,
                                                      std::string_view user,
                                                      std::string_view password,
                                                      BcryptPool::Completion done,
                                                      std::shared_ptr<BcryptPool::Pending>* pending,
                                                      bool never_block) const {
  const auto found = users_.find(std::string(user));
  const bool known = found != users_.end();
  const std::string& hash = known ? found->second : dummy_hash_;
  if (hash.empty()) return AuthDecision{};
  // crypt_rn wants a NUL-terminated phrase; a NUL inside would cut it short.
  if (password.find('\0') != std::string_view::npos) return AuthDecision{};
  // The key is a digest of the secrets and of a salted hash the client does
  // not know, so looking it up in an ordered set leaks nothing usable.
  const Key key = CacheKey(user, hash, password);
  if (known) {
    // A bcrypt thread takes this lock to remember a success (see
    // CheckHeaderAsync() on never_block).
    std::unique_lock lock(mutex_, std::defer_lock);
    if (never_block ? lock.try_lock() : (lock.lock(), true)) {
      if (cache_.count(key) != 0) return AuthDecision{AuthOutcome::kAllowed, {}};
    }
  }

  const ClientRateLimiter::Verdict verdict = limiter_.TryTake(client);
  if (!verdict.allowed) {
    if (verdict.log) {
      log::Warn("too many basic-auth attempts from a client, answering 429",
                {{"client", std::string(client)}, {"reason", "rate limit"}});
    }
    return AuthDecision{AuthOutcome::kThrottled, verdict.retry_after};
  }
  // The job owns a copy of the password, wiped when the job goes; a success
  // is cached by the job itself (before `done` runs), so a verification
  // whose waiter gave up still counts.
  std::shared_ptr<BcryptPool::Pending> submitted = pool_.TrySubmit(
      [this, phrase = WipedString{std::string(password)}, hash, key, known] {
        const bool match = VerifyBcrypt(phrase.text, hash) && known;  // dummy: only the time
        if (match) Remember(key);
        return match;
      },
      std::move(done));
  if (!submitted) {
    // Not logged: every client sees this at once when the pool is full, and
    // a per-client line would be one per attacker address.
    return AuthDecision{AuthOutcome::kThrottled, std::chrono::seconds(1)};
  }
  if (pending != nullptr) *pending = std::move(submitted);
  return std::nullopt;
}

AuthDecision BasicAuthenticator::Check(std::string_view client, std::string_view user,
                                       std::string_view password) const {
  std::shared_ptr<BcryptPool::Pending> pending;
  if (auto now = Start(client, user, password, {}, &pending, /*never_block=*/false)) return *now;
  const std::optional<bool> match = pending->WaitFor(options_.max_wait);
  if (!match) return {AuthOutcome::kThrottled, std::chrono::seconds(1)};
  return {*match ? AuthOutcome::kAllowed : AuthOutcome::kDenied, {}};
}

std::optional<std::string> BasicAuthenticator::DecodeHeader(std::string_view authorization) {
  // The scheme is case-insensitive (RFC 7617); then one space and base64.
  constexpr std::string_view kScheme = "basic ";
  if (authorization.size() <= kScheme.size() ||
      !EqualsIgnoreAsciiCase(authorization.substr(0, kScheme.size()), kScheme)) {
    return std::nullopt;
  }
  std::string_view encoded = authorization.substr(kScheme.size());
  while (!encoded.empty() && encoded.front() == ' ') encoded.remove_prefix(1);
  while (!encoded.empty() && encoded.back() == ' ') encoded.remove_suffix(1);
  if (encoded.size() > 4096) return std::nullopt;
  return Base64Decode(encoded);
}

AuthDecision BasicAuthenticator::CheckHeader(std::string_view client,
                                             std::string_view authorization) const {
  std::optional<std::string> decoded = DecodeHeader(authorization);
  if (!decoded) return {};
  std::string& text = *decoded;  // user:password, wiped before returning
  const std::string_view view = text;
  const size_t colon = view.find(':');
  AuthDecision decision;
  if (colon != std::string_view::npos) {
    decision = Check(client, view.substr(0, colon), view.substr(colon + 1));
  }
  OPENSSL_cleanse(text.data(), text.size());
  return decision;
}

std::optional<AuthDecision> BasicAuthenticator::CheckHeaderAsync(std::string_view client,
                                                                 std::string_view authorization,
                                                                 Completion done) const {
  std::optional<std::string> decoded = DecodeHeader(authorization);
  if (!decoded) return AuthDecision{};
  std::string& text = *decoded;  // user:password, wiped before returning
  const std::string_view view = text;
  const size_t colon = view.find(':');
  std::optional<AuthDecision> decision = AuthDecision{};
  if (colon != std::string_view::npos) {
    decision = Start(
        client, view.substr(0, colon), view.substr(colon + 1),
        [done = std::move(done)](bool match) {
          done({match ? AuthOutcome::kAllowed : AuthOutcome::kDenied, {}});
        },
        nullptr, /*never_block=*/true);
  }
  OPENSSL_cleanse(text.data(), text.size());
  return decision;
}

size_t BasicAuthenticator::cached() const {
  std::lock_guard lock(mutex_);
  return cache_.size();
}

}  // namespace hx
