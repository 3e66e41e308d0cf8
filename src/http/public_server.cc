#include "http/public_server.h"

#include "config/status_page_config.h"
#include "http/public_page.h"
#include "http/web_config.h"

namespace hx {

std::unique_ptr<WebServer> MakePublicPageServer(const PublicPageConfig* page,
                                                const std::shared_ptr<const WebSecurity>& security,
                                                const StatusBoard& board,
                                                const CheckMetrics& metrics,
                                                std::shared_ptr<const PublicPageSource> source) {
  if (page == nullptr || page->listen_address.empty()) return nullptr;
  WebServerOptions options;
  options.listen_address = page->listen_address;
  // Every response is one render of a small page (or a 304): two workers.
  options.threads = 2;
  options.public_only = true;
  if (security) {
    auto open = std::make_shared<WebSecurity>(*security);
    open->basic_auth = nullptr;
    options.security = std::move(open);
  }
  // No /healthz here: liveness is the main address's business.
  auto server = std::make_unique<WebServer>(options, board, metrics, [] { return true; });
  server->set_public_page(std::move(source));
  return server;
}

}  // namespace hx
