#include "http/web_config.h"

namespace hx {

struct WebSecurity {};

std::shared_ptr<const WebSecurity> LoadWebConfigFile(const std::string& path, std::string* error) {
  *error = path + ": --web.config.file is not supported yet";
  return nullptr;
}

}  // namespace hx
