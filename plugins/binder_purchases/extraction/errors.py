"""Exceptions of the extraction library."""

from __future__ import annotations


class InvoiceReadError(Exception):
    """A document could not be read safely; ``message`` is French, shown to the accountant."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
