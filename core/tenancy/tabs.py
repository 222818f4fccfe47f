"""Tabs of the company's "Comptabilité" page, contributed by plugins."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CompanyTab:
    """A tab: ``endpoint`` is a view taking ``company_id`` that renders the tab's content."""

    id: str
    label: str
    endpoint: str
    order: int = 100
