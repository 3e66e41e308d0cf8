#pragma once
// The dependency map served at "/map": the `depends_on` graph of the checks
// drawn as a server-rendered SVG, so that a cascade reads at a glance. Nodes
// are coloured by state and say it in words; a failing root cause has a red
// halo and says "root cause"; a blocked check (unhealthy because something
// it depends on is, see status/dependencies.h) is hatched with a dashed
// outline and says "blocked"; edges run from the dependant (above) to its
// dependency (below), and the edges along which a failure spreads are drawn
// in red. Every node is a link to its card on the status page. Checks with no
// dependency and no dependant are not drawn: they are listed in a compact
// row under the map. See docs/status-page.md, "Dependency map".
//
// Pure functions of their arguments; thread-safe. The layout
// (status/layered_layout.h) is computed per request: about 1 ms of CPU for
// 500 checks, which is also the most the map draws (see
// DependencyMapOptions); the whole page about 4 ms.

#include <cstddef>
#include <string>
#include <string_view>

#include "status/status_board.h"

namespace hx {

struct DependencyMapOptions {
  /// A graph of up to this many checks is drawn whole. A larger one is drawn
  /// whole only on request ("?all=1", `whole_graph`); by default the map
  /// shows its failing part: every degraded or unhealthy check with its
  /// direct dependencies and dependants, so the cascade is on the first
  /// screen rather than somewhere in a picture thousands of pixels wide.
  size_t draw_whole_up_to = 150;
  /// The most the map ever draws; past it (whole graph or failing part) it
  /// lists the root causes instead. Bounds the work per request (layout and
  /// SVG are about linear in what is drawn) and the page size (~600 bytes
  /// per node).
  size_t max_nodes = 500;
  /// "?all=1": draw the whole graph if it has at most `max_nodes` checks.
  bool whole_graph = false;
};

/// Reads "?all=1" (or all=true/yes) from a raw query string without the
/// leading '?' into `whole_graph`; anything else keeps the defaults.
DependencyMapOptions ParseDependencyMapQuery(std::string_view query_string);

/// The <svg> element of the map of `snapshot` (empty when nothing is drawn),
/// followed by nothing else. Every value from config or targets is escaped.
std::string RenderDependencyMapSvg(const BoardSnapshot& snapshot,
                                   const DependencyMapOptions& options = {});

/// The whole HTML document for "/map" as of wall time `now`: the status
/// page's header, style and live refresh (the script swaps "#board"), a
/// summary and legend, the SVG in a scrollable frame, the checks outside the
/// graph, and a Content-Security-Policy <meta> as strict as the status
/// page's.
std::string RenderDependencyMapPage(const BoardSnapshot& snapshot, double now,
                                    const DependencyMapOptions& options = {});

}  // namespace hx
