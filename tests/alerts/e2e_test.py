#!/usr/bin/env python3
"""End to end: health_exporter -> Prometheus (shipped rules) -> Alertmanager (shipped routes).

Everything runs on 127.0.0.1 with free ports and a temporary directory, is started here and
is killed on exit (also on failure, and if this script is killed: children get
PR_SET_PDEATHSIG). Steps:

 1. every PromQL query of every shipped dashboard panel, with template variables replaced
    by regex-matching values, is valid and returns data (except ALLOWED_EMPTY), and every
    label_values() variable finds its label;
 2. the target of a critical check breaks: HealthCheckCriticalUnhealthy reaches the team's
    pager receiver with severity, team, check and the annotations; the target recovers:
    the resolved notification arrives;
 3. checks `root` and `dependent` (depends_on: [root]) both break: only root pages. Skipped
    with a message while the daemon rejects depends_on in --check-config.

Formats: Prometheus (2.42) scrapes with its default Accept, which asks for OpenMetrics 1.0.0
first; the test checks the daemon answers that Accept with OpenMetrics (so steps 1-3 run on
the OpenMetrics path) and that every alerting rule evaluates without error. A second
Prometheus with --enable-feature=native-histograms (it then asks for protobuf first) must
see health_check_duration_seconds as a native histogram, and
histogram_quantile(0.9, rate(health_check_duration_seconds[1m])) must answer.

Two minimal, documented transformations make it fast; nothing else is changed:
 - rules: every `for: <duration>` of alerts/health_exporter.rules.yml becomes `for: 3s`;
 - Alertmanager: alerts/alertmanager.yml's `route` and `inhibit_rules` are used verbatim
   except group_wait/group_interval (-> 1s); its receivers are replaced by webhooks of the
   same names pointing at this script's receiver (so the routing by team is exercised).

Usage: e2e_test.py --binary PATH --source-dir DIR [--prometheus P] [--alertmanager A]
"""
import argparse
import ctypes
import http.server
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

# Dashboard panels whose series cannot exist in this test; their queries must still be
# valid PromQL. Keep short.
ALLOWED_EMPTY = {
    ("hx-check-detail", "Certificate expires in"): "no TLS target in this test",
    ("hx-check-detail", "SLO objective"): "health_check_slo_objective: no `slo:` yet",
    ("hx-check-detail", "Error budget left (30d)"): "health_check_slo_objective: no `slo:` yet",
    ("hx-check-detail", "Burn rate (1h, 6h)"): "health_check_slo_objective: no `slo:` yet",
    ("hx-check-detail", "Blocked by a dependency"): "health_check_blocked: only with depends_on",
    ("hx-check-detail", "Failures by reason"):
        "no check has failed yet when dashboards are read; the page below asserts the reason",
    ("hx-check-detail", "Last failure reason"):
        "no check has failed yet when dashboards are read; the page below asserts the reason",
    ("hx-exporter", "Last reload"): "reload metrics not exported yet",
    ("hx-exporter", "Last successful reload"): "reload metrics not exported yet",
}
# Grafana's variables, replaced the way Grafana would for "All" / a sensible range.
SUBSTITUTIONS = [
    ("$__rate_interval", "1m"), ("$__interval", "15s"), ("$__range", "1h"),
    ("$job", ".*"), ("$instance", ".*"), ("$team", ".*"), ("$check", ".*"),
]
TEST_DEADLINE_S = 150  # the whole test; each wait below is bounded too
SHORT_FOR = "3s"

START = time.monotonic()


def log(message):
    print(f"[{time.monotonic() - START:6.1f}s] {message}", flush=True)


class Failure(Exception):
    pass


def wait_for(what, condition, timeout_s, interval_s=0.25):
    """Polls condition() until it returns something truthy; fails after timeout_s."""
    deadline = min(time.monotonic() + timeout_s, START + TEST_DEADLINE_S)
    last_error = None
    while True:
        try:
            result = condition()
            if result:
                return result
        except (OSError, ValueError, KeyError) as e:  # not up yet, bad JSON, ...
            last_error = e
        if time.monotonic() >= deadline:
            raise Failure(f"timed out waiting for {what}" + (f" (last error: {last_error})"
                                                             if last_error else ""))
        time.sleep(interval_s)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout_s=5):
    with urllib.request.urlopen(url, timeout=timeout_s) as response:
        return response.status, response.read()


def _die_with_parent():
    # Runs in the child between fork and exec: SIGKILL it when this script dies.
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class Processes:
    """The servers this test started; stop_all() ends each by its pid."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.running = []  # (name, Popen, log path)

    def start(self, name, argv):
        log_path = os.path.join(self.tmp, name + ".log")
        log_file = open(log_path, "wb")
        process = subprocess.Popen(argv, stdout=log_file, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        log_file.close()
        self.running.append((name, process, log_path))
        return process, log_path

    def check_alive(self):
        for name, process, log_path in self.running:
            if process.poll() is not None:
                raise Failure(f"{name} exited with {process.returncode}:\n{tail(log_path)}")

    def stop_all(self):
        for name, process, _ in reversed(self.running):
            if process.poll() is None:
                process.terminate()
        for name, process, _ in reversed(self.running):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def dump_logs(self):
        for name, _, log_path in self.running:
            print(f"----- {name} ({log_path}) -----\n{tail(log_path)}")


def tail(path, lines=40):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError as e:
        return str(e)


class Target:
    """An HTTP server whose paths answer 200 "ok" or 503 as the test flips them."""

    def __init__(self):
        self.healthy = {"/health": True, "/root": True, "/dependent": True}
        target = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                ok = target.healthy.get(self.path)
                code, body = (200, b"ok\n") if ok else (503 if ok is False else 404, b"broken\n")
                self.send_response(code)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def set(self, path, healthy):
        self.healthy[path] = healthy
        log(f"target {path} -> {'healthy' if healthy else 'broken'}")


class Webhook:
    """Receives Alertmanager webhook notifications; the path is the receiver's name."""

    def __init__(self):
        self.notifications = []  # (receiver path, payload)
        self.lock = threading.Lock()
        webhook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with webhook.lock:
                    webhook.notifications.append((self.path.strip("/"), json.loads(body)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def alerts(self):
        """Every alert of every notification so far, as (receiver, alert dict)."""
        with self.lock:
            return [(receiver, alert) for receiver, payload in self.notifications
                    for alert in payload.get("alerts", [])]


class Prometheus:
    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}"

    def query(self, expr):
        url = f"{self.base}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        try:
            _, body = http_get(url)
        except urllib.error.HTTPError as e:
            return json.loads(e.read())
        return json.loads(body)

    def series(self, match):
        url = f"{self.base}/api/v1/series?" + urllib.parse.urlencode(
            {"match[]": match, "start": time.time() - 600})
        try:
            _, body = http_get(url)
        except urllib.error.HTTPError as e:
            return json.loads(e.read())
        return json.loads(body)

    def values(self, expr):
        answer = self.query(expr)
        if answer.get("status") != "success":
            raise Failure(f"query {expr!r} failed: {answer}")
        return answer["data"]["result"]


def shortened_rules(source):
    """The shipped rules with every `for:` set to SHORT_FOR (the only change)."""
    text, count = re.subn(r"(?m)^(\s+)for: \S+$", rf"\1for: {SHORT_FOR}", source)
    if count == 0:
        raise Failure("no `for:` found in the rules: the transformation is out of date")
    return text


def alertmanager_config(source, webhook_port):
    """The shipped route and inhibit_rules with 1s grouping delays; receivers -> webhooks."""
    lines = source.splitlines()
    route_at = next(i for i, l in enumerate(lines) if l.startswith("route:"))
    receivers_at = next(i for i, l in enumerate(lines) if l.startswith("receivers:"))
    if receivers_at < route_at:
        raise Failure("alertmanager.yml: expected route: before receivers:")
    routing = "\n".join(lines[route_at:receivers_at])
    routing = re.sub(r"group_wait: \S+", "group_wait: 1s", routing)
    routing = re.sub(r"group_interval: \S+", "group_interval: 1s", routing)
    names = re.findall(r"(?m)^  - name: (\S+)$", "\n".join(lines[receivers_at:]))
    receivers = ["receivers:"] + [
        f"  - name: {name}\n    webhook_configs:\n"
        f"      - url: http://127.0.0.1:{webhook_port}/{name}\n        send_resolved: true"
        for name in names]
    return routing + "\n" + "\n".join(receivers) + "\n"


def exporter_config(target_port, with_dependencies):
    checks = f"""global: {{interval: 1s, timeout: 500ms}}
checks:
  - name: payments-api
    critical: true
    labels: {{team: payments}}
    http: {{url: "http://127.0.0.1:{target_port}/health", expect_status: [200]}}
  - name: side-tcp
    critical: false
    labels: {{team: observability}}
    tcp: {{address: "127.0.0.1:{target_port}"}}
"""
    if with_dependencies:
        checks += f"""  - name: root
    critical: true
    labels: {{team: payments}}
    http: {{url: "http://127.0.0.1:{target_port}/root"}}
  - name: dependent
    critical: true
    depends_on: [root]
    labels: {{team: payments}}
    http: {{url: "http://127.0.0.1:{target_port}/dependent"}}
"""
    return checks


def dashboard_queries(source_dir):
    """(dashboard uid, panel title, expr) for every query, and the label_values variables."""
    queries, variables = [], []
    directory = os.path.join(source_dir, "dashboards")
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(directory, name)) as f:
            dash = json.load(f)
        for panel in dash["panels"]:
            for t in panel.get("targets", []):
                queries.append((dash["uid"], panel["title"], t["expr"]))
        for var in dash["templating"]["list"]:
            if var["type"] == "query":
                variables.append((dash["uid"], var["name"], var["definition"]))
    return queries, variables


def substitute(expr):
    for variable, value in SUBSTITUTIONS:
        expr = expr.replace(variable, value)
    if "$" in expr:
        raise Failure(f"unsubstituted variable in {expr!r}")
    return expr


# Panels that need the classic buckets themselves (Grafana's heatmap of le buckets): empty
# when Prometheus ingested the native histogram only.
ALLOWED_EMPTY_NATIVE = {
    ("hx-check-detail", "Attempt duration heatmap"): "classic le buckets only",
}


def check_dashboards(prom, source_dir, what="dashboards", extra_allowed=None):
    queries, variables = dashboard_queries(source_dir)
    allowed = {**ALLOWED_EMPTY, **(extra_allowed or {})}
    problems = []
    for uid, title, expr in queries:
        answer = prom.query(substitute(expr))
        if answer.get("status") != "success":
            problems.append(f"{uid} / {title}: invalid query {expr!r}: {answer.get('error')}")
        elif not answer["data"]["result"] and (uid, title) not in allowed:
            problems.append(f"{uid} / {title}: no data for {substitute(expr)!r}")
    for uid, name, definition in variables:
        match = re.fullmatch(r"label_values\((.*), *(\w+)\)", definition)
        answer = prom.series(substitute(match.group(1)))
        found = answer.get("status") == "success" and any(match.group(2) in s for s in answer["data"])
        if not found:
            problems.append(f"{uid} / ${name}: {definition} finds nothing ({answer.get('error', '')})")
    if problems:
        raise Failure(f"{what} queries:\n  " + "\n  ".join(problems))
    log(f"{what}: {len(queries)} queries and {len(variables)} variables ok "
        f"({len(allowed)} panels allowed to be empty)")


# The Accept header Prometheus 2.42 sends by default (scrape/scrape.go, without
# native histograms): OpenMetrics 1.0.0 first, text 0.0.4 as the fallback.
PROMETHEUS_DEFAULT_ACCEPT = ("application/openmetrics-text;version=1.0.0,"
                             "application/openmetrics-text;version=0.0.1;q=0.75,"
                             "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")


def check_formats(prom, exporter_address):
    """Prometheus' default Accept gets OpenMetrics; the scrape and every rule are healthy."""
    request = urllib.request.Request(f"http://{exporter_address}/metrics",
                                      headers={"Accept": PROMETHEUS_DEFAULT_ACCEPT})
    with urllib.request.urlopen(request, timeout=5) as response:
        content_type = response.headers.get("Content-Type", "")
        body = response.read().decode()
    if not content_type.startswith("application/openmetrics-text; version=1.0.0"):
        raise Failure(f"Prometheus' default Accept got Content-Type {content_type!r}")
    if not body.endswith("# EOF\n"):
        raise Failure("the OpenMetrics body does not end with # EOF")
    targets = json.loads(http_get(f"{prom.base}/api/v1/targets")[1])["data"]["activeTargets"]
    bad = [(t["scrapeUrl"], t["health"], t["lastError"]) for t in targets
           if t["health"] != "up" or t["lastError"]]
    if bad:
        raise Failure(f"scrape problems: {bad}")
    groups = json.loads(http_get(f"{prom.base}/api/v1/rules")[1])["data"]["groups"]
    broken = [(r["name"], r.get("lastError")) for g in groups for r in g["rules"]
              if r.get("health") == "err" or r.get("lastError")]
    if broken:
        raise Failure(f"rules with errors: {broken}")
    log(f"formats: Prometheus' default Accept gets {content_type!r}; target up; "
        f"{sum(len(g['rules']) for g in groups)} rules evaluate")


def check_native_histograms(native, processes):
    """A Prometheus with native histograms (protobuf) ingests the duration as one."""
    def native_series():
        result = native.values('health_check_duration_seconds{check="payments-api"}')
        return result and "histogram" in result[0]
    wait_for("the native-histogram Prometheus to ingest a native duration histogram",
             lambda: processes.check_alive() or native_series(), timeout_s=30)
    expr = 'histogram_quantile(0.9, rate(health_check_duration_seconds{check="payments-api"}[1m]))'
    wait_for(f"{expr} to answer",
             lambda: processes.check_alive() or native.values(expr), timeout_s=30)
    quantile = float(native.values(expr)[0]["value"][1])
    if not 0 < quantile < 1:
        raise Failure(f"{expr} = {quantile}: expected a few milliseconds")
    # (The protobuf carries the classic buckets too, but Prometheus 2.42 keeps only the
    # native histogram of a series that has one.)
    log(f"native histograms: p90 of payments-api = {quantile * 1000:.2f} ms")


def find_alert(webhook, status, alertname, check):
    for receiver, alert in webhook.alerts():
        labels = alert["labels"]
        if (alert["status"] == status and labels.get("alertname") == alertname
                and labels.get("check") == check):
            return receiver, alert
    return None


def expect_equal(what, actual, expected):
    if actual != expected:
        raise Failure(f"{what}: got {actual!r}, expected {expected!r}")


def check_page_and_resolve(prom, target, webhook, processes):
    target.set("/health", False)
    receiver, alert = wait_for("the page for payments-api to reach the webhook",
                               lambda: processes.check_alive() or find_alert(
                                   webhook, "firing", "HealthCheckCriticalUnhealthy", "payments-api"),
                               timeout_s=45)
    labels, annotations = alert["labels"], alert["annotations"]
    log(f"page received by {receiver}: {labels}")
    expect_equal("receiver (routed by team)", receiver, "payments-pager")
    expect_equal("severity", labels.get("severity"), "page")
    expect_equal("team", labels.get("team"), "payments")
    expect_equal("check", labels.get("check"), "payments-api")
    expect_equal("critical", labels.get("critical"), "true")
    expect_equal("job", labels.get("job"), "health_exporter")
    expect_equal("summary", annotations.get("summary"), "Critical check payments-api is unhealthy")
    if "payments-api" not in annotations.get("description", ""):
        raise Failure(f"description does not name the check: {annotations}")
    expect_equal("runbook_url", annotations.get("runbook_url"),
                 "docs/runbooks.md#healthcheckcriticalunhealthy")
    # The reason, read by the rule's template from health_check_last_failure_reason.
    expect_equal("reason", annotations.get("reason"), "http_status")
    others = [(r, a["labels"]) for r, a in webhook.alerts() if a["labels"].get("check") != "payments-api"]
    if others:
        raise Failure(f"unexpected notifications for other checks: {others}")

    target.set("/health", True)
    wait_for("the resolved notification for payments-api",
             lambda: processes.check_alive() or find_alert(
                 webhook, "resolved", "HealthCheckCriticalUnhealthy", "payments-api"),
             timeout_s=45)
    log("resolved notification received")


def check_dependencies(prom, target, webhook, processes):
    # The realistic order: the dependency fails first, then what depends on it.
    target.set("/root", False)
    wait_for("Prometheus to see root unhealthy",
             lambda: prom.values('health_check_status{check="root"} == 0'), timeout_s=20)
    target.set("/dependent", False)
    wait_for("the page for root",
             lambda: processes.check_alive() or find_alert(
                 webhook, "firing", "HealthCheckCriticalUnhealthy", "root"),
             timeout_s=45)
    # dependent blocked long enough (10s > for: 3s + a few evaluations) that it would have
    # paged were it not blocked. Whether a blocked check still reports unhealthy (0) is the
    # daemon's choice; the rules must stay quiet either way.
    wait_for("dependent to be blocked for 10s",
             lambda: prom.values('min_over_time(health_check_blocked{check="dependent"}[10s]) == 1 '
                                 'and count_over_time(health_check_blocked{check="dependent"}[10s]) >= 8'),
             timeout_s=40)
    status = prom.values('health_check_status{check="dependent"}')
    log(f"dependent: blocked, status {[s['value'][1] for s in status]}")
    active = prom.values('ALERTS{check="dependent"}')
    if active:
        raise Failure(f"alerts for the blocked check: {[a['metric'] for a in active]}")
    notified = [(r, a["labels"]) for r, a in webhook.alerts() if a["labels"].get("check") == "dependent"]
    if notified:
        raise Failure(f"notifications for the blocked check: {notified}")
    log("root paged, dependent (blocked) did not")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", required=True)
    parser.add_argument("--source-dir", required=True)
    parser.add_argument("--prometheus", default="prometheus")
    parser.add_argument("--alertmanager", default="prometheus-alertmanager")
    parser.add_argument("--keep-tmp", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="hx-alerts-e2e-")
    processes = Processes(tmp)
    # ctest's timeout sends SIGTERM first: turn it into a normal exit so `finally` runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ok = False
    try:
        target, webhook = Target(), Webhook()

        # Does this daemon know depends_on yet?
        probe = os.path.join(tmp, "probe.yml")
        with open(probe, "w") as f:
            f.write(exporter_config(target.port, with_dependencies=True))
        check = subprocess.run([args.binary, "--check-config", f"--config.file={probe}"],
                               capture_output=True, text=True, timeout=30)
        with_dependencies = check.returncode == 0
        if not with_dependencies:
            log("SKIP part 3 (depends_on): the daemon rejects depends_on:\n    "
                + (check.stdout + check.stderr).strip().replace("\n", "\n    "))

        config = os.path.join(tmp, "health_exporter.yml")
        with open(config, "w") as f:
            f.write(exporter_config(target.port, with_dependencies))
        _, exporter_log = processes.start(
            "health_exporter", [args.binary, f"--config.file={config}",
                                "--web.listen-address=127.0.0.1:0"])
        exporter_address = wait_for(
            "health_exporter to listen",
            lambda: processes.check_alive() or re.search(r"address=(127\.0\.0\.1:\d+)\n",
                                                         tail(exporter_log)),
            timeout_s=15).group(1)
        log(f"health_exporter on {exporter_address}")

        am_port, prom_port = free_port(), free_port()
        with open(os.path.join(args.source_dir, "alerts/alertmanager.yml")) as f:
            am_yml = alertmanager_config(f.read(), webhook.port)
        am_config = os.path.join(tmp, "alertmanager.yml")
        with open(am_config, "w") as f:
            f.write(am_yml)
        processes.start("alertmanager", [
            args.alertmanager, f"--config.file={am_config}",
            f"--storage.path={os.path.join(tmp, 'am-data')}",
            f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address=",
            "--log.level=warn"])

        with open(os.path.join(args.source_dir, "alerts/health_exporter.rules.yml")) as f:
            rules = shortened_rules(f.read())
        rules_path = os.path.join(tmp, "rules.yml")
        with open(rules_path, "w") as f:
            f.write(rules)
        prom_config = os.path.join(tmp, "prometheus.yml")
        with open(prom_config, "w") as f:
            f.write(f"""global: {{scrape_interval: 1s, evaluation_interval: 1s}}
rule_files: [{rules_path}]
alerting:
  alertmanagers: [{{static_configs: [{{targets: ["127.0.0.1:{am_port}"]}}]}}]
scrape_configs:
  - job_name: health_exporter
    static_configs: [{{targets: ["{exporter_address}"]}}]
""")
        processes.start("prometheus", [
            args.prometheus, f"--config.file={prom_config}",
            f"--storage.tsdb.path={os.path.join(tmp, 'prom-data')}",
            f"--web.listen-address=127.0.0.1:{prom_port}", "--rules.alert.resend-delay=1s",
            "--log.level=warn"])
        prom = Prometheus(prom_port)
        # Scrapes only: rules and alerts stay with the first one.
        native_port, native_config = free_port(), os.path.join(tmp, "prometheus-native.yml")
        with open(native_config, "w") as f:
            f.write(f"""global: {{scrape_interval: 1s}}
scrape_configs:
  - job_name: health_exporter
    static_configs: [{{targets: ["{exporter_address}"]}}]
""")
        processes.start("prometheus-native", [
            args.prometheus, f"--config.file={native_config}",
            f"--storage.tsdb.path={os.path.join(tmp, 'prom-native-data')}",
            f"--web.listen-address=127.0.0.1:{native_port}",
            "--enable-feature=native-histograms", "--log.level=warn"])
        native = Prometheus(native_port)

        for name, url in (("alertmanager", f"http://127.0.0.1:{am_port}/-/ready"),
                          ("prometheus", f"{prom.base}/-/ready"),
                          ("prometheus-native", f"{native.base}/-/ready")):
            wait_for(f"{name} to be ready",
                     lambda: processes.check_alive() or http_get(url)[0] == 200, timeout_s=30)
        log("prometheus and alertmanager ready")

        # Rates over 1m need a few scrapes of every check; the HTTP check's phase series
        # need a successful request.
        wait_for("a few scrapes of every check",
                 lambda: processes.check_alive() or len(prom.values(
                     'count_over_time(health_check_status[1m]) >= 5')) == (4 if with_dependencies else 2),
                 timeout_s=30)
        wait_for("the exporter's alerting rules to be loaded",
                 lambda: json.loads(http_get(f"{prom.base}/api/v1/rules")[1])["data"]["groups"],
                 timeout_s=10)
        wait_for("Prometheus to discover Alertmanager",
                 lambda: json.loads(http_get(f"{prom.base}/api/v1/alertmanagers")[1])
                 ["data"]["activeAlertmanagers"], timeout_s=20)

        check_formats(prom, exporter_address)
        check_native_histograms(native, processes)
        check_dashboards(prom, args.source_dir)
        # Latency panels work whether Prometheus ingested classic or native histograms.
        check_dashboards(native, args.source_dir, "dashboards (native histograms)",
                         ALLOWED_EMPTY_NATIVE)
        check_page_and_resolve(prom, target, webhook, processes)
        if with_dependencies:
            check_dependencies(prom, target, webhook, processes)
        ok = True
    except Failure as e:
        log(f"FAILED: {e}")
        processes.dump_logs()
    finally:
        processes.stop_all()
        if args.keep_tmp or not ok:
            log(f"temporary files kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    log("PASSED" if ok else "FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
