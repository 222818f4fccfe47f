"""MEG connector state shared by workers: token refresh contention and the shared rate gate.

Usage::

    .venv/bin/python bench/meg_shared_state.py [--workers 4,16,64] [--database-url URL]
                                               [--redis redis://127.0.0.1:6379/0]

1. refresh contention: a real MEG sandbox (its own process, waitress) and a real Classeur
   database (a temporary SQLite file, or ``--database-url``, e.g. PostgreSQL); a linked
   company's token is expired at MEG, then N workers — each with its own token store, as in N
   processes, each on its own database connection — call MEG at the same instant. Printed:
   refreshes made (must be 1), failures (must be 0), wall time until all have answered;
2. gate operations: microseconds per ``reserve`` of the in-process gate and of the Redis gate
   (one Lua script round trip), when Redis answers.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from bench.export import authorize, start_sandbox  # noqa: E402
from core.app import create_app  # noqa: E402
from core.db import db  # noqa: E402
from core.migrate import upgrade  # noqa: E402


def refresh_contention(base_url: str, database_url: str, data_dir: Path, workers: list[int]):
    from core.tenancy.services import create_company, create_firm
    from plugins.meg_export import tokens
    from plugins.meg_export.client import MegClient

    app = create_app({"DATA_DIR": str(data_dir), "DATABASE_URL": database_url, "SECRET_KEY": "b"})
    upgrade(app)
    with app.app_context():
        firm = create_firm(f"Bench {uuid.uuid4().hex[:6]}")
        company = create_company(
            firm.id, name="Bench", dossier_code=f"B{uuid.uuid4().hex[:6]}", siren=None
        )
        token = authorize(base_url, "http://127.0.0.1/meg/callback")
        tokens.save(db.session, firm.id, company.id, token)
        db.session.commit()
    print(f"{'workers':>8} {'refreshes':>10} {'failures':>9} {'wall (s)':>9}")
    for n in workers:
        requests.post(f"{base_url}/_sandbox/expire-tokens", timeout=10).raise_for_status()
        with app.app_context():
            current = tokens.TokenStore(firm.id, company.id).load()
        stores = [tokens.TokenStore(firm.id, company.id) for _ in range(n)]
        barrier = threading.Barrier(n + 1)
        failures: list[BaseException] = []

        def work(store, failures=failures, barrier=barrier, current=current):
            with app.app_context():
                client = MegClient(
                    base_url,
                    current,
                    client_id="classeur",
                    client_secret="classeur-sandbox-secret",
                    timeout=30,
                    token_store=store,
                )
                barrier.wait()
                try:
                    client.list_dossiers()
                except BaseException as exc:  # counted and printed
                    failures.append(exc)

        threads = [threading.Thread(target=work, args=(s,)) for s in stores]
        for thread in threads:
            thread.start()
        barrier.wait()
        started = time.perf_counter()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
        refreshes = sum(s.refreshes for s in stores)
        print(f"{n:>8} {refreshes:>10} {len(failures):>9} {wall:>9.3f}")
    db.engine_for(app).dispose()


def gate_operations(redis_url: str | None, count: int = 2000) -> None:
    from plugins.meg_export.ratelimit import RateGate, RedisRateGate

    gates = [("in-process", RateGate())]
    if redis_url:
        import redis

        try:
            redis.Redis.from_url(redis_url, socket_connect_timeout=1).ping()
            gates.append(("redis", RedisRateGate(redis_url, f"bench-{uuid.uuid4().hex}")))
        except redis.RedisError as exc:
            print(f"Redis not reachable ({exc}): only the in-process gate is measured")
    print(f"{'gate':>12} {'µs/reserve':>11}")
    for name, gate in gates:
        key = (1, 1, "bench")
        started = time.perf_counter()
        for _ in range(count):
            gate.reserve(key)
            gate.success(key)
        per_op = (time.perf_counter() - started) / (2 * count) * 1e6
        print(f"{name:>12} {per_op:>11.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="4,16,64")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base_url, sandbox = start_sandbox(Path(tmp) / "meg", threads=16)
        try:
            data_dir = Path(tmp) / "classeur"
            data_dir.mkdir()
            url = args.database_url or f"sqlite:///{data_dir / 'classeur.db'}"
            print(f"database: {url.split('@')[-1]}")
            refresh_contention(base_url, url, data_dir, [int(n) for n in args.workers.split(",")])
        finally:
            sandbox.terminate()
            sandbox.wait(10)
    gate_operations(args.redis)


if __name__ == "__main__":
    main()
