#include "http/dependency_map.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "build_info.h"
#include "http/landing_page.h"
#include "status/layered_layout.h"
#include "status/status_json.h"

namespace hx {
namespace {

enum class State : uint8_t { kHealthy, kDegraded, kUnhealthy, kPending };

std::string_view StateName(State state) {
  switch (state) {
    case State::kHealthy:
      return "healthy";
    case State::kDegraded:
      return "degraded";
    case State::kUnhealthy:
      return "unhealthy";
    case State::kPending:
      return "pending";
  }
  return "pending";
}

std::string_view StateTitle(State state) {
  switch (state) {
    case State::kHealthy:
      return "Healthy";
    case State::kDegraded:
      return "Degraded";
    case State::kUnhealthy:
      return "Unhealthy";
    case State::kPending:
      return "Pending";
  }
  return "Pending";
}

State StateOf(const CheckStatus& status) {
  if (!status.state) return State::kPending;
  switch (*status.state) {
    case Health::kHealthy:
      return State::kHealthy;
    case Health::kDegraded:
      return State::kDegraded;
    case Health::kUnhealthy:
      return State::kUnhealthy;
  }
  return State::kUnhealthy;
}

// Colour of the data: favicon (the page takes its colours from CSS).
std::string_view FaviconColour(OverallStatus overall) {
  switch (overall) {
    case OverallStatus::kHealthy:
      return "%231a7f37";
    case OverallStatus::kDegraded:
      return "%23bf8700";
    case OverallStatus::kUnhealthy:
      return "%23cf222e";
    case OverallStatus::kPending:
      return "%236e7781";
  }
  return "%236e7781";
}

// Geometry of a node box (px); the layout's defaults.
constexpr double kNodeWidth = 168;
constexpr double kNodeHeight = 44;
// Names longer than this many characters are cut with an ellipsis in the
// box (the full name is in the node's tooltip and on its card).
constexpr size_t kNameChars = 22;

// The map's own style, added to the status page's. The CSP allows both by
// hash, so they are emitted byte for byte.
constexpr std::string_view kMapStyle = R"css(
.map-head{display:flex;flex-wrap:wrap;align-items:baseline;gap:.2rem 1rem}
.map-head h1{margin:0;font-size:1.3rem}
.map-head strong{color:var(--c)}
.map-why{margin:.35rem 0 .7rem}
.legend{display:flex;flex-wrap:wrap;gap:.35rem 1rem;list-style:none;margin:0 0 .8rem;padding:0;
color:var(--muted);font-size:.82rem}
.legend li{display:flex;align-items:center;gap:.35rem}
.legend svg{width:30px;height:18px;flex:none}
.map-frame{overflow:auto;max-height:78vh;background:var(--card);border:1px solid var(--line);
border-radius:10px;padding:.5rem}
.map-note{margin:.6rem 0;padding:.5rem .8rem;border-left:4px solid var(--warn);background:var(--card)}
.depmap{display:block;margin:0 auto;font:12px/1 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif}
.depmap .edge,.swatch .edge{fill:none;stroke:var(--muted);stroke-width:1.4;opacity:.7}
.depmap .edge.cascade,.swatch .edge.cascade{stroke:var(--bad);stroke-width:2.6;opacity:1}
.depmap .arrow{fill:var(--muted)}.depmap .arrow.cascade{fill:var(--bad)}
.depmap .box,.swatch .box{fill:var(--c-bg);stroke:var(--c);stroke-width:1.5}
.depmap .blocked .box,.swatch .blocked .box{stroke-dasharray:6 4;stroke-width:2.2}
.depmap .hatch{fill:url(#map-hatch);pointer-events:none}
.depmap .hatch-line,.swatch .hatch-line{stroke:var(--bad);stroke-width:2;opacity:.35}
.depmap .halo,.swatch .halo{fill:none;stroke:var(--bad);stroke-width:3.5}
.depmap .name{fill:var(--fg);font-weight:600}
.depmap .state{fill:var(--c);font-size:11px;font-weight:700}
.depmap a:hover .box,.depmap a:focus .box{stroke-width:3.5}
.depmap a:focus{outline:none}
.solo h2{margin:1.3rem 0 .5rem;font-size:1rem}
.solo ul{display:flex;flex-wrap:wrap;gap:.4rem;list-style:none;margin:0;padding:0}
.chip{display:inline-flex;align-items:center;gap:.4rem;padding:.15rem .6rem;border:1px solid var(--line);
border-left:4px solid var(--c);border-radius:6px;background:var(--card);color:var(--fg);
text-decoration:none;font-size:.85rem;overflow-wrap:anywhere}
.chip small{color:var(--c);font-weight:700}
)css";

std::string Number(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.1f", value);
  std::string text = buffer;
  if (text.size() > 2 && text.compare(text.size() - 2, 2, ".0") == 0) text.resize(text.size() - 2);
  return text;
}

// At most `limit` characters (UTF-8 code points) of `text`, "…" when cut.
std::string Shorten(std::string_view text, size_t limit) {
  size_t chars = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;  // continuation byte
    if (chars == limit - 1) {
      size_t rest = 0;
      for (size_t j = i; j < text.size(); ++j) {
        rest += (static_cast<unsigned char>(text[j]) & 0xC0) != 0x80;
      }
      if (rest > 1) return std::string(text.substr(0, i)) + "\xE2\x80\xA6";
      return std::string(text);
    }
    ++chars;
  }
  return std::string(text);
}

std::string Plural(size_t count, std::string_view singular, std::string_view plural) {
  return std::to_string(count) + " " + std::string(count == 1 ? singular : plural);
}

// What the map knows of one check.
struct Node {
  const CheckStatus* status = nullptr;
  State state = State::kPending;
  bool blocked = false;
  bool root = false;             // unhealthy and not blocked: a root cause
  size_t blocks = 0;             // dependants blocked by it (roots only)
  bool reaches_failure = false;  // it or something below it is unhealthy
  const std::vector<std::string>* blocked_by = nullptr;
  std::vector<size_t> dependencies;  // indices into the snapshot's checks
  std::vector<size_t> dependants;
};

enum class Mode { kNoGraph, kAll, kFailingPart, kNothingFailing, kTooLarge };

struct Model {
  std::vector<Node> nodes;    // parallel to snapshot.checks
  std::vector<size_t> graph;  // checks with a dependency or a dependant
  std::vector<size_t> solo;   // the others
  std::vector<size_t> drawn;  // what the SVG shows, config order
  Mode mode = Mode::kNoGraph;
  size_t roots = 0;  // root causes in the graph that block something
  size_t blocked = 0;
};

Model BuildModel(const BoardSnapshot& snapshot, const DependencyMapOptions& options) {
  Model model;
  const size_t n = snapshot.checks.size();
  model.nodes.resize(n);
  std::unordered_map<std::string_view, size_t> index_of;
  for (size_t i = 0; i < n; ++i) index_of.emplace(snapshot.checks[i]->info->name, i);
  for (size_t i = 0; i < n; ++i) {
    Node& node = model.nodes[i];
    node.status = snapshot.checks[i].get();
    node.state = StateOf(*node.status);
    if (i < snapshot.blocked_by.size() && !snapshot.blocked_by[i].empty()) {
      node.blocked = true;
      node.blocked_by = &snapshot.blocked_by[i];
    }
    node.root = node.state == State::kUnhealthy && !node.blocked;
    for (const std::string& dependency : node.status->info->depends_on) {
      const auto it = index_of.find(dependency);
      if (it == index_of.end() || it->second == i) continue;  // a loaded config has none
      node.dependencies.push_back(it->second);
      model.nodes[it->second].dependants.push_back(i);
    }
  }
  for (size_t i = 0; i < n; ++i) {
    Node& node = model.nodes[i];
    if (!node.blocked) continue;
    ++model.blocked;
    for (const std::string& root : *node.blocked_by) {
      const auto it = index_of.find(root);
      if (it != index_of.end() && model.nodes[it->second].blocks++ == 0) ++model.roots;
    }
  }
  // reaches_failure, dependencies first (Kahn); a cycle, which a loaded
  // config cannot have, just leaves its nodes false.
  std::vector<size_t> waiting(n), ready;
  for (size_t i = 0; i < n; ++i) {
    waiting[i] = model.nodes[i].dependencies.size();
    if (waiting[i] == 0) ready.push_back(i);
  }
  for (size_t next = 0; next < ready.size(); ++next) {
    Node& node = model.nodes[ready[next]];
    node.reaches_failure = node.state == State::kUnhealthy;
    for (size_t dependency : node.dependencies) {
      node.reaches_failure = node.reaches_failure || model.nodes[dependency].reaches_failure;
    }
    for (size_t dependant : node.dependants) {
      if (--waiting[dependant] == 0) ready.push_back(dependant);
    }
  }

  for (size_t i = 0; i < n; ++i) {
    const Node& node = model.nodes[i];
    (node.dependencies.empty() && node.dependants.empty() ? model.solo : model.graph).push_back(i);
  }
  if (model.graph.empty()) {
    model.mode = Mode::kNoGraph;
  } else if (model.graph.size() <= options.draw_whole_up_to ||
             (options.whole_graph && model.graph.size() <= options.max_nodes)) {
    model.mode = Mode::kAll;
    model.drawn = model.graph;
  } else {
    std::vector<bool> focus(n, false);
    for (size_t i : model.graph) {
      const Node& node = model.nodes[i];
      if (node.state != State::kDegraded && node.state != State::kUnhealthy) continue;
      focus[i] = true;
      for (size_t j : node.dependencies) focus[j] = true;
      for (size_t j : node.dependants) focus[j] = true;
    }
    for (size_t i : model.graph) {
      if (focus[i]) model.drawn.push_back(i);
    }
    model.mode = model.drawn.empty()                       ? Mode::kNothingFailing
                 : model.drawn.size() <= options.max_nodes ? Mode::kFailingPart
                                                           : Mode::kTooLarge;
    if (model.mode == Mode::kTooLarge) model.drawn.clear();
  }
  return model;
}

// The id of a check's node in the SVG, and a link to it: the summary's
// root causes link there, so a click scrolls the frame to them.
std::string NodeId(std::string_view name) { return "map-" + std::string(name); }
std::string NodeHref(std::string_view name) { return "#" + UrlPathEscape(NodeId(name)); }

// The tooltip and the state line of a node.
std::string NodeTitle(const Node& node) {
  std::string title = node.status->info->name + ": " + std::string(StateTitle(node.state));
  if (node.root && node.blocks > 0) {
    title += ", root cause: " + Plural(node.blocks, "check is", "checks are") + " blocked by it";
  } else if (node.root) {
    title += ", root cause";
  }
  if (node.blocked) {
    title += ", blocked by ";
    for (size_t i = 0; i < node.blocked_by->size(); ++i) {
      title += (i == 0 ? "" : ", ") + (*node.blocked_by)[i];
    }
  }
  return title;
}

std::string StateLine(const Node& node) {
  // A root cause is unhealthy by definition: "Root cause" says both, and
  // leaves room in the box for what it blocks.
  if (node.root && node.blocks > 0)
    return "Root cause \xC2\xB7 blocks " + std::to_string(node.blocks);
  std::string line(StateTitle(node.state));
  if (node.root) {
    line += " \xC2\xB7 root cause";
  } else if (node.blocked) {
    line += " \xC2\xB7 blocked";
  }
  return line;
}

void RenderEdgePath(const std::vector<LayoutPoint>& points, std::string& out) {
  out += "M" + Number(points[0].x) + " " + Number(points[0].y);
  // Cubic segments with vertical tangents: smooth bends through the dummy
  // points, and the arrow at the end points straight down into the box.
  for (size_t i = 1; i < points.size(); ++i) {
    const LayoutPoint& p = points[i - 1];
    const LayoutPoint& q = points[i];
    const std::string middle = Number((p.y + q.y) / 2);
    out += 'C';
    for (const std::string& part : {Number(p.x), middle, Number(q.x), middle, Number(q.x)}) {
      out += part;
      out += ' ';
    }
    out += Number(q.y);
  }
}

void RenderNode(const Node& node, const LayoutPoint& centre, std::string& out) {
  const std::string& name = node.status->info->name;
  const std::string state(StateName(node.state));
  const std::string_view role = node.root ? "root" : node.blocked ? "blocked" : "";
  out += "<a class=\"node " + state;
  if (!role.empty()) out += " " + std::string(role);
  out += "\" href=\"" + HtmlEscape(CardHref(name)) + "\" data-check=\"" + HtmlEscape(name) +
         "\" data-state=\"" + state + "\" data-role=\"" + std::string(role) + "\" id=\"" +
         HtmlEscape(NodeId(name)) + "\" transform=\"translate(" +
         Number(centre.x - kNodeWidth / 2) + " " + Number(centre.y - kNodeHeight / 2) +
         ")\"><title>" + HtmlEscape(NodeTitle(node)) + "</title>";
  const std::string w = Number(kNodeWidth), h = Number(kNodeHeight);
  if (node.root) {
    out += "<rect class=\"halo\" x=\"-5\" y=\"-5\" width=\"" + Number(kNodeWidth + 10) +
           "\" height=\"" + Number(kNodeHeight + 10) + "\" rx=\"10\"/>";
  }
  out += "<rect class=\"box\" width=\"" + w + "\" height=\"" + h + "\" rx=\"6\"/>";
  if (node.blocked) {
    out += "<rect class=\"hatch\" width=\"" + w + "\" height=\"" + h + "\" rx=\"6\"/>";
  }
  out += "<text class=\"name\" x=\"10\" y=\"18\">" + HtmlEscape(Shorten(name, kNameChars)) +
         "</text><text class=\"state\" x=\"10\" y=\"35\">" + HtmlEscape(StateLine(node)) +
         "</text></a>\n";
}

std::string RenderSvg(const Model& model) {
  if (model.drawn.empty()) return "";
  std::vector<size_t> position(model.nodes.size(), static_cast<size_t>(-1));
  for (size_t p = 0; p < model.drawn.size(); ++p) position[model.drawn[p]] = p;
  std::vector<LayoutEdge> edges;
  std::vector<bool> cascade;
  for (size_t p = 0; p < model.drawn.size(); ++p) {
    const Node& node = model.nodes[model.drawn[p]];
    for (size_t dependency : node.dependencies) {
      if (position[dependency] == static_cast<size_t>(-1)) continue;
      edges.push_back({p, position[dependency]});
      cascade.push_back(node.blocked && model.nodes[dependency].reaches_failure);
    }
  }
  LayeredLayoutOptions options;
  options.node_width = kNodeWidth;
  options.node_height = kNodeHeight;
  LayeredLayout layout;
  try {
    layout = ComputeLayeredLayout(model.drawn.size(), edges, options);
  } catch (const std::invalid_argument& error) {
    // Unreachable for a loaded config (no cycles); a page beats a crash.
    return "<p class=\"map-note\">The graph cannot be drawn: " + HtmlEscape(error.what()) + "</p>";
  }

  const std::string width = Number(layout.width), height = Number(layout.height);
  std::string out = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"depmap\" viewBox=\"0 0 " +
                    width + " " + height + "\" width=\"" + width + "\" height=\"" + height +
                    "\" role=\"group\" aria-label=\"Dependency map of " +
                    Plural(model.drawn.size(), "check", "checks") + "; arrows point from a " +
                    "check to what it depends on\" data-crossings=\"" +
                    std::to_string(layout.crossings) + "\">\n";
  out +=
      "<defs><marker id=\"map-arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" "
      "markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path class=\"arrow\" "
      "d=\"M0 0L10 5L0 10z\"/></marker><marker id=\"map-arrow-cascade\" viewBox=\"0 0 10 10\" "
      "refX=\"9\" refY=\"5\" markerWidth=\"5\" markerHeight=\"5\" orient=\"auto\"><path "
      "class=\"arrow cascade\" d=\"M0 0L10 5L0 10z\"/></marker><pattern id=\"map-hatch\" "
      "width=\"8\" height=\"8\" patternUnits=\"userSpaceOnUse\" "
      "patternTransform=\"rotate(45)\"><line class=\"hatch-line\" x1=\"0\" y1=\"0\" x2=\"0\" "
      "y2=\"8\"/></pattern></defs>\n<g class=\"edges\">\n";
  // Healthy edges first, so the red cascade is drawn on top.
  for (const bool pass : {false, true}) {
    for (size_t e = 0; e < edges.size(); ++e) {
      if (cascade[e] != pass) continue;
      out += std::string("<path class=\"edge") + (pass ? " cascade" : "") + "\" data-from=\"" +
             HtmlEscape(model.nodes[model.drawn[edges[e].from]].status->info->name) +
             "\" data-to=\"" +
             HtmlEscape(model.nodes[model.drawn[edges[e].to]].status->info->name) +
             "\" marker-end=\"url(#" + (pass ? "map-arrow-cascade" : "map-arrow") + ")\" d=\"";
      // Into a root's halo only as far as its edge, so the arrow stays visible.
      std::vector<LayoutPoint> path = layout.edge_paths[e];
      if (model.nodes[model.drawn[edges[e].to]].root) path.back().y -= 5;
      RenderEdgePath(path, out);
      out += "\"/>\n";
    }
  }
  out += "</g>\n<g class=\"nodes\">\n";
  for (size_t p = 0; p < model.drawn.size(); ++p) {
    RenderNode(model.nodes[model.drawn[p]], layout.centres[p], out);
  }
  out += "</g>\n</svg>";
  return out;
}

// One sentence on the cascade, as HTML (names escaped; a drawn root cause
// links to its node).
std::string SummaryHtml(const Model& model) {
  if (model.mode == Mode::kNoGraph) {
    return "No check declares depends_on, so there is no graph to draw.";
  }
  std::string text = Plural(model.graph.size(), "check is", "checks are") + " in the graph. ";
  if (model.blocked == 0) {
    size_t unhealthy = 0;
    for (size_t i : model.graph) unhealthy += model.nodes[i].state == State::kUnhealthy;
    return text + (unhealthy == 0 ? "Nothing in it is unhealthy."
                                  : "No check is failing because of a dependency.");
  }
  std::vector<bool> drawn(model.nodes.size(), false);
  for (size_t i : model.drawn) drawn[i] = true;
  std::string names;
  size_t listed = 0;
  for (size_t i : model.graph) {
    const Node& node = model.nodes[i];
    if (node.blocks == 0) continue;
    if (listed++ >= 5) continue;
    const std::string& name = node.status->info->name;
    names += names.empty() ? "" : ", ";
    names += drawn[i]
                 ? "<a href=\"" + HtmlEscape(NodeHref(name)) + "\">" + HtmlEscape(name) + "</a>"
                 : HtmlEscape(name);
  }
  if (listed > 5) names += ", \xE2\x80\xA6";
  return text + Plural(model.roots, "root cause", "root causes") + " (" + names + ") " +
         (model.roots == 1 ? "blocks " : "block ") + Plural(model.blocked, "check.", "checks.");
}

void RenderLegend(std::string& out) {
  auto swatch = [&](std::string_view cls, std::string_view inner, std::string_view text) {
    out += "<li><svg class=\"swatch\" viewBox=\"0 0 30 18\" aria-hidden=\"true\"><g class=\"" +
           std::string(cls) + "\">" + std::string(inner) + "</g></svg>" + std::string(text) +
           "</li>";
  };
  const std::string box =
      "<rect class=\"box\" x=\"3\" y=\"3\" width=\"24\" height=\"12\" rx=\"3\"/>";
  out += "<ul class=\"legend\">";
  for (State state : {State::kHealthy, State::kDegraded, State::kUnhealthy, State::kPending}) {
    swatch(StateName(state), box, StateName(state));
  }
  swatch("unhealthy",
         "<rect class=\"halo\" x=\"1.5\" y=\"1.5\" width=\"27\" height=\"15\" rx=\"4\"/>" + box,
         "root cause (red halo)");
  swatch("unhealthy blocked", box + "<path class=\"hatch-line\" d=\"M8 15L16 3M16 15L24 3\"/>",
         "blocked by a dependency (hatched, dashed)");
  swatch("", "<path class=\"edge cascade\" d=\"M2 9H28\"/>", "failure spreading");
  swatch("", "<path class=\"edge\" d=\"M2 9H28\"/>", "depends on (arrow points at the dependency)");
  out += "</ul>\n";
}

void RenderChip(const Node& node, std::string& out) {
  const std::string state(StateName(node.state));
  out += "<li><a class=\"chip " + state + "\" href=\"" +
         HtmlEscape(CardHref(node.status->info->name)) + "\" data-check=\"" +
         HtmlEscape(node.status->info->name) + "\" data-state=\"" + state + "\">" +
         HtmlEscape(node.status->info->name) + " <small>" + state + "</small></a></li>";
}

void RenderSolo(const Model& model, const DependencyMapOptions& options, std::string& out) {
  if (model.solo.empty()) return;
  // A long list of healthy loners adds nothing to a map: past the limit
  // only the ones that need a human are listed.
  const bool all = model.solo.size() <= options.max_nodes;
  size_t hidden = 0;
  out += "<section class=\"solo\"><h2>" + Plural(model.solo.size(), "check has", "checks have") +
         " no dependency and no dependant</h2>\n<ul>";
  for (size_t i : model.solo) {
    const Node& node = model.nodes[i];
    if (!all && node.state == State::kHealthy) {
      ++hidden;
      continue;
    }
    RenderChip(node, out);
  }
  out += "</ul>\n";
  if (hidden > 0) {
    out += "<p class=\"map-note\">" + Plural(hidden, "healthy check", "healthy checks") +
           " not listed.</p>\n";
  }
  out += "</section>\n";
}

std::string Hostname() {
  char name[256] = "";
  if (gethostname(name, sizeof(name) - 1) != 0) return "";
  return name;
}

const std::string& ContentSecurityPolicy() {
  // As the status page's: only its own inline styles and script (by hash),
  // fetches of itself for the refresh, the data: favicon.
  static const std::string policy =
      "default-src 'none'; style-src " + PageCspHash(StatusPageStyle()) + " " +
      PageCspHash(kMapStyle) + "; script-src " + PageCspHash(StatusPageScript()) +
      "; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'";
  return policy;
}

std::string_view ModeName(Mode mode) {
  switch (mode) {
    case Mode::kNoGraph:
      return "none";
    case Mode::kAll:
      return "all";
    case Mode::kFailingPart:
      return "failing-part";
    case Mode::kNothingFailing:
      return "nothing-failing";
    case Mode::kTooLarge:
      return "too-large";
  }
  return "none";
}

}  // namespace

DependencyMapOptions ParseDependencyMapQuery(std::string_view query_string) {
  DependencyMapOptions options;
  while (!query_string.empty()) {
    const size_t amp = query_string.find('&');
    const std::string_view pair = query_string.substr(0, amp);
    query_string = amp == std::string_view::npos ? "" : query_string.substr(amp + 1);
    if (pair == "all=1" || pair == "all=true" || pair == "all=yes") options.whole_graph = true;
  }
  return options;
}

std::string RenderDependencyMapSvg(const BoardSnapshot& snapshot,
                                   const DependencyMapOptions& options) {
  return RenderSvg(BuildModel(snapshot, options));
}

std::string RenderDependencyMapPage(const BoardSnapshot& snapshot, double now,
                                    const DependencyMapOptions& options) {
  const Model model = BuildModel(snapshot, options);
  const std::string host = HtmlEscape(Hostname());
  const std::string overall(OverallStatusName(snapshot.overall));
  std::string page =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"" +
      ContentSecurityPolicy() +
      "\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<meta name=\"color-scheme\" content=\"light dark\">\n<title>Dependency map \xC2\xB7 " +
      overall + " \xC2\xB7 health_exporter" + (host.empty() ? "" : " on " + host) +
      "</title>\n<link rel=\"icon\" id=\"favicon\" href=\"data:image/svg+xml,%3Csvg "
      "xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Ccircle cx='8' cy='8' r='7' "
      "fill='" +
      std::string(FaviconColour(snapshot.overall)) + "'/%3E%3C/svg%3E\">\n<style>" +
      std::string(StatusPageStyle()) + "</style>\n<style>" + std::string(kMapStyle) +
      "</style>\n</head>\n<body>\n<header class=\"top\">\n<div class=\"brand\">health_exporter" +
      (host.empty() ? "" : " <span class=\"host\">on " + host + "</span>") +
      "</div>\n<nav><a href=\"/\">Status page</a> <a href=\"/map\" aria-current=\"page\">"
      "Dependency map</a> <a href=\"/status\">/status</a> <a href=\"/metrics\">/metrics</a>"
      "</nav>\n<span id=\"live\" class=\"live\">Snapshot; reload to update</span>\n</header>\n";
  page += "<main id=\"board\" data-overall=\"" + overall + "\" data-map-mode=\"" +
          std::string(ModeName(model.mode)) + "\" data-map-nodes=\"" +
          std::to_string(model.drawn.size()) +
          "\">\n<section class=\"map-head\"><h1>Dependency "
          "map</h1><span class=\"sub\">overall <strong class=\"" +
          overall + "\">" + overall + "</strong></span></section>\n<p class=\"map-why\">" +
          SummaryHtml(model) + "</p>\n";
  if (model.mode != Mode::kNoGraph) RenderLegend(page);
  const bool can_draw_whole = model.graph.size() <= options.max_nodes;
  const std::string whole_link =
      can_draw_whole ? " <a href=\"/map?all=1\">Draw the whole graph</a>." : "";
  if (model.mode == Mode::kFailingPart || model.mode == Mode::kNothingFailing) {
    page += "<p class=\"map-note\">The graph has " + std::to_string(model.graph.size()) +
            " checks, more than the " +
            std::to_string(can_draw_whole ? options.draw_whole_up_to : options.max_nodes) +
            " drawn at once: the map shows its failing part (every degraded or unhealthy check "
            "with its direct dependencies and dependants)" +
            (model.mode == Mode::kNothingFailing ? ", and nothing in it is failing." : ".") +
            whole_link + "</p>\n";
  } else if (model.mode == Mode::kAll && model.graph.size() > options.draw_whole_up_to) {
    page += "<p class=\"map-note\">The whole graph of " + std::to_string(model.graph.size()) +
            " checks. <a href=\"/map\">Show only the failing part</a>.</p>\n";
  } else if (model.mode == Mode::kTooLarge) {
    page += "<p class=\"map-note\">The graph has " + std::to_string(model.graph.size()) +
            " checks and even its failing part is more than the " +
            std::to_string(options.max_nodes) +
            " the map draws. The root causes:</p>\n<section class=\"solo\"><ul>";
    for (size_t i : model.graph) {
      if (model.nodes[i].blocks > 0) RenderChip(model.nodes[i], page);
    }
    page += "</ul></section>\n";
  }
  if (!model.drawn.empty()) {
    page +=
        "<div class=\"map-frame\" tabindex=\"0\" role=\"region\" aria-label=\"Dependency "
        "map (scrolls)\">\n" +
        RenderSvg(model) + "\n</div>\n";
  }
  RenderSolo(model, options, page);
  page += "<footer>Generated " + FormatRfc3339(now) + " by health_exporter " +
          HtmlEscape(build::kVersion) + " (" + HtmlEscape(build::kRevision) + ")" +
          " \xC2\xB7 refreshes every 5 s with JavaScript; every box links to its card on the "
          "<a href=\"/\">status page</a></footer>\n</main>\n<script id=\"refresh\">" +
          std::string(StatusPageScript()) + "</script>\n</body>\n</html>\n";
  return page;
}

}  // namespace hx
