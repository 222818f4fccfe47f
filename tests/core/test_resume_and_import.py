"""`classeur import`: files and folders, idempotent; `classeur reindex`. (A server killed while
reading is tests/crash/test_crash_recovery.py's: every document read once after a restart.)"""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import requests

from tests.conftest import make_pdf_bytes, wait_for


def _env(data_dir):
    env = {
        **os.environ,
        "CLASSEUR_DATA_DIR": str(data_dir),
        "CLASSEUR_WORKERS": "2",
        "CLASSEUR_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    }
    env.pop("CLASSEUR_DATABASE_URL", None)
    if os.environ.get("CLASSEUR_TEST_DATABASE_URL"):
        pass  # the subprocess keeps its own SQLite database: this test is about the process
    return env


def _cli(data_dir, *args):
    return subprocess.run(
        [sys.executable, "-m", "core", *args],
        env=_env(data_dir),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(data_dir, port):
    proc = subprocess.Popen(
        [sys.executable, "-m", "core", "serve", "--port", str(port)],
        env=_env(data_dir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"

    def up():
        try:
            return requests.get(base + "/healthz", timeout=1).ok
        except requests.RequestException:
            return False

    wait_for(up, timeout=60)
    return proc, base


def test_import_files_and_folders_idempotent(tmp_path):
    data = tmp_path / "var"
    assert _cli(data, "init", "--demo").returncode == 0
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.pdf").write_bytes(make_pdf_bytes(["Document A"]))
    (folder / "sub" / "b.pdf").write_bytes(make_pdf_bytes(["Document B"]))
    (folder / "bad.pdf").write_bytes(b"")
    single = tmp_path / "c.pdf"
    single.write_bytes(make_pdf_bytes(["Document C"]))
    first = _cli(data, "import", str(folder), str(single), "--binder", "1")
    assert first.returncode == 0, first.stderr
    assert "3 imported, 0 skipped" in first.stdout and "1 refused" in first.stdout
    assert "bad.pdf" in first.stderr and "vide" in first.stderr
    second = _cli(data, "import", str(folder), str(single), "--binder", "1")
    assert "0 imported, 3 skipped" in second.stdout
    missing = _cli(data, "import", str(tmp_path / "nope"), "--binder", "1")
    assert missing.returncode != 0 and "No such file" in missing.stderr
    import sqlite3

    db = sqlite3.connect(data / "classeur.db")
    states = [r[0] for r in db.execute("select state from documents")]
    assert states == ["TO_REVIEW"] * 3 or states == ["to_review"] * 3


def test_reindex_rebuilds_in_chunks_and_search_still_finds(tmp_path):
    data = tmp_path / "var"
    assert _cli(data, "init", "--demo").returncode == 0
    folder = tmp_path / "docs"
    folder.mkdir()
    for i in range(5):
        (folder / f"d{i}.pdf").write_bytes(make_pdf_bytes([f"Attestation numero{i} mutuelle"]))
    assert _cli(data, "import", str(folder), "--binder", "2").returncode == 0
    import shutil

    shutil.rmtree(data / "index")  # lose the index entirely
    result = _cli(data, "reindex", "--chunk", "2")
    assert result.returncode == 0, result.stderr
    assert "5 documents indexed" in result.stdout
    from core.app import create_app
    from core.search.backend import SearchQuery

    app = create_app({"DATA_DIR": str(data)})
    with app.app_context():
        from core.search.services import search

        hits = search(SearchQuery(firm_id=1, q="mutuelle")).hits
        assert len(hits) == 5
        assert len(search(SearchQuery(firm_id=1, q="numero3")).hits) == 1
        app.extensions["classeur"].search.close()
