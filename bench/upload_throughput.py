#!/usr/bin/python3
"""Upload throughput: starts the real `parley` binary (tests/integration/parley_harness.py) in a
fresh data directory and uploads text files over HTTP/1.1, each from a file on disk (the client
streams too), reporting MB/s end to end: request sent, body streamed to disk by the server,
SHA-256, libmagic, blob fsync + rename, row committed, 201 received.

  bench/upload_throughput.py [--bin build/src/app/parley] [--size-mib 50] [--count 6]
                             [--concurrency 1]

Text content (libmagic: text/plain) so that every upload is accepted; random bytes would be
application/octet-stream, which the default allowlist refuses. Every file differs (no blob is
shared). Figures go in docs/benchmarks.md with the command that produced them."""

import argparse
import http.client
import os
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))

from parley_harness import Http, Server  # noqa: E402


def make_file(path, size, seed):
    line = (f"upload benchmark line, file {seed}: " + "abcdefghijklmnopqrstuvwxyz" * 3 + "\n").encode()
    with open(path, "wb") as f:
        left = size
        block = line * (1 << 20 // len(line) + 1)
        while left > 0:
            chunk = block[:left]
            f.write(chunk)
            left -= len(chunk)


def upload(port, token, path, size):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        with open(path, "rb") as f:
            conn.request("POST", f"/api/v1/uploads?name={os.path.basename(path)}", body=f,
                         headers={"Authorization": f"Bearer {token}",
                                  "Content-Type": "text/plain", "Content-Length": str(size)})
            r = conn.getresponse()
            r.read()
            if r.status != 201:
                raise RuntimeError(f"upload failed: {r.status}")
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=None)
    ap.add_argument("--size-mib", type=int, default=50)
    ap.add_argument("--count", type=int, default=6)
    ap.add_argument("--concurrency", type=int, default=1)
    args = ap.parse_args()
    if args.bin:
        os.environ["PARLEY_BIN"] = args.bin
    size = args.size_mib << 20
    quota = size * (args.count + 1)
    server = Server([f"--files.max_upload_bytes={size}", f"--files.quota_bytes={quota}",
                     "--log.level=warn"]).start()
    try:
        api = Http(server.port)
        user = api.new_user("bench")
        tmp = tempfile.mkdtemp(prefix="parley-upload-bench-")
        paths = []
        for i in range(args.count):
            p = os.path.join(tmp, f"f{i}.txt")
            make_file(p, size, i)
            paths.append(p)
        upload(server.port, user.token, paths[0], size)  # warm-up (not counted)
        todo = list(paths[1:])
        lock = threading.Lock()
        errors = []

        def worker():
            while True:
                with lock:
                    if not todo:
                        return
                    p = todo.pop()
                try:
                    upload(server.port, user.token, p, size)
                except Exception as e:  # noqa: BLE001
                    errors.append(e)

        t0 = time.monotonic()
        threads = [threading.Thread(target=worker) for _ in range(args.concurrency)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        took = time.monotonic() - t0
        if errors:
            raise SystemExit(f"errors: {errors[:3]}")
        n = args.count - 1
        mib = n * size / (1 << 20)
        print(f"{n} uploads x {args.size_mib} MiB, concurrency {args.concurrency}: "
              f"{took:.2f} s, {mib / took:.1f} MiB/s, {took / n * 1000:.0f} ms per upload")
        for p in paths:
            os.unlink(p)
        os.rmdir(tmp)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
