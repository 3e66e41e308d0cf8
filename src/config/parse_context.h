#pragma once
// Strict, error-collecting reading of YAML config. Every error carries
// file:line:column and the key path (e.g. `checks[2].http.expect_status[1]`)
// and reading goes on after an error, so that every error in a file is
// reported at once.
//
// Secrets: values may contain ${VAR} references that are expanded from the
// environment. Error messages quote the *raw* YAML text, never the expanded
// value, so a secret that came from the environment never reaches a message.
//
// Not thread-safe; one ParseContext per load.

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/duration.h"

namespace re2 {
class RE2;
}

namespace hx::config {

/// A position in a config file, 1-based.
struct Mark {
  int line = 0;
  int column = 0;
};

/// One problem found in a config file.
struct ConfigError {
  std::string file;
  Mark mark;
  std::string path;     ///< key path, e.g. "checks[0].http.url"; may be empty
  std::string message;  ///< what is wrong, for a human

  /// "file:line:column: path: message" (path omitted when empty).
  std::string ToString() const;
};

/// A text of the config as written (with ${VAR}) and as expanded. Messages
/// must show `written`: the expansion may be a secret, and it is not what
/// the user wrote.
struct Expansion {
  std::string expanded;
  std::string written;
};

/// `text` (a message, a detail, a target) with every expanded text of
/// `expansions` shown as written: a quoted one ("<expanded>"), the whole of
/// `text`, and a variable's value of at least 4 characters anywhere (a host
/// inside a URL). Longer expansions are replaced first. Pure; thread-safe.
std::string AsWritten(std::string text, const std::vector<Expansion>& expansions);

/// Looks up an environment variable; injectable for tests.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup ProcessEnvironment();

/// Collects the errors of one load and knows the file name and environment.
class ParseContext {
 public:
  ParseContext(std::string file, EnvLookup env);

  void Error(const YAML::Node& at, std::string path, std::string message);
  void Error(Mark at, std::string path, std::string message);
  /// An error in another file than the current one (a config directory).
  void Error(const std::string& file, Mark at, std::string path, std::string message);

  /// The file errors are reported in; a config directory is read file by
  /// file with one context.
  const std::string& file() const { return file_; }
  void set_file(std::string file) { file_ = std::move(file); }

  /// Records input that came from outside the YAML text (the content of a
  /// secret file), so that a reload sees the check as changed when it
  /// changes. Only a digest is kept, never the bytes.
  void NoteExternalInput(std::string_view bytes);
  /// The digests noted since the last call, and forgets them.
  std::string TakeExternalInputs() { return std::exchange(external_inputs_, {}); }
  const std::vector<ConfigError>& errors() const { return errors_; }
  /// The expansions of this load so far, in order: whole values, then the
  /// values of their variables as `${NAME}`.
  const std::vector<Expansion>& expansions() const { return expansions_; }
  bool ok() const { return errors_.empty(); }

  /// The attempt timeout of the check whose handler mapping is being read:
  /// set by the config reader around a type's parser (nullopt elsewhere), so
  /// a type can check that its own keys fit in it (e.g. packets x interval).
  std::optional<hx::Duration> check_timeout() const { return check_timeout_; }
  void set_check_timeout(std::optional<hx::Duration> timeout) { check_timeout_ = timeout; }

  /// Expands ${VAR} (and $$ -> $) in `raw`. An unset variable is an error
  /// reported at `at`/`path` naming the variable; returns nullopt then.
  /// Every expansion that changed the text is remembered (see expansions()),
  /// and every error message recorded afterwards shows it as written.
  std::optional<std::string> Expand(const std::string& raw, const YAML::Node& at,
                                    const std::string& path);

 private:
  std::string file_;
  EnvLookup env_;
  std::vector<ConfigError> errors_;
  std::vector<Expansion> expansions_;
  std::string external_inputs_;
  std::optional<hx::Duration> check_timeout_;
};

Mark MarkOf(const YAML::Node& node);

/// What a YAML text holds, found without building it: yaml-cpp 0.7's
/// LoadAll() loops forever on some inputs (a stray ',' where a document or a
/// top-level node could start: the parser never consumes it and reports
/// endless empty documents at the same place), so every loader counts the
/// documents with this walk first, which stops there.
struct DocumentScan {
  size_t documents = 0;
  /// Set when the parser stopped making progress: the place to report.
  std::optional<Mark> stuck_at;
};
/// Throws YAML::Exception on a syntax error, like yaml-cpp's loaders.
DocumentScan ScanDocuments(const std::string& yaml);

/// Reads one YAML mapping strictly. Each getter marks its key as known; a
/// missing optional key yields nullopt without an error, a present key of the
/// wrong type or form yields nullopt *and* an error. Finish() reports every key
/// no getter asked for as unknown ("unknown key \"urll\"" — with a hint when a
/// known key is close). Copyable view; the node and context must outlive it.
class MapReader {
 public:
  /// Reports an error if `node` is not a mapping (then every getter yields nullopt).
  MapReader(const YAML::Node& node, std::string path, ParseContext& ctx);

  bool valid() const { return valid_; }
  const std::string& path() const { return path_; }
  ParseContext& context() const { return *ctx_; }
  const YAML::Node& node() const { return node_; }

  /// Path of a child key: "checks[0].http" + "url" -> "checks[0].http.url".
  std::string PathOf(std::string_view key) const;

  bool Has(std::string_view key) const;
  /// Marks a key as known without reading it.
  void Accept(std::string_view key);
  /// All keys present, in file order.
  std::vector<std::string> Keys() const;

  /// Reports "missing required key" at the mapping when absent; returns presence.
  bool Require(std::string_view key);

  std::optional<std::string> String(std::string_view key, bool expand_env = true);
  std::optional<bool> Bool(std::string_view key);
  std::optional<int64_t> Int(std::string_view key, int64_t min, int64_t max);
  std::optional<double> Number(std::string_view key);
  std::optional<hx::Duration> Duration(std::string_view key);
  std::optional<uint64_t> ByteSize(std::string_view key);
  std::optional<double> Percent(std::string_view key);
  /// A scalar or a sequence of scalars (a scalar is a one-element list).
  std::optional<std::vector<std::string>> StringList(std::string_view key, bool expand_env = true);
  std::optional<std::map<std::string, std::string>> StringMap(std::string_view key,
                                                              bool expand_env = true);
  /// Compiles with RE2; a bad pattern is an error quoting RE2's reason.
  std::shared_ptr<const re2::RE2> Regex(std::string_view key);
  /// A nested mapping read with its own MapReader (error if not a mapping).
  std::optional<MapReader> Map(std::string_view key);
  /// The raw node (marks the key known), for shapes the getters don't cover.
  std::optional<YAML::Node> Node(std::string_view key);

  /// An error at the value of `key` (or at the mapping if absent), with its path.
  void Error(std::string_view key, std::string message);
  /// An error at the mapping itself.
  void Error(std::string message);

  /// Reports unknown keys. Call once, after all getters. Returns true when
  /// the node is a mapping and no error at all was reported while reading it
  /// (by this reader, nested readers or the caller), i.e. whether the value
  /// read from it can be used.
  bool Finish();

 private:
  YAML::Node Get(std::string_view key) const;

  YAML::Node node_;
  std::string path_;
  ParseContext* ctx_;
  bool valid_;
  size_t errors_at_start_;  // the context's error count when reading began
  std::shared_ptr<std::set<std::string, std::less<>>> known_;
};

}  // namespace hx::config
