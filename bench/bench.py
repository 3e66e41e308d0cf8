#!/usr/bin/env python3
"""health_exporter against prometheus-blackbox-exporter, side by side, on 127.0.0.1.

Every figure is measured in this one run, tool runs interleaved, so the ratios
hold on a shared, noisy machine even when absolute times drift. See
bench/README.md for what each figure means and how it is measured.

Usage: bench/bench.py --binary PATH [--quick | --full] [--only PHASE,...]
(bench/run.sh installs what is missing, builds Release and calls this.)
"""

import argparse
import atexit
import base64
import concurrent.futures
import ctypes
import gzip
import http.client
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
TICK = os.sysconf("SC_CLK_TCK")

# --------------------------------------------------------------------------
# Processes


class Procs:
    """Every process the bench starts; all are killed at exit."""

    def __init__(self):
        self.procs = []
        atexit.register(self.kill_all)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._on_signal)

    def _on_signal(self, signum, _frame):
        self.kill_all()
        sys.exit(128 + signum)

    def spawn(self, argv, log_path, **kw):
        log = open(log_path, "ab")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             **kw)
        log.close()
        self.procs.append(p)
        return p

    def stop(self, p, grace=5.0):
        if p is None:
            return
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(grace)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if p in self.procs:
            self.procs.remove(p)

    def kill_all(self):
        # SIGTERM first: nginx's master stops its workers only when asked
        # (a SIGKILLed master leaves them running).
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        deadline = time.monotonic() + 5
        for p in self.procs:
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs.clear()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process {proc.args[0]} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.005)
    raise RuntimeError(f"port {port} not listening after {timeout}s")


def cpu_seconds(pid):
    """utime + stime of a process, from /proc (10 ms ticks)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def minor_faults(pid):
    """minflt of a process, from /proc (copy-on-write faults after a fork land here)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[7])


def tree_cpu_seconds(pid):
    """CPU of a process and its direct children (nginx's master and workers)."""
    total = cpu_seconds(pid)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / TICK
    return total


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def http_get(port, path, accept_gzip=False, timeout=30.0, accept=None):
    """Returns (status, body bytes as sent, seconds, content encoding)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Accept-Encoding": "gzip"} if accept_gzip else {}
    if accept:
        headers["Accept"] = accept
    t0 = time.perf_counter()
    conn.request("GET", path, headers=headers)
    resp = conn.getresponse()
    body = resp.read()
    elapsed = time.perf_counter() - t0
    encoding = resp.getheader("Content-Encoding", "")
    conn.close()
    return resp.status, body, elapsed, encoding


# --------------------------------------------------------------------------
# Prometheus text parsing (only what the bench needs)

SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)')


def samples(text, name):
    """Yields (labels string, value) of every sample of metric `name`."""
    prefix = name
    for line in text.splitlines():
        if not line.startswith(prefix) or line.startswith("#"):
            continue
        m = SAMPLE_RE.match(line)
        if m and m.group(1) == name:
            yield (m.group(2) or ""), float(m.group(3))


def metric_sum(text, name, label_filter=None):
    return sum(v for labels, v in samples(text, name)
               if label_filter is None or label_filter in labels)


LE_RE = re.compile(r'le="([^"]+)"')


def histogram(text, name, label_filter=None):
    """{upper bound: cumulative count} summed over every series of `name`."""
    out = {}
    for labels, v in samples(text, name + "_bucket"):
        if label_filter is not None and label_filter not in labels:
            continue
        le = float(LE_RE.search(labels).group(1))
        out[le] = out.get(le, 0.0) + v
    return out


def hist_delta(after, before):
    return {le: after[le] - before.get(le, 0.0) for le in after}


def quantile(hist, q):
    """histogram_quantile() as Prometheus computes it, from cumulative buckets."""
    bounds = sorted(hist)
    if not bounds:
        return float("nan")
    total = hist[bounds[-1]]
    if total <= 0:
        return float("nan")
    rank = q * total
    prev_bound, prev_count = 0.0, 0.0
    for b in bounds:
        c = hist[b]
        if c >= rank:
            if b == float("inf"):
                return prev_bound
            if c == prev_count:
                return b
            return prev_bound + (b - prev_bound) * (rank - prev_count) / (c - prev_count)
        prev_bound, prev_count = b, c
    return bounds[-1]


def fraction_le(hist, bound):
    bounds = sorted(hist)
    total = hist[bounds[-1]] if bounds else 0
    if total <= 0:
        return float("nan")
    return hist.get(bound, 0.0) / total


class NetNamespace:
    """A network namespace (`ip netns add`) that the bench process enters while the
    `with` block runs: processes spawned meanwhile are born in it, and the bench's
    own sockets (free_port, wait_port, http_get) are opened in it. Only loopback is
    up. Left and deleted on exit, however the block ends. The bench is
    single-threaded here, so setns on the calling thread moves all of it."""

    CLONE_NEWNET = 0x40000000

    def __init__(self, name):
        self.name = name
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.home = None

    def _setns(self, fd):
        if self.libc.setns(fd, self.CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns failed")

    def exec(self, argv):
        subprocess.run(["ip", "netns", "exec", self.name, *argv], check=True)

    def __enter__(self):
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        atexit.register(subprocess.run, ["ip", "netns", "del", self.name],
                        stderr=subprocess.DEVNULL)
        self.exec(["ip", "link", "set", "lo", "up"])
        self.home = os.open("/proc/self/ns/net", os.O_RDONLY)
        fd = os.open(f"/run/netns/{self.name}", os.O_RDONLY)
        try:
            self._setns(fd)
        finally:
            os.close(fd)
        return self

    def __exit__(self, *exc):
        self._setns(self.home)
        os.close(self.home)
        subprocess.run(["ip", "netns", "del", self.name], stderr=subprocess.DEVNULL)
        return False


# --------------------------------------------------------------------------
# The tools


class Bench:
    def __init__(self, args):
        self.args = args
        self.procs = Procs()
        self.work = tempfile.mkdtemp(prefix="hx-bench-")
        atexit.register(lambda: shutil.rmtree(self.work, ignore_errors=True))
        self.results = {}
        self.notes = []
        self.nginx = None
        self.nginx_port = None
        self.hang = None
        self.hang_port = None
        self.knot = None
        self.knot_port = None
        self.seq = 0
        self.last_ready_cpu = float("nan")

    def path(self, name):
        self.seq += 1
        return os.path.join(self.work, f"{self.seq:03d}-{name}")

    def log(self, msg):
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    # ---- targets

    def start_nginx(self):
        prefix = self.path("nginx")
        os.makedirs(os.path.join(prefix, "logs"))
        self.nginx_port = free_port()
        conf = os.path.join(prefix, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""daemon off;
worker_processes 2;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {prefix}/tmp;
  proxy_temp_path {prefix}/tmp;
  fastcgi_temp_path {prefix}/tmp;
  uwsgi_temp_path {prefix}/tmp;
  scgi_temp_path {prefix}/tmp;
  server {{
    listen 127.0.0.1:{self.nginx_port} backlog=4096;
    location = /health {{ return 200 "ok"; }}
  }}
}}
""")
        self.nginx = self.procs.spawn(["nginx", "-p", prefix, "-c", conf], prefix + "/out.log")
        wait_port(self.nginx_port, self.nginx)

    def start_hang(self):
        p = subprocess.Popen([sys.executable, os.path.join(HERE, "hang_server.py")],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.procs.procs.append(p)
        self.hang_port = int(p.stdout.readline())
        self.hang = p

    # ---- health_exporter

    def hx_config(self, checks, interval="5s", timeout="2s", buckets=None, extra_global=()):
        """checks: list of (name, kind, target[, interval]) with kind http, tcp or exec
        (target: argv[0]); extra_global: more `key: value` lines under global."""
        lines = ["global:", f"  interval: {interval}", f"  timeout: {timeout}"]
        lines += [f"  {line}" for line in extra_global]
        if buckets:
            lines.append("  duration_buckets: [" + ", ".join(str(b) for b in buckets) + "]")
        lines.append("checks:")
        for name, kind, target, *interval_of in checks:
            lines.append(f"  - name: {name}")
            if interval_of:  # (name, kind, target, interval): its own interval
                lines.append(f"    interval: {interval_of[0]}")
            if kind == "http":
                lines.append(f"    http: {{url: \"{target}\"}}")
            elif kind == "exec":
                lines.append(f"    exec: {{command: [\"{target}\"]}}")
            elif kind == "dns":  # target: the server; the name is the bench zone's
                lines.append(f"    dns: {{name: {DNS_NAME}, type: A, server: \"{target}\"}}")
            elif kind == "icmp":  # one echo request per probe, as blackbox's prober sends
                lines.append(f"    icmp: {{host: \"{target}\", count: 1}}")
            else:
                lines.append(f"    tcp: {{address: \"{target}\"}}")
        return "\n".join(lines) + "\n"

    def http_checks(self, n, prefix="h", port=None):
        port = port or self.nginx_port
        return [(f"{prefix}{i:05d}", "http", f"http://127.0.0.1:{port}/health") for i in range(n)]

    def tcp_checks(self, n, prefix="t"):
        return [(f"{prefix}{i:05d}", "tcp", f"127.0.0.1:{self.nginx_port}") for i in range(n)]

    def dns_checks(self, n, prefix="d"):
        return [(f"{prefix}{i:05d}", "dns", f"127.0.0.1:{self.knot_port}") for i in range(n)]

    def icmp_checks(self, n, prefix="i"):
        return [(f"{prefix}{i:05d}", "icmp", "127.0.0.1") for i in range(n)]

    def start_knot(self):
        """An authoritative knotd for the bench zone (the same server for both tools)."""
        if self.knot is not None:
            return
        d = self.path("knot")
        os.makedirs(d)
        self.knot_port = free_port()
        zone = os.path.join(d, "bench.test.zone")
        with open(zone, "w") as f:
            f.write("$ORIGIN bench.test.\n$TTL 300\n"
                    "@ IN SOA ns1.bench.test. hostmaster.bench.test. 1 3600 900 604800 60\n"
                    "@ IN NS ns1.bench.test.\nns1 IN A 127.0.0.1\napi IN A 10.1.0.1\n")
        conf = os.path.join(d, "knot.conf")
        with open(conf, "w") as f:
            f.write(f"server:\n    listen: 127.0.0.1@{self.knot_port}\n    rundir: {d}\n"
                    f"log:\n  - target: stderr\n    any: warning\n"
                    f"database:\n    storage: {d}\n"
                    f"zone:\n  - domain: bench.test\n    file: {zone}\n")
        self.knot = self.procs.spawn(["knotd", "-c", conf], os.path.join(d, "knotd.log"))
        wait_port(self.knot_port, self.knot)  # TCP listening; UDP is bound with it

    def write(self, name, text):
        p = self.path(name)
        with open(p, "w") as f:
            f.write(text)
        return p

    def start_hx(self, config_text, binary=None, extra_args=()):
        """Starts the daemon; returns (proc, port, seconds until it logged "started")."""
        cfg = self.write("hx.yml", config_text)
        port = free_port()
        storage = self.path("hx-data")
        logp = self.path("hx.log")
        open(logp, "w").close()
        t0 = time.perf_counter()
        p = self.procs.spawn([binary or self.args.binary, f"--config.file={cfg}",
                              f"--web.listen-address=127.0.0.1:{port}",
                              f"--storage.path={storage}", *extra_args], logp)
        ready = None
        deadline = t0 + 60
        with open(logp, "rb") as f:
            buf = b""
            while time.perf_counter() < deadline:
                chunk = f.read()
                if chunk:
                    buf += chunk
                    if b"msg=started" in buf:
                        ready = time.perf_counter() - t0
                        self.last_ready_cpu = cpu_seconds(p.pid)
                        break
                    buf = buf[-4096:]
                elif p.poll() is not None:
                    raise RuntimeError(f"health_exporter exited with {p.returncode}; see {logp}")
                else:
                    time.sleep(0.001)
        if ready is None:
            raise RuntimeError("health_exporter did not start within 60s")
        return p, port, ready

    def hx_metrics(self, port):
        status, body, _, _ = http_get(port, "/metrics")
        if status != 200:
            raise RuntimeError(f"/metrics answered {status}")
        return body.decode()

    # ---- blackbox and Prometheus

    def start_blackbox(self, timeout="2s"):
        cfg = self.write("blackbox.yml", f"""modules:
  http_2xx:
    prober: http
    timeout: {timeout}
    http:
      preferred_ip_protocol: ip4
  tcp_connect:
    prober: tcp
    timeout: {timeout}
    tcp:
      preferred_ip_protocol: ip4
  dns_a:
    prober: dns
    timeout: {timeout}
    dns:
      query_name: {DNS_NAME}
      query_type: A
      transport_protocol: udp
      preferred_ip_protocol: ip4
      recursion_desired: true
  icmp:
    prober: icmp
    timeout: {timeout}
    icmp:
      preferred_ip_protocol: ip4
""")
        port = free_port()
        t0 = time.perf_counter()
        p = self.procs.spawn(["prometheus-blackbox-exporter", f"--config.file={cfg}",
                              f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                             self.path("blackbox.log"))
        wait_port(port, p)
        return p, port, time.perf_counter() - t0

    def start_prometheus(self, jobs, extra_args=()):
        """jobs: list of scrape_config dicts (rendered as JSON, which is YAML)."""
        cfg = self.write("prometheus.yml", json.dumps({
            "global": {"scrape_interval": "5s", "scrape_timeout": "4s"},
            "scrape_configs": jobs}, indent=1))
        port = free_port()
        p = self.procs.spawn(["prometheus", f"--config.file={cfg}",
                              f"--storage.tsdb.path={self.path('tsdb')}",
                              f"--web.listen-address=127.0.0.1:{port}",
                              "--storage.tsdb.retention.time=1h", "--log.level=warn",
                              *extra_args],
                             self.path("prometheus.log"))
        wait_port(port, p)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if http_get(port, "/-/ready", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.05)
        return p, port

    def blackbox_job(self, bb_port, module, targets, interval="5s"):
        # The blackbox documentation's relabelling; one static config per
        # target with an `n` label so equal addresses stay distinct targets.
        return {
            "job_name": "blackbox", "metrics_path": "/probe", "params": {"module": [module]},
            "scrape_interval": interval, "scrape_timeout": "4s",
            "static_configs": [{"targets": [t], "labels": {"n": str(i)}}
                               for i, t in enumerate(targets)],
            "relabel_configs": [
                {"source_labels": ["__address__"], "target_label": "__param_target"},
                {"source_labels": ["__param_target"], "target_label": "instance"},
                {"target_label": "__address__", "replacement": f"127.0.0.1:{bb_port}"},
            ]}

    def prom_query(self, port, query, at=None, raw=False):
        path = "/api/v1/query?query=" + urllib.parse.quote(query)
        if at is not None:
            path += f"&time={at:.3f}"
        status, body, _, _ = http_get(port, path)
        data = json.loads(body)
        if raw:
            return data
        if data.get("status") != "success" or not data["data"]["result"]:
            return float("nan")
        return float(data["data"]["result"][0]["value"][1])

    # ----------------------------------------------------------------------
    # Phases

    def measure_deployed(self, tool, kind, n, warm, window):
        """One deployed-shape run: returns dict with probes, exporter and Prometheus CPU."""
        interval = 5
        bb = prom = hx = None
        try:
            if tool == "hx":
                checks = {"http": self.http_checks, "tcp": self.tcp_checks,
                          "dns": self.dns_checks, "icmp": self.icmp_checks}[kind](n)
                hx, hx_port, _ = self.start_hx(self.hx_config(checks))
                prom, prom_port = self.start_prometheus([{
                    "job_name": "hx", "static_configs": [{"targets": [f"127.0.0.1:{hx_port}"]}]}])
                exporter = hx
            else:
                bb, bb_port, _ = self.start_blackbox()
                if kind == "http":
                    targets = [f"http://127.0.0.1:{self.nginx_port}/health"] * n
                    module = "http_2xx"
                elif kind == "dns":
                    targets = [f"127.0.0.1:{self.knot_port}"] * n
                    module = "dns_a"
                elif kind == "icmp":
                    targets = ["127.0.0.1"] * n
                    module = "icmp"
                else:
                    targets = [f"127.0.0.1:{self.nginx_port}"] * n
                    module = "tcp_connect"
                prom, prom_port = self.start_prometheus(
                    [self.blackbox_job(bb_port, module, targets)])
                exporter = bb
            time.sleep(warm)
            count0 = (metric_sum(self.hx_metrics(hx_port), "health_check_runs_total")
                      if tool == "hx" else 0)
            e0, p0, t0 = cpu_seconds(exporter.pid), cpu_seconds(prom.pid), time.monotonic()
            wall0 = time.time()
            time.sleep(window)
            e1, p1, t1 = cpu_seconds(exporter.pid), cpu_seconds(prom.pid), time.monotonic()
            wall1 = time.time()
            if tool == "hx":
                count1 = metric_sum(self.hx_metrics(hx_port), "health_check_runs_total")
            else:
                # Every scrape is one probe: count the samples of `up` whose
                # timestamps fall in the window (first scrapes included).
                time.sleep(5)  # let scrapes that started in the window land
                count1 = self.prom_query(
                    prom_port, f'sum(count_over_time(up{{job="blackbox"}}[{(wall1 - wall0) * 1000:.0f}ms]))',
                    at=wall1)
            probes = count1 - count0
            ok = float("nan")
            if tool == "bb":
                ok = self.prom_query(prom_port, "avg(probe_success)")
            else:
                text = self.hx_metrics(hx_port)
                healthy = metric_sum(text, "health_check_runs_total", 'status="healthy"')
                ok = healthy / max(1.0, metric_sum(text, "health_check_runs_total"))
            return {"probes": probes, "exporter_cpu": e1 - e0, "prom_cpu": p1 - p0,
                    "seconds": t1 - t0, "expected": n / interval * (t1 - t0), "ok": ok}
        finally:
            self.procs.stop(prom)
            self.procs.stop(hx)
            self.procs.stop(bb)

    def phase_cpu(self):
        a = self.args
        n = 1000  # 200 probes/s at a 5 s interval
        reps = 1 if a.quick else 2
        window = 10 if a.quick else 20
        for kind in ("http", "tcp"):
            acc = {t: {"probes": 0, "exporter_cpu": 0, "prom_cpu": 0} for t in ("hx", "bb")}
            for rep in range(reps):
                order = ("hx", "bb") if rep % 2 == 0 else ("bb", "hx")
                for tool in order:
                    r = self.measure_deployed(tool, kind, n, warm=10, window=window)
                    self.log(f"cpu {kind} {tool}: {r['probes']:.0f} probes "
                             f"(expected {r['expected']:.0f}, success {r['ok']:.3f}), "
                             f"exporter {r['exporter_cpu']:.2f}s, prometheus {r['prom_cpu']:.2f}s")
                    for k in acc[tool]:
                        acc[tool][k] += r[k]
            for tool in ("hx", "bb"):
                p = max(acc[tool]["probes"], 1)
                self.results[f"cpu_{kind}_{tool}"] = acc[tool]["exporter_cpu"] / p * 1e6
                self.results[f"sys_{kind}_{tool}"] = (
                    (acc[tool]["exporter_cpu"] + acc[tool]["prom_cpu"]) / p * 1e6)

    def phase_dns(self):
        """DNS: 1,000 A queries every 5 s (200 probes/s) against one knotd, each tool
        deployed (with its Prometheus), interleaved: CPU per probe."""
        a = self.args
        self.start_knot()
        n = 1000
        reps = 1 if a.quick else 2
        window = 10 if a.quick else 20
        acc = {t: {"probes": 0, "exporter_cpu": 0, "prom_cpu": 0} for t in ("hx", "bb")}
        for rep in range(reps):
            order = ("hx", "bb") if rep % 2 == 0 else ("bb", "hx")
            for tool in order:
                r = self.measure_deployed(tool, "dns", n, warm=10, window=window)
                self.log(f"dns {tool}: {r['probes']:.0f} probes "
                         f"(expected {r['expected']:.0f}, success {r['ok']:.3f}), "
                         f"exporter {r['exporter_cpu']:.2f}s, prometheus {r['prom_cpu']:.2f}s")
                for k in acc[tool]:
                    acc[tool][k] += r[k]
        for tool in ("hx", "bb"):
            p = max(acc[tool]["probes"], 1)
            self.results[f"cpu_dns_{tool}"] = acc[tool]["exporter_cpu"] / p * 1e6
            self.results[f"sys_dns_{tool}"] = (
                (acc[tool]["exporter_cpu"] + acc[tool]["prom_cpu"]) / p * 1e6)
            self.results[f"probes_dns_{tool}"] = acc[tool]["probes"]

    def phase_icmp(self):
        """ICMP: 1,000 pings of 127.0.0.1 every 5 s (200 probes/s), one echo request per
        probe, each tool deployed (with its Prometheus), interleaved: CPU per probe.
        Everything of this phase (both tools, both Prometheus, the bench's own
        requests) runs in a network namespace of the bench's own with only loopback up,
        so no packet can leave it, and with net.ipv4.ping_group_range = "0 0" there
        (per namespace) so that the daemon's unprivileged ICMP sockets work as root's
        group; the machine's own setting is not touched."""
        a = self.args
        n = 1000
        reps = 1 if a.quick else 2
        window = 10 if a.quick else 20
        acc = {t: {"probes": 0, "exporter_cpu": 0, "prom_cpu": 0} for t in ("hx", "bb")}
        loads = []
        with NetNamespace(f"hx-bench-icmp-{os.getpid()}") as ns:
            ns.exec(["sysctl", "-q", "-w", "net.ipv4.ping_group_range=0 0"])
            for rep in range(reps):
                order = ("hx", "bb") if rep % 2 == 0 else ("bb", "hx")
                for tool in order:
                    r = self.measure_deployed(tool, "icmp", n, warm=10, window=window)
                    load = os.getloadavg()[0]
                    loads.append(load)
                    self.log(f"icmp {tool}: {r['probes']:.0f} probes "
                             f"(expected {r['expected']:.0f}, success {r['ok']:.3f}), "
                             f"exporter {r['exporter_cpu']:.2f}s, prometheus {r['prom_cpu']:.2f}s, "
                             f"{r['exporter_cpu'] / max(r['probes'], 1) * 1e6:.0f} us/probe, "
                             f"load {load:.1f}")
                    for k in acc[tool]:
                        acc[tool][k] += r[k]
        for tool in ("hx", "bb"):
            p = max(acc[tool]["probes"], 1)
            self.results[f"cpu_icmp_{tool}"] = acc[tool]["exporter_cpu"] / p * 1e6
            self.results[f"sys_icmp_{tool}"] = (
                (acc[tool]["exporter_cpu"] + acc[tool]["prom_cpu"]) / p * 1e6)
            self.results[f"probes_icmp_{tool}"] = acc[tool]["probes"]
        self.results["load_icmp"] = f"{min(loads):.1f}-{max(loads):.1f}"
        self.log(f"icmp: load average {self.results['load_icmp']} during the windows")

    def phase_floor(self):
        """nginx and wrk CPU per new-connection request: the floor."""
        url = f"http://127.0.0.1:{self.nginx_port}/health"
        n0 = tree_cpu_seconds(self.nginx.pid)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = subprocess.run(["wrk", "-t1", "-c4", "-d5s", "-H", "Connection: close", url],
                             capture_output=True, text=True).stdout
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        n1 = tree_cpu_seconds(self.nginx.pid)
        m = re.search(r"(\d+) requests in", out)
        reqs = int(m.group(1)) if m else 0
        wrk_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if reqs:
            self.results["floor_wrk"] = wrk_cpu / reqs * 1e6
            self.results["floor_nginx"] = (n1 - n0) / reqs * 1e6
        self.log(f"floor: {reqs} requests, wrk {wrk_cpu:.2f}s, nginx {n1 - n0:.2f}s")

    def hx_step(self, n, warm, window):
        """n HTTP checks at a 1 s interval, no Prometheus: runs/s, lateness, CPU."""
        p = None
        try:
            p, port, _ = self.start_hx(self.hx_config(self.http_checks(n), "1s", "1s"))
            time.sleep(warm)
            m0 = self.hx_metrics(port)
            c0, t0 = cpu_seconds(p.pid), time.monotonic()
            time.sleep(window)
            c1, t1 = cpu_seconds(p.pid), time.monotonic()
            m1 = self.hx_metrics(port)
            runs = metric_sum(m1, "health_check_runs_total") - metric_sum(m0, "health_check_runs_total")
            skipped = (metric_sum(m1, "health_check_skipped_runs_total") -
                       metric_sum(m0, "health_check_skipped_runs_total"))
            late = hist_delta(histogram(m1, "health_exporter_scheduler_lateness_seconds"),
                              histogram(m0, "health_exporter_scheduler_lateness_seconds"))
            return {"rate": runs / (t1 - t0), "skipped": skipped, "p99": quantile(late, 0.99),
                    "cores": (c1 - c0) / (t1 - t0), "cpu_per_run": (c1 - c0) / max(runs, 1)}
        finally:
            self.procs.stop(p)

    def phase_ceiling(self):
        a = self.args
        window = 5 if a.quick else 8
        best = None
        last_fail = None
        steps = [500, 1000, 2000, 4000, 6000, 8000, 11000, 15000, 20000]
        for n in steps:
            r = self.hx_step(n, warm=3, window=window)
            passed = r["p99"] <= 0.05 and r["skipped"] == 0 and r["rate"] >= 0.97 * n
            self.log(f"ceiling hx {n}/s: {r['rate']:.0f} runs/s, p99 {r['p99'] * 1e3:.1f} ms, "
                     f"skipped {r['skipped']:.0f}, {r['cores']:.2f} cores, "
                     f"{r['cpu_per_run'] * 1e6:.0f} us/run -> {'ok' if passed else 'FAIL'}")
            if passed:
                best = (n, r)
            else:
                last_fail = n
                break
        if best and last_fail and not a.quick:
            mid = (best[0] + last_fail) // 2
            r = self.hx_step(mid, warm=3, window=window)
            passed = r["p99"] <= 0.05 and r["skipped"] == 0 and r["rate"] >= 0.97 * mid
            self.log(f"ceiling hx {mid}/s: {r['rate']:.0f} runs/s, p99 {r['p99'] * 1e3:.1f} ms, "
                     f"skipped {r['skipped']:.0f} -> {'ok' if passed else 'FAIL'}")
            if passed:
                best = (mid, r)
        if best:
            self.results["ceiling_hx"] = best[1]["rate"]
            self.results["sat_cpu_hx"] = best[1]["cpu_per_run"] * 1e6
        # blackbox: driven flat out by wrk (keep-alive, 16 connections), no
        # Prometheus: the most generous setting for it.
        bb = None
        try:
            bb, bb_port, _ = self.start_blackbox()
            for module, target in (("http_2xx", f"http://127.0.0.1:{self.nginx_port}/health"),
                                   ("tcp_connect", f"127.0.0.1:{self.nginx_port}")):
                url = (f"http://127.0.0.1:{bb_port}/probe?module={module}&target=" +
                       urllib.parse.quote(target, safe=""))
                c0 = cpu_seconds(bb.pid)
                out = subprocess.run(["wrk", "-t2", "-c16", f"-d{window}s", url],
                                     capture_output=True, text=True).stdout
                c1 = cpu_seconds(bb.pid)
                m = re.search(r"(\d+) requests in ([\d.]+)s", out)
                reqs, secs = (int(m.group(1)), float(m.group(2))) if m else (0, 1.0)
                kind = "http" if module == "http_2xx" else "tcp"
                self.results[f"ceiling_bb_{kind}"] = reqs / secs
                self.results[f"sat_cpu_bb_{kind}"] = (c1 - c0) / max(reqs, 1) * 1e6
                self.log(f"ceiling bb {kind}: {reqs / secs:.0f} probes/s, "
                         f"{(c1 - c0) / secs:.2f} cores, {(c1 - c0) / max(reqs, 1) * 1e6:.0f} us/probe")
        finally:
            self.procs.stop(bb)

    def phase_scale(self):
        a = self.args
        n = 10000
        window = 300 if a.full else (30 if a.quick else 60)
        hx = prom = None
        try:
            hx, port, ready = self.start_hx(self.hx_config(self.http_checks(n)))
            prom, prom_port = self.start_prometheus([{
                "job_name": "hx", "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}])
            time.sleep(7)
            m0 = self.hx_metrics(port)
            c0, t0 = cpu_seconds(hx.pid), time.monotonic()
            rss_max = 0
            while time.monotonic() < t0 + window:
                rss_max = max(rss_max, rss_bytes(hx.pid))
                time.sleep(1)
            c1, t1 = cpu_seconds(hx.pid), time.monotonic()
            m1 = self.hx_metrics(port)
            runs = metric_sum(m1, "health_check_runs_total") - metric_sum(m0, "health_check_runs_total")
            skipped = (metric_sum(m1, "health_check_skipped_runs_total") -
                       metric_sum(m0, "health_check_skipped_runs_total"))
            late = hist_delta(histogram(m1, "health_exporter_scheduler_lateness_seconds"),
                              histogram(m0, "health_exporter_scheduler_lateness_seconds"))
            r = self.results
            r["scale_window"] = t1 - t0
            r["scale_rate"] = runs / (t1 - t0)
            r["scale_lost"] = max(0.0, 1 - runs / (n / 5 * (t1 - t0)))
            r["scale_cores"] = (c1 - c0) / (t1 - t0)
            r["scale_rss"] = rss_max
            r["scale_skipped"] = skipped
            r["scale_p99"] = quantile(late, 0.99)
            r["scale_le10"] = fraction_le(late, 0.01)
            self.log(f"scale: {runs / (t1 - t0):.0f} runs/s, {r['scale_cores']:.3f} cores, "
                     f"RSS {rss_max / 2**20:.0f} MB, skipped {skipped:.0f}, "
                     f"lateness p99 {r['scale_p99'] * 1e3:.1f} ms ({r['scale_le10'] * 100:.2f}% <= 10 ms)")
            # Scrapes while the checks run.
            plain, zipped = [], []
            budget = time.monotonic() + 60  # a slow render must not stall the bench
            for _ in range(5 if a.quick else 10):
                if plain and time.monotonic() > budget:
                    break
                status, body, secs, enc = http_get(port, "/metrics")
                plain.append((secs, len(body)))
                status, zbody, zsecs, zenc = http_get(port, "/metrics", accept_gzip=True)
                zipped.append((zsecs, len(zbody), zenc))
                time.sleep(0.3)
            r["render_p50"] = statistics.median(s for s, _ in plain)
            r["render_gz_p50"] = statistics.median(s for s, _, _ in zipped)
            r["bytes_per_check"] = statistics.median(b for _, b in plain) / n
            r["gz_bytes_per_check"] = statistics.median(b for _, b, _ in zipped) / n
            r["gzip_used"] = all(e == "gzip" for _, _, e in zipped)
            r["prom_scrape_hx"] = self.prom_query(
                prom_port, 'avg_over_time(scrape_duration_seconds{job="hx"}[5m])')
            self.log(f"render: plain p50 {r['render_p50'] * 1e3:.1f} ms, gzip p50 "
                     f"{r['render_gz_p50'] * 1e3:.1f} ms (gzip used: {r['gzip_used']}), "
                     f"{r['bytes_per_check']:.0f} B/check plain, {r['gz_bytes_per_check']:.0f} B/check gzip, "
                     f"Prometheus scrape_duration {r['prom_scrape_hx'] * 1e3:.1f} ms")
        finally:
            self.procs.stop(prom)
            self.procs.stop(hx)

    # The Accept headers of figure 4's formats: what Prometheus 2.42 sends with
    # native histograms (protobuf first) and without (OpenMetrics first); none
    # for text 0.0.4.
    FORMATS = (
        ("text", None, "text/plain"),
        ("openmetrics", "application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
         "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
         "application/openmetrics-text"),
        ("protobuf", "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
         "encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
         "application/vnd.google.protobuf"),
    )

    def scrape_formats(self, binary, label, n, rounds):
        """One daemon with n HTTP checks: /metrics p50 and bytes per check per format, plain
        and gzip, and the lateness p99 while the scrapes run."""
        hx = None
        try:
            hx, port, _ = self.start_hx(self.hx_config(self.http_checks(n)), binary=binary)
            # Past the start window (10 s): every check has run, the first-run burst is over.
            time.sleep(12)
            m0 = self.hx_metrics(port)
            keys = [(name, accept, expect, gz) for name, accept, expect in self.FORMATS
                    for gz in (False, True)]
            times = {k: [] for k in keys}
            sizes = {k: [] for k in keys}
            served = {k: True for k in keys}
            # Formats interleaved round by round, so drift hits them alike.
            for _ in range(rounds):
                for key in keys:
                    name, accept, expect, gz = key
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                    headers = {"Accept-Encoding": "gzip"} if gz else {}
                    if accept:
                        headers["Accept"] = accept
                    t0 = time.perf_counter()
                    conn.request("GET", "/metrics", headers=headers)
                    resp = conn.getresponse()
                    body = resp.read()
                    times[key].append(time.perf_counter() - t0)
                    sizes[key].append(len(body))
                    served[key] = served[key] and resp.getheader("Content-Type", "").startswith(expect)
                    conn.close()
            out = {}
            for key in keys:
                name, _, _, gz = key
                out[f"{name}{'_gz' if gz else ''}"] = (statistics.median(times[key]),
                                                       statistics.median(sizes[key]) / n,
                                                       served[key])
            m1 = self.hx_metrics(port)
            late = hist_delta(histogram(m1, "health_exporter_scheduler_lateness_seconds"),
                              histogram(m0, "health_exporter_scheduler_lateness_seconds"))
            out["late_p99"] = quantile(late, 0.99)
            for key, value in out.items():
                if key == "late_p99":
                    continue
                secs, per_check, served = value
                self.log(f"formats {label} {key}: p50 {secs * 1e3:.1f} ms, {per_check:.0f} B/check"
                         + ("" if served else " (format not served: answered another)"))
            self.log(f"formats {label}: lateness p99 while scraping {out['late_p99'] * 1e3:.1f} ms")
            return out
        finally:
            self.procs.stop(hx)

    def scrape_costs(self, binary, n, window):
        """Figure 4, what a scrape costs the daemon as deployed: n HTTP checks at 5 s with
        native histograms only in protobuf (`duration_buckets_in_protobuf: false`).
        Bytes and series per check of one protobuf scrape (decoded by
        protobuf_families.py), then windows without a scraper and with a Prometheus 2.42
        scraping every 5 s, by default Accept (OpenMetrics) and with
        --enable-feature=native-histograms (protobuf), interleaved (idle om pb idle pb om):
        daemon cores, cores of the web threads (civetweb-*: render, gzip, socket writes),
        lateness p99, Prometheus' scrape_duration_seconds and its CPU per scrape."""
        import protobuf_families
        hx = None
        out = {}
        try:
            hx, port, _ = self.start_hx(self.hx_config(
                self.http_checks(n), extra_global=["duration_buckets_in_protobuf: false"]),
                binary=binary)
            time.sleep(12)
            pb_accept = self.FORMATS[2][1]
            plain, zipped = [], []
            for _ in range(3):
                _, body, _, _ = http_get(port, "/metrics", accept=pb_accept)
                plain.append(body)
                _, zbody, _, enc = http_get(port, "/metrics", accept=pb_accept, accept_gzip=True)
                zipped.append(len(zbody) if enc == "gzip" else float("nan"))
            fams = protobuf_families.decode(memoryview(plain[-1]))
            per_check = [f for f in fams if f["checks"]]
            out["pb_native_bytes"] = statistics.median(len(b) for b in plain) / n
            out["pb_native_gz_bytes"] = statistics.median(zipped) / n
            out["pb_native_series"] = sum(f["series"] for f in per_check) / n
            out["pb_native_families"] = {
                f["name"]: {"series": f["series"] / n, "bytes": f["bytes"] / n,
                            "labels": f["label_bytes"] / n, "classic": f["classic_bytes"] / n,
                            "native": f["native_bytes"] / n, "exemplar": f["exemplar_bytes"] / n,
                            "created": f["created_bytes"] / n}
                for f in fams}
            self.log(f"protobuf, native only: {out['pb_native_bytes']:.0f} B/check plain, "
                     f"{out['pb_native_gz_bytes']:.0f} B/check gzip, "
                     f"{out['pb_native_series']:.2f} series per check")

            def web_cpu():
                total = 0.0
                for task in os.listdir(f"/proc/{hx.pid}/task"):
                    try:
                        with open(f"/proc/{hx.pid}/task/{task}/comm") as f:
                            if not f.read().startswith("civetweb"):
                                continue
                        with open(f"/proc/{hx.pid}/task/{task}/stat") as f:
                            fields = f.read().rsplit(")", 1)[1].split()
                        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
                    except FileNotFoundError:
                        pass
                return total

            kinds = {"om": (), "pb": ("--enable-feature=native-histograms",)}
            per = {k: [] for k in ("idle", "om", "pb")}
            for kind in ("idle", "om", "pb", "idle", "pb", "om"):
                prom = None
                try:
                    if kind != "idle":
                        prom, prom_port = self.start_prometheus([{
                            "job_name": "hx", "scrape_interval": "5s", "scrape_timeout": "4s",
                            "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}],
                            extra_args=kinds[kind])
                        deadline = time.monotonic() + 30
                        while time.monotonic() < deadline and (
                                self.prom_query(prom_port, 'up{job="hx"}') != 1):
                            time.sleep(0.5)
                    m0 = self.hx_metrics(port)
                    p0 = cpu_seconds(prom.pid) if prom is not None else 0.0
                    c0, w0, t0 = cpu_seconds(hx.pid), web_cpu(), time.monotonic()
                    time.sleep(window)
                    c1, w1, t1 = cpu_seconds(hx.pid), web_cpu(), time.monotonic()
                    p1 = cpu_seconds(prom.pid) if prom is not None else 0.0
                    m1 = self.hx_metrics(port)
                    late = hist_delta(histogram(m1, "health_exporter_scheduler_lateness_seconds"),
                                      histogram(m0, "health_exporter_scheduler_lateness_seconds"))
                    w = {"cores": (c1 - c0) / (t1 - t0), "web_cores": (w1 - w0) / (t1 - t0),
                         "late_p99": quantile(late, 0.99), "load": os.getloadavg()[0]}
                    if prom is not None:
                        # Prometheus' CPU per scrape (one every 5 s): its parse and
                        # TSDB append, which scrape_duration_seconds includes.
                        w["prom_cpu_per_scrape"] = (p1 - p0) / ((t1 - t0) / 5)
                        span = f"[{int(t1 - t0)}s]"
                        w["scrape_avg"] = self.prom_query(
                            prom_port, f'avg_over_time(scrape_duration_seconds{{job="hx"}}{span})')
                        w["scrape_max"] = self.prom_query(
                            prom_port, f'max_over_time(scrape_duration_seconds{{job="hx"}}{span})')
                        w["samples"] = self.prom_query(
                            prom_port, 'scrape_samples_scraped{job="hx"}')
                        q = self.prom_query(prom_port,
                                            'health_check_duration_seconds{check="h00000"}',
                                            raw=True)
                        result = q.get("data", {}).get("result", [])
                        w["native"] = bool(result) and "histogram" in result[0]
                    per[kind].append(w)
                    self.log(f"scrape costs {kind}: " + ", ".join(
                        f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}"
                        for k, v in w.items()))
                finally:
                    self.procs.stop(prom)
            for kind, ws in per.items():
                for key in ws[0]:
                    vals = [w[key] for w in ws]
                    out[f"{kind}_{key}"] = (all(vals) if isinstance(vals[0], bool)
                                            else statistics.mean(vals))
            return out
        finally:
            self.procs.stop(hx)

    def phase_formats(self):
        """Figure 4 per format: this binary and --scrape-baseline, interleaved (A B B A)."""
        a = self.args
        n, rounds = 10000, (5 if a.quick else 10)
        runs = [("after", a.binary)]
        if a.scrape_baseline:
            runs = [("after", a.binary), ("before", a.scrape_baseline),
                    ("before", a.scrape_baseline), ("after", a.binary)]
        by_label = {}
        for label, binary in runs:
            by_label.setdefault(label, []).append(self.scrape_formats(binary, label, n, rounds))
        self.results["formats"] = {
            label: {key: (statistics.median(r[key][0] for r in rs),
                          statistics.median(r[key][1] for r in rs),
                          all(r[key][2] for r in rs)) if key != "late_p99"
                    else max(r[key] for r in rs)
                    for key in rs[0]}
            for label, rs in by_label.items()}
        self.phase_scrape_costs()

    def phase_scrape_costs(self):
        """The second half of the formats phase, alone: `--only scrape_costs`."""
        self.results["scrape_costs"] = self.scrape_costs(self.args.binary, 10000,
                                                         15 if self.args.quick else 30)

    def phase_timeouts(self):
        a = self.args
        window = 12 if a.quick else 20
        buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 1.99, 2.0, 2.001, 2.0025,
                   2.005, 2.01, 2.02, 2.05, 2.1, 2.5, 5]
        healthy = self.http_checks(1000, prefix="ok")
        hung = self.http_checks(1000, prefix="hung", port=self.hang_port)
        out = {}
        for label, checks in (("baseline", healthy), ("with_hung", healthy + hung)):
            p = None
            try:
                p, port, _ = self.start_hx(self.hx_config(checks, "5s", "2s", buckets))
                time.sleep(7)
                m0 = self.hx_metrics(port)
                time.sleep(window)
                m1 = self.hx_metrics(port)
                late = hist_delta(histogram(m1, "health_exporter_scheduler_lateness_seconds"),
                                  histogram(m0, "health_exporter_scheduler_lateness_seconds"))
                out[label] = quantile(late, 0.99)
                if label == "with_hung":
                    dur = hist_delta(
                        histogram(m1, "health_check_duration_seconds", 'check="hung'),
                        histogram(m0, "health_check_duration_seconds", 'check="hung'))
                    out["hung_p99"] = quantile(dur, 0.99)
                    out["hung_count"] = dur[float("inf")]
                    out["hung_timeouts"] = (metric_sum(m1, "health_check_timeouts_total") -
                                            metric_sum(m0, "health_check_timeouts_total"))
                    okdur = hist_delta(
                        histogram(m1, "health_check_duration_seconds", 'check="ok'),
                        histogram(m0, "health_check_duration_seconds", 'check="ok'))
                    out["ok_p99_duration"] = quantile(okdur, 0.99)
            finally:
                self.procs.stop(p)
        r = self.results
        r["hung_over_p99"] = out["hung_p99"] - 2.0
        r["late_baseline"] = out["baseline"]
        r["late_with_hung"] = out["with_hung"]
        self.log(f"timeouts: {out['hung_count']:.0f} hung attempts, {out['hung_timeouts']:.0f} "
                 f"timeouts, p99 duration {out['hung_p99']:.4f}s; lateness p99 "
                 f"{out['baseline'] * 1e3:.1f} ms without, {out['with_hung'] * 1e3:.1f} ms with hung")
        # blackbox: 200 probes of the hung target, 100 at a time; how long
        # past its 2 s timeout does each answer?
        bb = None
        try:
            bb, bb_port, _ = self.start_blackbox(timeout="2s")
            target = urllib.parse.quote(f"http://127.0.0.1:{self.hang_port}/health", safe="")

            def probe(_):
                return http_get(bb_port, f"/probe?module=http_2xx&target={target}", timeout=10)[2]

            with concurrent.futures.ThreadPoolExecutor(100) as pool:
                times = sorted(pool.map(probe, range(200)))
            r["bb_hung_over_p99"] = times[int(0.99 * len(times)) - 1] - 2.0
            self.log(f"timeouts bb: p50 {statistics.median(times):.4f}s, p99 "
                     f"{times[int(0.99 * len(times)) - 1]:.4f}s")
        finally:
            self.procs.stop(bb)

    def phase_startup(self):
        a = self.args
        reps = 2 if a.quick else 3
        r = self.results
        ready = {1000: [], 10000: []}
        ready_cpu = {1000: [], 10000: []}
        rss = {}
        for n in (1000, 10000):
            for buckets, key in ((None, "default"), ([5], "one")):
                for rep in range(reps if key == "default" else 1):
                    p = None
                    try:
                        p, port, secs = self.start_hx(self.hx_config(self.http_checks(n),
                                                                     buckets=buckets))
                        if key == "default":
                            ready[n].append(secs)
                            ready_cpu[n].append(self.last_ready_cpu)
                        if rep == 0:
                            # Every check has run once after one interval.
                            time.sleep(6)
                            self.hx_metrics(port)
                            rss[(n, key)] = rss_bytes(p.pid)
                    finally:
                        self.procs.stop(p)
        r["ready_1k"] = statistics.median(ready[1000])
        r["ready_10k"] = statistics.median(ready[10000])
        r["ready_cpu_1k"] = statistics.median(ready_cpu[1000])
        r["ready_cpu_10k"] = statistics.median(ready_cpu[10000])
        for key in ("default", "one"):
            r[f"rss_per_check_{key}"] = (rss[(10000, key)] - rss[(1000, key)]) / 9000
        cfg = self.write("check10k.yml", self.hx_config(self.http_checks(10000)))
        times, cpus = [], []
        for _ in range(reps):
            u0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            rc = subprocess.run([self.args.binary, "--check-config", f"--config.file={cfg}"],
                                capture_output=True).returncode
            times.append(time.perf_counter() - t0)
            u1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append(u1.ru_utime - u0.ru_utime + u1.ru_stime - u0.ru_stime)
            if rc != 0:
                raise RuntimeError(f"--check-config exited with {rc}")
        r["check_config_10k"] = statistics.median(times)
        r["check_config_cpu_10k"] = statistics.median(cpus)
        bb_times = []
        for _ in range(reps):
            bb, _, secs = self.start_blackbox()
            bb_times.append(secs)
            self.procs.stop(bb)
        r["ready_bb"] = statistics.median(bb_times)
        self.log(f"startup: ready {ready}, CPU until ready {ready_cpu}, check-config {times} "
                 f"(CPU {cpus}), RSS {rss}, blackbox {bb_times}")


    def exec_step(self, binary, n_exec, warm, window):
        """500 HTTP checks at 1 s plus n_exec exec checks of /bin/true at 1 s."""
        p = None
        try:
            checks = self.http_checks(500) + [(f"x{i:05d}", "exec", "/bin/true")
                                              for i in range(n_exec)]
            # A larger daemon (more memory to copy per fork), barely busier.
            checks += [(name, kind, target, "60s") for name, kind, target in
                       self.http_checks(self.args.exec_extra_checks, prefix="idle")]
            p, port, _ = self.start_hx(self.hx_config(checks, "1s", "900ms"), binary=binary)
            time.sleep(warm)
            m0 = self.hx_metrics(port)
            c0, f0, t0 = cpu_seconds(p.pid), minor_faults(p.pid), time.monotonic()
            time.sleep(window)
            c1, f1, t1 = cpu_seconds(p.pid), minor_faults(p.pid), time.monotonic()
            m1 = self.hx_metrics(port)

            def delta(name, label_filter=None):
                return metric_sum(m1, name, label_filter) - metric_sum(m0, name, label_filter)

            late = hist_delta(histogram(m1, "health_exporter_scheduler_lateness_seconds"),
                              histogram(m0, "health_exporter_scheduler_lateness_seconds"))
            return {"cores": (c1 - c0) / (t1 - t0), "cpu": c1 - c0, "faults": f1 - f0,
                    "seconds": t1 - t0,
                    "spawns": delta("health_check_runs_total", 'check="x'),
                    "runs": delta("health_check_runs_total"),
                    "skipped": delta("health_check_skipped_runs_total"),
                    "late10": 1 - fraction_le(late, 0.01), "p99": quantile(late, 0.99),
                    "rss": rss_bytes(p.pid), "load": os.getloadavg()[0]}
        finally:
            self.procs.stop(p)

    # ---- hostile clients (issue 12)

    def hostile_run(self, binary, label):
        """1,000 slowloris connections + 50 wrong-password clients against a daemon
        with basic auth (bcrypt cost 10): /healthz and authorised /metrics latency."""
        a = self.args
        window = 15 if a.quick else 30
        password = "scrape-secret-b7"
        web = self.write("web.yml", "basic_auth_users:\n  prometheus: " +
                         bcrypt_hash(password, 10) + "\n")
        cfg = self.hx_config(self.http_checks(10), "5s", "2s")
        p, port, _ = self.start_hx(cfg, binary=binary, extra_args=[f"--web.config.file={web}"])
        auth = {"Authorization": "Basic " +
                base64.b64encode(f"prometheus:{password}".encode()).decode()}
        # Prometheus' credentials are known from its first scrape, before the attack.
        # On a busy machine the low-priority bcrypt may outlast the 5 s wait (429);
        # it finishes anyway and caches the success, so a retry passes, as
        # Prometheus' next scrape would.
        first = probe(port, "/metrics", auth, timeout=30)
        for _ in range(60):
            if first[0] != 429:
                break
            time.sleep(1)
            first = probe(port, "/metrics", auth, timeout=30)
        if first[0] != 200:
            raise RuntimeError(f"/metrics with credentials answered {first[0]}")
        load_before = os.getloadavg()[0]
        clients = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "hostile_clients.py"), "--port", str(port),
             "--slowloris", str(a.hostile_slowloris), "--wrong", str(a.hostile_wrong),
             "--duration", str(window + 40)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.procs.procs.append(clients)
        if clients.stdout.readline().strip() != "ready":
            raise RuntimeError("hostile_clients.py did not get ready")
        healthz, metrics = probe_for(port, window, [("/healthz", {}, 0.1),
                                                    ("/metrics", auth, 1.0)])
        rss = rss_bytes(p.pid)
        clients.terminate()
        out, _ = clients.communicate(timeout=60)
        self.procs.procs.remove(clients)
        seen = json.loads(out.strip().splitlines()[-1])
        self.procs.stop(p)
        row = {"binary": label, "window": window, "load_before": load_before,
               "load": os.getloadavg()[0], "rss_attack": rss, "clients": seen,
               "healthz": latency_summary(healthz), "metrics": latency_summary(metrics)}
        self.log(f"hostile {label}: {json.dumps(row)}")
        return row

    def idle_run(self, binary, label):
        """RSS of the daemon holding N idle client connections."""
        a = self.args
        cfg = self.hx_config(self.http_checks(10), "5s", "2s")
        p, port, _ = self.start_hx(cfg, binary=binary)
        time.sleep(2)
        rss0 = rss_bytes(p.pid)
        clients = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "hostile_clients.py"), "--port", str(port),
             "--idle", str(a.hostile_idle), "--duration", "60"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.procs.procs.append(clients)
        if clients.stdout.readline().strip() != "ready":
            raise RuntimeError("hostile_clients.py did not get ready")
        healthz, = probe_for(port, 5, [("/healthz", {}, 0.1)])
        rss1 = rss_bytes(p.pid)
        with open(f"/proc/{p.pid}/status") as f:
            threads = next(int(l.split()[1]) for l in f if l.startswith("Threads:"))
        fds = len(os.listdir(f"/proc/{p.pid}/fd"))
        clients.terminate()
        out, _ = clients.communicate(timeout=60)
        self.procs.procs.remove(clients)
        seen = json.loads(out.strip().splitlines()[-1])
        self.procs.stop(p)
        row = {"binary": label, "rss_before": rss0, "rss_idle": rss1, "daemon_fds": fds,
               "threads": threads, "clients": seen, "healthz": latency_summary(healthz),
               "load": os.getloadavg()[0]}
        self.log(f"idle {label}: {json.dumps(row)}")
        return row

    def phase_hostile(self):
        a = self.args
        runs = [(a.binary, "this")]
        if a.hostile_baseline:
            runs.insert(0, (a.hostile_baseline, "baseline"))
        rows = []
        for binary, label in runs:
            row = self.hostile_run(binary, label)
            row["idle"] = self.idle_run(binary, label) if a.hostile_idle else None
            rows.append(row)
        self.results["hostile_rows"] = rows
        this = rows[-1]
        self.results["hostile_healthz_p99"] = this["healthz"]["p99"]
        self.results["hostile_healthz_p50"] = this["healthz"]["p50"]
        if this["idle"]:
            self.results["hostile_idle_rss"] = this["idle"]["rss_idle"]
            self.results["hostile_idle_held"] = this["idle"]["clients"]["idle_connected"]
            self.results["hostile_idle_tried"] = a.hostile_idle

    def phase_exec(self):
        """Issue 17's table: 500 HTTP checks at 1 s against nginx plus N exec checks of
        /bin/true at 1 s (N spawns/s), each binary (this one, and --exec-baseline if
        given) at every N, interleaved; CPU per spawn is the CPU above the same binary's
        N = 0 run, per exec run."""
        a = self.args
        window = 10 if a.quick else 20
        binaries = [("after", a.binary)]
        if a.exec_baseline:
            binaries.append(("before", a.exec_baseline))
        steps = [0, 10, 30, 60, 200]
        out = {}
        for i, n in enumerate(steps):
            order = binaries if i % 2 == 0 else binaries[::-1]
            for label, binary in order:
                r = self.exec_step(binary, n, warm=5, window=window)
                out[(label, n)] = r
                self.log(f"exec {label} N={n}: {r['spawns'] / r['seconds']:.0f} spawns/s, "
                         f"{r['cores']:.2f} cores, {r['late10'] * 100:.1f} % of attempts > 10 ms "
                         f"late (p99 {r['p99'] * 1e3:.1f} ms), {r['skipped']:.0f} skipped, "
                         f"{r['faults'] / r['seconds']:.0f} minor faults/s, RSS "
                         f"{r['rss'] / 2**20:.0f} MB, load {r['load']:.1f}")
        rows = []
        for label, _ in binaries:
            base = out[(label, 0)]
            for n in steps:
                r = out[(label, n)]
                per_spawn = fault_per_spawn = float("nan")
                if n and r["spawns"]:
                    per_spawn = (r["cores"] - base["cores"]) * r["seconds"] / r["spawns"]
                    fault_per_spawn = ((r["faults"] / r["seconds"] - base["faults"] / base["seconds"])
                                       * r["seconds"] / r["spawns"])
                rows.append({"binary": label, "n": n, "spawns_per_s": r["spawns"] / r["seconds"],
                             "cores": r["cores"], "cpu_per_spawn": per_spawn,
                             "faults_per_spawn": fault_per_spawn, "late10": r["late10"],
                             "p99": r["p99"], "skipped": r["skipped"], "rss": r["rss"],
                             "load": r["load"]})
        self.results["exec_rows"] = rows
        after = {r["n"]: r for r in rows if r["binary"] == "after"}
        self.results["exec_cpu_per_spawn"] = after[200]["cpu_per_spawn"]
        self.results["exec_late10_200"] = after[200]["late10"]
        if a.exec_baseline:
            before = {r["n"]: r for r in rows if r["binary"] == "before"}
            self.results["exec_cpu_per_spawn_before"] = before[200]["cpu_per_spawn"]
            self.results["exec_late10_200_before"] = before[200]["late10"]


def exec_table(rows):
    """The per-N table of phase_exec, one line per binary and N."""
    lines = ["| binary | exec spawns/s | daemon cores | CPU per spawn | minor faults per spawn "
             "| attempts > 10 ms late | lateness p99 | skipped | RSS | load |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['binary']} | {r['spawns_per_s']:.0f} | {r['cores']:.2f} | "
                     f"{fmt(r['cpu_per_spawn'] * 1e3, ' ms')} | {fmt(r['faults_per_spawn'])} | "
                     f"{r['late10'] * 100:.1f} % | {r['p99'] * 1e3:.1f} ms | {r['skipped']:.0f} | "
                     f"{r['rss'] / 2**20:.0f} MB | {r['load']:.1f} |")
    return "\n".join(lines)


def bcrypt_hash(password, cost):
    """A bcrypt hash ($2b$) of `password`: Python's crypt (libxcrypt), else mkpasswd."""
    try:
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt
        h = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=2 ** cost))
        if h and h.startswith("$2"):
            return h
    except ImportError:
        pass
    return subprocess.run(["mkpasswd", "-m", "bcrypt", "-R", str(cost), password],
                          check=True, capture_output=True, text=True).stdout.strip()


def probe(port, path, headers, timeout=10.0):
    """(status, seconds) of one GET on a new connection; status 0 when it failed or
    timed out, and then the seconds are the time it took to fail."""
    t0 = time.perf_counter()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        resp.read()
        conn.close()
        return resp.status, time.perf_counter() - t0
    except (OSError, http.client.HTTPException):
        return 0, time.perf_counter() - t0


def probe_for(port, seconds, schedule, timeout=10.0):
    """Runs each (path, headers, every) probe on its own schedule for `seconds`,
    without waiting for earlier answers (a stuck probe does not slow the
    schedule); returns one list of (status, seconds) per schedule entry."""
    results = [[] for _ in schedule]
    with concurrent.futures.ThreadPoolExecutor(max_workers=128) as pool:
        futures = []
        start = time.monotonic()
        next_at = [start] * len(schedule)
        while time.monotonic() < start + seconds:
            now = time.monotonic()
            for k, (path, headers, every) in enumerate(schedule):
                if now >= next_at[k]:
                    futures.append((k, pool.submit(probe, port, path, headers, timeout)))
                    next_at[k] += every
            time.sleep(max(0.0, min(next_at) - time.monotonic()))
        for k, f in futures:
            results[k].append(f.result())
    return results


def latency_summary(samples_):
    """p50/p99/max of the seconds, counting a failed probe as its time to fail."""
    secs = sorted(s for _, s in samples_)
    if not secs:
        return {"n": 0, "p50": float("nan"), "p99": float("nan"), "max": float("nan"),
                "failed": 0}

    def q(p):
        return secs[min(len(secs) - 1, int(round(p * (len(secs) - 1))))]
    return {"n": len(secs), "p50": q(0.5), "p99": q(0.99), "max": secs[-1],
            "failed": sum(1 for st, _ in samples_ if st != 200)}


def hostile_table(rows):
    """The hostile-clients figure, one line per binary."""
    lines = ["| binary | /healthz p50 | /healthz p99 | /healthz max | /healthz failed | "
             "authorised /metrics p50 / p99 | attackers' answers | slowloris closed by server | "
             "RSS under attack | RSS idle: before / with N idle | idle held | load |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        h, m = r["healthz"], r["metrics"]
        i = r["idle"] or {"rss_before": float("nan"), "rss_idle": float("nan"), "daemon_fds": 0,
                          "clients": {"idle_connected": 0}}
        answers = ", ".join(f"{k}: {v}" for k, v in r["clients"]["statuses"].items())
        lines.append(
            f"| {r['binary']} | {h['p50'] * 1e3:.1f} ms | {h['p99'] * 1e3:.1f} ms | "
            f"{h['max'] * 1e3:.0f} ms | {h['failed']} of {h['n']} | "
            f"{m['p50'] * 1e3:.1f} / {m['p99'] * 1e3:.1f} ms | {answers} | "
            f"{r['clients']['slow_closed_by_server']} | {r['rss_attack'] / 2**20:.0f} MB | "
            f"{i['rss_before'] / 2**20:.0f} / {i['rss_idle'] / 2**20:.0f} MB | "
            f"{i['clients']['idle_connected']} (fds {i['daemon_fds']}) | "
            f"{r['load_before']:.1f}-{r['load']:.1f} |")
    return "\n".join(lines)


# --------------------------------------------------------------------------
# The table


def fmt(v, unit=""):
    if v is None or (isinstance(v, float) and v != v):
        return "n/a"
    if isinstance(v, str):
        return v
    if abs(v) >= 100:
        s = f"{v:,.0f}"
    elif abs(v) >= 10:
        s = f"{v:.1f}"
    else:
        s = f"{v:.2f}"
    return s + unit


def table(r):
    rows = []

    def row(figure, hx, bb, unit, goal, met, ratio=True):
        ratio_s = "n/a"
        if ratio and isinstance(hx, (int, float)) and isinstance(bb, (int, float)) and hx and bb:
            if hx == hx and bb == bb:
                ratio_s = f"{bb / hx:.1f}x"
        met_s = "n/a" if met is None else ("yes" if met else "NO")
        rows.append((figure, fmt(hx, unit), fmt(bb, unit), ratio_s, goal, met_s))

    g = r.get
    if "cpu_http_hx" in r:
        row("1 HTTP probe, exporter CPU (deployed)", g("cpu_http_hx"), g("cpu_http_bb"), " us",
            "<= 100 us", g("cpu_http_hx") <= 100)
        row("1 TCP probe, exporter CPU (deployed)", g("cpu_tcp_hx"), g("cpu_tcp_bb"), " us",
            "<= 40 us", g("cpu_tcp_hx") <= 40)
        row("1 HTTP probe, exporter+Prometheus CPU", g("sys_http_hx"), g("sys_http_bb"), " us",
            "", None)
        row("1 TCP probe, exporter+Prometheus CPU", g("sys_tcp_hx"), g("sys_tcp_bb"), " us",
            "", None)
    if "cpu_dns_hx" in r:
        row("1 DNS probe, exporter CPU (deployed)", g("cpu_dns_hx"), g("cpu_dns_bb"), " us",
            ">= 5x less than bb", g("cpu_dns_bb") >= 5 * g("cpu_dns_hx"))
        row("1 DNS probe, exporter+Prometheus CPU", g("sys_dns_hx"), g("sys_dns_bb"), " us",
            "", None)
    if "cpu_icmp_hx" in r:
        row("1 ICMP probe, exporter CPU (deployed)", g("cpu_icmp_hx"), g("cpu_icmp_bb"), " us",
            ">= 5x less than bb", g("cpu_icmp_bb") >= 5 * g("cpu_icmp_hx"))
        row("1 ICMP probe, exporter+Prometheus CPU", g("sys_icmp_hx"), g("sys_icmp_bb"), " us",
            "", None)
    if "floor_wrk" in r:
        row("floor: wrk client CPU/new-conn request", g("floor_wrk"), None, " us", "ref", None,
            ratio=False)
        row("floor: nginx CPU/new-conn request", g("floor_nginx"), None, " us", "ref", None,
            ratio=False)
    if "scale_cores" in r:
        # blackbox at the same 2,000 probes/s, from its deployed CPU per probe (figure 1)
        bb_est = g("cpu_http_bb", float("nan")) * 2000 / 1e6
        rate_ok = g("scale_rate") >= 1950
        row(f"2 10k HTTP @5s ({g('scale_window'):.0f}s): cores (bb: est.)", g("scale_cores"),
            bb_est, "", "<= 0.3", g("scale_cores") <= 0.3 and rate_ok)
        row("2 10k HTTP @5s: probes/s done", g("scale_rate"), None, "", "2,000", rate_ok,
            ratio=False)
        row("2 10k HTTP @5s: planned runs not done", f"{g('scale_lost') * 100:.1f} %", None, "",
            "0", g("scale_lost") <= 0.01, ratio=False)
        row("2 10k HTTP @5s: RSS", g("scale_rss") / 2**20, None, " MB", "< 150 MB",
            g("scale_rss") < 150 * 2**20, ratio=False)
        row("2 10k HTTP @5s: skipped runs", g("scale_skipped"), None, "", "0",
            g("scale_skipped") == 0, ratio=False)
        row("2 10k HTTP @5s: lateness p99", g("scale_p99") * 1e3, None, " ms", "<= 10 ms",
            g("scale_p99") <= 0.010, ratio=False)
    if "ceiling_hx" in r or "ceiling_bb_http" in r:
        row("2 ceiling HTTP probes/s (hx p99<=50ms; bb wrk)", g("ceiling_hx"),
            g("ceiling_bb_http"), "/s", "", None)
        if g("ceiling_hx") and g("ceiling_bb_http"):
            rows[-1] = rows[-1][:3] + (f"{g('ceiling_hx') / g('ceiling_bb_http'):.1f}x",) + rows[-1][4:]
        row("2 saturated CPU per HTTP probe", g("sat_cpu_hx"), g("sat_cpu_bb_http"), " us", "",
            None)
        row("2 bb ceiling TCP probes/s (wrk)", None, g("ceiling_bb_tcp"), "/s", "", None,
            ratio=False)
    if "hung_over_p99" in r:
        row("3 hung check reports after 2s timeout +p99", g("hung_over_p99") * 1e3,
            g("bb_hung_over_p99") * 1e3, " ms", "<= 10 ms", g("hung_over_p99") <= 0.010)
        row("3 lateness p99: 1k healthy / +1k hung", f"{g('late_baseline') * 1e3:.2f} / "
            f"{g('late_with_hung') * 1e3:.2f} ms", None, "", "unchanged",
            g("late_with_hung") <= max(g("late_baseline") * 1.5, g("late_baseline") + 0.002),
            ratio=False)
    if "render_p50" in r:
        row("4 /metrics 10k checks render p50", g("render_p50") * 1e3, None, " ms", "<= 50 ms",
            g("render_p50") <= 0.050, ratio=False)
        row("4 /metrics 10k checks gzip p50", g("render_gz_p50") * 1e3, None, " ms", "gzip",
            bool(g("gzip_used")), ratio=False)
        row("4 bytes per check plain / gzip",
            f"{g('bytes_per_check'):.0f} / {g('gz_bytes_per_check'):.0f} B", None, "", "", None,
            ratio=False)
        row("4 Prometheus scrape_duration_seconds", g("prom_scrape_hx") * 1e3, None, " ms", "",
            None, ratio=False)
    if "formats" in r:
        for label, figures in r["formats"].items():
            for key, value in figures.items():
                if key == "late_p99":
                    continue
                secs, per_check, served = value
                if not served:
                    continue
                goal = "<= 25 ms" if key == "text" else ("<= 60 ms" if key == "text_gz" else "")
                met = secs <= 0.025 if key == "text" else (secs <= 0.060 if key == "text_gz" else None)
                row(f"4 {label}: {key} 10k render p50 / B per check",
                    f"{secs * 1e3:.1f} ms / {per_check:.0f} B", None, "", goal, met, ratio=False)
            row(f"4 {label}: lateness p99 while scraping", figures["late_p99"] * 1e3, None,
                " ms", "", None, ratio=False)
    if "scrape_costs" in r:
        c = r["scrape_costs"]
        row("4 protobuf, native only: B per check plain / gzip",
            f"{c['pb_native_bytes']:.0f} / {c['pb_native_gz_bytes']:.0f} B", None, "",
            "<= 700 / <= 80 B", c["pb_native_bytes"] <= 700 and c["pb_native_gz_bytes"] <= 80,
            ratio=False)
        row("4 protobuf, native only: series per HTTP check", c["pb_native_series"], None, "",
            "<= 18", c["pb_native_series"] <= 18, ratio=False)
        for kind, name in (("om", "OpenMetrics"), ("pb", "protobuf")):
            row(f"4 Prometheus scrape_duration_seconds, {name}", c[f"{kind}_scrape_avg"] * 1e3,
                None, " ms", "<= 200 ms", c[f"{kind}_scrape_avg"] <= 0.2, ratio=False)
            row(f"4 cores scraped ({name}) - not scraped",
                f"{c[f'{kind}_cores'] - c['idle_cores']:.3f} (web threads "
                f"{c[f'{kind}_web_cores'] - c['idle_web_cores']:.4f})", None, "", "<= 0.02",
                c[f"{kind}_web_cores"] - c["idle_web_cores"] <= 0.02, ratio=False)
            row(f"4 Prometheus CPU per scrape, {name}", c[f"{kind}_prom_cpu_per_scrape"] * 1e3,
                None, " ms", "", None, ratio=False)
            row(f"4 lateness p99 scraped ({name}) / not", f"{c[f'{kind}_late_p99'] * 1e3:.1f} / "
                f"{c['idle_late_p99'] * 1e3:.1f} ms", None, "", "", None, ratio=False)
    if "ready_1k" in r:
        row("5 ready with 1,000 checks", g("ready_1k") * 1e3, g("ready_bb") * 1e3, " ms",
            "<= 100 ms", g("ready_1k") <= 0.1, ratio=False)
        row("5 ready with 10,000 checks", g("ready_10k") * 1e3, g("ready_bb") * 1e3, " ms",
            "<= 1000 ms", g("ready_10k") <= 1.0, ratio=False)
        row("5 ready 1,000 checks: CPU used until ready", g("ready_cpu_1k") * 1e3, None, " ms",
            "", None, ratio=False)
        row("5 ready 10,000 checks: CPU used until ready", g("ready_cpu_10k") * 1e3, None, " ms",
            "", None, ratio=False)
        row("5 --check-config 10,000 checks", g("check_config_10k") * 1e3, None, " ms",
            "<= 1000 ms", g("check_config_10k") <= 1.0, ratio=False)
        row("5 --check-config 10,000 checks: CPU", g("check_config_cpu_10k") * 1e3, None, " ms",
            "", None, ratio=False)
        row("6 RSS per added check (default buckets)", g("rss_per_check_default") / 1024, None,
            " KB", "", None, ratio=False)
        row("6 RSS per added check (1 bucket)", g("rss_per_check_one") / 1024, None, " KB",
            "<= 4 KB", g("rss_per_check_one") <= 4096, ratio=False)
    if "exec_cpu_per_spawn" in r:
        row("7 exec spawn: daemon CPU (500 HTTP + 200/s)", g("exec_cpu_per_spawn") * 1e3, None,
            " ms", "<= 1 ms", g("exec_cpu_per_spawn") <= 0.001, ratio=False)
        row("7 exec 200/s beside 500 HTTP: > 10 ms late", f"{g('exec_late10_200') * 100:.1f} %",
            None, "", "<= 1 %", g("exec_late10_200") <= 0.01, ratio=False)
        if "exec_cpu_per_spawn_before" in r:
            row("7 same, --exec-baseline: CPU per spawn", g("exec_cpu_per_spawn_before") * 1e3,
                None, " ms", "ref", None, ratio=False)
            row("7 same, --exec-baseline: > 10 ms late",
                f"{g('exec_late10_200_before') * 100:.1f} %", None, "", "ref", None, ratio=False)
    if "hostile_healthz_p99" in r:
        row("8 /healthz p99 under hostile clients", g("hostile_healthz_p99") * 1e3, None, " ms",
            "<= 50 ms", g("hostile_healthz_p99") <= 0.050, ratio=False)
        row("8 /healthz p50 under hostile clients", g("hostile_healthz_p50") * 1e3, None, " ms",
            "", None, ratio=False)
    if "hostile_idle_rss" in r:
        row(f"8 RSS with {g('hostile_idle_tried'):,} idle connections",
            f"{g('hostile_idle_rss') / 2**20:.1f} MB ({g('hostile_idle_held'):,} held)", None, "",
            "", None, ratio=False)
    header = ("figure", "health_exporter", "blackbox", "ratio", "goal", "met?")
    widths = [max(len(x[i]) for x in rows + [header]) for i in range(6)]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    for x in rows:
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(x, widths)) + " |")
    return "\n".join(lines)


# The name the dns phase asks for (an A record of the bench zone, bench.test).
DNS_NAME = "api.bench.test"

PHASES = ("cpu", "dns", "icmp", "floor", "ceiling", "scale", "timeouts", "startup", "exec", "formats", "hostile")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", required=True, help="health_exporter built in Release")
    ap.add_argument("--quick", action="store_true", help="short windows (~4 min)")
    ap.add_argument("--full", action="store_true", help="5-minute scale run")
    ap.add_argument("--only", default=",".join(PHASES), help="comma-separated phases: " +
                    ",".join(PHASES))
    ap.add_argument("--json", help="also write the raw figures here")
    ap.add_argument("--exec-baseline", help="another health_exporter binary (e.g. an older "
                    "commit) measured beside --binary in the exec phase, interleaved")
    ap.add_argument("--scrape-baseline", help="another health_exporter binary (e.g. main's) "
                    "measured beside --binary in the formats phase, interleaved")
    ap.add_argument("--exec-extra-checks", type=int, default=0, metavar="N",
                    help="exec phase: N more HTTP checks at a 60 s interval in every step, "
                    "for a daemon of a deployed size (default 0)")
    ap.add_argument("--hostile-baseline", help="another health_exporter binary measured "
                    "before --binary in the hostile phase")
    ap.add_argument("--hostile-slowloris", type=int, default=1000, metavar="N",
                    help="hostile phase: slowloris connections (default 1000)")
    ap.add_argument("--hostile-wrong", type=int, default=50, metavar="N",
                    help="hostile phase: wrong-password clients (default 50)")
    ap.add_argument("--hostile-idle", type=int, default=10000, metavar="N",
                    help="hostile phase: idle connections for the RSS figure (default 10000)")
    args = ap.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    b = Bench(args)
    b.start_nginx()
    b.start_hang()
    started = time.monotonic()
    try:
        for phase in args.only.split(","):
            b.log(f"phase {phase}")
            getattr(b, "phase_" + phase)()
    finally:
        b.procs.kill_all()
    print()
    print(f"health_exporter vs prometheus-blackbox-exporter, {time.strftime('%Y-%m-%d %H:%M')}, "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, "
          f"bench took {time.monotonic() - started:.0f}s")
    print("ratio = blackbox / health_exporter (how many times more it costs), "
          "except the ceiling row (health_exporter / blackbox)")
    print(table(b.results))
    if "exec_rows" in b.results:
        print()
        extra = (f" + {args.exec_extra_checks} HTTP checks at 60 s"
                 if args.exec_extra_checks else "")
        print(f"exec (7): 500 HTTP checks at 1 s{extra} + N exec checks of /bin/true at 1 s; "
              "CPU per spawn = CPU above the same binary's N = 0 run / exec runs")
        print(exec_table(b.results["exec_rows"]))
    if "hostile_rows" in b.results:
        print()
        print(f"hostile clients (8): {args.hostile_slowloris} slowloris connections (a byte "
              f"every 5 s) + {args.hostile_wrong} wrong-password clients (bcrypt cost 10, <= 5 "
              "requests/s each), every client from its own 127.x address; /healthz every 100 ms "
              f"and authorised /metrics every 1 s, new connection each, 10 s timeout (a failure "
              f"counts as its time to fail); then {args.hostile_idle} idle connections")
        print(hostile_table(b.results["hostile_rows"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(b.results, f, indent=1, default=str)


if __name__ == "__main__":
    main()
