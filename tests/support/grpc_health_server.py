#!/usr/bin/python3
"""A real gRPC server (Debian's python3-grpcio) with a hand-made
grpc.health.v1.Health/Check for the grpc check's tests.

grpcio-health-checking is not packaged for Debian, so the service is a
generic handler with raw-bytes (de)serializers and the two tiny protobuf
messages are encoded by hand, as the daemon does.

Run with /usr/bin/python3 (the python3 on PATH may be one without grpc).
Listens on 127.0.0.1 only (or another loopback address, --listen); prints "PORT <n>" on stdout once it serves, then
one line per event ("CHECK <service>", "CANCELLED <service>").

  --status NAME=STATUS   answer Check(NAME) with STATUS (repeatable; NAME may
                         be empty for the server's overall health). STATUS is
                         SERVING, NOT_SERVING, UNKNOWN, SERVICE_UNKNOWN, a
                         number (another enum value), or one of the faults:
                         EMPTY (an empty message: proto3's default UNKNOWN),
                         GARBAGE (bytes that are not a HealthCheckResponse),
                         HUGE (a 1 MiB message). Services not named get
                         NOT_FOUND, as grpc's own health service answers.
  --no-health            serve no health service at all (UNIMPLEMENTED).
  --hang                 Check never answers (until the client goes away).
  --require-metadata K=V Check fails with UNAUTHENTICATED unless the request
                         carries metadata K with value V.
  --tls CERT KEY         TLS (ALPN h2) with this certificate and key; else h2c.
  --listen ADDR:PORT     listen there instead of 127.0.0.1:0 (a kernel-chosen
                         port); ADDR must be a loopback address (127.x.y.z).
"""

import argparse
import sys
import threading
import time
from concurrent import futures

import grpc

STATUSES = {"UNKNOWN": 0, "SERVING": 1, "NOT_SERVING": 2, "SERVICE_UNKNOWN": 3}
lock = threading.Lock()


def emit(line):
    with lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def read_varint(data, i):
    value, shift = 0, 0
    while True:
        if i >= len(data):
            raise ValueError("truncated varint")
        b = data[i]
        i += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, i
        shift += 7


def encode_varint(value):
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        if value:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def decode_service(request):
    """HealthCheckRequest.service (field 1, string); other fields skipped."""
    i, service = 0, ""
    while i < len(request):
        key, i = read_varint(request, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            _, i = read_varint(request, i)
        elif wire == 2:
            n, i = read_varint(request, i)
            if field == 1:
                service = request[i:i + n].decode("utf-8")
            i += n
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        else:
            raise ValueError("bad wire type")
    return service


def response_bytes(status):
    if status == "EMPTY":
        return b""
    if status == "GARBAGE":
        return b"\x0f\xff\xff"  # field 1 with wire type 7: not protobuf
    if status == "HUGE":
        return b"\x12" + encode_varint(1 << 20) + b"x" * (1 << 20)
    value = STATUSES[status] if status in STATUSES else int(status)
    return b"\x08" + encode_varint(value)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--status", action="append", default=[])
    parser.add_argument("--no-health", action="store_true")
    parser.add_argument("--hang", action="store_true")
    parser.add_argument("--require-metadata")
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    parser.add_argument("--listen", default="127.0.0.1:0")
    args = parser.parse_args()
    if not args.listen.startswith("127."):
        sys.exit("--listen must be a loopback address (127.x.y.z:port)")

    statuses = {}
    for item in args.status:
        name, _, status = item.partition("=")
        statuses[name] = status
    required = args.require_metadata.split("=", 1) if args.require_metadata else None

    def check(request, context):
        service = decode_service(request)
        emit("CHECK " + service)
        if required is not None:
            metadata = dict(context.invocation_metadata())
            if metadata.get(required[0]) != required[1]:
                context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong credentials")
        if args.hang:
            while context.is_active():
                time.sleep(0.02)
            emit("CANCELLED " + service)
            return b""
        if service not in statuses:
            context.abort(grpc.StatusCode.NOT_FOUND, "unknown service")
        return response_bytes(statuses[service])

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    if not args.no_health:
        handler = grpc.unary_unary_rpc_method_handler(
            check, request_deserializer=None, response_serializer=None)
        server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler("grpc.health.v1.Health", {"Check": handler}),))
    if args.tls:
        with open(args.tls[0], "rb") as f:
            cert = f.read()
        with open(args.tls[1], "rb") as f:
            key = f.read()
        port = server.add_secure_port(args.listen,
                                      grpc.ssl_server_credentials([(key, cert)]))
    else:
        port = server.add_insecure_port(args.listen)
    if port == 0:
        sys.exit("cannot bind " + args.listen)
    server.start()
    emit("PORT %d" % port)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
