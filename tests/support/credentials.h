#pragma once
// Credentials for the tests of basic auth (web config, front door, probe
// endpoint, public page). Thread-safe.

#include <string>

namespace hx {

/// A bcrypt ($2b$) hash of `password` at `cost` (4: the cheapest, for tests
/// that do not measure bcrypt's work), as a web config's basic_auth_users
/// holds it; empty if libcrypt fails.
std::string Bcrypt(const std::string& password, int cost = 4);

}  // namespace hx
