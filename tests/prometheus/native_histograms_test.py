#!/usr/bin/env python3
"""A real Prometheus ingests our protobuf exposition's native histograms.

Starts, on 127.0.0.1 with free ports and a temporary directory:
 - an HTTP server that answers each scrape with the output of `protobuf_fixture K` (K = the
   scrape's number, so counts grow between scrapes), as
   application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited;
 - Prometheus with --enable-feature=native-histograms, scraping it every second.
Then checks that
 1. Prometheus asked for protobuf (its Accept header);
 2. the API shows hx_fixture_duration_seconds (native + classic buckets) and
    hx_fixture_native_only_seconds (written with classic buckets off) as native histograms;
 3. histogram_quantile(q, rate(x[1m])) answers for q = 0.5, 0.9, 0.99 and is within the
    schema's relative bucket width (2^(1/8) - 1 for the default bucket_factor 1.1) of the
    true quantile of the fixture's observations;
 4. the counter and the gauge of the same exposition are there.
Everything this starts is stopped by pid on exit (children also get PR_SET_PDEATHSIG).

Usage: native_histograms_test.py --fixture PATH [--prometheus P] [--keep-tmp]
"""
import argparse
import ctypes
import http.server
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

DEADLINE_S = 90
START = time.monotonic()
PROTOBUF = ("application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
            "encoding=delimited")
# The fixture's observations, one round: 0.01 * 1.05^j seconds, j = 0..99.
OBSERVATIONS = sorted(0.01 * 1.05 ** j for j in range(100))
SCHEMA = 3  # bucket_factor 1.1
WIDTH = 2 ** (2 ** -SCHEMA) - 1


def log(message):
    print(f"[{time.monotonic() - START:5.1f}s] {message}", flush=True)


class Failure(Exception):
    pass


class Fatal(Failure):
    """A failure that waiting longer cannot fix."""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent():
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class FixtureServer:
    """Serves `fixture K` for the K-th scrape; records the Accept headers."""

    def __init__(self, fixture):
        self.accepts = []
        self.errors = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                accept = self.headers.get("Accept", "")
                server.accepts.append(accept)
                if "application/vnd.google.protobuf" not in accept:
                    server.errors.append(f"scrape without protobuf in Accept: {accept!r}")
                    self.send_response(406)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                try:
                    body = subprocess.run([fixture, str(len(server.accepts) - 1)], check=True,
                                          capture_output=True, timeout=10).stdout
                except (OSError, subprocess.SubprocessError) as e:
                    server.errors.append(f"fixture failed: {e}")
                    self.send_response(500)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", PROTOBUF)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def query(base, expr):
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            answer = json.loads(response.read())
    except urllib.error.HTTPError as e:
        answer = json.loads(e.read())
    if answer.get("status") != "success":
        raise Failure(f"query {expr!r} failed: {answer}")
    return answer["data"]["result"]


def wait_for(what, condition, timeout_s):
    deadline = min(time.monotonic() + timeout_s, START + DEADLINE_S)
    last = None
    while time.monotonic() < deadline:
        try:
            result = condition()
            if result:
                return result
        except Fatal:
            raise
        except (OSError, Failure, ValueError) as e:
            last = e
        time.sleep(0.25)
    raise Failure(f"timed out waiting for {what}" + (f" (last error: {last})" if last else ""))


def true_quantile(q):
    """The q-quantile of the observations: the smallest value with rank >= q * n."""
    return OBSERVATIONS[math.ceil(q * len(OBSERVATIONS)) - 1]


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fixture", required=True)
    parser.add_argument("--prometheus", default="prometheus")
    parser.add_argument("--keep-tmp", action="store_true")
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="hx-native-e2e-")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    prometheus = None
    prom_log = os.path.join(tmp, "prometheus.log")
    ok = False
    try:
        fixture = FixtureServer(args.fixture)
        prom_port = free_port()
        config = os.path.join(tmp, "prometheus.yml")
        with open(config, "w") as f:
            f.write(f"""global: {{scrape_interval: 1s, evaluation_interval: 1s}}
scrape_configs:
  - job_name: fixture
    static_configs: [{{targets: ["127.0.0.1:{fixture.port}"]}}]
""")
        with open(prom_log, "wb") as log_file:
            prometheus = subprocess.Popen(
                [args.prometheus, f"--config.file={config}",
                 f"--storage.tsdb.path={os.path.join(tmp, 'data')}",
                 f"--web.listen-address=127.0.0.1:{prom_port}",
                 "--enable-feature=native-histograms", "--log.level=warn"],
                stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                preexec_fn=_die_with_parent)
        base = f"http://127.0.0.1:{prom_port}"

        def alive():
            if prometheus.poll() is not None:
                raise Failure(f"prometheus exited with {prometheus.returncode}")
            return False

        wait_for("prometheus to be ready", lambda: alive() or urllib.request.urlopen(
            f"{base}/-/ready", timeout=2).status == 200, timeout_s=30)
        log(f"prometheus ready on {base}, fixture on 127.0.0.1:{fixture.port}")

        # rate() over 1m needs two samples of the histogram; three to be safe.
        def scraped(n):
            if fixture.errors:
                raise Fatal(fixture.errors[0])
            return len(fixture.accepts) >= n

        wait_for("three scrapes", lambda: alive() or scraped(3), timeout_s=30)
        log(f"Accept: {fixture.accepts[0]}")
        if fixture.errors:
            raise Failure(fixture.errors[0])

        for name in ("hx_fixture_duration_seconds", "hx_fixture_native_only_seconds"):
            result = wait_for(f"{name} in the API",
                              lambda: query(base, f'{name}{{check="fixed"}}'), timeout_s=20)
            sample = result[0]
            if "histogram" not in sample or "value" in sample:
                raise Failure(f"{name} is not a native histogram in the API: {sample}")
            log(f"{name}: native histogram, count {sample['histogram'][1]['count']}, "
                f"{len(sample['histogram'][1].get('buckets', []))} buckets")

        for name in ("hx_fixture_duration_seconds", "hx_fixture_native_only_seconds"):
            for q in (0.5, 0.9, 0.99):
                expr = f"histogram_quantile({q}, rate({name}[1m]))"
                result = wait_for(f"{expr} to answer",
                                  lambda: [r for r in query(base, expr)
                                           if r["value"][1] not in ("NaN", "+Inf", "-Inf")],
                                  timeout_s=20)
                estimate = float(result[0]["value"][1])
                truth = true_quantile(q)
                error = abs(estimate - truth) / truth
                log(f"{expr} = {estimate:.4f} (true {truth:.4f}, {error:.1%} off; "
                    f"bound {WIDTH:.1%})")
                if error > WIDTH:
                    raise Failure(f"{expr} = {estimate}, true quantile {truth}: "
                                  f"{error:.1%} off, more than the bucket width {WIDTH:.1%}")

        runs = query(base, 'hx_fixture_runs_total{check="fixed",result="healthy"}')
        if not runs or float(runs[0]["value"][1]) < 1:
            raise Failure(f"hx_fixture_runs_total missing or 0: {runs}")
        up = query(base, "hx_fixture_up")
        if not up or up[0]["value"][1] != "1":
            raise Failure(f"hx_fixture_up is not 1: {up}")
        if fixture.errors:
            raise Failure(fixture.errors[0])
        ok = True
    except Failure as e:
        log(f"FAILED: {e}")
        try:
            with open(prom_log, errors="replace") as f:
                print("----- prometheus log -----\n" + "".join(f.readlines()[-30:]))
        except OSError:
            pass
    finally:
        if prometheus is not None and prometheus.poll() is None:
            prometheus.terminate()
            try:
                prometheus.wait(timeout=10)
            except subprocess.TimeoutExpired:
                prometheus.kill()
                prometheus.wait()
        if args.keep_tmp or not ok:
            log(f"temporary files kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    log("PASSED" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
