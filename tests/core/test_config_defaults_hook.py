"""Plugins declare their settings (``config_defaults``); the core keeps only its own."""

from __future__ import annotations

from typing import Any

import pytest

from core.app import create_app
from core.config import DEFAULTS, ConfigError
from core.db import db
from core.plugins.hookspecs import hookimpl


class SettingsPlugin:
    @hookimpl
    def config_defaults(self) -> dict[str, Any]:
        return {"TEST_PAGES": 3, "TEST_RATIO": 0.5, "TEST_FLAG": False, "TEST_NAME": "x"}


def _app(app_config: dict[str, Any], **overrides: Any) -> Any:
    app = create_app({**app_config, "EXTRA_PLUGINS": [SettingsPlugin()], **overrides})
    db.engine_for(app).dispose()
    return app


def test_hook_config_defaults(app_config: dict[str, Any], monkeypatch: Any) -> None:
    app = _app(app_config)
    assert app.config["TEST_PAGES"] == 3 and app.config["TEST_FLAG"] is False
    monkeypatch.setenv("CLASSEUR_TEST_PAGES", "12")
    monkeypatch.setenv("CLASSEUR_TEST_RATIO", "0.25")
    monkeypatch.setenv("CLASSEUR_TEST_FLAG", "yes")
    monkeypatch.setenv("CLASSEUR_TEST_NAME", "y")
    app = _app(app_config)
    assert (app.config["TEST_PAGES"], app.config["TEST_RATIO"]) == (12, 0.25)
    assert app.config["TEST_FLAG"] is True and app.config["TEST_NAME"] == "y"
    app = _app(app_config, TEST_PAGES=40)  # given to create_app: wins over the environment
    assert app.config["TEST_PAGES"] == 40
    monkeypatch.setenv("CLASSEUR_TEST_PAGES", "douze")
    with pytest.raises(ConfigError, match="CLASSEUR_TEST_PAGES"):
        _app(app_config)


def test_the_core_declares_no_plugin_setting(app: Any) -> None:
    """MEG's and the OCR's settings come from their plugins, with the same defaults."""
    assert not [key for key in DEFAULTS if key.startswith(("MEG_", "OCR_"))]
    assert app.config["MEG_TIMEOUT"] == 15
    assert app.config["MEG_BASE_URL"].startswith("http://")
    assert app.config["OCR_TIMEOUT"] == 120
