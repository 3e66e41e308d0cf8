#pragma once
// `"text"` for messages and details. The text is put between double quotes
// as it is; callers quote only what is already safe to show (paths, names,
// sanitised server text). Thread-safe.

#include <string>
#include <string_view>

namespace hx {

inline std::string Quote(std::string_view text) { return "\"" + std::string(text) + "\""; }

}  // namespace hx
