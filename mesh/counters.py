"""Declared counters: each counter's name, help text and labels written once, read by the
exporter through :class:`MetricsSource` (never by ``getattr`` or name substrings).

Pure: no clock, no prometheus_client. The HTTP shell turns :class:`Sample` values into
Prometheus families; tests and ``/v1/...`` status routes read :meth:`Counters.as_dict`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

Kind = Literal["counter", "gauge"]


@dataclass(frozen=True, slots=True)
class CounterDef:
    """One declared counter: ``name`` (exported as ``<prefix>_<name>``), its help text, and
    the label names its values are split by (none for a plain total)."""

    name: str
    help: str
    labels: tuple[str, ...] = ()
    kind: Kind = "counter"


@dataclass(frozen=True, slots=True)
class Sample:
    """One exported family: full metric name, help, kind, label names and the values by
    label tuple (``()`` for an unlabelled counter)."""

    name: str
    help: str
    kind: Kind
    labels: tuple[str, ...]
    values: Mapping[tuple[str, ...], float]


@runtime_checkable
class MetricsSource(Protocol):
    """Anything whose figures the metrics endpoint exports."""

    def metric_samples(self) -> Iterable[Sample]:
        """The current value of every declared family."""
        ...


class Counters:
    """A fixed set of declared counters. Counting an undeclared name raises ``KeyError``: a
    typo is a bug, not a new metric."""

    __slots__ = ("_defs", "_prefix", "_values")

    def __init__(self, prefix: str, defs: Iterable[CounterDef]) -> None:
        self._prefix = prefix
        self._defs: dict[str, CounterDef] = {}
        for d in defs:
            if d.name in self._defs:
                raise ValueError(f"counter {d.name!r} declared twice")
            self._defs[d.name] = d
        self._values: dict[str, dict[tuple[str, ...], float]] = {n: {} for n in self._defs}

    def inc(self, name: str, n: float = 1, labels: tuple[str, ...] = ()) -> None:
        """Add ``n`` to counter ``name`` (with ``labels``, one value per declared label)."""
        d = self._defs[name]
        if len(labels) != len(d.labels):
            raise ValueError(f"counter {name!r} takes labels {d.labels}, got {labels}")
        values = self._values[name]
        values[labels] = values.get(labels, 0) + n

    def set(self, name: str, value: float, labels: tuple[str, ...] = ()) -> None:
        """Set gauge ``name`` to ``value``."""
        d = self._defs[name]
        if d.kind != "gauge":
            raise ValueError(f"{name!r} is a counter; only gauges are set")
        if len(labels) != len(d.labels):
            raise ValueError(f"gauge {name!r} takes labels {d.labels}, got {labels}")
        self._values[name][labels] = value

    def __getitem__(self, name: str) -> float:
        """The total of counter ``name`` over all its labels (0 if never counted)."""
        self._defs[name]
        return sum(self._values[name].values())

    def get(self, name: str, labels: tuple[str, ...]) -> float:
        """The value of ``name`` for one label tuple (0 if never counted)."""
        self._defs[name]
        return self._values[name].get(labels, 0)

    def as_dict(self) -> dict[str, float]:
        """Every declared counter's total, by name (zeros included)."""
        return {name: sum(v.values()) for name, v in self._values.items()}

    def definitions(self) -> Iterator[CounterDef]:
        """The declarations, in declaration order (for docs and help output)."""
        return iter(self._defs.values())

    def metric_samples(self) -> Iterator[Sample]:
        for name, d in self._defs.items():
            values = dict(self._values[name])
            if not d.labels and not values:
                values = {(): 0}
            yield Sample(f"{self._prefix}_{name}", d.help, d.kind, d.labels, values)
