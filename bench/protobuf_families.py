#!/usr/bin/env python3
"""Where the bytes of one protobuf /metrics scrape go, family by family.

Reads a delimited io.prometheus.client.MetricFamily stream (what /metrics
answers to Prometheus' protobuf Accept; a file or stdin, gzip detected) with a
decoder of its own (the wire format is five field kinds; no libprotobuf or
python3-protobuf needed) and prints, per family: series (as Prometheus with
native histograms ingests them: a histogram with native buckets is one series,
a classic one buckets + 2), bytes, and for histograms the bytes of the classic
buckets, the native buckets (spans and deltas), exemplars and created
timestamps, and (`--gzip`) what each family adds to the scrape gzip'd at level 1
as the daemon does (the whole stream's gzip'd size minus the size without that
family). `--checks N` divides by N (per-check figures), `--json` writes JSON.

Usage: protobuf_families.py [--checks N] [--gzip] [--json] [FILE]
"""
import argparse
import gzip
import json
import sys


def varint(buf, i):
    shift = result = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def fields(buf, start=0, end=None):
    """Yields (field number, wire type, value or (start, end), start of the field)."""
    i, end = start, len(buf) if end is None else end
    while i < end:
        at = i
        key, i = varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = varint(buf, i)
        elif wt == 1:
            v, i = (i, i + 8), i + 8
        elif wt == 5:
            v, i = (i, i + 4), i + 4
        elif wt == 2:
            n, i = varint(buf, i)
            v, i = (i, i + n), i + n
        else:
            raise ValueError(f"wire type {wt} at byte {at}")
        yield num, wt, v, at, i


TYPES = {0: "counter", 1: "gauge", 2: "summary", 3: "untyped", 4: "histogram",
         5: "gaugehistogram"}
# Histogram fields by what they carry.
CLASSIC = {3}
NATIVE = {5, 6, 7, 8, 9, 10, 11, 12, 13, 14}
EXEMPLARS = {16}
CREATED = {15}


def decode(buf):
    families = []
    i = 0
    while i < len(buf):
        n, j = varint(buf, i)
        fam = {"name": "", "type": "counter", "bytes": n + (j - i), "span": (i, j + n), "series": 0, "metrics": 0,
               "label_bytes": 0, "classic_bytes": 0, "native_bytes": 0, "exemplar_bytes": 0,
               "created_bytes": 0, "checks": set()}
        for num, wt, v, at, nxt in fields(buf, j, j + n):
            if num == 1:
                fam["name"] = bytes(buf[v[0]:v[1]]).decode()
            elif num == 3:
                fam["type"] = TYPES.get(v, str(v))
            elif num == 4:
                fam["metrics"] += 1
                series = 1
                for mnum, _, mv, mat, mnxt in fields(buf, v[0], v[1]):
                    if mnum == 1:
                        fam["label_bytes"] += mnxt - mat
                        name = value = ""
                        for lnum, _, lv, _, _ in fields(buf, mv[0], mv[1]):
                            s = bytes(buf[lv[0]:lv[1]]).decode()
                            if lnum == 1:
                                name = s
                            else:
                                value = s
                        if name == "check":
                            fam["checks"].add(value)
                    elif mnum in (4, 7):  # summary, histogram
                        buckets = native = 0
                        for hnum, _, _, hat, hnxt in fields(buf, mv[0], mv[1]):
                            size = hnxt - hat
                            if mnum == 4 and hnum == 3:
                                buckets += 1
                            elif hnum in CLASSIC:
                                buckets += 1
                                fam["classic_bytes"] += size
                            elif hnum in NATIVE:
                                native = 1
                                fam["native_bytes"] += size
                            elif hnum in EXEMPLARS:
                                fam["exemplar_bytes"] += size
                            elif hnum in CREATED:
                                fam["created_bytes"] += size
                        series = 1 if native else buckets + 2
                    elif mnum == 3:  # counter: its created timestamp and exemplar
                        for cnum, _, _, cat, cnxt in fields(buf, mv[0], mv[1]):
                            if cnum == 3:
                                fam["created_bytes"] += cnxt - cat
                            elif cnum == 2:
                                fam["exemplar_bytes"] += cnxt - cat
                fam["series"] += series
        families.append(fam)
        i = j + n
    return families


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file", nargs="?")
    ap.add_argument("--checks", type=int, default=0, help="divide by this many checks")
    ap.add_argument("--gzip", action="store_true", help="each family's share of the gzip'd size")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    data = open(a.file, "rb").read() if a.file else sys.stdin.buffer.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    fams = decode(memoryview(data))
    total = sum(f["bytes"] for f in fams)
    gz_total = len(gzip.compress(data, 1))
    for f in fams:
        f["gzip_bytes"] = 0
        if a.gzip:
            rest = data[:f["span"][0]] + data[f["span"][1]:]
            f["gzip_bytes"] = gz_total - len(gzip.compress(rest, 1))
    if a.json:
        for f in fams:
            f["checks"] = len(f["checks"])
        json.dump({"bytes": total, "gzip_bytes": gz_total, "families": fams}, sys.stdout,
                  indent=1)
        print()
        return
    per = a.checks or 1
    cols = ("family", "type", "series", "bytes", "labels", "classic", "native", "exemplar",
            "created", "gzip")
    print(" | ".join(cols) + (f"   (per check, {a.checks} checks)" if a.checks else ""))
    for f in sorted(fams, key=lambda f: -f["bytes"]):
        print(" | ".join([f["name"], f["type"], f"{f['series'] / per:.2f}",
                          f"{f['bytes'] / per:.1f}"] +
                         [f"{f[k] / per:.1f}" for k in ("label_bytes", "classic_bytes",
                                                         "native_bytes", "exemplar_bytes",
                                                         "created_bytes", "gzip_bytes")]))
    series = sum(f["series"] for f in fams)
    check_series = sum(f["series"] for f in fams if f["checks"])
    print(f"total: {total} bytes ({total / per:.1f} per check; gzip -1 {gz_total / per:.1f}), "
          f"{series} series; "
          f"series with a check label: {check_series} ({check_series / per:.2f} per check)")


if __name__ == "__main__":
    main()
