#!/usr/bin/env python3
"""Soak and load run for health_exporter (not part of the default test run).

Starts local targets and the daemon with N checks at a 1 s interval (a mix of
healthy and failing http, tcp (by address and by name), exec, disk, memory
and heartbeat checks), scrapes /metrics every second, reloads the config every minute (alternating
SIGHUP and POST /-/reload, with a few checks added, removed and changed), and
accounts for every run:

  * for each check the config never changes, health_check_runs_total must
    never go down or vanish, and its growth must match the runs the check's
    schedule allows (from its last-run timestamps), minus skipped runs;
  * for http checks the targets count the requests they receive per check: a
    run the daemon made but did not count, or counted twice, shows there;
  * /status and /metrics must agree (a /status read between two scrapes lies
    between them);
  * /metrics must stay fast whatever the checks do (scrape latency).

It samples RSS, fds, threads and children of the daemon every 10 s, writes a
CSV time series and prints a summary table. Exit status: 0 when no run was
lost or doubled and the daemon stayed up, 1 otherwise, 2 on a setup error.

Python 3 standard library only. See README.md in this directory.
"""

import argparse
import asyncio
import collections
import csv
import gzip
import http.client
import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HEARTBEAT_TOKEN = "soak-heartbeat-token-0123456789"
SLOW_SECONDS = 2.0  # how long the slow path waits: well past the 500ms timeout
HTTP_TIMEOUT = "500ms"

# Share of each kind of check, in this order; the rest of N goes to http_ok.
MIX = [
    ("http_ok", 0.22),
    ("http_500", 0.08),
    ("http_slow", 0.05),
    ("http_hang", 0.05),
    ("tcp_open", 0.12),
    ("tcp_named", 0.03),
    ("tcp_closed", 0.10),
    ("exec_true", 0.08),
    ("exec_false", 0.04),
    ("exec_sleep", 0.02),
    ("disk", 0.06),
    ("disk_write", 0.02),
    ("memory", 0.06),
    ("heartbeat_fed", 0.03),
    ("heartbeat_starved", 0.02),
]
CHURN_SLOTS = 3  # checks named churn-<g>: one added and one removed per reload
MUTABLE = "mutable-url"  # the check whose URL each reload changes


# --------------------------------------------------------------------------
# Targets: a separate process, so its CPU does not disturb the scraper.


class _TargetHttp(asyncio.Protocol):
    """Minimal HTTP/1.1: /ok* 200, /fail* 500, /slow* 200 after SLOW_SECONDS,
    /__counts the per-path request counts as JSON; one request per connection.
    With hang=True it reads requests (and counts them) but never answers."""

    def __init__(self, counts, hang):
        self.counts = counts
        self.hang = hang
        self.buf = b""
        self.transport = None
        self.timer = None
        self.done = False

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        if self.done:
            return
        self.buf += data
        if b"\r\n\r\n" not in self.buf:
            if len(self.buf) > 16384:
                self.transport.close()
            return
        self.done = True
        parts = self.buf.split(b"\r\n", 1)[0].split(b" ")
        path = parts[1].decode("latin-1") if len(parts) > 1 else "/"
        if path == "/__counts":
            self._answer(200, json.dumps(self.counts).encode())
            return
        self.counts[path] = self.counts.get(path, 0) + 1
        if self.hang:
            return
        if path.startswith("/ok"):
            self._answer(200, b"ok")
        elif path.startswith("/fail"):
            self._answer(500, b"failing on purpose")
        elif path.startswith("/slow"):
            loop = asyncio.get_running_loop()
            self.timer = loop.call_later(SLOW_SECONDS, self._answer, 200, b"slow")
        else:
            self._answer(404, b"no such path")

    def _answer(self, code, body):
        if self.transport.is_closing():
            return
        head = "HTTP/1.1 %d X\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n" \
               "Connection: close\r\n\r\n" % (code, len(body))
        self.transport.write(head.encode() + body)
        self.transport.close()

    def connection_lost(self, exc):
        if self.timer is not None:
            self.timer.cancel()


def serve_targets():
    """Entry point of `soak.py --serve-targets`: prints the ports as one JSON
    line, serves until SIGTERM."""

    async def main():
        loop = asyncio.get_running_loop()
        counts = {}
        http_srv = await loop.create_server(lambda: _TargetHttp(counts, False), "127.0.0.1", 0,
                                            backlog=1024)
        hang_srv = await loop.create_server(lambda: _TargetHttp(counts, True), "127.0.0.1", 0,
                                            backlog=1024)
        stop = loop.create_future()
        loop.add_signal_handler(signal.SIGTERM, lambda: stop.done() or stop.set_result(None))
        ports = {"http": http_srv.sockets[0].getsockname()[1],
                 "hang": hang_srv.sockets[0].getsockname()[1]}
        print(json.dumps(ports), flush=True)
        await stop

    asyncio.run(main())


# --------------------------------------------------------------------------
# Config generation.


def scaled_mix(exec_fraction):
    """MIX with the exec kinds scaled to exec_fraction of all checks in total
    (None keeps MIX); what they give up or take goes to http_ok."""
    if exec_fraction is None:
        return MIX
    exec_total = sum(share for kind, share in MIX if kind.startswith("exec"))
    mix = [(kind, share * exec_fraction / exec_total if kind.startswith("exec") else share)
           for kind, share in MIX]
    return [(mix[0][0], mix[0][1] + 1.0 - sum(share for _, share in mix))] + mix[1:]


def check_kinds(n, mix=MIX):
    """The kind of each of the n checks, in a fixed interleaved order."""
    counts = [(kind, int(n * share)) for kind, share in mix]
    counts[0] = (counts[0][0], counts[0][1] + n - sum(c for _, c in counts))
    kinds = []
    pending = [[kind, c] for kind, c in counts if c > 0]
    while pending:  # interleave so names do not group kinds
        for item in pending:
            kinds.append(item[0])
            item[1] -= 1
        pending = [item for item in pending if item[1] > 0]
    return kinds


def check_yaml(name, kind, env, path_suffix=""):
    """One check as YAML lines (interval and timeout come from global)."""
    base = "http://127.0.0.1:%d" % env["http_port"]
    lines = ["  - name: %s" % name, "    critical: false"]
    if kind == "http_ok":
        lines.append("    http: {url: \"%s/ok/%s%s\"}" % (base, name, path_suffix))
    elif kind == "http_500":
        lines.append("    http: {url: \"%s/fail/%s\"}" % (base, name))
    elif kind == "http_slow":
        lines.append("    http: {url: \"%s/slow/%s\"}" % (base, name))
    elif kind == "http_hang":
        lines.append("    http: {url: \"http://127.0.0.1:%d/hang/%s\"}" % (env["hang_port"], name))
    elif kind == "tcp_open":
        lines.append("    tcp: {address: \"127.0.0.1:%d\"}" % env["http_port"])
    elif kind == "tcp_named":
        # By name: the resolver (c-ares reads /etc/hosts) and the attempt
        # base's ResolveThen() on every run.
        lines.append("    tcp: {address: \"localhost:%d\", ip_protocol: ip4}" % env["http_port"])
    elif kind == "tcp_closed":
        lines.append("    tcp: {address: \"127.0.0.1:%d\"}" % env["closed_port"])
    elif kind == "exec_true":
        lines.append("    exec: {command: [/bin/true]}")
    elif kind == "exec_false":
        lines.append("    exec: {command: [/bin/false]}")
    elif kind == "exec_sleep":
        lines.append("    exec: {command: [/bin/sleep, \"5\"]}")
    elif kind == "disk":
        lines.append("    disk: {path: /, degraded_above: 99.9%, unhealthy_above: 100%}")
    elif kind == "disk_write":
        lines.append("    disk: {path: \"%s\", write_test: true, degraded_above: 99.9%%, "
                     "unhealthy_above: 100%%}" % env["disk_dir"])
    elif kind == "memory":
        lines.append("    memory: {}")
    elif kind.startswith("heartbeat"):
        lines.append("    heartbeat: {ttl: 5s, token: \"%s\"}" % HEARTBEAT_TOKEN)
    else:
        raise ValueError(kind)
    return lines


class ConfigPlan:
    """The checks of generation g of the config. Stable checks are identical in
    every generation; churn-<g>..churn-<g+2> rotate (one added, one removed per
    reload) and MUTABLE changes its URL path."""

    def __init__(self, n, interval, env, exec_fraction=None):
        self.interval = interval
        self.env = env
        n_stable = max(1, n - CHURN_SLOTS - 1)
        self.stable = [("c%04d-%s" % (i, kind.replace("_", "-")), kind)
                       for i, kind in enumerate(check_kinds(n_stable, scaled_mix(exec_fraction)))]
        self.kind_of = dict(self.stable)

    def churn_names(self, g):
        return ["churn-%d" % i for i in range(g, g + CHURN_SLOTS)]

    def render(self, g, broken=False):
        lines = ["# generated by tests/soak/soak.py, generation %d" % g, "global:",
                 "  interval: %s" % self.interval, "  timeout: %s" % HTTP_TIMEOUT, "checks:"]
        for name, kind in self.stable:
            lines += check_yaml(name, kind, self.env)
        for name in self.churn_names(g):
            lines += check_yaml(name, "http_ok", self.env)
        lines += check_yaml(MUTABLE, "http_ok", self.env, "/gen%d" % g)
        if broken:
            # One invalid value: the whole reload must be refused.
            lines += ["  - name: broken-on-purpose", "    interval: 1 sec", "    memory: {}"]
        return "\n".join(lines) + "\n"


def write_atomically(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


# --------------------------------------------------------------------------
# Scraping and parsing.

LABEL_RE = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """The parts of the exposition the soak needs:
    runs[check] = {status: value}, skipped/timeouts/last_run[check] = value,
    lateness = {le: cumulative count}, plus 'exporter' (health_exporter_* and
    process_* samples without per-check labels, by full series text)."""
    out = {"runs": collections.defaultdict(dict), "skipped": {}, "timeouts": {},
           "last_run": {}, "lateness": {}, "exporter": {}}
    for line in text.split("\n"):
        if not line or line[0] == "#":
            continue
        if line.startswith("health_check_"):
            brace = line.find("{")
            if brace < 0:
                continue
            family = line[:brace]
            if family not in ("health_check_runs_total", "health_check_skipped_runs_total",
                              "health_check_timeouts_total",
                              "health_check_last_run_timestamp_seconds"):
                continue
            end = line.rfind("}")
            labels = dict(LABEL_RE.findall(line[brace + 1:end]))
            value = float(line[end + 1:].split()[0])
            check = labels.get("check")
            if family == "health_check_runs_total":
                out["runs"][check][labels.get("status", "")] = value
            elif family == "health_check_skipped_runs_total":
                out["skipped"][check] = value
            elif family == "health_check_timeouts_total":
                out["timeouts"][check] = value
            else:
                out["last_run"][check] = value
        elif line.startswith("health_exporter_scheduler_lateness_seconds_bucket"):
            le = LABEL_RE.findall(line)
            bound = dict(le).get("le", "+Inf")
            out["lateness"][math.inf if bound == "+Inf" else float(bound)] = float(line.split()[-1])
        elif line.startswith("health_exporter_") or line.startswith("process_"):
            series, _, value = line.rpartition(" ")
            try:
                out["exporter"][series] = float(value)
            except ValueError:
                pass
    return out


def exporter_value(parsed, prefix):
    """The first exporter sample whose series starts with prefix, or None."""
    for series, value in parsed["exporter"].items():
        if series.startswith(prefix):
            return value
    return None


def http_get(port, path, accept_gzip=False, timeout=30.0):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Accept-Encoding": "gzip"} if accept_gzip else {}
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        if resp.getheader("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        return resp.status, body
    finally:
        conn.close()


def http_post(port, path, headers=None, timeout=10.0):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", path, body=b"", headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def quantile(sorted_values, q):
    if not sorted_values:
        return float("nan")
    i = min(len(sorted_values) - 1, max(0, int(math.ceil(q * len(sorted_values))) - 1))
    return sorted_values[i]


def histogram_quantile(q, buckets):
    """Prometheus-style quantile from cumulative {upper bound: count}."""
    bounds = sorted(buckets)
    if not bounds or buckets[bounds[-1]] <= 0:
        return float("nan")
    total = buckets[bounds[-1]]
    rank = q * total
    prev_bound, prev_count = 0.0, 0.0
    for b in bounds:
        count = buckets[b]
        if count >= rank:
            if math.isinf(b):
                return prev_bound  # beyond the last finite bound: report that bound
            if count == prev_count:
                return b
            return prev_bound + (b - prev_bound) * (rank - prev_count) / (count - prev_count)
        prev_bound, prev_count = b, count
    return bounds[-2] if len(bounds) > 1 else float("nan")


def bucket_delta(a, b):
    return {k: b.get(k, 0.0) - a.get(k, 0.0) for k in b}


# --------------------------------------------------------------------------
# The process under test.


def proc_sample(pid, count_zombies=False):
    """RSS (KiB), fds, threads, children (and how many are zombies) and CPU
    seconds of pid."""
    sample = {"rss_kb": 0, "fds": 0, "threads": 0, "children": 0, "cpu_s": 0.0}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                sample["rss_kb"] = int(line.split()[1])
            elif line.startswith("Threads:"):
                sample["threads"] = int(line.split()[1])
    sample["fds"] = len(os.listdir("/proc/%d/fd" % pid))
    # The loop thread's CPU time and time spent runnable but waiting for a CPU
    # (a loaded machine delays the loop there, not in the daemon's code).
    try:
        with open("/proc/%d/task/%d/schedstat" % (pid, pid)) as f:
            run_ns, wait_ns = f.read().split()[:2]
        sample["loop_cpu_s"] = int(run_ns) / 1e9
        sample["loop_runq_wait_s"] = int(wait_ns) / 1e9
    except OSError:
        pass
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    sample["cpu_s"] = (int(fields[11]) + int(fields[12])) / tick  # utime + stime
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            children = f.read().split()
    except OSError:
        children = []
    sample["children"] = len(children)
    if count_zombies:
        sample["zombies"] = 0
        for child in children:
            try:
                with open("/proc/%s/stat" % child) as f:
                    if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                        sample["zombies"] += 1
            except OSError:
                pass
    return sample


def load1():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


# --------------------------------------------------------------------------
# The soak itself.


class Scraper(threading.Thread):
    """Scrapes /metrics on a fixed 1 s grid. Keeps the latest parse for the
    main thread and feeds every parse to the accountant (under a lock)."""

    def __init__(self, port, period, accountant, accept_gzip):
        super().__init__(daemon=True)
        self.port = port
        self.period = period
        self.accountant = accountant
        self.accept_gzip = accept_gzip
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.latest = None
        self.latencies = []  # (time, seconds)
        self.failures = []
        self.bytes_last = 0

    def scrape_once(self):
        t0 = time.perf_counter()
        wall0 = time.time()
        status, body = http_get(self.port, "/metrics", accept_gzip=self.accept_gzip)
        latency = time.perf_counter() - t0
        if status != 200:
            raise RuntimeError("/metrics answered %d" % status)
        parsed = parse_metrics(body.decode("utf-8", "replace"))
        parsed["time"] = wall0 + latency / 2
        # The daemon's own idea of "now" at render time: its newest finished
        # run. Unlike the client's clock it does not move with scrape latency.
        parsed["render_time"] = max(parsed["last_run"].values(), default=parsed["time"])
        return latency, len(body), parsed

    def run(self):
        next_at = time.monotonic()
        while not self.stop_event.is_set():
            try:
                latency, size, parsed = self.scrape_once()
                with self.lock:
                    self.latencies.append((time.time(), latency))
                    self.bytes_last = size
                    self.latest = parsed
                    self.accountant.observe(parsed)
            except Exception as e:  # a failed scrape is a finding, not a crash
                with self.lock:
                    self.failures.append((time.time(), repr(e)))
            next_at += self.period
            delay = next_at - time.monotonic()
            if delay < 0:
                next_at = time.monotonic()
                delay = 0
            self.stop_event.wait(delay)


class Accountant:
    """Checks every scrape of the stable checks against the previous one and
    keeps what the final accounting needs. Called with the scraper's lock."""

    def __init__(self, stable_names, interval_s):
        self.stable = stable_names
        self.interval = interval_s
        self.baseline = None
        self.reported_at = None  # time of the first scrape with a result of every check
        self.prev = None
        self.last = None
        self.resets = []    # (time, check, what, before, after)
        self.vanished = []  # (time, check)
        self.jumps = []     # (time, check, delta, dt)
        self.observed = 0

    @staticmethod
    def runs_of(parsed, check):
        statuses = parsed["runs"].get(check)
        return None if statuses is None else sum(statuses.values())

    def observe(self, parsed):
        self.observed += 1
        if self.baseline is None:
            # Count from a scrape at which every check is on its stable phase:
            # first runs are spread over the start-up window, and heartbeat
            # checks also run once at start, before the web server listens, so
            # until each check has reported and two intervals have passed, a
            # check's runs and its last-run timestamps may differ by that one
            # off-phase run.
            if not all(c in parsed["runs"] and c in parsed["last_run"] for c in self.stable):
                return
            if self.reported_at is None:
                self.reported_at = parsed["time"]
            if parsed["time"] - self.reported_at >= 2 * self.interval:
                self.baseline = parsed
                self.prev = parsed
                self.last = parsed
            return
        prev, t = self.prev, parsed["time"]
        dt = parsed["render_time"] - prev["render_time"]
        allowed = math.floor(dt / self.interval) + 2
        for c in self.stable:
            statuses = parsed["runs"].get(c)
            if statuses is None:
                self.vanished.append((t, c))
                continue
            for status, before in prev["runs"][c].items():
                after = statuses.get(status)
                if after is None or after < before:
                    self.resets.append((t, c, "runs_total{status=%s}" % status, before, after))
            before_skip, after_skip = prev["skipped"].get(c, 0.0), parsed["skipped"].get(c, 0.0)
            if after_skip < before_skip:
                self.resets.append((t, c, "skipped_runs_total", before_skip, after_skip))
            delta = (sum(statuses.values()) - sum(prev["runs"][c].values())
                     + after_skip - before_skip)
            if delta > allowed:
                self.jumps.append((t, c, delta, dt))
        # A check missing from this scrape is compared with the last scrape that had it.
        merged = dict(parsed)
        merged["runs"] = dict(parsed["runs"])
        for c in self.stable:
            if c not in merged["runs"]:
                merged["runs"][c] = prev["runs"][c]
        self.prev = merged
        self.last = parsed

    def window(self, a, b):
        """Per stable check: (counted runs, skipped, expected from last-run
        timestamps, expected from elapsed time) between scrapes a and b."""
        result = {}
        elapsed = b["time"] - a["time"]
        for c in self.stable:
            if c not in a["runs"] or c not in b["runs"]:
                continue
            runs = self.runs_of(b, c) - self.runs_of(a, c)
            skipped = b["skipped"].get(c, 0.0) - a["skipped"].get(c, 0.0)
            la, lb = a["last_run"].get(c), b["last_run"].get(c)
            by_stamp = round((lb - la) / self.interval) if la and lb else None
            result[c] = (runs, skipped, by_stamp, elapsed / self.interval)
        return result


class Soak:
    def __init__(self, args):
        self.args = args
        self.procs = []
        self.out = args.out or tempfile.mkdtemp(prefix="hx-soak-")
        os.makedirs(self.out, exist_ok=True)
        self.reloads = []  # dicts, one per attempt
        self.samples = []
        self.heartbeat_errors = 0
        self.notes = []

    # ---- setup --------------------------------------------------------------

    def start_targets(self):
        proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--serve-targets"],
                                stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        self.procs.append(proc)
        self.targets = proc
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("the targets process did not start")
        ports = json.loads(line)
        # A closed port: bound but never listening, so nothing else takes it
        # and every connect is refused.
        self.closed_sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.closed_sock.bind(("127.0.0.1", 0))
        self.env = {"http_port": ports["http"], "hang_port": ports["hang"],
                    "closed_port": self.closed_sock.getsockname()[1],
                    "disk_dir": os.path.join(self.out, "disk")}
        os.makedirs(self.env["disk_dir"], exist_ok=True)

    def start_daemon(self):
        self.config_path = os.path.join(self.out, "health_exporter.yml")
        write_atomically(self.config_path, self.plan.render(0))
        self.log_path = os.path.join(self.out, "daemon.log")
        self.log_file = open(self.log_path, "w")
        cmd = [self.args.binary, "--config.file=" + self.config_path,
               "--web.listen-address=127.0.0.1:0",
               "--storage.path=" + os.path.join(self.out, "storage")]
        env = dict(os.environ)
        env.update(item.split("=", 1) for item in self.args.daemon_env)
        self.daemon = subprocess.Popen(cmd, stdout=self.log_file, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, env=env)
        self.procs.append(self.daemon)
        started = re.compile(r"msg=started .*address=127\.0\.0\.1:(\d+)")
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.daemon.poll() is not None:
                raise RuntimeError("the daemon exited with %d at start-up; see %s"
                                   % (self.daemon.returncode, self.log_path))
            with open(self.log_path) as f:
                m = started.search(f.read())
            if m:
                self.port = int(m.group(1))
                return
            time.sleep(0.1)
        raise RuntimeError("the daemon did not log 'started' within 30 s")

    # ---- periodic work ------------------------------------------------------

    def feed_heartbeats(self):
        auth = {"Authorization": "Bearer " + HEARTBEAT_TOKEN}
        for name, kind in self.plan.stable:
            if kind == "heartbeat_fed":
                try:
                    status, _ = http_post(self.port, "/heartbeat/" + name, auth)
                    if status != 200:
                        self.heartbeat_errors += 1
                except OSError:
                    self.heartbeat_errors += 1

    def sample(self, start):
        s = proc_sample(self.daemon.pid, count_zombies=True)
        s["t"] = time.time() - start
        s["load1"] = load1()
        with self.scraper.lock:
            window = [lat for when, lat in self.scraper.latencies if when > time.time() - 10]
            latest = self.scraper.latest
        window.sort()
        s["scrapes"] = len(window)
        s["scrape_p50_ms"] = quantile(window, 0.5) * 1000 if window else ""
        s["scrape_max_ms"] = window[-1] * 1000 if window else ""
        if latest is not None:
            s["runs_total"] = sum(sum(v.values()) for v in latest["runs"].values())
            s["skipped_total"] = sum(latest["skipped"].values())
            s["timeouts_total"] = sum(latest["timeouts"].values())
            lat = latest["lateness"]
            # The first samples may come before the first scrape.
            prev = next((x["_lateness"] for x in reversed(self.samples) if "_lateness" in x), {})
            delta = bucket_delta(prev, lat)
            s["lateness_p50_ms"] = histogram_quantile(0.5, delta) * 1000
            s["lateness_p99_ms"] = histogram_quantile(0.99, delta) * 1000
            s["_lateness"] = lat
        s["reloads_ok"] = sum(1 for r in self.reloads if r.get("ok"))
        self.samples.append(s)

    def status_cross_check(self):
        """A /status read between two /metrics reads must lie between them."""
        _, body_a = http_get(self.port, "/metrics")
        a = parse_metrics(body_a.decode())
        _, body_s = http_get(self.port, "/status")
        status = json.loads(body_s)
        _, body_b = http_get(self.port, "/metrics")
        b = parse_metrics(body_b.decode())
        checks = status.get("checks", status)
        if isinstance(checks, list):
            checks = {c.get("name"): c for c in checks}
        bad = []
        for name, _ in self.plan.stable:
            c = checks.get(name)
            if not isinstance(c, dict) or "runs" not in c:
                continue
            ra, rb = Accountant.runs_of(a, name), Accountant.runs_of(b, name)
            if ra is None or rb is None:
                continue
            if not ra <= c["runs"] <= rb:
                bad.append((name, ra, c["runs"], rb))
        return bad

    # ---- reloads ------------------------------------------------------------

    def reload(self, number, generation, broken):
        method = "SIGHUP" if number % 2 == 1 else "POST /-/reload"
        record = {"n": number, "t": time.time(), "method": method, "broken": broken,
                  "generation": generation}
        write_atomically(self.config_path, self.plan.render(generation, broken=broken))
        with self.scraper.lock:
            before = self.scraper.latest
        record["before_time"] = before["time"] if before else None
        if method == "SIGHUP":
            log_size = os.path.getsize(self.log_path)
            os.kill(self.daemon.pid, signal.SIGHUP)
            deadline = time.time() + 5
            while time.time() < deadline and "unsupported" not in record:
                time.sleep(0.25)
                with open(self.log_path) as f:
                    f.seek(log_size)
                    text = f.read()
                if "SIGHUP ignored" in text:
                    record["unsupported"] = "daemon logged 'SIGHUP ignored'"
                elif "reload" in text:
                    break  # it reacted; the metrics below tell how
        else:
            try:
                status, body = http_post(self.port, "/-/reload")
                record["http_status"] = status
                record["http_body"] = body.decode("utf-8", "replace")[:200]
                if status in (404, 405):
                    record["unsupported"] = "POST /-/reload answered %d" % status
            except OSError as e:
                record["http_status"] = repr(e)
        if "unsupported" in record:
            record["ok"] = False
            return record
        # Wait until the new config shows (or, broken, until the failure shows).
        added = "churn-%d" % (generation + CHURN_SLOTS - 1)
        removed = "churn-%d" % (generation - 1)
        deadline = time.time() + 10
        while time.time() < deadline:
            time.sleep(0.5)
            with self.scraper.lock:
                latest = self.scraper.latest
            if latest is None or latest["time"] < record["t"]:
                continue
            flag = exporter_value(latest, "health_exporter_config_last_reload_successful")
            record["last_reload_successful"] = flag
            if broken:
                if flag == 0:
                    record["ok"] = True  # refused, as it must be
                    record["kept_old"] = "broken-on-purpose" not in latest["runs"]
                    break
            elif added in latest["runs"] and removed not in latest["runs"] and flag != 0:
                record["ok"] = True
                record["applied_after_s"] = round(latest["time"] - record["t"], 2)
                if before is not None and MUTABLE in before["runs"] and MUTABLE in latest["runs"]:
                    # The changed check: did its counter carry on or start again?
                    record["mutable_runs"] = (Accountant.runs_of(before, MUTABLE),
                                              Accountant.runs_of(latest, MUTABLE))
                break
        record.setdefault("ok", False)
        return record

    # ---- run ----------------------------------------------------------------

    def run(self):
        args = self.args
        self.start_targets()
        self.plan = ConfigPlan(args.checks, args.interval, self.env, args.exec_fraction)
        interval_s = parse_seconds(args.interval)
        self.start_daemon()
        print("soak: daemon pid %d on 127.0.0.1:%d, %d checks, output in %s"
              % (self.daemon.pid, self.port, args.checks, self.out), flush=True)
        self.accountant = Accountant([n for n, _ in self.plan.stable], interval_s)
        self.scraper = Scraper(self.port, args.scrape_every, self.accountant, not args.no_gzip)
        start = time.time()
        self.load_start = os.getloadavg()
        self.scraper.start()
        cross_bad, cross_checks = [], 0
        generation, reload_number = 0, 0
        next_sample = start
        next_reload = start + args.reload_every if args.reload_every > 0 else math.inf
        next_heartbeat = start
        next_guard = start
        self.max_children = 0
        next_cross = start + 30
        end = start + args.duration
        reload_unsupported = {}
        try:
            while time.time() < end:
                now = time.time()
                if self.daemon.poll() is not None:
                    self.notes.append("daemon exited with %d at t=%.0fs"
                                      % (self.daemon.returncode, now - start))
                    break
                if now >= next_guard:
                    # Unreaped children use up the machine's pids (32768 by
                    # default) for every user of it: stop well before that.
                    children = proc_sample(self.daemon.pid)["children"]
                    self.max_children = max(self.max_children, children)
                    if children > args.max_children:
                        self.notes.append(
                            "aborted at t=%.0fs: the daemon has %d child processes (over "
                            "--max-children=%d; zombies?)" % (now - start, children,
                                                              args.max_children))
                        break
                    next_guard = now + 0.5
                if now >= next_heartbeat:
                    self.feed_heartbeats()
                    next_heartbeat += 2
                if now >= next_sample:
                    self.sample(start)
                    last = self.samples[-1]
                    print("soak: t=%4.0fs rss=%dKiB fds=%d threads=%d children=%d (zombies %d) load=%.2f "
                          "scrape_max=%sms lateness_p99=%sms runs=%s" % (
                              last["t"], last["rss_kb"], last["fds"], last["threads"],
                              last["children"], last["zombies"], last["load1"], fmt(last["scrape_max_ms"]),
                              fmt(last.get("lateness_p99_ms", "")), fmt(last.get("runs_total"))),
                          flush=True)
                    next_sample += args.sample_every
                if now >= next_cross and self.accountant.baseline is not None:
                    cross_checks += 1
                    cross_bad += self.status_cross_check()
                    next_cross += 30
                if now >= next_reload:
                    reload_number += 1
                    broken = args.bad_reload_every > 0 and reload_number % args.bad_reload_every == 0
                    method = "SIGHUP" if reload_number % 2 == 1 else "POST /-/reload"
                    if method in reload_unsupported:
                        self.reloads.append({"n": reload_number, "method": method, "ok": False,
                                             "unsupported": reload_unsupported[method],
                                             "skipped": True})
                    else:
                        g = generation if broken else generation + 1
                        r = self.reload(reload_number, g, broken)
                        if "unsupported" in r:
                            reload_unsupported[method] = r["unsupported"]
                            write_atomically(self.config_path, self.plan.render(generation))
                        elif not broken:
                            generation = g
                        self.reloads.append(r)
                        print("soak: reload %d (%s%s): %s" % (
                            reload_number, method, ", broken config" if broken else "",
                            "ok" if r["ok"] else r.get("unsupported", "FAILED %s" % r)),
                            flush=True)
                    next_reload += args.reload_every
                time.sleep(0.05)
            # Final: settle, read target counts between two scrapes.
            self.final_targets = self.target_cross_check()
        finally:
            self.scraper.stop_event.set()
            self.scraper.join(timeout=60)
            self.stop_daemon()
            self.stop_all()
        self.elapsed = time.time() - start
        self.load_end = os.getloadavg()
        self.cross_bad, self.cross_checks = cross_bad, cross_checks
        self.write_csv()
        return self.report()

    def target_cross_check(self):
        """For stable http checks: runs in a scrape before reading the targets'
        request counts <= requests <= runs in a scrape after, + 1 in flight.
        A run that timed out may have been cancelled before its request left
        (a stalled loop times attempts out before it reads their sockets), so
        the lower bound leaves out the check's timeouts."""
        _, body_a = http_get(self.port, "/metrics")
        a = parse_metrics(body_a.decode())
        _, counts_body = http_get(self.env["http_port"], "/__counts")
        counts = json.loads(counts_body)
        # The hang port's counts are in the same process and map; both ports share it.
        _, body_b = http_get(self.port, "/metrics")
        b = parse_metrics(body_b.decode())
        prefix = {"http_ok": "/ok/", "http_500": "/fail/", "http_slow": "/slow/",
                  "http_hang": "/hang/"}
        checked, bad = 0, []
        for name, kind in self.plan.stable:
            if kind not in prefix:
                continue
            requests = counts.get(prefix[kind] + name, 0)
            ra, rb = Accountant.runs_of(a, name), Accountant.runs_of(b, name)
            if ra is None or rb is None:
                continue
            checked += 1
            timeouts = b["timeouts"].get(name, 0.0)
            if not ra - timeouts <= requests <= rb + 1:
                bad.append((name, kind, ra, requests, rb, timeouts))
        return {"checked": checked, "bad": bad,
                "requests": sum(v for k, v in counts.items()
                                if k.startswith(tuple(prefix.values())))}

    def stop_daemon(self):
        if self.daemon.poll() is None:
            t0 = time.time()
            self.daemon.send_signal(signal.SIGTERM)
            try:
                self.daemon.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                self.daemon.wait()
                self.notes.append("daemon did not stop within 15 s of SIGTERM (killed)")
            self.stop_seconds = time.time() - t0
        else:
            self.stop_seconds = None
        self.exit_code = self.daemon.returncode
        self.log_file.close()

    def stop_all(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()

    # ---- output -------------------------------------------------------------

    def write_csv(self):
        self.csv_path = os.path.join(self.out, "soak.csv")
        cols = ["t", "rss_kb", "fds", "threads", "children", "zombies", "cpu_s", "loop_cpu_s",
                "loop_runq_wait_s", "load1", "scrapes",
                "scrape_p50_ms", "scrape_max_ms", "lateness_p50_ms", "lateness_p99_ms",
                "runs_total", "skipped_total", "timeouts_total", "reloads_ok"]
        with open(self.csv_path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(cols)
            for s in self.samples:
                w.writerow([fmt(s.get(c, "")) for c in cols])

    def report(self):
        acc, args = self.accountant, self.args
        rows = []
        problems = []

        def row(name, value):
            rows.append((name, value))

        row("binary", args.binary + "".join(" " + e for e in args.daemon_env))
        row("checks / interval", "%d / %s (%d stable, %d churn, 1 url-changed)"
            % (args.checks, args.interval, len(self.plan.stable), CHURN_SLOTS))
        kinds = collections.Counter(kind for _, kind in self.plan.stable)
        row("stable checks by kind", ", ".join("%s %d" % (k, kinds[k]) for k, _ in MIX if kinds[k]))
        row("duration", "%.0f s" % self.elapsed)
        row("load average (start -> end)", "%.2f %.2f %.2f -> %.2f %.2f %.2f"
            % (self.load_start + self.load_end))
        if self.samples:
            loads = [s["load1"] for s in self.samples]
            row("load1 over the run (min/median/max)",
                "%.2f / %.2f / %.2f" % (min(loads), sorted(loads)[len(loads) // 2], max(loads)))
            first, last = self.samples[0], self.samples[-1]
            warm = [s for s in self.samples if s["t"] >= min(120, self.elapsed / 4)]
            rss = [s["rss_kb"] for s in self.samples]
            row("RSS KiB (first / after warm-up / max / last)", "%d / %d / %d / %d" % (
                first["rss_kb"], warm[0]["rss_kb"] if warm else rss[0], max(rss), rss[-1]))
            if len(warm) >= 3 and warm[-1]["t"] - warm[0]["t"] >= 300:
                slope = linear_slope([(s["t"], s["rss_kb"]) for s in warm])
                row("RSS trend after warm-up", "%+.0f KiB/hour" % (slope * 3600))
            fds = [s["fds"] for s in self.samples]
            row("fds (first / min / max / last)", "%d / %d / %d / %d"
                % (fds[0], min(fds), max(fds), fds[-1]))
            row("threads (min / max)", "%d / %d" % (min(s["threads"] for s in self.samples),
                                                    max(s["threads"] for s in self.samples)))
            row("children (max, sampled every 0.5 s) / zombies (max)", "%d / %d" % (
                max(self.max_children, max(s["children"] for s in self.samples)),
                max(s["zombies"] for s in self.samples)))
            # A child that exited since the loop last turned is a zombie for a
            # moment; dozens are not.
            if last["zombies"] > 10:
                problems.append("%d unreaped (zombie) children at the end" % last["zombies"])
            cpu = last["cpu_s"] - first["cpu_s"]
            span = last["t"] - first["t"]
            if span > 0:
                row("daemon CPU", "%.1f%% of one core (%.0f s)" % (100 * cpu / span, cpu))
                if "loop_cpu_s" in last:
                    busy = last["loop_cpu_s"] - first["loop_cpu_s"]
                    waiting = last["loop_runq_wait_s"] - first["loop_runq_wait_s"]
                    row("loop thread: on CPU / runnable, waiting for a CPU", "%.1f%% / %.1f%%"
                        % (100 * busy / span, 100 * waiting / span))
        lats = sorted(lat for _, lat in self.scraper.latencies)
        row("scrapes (ok / failed)", "%d / %d" % (len(lats), len(self.scraper.failures)))
        if lats:
            row("scrape latency p50 / p99 / max", "%.1f / %.1f / %.1f ms" % (
                quantile(lats, 0.5) * 1000, quantile(lats, 0.99) * 1000, lats[-1] * 1000))
            row("scrape size", "%d bytes%s" % (self.scraper.bytes_last,
                                                "" if args.no_gzip else " (gzip)"))
        if self.scraper.failures:
            problems.append("%d scrapes failed, first: %s" % (len(self.scraper.failures),
                                                              self.scraper.failures[0][1]))
        if acc.baseline is not None and acc.last is not None:
            lat = bucket_delta(acc.baseline["lateness"], acc.last["lateness"])
            total = lat.get(math.inf, 0)
            row("scheduler lateness p50 / p90 / p99 / p99.9", " / ".join(
                "%.2f ms" % (histogram_quantile(q, lat) * 1000) for q in (0.5, 0.9, 0.99, 0.999)))
            over = lambda bound: total - lat.get(bound, total)
            row("attempts late > 10 ms / > 100 ms / > 1 s", "%d / %d / %d of %d" % (
                over(0.01), over(0.1), over(1.0), total))
            window = acc.window(acc.baseline, acc.last)
            runs = sum(v[0] for v in window.values())
            skipped = sum(v[1] for v in window.values())
            row("accounted window", "%.0f s (first scrape with every check on its phase -> last)"
                % (acc.last["time"] - acc.baseline["time"]))
            row("runs counted (stable checks)", "%d (+%d skipped)" % (runs, skipped))
            lost, doubled, ambiguous = [], [], []
            elapsed_off = []
            for c, (r, sk, by_stamp, by_time) in window.items():
                if by_stamp is not None:
                    diff = r + sk - by_stamp
                    if diff < 0:
                        lost.append((c, -diff))
                    elif diff > 0:
                        doubled.append((c, diff))
                if abs(r + sk - by_time) > 1.5:
                    elapsed_off.append((c, r + sk - by_time))
            # A difference of exactly 1 can also come from one finish time
            # being more than half an interval late (a stalled loop).
            for what, items in (("lost", lost), ("doubled", doubled)):
                row("%s runs (vs own last-run timestamps)" % what,
                    "%d in %d checks (%d checks by exactly 1)" % (
                        sum(n for _, n in items), len(items), sum(1 for _, n in items if n == 1)))
            row("checks off elapsed/interval by > 1", "%d%s" % (len(elapsed_off), (
                " e.g. " + ", ".join("%s %+.1f" % x for x in sorted(elapsed_off)[:5])
                if elapsed_off else "")))
            # Targets that answer at once should never time out: when they do,
            # the daemon's loop (or the machine) stalled for the whole timeout.
            prompt = [c for c, kind in self.plan.stable
                      if kind not in ("http_slow", "http_hang", "exec_sleep")]
            spurious = sum(acc.last["timeouts"].get(c, 0.0) - acc.baseline["timeouts"].get(c, 0.0)
                           for c in prompt)
            expected = sum(acc.last["timeouts"].get(c, 0.0) - acc.baseline["timeouts"].get(c, 0.0)
                           for c, _ in self.plan.stable) - spurious
            row("timeouts: meant to / of prompt targets (stalls)", "%d / %d" % (expected, spurious))
            row("counter resets / vanished series / jumps",
                "%d / %d / %d" % (len(acc.resets), len(acc.vanished), len(acc.jumps)))
            for what, items in (("lost", lost), ("doubled", doubled)):
                if items:
                    problems.append("%s runs: %s" % (what, ", ".join(
                        "%s %d" % x for x in sorted(items, key=lambda x: -x[1])[:10])))
            if elapsed_off:
                problems.append("%d checks' runs differ from elapsed/interval by more than 1"
                                % len(elapsed_off))
            # Jumps are only a hint: after a stall, late runs and the next
            # slot's run finish close together; doubling shows in the exact
            # checks above (timestamps) and below (targets' request counts).
            for what, items in (("counter resets", acc.resets), ("vanished series", acc.vanished)):
                if items:
                    problems.append("%s: %d, first: %s" % (what, len(items), items[:3]))
            # Per reload: doubled or lost runs around each one.
            self.reload_windows(problems, rows)
        else:
            problems.append("no scrape ever had every stable check: no accounting")
        ft = getattr(self, "final_targets", None)
        if ft:
            row("http requests seen by targets vs runs", "%d checks, %d mismatches (%d requests)"
                % (ft["checked"], len(ft["bad"]), ft["requests"]))
            if ft["bad"]:
                problems.append("targets vs /metrics: %s (name, kind, runs before, requests, "
                                "runs after, timeouts)" % ft["bad"][:5])
        row("/status vs /metrics cross-checks", "%d, %d mismatches"
            % (self.cross_checks, len(self.cross_bad)))
        if self.cross_bad:
            problems.append("/status outside its /metrics bracket: %s" % self.cross_bad[:5])
        attempted = [r for r in self.reloads if not r.get("skipped")]
        unsupported = sorted({r["unsupported"] for r in self.reloads if "unsupported" in r})
        for method in ("SIGHUP", "POST /-/reload"):
            rs = [r for r in self.reloads if r["method"] == method]
            if rs:
                row("reloads by %s (ok / total, broken configs)" % method, "%d / %d, %d" % (
                    sum(1 for r in rs if r["ok"]), len(rs), sum(1 for r in rs if r["broken"])))
        final = self.accountant.last
        if final is not None:
            counted = {series.split('"')[1]: value for series, value in final["exporter"].items()
                       if series.startswith("health_exporter_config_reloads_total{")}
            if counted:
                row("health_exporter_config_reloads_total", ", ".join(
                    "%s %d" % kv for kv in sorted(counted.items())))
        mutable = [r["mutable_runs"] for r in attempted if "mutable_runs" in r]
        if mutable:
            kept = sum(1 for a, b in mutable if b >= a)
            row("URL-changed check's runs_total across reloads", "kept in %d of %d, restarted "
                "from 0 in %d" % (kept, len(mutable), len(mutable) - kept))
        applied = [r["applied_after_s"] for r in attempted if "applied_after_s" in r]
        if applied:
            row("reload visible in /metrics after (max)", "%.1f s" % max(applied))
        if unsupported:
            row("reload not supported", "; ".join(unsupported))
        failed = [r for r in attempted if not r["ok"] and "unsupported" not in r]
        if failed:
            problems.append("reloads failed: %s" % [(r["n"], r["method"], r.get("broken"),
                                                     r.get("last_reload_successful"),
                                                     r.get("http_status")) for r in failed])
        kept = [r for r in attempted if r.get("broken") and r.get("ok") and not r.get("kept_old")]
        if kept:
            problems.append("a refused config was applied anyway: %s" % [r["n"] for r in kept])
        if self.heartbeat_errors:
            problems.append("%d heartbeat POSTs failed" % self.heartbeat_errors)
        row("daemon exit (SIGTERM)", "%s in %s" % (
            self.exit_code, "%.2f s" % self.stop_seconds if self.stop_seconds is not None else "-"))
        if self.exit_code not in (0,):
            problems.append("daemon exit code %s" % self.exit_code)
        with open(self.log_path, errors="replace") as f:
            log = f.read()
        levels = collections.Counter(re.findall(r"level=(\w+)", log))
        row("daemon log lines by level", ", ".join("%s %d" % kv for kv in sorted(levels.items())))
        for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:", "Segmentation",
                       "terminate called"):
            if marker in log:
                problems.append("daemon log contains %r" % marker)
        problems += self.notes

        width = max(len(n) for n, _ in rows)
        print()
        print("| %-*s | %s |" % (width, "soak summary", "value"))
        print("|%s|%s|" % ("-" * (width + 2), "-" * 7))
        for name, value in rows:
            print("| %-*s | %s |" % (width, name, value))
        print()
        print("CSV time series: %s" % self.csv_path)
        print("daemon log: %s" % self.log_path)
        if problems:
            print("\nPROBLEMS:")
            for p in problems:
                print("  - " + p)
            return 1
        print("\nno run lost or doubled, no counter reset, /metrics never failed")
        return 0

    def reload_windows(self, problems, rows):
        """Not kept per scrape (too much data): the accountant's jump and
        reset lists already cover single scrapes around each reload."""
        rel = [r for r in self.reloads if r.get("ok")]
        if not rel:
            return
        acc = self.accountant
        near = 0
        for t, _, _, _ in acc.jumps:
            if any(abs(t - r["t"]) < 5 for r in rel):
                near += 1
        rows.append(("jumps within 5 s of a reload", "%d" % near))


def linear_slope(points):
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    den = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / den if den else 0.0


def fmt(v):
    if isinstance(v, float):
        return "%.2f" % v if not math.isnan(v) else ""
    return "" if v is None else str(v)


def parse_seconds(text):
    """'1s', '500ms', '30m', '1h' or a bare number of seconds."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)?", text.strip())
    if not m:
        raise argparse.ArgumentTypeError("not a duration: %r (e.g. 90s, 30m)" % text)
    value = float(m.group(1))
    return value * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[m.group(2)]


def default_binary():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(os.path.dirname(here))
    for build in ("build-soak", "build", "build-main"):
        path = os.path.join(repo, build, "health_exporter")
        if os.access(path, os.X_OK):
            return path
    return os.environ.get("HX_BINARY", "health_exporter")


def main():
    if "--serve-targets" in sys.argv[1:]:
        serve_targets()
        return 0
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--binary", default=os.environ.get("HX_BINARY") or default_binary(),
                   help="health_exporter to run (default: $HX_BINARY, else build-soak/, "
                        "build/ or build-main/ of this repository)")
    p.add_argument("--checks", type=int, default=1000, help="number of checks (default 1000)")
    p.add_argument("--duration", type=parse_seconds, default=parse_seconds("30m"),
                   help="how long to run, e.g. 3m, 30m, 1h (default 30m)")
    p.add_argument("--reload-every", type=parse_seconds, default=60.0,
                   help="seconds between reloads, 0 for none (default 60)")
    p.add_argument("--bad-reload-every", type=int, default=5,
                   help="every n-th reload uses an invalid config, 0 for never (default 5)")
    p.add_argument("--interval", default="1s", help="check interval (default 1s)")
    p.add_argument("--scrape-every", type=parse_seconds, default=1.0, help="default 1s")
    p.add_argument("--sample-every", type=parse_seconds, default=10.0,
                   help="RSS/fd sampling period (default 10s)")
    p.add_argument("--exec-fraction", type=float,
                   help="share of exec checks (true/false/sleep 4:2:1), the rest of the "
                        "difference going to healthy http (default 0.14)")
    p.add_argument("--max-children", type=int, default=1000,
                   help="abort when the daemon has more child processes than this, to keep "
                        "a reaping bug from using up the machine's pids (default 1000)")
    p.add_argument("--daemon-env", action="append", default=[], metavar="NAME=VALUE",
                   help="extra environment for the daemon only (e.g. ASAN_OPTIONS=...); "
                        "repeatable")
    p.add_argument("--no-gzip", action="store_true", help="scrape without Accept-Encoding: gzip")
    p.add_argument("--out", help="directory for the config, daemon log and CSV "
                                 "(default: a new temp dir, kept)")
    args = p.parse_args()
    if not os.access(args.binary, os.X_OK):
        print("soak: no executable at %s (give --binary)" % args.binary, file=sys.stderr)
        return 2
    args.binary = os.path.abspath(args.binary)
    parse_seconds(args.interval)
    soak = Soak(args)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        return soak.run()
    except KeyboardInterrupt:
        print("soak: interrupted", file=sys.stderr)
        soak.stop_all()
        return 2
    except RuntimeError as e:
        print("soak: %s" % e, file=sys.stderr)
        soak.stop_all()
        return 2


if __name__ == "__main__":
    sys.exit(main())
