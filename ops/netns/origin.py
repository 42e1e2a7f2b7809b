#!/usr/bin/env python3
"""A tiny HTTP origin for the network-namespace rig: answers every request on 127.0.0.1:PORT with JSON
naming the host it runs on, so a test can tell which host served a request.

    origin.py NAME PORT [PORT...]      # e.g. origin.py host2 9002 9102

GET /healthz answers {"ok": true}; GET /bytes/N answers N bytes of "x" (N up to 16 MiB); any other method and path answers
{"host": NAME, "port": PORT, "method": ..., "path": ...}. Bodies are read and discarded.
A WebSocket upgrade (RFC 6455) is accepted on any path: each text message comes back as "NAME:PORT:message".
"""
import base64
import hashlib
import json
import re
import struct
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def handler_for(name, port):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the edge's pooled connections expect

        def answer(self):
            if self.headers.get("Upgrade", "").lower() == "websocket":
                return self.websocket()
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            sized = re.fullmatch(r"/bytes/(\d{1,8})", self.path)
            if sized and int(sized.group(1)) <= 16 << 20:
                data, kind = b"x" * int(sized.group(1)), "application/octet-stream"
            else:
                body = {"ok": True} if self.path == "/healthz" else {"host": name, "port": port, "method": self.command, "path": self.path}
                data, kind = json.dumps(body).encode(), "application/json"
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def websocket(self):
            accept = base64.b64encode(hashlib.sha1(
                (self.headers.get("Sec-WebSocket-Key", "") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
            self.send_response(101)
            self.send_header("Upgrade", "websocket")
            self.send_header("Connection", "Upgrade")
            self.send_header("Sec-WebSocket-Accept", accept.decode())
            self.end_headers()
            self.close_connection = True
            while True:
                frame = read_frame(self.rfile)
                if frame is None or frame[0] == 0x8:  # gone, or a close frame: answer it and end
                    write_frame(self.wfile, 0x8, b"")
                    return
                opcode, payload = frame
                if opcode == 0x9:  # ping
                    write_frame(self.wfile, 0xA, payload)
                elif opcode in (0x1, 0x2):
                    write_frame(self.wfile, opcode, f"{name}:{port}:".encode() + payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = answer

        def log_message(self, fmt, *args):  # one line per request would drown the node logs
            pass

    return Handler


def read_frame(stream):
    """(opcode, unmasked payload) of one frame, or None at the end of the stream (no fragmentation needed here)."""
    head = stream.read(2)
    if len(head) < 2:
        return None
    opcode, length = head[0] & 0x0F, head[1] & 0x7F
    if length == 126:
        length = struct.unpack(">H", stream.read(2))[0]
    elif length == 127:
        length = struct.unpack(">Q", stream.read(8))[0]
    mask = stream.read(4) if head[1] & 0x80 else b"\0\0\0\0"
    payload = bytes(b ^ mask[i % 4] for i, b in enumerate(stream.read(length)))
    return opcode, payload


def write_frame(stream, opcode, payload, mask=None):
    """One final frame; a client masks (mask: 4 bytes), a server does not."""
    length = len(payload)
    head = bytes([0x80 | opcode])
    bit = 0x80 if mask else 0
    if length < 126:
        head += bytes([bit | length])
    elif length < 65536:
        head += bytes([bit | 126]) + struct.pack(">H", length)
    else:
        head += bytes([bit | 127]) + struct.pack(">Q", length)
    if mask:
        head += mask
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    stream.write(head + payload)
    stream.flush()


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    name, ports = sys.argv[1], [int(p) for p in sys.argv[2:]]
    servers = [ThreadingHTTPServer(("127.0.0.1", p), handler_for(name, p)) for p in ports]
    for server in servers:
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"origin {name} listening on 127.0.0.1:{','.join(map(str, ports))}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
