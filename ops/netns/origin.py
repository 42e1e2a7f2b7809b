#!/usr/bin/env python3
"""A tiny HTTP origin for the network-namespace rig: answers every request on 127.0.0.1:PORT with JSON
naming the host it runs on, so a test can tell which host served a request.

    origin.py NAME PORT [PORT...]      # e.g. origin.py host2 9002 9102

GET /healthz answers {"ok": true}; any other method and path answers
{"host": NAME, "port": PORT, "method": ..., "path": ...}. Bodies are read and discarded.
"""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def handler_for(name, port):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the edge's pooled connections expect

        def answer(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            if self.path == "/healthz":
                body = {"ok": True}
            else:
                body = {"host": name, "port": port, "method": self.command, "path": self.path}
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = answer

        def log_message(self, fmt, *args):  # one line per request would drown the node logs
            pass

    return Handler


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
