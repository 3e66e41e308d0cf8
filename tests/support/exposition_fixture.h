#pragma once
// A fixed snapshot, walked into an ExpositionWriter the way the per-check
// store's source does: every writer's golden test writes this one, so the
// formats can be compared family by family.

#include <string>

#include "exposition/exposition.h"

namespace hx::test {

/// Writes the fixed snapshot and calls Finish(): per-check gauges, counters
/// with an extra label and created timestamps, the duration histogram with
/// classic and native buckets and an exemplar, a histogram with only native
/// buckets, label values that need escaping, families without labels, an
/// untyped family, NaN and infinities.
void WriteFixedSnapshot(metrics::ExpositionWriter& writer);

/// The golden file tests/testdata/exposition/<name>, read whole.
std::string ReadGolden(const std::string& name);

/// Writes `content` to the golden file (for HX_UPDATE_GOLDEN=1 runs).
void WriteGolden(const std::string& name, const std::string& content);

}  // namespace hx::test
