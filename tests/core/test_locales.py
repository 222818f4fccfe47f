"""The languages offered are those with a catalog: French always, another one once its
compiled catalog exists in the translations folder."""

from __future__ import annotations

from pathlib import Path


def test_only_languages_with_a_catalog_are_offered(tmp_path: Path) -> None:
    from core.auth.services import LOCALES, available_locales

    assert available_locales(tmp_path) == {"fr": "Français"}
    (tmp_path / "en" / "LC_MESSAGES").mkdir(parents=True)
    (tmp_path / "de" / "LC_MESSAGES").mkdir(parents=True)
    (tmp_path / "de" / "LC_MESSAGES" / "messages.po").write_text("")  # not compiled
    assert available_locales(tmp_path) == {"fr": "Français"}
    (tmp_path / "en" / "LC_MESSAGES" / "messages.mo").write_bytes(b"")
    assert available_locales(tmp_path) == {"fr": "Français", "en": "English"}
    # The project's own catalogs today: French only (no catalog for English yet).
    folder = Path(__file__).resolve().parents[2] / "core" / "translations"
    assert available_locales(folder) == LOCALES
    assert "fr" in LOCALES
