#pragma once
// The public page on an address of its own (status_page.public.
// listen_address): a WebServer serving only the public page's paths, built
// from the same pieces as the main one (front door, limits, the web config's
// TLS and headers) but without basic auth. See docs/status-page.md.

#include <memory>

#include "http/web_server.h"

namespace hx {

struct PublicPageConfig;

/// The server for `page`'s listen_address, not started; null when the page
/// or its listen_address is not configured. `security` is the main server's
/// web config (its basic auth is dropped); `board`, `metrics` and `source`
/// must outlive the server. Call set_history() on it as on the main server.
std::unique_ptr<WebServer> MakePublicPageServer(const PublicPageConfig* page,
                                                const std::shared_ptr<const WebSecurity>& security,
                                                const StatusBoard& board,
                                                const CheckMetrics& metrics,
                                                std::shared_ptr<const PublicPageSource> source);

}  // namespace hx
