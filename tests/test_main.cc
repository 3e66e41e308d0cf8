// The main() of every test executable (unit, integration, faults).
//
// Logging is process-wide state that tests share between threads (the loop,
// the web server's workers, test threads posting heartbeats). spdlog's
// registry and default logger are created on first use; when two threads make
// that first use at once, the creation races (ThreadSanitizer reported it in
// HeartbeatReceiverTest.ManyThreadsPingAtOnce, 2 runs in 5). Creating it here,
// before any test can start a thread, removes the race at its cause for every
// test binary. Tests may still call log::Init again from their own thread to
// change the level or capture output.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "util/log.h"

int main(int argc, char** argv) {
  hx::log::Init(spdlog::level::info, hx::log::Format::kLogfmt);
  testing::InitGoogleMock(&argc, argv);
  return RUN_ALL_TESTS();
}
