"""The `classeur` command, run as a real subprocess on a temporary data folder."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def run(data_dir, *args, check=True, env_extra=None):
    env = {**os.environ, "CLASSEUR_DATA_DIR": str(data_dir), **(env_extra or {})}
    env.pop("CLASSEUR_DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "core", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"{args} failed: {result.stdout}\n{result.stderr}")
    return result


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "var"


def test_init_demo_users_tokens_plugins(data_dir):
    out = run(data_dir, "init", "--demo").stdout
    assert "admin@classeur.local" in out
    password = next(line.split()[-1] for line in out.splitlines() if "password:" in line)
    assert len(password) >= 10
    assert (data_dir / "secret_key").exists() and (data_dir / "classeur.db").exists()
    assert oct((data_dir / "secret_key").stat().st_mode)[-3:] == "600"
    again = run(data_dir, "init", "--demo").stdout
    assert "Already initialised" in again and "0 companies created" in again

    created = run(
        data_dir,
        "users",
        "create",
        "--email",
        "compta@example.fr",
        "--password",
        "tres-secret-42",
        "--firm",
        "1",
        "--role",
        "accountant",
    ).stdout
    assert "compta@example.fr" in created
    weak = run(
        data_dir,
        "users",
        "create",
        "--email",
        "x@example.fr",
        "--password",
        "court",
        "--firm",
        "1",
        check=False,
    )
    assert weak.returncode == 1 and "au moins" in weak.stderr
    up = run(
        data_dir,
        "users",
        "create",
        "--email",
        "client@example.fr",
        "--password",
        "tres-secret-43",
        "--firm",
        "Mon cabinet",
        "--role",
        "uploader",
        "--company",
        "DEMO01",
    ).stdout
    assert "uploader" in up

    token = run(data_dir, "tokens", "create", "--email", "compta@example.fr").stdout
    last = token.strip().splitlines()[-1]
    assert last.startswith("clsr_") and len(last) > 30

    plugins = run(data_dir, "plugins", "list").stdout
    for name in ("core", "binder_purchases", "ocr_tesseract", "meg_export"):
        assert name in plugins
    assert "purchase_invoices" in plugins

    assert "up to date" in run(data_dir, "db", "upgrade").stdout


def test_token_is_usable_against_the_api(data_dir):
    run(data_dir, "init", "--demo", "--password", "admin-pass-123")
    token = run(data_dir, "tokens", "create", "--email", "admin@classeur.local").stdout.split()[-1]
    from core.app import create_app

    app = create_app({"DATA_DIR": str(data_dir)})
    response = app.test_client().get(
        "/api/v1/companies", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    assert {c["dossier_code"] for c in response.get_json()} == {"DEMO01", "DEMO02", "DEMO03"}


def test_unknown_plugin_gives_a_clear_error(data_dir):
    result = run(
        data_dir, "db", "upgrade", check=False, env_extra={"CLASSEUR_PLUGINS": "does_not_exist"}
    )
    assert result.returncode != 0
    assert "Unknown plugin" in result.stderr


def test_serve_on_a_busy_port_says_so(data_dir):
    import socket

    run(data_dir, "init")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = run(data_dir, "serve", "--port", str(port), check=False)
    assert result.returncode == 1
    assert "Cannot listen" in result.stderr and "Traceback" not in result.stderr
