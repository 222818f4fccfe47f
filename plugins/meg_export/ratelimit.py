"""Pacing the sends to MEG after its 429s, per linked company, shared by every worker.

:class:`RateGate` keeps the pace in this process (the embedded default: one process, its
worker threads). :class:`RedisRateGate` keeps the very same state in Redis, updated by one
atomic Lua script per operation on Redis' own clock, so every worker process on every machine
(scale-out: Celery workers) shares one pace and one hold per link: a 429 met by one worker
holds the link for all of them, for MEG's ``Retry-After``. :func:`make_gate` picks one from
the configuration.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

log = logging.getLogger("classeur.plugins.meg_export")

Key = tuple[Any, ...]


class RateGate:
    """Paces the sends of each MEG link after a 429 (shared by the workers of a process).

    Until MEG first refuses, sends are free. A 429 holds the link for its ``Retry-After`` and
    slows the pace (interval between sends × 1.5, from 20 ms, at most once per hold); each
    success quickens it by 2 %, and ``CALM`` seconds without a 429 free the link again — an
    additive-increase, multiplicative-decrease loop settling just under MEG's limit. Send
    slots are handed out in order, so waiting workers are spread over time instead of all
    bursting when a hold ends.
    """

    #: Seconds without a 429 after which a link sends freely again.
    CALM = 10.0
    FIRST_INTERVAL = 0.02
    MAX_INTERVAL = 1.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next: dict[Key, float] = {}
        self._interval: dict[Key, float] = {}
        self._held_until: dict[Key, float] = {}
        self._last_hit: dict[Key, float] = {}
        #: 429 answers met since start (for the benchmark and the logs).
        self.hits = 0

    def reserve(self, key: Key) -> float:
        """Take the next send slot of ``key``; return the seconds to wait for it."""
        with self._lock:
            now = time.monotonic()
            if now - self._last_hit.get(key, now) > self.CALM:
                self._interval[key] = 0.0
            interval = self._interval.get(key, 0.0)
            slot = max(now, self._next.get(key, 0.0))
            if interval or slot > now:
                self._next[key] = slot + interval
            return slot - now

    def remaining(self, key: Key) -> float:
        """Seconds before ``key`` may send again (0 when free); takes no slot."""
        with self._lock:
            return max(0.0, self._next.get(key, 0.0) - time.monotonic())

    def success(self, key: Key) -> None:
        """A send went through: quicken the pace."""
        with self._lock:
            interval = self._interval.get(key, 0.0) * 0.98
            self._interval[key] = interval if interval > 0.002 else 0.0

    def block(self, key: Key, seconds: float) -> None:
        """MEG answered 429: hold ``key`` for ``seconds`` and slow its pace down."""
        with self._lock:
            self.hits += 1
            now = time.monotonic()
            self._last_hit[key] = now
            if now >= self._held_until.get(key, 0.0):
                # One slow-down per hold: a burst of 429s answers one overshoot.
                interval = self._interval.get(key, 0.0)
                self._interval[key] = min(
                    max(interval * 1.5, self.FIRST_INTERVAL), self.MAX_INTERVAL
                )
            until = now + max(0.0, seconds)
            self._held_until[key] = max(self._held_until.get(key, 0.0), until)
            self._next[key] = max(self._next.get(key, 0.0), until)


#: One script for the four operations: each reads and writes the link's hash atomically, on
#: Redis' clock (TIME), so the machines' clocks need not agree. Numbers go back as strings
#: (Lua numbers become integers in Redis replies).
_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local op = ARGV[1]
local calm, first = tonumber(ARGV[2]), tonumber(ARGV[3])
local maxi, ttl = tonumber(ARGV[4]), tonumber(ARGV[5])
local h = redis.call('HMGET', KEYS[1], 'next', 'interval', 'held_until', 'last_hit')
local nxt = tonumber(h[1]) or 0
local interval = tonumber(h[2]) or 0
local held = tonumber(h[3]) or 0
local last = tonumber(h[4])
local result = 0
if op == 'reserve' then
  if last and now - last > calm then interval = 0 end
  local slot = math.max(now, nxt)
  if interval > 0 or slot > now then nxt = slot + interval end
  result = slot - now
elseif op == 'remaining' then
  return tostring(math.max(0, nxt - now))
elseif op == 'success' then
  interval = interval * 0.98
  if interval <= 0.002 then interval = 0 end
elseif op == 'block' then
  local seconds = math.max(0, tonumber(ARGV[6]))
  if now >= held then interval = math.min(math.max(interval * 1.5, first), maxi) end
  local untl = now + seconds
  held = math.max(held, untl)
  nxt = math.max(nxt, untl)
  last = now
  redis.call('HINCRBY', KEYS[1], 'hits', 1)
end
redis.call('HSET', KEYS[1], 'next', tostring(nxt), 'interval', tostring(interval),
           'held_until', tostring(held))
if last then redis.call('HSET', KEYS[1], 'last_hit', tostring(last)) end
redis.call('EXPIRE', KEYS[1], ttl)
return tostring(result)
"""


class RedisRateGate:
    """:class:`RateGate`'s state in Redis: every process using the same ``url`` and ``prefix``
    shares each link's pace and holds. Should Redis be unreachable, the process falls back on
    its own :class:`RateGate` (logged) rather than failing sends."""

    CALM = RateGate.CALM
    FIRST_INTERVAL = RateGate.FIRST_INTERVAL
    MAX_INTERVAL = RateGate.MAX_INTERVAL
    #: Seconds a link's state outlives its last use.
    TTL = 3600

    def __init__(self, url: str, prefix: str = "classeur:meg_export:gate") -> None:
        import redis

        self.url = url
        self.prefix = prefix
        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._script = self._redis.register_script(_SCRIPT)
        self._fallback = RateGate()
        self._errors = redis.RedisError

    def _key(self, key: Key) -> str:
        return f"{self.prefix}:" + ":".join(str(part) for part in key)

    def _run(self, op: str, key: Key, seconds: float = 0.0) -> float | None:
        try:
            value = self._script(
                keys=[self._key(key)],
                args=[
                    op,
                    self.CALM,
                    self.FIRST_INTERVAL,
                    self.MAX_INTERVAL,
                    self.TTL,
                    float(seconds),
                ],
            )
        except self._errors as exc:
            log.warning("MEG rate gate: Redis unreachable (%s), pacing in this process", exc)
            return None
        return float(value)

    def reserve(self, key: Key) -> float:
        """Take the next send slot of ``key`` (across processes); the seconds to wait."""
        value = self._run("reserve", key)
        return self._fallback.reserve(key) if value is None else value

    def remaining(self, key: Key) -> float:
        """Seconds before ``key`` may send again (0 when free); takes no slot."""
        value = self._run("remaining", key)
        return self._fallback.remaining(key) if value is None else value

    def success(self, key: Key) -> None:
        """A send went through: quicken the shared pace."""
        if self._run("success", key) is None:
            self._fallback.success(key)

    def block(self, key: Key, seconds: float) -> None:
        """MEG answered 429: hold ``key`` for every process for ``seconds``."""
        if self._run("block", key, seconds) is None:
            self._fallback.block(key, seconds)

    @property
    def hits(self) -> int:
        """429 answers met by every process (the links' counters summed)."""
        try:
            total = 0
            for name in self._redis.scan_iter(match=f"{self.prefix}:*", count=500):
                total += int(self._redis.hget(name, "hits") or 0)
            return total + self._fallback.hits
        except self._errors:
            return self._fallback.hits


def redis_url(config: Any) -> str | None:
    """The Redis the workers share, if any: ``MEG_RATE_STORAGE_URL``, else the Celery broker
    (``BROKER_URL``) or the login limiter's storage (``RATELIMIT_STORAGE_URI``) when either is
    a Redis URL. None in the embedded default."""
    explicit = str(config.get("MEG_RATE_STORAGE_URL") or "")
    if explicit:
        return None if explicit.startswith("memory") else explicit
    for name in ("BROKER_URL", "RATELIMIT_STORAGE_URI"):
        value = str(config.get(name) or "")
        if value.startswith(("redis://", "rediss://", "unix://")):
            return value
    return None


def make_gate(config: Any) -> RateGate | RedisRateGate:
    """A gate shared through Redis in scale-out, this process's own in the embedded mode."""
    url = redis_url(config)
    if url is None:
        return RateGate()
    prefix = f"classeur:{config.get('INSTALL_ID') or 'x'}:meg_export:gate"
    return RedisRateGate(url, prefix)
