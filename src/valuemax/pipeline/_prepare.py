"""Read and clean a log for any job: the shared first two steps, and ``inspect()``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from valuemax._core.schema import normalise_name
from valuemax.clean import clean
from valuemax.engines import connect
from valuemax.io import read_transactions

_COUNTRY_NAMES = {"country", "国家", "国家地区", "countryregion"}


@dataclass(frozen=True)
class Inspection:
    """What ``inspect()`` returns: how the source was read and the quality report."""

    ingest: dict[str, Any]
    quality: Any


@dataclass(frozen=True)
class ReadOptions:
    """How to read the source: the arguments of :func:`valuemax.io.read_transactions`."""

    columns: Sequence[str] | None = None
    mapping: Mapping[str, str] | None = None
    date_format: str | Sequence[str] | None = None
    encoding: str | None = None
    sheet: str | int | None = None
    decimal: Literal[".", ","] = "."

    def read(self, source: Any, con: Any) -> Any:
        """Read ``source`` into ``con``; returns :class:`valuemax.io.Ingested`."""
        return read_transactions(
            source, con=con, columns=self.columns, mapping=self.mapping,
            date_format=self.date_format, encoding=self.encoding, sheet=self.sheet,
            decimal=self.decimal,
        )


def default_returns(returns: str | None, preset: str, ingested: Any) -> str:
    """``returns`` as given, else ``"net"`` for the standard preset, ``"exclude"`` otherwise.

    Netting matches a return to the customer's earlier purchase of the same product, or by
    amount in a log without products (``valuemax.clean.clean``); the classic preset
    reproduces the published rule set (exclude). ``ingested`` is kept for the signature.
    """
    if returns is not None:
        return returns
    return "net" if preset == "standard" else "exclude"


def country_column(extra: Sequence[str]) -> str | None:
    """The extra column holding the customer's country, if the log has one."""
    for name in extra:
        if normalise_name(name) in _COUNTRY_NAMES:
            return name
    return None


def read_and_clean(source: Any, con: Any, read: ReadOptions, *, preset: str,
                   observation_end: Any, returns: str | None) -> tuple[Any, Any, str]:
    """Read then clean ``source`` in ``con``; returns ``(ingested, cleaned, returns)``."""
    ingested = read.read(source, con)
    returns = default_returns(returns, preset, ingested)
    cleaned = clean(ingested, preset=preset, observation_end=observation_end, returns=returns)
    return ingested, cleaned, returns


def inspect(
    source: Any,
    *,
    columns: Sequence[str] | None = None,
    mapping: Mapping[str, str] | None = None,
    date_format: str | Sequence[str] | None = None,
    encoding: str | None = None,
    sheet: str | int | None = None,
    decimal: Literal[".", ","] = ".",
    preset: str = "standard",
    observation_end: date | datetime | str | None = None,
    returns: str | None = None,
) -> Inspection:
    """Read and clean ``source`` in memory; return the mapping and the quality report.

    Parameters are those of :func:`valuemax.pipeline.analyze`. Nothing is written.

    Returns
    -------
    Inspection

    Raises
    ------
    InputError
        On unreadable input or invalid options.
    """
    con = connect(None)
    try:
        read = ReadOptions(columns, mapping, date_format, encoding, sheet, decimal)
        ingested, cleaned, _ = read_and_clean(source, con, read, preset=preset,
                                              observation_end=observation_end,
                                              returns=returns)
        return Inspection(ingest=ingested.to_dict(), quality=cleaned.report)
    finally:
        con.disconnect()
