#pragma once
// Headless Chromium for the tests of the pages the daemon serves (the status
// page, its panels, the dependency map, the public page): a throwaway profile,
// no network of its own beyond the URL given, bounded run time. Functions are
// thread-safe (each run has its own profile).

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

}  // namespace hx
