#include "support/chromium.h"

#include <filesystem>
#include <fstream>
#include <iterator>

namespace hx {

bool HaveChromium() { return RunCommand({"sh", "-c", "command -v chromium"}).exit_code == 0; }

std::string ArtefactDir(const std::string& name) {
  const auto dir = std::filesystem::path(HX_BINARY).parent_path() / "artifacts" / name;
  std::filesystem::create_directories(dir);
  return dir.string();
}

CommandResult RunChromium(const std::vector<std::string>& flags, const std::string& url) {
  TempDir profile;
  // stderr (Chromium's chatter) goes to a file so it cannot mix into a DOM dump.
  std::vector<std::string> argv = {"sh",
                                   "-c",
                                   "err=$1; shift; exec \"$@\" 2>\"$err\"",
                                   "sh",
                                   profile.path() + "/stderr",
                                   "timeout",
                                   "-k",
                                   "5",
                                   "90",
                                   "chromium",
                                   "--headless",
                                   "--no-sandbox",
                                   "--disable-gpu",
                                   "--disable-background-networking",
                                   "--disable-component-update",
                                   "--no-first-run",
                                   "--disable-sync",
                                   "--disable-dev-shm-usage",
                                   "--hide-scrollbars",
                                   "--user-data-dir=" + profile.path() + "/profile"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  argv.push_back(url);
  CommandResult result = RunCommand(argv);
  if (result.exit_code != 0) {
    std::ifstream err(profile.path() + "/stderr");
    result.output += std::string(std::istreambuf_iterator<char>(err), {});
  }
  return result;
}

}  // namespace hx
