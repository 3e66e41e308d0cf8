#include "checks/common/ip_protocol.h"

#include <string>

namespace hx {

IpProtocol ReadIpProtocol(config::MapReader& reader) {
  constexpr std::string_view kKey = "ip_protocol";
  auto value = reader.String(kKey, /*expand_env=*/false);
  if (!value) return IpProtocol::kAuto;
  for (IpProtocol p : {IpProtocol::kAuto, IpProtocol::kIp4, IpProtocol::kIp6}) {
    if (*value == IpProtocolName(p)) return p;
  }
  reader.Error(kKey, "unknown ip_protocol \"" + *value + "\" (expected one of ip4, ip6, auto)");
  return IpProtocol::kAuto;
}

}  // namespace hx
