#pragma once
// HTTP basic auth (`basic_auth_users` of the web config) that a client
// without credentials cannot use to starve the server (issue 12).
//
// bcrypt is slow on purpose (~50-250 ms at cost 10 here). Checked on the web
// server's few workers, 8 clients sending wrong passwords kept /healthz
// waiting for seconds. So:
//  - successful verifications are remembered (BasicAuthenticator's cache,
//    keyed by SHA-256 of user, stored hash and password, like
//    exporter-toolkit's): known-good credentials never reach bcrypt;
//  - unknown credentials go to a BcryptPool: max(1, CPUs / 2) threads in
//    SCHED_IDLE (so that on a 2-CPU machine one CPU stays with the daemon)
//    and at most two verifications in flight per thread; past that, the
//    request is answered 429 at once instead of queueing;
//  - each client address gets a token bucket (ClientRateLimiter) for
//    verifications; past it, 429 at once;
//  - the FrontDoor (front_door.h) verifies credentials before a request
//    reaches a web server worker, without blocking: CheckHeaderAsync()
//    answers at once from the cache (or refuses), or calls back when bcrypt
//    is done; the connection waits in the front door, not in a worker;
//  - the web server's handler checks again (CheckHeader(), defence in
//    depth), and normally hits the cache the front door's verification
//    filled. Its synchronous wait (at most `max_wait`, then 429; the
//    verification still finishes and caches a success) is a fallback only,
//    e.g. when the cache dropped the entry in between.
// Open probes (/healthz, /readyz) and heartbeats never get here.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <semaphore>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace hx {

/// A token bucket per client address, for the verifications that need
/// bcrypt. The map is bounded: when it is full, buckets that have refilled
/// (they carry no state) are dropped, then the least recently used one.
///
/// Thread-safe: TryTake() may be called from any number of threads at once
/// (one lock).
class ClientRateLimiter {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  struct Options {
    /// Verifications per second a client is granted on average.
    double tokens_per_second = 1.0;
    /// Verifications a client may make at once after being quiet.
    double burst = 10.0;
    /// Client addresses remembered at most.
    size_t max_clients = 4096;
  };

  struct Verdict {
    bool allowed = true;
    /// When refused: whole seconds until a token is there (at least 1).
    std::chrono::seconds retry_after{0};
    /// When refused: true at most once a minute per client, so that a flood
    /// is logged without flooding the log.
    bool log = false;
  };

  /// `clock` is steady_clock::now when empty (tests pass a manual one).
  explicit ClientRateLimiter(const Options& options, Clock clock = {});

  /// Takes one token of `client`'s bucket if there is one.
  Verdict TryTake(std::string_view client);

  /// Clients remembered now (for tests).
  size_t clients() const;

 private:
  struct Bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point updated;
    std::optional<std::chrono::steady_clock::time_point> logged;
  };
  void MakeRoom(std::chrono::steady_clock::time_point now);  // with mutex_ held

  const Options options_;
  const Clock clock_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
};

/// Runs verifications (bcrypt) on a few threads of its own, at a lower CPU
/// priority than the daemon's other threads, with a bounded number in flight
/// (queued or running). Submission never waits for a pool thread: a full
/// pool says so at once, and the only lock a submitter takes is one that
/// pool threads never hold (they take jobs under a lock of their own, see
/// Node), so a pool thread kept off the CPU by busier ones cannot delay or
/// refuse a submitter. Threads start with the first submission.
///
/// Thread-safe: TrySubmit() may be called from any number of threads; the
/// destructor must not run while another thread calls TrySubmit(). It joins
/// the threads after their current job; queued jobs are dropped (their
/// waiters see no result, their completions are never called).
class BcryptPool {
 public:
  /// The outcome of one submitted job, shared by the pool and its waiter.
  /// Thread-safe.
  class Pending {
   public:
    /// The job's result once it ran, or nullopt when `timeout` passed first
    /// (or the pool was destroyed before running it).
    std::optional<bool> WaitFor(std::chrono::nanoseconds timeout);

   private:
    friend class BcryptPool;
    void Set(bool result);
    std::mutex mutex_;
    std::condition_variable done_;
    std::optional<bool> result_;
  };

  BcryptPool(int threads, size_t max_in_flight);
  ~BcryptPool();
  BcryptPool(const BcryptPool&) = delete;
  BcryptPool& operator=(const BcryptPool&) = delete;

  /// Called with a job's result on the pool thread that ran it, after its
  /// Pending has the result. Must be quick and must not block.
  using Completion = std::function<void(bool)>;

  /// Queues `job`; nullptr (and `job` is dropped) only when `max_in_flight`
  /// jobs are queued or running already. `done`, when set, is called once
  /// the job has run (see Completion).
  std::shared_ptr<Pending> TrySubmit(std::function<bool()> job, Completion done = {});

  /// Verifier threads for this machine: half the CPUs this process may run
  /// on, at least one, so that a flood of verifications leaves a CPU to
  /// everything else on a 2-CPU machine.
  static int DefaultThreads();

  /// Jobs queued or running now (for tests).
  size_t in_flight() const;

 private:
  struct Job {
    std::function<bool()> run;
    std::shared_ptr<Pending> pending;
    Completion done;
  };
  // The queue is a list with two locks (Michael and Scott's two-lock
  // queue): submitters append at tail_ under tail_mutex_, pool threads take
  // from head_ under head_mutex_. head_ is a node whose job was taken (or
  // the first, empty one); the jobs queued are those of the nodes after it.
  // `next` is atomic because, with one job queued, a submitter writes the
  // `next` of the node a pool thread reads.
  struct Node {
    Job job;
    std::atomic<Node*> next{nullptr};
  };
  void Run();

  const int threads_wanted_;
  const size_t max_in_flight_;
  std::atomic<size_t> in_flight_{0};  // admitted and not yet finished
  std::once_flag started_;
  std::vector<std::thread> threads_;  // written once, under started_
  std::mutex tail_mutex_;             // submitters only
  Node* tail_;
  std::mutex head_mutex_;  // pool threads only
  Node* head_;
  // One permit per job linked into the list (released after linking, so a
  // permit always finds a job), plus one per thread when stopping.
  std::counting_semaphore<> queued_{0};
  std::atomic<bool> stopping_{false};
};

/// What an authorization attempt comes to.
enum class AuthOutcome {
  kAllowed,    ///< valid credentials
  kDenied,     ///< none, malformed or wrong: 401
  kThrottled,  ///< not verified now (rate limit, pool full, slow): 429
};

struct AuthDecision {
  AuthOutcome outcome = AuthOutcome::kDenied;
  /// With kThrottled: the Retry-After to send, in whole seconds (>= 1).
  std::chrono::seconds retry_after{0};
};

/// Checks HTTP basic credentials against bcrypt hashes (libxcrypt's crypt_rn,
/// $2a$/$2b$/$2y$), as described at the top of this file.
///
/// Only successes enter the cache, so wrong passwords can neither evict nor
/// poison it; the key covers the stored hash, so a changed hash misses, and a
/// reloaded web config builds a new authenticator with an empty cache. An
/// unknown user is checked against a real hash of the same cost, so it takes
/// as long as a wrong password. Hashes are compared in constant time.
///
/// Thread-safe: Check(), CheckHeader() and CheckHeaderAsync() may be called
/// from any number of threads at once (the cache, the limiter and the pool
/// each have a lock); CheckHeaderAsync()'s completion runs on a pool thread.
class BasicAuthenticator {
 public:
  struct Options {
    /// Successful verifications remembered at most; the oldest goes first.
    size_t max_cached = 256;
    /// bcrypt threads (0: BcryptPool::DefaultThreads(), half the CPUs), and
    /// verifications queued or running at most (0: two per thread). A
    /// verification waits in the front door, not on a web server worker, so
    /// these bound CPU and queueing, not workers.
    int bcrypt_threads = 0;
    size_t max_in_flight = 0;
    /// Longest a request waits for its verification (in the front door, and
    /// in the web server's fallback).
    std::chrono::nanoseconds max_wait = std::chrono::seconds(5);
    /// Verifications per client address.
    ClientRateLimiter::Options per_client;
  };

  /// `users` maps user names to bcrypt hashes (validated by the loader).
  explicit BasicAuthenticator(std::map<std::string, std::string> users)
      : BasicAuthenticator(std::move(users), Options{}) {}
  BasicAuthenticator(std::map<std::string, std::string> users, const Options& options,
                     ClientRateLimiter::Clock clock = {});

  /// Decides on `user`/`password` sent by `client` (its address: the rate
  /// limit's key). Blocks at most `max_wait`.
  AuthDecision Check(std::string_view client, std::string_view user,
                     std::string_view password) const;

  /// Decides on an Authorization header value ("Basic base64(user:password)");
  /// a malformed one is kDenied without any verification. Blocks at most
  /// `max_wait` (see the top of this file: a fallback behind the front door).
  AuthDecision CheckHeader(std::string_view client, std::string_view authorization) const;

  /// Called on a bcrypt thread with the outcome of a verification that
  /// CheckHeaderAsync() started (kAllowed or kDenied; a success is cached
  /// before). Must be quick, must not block, and must not touch state of
  /// another thread without a lock (e.g. post the outcome to a loop).
  using Completion = std::function<void(AuthDecision)>;

  /// Like CheckHeader() without blocking: the decision when it can be made
  /// at once (a cache hit, a malformed header, a refusal by the rate limit
  /// or a full pool), or nullopt when a verification was submitted; then
  /// `done` is called once with its outcome, unless the authenticator is
  /// destroyed before the verification runs (the caller's own deadline
  /// covers that). Never waits for a lock a bcrypt thread (lowest priority)
  /// may hold, since waiting could take as long as the busiest CPU keeps
  /// that thread off it: when a bcrypt thread is remembering a success at
  /// that moment, the cache counts as a miss (the credentials are verified
  /// again). The pool's submission takes no such lock (see BcryptPool).
  std::optional<AuthDecision> CheckHeaderAsync(std::string_view client,
                                               std::string_view authorization,
                                               Completion done) const;

  /// How many successful checks are remembered (for tests).
  size_t cached() const;

  const Options& options() const { return options_; }

 private:
  using Key = std::string;  // SHA-256 in hex
  static Key CacheKey(std::string_view user, const std::string& hash, std::string_view password);
  void Remember(const Key& key) const;
  // The part of Check() shared by both ways of waiting: the decision when it
  // is made at once, else nullopt with the verification submitted and
  // `done` to be called with its result; `pending` (when not null) gets the
  // pool's handle for a synchronous wait.
  std::optional<AuthDecision> Start(std::string_view client, std::string_view user,
                                    std::string_view password, BcryptPool::Completion done,
                                    std::shared_ptr<BcryptPool::Pending>* pending,
                                    bool never_block) const;
  // Decodes "Basic base64(user:password)"; nullopt when malformed. The
  // result is wiped by the caller.
  static std::optional<std::string> DecodeHeader(std::string_view authorization);

  const std::map<std::string, std::string> users_;
  const Options options_;
  std::string dummy_hash_;  // the costliest configured hash, for unknown users
  mutable std::mutex mutex_;
  mutable std::set<Key> cache_;
  mutable std::deque<Key> cache_order_;
  mutable ClientRateLimiter limiter_;
  // Declared last: destroyed first, so its jobs finish before the cache goes.
  mutable BcryptPool pool_;
};

}  // namespace hx
