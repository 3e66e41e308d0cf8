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

}  // namespace hx
