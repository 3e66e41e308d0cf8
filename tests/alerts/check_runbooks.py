#!/usr/bin/env python3
"""Every alert in the rules file has a runbook_url docs/runbooks.md#<anchor>, the anchor is a
heading of docs/runbooks.md (GitHub's anchor: the heading lower-cased), and every alert is
listed in docs/dashboards-and-alerts.md.

Usage: check_runbooks.py SOURCE_DIR   (exit 0 = consistent, 1 = problems, printed)
"""
import os
import re
import sys


def main():
    source_dir = sys.argv[1]
    read = lambda p: open(os.path.join(source_dir, p)).read()
    rules = read("alerts/health_exporter.rules.yml")
    runbooks = read("docs/runbooks.md")
    overview = read("docs/dashboards-and-alerts.md")
    anchors = {re.sub(r"[^a-z0-9 -]", "", h.strip().lower()).replace(" ", "-")
               for h in re.findall(r"(?m)^#+ (.+)$", runbooks)}
    problems = []
    # Split the rules into alert blocks: from one "- alert:" to the next rule.
    blocks = re.split(r"(?m)^\s+- (?=alert:|record:)", rules)
    alerts = 0
    for block in blocks:
        name = re.match(r"alert: (\S+)", block)
        if not name:
            continue
        alerts += 1
        name = name.group(1)
        url = re.search(r'runbook_url: "docs/runbooks\.md#([^"]+)"', block)
        if not url:
            problems.append(f"{name}: no runbook_url docs/runbooks.md#...")
        elif url.group(1) not in anchors:
            problems.append(f"{name}: anchor #{url.group(1)} is not a heading of docs/runbooks.md")
        elif url.group(1) != name.lower():
            problems.append(f"{name}: anchor #{url.group(1)} should be #{name.lower()}")
        if f"`{name}`" not in overview:
            problems.append(f"{name}: not listed in docs/dashboards-and-alerts.md")
    if alerts == 0:
        problems.append("no alerts found in the rules file")
    for p in problems:
        print(p)
    print(f"{alerts} alerts checked")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
