#!/usr/bin/env python3
"""Keep-alive HTTP load for the multi-host rig, run in the client namespace by MultiHostFaultsIT.

    load.py URL HOST_HEADER CONNECTIONS STOP_FILE PROGRESS_FILE [MAX_SECONDS]

CONNECTIONS threads each keep one HTTP/1.1 connection and send GET after GET (Host: HOST_HEADER) until STOP_FILE
exists or MAX_SECONDS (default 600) passed. An answer with "Connection: close" (a draining node) closes that
connection and the next request opens a new one, as any HTTP client does; a request that got no answer at all is
counted as an error, never retried, so every failure the edge lets through shows. Every 0.5 s PROGRESS_FILE gets
the count of answered requests; at the end stdout gets one JSON line: {"requests", "statuses", "errors", "samples"},
samples being the first few errors and non-200 answers.
"""
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse


def main():
    url, host, connections, stop_file, progress_file = sys.argv[1:6]
    max_seconds = float(sys.argv[6]) if len(sys.argv) > 6 else 600.0
    target = urllib.parse.urlsplit(url)
    path = target.path or "/"
    deadline = time.monotonic() + max_seconds
    lock = threading.Lock()
    totals = {"requests": 0, "statuses": {}, "errors": 0, "samples": []}

    def note(status=None, error=None):
        with lock:
            if error is not None:
                totals["errors"] += 1
                if len(totals["samples"]) < 10:
                    totals["samples"].append(error)
                return
            totals["requests"] += 1
            totals["statuses"][str(status)] = totals["statuses"].get(str(status), 0) + 1
            if status != 200 and len(totals["samples"]) < 10:
                totals["samples"].append("status %d" % status)

    def running():
        return time.monotonic() < deadline and not os.path.exists(stop_file)

    def loop():
        conn = None
        while running():
            if conn is None:
                conn = http.client.HTTPConnection(target.hostname, target.port or 80, timeout=10)
            try:
                conn.request("GET", path, headers={"Host": host})
                response = conn.getresponse()
                response.read()
                note(status=response.status)
                if response.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as e:
                note(error="%s: %s" % (type(e).__name__, e))
                conn.close()
                conn = None
        if conn is not None:
            conn.close()

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(int(connections))]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        with lock:
            done = totals["requests"]
        with open(progress_file + ".tmp", "w") as f:
            f.write(str(done))
        os.replace(progress_file + ".tmp", progress_file)
        time.sleep(0.5)
    print(json.dumps(totals))


if __name__ == "__main__":
    main()
