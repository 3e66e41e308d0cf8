#pragma once
// The public status page for customers (docs/status-page.md, "Public page"):
//   GET /public                          HTML
//   GET /public.json                     the same content as JSON
//   GET /public/badge/<display-name>.svg shields.io-style badge of one entry's
//                                        state; ?uptime=24h|7d|30d|90d for its
//                                        uptime instead
// Served without the web config's basic auth (by design: customers have no
// credentials), read-only and cacheable. Everything here renders a
// PublicView (status/public_view.h), the projection that holds only what a
// customer may see; nothing reads a CheckStatus directly.

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "config/status_page_config.h"
#include "status/public_view.h"

namespace hx {

/// Whether `path` (URL-decoded, as CivetWeb's local_uri) is exactly one of
/// the public page's paths: /public, /public.json or
/// /public/badge/<name>.svg with a non-empty <name> without "/". Pure.
bool IsPublicPath(std::string_view path);

/// The whole HTML page: self-contained (inline CSS, SVG and a data: icon,
/// no script), locked down by a Content-Security-Policy <meta>, phone width
/// and dark mode by CSS. Every text is escaped. Pure; thread-safe.
std::string RenderPublicPage(const PublicView& view);

/// The same content as JSON. Pure; thread-safe.
std::string RenderPublicJson(const PublicView& view);

/// A flat shields.io-style badge: `label` on grey, `message` on `colour`
/// ("#4c1"). Pure; thread-safe.
std::string RenderBadge(std::string_view label, std::string_view message, std::string_view colour);

/// Badge colours, by state and by uptime.
std::string_view BadgeColour(PublicState state);
std::string_view UptimeColour(std::optional<double> uptime);

/// "100%", "99.95%" (rounded down, so that anything short of perfect never
/// reads 100%), "0%".
std::string FormatUptime(double share);

/// A response of the public paths, before HTTP framing.
struct PublicResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  /// Strong validator from the body ("\"<hex>\""); empty for errors, which
  /// are not cached.
  std::string etag;
};

/// The answer to GET/HEAD `path` (a public path) with raw query `query`.
/// 404 for a badge whose display name is not on the page, 400 for a bad
/// ?uptime= window. Pure; thread-safe.
PublicResponse RespondPublic(const PublicView& view, std::string_view path, std::string_view query);

/// Whether an If-None-Match header value matches `etag` (weak comparison,
/// "*" matches anything, a list is searched).
bool EtagMatches(std::string_view if_none_match, std::string_view etag);

/// The public page's config as it is now: replaced on each config reload
/// (Set) while handlers read it (Get). Thread-safe (a mutex held for a
/// pointer copy).
class PublicPageSource {
 public:
  /// nullopt: no public page (its paths are like any unknown path).
  void Set(std::optional<PublicPageConfig> page);
  std::shared_ptr<const PublicPageConfig> Get() const;

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const PublicPageConfig> page_;
};

/// The public page's view, and its HTML and JSON, kept for a few seconds.
/// The page is open to anyone, and building its view reads the 90 days of
/// every check it shows from the store: 34 ms of CPU for 40 entries over
/// 1,000 checks, so a few requests a second would keep a CPU busy. With this,
/// a view is built at most once per `ttl` (and at once for a reloaded page);
/// requests in between get the same bytes. The page already tells browsers
/// and proxies `max-age=30`, so a view a few seconds old says nothing they
/// would not have cached anyway.
///
/// Thread-safe: any number of threads call Respond(); one builds at a time
/// while the others wait for its view instead of building their own.
class PublicPageCache {
 public:
  explicit PublicPageCache(double ttl_seconds = kDefaultTtlSeconds) : ttl_(ttl_seconds) {}

  /// How long a view is kept by default.
  static constexpr double kDefaultTtlSeconds = 5;

  /// The answer to `path` and `query` (as RespondPublic) from a view of
  /// `page` built less than ttl before `now` (wall seconds), or else from
  /// the view `build` makes now. The HTML and JSON of a view are rendered
  /// once; badges (small) on each request.
  std::shared_ptr<const PublicResponse> Respond(const std::shared_ptr<const PublicPageConfig>& page,
                                                double now,
                                                const std::function<PublicView()>& build,
                                                std::string_view path, std::string_view query);

  /// Views built so far (for tests).
  int builds() const;

 private:
  struct Entry {
    std::shared_ptr<const PublicPageConfig> page;
    double built_at = 0;
    std::shared_ptr<const PublicView> view;
    std::shared_ptr<const PublicResponse> html, json;
  };
  // The entry's view if it is of `page` and fresh at `now`, with the
  // rendering of `path` if there is one; under mutex_.
  std::shared_ptr<const PublicView> FreshView(
      const std::shared_ptr<const PublicPageConfig>& page, double now, std::string_view path,
      std::shared_ptr<const PublicResponse>* rendered) const;

  const double ttl_;
  std::mutex build_mutex_;    // held while a view is built
  mutable std::mutex mutex_;  // guards entry_ and builds_ (held briefly)
  Entry entry_;
  int builds_ = 0;
};

}  // namespace hx
