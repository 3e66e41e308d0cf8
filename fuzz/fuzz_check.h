#pragma once
// What the fuzz targets share: a check that aborts (so libFuzzer records the
// input as a crash) when a property the code documents does not hold.

#include <cstdio>
#include <cstdlib>

/// Aborts with the failed condition when `cond` is false; unlike assert() it
/// is never compiled out.
#define HX_FUZZ_CHECK(cond)                                                       \
  do {                                                                            \
    if (!(cond)) {                                                                \
      std::fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                               \
    }                                                                             \
  } while (false)
