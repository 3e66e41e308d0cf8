#include "http/landing_page.h"

#include "build_info.h"

namespace hx {

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string RenderLandingPage(const BoardSnapshot& snapshot) {
  const std::string overall(OverallStatusName(snapshot.overall));
  std::string page =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<title>health_exporter</title>\n<style>\n"
      "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
      "td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}"
      ".healthy{color:#070}.degraded{color:#a60}.unhealthy{color:#c00}.pending{color:#666}\n"
      "</style>\n</head>\n<body>\n<h1>health_exporter</h1>\n";
  page += "<p>Overall: <strong class=\"" + overall + "\">" + overall + "</strong> (" +
          std::to_string(snapshot.checks.size()) + " checks)</p>\n";
  page +=
      "<p><a href=\"/metrics\">/metrics</a> &middot; <a href=\"/status\">/status</a> &middot; "
      "<a href=\"/readyz\">/readyz</a> &middot; <a href=\"/healthz\">/healthz</a></p>\n";
  page +=
      "<table>\n<tr><th>Check</th><th>Type</th><th>Target</th><th>Labels</th><th>Critical</th>"
      "<th>State</th><th>Last result</th></tr>\n";
  for (const auto& status : snapshot.checks) {
    const CheckInfo& info = *status->info;
    const std::string state(status->state ? HealthName(*status->state) : "pending");
    std::string labels;
    for (const auto& [name, value] : info.labels) {
      if (!labels.empty()) labels += ", ";
      labels += HtmlEscape(name) + "=" + HtmlEscape(value);
    }
    std::string last;
    if (status->last) {
      last =
          std::string(HealthName(status->last->health)) + ": " + HtmlEscape(status->last->detail);
    }
    page += "<tr><td>" + HtmlEscape(info.name) + "</td><td>" + HtmlEscape(info.type) + "</td><td>" +
            HtmlEscape(info.target) + "</td><td>" + labels + "</td><td>" +
            (info.critical ? "yes" : "no") + "</td><td class=\"" + state + "\">" + state +
            "</td><td>" + last + "</td></tr>\n";
  }
  page += "</table>\n<p><small>health_exporter " + HtmlEscape(build::kVersion) + " (" +
          HtmlEscape(build::kRevision) + ")</small></p>\n</body>\n</html>\n";
  return page;
}

}  // namespace hx
