"""``pip install classeur`` without the ``celery`` extra: the ``classeur`` command works on
its embedded defaults, and asking for the Celery runner says in French what to install.

Celery is made unimportable in a subprocess (``sys.modules[name] = None``), as it is when the
extra is not installed."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from core.tasks.celery_runner import CELERY_MISSING, CeleryNotInstalled, require_celery

WITHOUT_CELERY = (
    "import sys\n"
    "for name in ('celery', 'kombu'):\n"
    "    sys.modules[name] = None\n"
    "from core.cli import main\n"
    "main(sys.argv[1:], prog_name='classeur')\n"
)


def classeur_without_celery(data_dir, *args, env_extra=None):
    env = {**os.environ, "CLASSEUR_DATA_DIR": str(data_dir)}
    for name in ("CLASSEUR_DATABASE_URL", "CLASSEUR_TASK_RUNNER", "CLASSEUR_BROKER_URL"):
        env.pop(name, None)
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_CELERY, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_classeur_works_without_celery(tmp_path):
    data_dir = tmp_path / "var"
    help_ = classeur_without_celery(data_dir, "--help")
    assert help_.returncode == 0, help_.stderr
    for command in ("init", "serve", "worker", "meg-sandbox"):
        assert command in help_.stdout
    init = classeur_without_celery(data_dir, "init", "--demo")
    assert init.returncode == 0, init.stderr
    assert "admin@classeur.local" in init.stdout and "3 companies created" in init.stdout
    plugins = classeur_without_celery(data_dir, "plugins", "list")
    assert plugins.returncode == 0, plugins.stderr
    assert "meg_export" in plugins.stdout


def test_loading_the_command_does_not_import_celery():
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from core.cli import main\n"
        "result = CliRunner().invoke(main, ['worker', '--help'])\n"
        "assert result.exit_code == 0, result.output\n"
        "print(sorted(m for m in ('celery', 'kombu') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("args", [("db", "upgrade"), ("worker",)])
def test_celery_runner_without_celery_says_what_to_install(tmp_path, args):
    result = classeur_without_celery(
        tmp_path / "var",
        *args,
        env_extra={
            "CLASSEUR_TASK_RUNNER": "celery",
            "CLASSEUR_BROKER_URL": "redis://127.0.0.1:1/0",
        },
    )
    assert result.returncode == 1
    assert 'Celery n\'est pas installé : pip install "classeur[celery]"' in result.stderr
    assert "Traceback" not in result.stderr


def test_require_celery_raises_the_french_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "celery", None)
    with pytest.raises(CeleryNotInstalled) as raised:
        require_celery()
    assert str(raised.value) == CELERY_MISSING
    assert isinstance(raised.value, ValueError)  # a bad setting, like the runner's others
