#include "config/parse_context.h"

#include <re2/re2.h>
#include <yaml-cpp/eventhandler.h>

#include "util/sha256.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>

namespace hx::config {
namespace {

// Raw text quoted in messages is cut here so a pasted blob stays readable.
constexpr size_t kMaxQuoted = 60;

std::string Quote(std::string_view text) {
  std::string out = "\"";
  const bool cut = text.size() > kMaxQuoted;
  if (cut) text = text.substr(0, kMaxQuoted);
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      // Control characters would garble the terminal the message lands on.
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[(c >> 4) & 0xf];
      out += kHex[c & 0xf];
    } else {
      out += c;
    }
  }
  out += cut ? "...\"" : "\"";
  return out;
}

/// What a node is, for "expected X, got Y" messages.
std::string Describe(const YAML::Node& node) {
  if (!node.IsDefined()) return "nothing";
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Scalar:
      return Quote(node.Scalar());
    case YAML::NodeType::Sequence:
      return "a sequence";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

struct Entry {
  YAML::Node key;
  YAML::Node value;
};

// Looks a key up without yaml-cpp's operator[], whose non-const form turns
// the node into a map, and so that duplicate and non-string keys are seen.
std::optional<Entry> FindEntry(const YAML::Node& map, std::string_view key) {
  if (!map.IsDefined() || !map.IsMap()) return std::nullopt;
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == key) return Entry{it->first, it->second};
  }
  return std::nullopt;
}

// An empty value ("timeout:") gets the mark of whatever token follows it,
// often on the next line; its key is where the user should look.
Mark ValueMark(const Entry& entry) {
  if (entry.value.IsNull()) return MarkOf(entry.key);
  return MarkOf(entry.value);
}

// Optimal string alignment distance: a swap of two neighbours costs 1, so
// "tiemout" is one edit from "timeout".
size_t EditDistance(std::string_view a, std::string_view b) {
  const size_t n = a.size();
  const size_t m = b.size();
  std::vector<std::vector<size_t>> d(n + 1, std::vector<size_t>(m + 1));
  for (size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (size_t i = 1; i <= n; ++i) {
    for (size_t j = 1; j <= m; ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[n][m];
}

bool IsEnvNameChar(char c, bool first) {
  if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_') return true;
  return !first && c >= '0' && c <= '9';
}

bool IsEnvName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (!IsEnvNameChar(name[i], i == 0)) return false;
  }
  return true;
}

bool IsTrue(std::string_view s) { return s == "true" || s == "True" || s == "TRUE"; }
bool IsFalse(std::string_view s) { return s == "false" || s == "False" || s == "FALSE"; }

}  // namespace

std::string ConfigError::ToString() const {
  std::string out = file;
  // Errors about the file as a whole (e.g. unreadable) have no position.
  if (mark.line > 0) {
    out += ":" + std::to_string(mark.line) + ":" + std::to_string(mark.column);
  }
  out += ": ";
  if (!path.empty()) out += path + ": ";
  out += message;
  return out;
}

EnvLookup ProcessEnvironment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

Mark MarkOf(const YAML::Node& node) {
  if (!node.IsDefined()) return {};
  const YAML::Mark m = node.Mark();
  if (m.is_null()) return {};
  return {m.line + 1, m.column + 1};
}

ParseContext::ParseContext(std::string file, EnvLookup env)
    : file_(std::move(file)), env_(std::move(env)) {}

void ParseContext::Error(const YAML::Node& at, std::string path, std::string message) {
  Error(MarkOf(at), std::move(path), std::move(message));
}

void ParseContext::Error(Mark at, std::string path, std::string message) {
  Error(file_, at, std::move(path), std::move(message));
}

void ParseContext::Error(const std::string& file, Mark at, std::string path,
                         std::string message) {
  // Checks' parsers quote the values they were given, i.e. the expansions
  // (e.g. exec's `cannot use "/opt/<expanded>/bin/x"`): shown as written here,
  // once for every type.
  errors_.push_back({file, at, std::move(path), AsWritten(std::move(message), expansions_)});
}

std::string AsWritten(std::string text, const std::vector<Expansion>& expansions) {
  if (expansions.empty()) return text;
  std::vector<const Expansion*> order;
  for (const Expansion& e : expansions) {
    if (!e.expanded.empty() && e.expanded != e.written) order.push_back(&e);
  }
  std::stable_sort(order.begin(), order.end(), [](const Expansion* a, const Expansion* b) {
    return a->expanded.size() > b->expanded.size();
  });
  auto replace_all = [&text](const std::string& from, const std::string& to) {
    for (size_t at = text.find(from); at != std::string::npos;
         at = text.find(from, at + to.size())) {
      text.replace(at, from.size(), to);
    }
  };
  for (const Expansion* e : order) {
    if (text == e->expanded) return e->written;
  }
  for (const Expansion* e : order) {
    replace_all("\"" + e->expanded + "\"", "\"" + e->written + "\"");
  }
  // Variable values inside other text; short ones ("80", "db") would match
  // by chance.
  for (const Expansion* e : order) {
    if (e->expanded.size() >= 4 && e->written.starts_with("${") && e->written.ends_with("}")) {
      replace_all(e->expanded, e->written);
    }
  }
  return text;
}

void ParseContext::NoteExternalInput(std::string_view bytes) {
  external_inputs_ += Sha256Hex(bytes);
}

std::optional<std::string> ParseContext::Expand(const std::string& raw, const YAML::Node& at,
                                                const std::string& path) {
  // Messages name variables, never their values: those may be secrets.
  std::vector<Expansion> variables;
  std::string out;
  out.reserve(raw.size());
  bool ok = true;
  size_t i = 0;
  while (i < raw.size()) {
    if (raw[i] != '$' || i + 1 == raw.size()) {
      out += raw[i++];
      continue;
    }
    const char next = raw[i + 1];
    if (next == '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (next != '{') {
      out += raw[i++];  // "$5", "a$b": a lone dollar is literal
      continue;
    }
    const size_t close = raw.find('}', i + 2);
    if (close == std::string::npos) {
      Error(at, path, "unterminated \"${\" (write \"$$\" for a literal \"$\")");
      return std::nullopt;
    }
    const std::string name = raw.substr(i + 2, close - i - 2);
    i = close + 1;
    if (!IsEnvName(name)) {
      Error(at, path,
            "invalid environment variable name " + Quote(name) +
                " in \"${...}\" (use letters, digits and \"_\"; write \"$$\" for a literal \"$\")");
      ok = false;
      continue;
    }
    std::optional<std::string> value = env_ ? env_(name) : std::nullopt;
    if (!value) {
      Error(at, path, "environment variable " + Quote(name) + " is not set");
      ok = false;
      continue;
    }
    out += *value;
    variables.push_back({std::move(*value), "${" + name + "}"});
  }
  if (!ok) return std::nullopt;
  if (out != raw) {
    expansions_.push_back({out, raw});
    for (Expansion& variable : variables) expansions_.push_back(std::move(variable));
  }
  return out;
}

MapReader::MapReader(const YAML::Node& node, std::string path, ParseContext& ctx)
    : node_(node),
      path_(std::move(path)),
      ctx_(&ctx),
      valid_(node.IsDefined() && node.IsMap()),
      errors_at_start_(ctx.errors().size()),
      known_(std::make_shared<std::set<std::string, std::less<>>>()) {
  if (!valid_) {
    ctx_->Error(node_, path_, "expected a mapping, got " + Describe(node_));
    return;
  }
  // yaml-cpp keeps every pair of a mapping, even repeated keys, and lookups
  // see only the first: a repeated key would silently lose its later value.
  std::map<std::string, int, std::less<>> first_line;
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    const YAML::Node key = it->first;
    if (!key.IsScalar()) {
      ctx_->Error(key, path_, "expected a plain key, got " + Describe(key));
      continue;
    }
    auto [pos, inserted] = first_line.emplace(key.Scalar(), MarkOf(key).line);
    if (!inserted) {
      ctx_->Error(key, path_,
                  "duplicate key " + Quote(key.Scalar()) + " (first defined at line " +
                      std::to_string(pos->second) + ")");
    }
  }
}

std::string MapReader::PathOf(std::string_view key) const {
  if (path_.empty()) return std::string(key);
  std::string out = path_;
  out += '.';
  out += key;
  return out;
}

YAML::Node MapReader::Get(std::string_view key) const {
  if (!valid_) return YAML::Node(YAML::NodeType::Undefined);
  std::optional<Entry> entry = FindEntry(node_, key);
  if (!entry) return YAML::Node(YAML::NodeType::Undefined);
  return entry->value;
}

bool MapReader::Has(std::string_view key) const {
  return valid_ && FindEntry(node_, key).has_value();
}

void MapReader::Accept(std::string_view key) { known_->emplace(key); }

std::vector<std::string> MapReader::Keys() const {
  std::vector<std::string> keys;
  if (!valid_) return keys;
  std::set<std::string, std::less<>> seen;
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    if (!it->first.IsScalar()) continue;
    if (seen.insert(it->first.Scalar()).second) keys.push_back(it->first.Scalar());
  }
  return keys;
}

bool MapReader::Require(std::string_view key) {
  Accept(key);
  if (!valid_) return false;
  if (Has(key)) return true;
  ctx_->Error(node_, path_, "missing required key " + Quote(key));
  return false;
}

std::optional<std::string> MapReader::String(std::string_view key, bool expand_env) {
  Accept(key);
  std::optional<Entry> entry = valid_ ? FindEntry(node_, key) : std::nullopt;
  if (!entry) return std::nullopt;
  if (!entry->value.IsScalar()) {
    ctx_->Error(ValueMark(*entry), PathOf(key), "expected a string, got " + Describe(entry->value));
    return std::nullopt;
  }
  if (!expand_env) return entry->value.Scalar();
  return ctx_->Expand(entry->value.Scalar(), entry->value, PathOf(key));
}

std::optional<bool> MapReader::Bool(std::string_view key) {
  Accept(key);
  std::optional<Entry> entry = valid_ ? FindEntry(node_, key) : std::nullopt;
  if (!entry) return std::nullopt;
  if (entry->value.IsScalar()) {
    if (IsTrue(entry->value.Scalar())) return true;
    if (IsFalse(entry->value.Scalar())) return false;
  }
  ctx_->Error(ValueMark(*entry), PathOf(key),
              "expected true or false, got " + Describe(entry->value));
  return std::nullopt;
}

std::optional<int64_t> MapReader::Int(std::string_view key, int64_t min, int64_t max) {
  Accept(key);
  std::optional<Entry> entry = valid_ ? FindEntry(node_, key) : std::nullopt;
  if (!entry) return std::nullopt;
  const std::string range =
      "must be an integer from " + std::to_string(min) + " to " + std::to_string(max);
  if (!entry->value.IsScalar()) {
    ctx_->Error(ValueMark(*entry), PathOf(key),
                "expected an integer, got " + Describe(entry->value));
    return std::nullopt;
  }
  std::string_view text = entry->value.Scalar();
  std::string_view digits = text;
  if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  const bool consumed = ptr == digits.data() + digits.size() && !digits.empty();
  if (ec == std::errc::result_out_of_range && consumed) {
    ctx_->Error(ValueMark(*entry), PathOf(key), range + ", got " + Quote(text));
    return std::nullopt;
  }
  if (ec != std::errc() || !consumed) {
    ctx_->Error(ValueMark(*entry), PathOf(key), "expected an integer, got " + Quote(text));
    return std::nullopt;
  }
  if (value < min || value > max) {
    ctx_->Error(ValueMark(*entry), PathOf(key), range + ", got " + Quote(text));
    return std::nullopt;
  }
  return value;
}

std::optional<double> MapReader::Number(std::string_view key) {
  Accept(key);
  std::optional<Entry> entry = valid_ ? FindEntry(node_, key) : std::nullopt;
  if (!entry) return std::nullopt;
  if (!entry->value.IsScalar()) {
    ctx_->Error(ValueMark(*entry), PathOf(key), "expected a number, got " + Describe(entry->value));
    return std::nullopt;
  }
  std::string_view text = entry->value.Scalar();
  std::string_view digits = text;
  if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
  double value = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value,
                                   std::chars_format::general);
  if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size() ||
      !std::isfinite(value)) {
    ctx_->Error(ValueMark(*entry), PathOf(key), "expected a number, got " + Quote(text));
    return std::nullopt;
  }
  return value;
}

std::optional<Duration> MapReader::Duration(std::string_view key) {
  Accept(key);
  std::optional<Entry> entry = valid_ ? FindEntry(node_, key) : std::nullopt;
  if (!entry) return std::nullopt;
  if (!entry->value.IsScalar()) {
    ctx_->Error(ValueMark(*entry), PathOf(key),
                "expected a duration like 10s, got " + Describe(entry->value));
    return std::nullopt;
  }
  std::string error;
  std::optional<hx::Duration> value = ParseDuration(entry->value.Scalar(), &error);
  if (!value) ctx_->Error(ValueMark(*entry), PathOf(key), error);
  return value;
}

std::optional<uint64_t> MapReader::ByteSize(std::string_view key) {
  Accept(key);
  std::optional<Entry> entry = valid_ ? FindEntry(node_, key) : std::nullopt;
  if (!entry) return std::nullopt;
  if (!entry->value.IsScalar()) {
    ctx_->Error(ValueMark(*entry), PathOf(key),
                "expected a byte size like 64KB, got " + Describe(entry->value));
    return std::nullopt;
  }
  std::string error;
  std::optional<uint64_t> value = ParseByteSize(entry->value.Scalar(), &error);
  if (!value) ctx_->Error(ValueMark(*entry), PathOf(key), error);
  return value;
}

std::optional<double> MapReader::Percent(std::string_view key) {
  Accept(key);
  std::optional<Entry> entry = valid_ ? FindEntry(node_, key) : std::nullopt;
  if (!entry) return std::nullopt;
  if (!entry->value.IsScalar()) {
    ctx_->Error(ValueMark(*entry), PathOf(key),
                "expected a percentage like 90%, got " + Describe(entry->value));
    return std::nullopt;
  }
  std::string error;
  std::optional<double> value = ParsePercent(entry->value.Scalar(), &error);
  if (!value) ctx_->Error(ValueMark(*entry), PathOf(key), error);
  return value;
}

std::optional<std::vector<std::string>> MapReader::StringList(std::string_view key,
                                                              bool expand_env) {
  Accept(key);
  std::optional<Entry> entry = valid_ ? FindEntry(node_, key) : std::nullopt;
  if (!entry) return std::nullopt;
  const YAML::Node& value = entry->value;
  if (value.IsScalar()) {
    if (!expand_env) return std::vector<std::string>{value.Scalar()};
    std::optional<std::string> item = ctx_->Expand(value.Scalar(), value, PathOf(key));
    if (!item) return std::nullopt;
    return std::vector<std::string>{std::move(*item)};
  }
  if (!value.IsSequence()) {
    ctx_->Error(ValueMark(*entry), PathOf(key),
                "expected a string or a list of strings, got " + Describe(value));
    return std::nullopt;
  }
  std::vector<std::string> items;
  bool ok = true;
  size_t index = 0;
  for (auto it = value.begin(); it != value.end(); ++it, ++index) {
    const YAML::Node& item = *it;
    const std::string item_path = PathOf(key) + "[" + std::to_string(index) + "]";
    if (!item.IsScalar()) {
      // A null item ("- ") has no position of its own; point at the list.
      ctx_->Error(item.IsNull() ? value : item, item_path,
                  "expected a string, got " + Describe(item));
      ok = false;
      continue;
    }
    if (!expand_env) {
      items.push_back(item.Scalar());
      continue;
    }
    std::optional<std::string> expanded = ctx_->Expand(item.Scalar(), item, item_path);
    if (!expanded) {
      ok = false;
      continue;
    }
    items.push_back(std::move(*expanded));
  }
  if (!ok) return std::nullopt;
  return items;
}

std::optional<std::map<std::string, std::string>> MapReader::StringMap(std::string_view key,
                                                                       bool expand_env) {
  std::optional<MapReader> map = Map(key);
  if (!map) return std::nullopt;
  std::map<std::string, std::string> out;
  for (const std::string& name : map->Keys()) {
    std::optional<std::string> value = map->String(name, expand_env);
    if (value) out.emplace(name, std::move(*value));
  }
  // Finish() also counts what Map() reported (repeated, non-string keys).
  if (!map->Finish()) return std::nullopt;
  return out;
}

std::shared_ptr<const re2::RE2> MapReader::Regex(std::string_view key) {
  // Patterns are not ${VAR}-expanded: "$" is an anchor in a regex.
  std::optional<std::string> pattern = String(key, /*expand_env=*/false);
  if (!pattern) return nullptr;
  RE2::Options options;
  options.set_log_errors(false);  // the error goes into the config message instead
  auto re = std::make_shared<const re2::RE2>(*pattern, options);
  if (!re->ok()) {
    Error(key, "invalid regular expression: " + re->error());
    return nullptr;
  }
  return re;
}

std::optional<MapReader> MapReader::Map(std::string_view key) {
  Accept(key);
  std::optional<Entry> entry = valid_ ? FindEntry(node_, key) : std::nullopt;
  if (!entry) return std::nullopt;
  if (!entry->value.IsMap()) {
    ctx_->Error(ValueMark(*entry), PathOf(key),
                "expected a mapping, got " + Describe(entry->value));
    return std::nullopt;
  }
  return MapReader(entry->value, PathOf(key), *ctx_);
}

std::optional<YAML::Node> MapReader::Node(std::string_view key) {
  Accept(key);
  std::optional<Entry> entry = valid_ ? FindEntry(node_, key) : std::nullopt;
  if (!entry) return std::nullopt;
  return std::optional<YAML::Node>(std::in_place, entry->value);
}

void MapReader::Error(std::string_view key, std::string message) {
  std::optional<Entry> entry = valid_ ? FindEntry(node_, key) : std::nullopt;
  const Mark at = entry ? ValueMark(*entry) : MarkOf(node_);
  ctx_->Error(at, PathOf(key), std::move(message));
}

void MapReader::Error(std::string message) { ctx_->Error(node_, path_, std::move(message)); }

bool MapReader::Finish() {
  if (!valid_) return false;
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    const YAML::Node key = it->first;
    if (!key.IsScalar()) continue;  // reported by the constructor
    const std::string& name = key.Scalar();
    if (known_->count(name) != 0) continue;
    std::string message = "unknown key " + Quote(name);
    // Suggest the closest known key; ties go to the alphabetically first.
    const std::string* best = nullptr;
    size_t best_distance = 3;
    for (const std::string& candidate : *known_) {
      const size_t distance = EditDistance(name, candidate);
      if (distance < best_distance && distance < candidate.size()) {
        best = &candidate;
        best_distance = distance;
      }
    }
    if (name == "<<") {
      message += " (YAML merge keys are not supported)";
    } else if (best != nullptr) {
      message += " (did you mean " + Quote(*best) + "?)";
    }
    ctx_->Error(key, path_, std::move(message));
  }
  return ctx_->errors().size() == errors_at_start_;
}

namespace {

// Records where documents start; ignores everything else.
class DocumentStarts : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> starts;
  void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

}  // namespace

DocumentScan ScanDocuments(const std::string& yaml) {
  std::istringstream in(yaml);
  YAML::Parser parser(in);
  DocumentStarts events;
  DocumentScan scan;
  while (parser.HandleNextDocument(events)) {
    const auto& starts = events.starts;
    // A document that starts where the previous one did consumed nothing:
    // the parser is stuck and would go on forever.
    if (starts.size() >= 2 && starts.back().pos == starts[starts.size() - 2].pos) {
      scan.stuck_at = Mark{starts.back().line + 1, starts.back().column + 1};
      scan.documents = starts.size() - 1;
      return scan;
    }
  }
  scan.documents = events.starts.size();
  return scan;
}

}  // namespace hx::config
