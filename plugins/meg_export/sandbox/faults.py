"""Fault injection for the MEG sandbox: latency, 5xx, 429, time-outs, errors after storing.

Switches live on one ``Faults`` object per sandbox app. They are set from the config key
``SANDBOX_FAULTS`` (a dict) and at run time with ``POST /_sandbox/faults``. Counters named
``*_next`` apply to the next N API requests and count down.
"""

from __future__ import annotations

import dataclasses
import random
import threading
from typing import Any


def _accounts(value: Any) -> list[str]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValueError("a list of account numbers")
    return [v.strip() for v in value if v.strip()]


#: Fields a client may set, with their type (ints are counters or milliseconds).
FIELDS: dict[str, Any] = {
    "latency_ms": int,
    "error_5xx_rate": float,
    "error_5xx_next": int,
    "error_5xx_status": int,
    "rate_limit_per_second": int,
    "status_429_next": int,
    "retry_after": int,
    "timeout_next": int,
    "timeout_seconds": float,
    "error_after_store_next": int,
    #: Accounts the dossiers have closed: a purchase line on one is refused (422
    #: ``closed_account``), as MEG refuses an account absent from the dossier's chart.
    "closed_accounts": _accounts,
}


@dataclasses.dataclass
class Faults:
    """The fault-injection switches of one sandbox app (thread-safe)."""

    latency_ms: int = 0
    error_5xx_rate: float = 0.0
    error_5xx_next: int = 0
    error_5xx_status: int = 503
    rate_limit_per_second: int = 1000
    status_429_next: int = 0
    retry_after: int = 2
    timeout_next: int = 0
    timeout_seconds: float = 5.0
    error_after_store_next: int = 0
    closed_accounts: list[str] = dataclasses.field(default_factory=list)
    _lock: threading.Lock = dataclasses.field(
        default_factory=threading.Lock, repr=False, compare=False
    )

    def update(self, values: dict[str, Any]) -> None:
        """Set the given switches; raise ``ValueError`` (French message) on a bad one."""
        clean: dict[str, Any] = {}
        for name, value in values.items():
            kind = FIELDS.get(name)
            if kind is None:
                raise ValueError(f"Réglage inconnu : « {name} ».")
            try:
                converted = kind(value)
            except (TypeError, ValueError):
                raise ValueError(f"Valeur invalide pour « {name} » : {value!r}.") from None
            if isinstance(converted, list):
                clean[name] = converted
                continue
            too_big = name == "error_5xx_rate" and converted > 1
            too_small = converted < (1 if name == "rate_limit_per_second" else 0)
            if too_big or too_small:
                raise ValueError(f"Valeur hors limites pour « {name} » : {value!r}.")
            clean[name] = converted
        with self._lock:
            for name, value in clean.items():
                setattr(self, name, value)

    def as_dict(self) -> dict[str, Any]:
        """Return the current switches."""
        with self._lock:
            return {name: getattr(self, name) for name in FIELDS}

    def reset(self) -> None:
        """Back to no faults and the default rate limit."""
        defaults = Faults()
        with self._lock:
            for name in FIELDS:
                setattr(self, name, getattr(defaults, name))

    def take(self, counter: str) -> bool:
        """Consume one unit of a ``*_next`` counter; True when the fault applies now."""
        with self._lock:
            remaining = getattr(self, counter)
            if remaining > 0:
                setattr(self, counter, remaining - 1)
                return True
            return False

    def random_5xx(self) -> bool:
        """Draw against ``error_5xx_rate``."""
        rate = self.error_5xx_rate
        return rate > 0 and random.random() < rate
