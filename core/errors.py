"""The error services raise for bad input: a French message and the offending field."""

from __future__ import annotations


class ServiceError(ValueError):
    """Bad input refused by a service; views turn it into a form error or a JSON error."""

    def __init__(
        self, message: str, field: str | None = None, *, code: str = "invalid", status: int = 422
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code
        self.status = status
