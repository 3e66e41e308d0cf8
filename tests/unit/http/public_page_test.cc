// The public page's renderers: escaping, the CSP, formats, badges, ETags,
// which paths are public, and the cache that keeps one view a few seconds.
#include "http/public_page.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>
#include <vector>

namespace hx {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

PublicView View() {
  PublicView view;
  view.title = "Acme <status>";
  view.notice = "Maintenance \"tonight\" & <b>tomorrow</b>";
  view.overall = PublicState::kDegraded;
  view.has_history = true;
  PublicGroupView group;
  group.name = "Core <services>";
  group.state = PublicState::kDegraded;
  PublicComponent web;
  web.name = "Web <site> & 'more'";
  web.state = PublicState::kOperational;
  web.days = {{19844, std::nullopt}, {19845, 0.9995}, {19846, 1.0}};
  web.uptime_24h = 1.0;
  web.uptime_30d = 0.99995;
  PublicComponent api;
  api.name = "API";
  api.state = PublicState::kDegraded;
  group.components = {web, api};
  view.groups = {group};
  return view;
}

TEST(PublicPageTest, EscapesEveryText) {
  const std::string html = RenderPublicPage(View());
  EXPECT_THAT(html, HasSubstr("<title>Acme &lt;status&gt;</title>"));
  EXPECT_THAT(html, HasSubstr("Maintenance &quot;tonight&quot; &amp; &lt;b&gt;tomorrow&lt;/b&gt;"));
  EXPECT_THAT(html, HasSubstr("Core &lt;services&gt;"));
  EXPECT_THAT(html, HasSubstr("<h3>Web &lt;site&gt; &amp; &#39;more&#39;</h3>"));
  EXPECT_THAT(html, Not(HasSubstr("<b>")));
}

TEST(PublicPageTest, NoScriptAndAPolicyThatAllowsOnlyItsOwnStyle) {
  const std::string html = RenderPublicPage(View());
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  std::smatch style, policy;
  ASSERT_TRUE(std::regex_search(html, style, std::regex("<style>([\\s\\S]*?)</style>")));
  ASSERT_TRUE(std::regex_search(html, policy, std::regex("style-src '(sha256-[^']+)'")));
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  const std::string css = style[1];
  EVP_Digest(css.data(), css.size(), digest, &size, EVP_sha256(), nullptr);
  unsigned char encoded[64];
  const int length = EVP_EncodeBlock(encoded, digest, static_cast<int>(size));
  EXPECT_EQ(std::string(policy[1]),
            "sha256-" + std::string(reinterpret_cast<char*>(encoded), length));
  EXPECT_THAT(html, HasSubstr("default-src 'none'"));
  EXPECT_THAT(html, Not(HasSubstr("script-src")));
  // No external asset: nothing to load but the data: icon.
  EXPECT_THAT(html, Not(HasSubstr("href=\"http")));
  EXPECT_THAT(html, Not(HasSubstr("src=")));
  EXPECT_THAT(html, Not(HasSubstr("url(")));
}

TEST(PublicPageTest, BarsAndPercentages) {
  const std::string html = RenderPublicPage(View());
  EXPECT_THAT(html, HasSubstr("<li class=\"none\" title=\"2024-05-01: no data\"></li>"));
  EXPECT_THAT(html, HasSubstr("<li class=\"up\" title=\"2024-05-02: 99.95% uptime\"></li>"));
  EXPECT_THAT(html, HasSubstr("<li class=\"up\" title=\"2024-05-03: 100% uptime\"></li>"));
  EXPECT_THAT(html, HasSubstr("<dt>30 days</dt><dd>99.99%</dd>"));
  EXPECT_THAT(html, HasSubstr("<dt>7 days</dt><dd>\xE2\x80\x93</dd>"));
  PublicView current_only = View();
  current_only.has_history = false;
  EXPECT_THAT(RenderPublicPage(current_only), Not(HasSubstr("class=\"bars\"")));
  EXPECT_THAT(RenderPublicPage(current_only), Not(HasSubstr("<dl class=\"uptime\"")));
}

TEST(PublicPageTest, JsonHasTheSameContent) {
  const nlohmann::json json = nlohmann::json::parse(RenderPublicJson(View()));
  EXPECT_EQ(json["title"], "Acme <status>");
  EXPECT_EQ(json["status"], "degraded");
  EXPECT_EQ(json["status_text"], "Degraded performance");
  const auto& web = json["groups"][0]["components"][0];
  EXPECT_EQ(web["name"], "Web <site> & 'more'");
  EXPECT_EQ(web["status"], "operational");
  EXPECT_EQ(web["uptime"]["24h"], 1.0);
  EXPECT_EQ(web["uptime"]["30d"], 0.9999);  // rounded down to the page's 0.01 %
  EXPECT_TRUE(web["uptime"]["7d"].is_null());
  EXPECT_EQ(web["days"][1]["date"], "2024-05-02");
  EXPECT_EQ(web["days"][1]["uptime"], 0.9995);
  EXPECT_TRUE(web["days"][0]["uptime"].is_null());
  PublicView current_only = View();
  current_only.has_history = false;
  EXPECT_FALSE(
      nlohmann::json::parse(RenderPublicJson(current_only))["groups"][0]["components"][0].contains(
          "days"));
}

TEST(PublicPageTest, FormatUptimeNeverRoundsUpToPerfect) {
  EXPECT_EQ(FormatUptime(1.0), "100%");
  EXPECT_EQ(FormatUptime(0.99999), "99.99%");
  EXPECT_EQ(FormatUptime(0.9995), "99.95%");
  EXPECT_EQ(FormatUptime(0.5), "50.00%");
  EXPECT_EQ(FormatUptime(0.0), "0%");
}

TEST(PublicPageTest, PublicPathsAreExactlyThese) {
  EXPECT_TRUE(IsPublicPath("/public"));
  EXPECT_TRUE(IsPublicPath("/public.json"));
  EXPECT_TRUE(IsPublicPath("/public/badge/API.svg"));
  EXPECT_TRUE(IsPublicPath("/public/badge/Public API.svg"));
  EXPECT_FALSE(IsPublicPath("/public/"));
  EXPECT_FALSE(IsPublicPath("/publicx"));
  EXPECT_FALSE(IsPublicPath("/public.json/"));
  EXPECT_FALSE(IsPublicPath("/public/badge/.svg"));
  EXPECT_FALSE(IsPublicPath("/public/badge/a/b.svg"));
  EXPECT_FALSE(IsPublicPath("/public/badge/API.png"));
  EXPECT_FALSE(IsPublicPath("/public/status"));
  EXPECT_FALSE(IsPublicPath("/status"));
  EXPECT_FALSE(IsPublicPath("/public/badge.svg"));
}

TEST(PublicPageTest, Badges) {
  const PublicView view = View();
  const PublicResponse api = RespondPublic(view, "/public/badge/API.svg", "");
  EXPECT_EQ(api.status, 200);
  EXPECT_EQ(api.content_type, "image/svg+xml");
  EXPECT_THAT(api.body, HasSubstr(">Degraded performance</text>"));
  EXPECT_THAT(api.body, HasSubstr("fill=\"#dfb317\""));
  const PublicResponse web = RespondPublic(view, "/public/badge/Web <site> & 'more'.svg", "");
  EXPECT_THAT(web.body, HasSubstr(">Web &lt;site&gt; &amp; &#39;more&#39;</text>"));
  EXPECT_THAT(web.body, HasSubstr("fill=\"#4c1\""));
  const PublicResponse uptime =
      RespondPublic(view, "/public/badge/Web <site> & 'more'.svg", "uptime=30d");
  EXPECT_THAT(uptime.body, HasSubstr(">99.99%</text>"));
  EXPECT_THAT(uptime.body, HasSubstr("(30d)</text>"));
  EXPECT_THAT(RespondPublic(view, "/public/badge/API.svg", "uptime=7d").body,
              HasSubstr(">no data</text>"));
  EXPECT_EQ(RespondPublic(view, "/public/badge/API.svg", "uptime=1y").status, 400);
  EXPECT_EQ(RespondPublic(view, "/public/badge/Nope.svg", "").status, 404);
  EXPECT_TRUE(RespondPublic(view, "/public/badge/Nope.svg", "").etag.empty());
  EXPECT_EQ(BadgeColour(PublicState::kOutage), "#e05d44");
  EXPECT_EQ(UptimeColour(0.9), "#e05d44");
  EXPECT_EQ(UptimeColour(0.995), "#97ca00");
}

TEST(PublicPageTest, EtagFollowsTheBytes) {
  const PublicView view = View();
  const PublicResponse a = RespondPublic(view, "/public", "");
  EXPECT_EQ(a.etag, RespondPublic(view, "/public", "").etag);
  PublicView changed = view;
  changed.groups[0].components[1].state = PublicState::kOutage;
  EXPECT_NE(a.etag, RespondPublic(changed, "/public", "").etag);
  EXPECT_NE(a.etag, RespondPublic(view, "/public.json", "").etag);
  EXPECT_THAT(a.etag, ::testing::MatchesRegex("\"[0-9a-f]{32}\""));
}

TEST(PublicPageTest, IfNoneMatch) {
  EXPECT_TRUE(EtagMatches("\"abc\"", "\"abc\""));
  EXPECT_TRUE(EtagMatches("W/\"abc\"", "\"abc\""));
  EXPECT_TRUE(EtagMatches("\"x\", \"abc\"", "\"abc\""));
  EXPECT_TRUE(EtagMatches(" * ", "\"abc\""));
  EXPECT_FALSE(EtagMatches("\"abd\"", "\"abc\""));
  EXPECT_FALSE(EtagMatches("abc", "\"abc\""));
  EXPECT_FALSE(EtagMatches("", "\"abc\""));
}

// The cost of one render (what a request without a cached copy pays): 200
// entries with 90 days each, HTML, JSON and the ETag. A loose bound, so that
// a quadratic slip shows; the figure is printed for docs.
TEST(PublicPageTest, RenderCostOfALargePage) {
  PublicView view;
  view.title = "Big";
  view.has_history = true;
  for (int g = 0; g < 10; ++g) {
    PublicGroupView group;
    group.name = "Group " + std::to_string(g);
    for (int c = 0; c < 20; ++c) {
      PublicComponent component;
      component.name = "Service " + std::to_string(g) + "." + std::to_string(c);
      for (int d = 0; d < 90; ++d) component.days.push_back({19800 + d, 0.9990 + d * 1e-5});
      component.uptime_24h = component.uptime_7d = component.uptime_30d = component.uptime_90d =
          0.9995;
      group.components.push_back(component);
    }
    view.groups.push_back(group);
  }
  const auto start = std::chrono::steady_clock::now();
  const PublicResponse html = RespondPublic(view, "/public", "");
  const PublicResponse json = RespondPublic(view, "/public.json", "");
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::cout << "200 entries x 90 days: HTML " << html.body.size() / 1024 << " KiB, JSON "
            << json.body.size() / 1024 << " KiB, both rendered with ETags in " << ms << " ms"
            << std::endl;
  EXPECT_LT(ms, 2000);
}

// A view is built once per ttl, whatever the number of requests and paths:
// the page is open to anyone, and a build reads 90 days per shown check.
TEST(PublicPageCacheTest, BuildsOneViewPerTtlForEveryPath) {
  PublicPageCache cache(5);
  auto page = std::make_shared<const PublicPageConfig>();
  int builds = 0;
  PublicView view = View();
  auto build = [&] {
    ++builds;
    return view;
  };
  const auto first = cache.Respond(page, 1000, build, "/public", "");
  EXPECT_EQ(first->status, 200);
  EXPECT_THAT(first->body, HasSubstr("API"));
  // Within the ttl: the same bytes, and the other paths from the same view.
  EXPECT_EQ(cache.Respond(page, 1004.9, build, "/public", ""), first);
  EXPECT_EQ(cache.Respond(page, 1001, build, "/public.json", "")->status, 200);
  EXPECT_EQ(cache.Respond(page, 1001, build, "/public/badge/API.svg", "")->status, 200);
  EXPECT_EQ(cache.Respond(page, 1001, build, "/public/badge/None.svg", "")->status, 404);
  EXPECT_EQ(builds, 1);
  // What changed since is not shown yet...
  view.groups[0].components[1].name = "Public API";
  EXPECT_THAT(cache.Respond(page, 1004, build, "/public", "")->body, Not(HasSubstr("Public API")));
  // ... until the ttl has passed,
  EXPECT_THAT(cache.Respond(page, 1005, build, "/public", "")->body, HasSubstr("Public API"));
  EXPECT_EQ(builds, 2);
  // or the clock went back,
  EXPECT_EQ(cache.Respond(page, 900, build, "/public.json", "")->status, 200);
  EXPECT_EQ(builds, 3);
  // or the page was reloaded: at once.
  auto reloaded = std::make_shared<const PublicPageConfig>();
  EXPECT_EQ(cache.Respond(reloaded, 900.1, build, "/public", "")->status, 200);
  EXPECT_EQ(builds, 4);
  EXPECT_EQ(cache.builds(), 4);
}

// Requests that find no fresh view while one is being built wait for it
// instead of each building their own.
TEST(PublicPageCacheTest, ConcurrentRequestsShareOneBuild) {
  PublicPageCache cache(5);
  auto page = std::make_shared<const PublicPageConfig>();
  std::atomic<int> builds{0};
  auto build = [&] {
    ++builds;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    return View();
  };
  std::vector<std::thread> requests;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    requests.emplace_back([&, i] {
      const auto response =
          cache.Respond(page, 1000, build, i % 2 == 0 ? "/public" : "/public.json", "");
      if (response->status == 200) ++ok;
    });
  }
  for (std::thread& request : requests) request.join();
  EXPECT_EQ(ok.load(), 8);
  EXPECT_EQ(builds.load(), 1);
}

}  // namespace
}  // namespace hx
