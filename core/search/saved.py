"""Saved searches: a query and its filters kept under a name, for one user in one firm.

A saved search stores the page's query parameters (``q``, ``company``, ``sort``...), never
results: following it re-runs the search, so it always shows the documents of today and only
those the user may still see. Another user's saved search, or one of another firm, is a 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import abort
from flask_login import current_user
from sqlalchemy import ForeignKey, Index, String, select
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, db, utcnow
from core.tenancy import scoping

#: The page's parameters a saved search keeps (``page`` and ``per_page`` are not kept).
SAVED_PARAMS: tuple[str, ...] = (
    "q",
    "company",
    "binder",
    "binder_type",
    "state",
    "date_from",
    "date_to",
    "amount_min",
    "amount_max",
    "export_error",
    "sort",
)
MAX_NAME = 100
#: Saved searches a user may keep in one firm (the menu lists them all).
MAX_SAVED = 50


class SavedSearch(Base):
    """A named search of one user in one firm: the page's parameters as a JSON object."""

    __tablename__ = "saved_searches"
    __table_args__ = (Index("ix_saved_searches_firm_id_user_id", "firm_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(MAX_NAME))
    #: The page's parameters (:data:`SAVED_PARAMS`), strings, blank ones left out.
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SavedSearchError(ValueError):
    """A saved search that cannot be stored; ``message`` is French, for the page."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def clean_params(args: Any) -> dict[str, str]:
    """The saved parameters of a request's arguments: known names, non-blank strings."""
    params: dict[str, str] = {}
    for name in SAVED_PARAMS:
        value = (args.get(name) or "").strip()
        if value:
            params[name] = value[:500]
    if params.get("sort") == "relevance":
        del params["sort"]
    return params


def clean_name(name: str | None) -> str:
    """A saved search's name, trimmed; raises :class:`SavedSearchError` if blank or too long."""
    text = " ".join((name or "").split())
    if not text:
        raise SavedSearchError("Donnez un nom à la recherche.")
    if len(text) > MAX_NAME:
        raise SavedSearchError(f"Nom trop long ({MAX_NAME} caractères au plus).")
    return text


def _mine() -> Any:
    return select(SavedSearch).where(
        SavedSearch.firm_id == scoping.current_firm_id(),
        SavedSearch.user_id == current_user.id,
    )


def saved_searches() -> list[SavedSearch]:
    """The current user's saved searches in the current firm, by name."""
    return list(db.session.scalars(_mine().order_by(SavedSearch.name, SavedSearch.id)))


def get_saved_search(saved_id: int) -> SavedSearch:
    """One of the current user's saved searches in the current firm, or 404."""
    saved = db.session.scalar(_mine().where(SavedSearch.id == saved_id))
    if saved is None:
        abort(404)
    return saved


def save_search(name: str | None, args: Any, *, replace: bool = False) -> SavedSearch:
    """Save the search of ``args`` under ``name`` for the current user (flushes).

    A name already used is refused unless ``replace`` (« Remplacer la recherche du même nom »
    ticked): then that search's criteria are replaced.
    """
    text = clean_name(name)
    params = clean_params(args)
    existing = db.session.scalar(_mine().where(SavedSearch.name == text))
    if existing is not None:
        if not replace:
            raise SavedSearchError(
                f"Une recherche enregistrée s'appelle déjà « {text} » : choisissez un autre nom, "
                "ou cochez « Remplacer la recherche du même nom »."
            )
        existing.params = params
        db.session.flush()
        return existing
    if len(saved_searches()) >= MAX_SAVED:
        raise SavedSearchError(
            f"{MAX_SAVED} recherches enregistrées au plus : supprimez-en une d'abord."
        )
    saved = SavedSearch(
        firm_id=scoping.current_firm_id(), user_id=current_user.id, name=text, params=params
    )
    db.session.add(saved)
    db.session.flush()
    return saved


def rename_search(saved: SavedSearch, name: str | None) -> None:
    """Rename a saved search; the name must not be another of the user's searches."""
    text = clean_name(name)
    clash = db.session.scalar(_mine().where(SavedSearch.name == text, SavedSearch.id != saved.id))
    if clash is not None:
        raise SavedSearchError(f"Une recherche enregistrée s'appelle déjà « {text} ».")
    saved.name = text
    db.session.flush()


def delete_search(saved: SavedSearch) -> None:
    """Delete a saved search (flushes)."""
    db.session.delete(saved)
    db.session.flush()
