#!/usr/bin/env python3
"""A TCP server on 127.0.0.1 that accepts connections, reads and discards what
arrives and never answers: the "target that never answers" of the timeout
benchmark. Prints its port on stdout, then runs until killed."""

import asyncio
import sys


async def hold(reader, writer):
    try:
        while await reader.read(65536):
            pass
    except ConnectionError:
        pass
    finally:
        writer.close()


async def main():
    server = await asyncio.start_server(hold, "127.0.0.1", 0, backlog=4096)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
