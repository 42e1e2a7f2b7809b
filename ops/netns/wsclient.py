#!/usr/bin/env python3
"""A WebSocket client for the network-namespace rig (the tests run it in the client namespace):

    wsclient.py URL HOST MESSAGE [COUNT]     # e.g. wsclient.py ws://198.18.0.11:8080/chat ws.test hello 3

Upgrades (Host: HOST), sends MESSAGE as a text frame COUNT times (default 1), printing each answer on a line of
its own, then closes. Exit 0 when every message got an answer; 1 with the reason on stderr otherwise (the status
line when the upgrade was refused).
"""
import base64
import os
import socket
import sys
from urllib.parse import urlsplit

from origin import read_frame, write_frame


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    url, host, message = urlsplit(sys.argv[1]), sys.argv[2], sys.argv[3]
    count = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    key = base64.b64encode(os.urandom(16)).decode()
    with socket.create_connection((url.hostname, url.port or 80), timeout=5) as sock:
        sock.sendall((f"GET {url.path or '/'} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        stream = sock.makefile("rwb")
        status = stream.readline().decode(errors="replace").strip()
        while stream.readline() not in (b"\r\n", b""):
            pass
        if " 101 " not in f"{status} ":
            sys.exit(f"upgrade refused: {status}")
        for _ in range(count):
            write_frame(stream, 0x1, message.encode(), mask=os.urandom(4))
            frame = read_frame(stream)
            if frame is None:
                sys.exit("connection closed before an answer")
            print(frame[1].decode(errors="replace"), flush=True)
        write_frame(stream, 0x8, b"", mask=os.urandom(4))


if __name__ == "__main__":
    main()
