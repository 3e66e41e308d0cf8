#include "util/redactor.h"

#include <re2/re2.h>

namespace hx {

Redactor::Redactor(std::vector<std::shared_ptr<const re2::RE2>> patterns) {
  for (auto& pattern : patterns) {
    if (pattern && pattern->ok()) patterns_.push_back(std::move(pattern));
  }
}

namespace {

// Replaces the non-empty matches of `re` in `text`; false when there were none.
bool MaskMatches(const re2::RE2& re, std::string& text) {
  std::string out;
  size_t copied = 0;  // text[0, copied) is already in out
  size_t at = 0;
  bool any = false;
  re2::StringPiece match;
  const re2::StringPiece whole(text);
  while (at <= text.size() && re.Match(whole, at, text.size(), re2::RE2::UNANCHORED, &match, 1)) {
    const size_t begin = static_cast<size_t>(match.data() - text.data());
    if (match.empty()) {
      // Step over one byte and look again: an empty match masks nothing.
      at = begin + 1;
      continue;
    }
    if (!any) out.reserve(text.size());
    any = true;
    out.append(text, copied, begin - copied);
    out += Redactor::kMask;
    copied = at = begin + match.size();
  }
  if (!any) return false;
  out.append(text, copied, std::string::npos);
  text = std::move(out);
  return true;
}

}  // namespace

bool Redactor::RedactInPlace(std::string& text) const {
  bool any = false;
  for (const auto& pattern : patterns_) any = MaskMatches(*pattern, text) || any;
  return any;
}

bool Redactor::Matches(std::string_view text) const {
  const re2::StringPiece whole(text.data(), text.size());
  for (const auto& pattern : patterns_) {
    re2::StringPiece match;
    size_t at = 0;
    while (at <= text.size() &&
           pattern->Match(whole, at, text.size(), re2::RE2::UNANCHORED, &match, 1)) {
      if (!match.empty()) return true;
      at = static_cast<size_t>(match.data() - text.data()) + 1;
    }
  }
  return false;
}

std::string Redactor::Redact(std::string_view text) const {
  std::string out(text);
  RedactInPlace(out);
  return out;
}

std::string RedactPatternProblem(const re2::RE2& pattern) {
  if (!pattern.ok()) return "invalid regular expression: " + pattern.error();
  if (re2::RE2::FullMatch("", pattern)) {
    return "matches the empty string: a redact pattern must match the secret itself";
  }
  return "";
}

}  // namespace hx
