#!/usr/bin/env python3
"""Holds N idle HTTP/1.1 keep-alive connections to one loopback server, for ops/bench/scale-bench.sh.

Each connection sends one GET, reads the whole answer (Content-Length framing) and then stays open, idle.
Connections are opened in bounded batches. The holder notices a connection the server closes (its read
returns EOF) and counts it. Commands on stdin, one per line; each answer is one line on stdout:

  status  -> "open O closed C failed F"
  probe   -> sends a second request on every open connection; "probe ok K of O"
  quit    -> closes everything and exits

  hold-conns.py --port 28090 --host app.local --count 9500 [--batch 250] [--path /]
"""
import argparse
import asyncio
import sys


async def read_answer(reader):
    """Reads one response (head and a Content-Length body); returns its status code."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    if length:
        await reader.readexactly(length)
    return status


class Holder:
    def __init__(self, args):
        self.args = args
        self.request = (f"GET {args.path} HTTP/1.1\r\nHost: {args.host}\r\n\r\n").encode()
        self.conns = []       # (reader, writer) of every connection opened
        self.closed = 0       # closed by the server while held
        self.failed = 0       # could not connect or got no 2xx to the first request
        self.watchers = {}    # index -> task waiting for EOF while the connection is idle

    async def open_one(self):
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", self.args.port, limit=1 << 16), 10)
            writer.write(self.request)
            status = await asyncio.wait_for(read_answer(reader), 10)
            if status // 100 != 2:
                writer.close()
                self.failed += 1
                return
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError, IndexError):
            self.failed += 1
            return
        self.conns.append((reader, writer))
        self.watch(len(self.conns) - 1)

    def watch(self, i):
        reader = self.conns[i][0]

        async def eof():
            try:
                data = await reader.read(1)
            except OSError:
                data = b""
            if not data:
                self.closed += 1
                self.conns[i] = None
        self.watchers[i] = asyncio.ensure_future(eof())

    def open_count(self):
        return sum(1 for c in self.conns if c is not None)

    async def probe(self):
        """A second request on every open connection: proves the server still holds it."""
        ok = 0
        idle = [i for i, c in enumerate(self.conns) if c is not None]
        for i in idle:
            self.watchers[i].cancel()
        await asyncio.gather(*(self.watchers[i] for i in idle), return_exceptions=True)

        async def again(i):
            nonlocal ok
            reader, writer = self.conns[i]
            try:
                writer.write(self.request)
                if await asyncio.wait_for(read_answer(reader), 10) // 100 == 2:
                    ok += 1
                    self.watch(i)
                    return
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError, IndexError):
                pass
            self.closed += 1
            self.conns[i] = None
        for start in range(0, len(idle), self.args.batch):
            await asyncio.gather(*(again(i) for i in idle[start:start + self.args.batch]))
        return ok, len(idle)

    async def run(self):
        for start in range(0, self.args.count, self.args.batch):
            n = min(self.args.batch, self.args.count - start)
            await asyncio.gather(*(self.open_one() for _ in range(n)))
        print(f"held {self.open_count()} failed {self.failed}", flush=True)
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            cmd = line.strip()
            if cmd == "status":
                print(f"open {self.open_count()} closed {self.closed} failed {self.failed}", flush=True)
            elif cmd == "probe":
                ok, total = await self.probe()
                print(f"probe ok {ok} of {total}", flush=True)
            else:  # quit, or stdin closed
                for c in self.conns:
                    if c is not None:
                        c[1].close()
                print("closed", flush=True)
                return


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host", default="app.local")
    p.add_argument("--path", default="/")
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--batch", type=int, default=250)
    args = p.parse_args()
    if not 0 < args.count <= 60000 or not 0 < args.batch <= 2000:
        p.error("--count must be 1..60000 and --batch 1..2000")
    asyncio.run(Holder(args).run())


if __name__ == "__main__":
    main()
