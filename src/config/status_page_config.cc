#include "config/status_page_config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <set>

#include "config/config.h"
#include "util/quote.h"

namespace hx::config {
namespace {

// Long enough for any heading; short enough that a badge stays a badge.
constexpr size_t kMaxDisplayName = 100;
constexpr size_t kMaxTitle = 200;
constexpr size_t kMaxNotice = 4000;

// A config value in a message: the one quoting helper (util/quote.h), whole.
std::string QuoteValue(std::string_view text) { return QuoteEscaped(text, text.size()); }

// Why `text` cannot be shown as a name or title, or "" when it can. Control
// characters would break a line of the page, a JSON reader's display or a
// badge; "/" and "\" would make a display name more than one path segment of
// /public/badge/<name>.svg.
std::string TextProblem(std::string_view text, size_t max, bool path_segment, bool multiline) {
  if (text.find_first_not_of(" \t") == std::string_view::npos) return "must not be empty";
  if (text.size() > max)
    return "is " + std::to_string(text.size()) + " bytes long; at most " + std::to_string(max) +
           " are allowed";
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && !(multiline && (c == '\n' || c == '\t'))) || u == 0x7f) {
      return "must not contain control characters";
    }
    if (path_segment && (c == '/' || c == '\\')) {
      return "must not contain \"/\" or \"\\\" (it is a path segment of the badge's URL)";
    }
  }
  return "";
}

std::string ListenAddressProblem(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return "expected host:port or :port";
  const std::string host = address.substr(0, colon);
  const std::string port_text = address.substr(colon + 1);
  int port = -1;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
      port < 0 || port > 65535) {
    return "port must be a number from 0 to 65535";
  }
  in_addr parsed{};
  if (!host.empty() && inet_pton(AF_INET, host.c_str(), &parsed) != 1) {
    return "host must be an IPv4 address (names and IPv6 are not supported)";
  }
  return "";
}

std::string FormatMatch(const std::vector<std::pair<std::string, std::string>>& match) {
  std::string out = "{";
  for (const auto& [name, value] : match) {
    if (out.size() > 1) out += ", ";
    out += name + ": " + QuoteValue(value);
  }
  return out + "}";
}

// Reads a text key, reporting what is wrong with its value.
std::optional<std::string> ReadText(MapReader& reader, std::string_view key, size_t max,
                                    bool path_segment, bool multiline) {
  // Not ${VAR}-expanded: what the public page shows must be what the file
  // says, so that no environment value (a secret) can reach it.
  std::optional<std::string> text = reader.String(key, /*expand_env=*/false);
  if (!text) return std::nullopt;
  if (const std::string problem = TextProblem(*text, max, path_segment, multiline);
      !problem.empty()) {
    reader.Error(key, problem);
    return std::nullopt;
  }
  return text;
}

struct PageReader {
  const std::vector<CheckConfig>& checks;
  const std::set<std::string, std::less<>> names;
  const ClosestCheckName& closest;
  bool checks_complete;
  ParseContext& ctx;
  // Display name -> line it was first given on.
  std::map<std::string, int, std::less<>> display_lines;

  std::optional<PublicEntry> Entry(const YAML::Node& node, const std::string& path,
                                   const std::string& group_name) {
    MapReader reader(node, path, ctx);
    if (!reader.valid()) return std::nullopt;
    PublicEntry entry;
    const bool has_check = reader.Has("check");
    const bool has_match = reader.Has("match");
    if (has_check == has_match) {
      reader.Error(has_check ? "expected \"check\" or \"match\", not both"
                             : "missing required key: expected \"check\" (a check's name) or "
                               "\"match\" (label values)");
      reader.Accept("check");
      reader.Accept("match");
    } else if (has_check) {
      if (auto name = reader.String("check", /*expand_env=*/false)) {
        if (names.count(*name) == 0) {
          std::string message = "unknown check " + QuoteValue(*name);
          if (auto hint = closest ? closest(*name) : std::nullopt) {
            message += " (did you mean " + QuoteValue(*hint) + "?)";
          }
          reader.Error("check", message);
        } else {
          entry.check = *name;
        }
      }
    } else {
      ReadMatch(reader, entry);
    }
    if (reader.Has("name")) {
      if (auto display = ReadText(reader, "name", kMaxDisplayName, true, false)) {
        entry.display_name = *display;
      }
    } else if (has_check && !has_match) {
      // The check's own name is internal: shown only when the operator
      // writes it here.
      reader.Error(
          "missing required key \"name\": the display name of the check on the public "
          "page (its check name is never shown unless chosen here)");
    } else {
      entry.display_name = group_name;
    }
    if (!entry.display_name.empty()) {
      const int line = MarkOf(reader.Has("name") ? *reader.Node("name") : node).line;
      if (auto [first, inserted] = display_lines.emplace(entry.display_name, line); !inserted) {
        reader.Error(reader.Has("name") ? "name" : "match",
                     "duplicate display name " + QuoteValue(entry.display_name) +
                         " (first used at line " + std::to_string(first->second) +
                         "): each entry needs its own, it names the entry's badge");
      }
    }
    if (!reader.Finish()) return std::nullopt;
    return entry;
  }

  void ReadMatch(MapReader& reader, PublicEntry& entry) {
    std::optional<YAML::Node> node = reader.Node("match");
    if (!node) return;
    if (!node->IsMap() || node->size() == 0) {
      reader.Error("match", "expected a mapping of label names to values, e.g. {team: payments}");
      return;
    }
    std::optional<std::map<std::string, std::string>> match =
        reader.StringMap("match", /*expand_env=*/false);
    if (!match) return;
    entry.match.assign(match->begin(), match->end());
    if (!checks_complete) return;
    for (const auto& matcher : entry.match) {
      const std::string& label = matcher.first;
      const bool known = std::any_of(checks.begin(), checks.end(), [&](const CheckConfig& c) {
        return std::any_of(c.labels.begin(), c.labels.end(),
                           [&](const auto& pair) { return pair.first == label; });
      });
      if (!known) {
        reader.Error("match", "no check has the label " + QuoteValue(label));
        return;
      }
    }
    const bool any = std::any_of(checks.begin(), checks.end(), [&](const CheckConfig& c) {
      return LabelsMatch(c.labels, entry.match);
    });
    if (!any) reader.Error("match", FormatMatch(entry.match) + " matches no check");
  }

  std::optional<PublicGroup> Group(const YAML::Node& node, const std::string& path) {
    MapReader reader(node, path, ctx);
    if (!reader.valid()) return std::nullopt;
    PublicGroup group;
    if (reader.Require("name")) {
      if (auto name = ReadText(reader, "name", kMaxDisplayName, false, false)) group.name = *name;
    }
    if (reader.Require("entries")) {
      const YAML::Node entries = *reader.Node("entries");
      if (!entries.IsSequence() || entries.size() == 0) {
        reader.Error("entries",
                     "expected a non-empty list of entries (each a \"check\" or a "
                     "\"match\", with a \"name\")");
      } else {
        size_t index = 0;
        for (auto it = entries.begin(); it != entries.end(); ++it, ++index) {
          const std::string item_path =
              reader.PathOf("entries") + "[" + std::to_string(index) + "]";
          if (it->IsNull()) {
            ctx.Error(entries, item_path, "expected a mapping, got null");
            continue;
          }
          if (auto entry = Entry(*it, item_path, group.name)) {
            group.entries.push_back(std::move(*entry));
          }
        }
      }
    }
    if (!reader.Finish()) return std::nullopt;
    return group;
  }

  std::optional<PublicPageConfig> Page(MapReader& reader) {
    PublicPageConfig page;
    if (reader.Has("title")) {
      if (auto title = ReadText(reader, "title", kMaxTitle, false, false)) page.title = *title;
    }
    if (reader.Has("notice")) {
      // An empty notice is how an operator clears it: allowed.
      if (auto notice = reader.String("notice", /*expand_env=*/false); notice && !notice->empty()) {
        if (auto problem = TextProblem(*notice, kMaxNotice, false, true); !problem.empty()) {
          reader.Error("notice", problem);
        } else {
          page.notice = *notice;
        }
      }
    }
    if (auto address = reader.String("listen_address", /*expand_env=*/false)) {
      if (auto problem = ListenAddressProblem(*address); !problem.empty()) {
        reader.Error("listen_address", problem);
      } else {
        page.listen_address = *address;
      }
    }
    if (reader.Require("groups")) {
      const YAML::Node groups = *reader.Node("groups");
      if (!groups.IsSequence() || groups.size() == 0) {
        reader.Error("groups",
                     "expected a non-empty list of groups (each with a \"name\" and "
                     "\"entries\")");
      } else {
        size_t index = 0;
        for (auto it = groups.begin(); it != groups.end(); ++it, ++index) {
          const std::string path = reader.PathOf("groups") + "[" + std::to_string(index) + "]";
          if (it->IsNull()) {
            ctx.Error(groups, path, "expected a mapping, got null");
            continue;
          }
          if (auto group = Group(*it, path)) page.groups.push_back(std::move(*group));
        }
      }
    }
    if (!reader.Finish()) return std::nullopt;
    return page;
  }
};

}  // namespace

bool LabelsMatch(const std::vector<std::pair<std::string, std::string>>& labels,
                 const std::vector<std::pair<std::string, std::string>>& match) {
  return std::all_of(match.begin(), match.end(), [&](const auto& wanted) {
    return std::find(labels.begin(), labels.end(), wanted) != labels.end();
  });
}

StatusPageConfig ReadStatusPage(const YAML::Node& node, const std::vector<CheckConfig>& checks,
                                const std::vector<std::string>& check_names,
                                const ClosestCheckName& closest, bool checks_complete,
                                ParseContext& ctx) {
  StatusPageConfig out;
  MapReader reader(node, "status_page", ctx);
  if (!reader.valid()) return out;
  if (std::optional<MapReader> page = reader.Map("public")) {
    PageReader read{checks, {check_names.begin(), check_names.end()}, closest, checks_complete, ctx,
                    {}};
    out.public_page = read.Page(*page);
  }
  reader.Finish();
  return out;
}

}  // namespace hx::config
