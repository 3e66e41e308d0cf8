// FindSanitizerReport: how the tests notice a sanitizer report printed by the
// daemon they spawned (tests/support/daemon_process.*).

#include <gtest/gtest.h>

#include <string>

#include "support/daemon_process.h"

namespace hx {
namespace {

TEST(SanitizerReportTest, NoReportInOrdinaryLogs) {
  EXPECT_EQ(FindSanitizerReport(""), "");
  EXPECT_EQ(FindSanitizerReport("ts=1 level=info msg=started address=127.0.0.1:1\n"
                                "ts=2 level=warn msg=\"check ran\" detail=\"runtime error: no\"\n"),
            "");
}

TEST(SanitizerReportTest, AddressSanitizerReportFromBannerToSummary) {
  const std::string logs =
      "ts=1 level=info msg=started\n"
      "=================================================================\n"
      "==42==ERROR: AddressSanitizer: heap-use-after-free on address 0x6020\n"
      "    #0 0x55 in hx::Foo() src/foo.cc:10:3\n"
      "SUMMARY: AddressSanitizer: heap-use-after-free src/foo.cc:10:3 in hx::Foo()\n"
      "==42==ABORTING\n";
  EXPECT_EQ(FindSanitizerReport(logs),
            "==42==ERROR: AddressSanitizer: heap-use-after-free on address 0x6020\n"
            "    #0 0x55 in hx::Foo() src/foo.cc:10:3\n"
            "SUMMARY: AddressSanitizer: heap-use-after-free src/foo.cc:10:3 in hx::Foo()");
}

TEST(SanitizerReportTest, LeakSanitizerAtExit) {
  const std::string logs =
      "ts=9 level=info msg=\"shut down\"\n"
      "==7==ERROR: LeakSanitizer: detected memory leaks\n"
      "Direct leak of 24 byte(s) in 1 object(s) allocated from:\n"
      "SUMMARY: AddressSanitizer: 24 byte(s) leaked in 1 allocation(s).\n";
  const std::string report = FindSanitizerReport(logs);
  EXPECT_EQ(report.rfind("==7==ERROR: LeakSanitizer", 0), 0u) << report;
  EXPECT_NE(report.find("24 byte(s) leaked"), std::string::npos);
}

TEST(SanitizerReportTest, UndefinedBehaviorStartsAtTheRuntimeErrorLine) {
  const std::string logs =
      "ts=1 level=info msg=started\n"
      "src/util/duration.cc:50:12: runtime error: signed integer overflow\n"
      "    #0 0x1 in hx::Parse()\n"
      "SUMMARY: UndefinedBehaviorSanitizer: undefined-behavior src/util/duration.cc:50:12\n";
  const std::string report = FindSanitizerReport(logs);
  EXPECT_EQ(report.rfind("src/util/duration.cc:50:12: runtime error:", 0), 0u) << report;
  EXPECT_NE(report.find("SUMMARY: UndefinedBehaviorSanitizer"), std::string::npos);
}

TEST(SanitizerReportTest, ThreadSanitizerWarning) {
  const std::string logs =
      "==================\n"
      "WARNING: ThreadSanitizer: data race (pid=5)\n"
      "  Write of size 8 at 0x7b04 by thread T1:\n"
      "SUMMARY: ThreadSanitizer: data race src/status/status_board.cc:20 in Publish\n"
      "==================\n";
  const std::string report = FindSanitizerReport(logs);
  EXPECT_EQ(report.rfind("WARNING: ThreadSanitizer: data race", 0), 0u) << report;
  EXPECT_NE(report.find("SUMMARY: ThreadSanitizer: data race"), std::string::npos);
}

}  // namespace
}  // namespace hx
