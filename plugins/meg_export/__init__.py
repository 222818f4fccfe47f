"""The ``meg_export`` plugin: the MEG (RCA) connector and its sandbox."""

from __future__ import annotations

NAME = "meg_export"
