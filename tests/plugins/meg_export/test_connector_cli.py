"""``classeur meg demo-link`` and ``classeur meg-sandbox``, run as real subprocesses."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import requests


def _run(data_dir, *args, env_extra=None):
    env = {**os.environ, "CLASSEUR_DATA_DIR": str(data_dir), **(env_extra or {})}
    env.pop("CLASSEUR_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "core", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_demo_link_adds_missing_dossiers_and_prints_the_steps(tmp_path, sandbox):
    data_dir = tmp_path / "var"
    assert _run(data_dir, "init", "--demo").returncode == 0
    sandbox_dir = tmp_path / "meg"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "core",
            "meg-sandbox",
            "--port",
            str(port),
            "--data-dir",
            str(sandbox_dir),
        ],
        env={**os.environ, "CLASSEUR_DATA_DIR": str(data_dir)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                requests.get(base_url + "/", timeout=1)
                break
            except requests.RequestException:
                time.sleep(0.2)
        result = _run(
            data_dir,
            "meg",
            "demo-link",
            "--sandbox-data-dir",
            str(sandbox_dir),
            "--skip",
            "DEMO02",
            env_extra={"CLASSEUR_MEG_BASE_URL": base_url},
        )
        assert result.returncode == 0, result.stderr
        out = result.stdout
        # DEMO01 exists in the sandbox's seed; DEMO03 was missing and is added there.
        assert "Dossier MEG DEMO03" in out and "DEMO01" in out
        assert "DEMO02" not in out
        assert "Lier un compte à ce dossier comptable" in out
        assert "demo@meg.example / demo" in out
        assert "DEMO03" in requests.get(base_url + "/", timeout=5).text
        # No token was written: the companies stay unlinked until done through the pages.
        import sqlite3

        rows = (
            sqlite3.connect(data_dir / "classeur.db")
            .execute("SELECT settings FROM plugin_settings")
            .fetchall()
        )
        assert all("token" not in (row[0] or "") for row in rows)
        tokens = sqlite3.connect(data_dir / "classeur.db").execute(
            "SELECT count(*) FROM meg_export_tokens"
        )
        assert tokens.fetchone()[0] == 0
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_demo_link_before_the_sandbox_starts_keeps_its_default_dossiers(tmp_path):
    """The README's run command links before it serves the sandbox: the sandbox's data folder
    is prepared, and DEMO02 keeps its reverse-charge and intra-EU options."""
    from sqlalchemy import select

    from plugins.meg_export.sandbox import create_sandbox_app
    from plugins.meg_export.sandbox.models import Dossier

    data_dir = tmp_path / "var"
    assert _run(data_dir, "init", "--demo").returncode == 0
    sandbox_dir = tmp_path / "meg"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there
    result = _run(
        data_dir,
        "meg",
        "demo-link",
        "--sandbox-data-dir",
        str(sandbox_dir),
        "--public-url",
        "http://127.0.0.1:8123",
        env_extra={"CLASSEUR_MEG_BASE_URL": f"http://127.0.0.1:{port}"},
    )
    assert result.returncode == 0, result.stderr
    assert "http://127.0.0.1:8123/companies/" in result.stdout
    sandbox = create_sandbox_app({"SANDBOX_DATA_DIR": str(sandbox_dir)})
    db = sandbox.extensions["meg_sandbox"].db
    demo02 = db.scalar(select(Dossier).filter_by(code="DEMO02"))
    assert (demo02.reverse_charge, demo02.intra_eu) == (True, True)
