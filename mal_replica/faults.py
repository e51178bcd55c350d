"""Fault injection: decide, per request, whether the replica misbehaves and how.

Two mechanisms, both repeatable so tests can assert exact outcomes:
- rates: each content request draws a number from a hash of (seed, URL, attempt number), so
  the n-th request of a URL always gets the same fate, whatever the request order;
- rules: explicit per-path instructions ("the next 2 requests to this path get 429"), matched
  by exact path or shell-style glob, consumed in order, taking precedence over rates.
"""

from __future__ import annotations

import fnmatch
import hashlib
import threading
from collections import defaultdict
from dataclasses import asdict, dataclass, field, fields

FAULT_KINDS = ("not_found", "rate_limit", "server_error", "truncated", "malformed", "slow")
# Hostile pages (mal_replica.hostile): by explicit rule only, never drawn by rate.
HOSTILE_KINDS = ("offhost_redirect", "identity_mismatch", "huge_numbers", "markup_title")


class FaultConfigError(ValueError):
    """A fault setting that cannot be applied."""


@dataclass
class FaultRates:
    """Probability of each fault per content request (their sum must stay <= 1)."""

    not_found: float = 0.0
    rate_limit: float = 0.0
    server_error: float = 0.0
    truncated: float = 0.0
    malformed: float = 0.0
    slow: float = 0.0
    slow_seconds: float = 1.0
    retry_after: int = 1
    server_error_status: int = 503
    seed: int = 0

    def validate(self) -> None:
        total = 0.0
        for kind in FAULT_KINDS:
            rate = getattr(self, kind)
            if not 0.0 <= rate <= 1.0:
                raise FaultConfigError(f"rate {kind} must be within [0, 1], got {rate}")
            total += rate
        if total > 1.0 + 1e-9:
            raise FaultConfigError(f"fault rates sum to {total:.3f} > 1")
        if self.slow_seconds < 0 or self.retry_after < 0:
            raise FaultConfigError("slow_seconds and retry_after must be >= 0")
        if not 500 <= self.server_error_status <= 599:
            raise FaultConfigError("server_error_status must be a 5xx code")

    @classmethod
    def from_dict(cls, values: dict) -> FaultRates:
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise FaultConfigError(f"unknown fault rate settings: {sorted(unknown)}")
        rates = cls(**values)
        rates.validate()
        return rates


@dataclass
class FaultRule:
    """Apply ``fault`` to requests whose path matches ``path`` (glob), ``remaining`` times."""

    path: str
    fault: str
    remaining: int | None = 1
    status: int | None = None
    retry_after: int | None = None
    delay: float | None = None
    location: str | None = None  # offhost_redirect: where to

    def validate(self) -> None:
        if self.fault not in FAULT_KINDS + HOSTILE_KINDS:
            raise FaultConfigError(
                f"fault must be one of {FAULT_KINDS + HOSTILE_KINDS}, got {self.fault!r}"
            )
        if self.fault == "offhost_redirect" and not (self.location or "").startswith(
            ("http://", "https://", "//")
        ):
            raise FaultConfigError("an offhost_redirect rule needs an absolute 'location'")
        if not self.path.startswith("/"):
            raise FaultConfigError(f"rule path must start with '/', got {self.path!r}")
        if self.remaining is not None and self.remaining < 1:
            raise FaultConfigError("remaining must be >= 1 (or None for every request)")

    @classmethod
    def from_dict(cls, values: dict) -> FaultRule:
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise FaultConfigError(f"unknown fault rule fields: {sorted(unknown)}")
        if "path" not in values or "fault" not in values:
            raise FaultConfigError("a fault rule needs 'path' and 'fault'")
        rule = cls(**values)
        rule.validate()
        return rule

    def matches(self, path: str) -> bool:
        return path == self.path or fnmatch.fnmatchcase(path, self.path)


@dataclass(frozen=True)
class Fault:
    kind: str
    status: int
    retry_after: int | None = None
    delay: float = 0.0
    draw: float = 0.0
    location: str | None = None


def uniform_draw(seed: int, url: str, attempt: int) -> float:
    """A number in [0, 1) fixed by (seed, url, attempt): the request's fate, reproducibly."""
    digest = hashlib.blake2b(f"{seed}|{url}|{attempt}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def decide_by_rates(rates: FaultRates, url: str, attempt: int) -> Fault | None:
    u = uniform_draw(rates.seed, url, attempt)
    edge = 0.0
    for kind in FAULT_KINDS:
        edge += getattr(rates, kind)
        if u < edge:
            return _fault(kind, rates, None, u)
    return None


def _fault(kind: str, rates: FaultRates, rule: FaultRule | None, draw: float) -> Fault:
    status = {
        "not_found": 404,
        "rate_limit": 429,
        "server_error": rates.server_error_status,
    }.get(kind, 200)
    if rule is not None and rule.status is not None:
        status = rule.status
    retry_after = None
    if kind == "rate_limit":
        retry_after = rule.retry_after if rule and rule.retry_after is not None else None
        retry_after = rates.retry_after if retry_after is None else retry_after
    delay = 0.0
    if kind == "slow":
        delay = rule.delay if rule and rule.delay is not None else rates.slow_seconds
    if kind == "offhost_redirect":
        status = 302
    location = rule.location if rule is not None else None
    return Fault(kind, status, retry_after, delay, draw, location)


@dataclass
class FaultInjector:
    """The replica's live fault state; safe to change from another thread while serving."""

    rates: FaultRates = field(default_factory=FaultRates)
    rules: list[FaultRule] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def decide(self, url: str, path: str, rates_apply: bool) -> Fault | None:
        """The fault for this request (None = answer normally); counts the attempt."""
        with self._lock:
            attempt = self.attempts[url]
            self.attempts[url] = attempt + 1
            for rule in self.rules:
                if rule.matches(path):
                    if rule.remaining is not None:
                        rule.remaining -= 1
                        if rule.remaining <= 0:
                            self.rules.remove(rule)
                    return _fault(rule.fault, self.rates, rule, 0.0)
            if not rates_apply:
                return None
            return decide_by_rates(self.rates, url, attempt)

    def configure(
        self,
        rates: dict | None = None,
        rules: list[dict] | None = None,
        replace_rules: bool = False,
    ) -> None:
        new_rates = FaultRates.from_dict({**asdict(self.rates), **(rates or {})})
        new_rules = [FaultRule.from_dict(r) for r in (rules or [])]
        with self._lock:
            self.rates = new_rates
            self.rules = new_rules if replace_rules else self.rules + new_rules

    def reset(self) -> None:
        with self._lock:
            self.rates = FaultRates(seed=self.rates.seed)
            self.rules = []
            self.attempts.clear()

    def snapshot(self) -> dict:
        with self._lock:
            return {
                "rates": asdict(self.rates),
                "rules": [asdict(r) for r in self.rules],
                "kinds": list(FAULT_KINDS),
                "hostile_kinds": list(HOSTILE_KINDS),
            }
