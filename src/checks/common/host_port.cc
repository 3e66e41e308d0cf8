#include "checks/common/host_port.h"

#include "config/parse_context.h"
#include "util/ascii.h"

namespace hx {

std::optional<uint16_t> ParsePort(std::string_view text) {
  if (text.size() > 5 || !IsAsciiDigits(text)) return std::nullopt;
  const int value = std::stoi(std::string(text));
  if (value < 1 || value > 65535) return std::nullopt;
  return static_cast<uint16_t>(value);
}

std::optional<std::pair<std::string, uint16_t>> SplitHostPort(std::string_view address,
                                                              std::string* error) {
  std::string_view host;
  std::string_view port;
  if (!address.empty() && address.front() == '[') {
    const size_t close = address.find(']');
    if (close == std::string_view::npos || close + 1 >= address.size() ||
        address[close + 1] != ':') {
      *error = "must be host:port or [ipv6]:port";
      return std::nullopt;
    }
    host = address.substr(1, close - 1);
    port = address.substr(close + 2);
  } else {
    const size_t colon = address.rfind(':');
    if (colon == std::string_view::npos) {
      *error = "must be host:port or [ipv6]:port";
      return std::nullopt;
    }
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      *error = "an IPv6 address must be in brackets, e.g. [::1]:25";
      return std::nullopt;
    }
  }
  if (host.empty()) {
    *error = "host must not be empty";
    return std::nullopt;
  }
  const std::optional<uint16_t> number = ParsePort(port);
  if (!number) {
    *error = "port must be a number from 1 to 65535";
    return std::nullopt;
  }
  return std::make_pair(std::string(host), *number);
}

void ReadAddressKey(config::MapReader& reader, std::string* host, uint16_t* port) {
  if (!reader.Require("address")) return;
  const std::optional<std::string> address = reader.String("address");
  if (!address) return;
  std::string error;
  if (auto host_port = SplitHostPort(*address, &error)) {
    *host = std::move(host_port->first);
    *port = host_port->second;
  } else {
    reader.Error("address", error);
  }
}

std::string HostPortText(std::string_view ip, uint16_t port) {
  const bool v6 = ip.find(':') != std::string_view::npos;
  std::string out = v6 ? "[" + std::string(ip) + "]" : std::string(ip);
  return out + ":" + std::to_string(port);
}

}  // namespace hx
