#!/usr/bin/env python3
"""Static checks of the Grafana dashboards in dashboards/ (no Grafana needed).

Every dashboard must be importable anywhere: valid JSON, a stable uid, schemaVersion >= 38
(Grafana 10), a `datasource` template variable and every panel and query pointing at it
(no hard-coded data source uid), unique panel ids, panels inside the 24-column grid without
overlapping, and every metric a query names must be one health_exporter declares in
src/metrics/metric_names.h, one announced for it (see COMING_SOON), a Prometheus-made
series or a recording rule of alerts/health_exporter.rules.yml.

Usage: lint_dashboards.py DASHBOARD_DIR   (exit 0 = all good, 1 = problems, printed)
"""
import json
import os
import re
import sys

EXPECTED_UIDS = {
    "health_exporter-overview.json": "hx-overview",
    "health_exporter-check-detail.json": "hx-check-detail",
    "health_exporter-exporter.json": "hx-exporter",
}
REQUIRED_VARIABLES = {
    "hx-overview": ["datasource", "job", "instance", "team", "check"],
    "hx-check-detail": ["datasource", "job", "instance", "team", "check"],
    "hx-exporter": ["datasource", "job", "instance"],
}
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
# Announced by other work in progress; the dashboards show them as soon as they exist.
COMING_SOON = {
    "health_check_blocked",
    "health_check_slo_objective",
    "health_exporter_config_last_reload_successful",
    "health_exporter_config_last_reload_success_timestamp_seconds",
}
# Series Prometheus itself makes.
PROMETHEUS_SERIES = {"up", "scrape_duration_seconds", "scrape_samples_scraped", "ALERTS"}
PROMQL_WORDS = {
    "sum", "by", "rate", "increase", "histogram_quantile", "count", "or", "vector", "time",
    "on", "group_left", "max", "and", "unless", "le", "min", "avg",
}


def declared_metrics(source_dir):
    """Metric names from metric_names.h plus the suffixes histograms and counters add."""
    with open(os.path.join(source_dir, "src/metrics/metric_names.h")) as f:
        text = f.read()
    names = set(re.findall(r'"((?:health|process)_[a-z_]+)"', text))
    for name in list(names):
        names |= {name + "_bucket", name + "_sum", name + "_count"}
    with open(os.path.join(source_dir, "alerts/health_exporter.rules.yml")) as f:
        names |= set(re.findall(r"record: (\S+)", f.read()))
    return names


def metric_names_in(expr):
    """Identifiers in expr that are metric names (not functions, keywords, labels or strings)."""
    without_strings = re.sub(r'"[^"]*"', '""', expr)
    without_labels = re.sub(r"\{[^}]*\}", "{}", without_strings)
    without_ranges = re.sub(r"\[[^\]]*\]", "[]", without_labels)
    without_groupings = re.sub(r"\b(by|on|without|ignoring|group_left|group_right)\s*\([^)]*\)", "",
                               without_ranges)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", without_groupings):
        word = match.group(0)
        rest = without_groupings[match.end():].lstrip()
        if word in PROMQL_WORDS or rest.startswith("("):
            continue
        if re.fullmatch(r"[0-9.e]+", word):
            continue
        names.add(word)
    return names


def walk_uids(node, path, problems):
    """No `uid` anywhere but the dashboard's own and "${datasource}"."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "uid" and path and value != "${datasource}":
                problems.append(f"hard-coded uid {value!r} at {'/'.join(path)}")
            walk_uids(value, path + [key], problems)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            walk_uids(value, path + [str(i)], problems)


def lint(path, known_metrics):
    problems = []
    with open(path) as f:
        try:
            dash = json.load(f)
        except json.JSONDecodeError as e:
            return [f"not valid JSON: {e}"]
    name = os.path.basename(path)
    uid = dash.get("uid")
    if EXPECTED_UIDS.get(name) != uid:
        problems.append(f"uid {uid!r}, expected {EXPECTED_UIDS.get(name)!r}")
    if not isinstance(dash.get("schemaVersion"), int) or dash["schemaVersion"] < 38:
        problems.append(f"schemaVersion {dash.get('schemaVersion')!r} < 38")
    if "id" in dash and dash["id"] is not None:
        problems.append("dashboard has a numeric id (must be null or absent to import anywhere)")
    walk_uids({k: v for k, v in dash.items() if k != "uid"}, ["dashboard"], problems)

    variables = {v["name"]: v for v in dash.get("templating", {}).get("list", [])}
    for required in REQUIRED_VARIABLES.get(uid, []):
        if required not in variables:
            problems.append(f"missing template variable ${required}")
    ds_var = variables.get("datasource")
    if ds_var and (ds_var.get("type") != "datasource" or ds_var.get("query") != "prometheus"):
        problems.append("$datasource must be a datasource variable of type prometheus")
    for var in variables.values():
        if var.get("type") == "query":
            if var.get("datasource") != DATASOURCE:
                problems.append(f"variable ${var['name']} does not use ${{datasource}}")
            if not re.fullmatch(r"label_values\(.*, *\w+\)", var.get("definition", "")):
                problems.append(f"variable ${var['name']} is not a label_values() query")

    ids = set()
    cells = {}
    for panel in dash.get("panels", []):
        title = panel.get("title", "?")
        if panel.get("id") in ids:
            problems.append(f"duplicate panel id {panel.get('id')} ({title})")
        ids.add(panel.get("id"))
        pos = panel.get("gridPos", {})
        if pos.get("x", 0) + pos.get("w", 0) > 24:
            problems.append(f"panel {title!r} is wider than the grid")
        for x in range(pos.get("x", 0), pos.get("x", 0) + pos.get("w", 0)):
            for y in range(pos.get("y", 0), pos.get("y", 0) + pos.get("h", 0)):
                if (x, y) in cells:
                    problems.append(f"panel {title!r} overlaps {cells[(x, y)]!r}")
                    break
                cells[(x, y)] = title
            else:
                continue
            break
        if panel.get("type") == "row":
            continue
        if panel.get("datasource") != DATASOURCE:
            problems.append(f"panel {title!r} does not use ${{datasource}}")
        if not panel.get("targets"):
            problems.append(f"panel {title!r} has no queries")
        for t in panel.get("targets", []):
            if t.get("datasource") != DATASOURCE:
                problems.append(f"panel {title!r} query {t.get('refId')} does not use ${{datasource}}")
            expr = t.get("expr", "")
            if not expr:
                problems.append(f"panel {title!r} query {t.get('refId')} has no expr")
            for metric in metric_names_in(expr):
                if metric not in known_metrics:
                    problems.append(f"panel {title!r} uses unknown metric {metric!r}")
    return problems


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    directory = sys.argv[1]
    source_dir = os.path.dirname(os.path.abspath(directory))
    known = declared_metrics(source_dir) | COMING_SOON | PROMETHEUS_SERIES
    files = sorted(f for f in os.listdir(directory) if f.endswith(".json"))
    failed = False
    missing = set(EXPECTED_UIDS) - set(files)
    for name in sorted(missing):
        print(f"{name}: missing")
        failed = True
    for name in files:
        problems = lint(os.path.join(directory, name), known)
        for problem in problems:
            print(f"{name}: {problem}")
        failed |= bool(problems)
        if not problems:
            print(f"{name}: ok")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
