#pragma once
// Headless Chromium for the tests of the pages the daemon serves (the status
// page, its panels, the dependency map, the public page): a throwaway profile,
// no network of its own beyond the URL given, bounded run time. Functions are
// thread-safe (each run has its own profile).

#include <map>
#include <string>
#include <vector>

#include "support/daemon_process.h"

namespace hx {

/// Whether `chromium` is on PATH (tests skip without it).
bool HaveChromium();

/// build/artifacts/<name>/ next to the binary under test, created: where
/// screenshots and DOM dumps of a test are kept.
std::string ArtefactDir(const std::string& name);

/// Runs headless Chromium with `flags` (e.g. "--dump-dom",
/// "--screenshot=<png>", "--window-size=390,844",
/// "--virtual-time-budget=1000", "--force-dark-mode") on `url`, killed after
/// 90 s. Returns stdout; Chromium's stderr is appended only when it fails.
CommandResult RunChromium(const std::vector<std::string>& flags, const std::string& url);

/// One way to look at a page: a name ("desktop", "phone", "dark") and the
/// Chromium flags that make it (window size, --force-dark-mode, ...).
struct PageView {
  std::string name;
  std::vector<std::string> flags;
};

/// Desktop, phone and dark-mode views: `desktop` and `phone` are window
/// sizes ("1200,900"); dark is the desktop size with --force-dark-mode.
std::vector<PageView> DesktopPhoneDark(const std::string& desktop, const std::string& phone);

/// Screenshots `url` once per view into <dir>/<prefix>-<view>.png, with
/// `flags` added to each view's own, and checks each is a PNG of more than
/// 10 kB (failures are recorded with EXPECT/ADD_FAILURE). Prints each path.
/// Returns the PNG bytes by view name.
std::map<std::string, std::string> Screenshots(const std::string& url, const std::string& dir,
                                               const std::string& prefix,
                                               const std::vector<PageView>& views,
                                               const std::vector<std::string>& flags = {});

}  // namespace hx
