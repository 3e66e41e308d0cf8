#pragma once
// Numbers as the exposition formats spell them, appended to a string with
// std::to_chars: no locale (a process whose LC_NUMERIC uses a decimal comma
// still writes "0.5"), no iostreams, no allocation beyond the string's own
// growth.

#include <cstddef>
#include <cstdint>
#include <string>

namespace hx::metrics {

/// A sample value or timestamp as prometheus-cpp 1.0's TextSerializer writes
/// it, so that today's output stays byte for byte the same: printf's "%.16g"
/// in the C locale (1 -> "1", 0.25 -> "0.25", 1e21 -> "1e+21",
/// 1700000000 -> "1700000000"), except NaN, which is spelled "NaN" as the
/// formats specify (prometheus-cpp writes "Nan"); infinities are "+Inf" and
/// "-Inf". Valid in text 0.0.4 and OpenMetrics alike.
void AppendDouble(std::string& out, double value);

/// An unsigned integer (bucket counts, sample counts).
void AppendUint(std::string& out, uint64_t value);

/// Room FormatDouble and FormatUint may use.
inline constexpr size_t kMaxNumberChars = 32;
/// AppendDouble and AppendUint into [out, out + kMaxNumberChars), returning
/// the end: for writers that put a number and what follows it into one
/// append.
char* FormatDouble(char* out, double value);
char* FormatUint(char* out, uint64_t value);

/// OpenMetrics' canonical number, required for "le" (and "quantile") label
/// values: the shortest round-trip digits laid out as Go's %g does, with
/// ".0" added when there is neither a point nor an exponent (1 -> "1.0",
/// 0.001 -> "0.001", 100000 -> "100000.0", 1e6 -> "1e+06", 1e-5 -> "1e-05"),
/// and "+Inf", "-Inf", "NaN".
void AppendCanonicalDouble(std::string& out, double value);

}  // namespace hx::metrics
