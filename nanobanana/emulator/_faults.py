"""Fault injection: `Fault` (what goes wrong) and `Faults` (when: scripted, or at a seeded rate)."""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

FaultKind = Literal["status", "html_challenge", "malformed_json", "slow", "drop", "truncate"]

#: The endpoints faults can be attached to; ``"*"`` means every one of them.
ENDPOINTS = (
    "create",
    "status",
    "upload",
    "download",
    "csrf",
    "email-verification",
    "callback",
    "session",
    "signout",
)


@dataclass(frozen=True)
class Fault:
    """One way for a request to go wrong. Build one with the class methods.

    Attributes:
        kind: What happens.
        status_code: The HTTP status answered (``status`` and ``html_challenge`` faults).
        retry_after: The ``Retry-After`` header's value, if any.
        seconds: How long a ``slow`` answer is held back.
        after_processing: For ``drop``: the request is carried out (a task is created) before the
            connection is dropped, so the client cannot know whether it arrived.
    """

    kind: FaultKind
    status_code: int = 200
    retry_after: str | None = None
    seconds: float = 0.0
    after_processing: bool = False

    @classmethod
    def status(cls, code: int, *, retry_after: float | str | None = None) -> Fault:
        """Answer ``code`` with a JSON error body (``Retry-After`` set when given), doing nothing."""
        if not 400 <= code <= 599:
            raise ValueError("a status fault answers an error status, 400 to 599")
        after = None if retry_after is None else str(retry_after)
        return cls("status", status_code=code, retry_after=after)

    @classmethod
    def rate_limited(cls, retry_after: float | str | None = 1) -> Fault:
        """Answer 429 Too Many Requests with ``Retry-After``."""
        return cls.status(429, retry_after=retry_after)

    @classmethod
    def html_challenge(cls, status: int = 403) -> Fault:
        """Answer a Cloudflare-style HTML challenge page (403, 503, or even 200) instead of JSON."""
        return cls("html_challenge", status_code=status)

    @classmethod
    def malformed_json(cls) -> Fault:
        """Answer 200 with a JSON content type and a body cut off mid-object."""
        return cls("malformed_json")

    @classmethod
    def slow(cls, seconds: float) -> Fault:
        """Hold the answer back ``seconds``, then answer normally."""
        if seconds < 0:
            raise ValueError("seconds must be >= 0")
        return cls("slow", seconds=seconds)

    @classmethod
    def drop(cls, *, after_processing: bool = False) -> Fault:
        """Close the connection without an answer; with ``after_processing``, only after acting on it."""
        return cls("drop", after_processing=after_processing)

    @classmethod
    def truncate(cls) -> Fault:
        """For downloads: announce the full ``Content-Length``, send half the body, close the connection."""
        return cls("truncate")


@dataclass(frozen=True)
class FiredFault:
    """A fault that was applied: to which endpoint, and which fault."""

    endpoint: str
    fault: Fault


@dataclass
class _Rate:
    fault: Fault
    probability: float


@dataclass
class Faults:
    """The faults waiting to happen. Reached as ``emu.faults``.

    Scripted faults fire first, in the order given, on the next matching requests; rates apply to the
    requests no script claims. ``fired`` lists what was applied, for assertions.

    Example:
        ```python
        emu.faults.script("status", Fault.status(502), times=2)  # the next 2 status calls answer 502
        emu.faults.rate("create", Fault.rate_limited(1), probability=0.05)
        ```
    """

    rng: random.Random = field(default_factory=random.Random)
    fired: list[FiredFault] = field(default_factory=list)
    _scripts: dict[str, deque[Fault]] = field(default_factory=dict)
    _rates: dict[str, list[_Rate]] = field(default_factory=dict)

    def script(self, endpoint: str, fault: Fault, *, times: int = 1) -> None:
        """Make the next ``times`` requests to ``endpoint`` (or ``"*"``: any endpoint) suffer ``fault``."""
        self._check(endpoint)
        if times < 1:
            raise ValueError("times must be >= 1")
        self._scripts.setdefault(endpoint, deque()).extend([fault] * times)

    def rate(self, endpoint: str, fault: Fault, *, probability: float) -> None:
        """Make each request to ``endpoint`` (or ``"*"``) suffer ``fault`` with ``probability``, seeded."""
        self._check(endpoint)
        if not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")
        self._rates.setdefault(endpoint, []).append(_Rate(fault, probability))

    def clear(self) -> None:
        """Forget every scripted fault and rate (``fired`` is kept)."""
        self._scripts.clear()
        self._rates.clear()

    @property
    def pending(self) -> int:
        """Scripted faults not fired yet."""
        return sum(len(queue) for queue in self._scripts.values())

    def count(self, endpoint: str | None = None, kind: FaultKind | None = None) -> int:
        """How many faults fired, for one endpoint and/or kind."""
        return sum(
            1
            for event in self.fired
            if (endpoint is None or event.endpoint == endpoint) and (kind is None or event.fault.kind == kind)
        )

    def take(self, endpoint: str) -> Fault | None:
        """The fault for the request now arriving at ``endpoint``, if any (the emulator calls this)."""
        for key in (endpoint, "*"):
            queue = self._scripts.get(key)
            if queue:
                return self._fire(endpoint, queue.popleft())
        for key in (endpoint, "*"):
            for rate in self._rates.get(key, ()):
                if self.rng.random() < rate.probability:
                    return self._fire(endpoint, rate.fault)
        return None

    def _fire(self, endpoint: str, fault: Fault) -> Fault:
        self.fired.append(FiredFault(endpoint, fault))
        return fault

    @staticmethod
    def _check(endpoint: str) -> None:
        if endpoint != "*" and endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}; use one of {', '.join(ENDPOINTS)} or '*'")
