"""How long tasks take: the recent run times of each kind of request, bounded and decaying, read as a distribution.

A run time is known as a span: exactly (the server's ``updatedDate - createdDate`` of the first finished status,
``low == high``) or only as lying between the last status call that saw the task unfinished and the first that
saw it finished. Each span is smeared a little (see `_smear`) and the spans of a kind, newest weighing most,
make a piecewise-linear distribution. A kind with little history leans on a backdrop worth `BACKDROP_WEIGHT`
observations: the other kinds' recent spans, or, in a client with none, `PRIOR`.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
from collections import OrderedDict, deque
from collections.abc import Iterable, Mapping, Sequence

Kind = tuple[str, int]
"""A kind of request whose tasks plausibly take alike: ``(resolution, input images)``, the images capped at 4."""

Span = tuple[float, float]
"""A run time in seconds, known to lie in ``[low, high]``."""

ANY_KIND: Kind = ("any", -1)
"""The kind of a wait whose request is unknown (a batch, or a wait on a task created elsewhere)."""

WINDOW = 48
"""Spans kept per kind: enough for stable quantiles, few enough to follow a service that changes."""
HALF_LIFE = 12.0
"""Observations after which a span weighs half as much as the newest: a drifting service is followed in a dozen."""
MAX_KINDS = 16
"""Kinds kept; the least recently observed is forgotten first."""
BACKDROP_WEIGHT = 1.0
"""What the backdrop (other kinds, or the prior) weighs, in observations."""
MAX_RUN_TIME = 3600.0
"""Longer spans are clipped: a wait that long says nothing useful about where to look next time."""

PRIOR: tuple[tuple[float, float, float], ...] = (
    (0.5, 10.0, 0.3),
    (10.0, 25.0, 0.15),
    (25.0, 45.0, 0.45),
    (45.0, 90.0, 0.1),
)
"""``(low, high, share)``: the capture's task took 35.4 s; the emulator's and quick jobs take seconds."""


def kind_of(resolution: str, images: int) -> Kind:
    """The kind of a request with this output resolution and number of input images."""
    return (resolution, min(max(images, 0), 4))


def _smear(low: float, high: float) -> Span:
    """A span widened by a bandwidth that grows with the run time, so a few observations still cover a range."""
    width = max(0.25, 0.03 * high)
    return max(0.0, low - width), high + width


class Distribution:
    """A piecewise-linear cumulative distribution of run times, from weighted spans.

    Args:
        spans: ``(low, high, weight)`` triples; ``low < high`` (a point is smeared first).
    """

    __slots__ = ("_cdf", "_xs")

    def __init__(self, spans: Iterable[tuple[float, float, float]]) -> None:
        # Each span adds a constant density between its ends: sweep the ends, integrating the density.
        events: list[tuple[float, float]] = []
        for low, high, weight in spans:
            events += [(low, weight / (high - low)), (high, -weight / (high - low))]
        events.sort()
        xs, cdf = [0.0], [0.0]
        density = 0.0
        for x, change in events:
            if x > xs[-1]:
                cdf.append(cdf[-1] + density * (x - xs[-1]))
                xs.append(x)
            density += change
        total = cdf[-1] or 1.0
        self._xs = xs
        self._cdf = [c / total for c in cdf]

    def cdf(self, x: float) -> float:
        """The share of run times at most ``x`` seconds."""
        xs = self._xs
        i = bisect.bisect_right(xs, x)
        if i >= len(xs):
            return 1.0
        if i == 0:
            return 0.0
        x0, x1 = xs[i - 1], xs[i]
        c0, c1 = self._cdf[i - 1], self._cdf[i]
        return c0 + (c1 - c0) * (x - x0) / (x1 - x0)

    def quantile(self, share: float) -> float:
        """The run time below which ``share`` (0 to 1) of run times fall."""
        cdf = self._cdf
        i = min(max(bisect.bisect_left(cdf, share), 1), len(cdf) - 1)
        c0, c1 = cdf[i - 1], cdf[i]
        x0, x1 = self._xs[i - 1], self._xs[i]
        return x1 if c1 <= c0 else x0 + (x1 - x0) * (min(max(share, c0), c1) - c0) / (c1 - c0)


def prior_distribution() -> Distribution:
    """The run times a client with no history expects."""
    return Distribution(PRIOR)


class TaskTimings:
    """The recent run times of each kind of request.

    Not thread-safe: one client's event loop uses it. `version` grows with every observation, so a reader can
    tell when what it derived is stale.

    Args:
        window: Spans kept per kind.
        max_kinds: Kinds kept.
    """

    def __init__(self, *, window: int = WINDOW, max_kinds: int = MAX_KINDS) -> None:
        self._window = window
        self._max_kinds = max_kinds
        # Each span carries a global sequence number, so the backdrop can take the newest across kinds.
        self._spans: OrderedDict[Kind, deque[tuple[int, Span]]] = OrderedDict()
        self._fresh: dict[Kind, list[Span]] = {}
        self._counter = itertools.count()
        self.version = 0

    def observe(self, kind: Kind, span: Span, *, fresh: bool = True) -> None:
        """Record that a task of ``kind`` ran for ``span`` seconds.

        Args:
            kind: The kind of its request.
            span: Its run time, exact (``low == high``) or as bounds.
            fresh: Learned here (kept for `take_fresh`), rather than loaded from a file.
        """
        low = min(max(0.0, span[0]), MAX_RUN_TIME)
        high = min(max(low, span[1]), MAX_RUN_TIME)
        spans = self._spans.get(kind)
        if spans is None:
            spans = self._spans[kind] = deque(maxlen=self._window)
            if len(self._spans) > self._max_kinds:
                forgotten, _ = self._spans.popitem(last=False)
                self._fresh.pop(forgotten, None)
        self._spans.move_to_end(kind)
        spans.append((next(self._counter), (low, high)))
        if fresh:
            self._fresh.setdefault(kind, []).append((low, high))
        self.version += 1

    def count(self, kind: Kind) -> int:
        """Spans kept for ``kind``."""
        spans = self._spans.get(kind)
        return len(spans) if spans is not None else 0

    def distribution(self, kind: Kind) -> Distribution:
        """The run times of ``kind``: its own spans, newest weighing most, over the backdrop."""
        own = self._spans.get(kind, ())
        weighted = [(*_smear(*span), 0.5 ** (age / HALF_LIFE)) for age, (_, span) in enumerate(reversed(own))]
        others = [item for other, spans in self._spans.items() if other != kind for item in spans]
        if others:
            newest = heapq.nlargest(self._window, others)
            weighted += [(*_smear(*span), BACKDROP_WEIGHT / len(newest)) for _, span in newest]
        else:
            weighted += [(low, high, BACKDROP_WEIGHT * share) for low, high, share in PRIOR]
        return Distribution(weighted)

    def snapshot(self) -> dict[Kind, list[Span]]:
        """Every kind's spans, oldest first."""
        return {kind: [span for _, span in spans] for kind, spans in self._spans.items()}

    def take_fresh(self) -> dict[Kind, list[Span]]:
        """The spans observed here since the last call (for saving), oldest first; forgets them."""
        fresh, self._fresh = self._fresh, {}
        return fresh

    def load(self, saved: Mapping[Kind, Sequence[Span]]) -> None:
        """Add spans read from a file, oldest first, as older than anything observed here."""
        mine = self.snapshot()
        self._spans.clear()
        for kind, spans in saved.items():
            for span in spans:
                self.observe(kind, span, fresh=False)
        for kind, spans in mine.items():
            for span in spans:
                self.observe(kind, span, fresh=False)
