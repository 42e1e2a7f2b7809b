#!/usr/bin/env python3
"""An HTTP/1.1 origin for ops/bench/scale-bench.sh that reads every request body whole, drops it, then answers
200 with a 3-byte body ("ok\\n"), keep-alive. Bodies must come with Content-Length (411 otherwise). An origin that
answers before it has read the body (nginx's `return 200`) makes a streaming proxy cut the client's upload short.

  sink-origin.py --port 28183
"""
import argparse
import asyncio

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Type: text/plain\r\n\r\nok\n"
NO_LENGTH = b"HTTP/1.1 411 Length Required\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
MAX_HEAD = 64 * 1024


class Sink(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        self.head = bytearray()
        self.left = -1  # body bytes still to read; -1: reading a head

    def data_received(self, data):
        view = memoryview(data)
        while view:
            if self.left < 0:
                self.head += view
                view = memoryview(b"")
                end = self.head.find(b"\r\n\r\n")
                if end < 0:
                    if len(self.head) > MAX_HEAD:
                        self.transport.close()
                    return
                rest = self.head[end + 4:]
                length = None
                for line in bytes(self.head[:end]).split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    name = name.strip().lower()
                    if name == b"content-length":
                        length = int(value.strip())
                    elif name == b"transfer-encoding":
                        length = None
                        break
                else:
                    length = 0 if length is None else length
                self.head = bytearray()
                if length is None:
                    self.transport.write(NO_LENGTH)
                    self.transport.close()
                    return
                self.left = length
                view = memoryview(bytes(rest))
            take = min(self.left, len(view))
            self.left -= take
            view = view[take:]
            if self.left == 0:
                self.left = -1
                self.transport.write(OK)


async def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True)
    args = p.parse_args()
    server = await asyncio.get_running_loop().create_server(Sink, "127.0.0.1", args.port, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
