"""Fault and latency injection: a mutable config that tests change at runtime, deterministic under a seed."""

from __future__ import annotations

import math
import random
import re
import threading
from dataclasses import dataclass, field
from typing import Any

LATENCY_DISTRIBUTIONS = ("fixed", "uniform", "lognormal")


@dataclass
class FailRule:
    """Answer the next ``times`` requests matching METHOD and the path regex with ``status`` + ``body``."""

    method: str
    path_regex: str
    status: int
    body: Any
    times: int = 1
    headers: dict[str, str] = field(default_factory=dict)

    def matches(self, method: str, path: str) -> bool:
        return self.method.upper() in ("*", method.upper()) and re.search(self.path_regex, path) is not None


@dataclass
class Faults:
    """All knobs default to "no fault". Rates are probabilities in [0, 1]."""

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    latency_dist: str = "fixed"
    error_rate_5xx: float = 0.0
    error_status: int = 500
    rate_limit_rate: float = 0.0
    stream_cut_rate: float = 0.0
    stream_cut_after: int = 2
    stream_cut_mode: str = "clean"  # "clean": the chunked body ends; "abort": the connection drops
    midstream_error_rate: float = 0.0
    stream_chunk_delay_ms: float = 0.0
    hang: bool = False
    scope: str = r"^/(v1|console/api)(/|$)"
    rng_seed: int = 0
    _rules: list[FailRule] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _rng: random.Random = field(default_factory=random.Random, repr=False)

    def __post_init__(self) -> None:
        self._rng.seed(self.rng_seed)

    def reseed(self, seed: int) -> None:
        with self._lock:
            self.rng_seed = seed
            self._rng.seed(seed)

    def reset(self) -> None:
        """Back to no faults (keeps the seed, restarts the random sequence)."""
        with self._lock:
            self.latency_ms = self.jitter_ms = 0.0
            self.latency_dist = "fixed"
            self.error_rate_5xx = self.rate_limit_rate = 0.0
            self.error_status = 500
            self.stream_cut_rate = self.midstream_error_rate = 0.0
            self.stream_cut_after = 2
            self.stream_cut_mode = "clean"
            self.stream_chunk_delay_ms = 0.0
            self.hang = False
            self._rules.clear()
            self._rng.seed(self.rng_seed)

    def in_scope(self, path: str) -> bool:
        return re.search(self.scope, path) is not None

    def roll(self, rate: float) -> bool:
        if rate <= 0:
            return False
        with self._lock:
            return self._rng.random() < rate

    def latency_seconds(self) -> float:
        base = max(self.latency_ms, 0.0)
        jitter = max(self.jitter_ms, 0.0)
        if base == 0 and jitter == 0:
            return 0.0
        with self._lock:
            if self.latency_dist == "uniform":
                value = self._rng.uniform(base - jitter, base + jitter)
            elif self.latency_dist == "lognormal" and base > 0:
                sigma = jitter / base if jitter else 0.25
                value = self._rng.lognormvariate(math.log(base), sigma)
            else:
                value = base
        return max(value, 0.0) / 1000.0

    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int,
        body: Any = None,
        *,
        times: int = 1,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Queue a one-shot failure (``times`` matching requests)."""
        if body is None:
            body = {"code": "internal_server_error", "message": "Injected failure", "status": status}
        with self._lock:
            self._rules.append(FailRule(method, path_regex, status, body, times, dict(headers or {})))

    def take_rule(self, method: str, path: str) -> FailRule | None:
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, path):
                    rule.times -= 1
                    if rule.times <= 0:
                        self._rules.remove(rule)
                    return rule
        return None

    @property
    def pending_rules(self) -> int:
        with self._lock:
            return len(self._rules)
