"""One-part jobs: read and clean a log, then run only the value step (``valuemax clv``)."""

from __future__ import annotations

import csv
import dataclasses
import gzip
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from valuemax._core.exceptions import InputError
from valuemax._core.validation import check_time_unit
from valuemax.engines import connect
from valuemax.features import customer_table
from valuemax.pipeline._prepare import ReadOptions, privacy_options, read_and_clean, read_options
from valuemax.pipeline._value import ValueResult, check_value_options, run_value


def customer_value(
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
    time_unit: Literal["D", "W"] = "D",
    calibration_end: date | datetime | str | None = None,
    clv_horizon: int = 12,
    discount_rate: float = 0.01,
    margin: float = 1.0,
    clv_model: Literal["auto", "bgnbd", "mbgnbd", "pareto"] = "auto",
    seed: int = 0,
    pseudonymize: bool = False,
    pseudonym_key: Any = None,
    pseudonym_key_file: str | Path | None = None,
    keep_pii: Sequence[str] | None = None,
) -> ValueResult:
    """Read and clean ``source``, then run only the customer-value step; nothing is written.

    Parameters are those of :func:`valuemax.pipeline.analyze` (``pseudonymize=True``: the
    CLV table's ids are keyed pseudonyms).

    Returns
    -------
    ValueResult
        The chosen purchase model (refitted on the whole period), Gamma-Gamma, the model
        comparison on the holdout and the per-customer CLV table (``.table``).

    Raises
    ------
    InputError
        On unreadable input, invalid options, or too few repeat buyers to fit a model.
    ConvergenceError
        If no purchase model converges.
    """
    check_time_unit(time_unit)
    check_value_options(clv_horizon, discount_rate, margin, clv_model)
    key, keep = privacy_options(pseudonymize, pseudonym_key, pseudonym_key_file, keep_pii)
    con = connect(None)
    try:
        read = ReadOptions(columns, mapping, date_format, encoding, sheet, decimal, key, keep)
        _, cleaned, _ = read_and_clean(source, con, read, preset=preset,
                                       observation_end=observation_end, returns=returns)
        con.create_table("transactions_clean", cleaned.transactions)
        # clean's result over its materialised lines: not re-scanned by the next stages
        tx = dataclasses.replace(cleaned, transactions=con.table("transactions_clean"))
        customers = customer_table(tx, time_unit=time_unit).to_pyarrow().to_pandas()
        value, reason = run_value(
            con, tx, customers, time_unit=time_unit,
            calibration_end=calibration_end, horizon_months=clv_horizon,
            discount_rate=discount_rate, margin=margin, model=clv_model, seed=seed)
        if value is None:
            raise InputError(f"customer value cannot be estimated: {reason}")
        return value
    finally:
        con.disconnect()


def looks_like_baskets(source: Any, *, encoding: str | None = None) -> str | None:
    """Why ``source`` looks like a one-basket-per-line file, or None.

    A text file (``.csv``/``.txt``, optionally ``.gz``) whose first 200 lines split on
    commas into different numbers of fields (ragged, so no table with a header), in which
    no field looks like a date or time and under a fifth of the fields are numbers: e.g.
    the arules Groceries export ``citrus fruit,semi-finished bread,margarine``.

    Returns
    -------
    str or None
        The evidence, for the user (e.g. ``"no header, lines of 1 to 4 fields, no dates"``).
    """
    if not isinstance(source, str | Path):
        return None
    from valuemax.basket._baskets import DATE_LIKE, NUMBER  # lazy: the CLI imports this module

    path = Path(source)
    name = path.name.lower().removesuffix(".gz")
    if not path.is_file() or not name.endswith((".csv", ".txt", ".basket", ".baskets")):
        return None
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read(1 << 16)
        text = raw.decode(encoding or "utf-8", errors="strict")
    except (OSError, UnicodeDecodeError, EOFError):
        return None
    lines = [line for line in text.splitlines()[:-1] if line.strip()][:200]
    if len(lines) < 3:
        return None
    rows = list(csv.reader(lines))
    widths = {len(r) for r in rows}
    cells = [c.strip() for r in rows for c in r if c.strip()]
    if len(widths) < 2 or not cells or any(DATE_LIKE.search(c) for c in cells):
        return None
    if sum(bool(NUMBER.match(c)) for c in cells) > len(cells) / 5:
        return None
    return (f"no header, lines of {min(widths)} to {max(widths)} comma-separated fields, "
            "no dates or amounts")


def association_rules(
    source: Any,
    *,
    input_format: Literal["auto", "transactions", "baskets", "long"] = "auto",
    min_support: float | None = None,
    min_confidence: float | None = None,
    min_lift: float | None = None,
    max_len: int | None = None,
    basket_columns: Sequence[str] = ("Member_number", "Date"),
    item_column: str = "itemDescription",
    n_recommendations: int = 5,
    seed: int = 0,
    **read_clean: Any,
) -> Any:
    """Association rules (and, for a transaction log, cross-sell recommendations).

    Parameters
    ----------
    input_format : {"auto", "transactions", "baskets", "long"}, default "auto"
        ``auto``: ``baskets`` when ``source`` is a file that :func:`looks_like_baskets`
        (one basket per line: headerless, ragged, no dates), else ``transactions``.
    source : path or table
        A transaction log (``input_format="transactions"``: read and cleaned as by
        :func:`valuemax.pipeline.analyze`, which takes ``read_clean`` keywords ``columns``,
        ``mapping``, ``date_format``, ``encoding``, ``sheet``, ``decimal``, ``preset``,
        ``observation_end``, ``returns``, and the privacy keywords ``pseudonymize``,
        ``pseudonym_key``, ``pseudonym_key_file``, ``keep_pii``); a plain basket file, one basket per line with
        comma-separated items (``"baskets"``); or a long table, one line per basket and
        item (``"long"``, e.g. ``Member_number, Date, itemDescription``).
    min_support, min_confidence, min_lift, max_len
        Thresholds; None: chosen from the data (:func:`valuemax.basket.choose_thresholds`,
        the reason stated in the result).
    basket_columns, item_column
        The long format's basket key and item columns.
    n_recommendations : int, default 5
        Suggestions per customer (transaction logs only).
    seed : int, default 0
        Seed of every random step.

    Returns
    -------
    valuemax.basket.BasketResult or valuemax.basket.RuleSet
        A BasketResult (rules, recommendations, holdout evaluation) for a transaction log;
        a RuleSet for basket files, which carry no customers or dates.

    Raises
    ------
    InputError
        On unreadable input, invalid thresholds, or an itemset blow-up (the message names
        the option that fixes it).
    """
    from valuemax.basket import (
        analyze_baskets,
        baskets_from_long,
        mine_rules,
        read_baskets,
    )
    from valuemax.basket._thresholds import resolve_thresholds

    if input_format == "auto":
        input_format = ("baskets" if looks_like_baskets(source,
                                                        encoding=read_clean.get("encoding"))
                        else "transactions")
    if input_format in ("baskets", "long"):
        baskets = (read_baskets(source, encoding=read_clean.get("encoding") or "utf-8")
                   if input_format == "baskets" else
                   baskets_from_long(source, tuple(basket_columns), item_column))
        th = resolve_thresholds(baskets, min_support=min_support,
                                min_confidence=min_confidence, min_lift=min_lift,
                                max_len=max_len)
        rs = mine_rules(baskets, min_support=th["min_support"],
                        min_confidence=th["min_confidence"], min_lift=th["min_lift"],
                        max_len=th["max_len"])
        # the reading's notes (lines without an item or key, blank lines) and the thresholds'
        # reason travel with the rules: the CLI prints both
        return dataclasses.replace(rs, notes=(*baskets.notes, *rs.notes),
                                   thresholds={**rs.thresholds, "reason": th["reason"]})
    if input_format != "transactions":
        raise InputError(f"input_format={input_format!r} is not one of ['auto', "
                         "'transactions', 'baskets', 'long']")
    con = connect(None)
    try:
        read = read_options(read_clean)
        clean_kw = {"preset": "standard", "observation_end": None, "returns": None,
                    **read_clean}
        try:
            _, cleaned, _ = read_and_clean(source, con, read, **clean_kw)
        except InputError as exc:
            why = looks_like_baskets(source, encoding=read.encoding)
            if why is None:
                raise
            raise InputError(f"{exc} The file looks like one basket per line ({why}): read "
                             "it with input_format='baskets' (CLI --input baskets).") from exc
        con.create_table("transactions_clean", cleaned.transactions)
        return analyze_baskets(
            dataclasses.replace(cleaned, transactions=con.table("transactions_clean")),
            min_support=min_support,
            min_confidence=min_confidence, min_lift=min_lift, max_len=max_len,
            n_recommendations=n_recommendations, random_state=seed)
    finally:
        con.disconnect()


def buy_propensity(
    source: Any,
    *,
    horizon: int = 90,
    cutoff: date | datetime | str | None = None,
    n_origins: int = 3,
    seed: int = 0,
    **read_clean: Any,
) -> Any:
    """Who buys next: the buy-again model of :func:`valuemax.propensity.fit_propensity`.

    Parameters
    ----------
    source : path or table
        A transaction log, read and cleaned as by :func:`valuemax.pipeline.analyze`
        (``read_clean`` keywords: ``columns``, ``mapping``, ``date_format``, ``encoding``,
        ``sheet``, ``decimal``, ``preset``, ``observation_end``, ``returns``, and
        ``pseudonymize``, ``pseudonym_key``, ``pseudonym_key_file``, ``keep_pii``).
    horizon : int, default 90
        Days after a cutoff in which a purchase counts as "buys again".
    cutoff : date or str, optional
        Holdout cutoff: features use the lines before it, the label the ``horizon`` days
        from it (default: observation end minus ``horizon``).
    n_origins : int, default 3
        Earlier rolling origins the training rows come from.
    seed : int, default 0
        Seed of every random step.

    Returns
    -------
    valuemax.propensity.PropensityResult
        Holdout metrics of the model and the baselines, plots' data, per-customer scores.

    Raises
    ------
    InputError
        On unreadable input, a cutoff outside the log, a log shorter than two horizons, or
        a holdout window with one class only.
    """
    from valuemax.propensity import fit_propensity

    con = connect(None)
    try:
        read = read_options(read_clean)
        clean_kw = {"preset": "standard", "observation_end": None, "returns": None,
                    **read_clean}
        _, cleaned, _ = read_and_clean(source, con, read, **clean_kw)
        con.create_table("transactions_clean", cleaned.transactions)
        # clean's result over its materialised lines: its observation end, no row re-scan
        return fit_propensity(
            dataclasses.replace(cleaned, transactions=con.table("transactions_clean")),
            horizon_days=horizon, cutoff=cutoff, n_origins=n_origins, random_state=seed)
    finally:
        con.disconnect()
