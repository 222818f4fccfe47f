"""Start-up figures: time from `classeur serve` to the first successful response, and the
server's resident memory at idle; median of several runs.

    python bench/startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    total = 0
    # The server and any child process it started (OCR pool, etc.).
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for p in pids:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def one_run(data_dir: Path) -> tuple[float, float]:
    port = free_port()
    env = {**os.environ, "CLASSEUR_DATA_DIR": str(data_dir)}
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "core", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.01)
            if time.perf_counter() - start > 60:
                raise RuntimeError("server did not answer within 60 s")
        ready = time.perf_counter() - start
        time.sleep(2.0)  # idle
        return ready, rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="classeur-bench-"))
    try:
        subprocess.run(
            [sys.executable, "-m", "core", "init", "--demo"],
            env={**os.environ, "CLASSEUR_DATA_DIR": str(tmp)},
            check=True,
            stdout=subprocess.DEVNULL,
        )
        results = [one_run(tmp) for _ in range(args.runs)]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    ready = statistics.median(r[0] for r in results)
    rss = statistics.median(r[1] for r in results)
    print(f"startup: serve -> first 200 OK, median of {args.runs}: {ready:.2f} s")
    print(f"startup: resident memory at idle, median of {args.runs}: {rss:.0f} MB")


if __name__ == "__main__":
    main()
