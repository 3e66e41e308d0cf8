// Basic auth that cannot starve the server: the cache of successes, the
// per-client token bucket, the bounded bcrypt pool and the bounded wait.
// bcrypt hashes are made by libxcrypt at test time; cost 4 where only the
// answer matters, a higher cost where a verification must take a while.
#include "http/basic_auth.h"

#include <crypt.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <atomic>
#include <future>
#include <thread>

#include "http/web_config.h"
#include "support/credentials.h"
#include "util/base64.h"

namespace hx {
namespace {

using namespace std::chrono_literals;
using Users = std::map<std::string, std::string>;
using SteadyTime = std::chrono::steady_clock::time_point;

// Hash of "correct horse" at cost 4 (as in testdata/web/good/basic_auth.yml).
constexpr const char* kAliceHash = "$2b$04$gH3t4vZ6SpZ95vTZgRfhDuR0KIuXXqzV5mWB3.fOXv.OgKpeoujTK";
constexpr const char* kClient = "192.0.2.1";

// No rate limit to speak of: for tests about answers, not about throttling.
BasicAuthenticator::Options Unlimited() {
  BasicAuthenticator::Options options;
  options.per_client.burst = 1e9;
  options.per_client.tokens_per_second = 1e9;
  return options;
}

AuthOutcome Outcome(const BasicAuthenticator& auth, std::string_view user,
                    std::string_view password, std::string_view client = kClient) {
  return auth.Check(client, user, password).outcome;
}

TEST(BasicAuthenticator, AcceptsTheRightPasswordOnly) {
  BasicAuthenticator auth(Users{{"alice", kAliceHash}, {"bob", Bcrypt("builder")}}, Unlimited());
  EXPECT_EQ(Outcome(auth, "alice", "correct horse"), AuthOutcome::kAllowed);
  EXPECT_EQ(Outcome(auth, "bob", "builder"), AuthOutcome::kAllowed);
  EXPECT_EQ(Outcome(auth, "alice", "correct horse "), AuthOutcome::kDenied);
  EXPECT_EQ(Outcome(auth, "alice", "builder"), AuthOutcome::kDenied);  // bob's password
  EXPECT_EQ(Outcome(auth, "bob", "correct horse"), AuthOutcome::kDenied);
  // An unknown user with a valid password.
  EXPECT_EQ(Outcome(auth, "mallory", "correct horse"), AuthOutcome::kDenied);
  EXPECT_EQ(Outcome(auth, "", ""), AuthOutcome::kDenied);
  EXPECT_EQ(Outcome(auth, "alice", std::string_view("correct horse\0x", 15)), AuthOutcome::kDenied);
}

TEST(BasicAuthenticator, RemembersSuccessesButNotWrongPasswords) {
  BasicAuthenticator auth(Users{{"alice", kAliceHash}}, Unlimited());
  EXPECT_EQ(auth.cached(), 0u);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(Outcome(auth, "alice", "wrong " + std::to_string(i)), AuthOutcome::kDenied);
  }
  EXPECT_EQ(Outcome(auth, "mallory", "correct horse"), AuthOutcome::kDenied);
  EXPECT_EQ(auth.cached(), 0u);
  EXPECT_EQ(Outcome(auth, "alice", "correct horse"), AuthOutcome::kAllowed);
  EXPECT_EQ(auth.cached(), 1u);
  // Failures after a success neither evict it nor get in.
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(Outcome(auth, "alice", "wrong " + std::to_string(i)), AuthOutcome::kDenied);
  }
  EXPECT_EQ(Outcome(auth, "mallory", "correct horse"), AuthOutcome::kDenied);
  EXPECT_EQ(auth.cached(), 1u);
  EXPECT_EQ(Outcome(auth, "alice", "correct horse"), AuthOutcome::kAllowed);
}

TEST(BasicAuthenticator, KnownGoodCredentialsNeverWaitForTheLimiterOrThePool) {
  // One verification per client, ever (the clock never moves): the first
  // success spends it, and from then on the right password is a cache hit
  // while anything else is throttled.
  BasicAuthenticator::Options options;
  options.per_client = {.tokens_per_second = 1, .burst = 1, .max_clients = 16};
  const SteadyTime frozen = std::chrono::steady_clock::now();
  BasicAuthenticator auth(Users{{"alice", kAliceHash}}, options, [&] { return frozen; });
  EXPECT_EQ(Outcome(auth, "alice", "correct horse"), AuthOutcome::kAllowed);
  EXPECT_EQ(Outcome(auth, "alice", "wrong"), AuthOutcome::kThrottled);
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(Outcome(auth, "alice", "correct horse"), AuthOutcome::kAllowed) << i;
  }
}

TEST(BasicAuthenticator, CacheIsBounded) {
  // bcrypt looks at the first 72 bytes only, so these all verify: the cache
  // must still not grow without limit.
  const std::string base(72, 'p');
  BasicAuthenticator::Options options = Unlimited();
  options.max_cached = 8;
  BasicAuthenticator auth(Users{{"alice", Bcrypt(base)}}, options);
  for (size_t i = 0; i < options.max_cached + 10; ++i) {
    ASSERT_EQ(Outcome(auth, "alice", base + std::to_string(i)), AuthOutcome::kAllowed);
    EXPECT_LE(auth.cached(), options.max_cached);
  }
  EXPECT_EQ(auth.cached(), options.max_cached);
  EXPECT_EQ(BasicAuthenticator::Options{}.max_cached, 256u);
}

TEST(BasicAuthenticator, RateLimitPerClientAnswersThrottledWithRetryAfter) {
  BasicAuthenticator::Options options;
  options.per_client = {.tokens_per_second = 0.5, .burst = 2, .max_clients = 16};
  SteadyTime now = std::chrono::steady_clock::now();
  BasicAuthenticator auth(Users{{"alice", kAliceHash}}, options, [&] { return now; });
  EXPECT_EQ(Outcome(auth, "alice", "wrong 1"), AuthOutcome::kDenied);
  EXPECT_EQ(Outcome(auth, "alice", "wrong 2"), AuthOutcome::kDenied);
  const AuthDecision third = auth.Check(kClient, "alice", "wrong 3");
  EXPECT_EQ(third.outcome, AuthOutcome::kThrottled);
  EXPECT_EQ(third.retry_after, 2s);  // one token at 0.5/s
  // Even the right password: it is not known yet, and would need bcrypt.
  EXPECT_EQ(Outcome(auth, "alice", "correct horse"), AuthOutcome::kThrottled);
  // Another client has its own bucket.
  EXPECT_EQ(Outcome(auth, "alice", "wrong 4", "192.0.2.2"), AuthOutcome::kDenied);
  // Unknown users spend the same tokens.
  EXPECT_EQ(Outcome(auth, "mallory", "x"), AuthOutcome::kThrottled);
  now += 2s;
  EXPECT_EQ(Outcome(auth, "alice", "correct horse"), AuthOutcome::kAllowed);
  EXPECT_EQ(Outcome(auth, "alice", "wrong 5"), AuthOutcome::kThrottled);
}

TEST(BasicAuthenticator, MalformedHeadersAreDeniedWithoutSpendingTokens) {
  BasicAuthenticator::Options options;
  options.per_client = {.tokens_per_second = 1, .burst = 1, .max_clients = 16};
  const SteadyTime frozen = std::chrono::steady_clock::now();
  BasicAuthenticator auth(Users{{"alice", kAliceHash}}, options, [&] { return frozen; });
  for (const std::string& header :
       {std::string("Basic"), std::string("Basic !!!!"), std::string(""),
        "Bearer " + Base64("alice:correct horse"), "Basic " + Base64("alicecorrect horse")}) {
    EXPECT_EQ(auth.CheckHeader(kClient, header).outcome, AuthOutcome::kDenied) << header;
  }
  // The one token is still there.
  EXPECT_EQ(auth.CheckHeader(kClient, "Basic " + Base64("alice:correct horse")).outcome,
            AuthOutcome::kAllowed);
}

TEST(BasicAuthenticator, ParsesTheAuthorizationHeader) {
  BasicAuthenticator auth(Users{{"alice", kAliceHash}}, Unlimited());
  auto outcome = [&](const std::string& header) {
    return auth.CheckHeader(kClient, header).outcome;
  };
  EXPECT_EQ(outcome("Basic " + Base64("alice:correct horse")), AuthOutcome::kAllowed);
  EXPECT_EQ(outcome("basic " + Base64("alice:correct horse")), AuthOutcome::kAllowed);
  EXPECT_EQ(outcome("Basic " + Base64("alice:wrong")), AuthOutcome::kDenied);
  // A ':' in the password belongs to the password.
  BasicAuthenticator colon(Users{{"bob", Bcrypt("a:b")}}, Unlimited());
  EXPECT_EQ(colon.CheckHeader(kClient, "Basic " + Base64("bob:a:b")).outcome,
            AuthOutcome::kAllowed);
}

TEST(BasicAuthenticator, FullPoolAnswersThrottledAtOnce) {
  // One verification in flight at most, each slow (cost 12: a few hundred
  // ms): of four clients asking at once, some find the pool busy and are
  // answered at once, long before a verification could have finished.
  const std::string slow_hash = Bcrypt("correct horse", 12);
  BasicAuthenticator::Options options;
  options.bcrypt_threads = 1;
  options.max_in_flight = 1;
  options.max_wait = 30s;
  BasicAuthenticator auth(Users{{"alice", slow_hash}}, options);
  int throttled = 0, denied = 0;
  for (int round = 0; round < 5 && throttled == 0; ++round) {
    std::vector<std::future<std::pair<AuthDecision, std::chrono::nanoseconds>>> calls;
    for (int i = 0; i < 4; ++i) {
      calls.push_back(std::async(std::launch::async, [&auth, i, round] {
        const auto start = std::chrono::steady_clock::now();
        const AuthDecision decision =
            auth.Check("192.0.2." + std::to_string(10 * round + i), "alice", "wrong");
        return std::make_pair(decision, std::chrono::steady_clock::now() - start);
      }));
    }
    for (auto& call : calls) {
      const auto [decision, took] = call.get();
      if (decision.outcome == AuthOutcome::kThrottled) {
        ++throttled;
        EXPECT_EQ(decision.retry_after, 1s);
        EXPECT_LT(took, 300ms);  // a verification here takes ~1 s
      } else {
        EXPECT_EQ(decision.outcome, AuthOutcome::kDenied);
        ++denied;
      }
    }
  }
  EXPECT_GE(throttled, 1);
  EXPECT_GE(denied, 1);
}

TEST(BasicAuthenticator, APoolWithRoomAdmitsEveryRequest) {
  // The front door's way: each answer sends that client's next request at
  // once, while the bcrypt thread that answered is still putting its job
  // away and other clients' requests arrive. A pool with room must admit
  // every one; only its bound may refuse. (CI once saw a 429 here: a
  // submission found the pool's lock held by that thread or by another
  // submitter, and was refused rather than kept waiting.)
  constexpr int kClients = 3;
  BasicAuthenticator::Options options = Unlimited();
  options.bcrypt_threads = 1;
  options.max_in_flight = kClients;
  BasicAuthenticator auth(Users{{"alice", kAliceHash}}, options);
  const std::string wrong = "Basic " + Base64("alice:wrong");
  std::atomic<int> throttled{0}, denied{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        std::promise<AuthDecision> answered;
        std::optional<AuthDecision> now = auth.CheckHeaderAsync(
            kClient, wrong, [&answered](AuthDecision decision) { answered.set_value(decision); });
        const AuthDecision decision = now ? *now : answered.get_future().get();
        if (decision.outcome == AuthOutcome::kThrottled) {
          ++throttled;
        } else if (decision.outcome == AuthOutcome::kDenied) {
          ++denied;
        }
      }
    });
  }
  for (std::thread& client : clients) client.join();
  EXPECT_EQ(throttled.load(), 0);
  EXPECT_EQ(denied.load(), 100 * kClients);
}

TEST(BasicAuthenticator, WaitIsBoundedAndTheLateSuccessIsStillRemembered) {
  const std::string slow_hash = Bcrypt("correct horse", 12);
  BasicAuthenticator::Options options;
  options.max_wait = 10ms;
  BasicAuthenticator auth(Users{{"alice", slow_hash}}, options);
  const auto start = std::chrono::steady_clock::now();
  const AuthDecision first = auth.Check(kClient, "alice", "correct horse");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_EQ(first.outcome, AuthOutcome::kThrottled);
  EXPECT_EQ(first.retry_after, 1s);
  // The verification went on without its waiter and cached the success.
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (auth.cached() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(auth.cached(), 1u);
  EXPECT_EQ(Outcome(auth, "alice", "correct horse"), AuthOutcome::kAllowed);
}

TEST(BasicAuthenticator, AReloadedWebConfigStartsWithAnEmptyCache) {
  const std::string yaml = std::string("basic_auth_users:\n  alice: ") + kAliceHash + "\n";
  std::string error;
  auto before = LoadWebConfigString(yaml, "web.yml", "", &error);
  ASSERT_NE(before, nullptr) << error;
  EXPECT_EQ(Outcome(*before->basic_auth, "alice", "correct horse"), AuthOutcome::kAllowed);
  EXPECT_EQ(before->basic_auth->cached(), 1u);
  auto after = LoadWebConfigString(yaml, "web.yml", "", &error);
  ASSERT_NE(after, nullptr) << error;
  EXPECT_EQ(after->basic_auth->cached(), 0u);
  // A changed hash: the old password no longer passes, cache or not.
  auto changed = LoadWebConfigString(
      "basic_auth_users:\n  alice: " + Bcrypt("battery staple") + "\n", "web.yml", "", &error);
  ASSERT_NE(changed, nullptr) << error;
  EXPECT_EQ(Outcome(*changed->basic_auth, "alice", "correct horse"), AuthOutcome::kDenied);
  EXPECT_EQ(Outcome(*changed->basic_auth, "alice", "battery staple"), AuthOutcome::kAllowed);
}

TEST(ClientRateLimiter, RefillsAtItsRateUpToTheBurst) {
  SteadyTime now = std::chrono::steady_clock::now();
  ClientRateLimiter limiter({.tokens_per_second = 2, .burst = 3, .max_clients = 8},
                            [&] { return now; });
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.TryTake("a").allowed) << i;
  ClientRateLimiter::Verdict refused = limiter.TryTake("a");
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after, 1s);  // half a second, rounded up
  EXPECT_TRUE(refused.log);
  EXPECT_FALSE(limiter.TryTake("a").log);  // once a minute per client
  now += 500ms;
  EXPECT_TRUE(limiter.TryTake("a").allowed);
  EXPECT_FALSE(limiter.TryTake("a").allowed);
  now += 1h;  // long quiet: back to the burst, not more
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.TryTake("a").allowed) << i;
  refused = limiter.TryTake("a");
  EXPECT_FALSE(refused.allowed);
  EXPECT_TRUE(refused.log);  // a minute later, one more line
}

TEST(ClientRateLimiter, RemembersABoundedNumberOfClients) {
  SteadyTime now = std::chrono::steady_clock::now();
  ClientRateLimiter limiter({.tokens_per_second = 1, .burst = 1, .max_clients = 3},
                            [&] { return now; });
  for (int i = 0; i < 100; ++i) {
    EXPECT_TRUE(limiter.TryTake("10.0.0." + std::to_string(i)).allowed);
    EXPECT_LE(limiter.clients(), 3u);
  }
  // The most recent clients are the ones kept: still empty.
  EXPECT_FALSE(limiter.TryTake("10.0.0.99").allowed);
  // Once buckets refill they are dropped before anything else.
  now += 10s;
  EXPECT_TRUE(limiter.TryTake("10.0.0.200").allowed);
  EXPECT_LE(limiter.clients(), 3u);
}

TEST(BcryptPool, RefusesPastItsBoundAndRunsEverythingAdmitted) {
  BcryptPool pool(/*threads=*/2, /*max_in_flight=*/3);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> ran{0};
  auto blocking = [&] {
    released.wait();
    ++ran;
    return true;
  };
  std::vector<std::shared_ptr<BcryptPool::Pending>> admitted;
  for (int i = 0; i < 3; ++i) {
    admitted.push_back(pool.TrySubmit(blocking));
    ASSERT_NE(admitted.back(), nullptr) << i;
  }
  EXPECT_EQ(pool.in_flight(), 3u);
  EXPECT_EQ(pool.TrySubmit(blocking), nullptr);
  // Waiting is bounded.
  EXPECT_EQ(admitted[0]->WaitFor(20ms), std::nullopt);
  release.set_value();
  for (auto& pending : admitted) EXPECT_EQ(pending->WaitFor(30s), true);
  EXPECT_EQ(ran.load(), 3);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (pool.in_flight() != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(pool.in_flight(), 0u);
  auto again = pool.TrySubmit([] { return false; });
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->WaitFor(30s), false);
}

}  // namespace
}  // namespace hx
