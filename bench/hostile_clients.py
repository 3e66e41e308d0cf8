#!/usr/bin/env python3
"""Hostile clients for the "hostile clients" figure (bench.py phase `hostile`).

Runs in its own process so that its work does not delay the bench's own
/healthz probes. Every client connects from its own loopback address
(127.0.0.0/8 all reaches 127.0.0.1 on Linux), as clients of a botnet would:
a per-address limit must not make the figure easy.

  --slowloris N  connections that send a request head that never ends, one
                 byte every --interval seconds (reconnecting when the server
                 closes them); from 127.1.x.y
  --wrong N      clients sending GET /metrics with a wrong basic-auth password
                 on a new connection, each as fast as it is answered but at
                 most 5 requests/s; from 127.3.x.y
  --idle N       connections that are opened and then say nothing; from 127.2.x.y

Prints "ready" on stdout once every connection was tried, and one JSON line
with what it saw when it ends (after --duration seconds or on SIGTERM).
"""

import argparse
import asyncio
import base64
import json
import resource
import signal
import sys
import time


def address(block, i):
    return f"127.{block}.{i // 250}.{i % 250 + 1}"


class Stats:
    def __init__(self):
        self.statuses = {}
        self.slow_connected = 0
        self.slow_closed_by_server = 0
        self.connect_failures = 0
        self.idle_connected = 0
        self.idle_closed_by_server = 0
        # A few whole answers of a status other than 401 and 429 (what an
        # attacker should get), to tell where they came from.
        self.unexpected = []

    def count(self, status):
        self.statuses[status] = self.statuses.get(status, 0) + 1


async def connect(port, source, timeout):
    return await asyncio.wait_for(
        asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0)), timeout)


async def slowloris(port, i, interval, stats, stop):
    source = address(1, i)
    # Spread the byte times over the interval.
    await asyncio.sleep(interval * (i % 100) / 100)
    while not stop.is_set():
        try:
            reader, writer = await connect(port, source, 10)
        except (OSError, asyncio.TimeoutError):
            stats.connect_failures += 1
            await asyncio.sleep(1)
            continue
        stats.slow_connected += 1
        head = b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
        try:
            writer.write(head[:1])
            sent = 1
            while not stop.is_set():
                try:
                    # The read doubles as the pause: anything (an error page)
                    # or EOF means the server gave up on this connection.
                    await asyncio.wait_for(reader.read(4096), interval)
                    stats.slow_closed_by_server += 1
                    break
                except asyncio.TimeoutError:
                    pass
                writer.write(head[sent:sent + 1] if sent < len(head) else b"a")
                sent += 1
                await writer.drain()
        except OSError:
            stats.slow_closed_by_server += 1
        finally:
            writer.close()


async def wrong_password(port, i, user, stats, stop):
    source = address(3, i)
    n = 0
    while not stop.is_set():
        started = time.monotonic()
        n += 1
        token = base64.b64encode(f"{user}:wrong-guess-{i}-{n}".encode()).decode()
        request = (f"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                   f"Authorization: Basic {token}\r\n\r\n").encode()
        status = 0
        try:
            reader, writer = await connect(port, source, 10)
            try:
                writer.write(request)
                line = await asyncio.wait_for(reader.readline(), 20)
                parts = line.split()
                if len(parts) >= 2 and parts[1].isdigit():
                    status = int(parts[1])
                if status not in (401, 429) and len(stats.unexpected) < 5:
                    try:
                        rest = await asyncio.wait_for(reader.read(4096), 2)
                    except asyncio.TimeoutError:
                        rest = b""
                    stats.unexpected.append({"at": round(time.monotonic(), 3),
                                             "answer": (line + rest).decode("latin-1")})
            finally:
                writer.close()
        except (OSError, asyncio.TimeoutError):
            pass
        stats.count(status)
        await asyncio.sleep(max(0.0, 0.2 - (time.monotonic() - started)))


async def idle(port, i, stats, stop):
    try:
        reader, writer = await connect(port, address(2, i), 10)
    except (OSError, asyncio.TimeoutError):
        stats.connect_failures += 1
        return
    stats.idle_connected += 1
    try:
        stop_wait = asyncio.ensure_future(stop.wait())
        read = asyncio.ensure_future(reader.read(4096))
        done, _ = await asyncio.wait({stop_wait, read}, return_when=asyncio.FIRST_COMPLETED)
        if read in done:
            stats.idle_closed_by_server += 1
        for f in (stop_wait, read):
            f.cancel()
    finally:
        writer.close()


async def main_async(args):
    stats = Stats()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    tasks = []
    # Idle connections first, in batches, so that the SYN queue keeps up.
    for start in range(0, args.idle, 500):
        batch = [asyncio.ensure_future(idle(args.port, i, stats, stop))
                 for i in range(start, min(args.idle, start + 500))]
        tasks += batch
        await asyncio.sleep(0.05)
    tasks += [asyncio.ensure_future(slowloris(args.port, i, args.interval, stats, stop))
              for i in range(args.slowloris)]
    tasks += [asyncio.ensure_future(wrong_password(args.port, i, args.user, stats, stop))
              for i in range(args.wrong)]
    # Ready once the connections had time to be made.
    deadline = time.monotonic() + 30
    while (stats.idle_connected + stats.connect_failures < args.idle or
           stats.slow_connected + stats.connect_failures < args.slowloris) and \
            time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    print("ready", flush=True)
    try:
        await asyncio.wait_for(stop.wait(), args.duration)
    except asyncio.TimeoutError:
        stop.set()
    if tasks:
        await asyncio.wait(tasks, timeout=25)
    print(json.dumps({
        "statuses": {str(k): v for k, v in sorted(stats.statuses.items())},
        "slow_connected": stats.slow_connected,
        "slow_closed_by_server": stats.slow_closed_by_server,
        "idle_connected": stats.idle_connected,
        "idle_closed_by_server": stats.idle_closed_by_server,
        "connect_failures": stats.connect_failures,
        "unexpected": stats.unexpected,
    }), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--slowloris", type=int, default=0)
    ap.add_argument("--interval", type=float, default=5.0)
    ap.add_argument("--wrong", type=int, default=0)
    ap.add_argument("--user", default="prometheus")
    ap.add_argument("--idle", type=int, default=0)
    ap.add_argument("--duration", type=float, default=60)
    args = ap.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
