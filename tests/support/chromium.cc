#include "support/chromium.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

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

std::vector<PageView> DesktopPhoneDark(const std::string& desktop, const std::string& phone) {
  return {{"desktop", {"--window-size=" + desktop}},
          {"phone", {"--window-size=" + phone}},
          {"dark", {"--window-size=" + desktop, "--force-dark-mode"}}};
}

std::map<std::string, std::string> Screenshots(const std::string& url, const std::string& dir,
                                               const std::string& prefix,
                                               const std::vector<PageView>& views,
                                               const std::vector<std::string>& flags) {
  std::map<std::string, std::string> shots;
  for (const PageView& view : views) {
    const std::string png = dir + "/" + prefix + "-" + view.name + ".png";
    std::filesystem::remove(png);
    std::vector<std::string> args = flags;
    args.insert(args.end(), view.flags.begin(), view.flags.end());
    args.push_back("--screenshot=" + png);
    const CommandResult shot = RunChromium(args, url);
    if (shot.exit_code != 0) {
      ADD_FAILURE() << "chromium exited " << shot.exit_code << " for " << png << ": "
                    << shot.output;
      continue;
    }
    std::ifstream file(png, std::ios::binary);
    std::stringstream bytes;
    bytes << file.rdbuf();
    std::string& data = shots[view.name];
    data = bytes.str();
    EXPECT_EQ(data.substr(0, 8), "\x89PNG\r\n\x1a\n") << png;
    EXPECT_GT(data.size(), 10'000u) << png;
    std::cout << prefix << " screenshot (" << view.name << "): " << png << std::endl;
  }
  return shots;
}

}  // namespace hx
