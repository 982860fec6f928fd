"""``clean()``: split a standardized log into clean transactions and a quarantine."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import ibis
import ibis.expr.types as ir

from valuemax._core.exceptions import InputError
from valuemax._core.schema import CANONICAL_COLUMNS
from valuemax._core.validation import check_choice, check_date
from valuemax.clean._obsend import default_observation_end, given_observation_end
from valuemax.clean._options import check_cancel_prefix, check_codes, check_ingested
from valuemax.clean._report import OUTLIER_Z, QualityReport, build_report
from valuemax.clean._returns import net_returns
from valuemax.clean._returns_amount import net_by_amount
from valuemax.clean._rules import (
    DEFAULT_NON_PRODUCT_CODES,
    DEFAULT_NON_PRODUCT_WORDS,
    PRESETS,
    RULE_ORDER,
    Rule,
    RuleContext,
    active_rules,
    any_fires,
    make_rules,
    reason_expr,
    unconfirmed_codes,
    with_code_flags,
)
from valuemax.clean._signs import opposite_signs, sign_note
from valuemax.engines import add_key, median_table, refresh_statistics, spark_checkpoint
from valuemax.engines._portable import backend_name

#: Optional canonical columns whose absence changes the rules.
_OPTIONAL = ("order_id", "product_id", "product_name", "unit_price")

#: Rules ordered before the return rules: a line failing one is neither a return nor a
#: purchase for netting.
_PRE_RETURN_CODES = frozenset(RULE_ORDER[:RULE_ORDER.index("cancellation")])


@dataclass(frozen=True)
class CleanResult:
    """What :func:`clean` returns.

    Attributes
    ----------
    transactions : ibis.Table
        Lazy expression: the clean lines, ordered by ``_row_id``: ``_row_id``, the canonical
        columns, the extra columns, ``is_outlier`` (bool) and, with ``returns="net"``,
        ``returned_quantity`` (float64 units deducted by later returns; 0 when none; NULL
        when netted in money on a line without a quantity).
    quarantine : ibis.Table
        Lazy expression: every other line with all raw columns as read (original values),
        ``_row_id`` and ``reason`` (the code of the first rule it failed).
    report : QualityReport
        Counts per rule; ``rows_in == rows_clean + rows_quarantined``.
    observation_end : datetime.date
        Last day (inclusive) of the observation period.
    money : bool
        True when every clean line has an ``amount`` (the log has prices); False for a log
        read without prices (``amount`` NULL on every line, see
        ``valuemax.io.ParsePlan.amount_from``). Counted in the query of the report.
    lines : ibis.Table or None
        Every line once, as labelled (computed once, on the engine that cleaned): at least
        ``_row_id``, ``customer_id`` (standardized) and ``reason`` (NULL on a clean line).
        For questions about all lines (e.g. customers whose every line is quarantined)
        without reading and parsing the log again. None when not available.

    Notes
    -----
    What the next stages trust without re-scanning the lines (the rules guarantee it in
    every preset): no clean line has a NULL ``customer_id`` or ``order_ts`` (parse rules),
    nor a NULL amount when ``money`` is True; none is dated after ``observation_end``
    (``after_observation_end`` when the end is given; the default end is the last date of
    the usable lines, which include every clean line); no amount is
    ``implausible_amount`` (:data:`~valuemax.clean._rules.PLAUSIBLE_AMOUNT_LIMIT` or more
    in size, or not a finite number). :func:`valuemax.features.customer_table`,
    :func:`~valuemax.features.calibration_holdout`,
    :func:`valuemax.propensity.fit_propensity` and :func:`valuemax.basket.build_baskets`
    take a ``CleanResult`` for that reason. A copy with ``transactions`` replaced by the
    same lines materialised elsewhere (``dataclasses.replace(res, transactions=...)``, as
    the pipeline does with its store table) keeps these guarantees; any other table does
    not.
    """

    transactions: ir.Table
    quarantine: ir.Table
    report: QualityReport
    observation_end: dt.date
    money: bool = True
    lines: ir.Table | None = None


def clean(
    ingested: Any,
    *,
    preset: Literal["standard", "classic", "none"] = "standard",
    observation_end: dt.date | str | None = None,
    returns: Literal["exclude", "net"] = "exclude",
    cancel_prefix: str | None = "C",
    non_product_codes: list[str] | tuple[str, ...] | None = None,
    outliers: Literal["flag", "off"] | None = None,
    require_clean: bool = True,
) -> CleanResult:
    """Split a transaction log into clean lines and a quarantine, accounting for every line.

    Each line gets the reason code of the *first* rule it fails, in the order of
    ``valuemax.clean.PRESETS[preset].rules``; lines failing none are clean. Nothing is
    deleted: the quarantine keeps the original values and the reason.

    Parameters
    ----------
    ingested : Ingested
        From :func:`valuemax.io.read_transactions`: ``raw`` (original columns and
        ``_row_id``), ``con``, ``extra_columns`` and ``standardized()``.
    preset : {"standard", "classic", "none"}
        Rule set, see :data:`PRESETS`. ``"classic"`` is the Online Retail literature's
        cleaning; ``"none"`` removes only unusable lines (parse errors).
    observation_end : datetime.date, datetime.datetime, str or None
        Last day (inclusive) of the observation period: ``'YYYY-MM-DD'``, a date, or a
        datetime at 00:00. Lines dated after it are quarantined as
        ``after_observation_end`` (in every preset when given). None: the date of the log's
        last transaction, inclusive, as lifetimes does: the last date of a line that passes
        the parse rules (customer id, date and amount usable) and has a plausible date,
        whatever the later rules say about it (a return on the last day is still netted or
        counted as a return); ``after_observation_end`` then never fires. A last date cut
        off from the rest of the log by a long gap is refused as a likely typo (the rule is
        in ``valuemax.clean._obsend.default_observation_end``: at most max(5, 0.1 % of the
        rows) lines after a gap of more than max(90 days, 25 % of the log's span)).
    returns : {"exclude", "net"}
        ``"exclude"``: cancellation and return lines are quarantined (``cancellation``,
        ``return``). ``"net"``: returns are deducted from the customer's purchases, never
        below zero; return lines are quarantined with the reason saying how they were
        netted, purchase lines netted to zero as ``fully_returned``. With a product column
        (``product_id``, else ``product_name`` when the log has names but no codes), each
        return comes off the customer's most recent earlier purchase line of the same
        product (quantity and amount reduced, capped at zero): ``return_netted`` or
        ``return_unmatched``. Without one, by amount (``valuemax.clean._returns_amount``):
        from the order the return's id names (``C536379`` -> ``536379``, ``1001-R`` ->
        ``1001``, or its own order), else the customer's purchases that day, else their
        earlier purchases, most recent first: ``return_netted_order``,
        ``return_netted_day``, ``return_netted_earlier`` or ``return_unmatched``; refunds
        no purchase could absorb are ``report.refunds_not_netted``. Not available with
        ``preset="none"``, which has no return rule: there return lines stay clean whatever
        ``returns`` says (``valuemax.pipeline.CleanOptions`` refuses ``returns`` given with
        that preset).
    cancel_prefix : str or None
        Order-id prefix of cancelled orders (``"C"`` in Online Retail, case-sensitive); None
        disables the ``cancellation`` rule (negative quantities are still returns).
    non_product_codes : list of str or None
        Product codes that are not product sales; an entry ending in ``*`` is a prefix;
        matched ignoring case and surrounding blanks. None: the preset's choice
        (``standard``: :data:`DEFAULT_NON_PRODUCT_CODES`, unless the log has no
        ``product_id`` column, each code only on lines whose description contains its
        word of :data:`DEFAULT_NON_PRODUCT_WORDS`, so that sizes "S"/"M" of another
        shop stay sales; a note counts the clean lines kept with such a code; others: no
        such rule); a list adds the rule to any preset, its codes whatever the
        description; ``()`` removes it.
    outliers : {"flag", "off"} or None
        ``"flag"``: ``is_outlier`` marks (and keeps) clean lines whose log(amount) has a
        modified z-score ``0.6745 (x - median) / MAD`` above 3.5 in absolute value
        (Iglewicz & Hoaglin 1993), median and MAD over the clean lines. ``"off"``: all
        False. None: the preset's choice (``standard``: flag; others: off).
    require_clean : bool, default True
        Refuse a log whose every line is quarantined (the message names the main rule and
        its fix). False when ``ingested`` is a part of a log, with ``observation_end``
        given: ``valuemax update`` re-cleans only the customers with new lines, whose lines
        may all be quarantined (one customer's full refund); the result then has no clean
        line.

    Returns
    -------
    CleanResult
        Lazy ``transactions`` and ``quarantine`` expressions, the ``report`` and the
        ``observation_end`` used.

    Raises
    ------
    InputError
        If an option is not one of its choices, ``observation_end`` is not a date (or has a
        time of day), ``ingested`` lacks a contract column, the log is empty, the default
        observation end would be a
        far-off date of a few lines (a likely typo; the message names them and the fix),
        or every line is quarantined (the message gives the counts per rule and how to fix
        the main one).

    Notes
    -----
    Dates before 1900-01-01 or after 2100-01-01 are quarantined as ``implausible_date`` in
    every preset, right after the parse rules. Without an order id column (``order_id``
    not in ``ingested.mapping``), ``duplicate_line`` is not applied: equal lines are then
    separate purchases on the same day (as in CDNOW), and a note says so. Nor without a
    product column (``product_id`` or ``product_name``): equal lines of one order are then
    as likely two items at the same price as a copy (dropping Online Retail's product
    columns would make 151,429 lines "duplicates" instead of 5,268).

    Runs one GROUP BY date query for the default observation end and one GROUP BY for the
    counts; the tables stay lazy (the pipeline materialises them). Online Retail's three
    bad-debt adjustment invoices (order ids ``A...``) are caught by ``non_product`` through
    their stock code ``B``: no rule looks at an ``A`` prefix, because many systems number
    ordinary orders with letters.

    References
    ----------
    .. [1] Iglewicz, B. & Hoaglin, D. (1993). How to Detect and Handle Outliers. ASQC.
    .. [2] Chen, D., Sain, S. L. & Guo, K. (2012). Data mining for the online retail
       industry. Journal of Database Marketing & Customer Strategy Management 19(3).

    Examples
    --------
    >>> import pandas as pd
    >>> from valuemax.io import read_transactions
    >>> log = pd.DataFrame({
    ...     "customer_id": ["c1", "c1", "c2", None, "c2"],
    ...     "order_id": ["o1", "o1", "o2", "o3", "C4"],
    ...     "order_ts": ["2024-01-05", "2024-01-05", "2024-01-06", "2024-01-06", "2024-01-06"],
    ...     "quantity": [2, 2, 1, 1, -1],
    ...     "unit_price": [5.0, 5.0, 20.0, 3.0, 20.0],
    ...     "product_id": ["p1", "p1", "p2", "p1", "p2"],
    ... })
    >>> res = clean(read_transactions(log))
    >>> {r.code: r.count for r in res.report.rules if r.count}
    {'missing_customer_id': 1, 'duplicate_line': 1, 'cancellation': 1}
    >>> res.report.rows_in, res.report.rows_clean, res.observation_end.isoformat()
    (5, 2, '2024-01-06')
    """
    check_choice("preset", preset, PRESETS)
    check_choice("returns", returns, ("exclude", "net"))
    check_choice("outliers", outliers, ("flag", "off", None))
    cancel_prefix = check_cancel_prefix(cancel_prefix)
    codes = check_codes(non_product_codes)
    given_end = check_date("observation_end", observation_end,
                           none="the date of the log's last transaction")
    raw, std, extras = check_ingested(ingested)
    spec = PRESETS[preset]
    if returns == "net" and not {"cancellation", "return"} & set(spec.rules):
        raise InputError(
            f"returns='net' needs a preset with return rules; preset={preset!r} has only "
            f"{list(spec.rules)}. Use preset='standard' or 'classic', or returns='exclude'"
        )
    con = ingested.con
    has = _has_columns(ingested, std)
    item = next((c for c in ("product_id", "product_name") if c in has), None)
    # a copied line is told apart from a second item of the order only by its product
    can_dedupe = "order_id" in has and item is not None
    flag = (outliers or spec.outliers) == "flag"
    applied = active_rules(
        spec, returns=returns, observation_end_given=given_end is not None,
        cancel_prefix=cancel_prefix,
        # the default codes are stock codes: nothing to test in a log without them
        non_product_codes=() if codes is None and "product_id" not in has else codes,
        has_order_id=can_dedupe, by_amount=item is None,
    )
    confirm = None
    if codes is None:  # Online Retail's codes, each confirmed by the line's description
        codes, confirm = DEFAULT_NON_PRODUCT_CODES, DEFAULT_NON_PRODUCT_WORDS

    steps: list[str] = []  # intermediate tables, dropped once the labelled lines are made
    # MariaDB re-runs a derived table at each reference and joins it through a key it
    # builds per statement: there the steps the next ones join on an id are materialised
    # with that id as primary key (see _keyed)
    keyed = _keyed(con, steps)
    t = _with_duplicates(std, raw, keyed) if "duplicate_line" in applied else std
    if _stepwise(con) and t is not std:
        # the netting refers to these lines several times (and joins them on _row_id)
        t = _materialise(con, t, steps, key="_row_id")
    obs_end, applied, notes = _observation_end(ingested, std, given_end, applied)
    ctx = RuleContext(obs_end, cancel_prefix, codes, has_unit_price="unit_price" in has,
                      by_amount=item is None,
                      confirm=confirm if "non_product" in applied else None)
    rules = make_rules(applied, ctx)
    if "non_product" in applied:
        t = with_code_flags(t, ctx)
    t = _label(t, rules, ctx, net=returns == "net", item=item, keyed=keyed,
               has_order_id="order_id" in has)
    # the labelled lines are computed once; the outlier statistics are two scalar queries
    # on them and is_outlier a projection with their values. (In one statement, the
    # statistics' references to the lines made DuckDB keep the whole wide table in memory
    # as common table expressions, spilling at 10M lines; MariaDB re-runs a derived table
    # at each reference, measured 30 s instead of 2 s on 6,919 lines; Spark inlines it.)
    t = _materialise(con, t)
    _drop(con, steps)
    t, med, mad = _flag_outliers(con, t, flag)

    counts = _count(con, t, net=returns == "net", med=med, mad=mad,
                    ctx=ctx)
    signs = sign_note(t, t._vm_amount0 if returns == "net" else t.amount, counts)
    if signs:
        notes.append(signs)
    report = build_report(
        counts, rules, obs_end, preset=preset, returns=returns, flag=flag, notes=notes,
        codes=codes, confirm=ctx.confirm, netting=(item or "amount") if returns == "net" else None,
        duplicates_skipped=None if "duplicate_line" not in spec.rules or can_dedupe else (
            "order_id" if "order_id" not in has else "product"),
        require_clean=require_clean or observation_end is None,
    )
    keep = ["_row_id", *CANONICAL_COLUMNS, *extras, "is_outlier"]
    if returns == "net":
        keep.append("returned_quantity")
    transactions = t.filter(t.reason.isnull()).select(*keep).order_by("_row_id")
    kept = next((row for row in counts if row["reason"] is None), None)
    money = kept is None or int(kept["n_amount"]) == int(kept["n"])  # no clean line: vacuous
    return CleanResult(transactions, _quarantine(raw, t, ingested), report, report.observation_end,
                       money=money, lines=t.select("_row_id", "customer_id", "reason"))


def _observation_end(ingested: Any, std: ir.Table, given: dt.date | None,
                     applied: tuple[str, ...]
                     ) -> tuple[dt.date | None, tuple[str, ...], list[str]]:
    """The observation end used, the rules applied with it and the note saying how it was
    chosen. Without a given end, ``after_observation_end`` is dropped when the default
    cannot be computed (no usable date)."""
    if given is not None:
        return given, applied, [given_observation_end(ingested.con, std, given)]
    obs_end, note = default_observation_end(ingested.con, std, counts=_day_counts(ingested))
    if obs_end is None:
        return obs_end, tuple(c for c in applied if c != "after_observation_end"), []
    return obs_end, applied, [note]


def _label(t: ir.Table, rules: tuple[Rule, ...], ctx: RuleContext, *, net: bool,
           item: str | None, keyed: Any, has_order_id: bool) -> ir.Table:
    """The lines with ``reason`` (the first rule each fails, NULL when clean); with
    ``net``, returns netted first (by product when ``item`` names a column, else by
    amount) and ``quantity``/``amount`` the netted values (``_vm_amount0`` the original
    amount)."""
    if net:
        return_rules = make_rules(
            ("cancellation", "return") if ctx.cancel_prefix else ("return",), ctx)
        codes_applied = [r.code for r in rules]
        cut = codes_applied.index("return_unmatched")
        pre = tuple(r for r in rules if r.code in _PRE_RETURN_CODES)
        post = tuple(r for r in rules[cut + 1:] if r.code != "fully_returned")
        fires = {"is_return": any_fires(t, return_rules, ctx),
                 "pre_fires": any_fires(t, pre, ctx), "post_fires": any_fires(t, post, ctx)}
        if item is None:
            t = net_by_amount(t, **fires, cancel_prefix=ctx.cancel_prefix,
                              has_order_id=has_order_id)
        else:
            t = net_returns(t, **fires, item=item, step=keyed)
    t = t.mutate(reason=reason_expr(t, rules, ctx))
    if net:
        t = t.mutate(_vm_amount0=t.amount, quantity=t._vm_qty_net, amount=t._vm_amt_net)
    return t


def _quarantine(raw: ir.Table, labelled: ir.Table, ingested: Any) -> ir.Table:
    """Every quarantined line with all raw columns as read and its ``reason``.

    A raw column named ``reason`` (in any case) is renamed as the read renamed it among
    the extra columns (``reason_source``; its note says so), so the reason code keeps its
    name.
    """
    plan = getattr(ingested, "plan", None)
    renamed = dict(getattr(plan, "extra_names", None) or {})
    cols = {c: c for c in raw.columns}
    for c in raw.columns:
        if c.lower() == "reason":
            cols[c] = renamed.get(c) if renamed.get(c, c).lower() != "reason" else None
            if cols[c] is None:  # not among the extras (a mapped column): a free name
                taken = {n.lower() for n in raw.columns}
                new, k = f"{c}_source", 2
                while new.lower() in taken:
                    new, k = f"{c}_source{k}", k + 1
                cols[c] = new
    if any(new != c for c, new in cols.items()):
        raw = raw.rename({new: c for c, new in cols.items() if new != c})
    q = labelled.filter(labelled.reason.notnull()).select(_vm_rid=labelled._row_id,
                                                          reason=labelled.reason)
    return (raw.join(q, raw._row_id == q._vm_rid).select(*raw.columns, "reason")
            .order_by("_row_id"))


def _day_counts(ingested: Any) -> tuple[Any, int] | None:
    """The usable lines per day counted when ``ingested`` was read, with its rows (None
    when unknown: the default observation end then runs its own query)."""
    get = getattr(ingested, "usable_day_counts", None)
    counts = get() if callable(get) else None
    return None if counts is None else (counts, int(ingested.n_rows))


def _stepwise(con: Any) -> bool:
    """Whether to materialise the labelled lines between steps on this engine.

    DuckDB and PostgreSQL compute a common table expression referred to several times once
    (and DuckDB's plans stay small). Spark inlines every reference to a common table
    expression, so the netting's references to the lines and the outlier statistics'
    references to the netted lines multiply the plan: Catalyst spent 18 s analysing the
    one statement of the labelled lines of a 10,000-line log and the count on it re-ran
    the branches (53 s); MariaDB re-runs a derived table at each reference. There each step
    reads the previous one materialised.
    """
    return getattr(con, "name", None) in {"pyspark", "mysql"}


def _keyed(con: Any, steps: list[str]) -> Any:
    """On MySQL/MariaDB, a function that materialises a table with a given unique id column
    as its primary key (its name appended to ``steps``); elsewhere None (the engine runs
    the step inside the statement).

    Measured on MariaDB 10.11, a 200,000-line log: the duplicate test's left join of the
    lines to a derived ``GROUP BY`` (MariaDB writes it to disk, TEXT columns, and looks up
    each line in it) 28-37 s, with the first lines materialised and keyed 5.8 s; the
    returns netting, whose union of returns and purchases with its windows is referred to
    by four derived tables (each re-run, on disk), 62 s.
    """
    if getattr(con, "name", None) != "mysql":
        return None

    def step(t: ir.Table, key: str) -> ir.Table:
        return _materialise(con, t, steps, key=key)
    return step


def _materialise(con: Any, t: ir.Table, names: list[str] | None = None,
                 key: str | None = None) -> ir.Table:
    """Compute the labelled lines once, as a temporary table of the connection.

    The rules, the duplicate and netting windows and the outlier statistics then run in one
    pass; the counts, the clean lines and the quarantine all read the result (instead of
    re-running that plan three times, which at 10M lines costs minutes and gigabytes).
    The table's name is appended to ``names`` when given; ``key`` (a unique, non-NULL id
    column) becomes its primary key on MySQL/MariaDB (:func:`valuemax.engines.add_key`).
    """
    name = f"_vm_labelled_{uuid.uuid4().hex[:12]}"
    if names is not None:
        names.append(name)
    if getattr(con, "name", None) == "pyspark":
        return spark_checkpoint(con, t, name)
    table = con.create_table(name, t, temp=True)
    if key is not None:
        add_key(con, name, key)  # MySQL/MariaDB: joins on it become key lookups
    refresh_statistics(con, name)  # PostgreSQL never gathers them for a temporary table
    return table


def _drop(con: Any, names: list[str]) -> None:
    """Drop the intermediate tables (Spark: views) ``names`` once nothing reads them."""
    for name in names:
        if getattr(con, "name", None) == "pyspark":
            con._session.catalog.dropTempView(name)
        else:
            con.drop_table(name, force=True)


def _has_columns(ingested: Any, std: ir.Table) -> frozenset[str]:
    """Which of ``order_id``, ``product_id`` and ``unit_price`` the log has.

    From ``ingested.mapping`` (canonical -> source column) when it has one; otherwise (an
    ``Ingested``-like object without it) one aggregate query, where a column that is NULL
    on every line counts as absent.
    """
    mapping = getattr(ingested, "mapping", None)
    if isinstance(mapping, Mapping):
        return frozenset(c for c in _OPTIONAL if mapping.get(c) is not None)
    agg = std.aggregate(**{c: std[c].count() for c in _OPTIONAL})
    row = ingested.con.to_pyarrow(agg).to_pylist()[0]
    return frozenset(c for c in _OPTIONAL if row[c])


def _with_duplicates(std: ir.Table, raw: ir.Table, step: Any = None) -> ir.Table:
    """Add ``_vm_dup``: the line equals an earlier line (smaller ``_row_id``) in every raw column.

    GROUP BY over all raw columns (NULLs compare equal) keeps the first ``_row_id`` of each
    distinct line; every other line is a later copy. A hash aggregate, cheaper than a window.
    The first lines are found by a left join on ``_row_id``, not ``NOT IN (subquery)``:
    PostgreSQL runs a ``NOT IN`` whose list outgrows ``work_mem`` as a scan of the whole
    list per line (quadratic: a 1M-line log did not finish in 20 min) and Spark as a
    nested-loop null-aware anti join; both hash a join. ``step`` (MySQL/MariaDB, see
    :func:`_keyed`) materialises the first lines keyed by ``_vm_first``.
    """
    raw_cols = [c for c in raw.columns if c != "_row_id"]
    if step is None and backend_name(raw) == "duckdb":
        return _with_duplicates_hashed(std, raw, raw_cols)
    firsts = raw.group_by(raw_cols).aggregate(_vm_first=raw._row_id.min())
    if step is not None:
        firsts = step(firsts.select("_vm_first"), "_vm_first")
    j = std.left_join(firsts.select("_vm_first"), std._row_id == firsts._vm_first)
    return j.select(*std.columns, _vm_dup=j._vm_first.isnull())


def _with_duplicates_hashed(std: ir.Table, raw: ir.Table, raw_cols: list[str]) -> ir.Table:
    """:func:`_with_duplicates` on DuckDB: the same ``_vm_dup``, grouping few lines by value.

    Equal lines have equal hashes of their raw values (DuckDB's ``hash`` of the row as a
    struct, NULLs included), so only lines sharing a hash with another line can be copies:
    a GROUP BY on the 64-bit hash finds them, and the exact GROUP BY over every raw column
    (the test itself, NULLs equal) runs on those lines only. A hash collision between
    different lines only adds lines to the exact test. At 10M mostly distinct lines the
    GROUP BY over every raw (text) column held the whole log in its hash table and spilled.
    The candidates are referred to once: their first line per value is a window over them
    (a partition by every raw column puts NULLs, NaNs and -0.0/0.0 together, as the GROUP
    BY does); an anti join of the candidates to a GROUP BY of the same lines made DuckDB
    compute the candidates, and so the hash GROUP BY over the whole log, twice.
    """
    h = raw.select("_row_id", _vm_h=ibis.struct({c: raw[c] for c in raw_cols}).hash())
    shared = h.group_by("_vm_h").aggregate(_vm_n=h.count())
    shared = shared.filter(shared._vm_n > 1).select("_vm_h")
    cand = h.semi_join(shared, "_vm_h").select("_row_id")
    lines = raw.semi_join(cand, "_row_id")
    first = lines._row_id.min().over(ibis.window(group_by=[lines[c] for c in raw_cols]))
    lines = lines.select("_row_id", _vm_first=first)
    copies = lines.filter(lines._row_id != lines._vm_first).select(_vm_copy="_row_id")
    j = std.left_join(copies, std._row_id == copies._vm_copy)
    return j.select(*std.columns, _vm_dup=j._vm_copy.notnull())


def _flag_outliers(con: Any, t: ir.Table, flag: bool
                   ) -> tuple[ir.Table, float | None, float | None]:
    """Add ``is_outlier`` (and ``_vm_med``/``_vm_mad`` of log amount over clean lines);
    return the table, the median and the MAD (None when not flagged or no clean amount).

    ``t`` is materialised: the median and the MAD are fetched by two aggregate queries on
    it and enter ``is_outlier`` as literals (the same values, computed by the same engine
    function, as a median over a join of the lines would give).
    """
    if not flag:
        return t.mutate(is_outlier=ibis.literal(False), _vm_med=ibis.null("float64"),
                        _vm_mad=ibis.null("float64")), None, None
    # in double precision on every engine (PostgreSQL's LN of an exact NUMERIC amount is
    # NUMERIC: its median then reaches Python as a Decimal, which Arrow refuses)
    logx = ibis.ifelse(t.amount > 0, t.amount.cast("float64"), ibis.null("float64")).ln()
    t = t.mutate(_vm_x=ibis.ifelse(t.reason.isnull(), logx, ibis.null("float64")))
    med = _scalar(con, median_table(t, "_vm_x", "_vm_med"))  # MySQL: row numbers there
    lit_med = ibis.literal(med, "float64")
    dev = t.select(_vm_dev=(t._vm_x - lit_med).abs())
    mad = _scalar(con, median_table(dev, "_vm_dev", "_vm_mad"))
    t = t.mutate(_vm_med=lit_med, _vm_mad=ibis.literal(mad, "float64"))
    z = (0.6745 * (t._vm_x - t._vm_med) / t._vm_mad).abs()
    out = ibis.ifelse(t._vm_mad > 0, z > OUTLIER_Z, False).fill_null(False)
    return t.mutate(is_outlier=out), med, mad


def _scalar(con: Any, one: ir.Table) -> float | None:
    """The value of a one-row, one-column table (a float, or None when NULL)."""
    value = con.to_pyarrow(one).column(0)[0].as_py()
    return None if value is None else float(value)


#: A matched return's refund and the purchase value of its units differ when they differ
#: by more than half a cent (float residue and rounding of prices are no difference).
_PRICE_EPS = 0.005


def _price_metrics(t: ir.Table, n_true: Any) -> dict[str, Any]:
    """Matched return lines refunded below / above the purchase value of their netted
    units (``_vm_pv``, at the matched purchase's own price): counts, refunds netted and
    those values (``price_lo_*``, ``price_hi_*``) for the netting note."""
    netted = t._vm_amount0.abs() - t._vm_left  # the refund less its excess
    priced = t._vm_matched & t._vm_pv.notnull()
    lo, hi = priced & (netted < t._vm_pv - _PRICE_EPS), priced & (netted > t._vm_pv + _PRICE_EPS)
    out = {}
    for name, flag in (("lo", lo), ("hi", hi)):
        out[f"n_price_{name}"] = n_true(flag)
        out[f"price_{name}_refund"] = ibis.ifelse(flag, netted, 0.0).sum().cast("float64")
        out[f"price_{name}_value"] = ibis.ifelse(flag, t._vm_pv, 0.0).sum().cast("float64")
    return out


def _count(con: Any, t: ir.Table, *, net: bool, med: float | None,
           mad: float | None, ctx: RuleContext) -> list[dict[str, Any]]:
    """One GROUP BY reason: rows, rows with an amount, outliers, netted revenue, parse errors
    left clean, and ``kept_codes``: lines with a default non-product code their
    description does not confirm (with ``ctx.confirm``, see ``DEFAULT_NON_PRODUCT_WORDS``).

    Also ``zero`` (zero-priced lines: unit price 0, or amount 0 where the price is missing,
    before netting), ``left`` (refund money not netted), ``n_left`` (return lines with
    some refund not netted), ``excess``/``excess_units``/``n_excess`` (refund money, units
    and return lines beyond what their matched purchase held), ``refunds`` (``|amount|``
    of the return lines netting considered), ``spend0``/``spend`` (amount before / after
    netting).

    Fetched as Arrow (ibis 12's pandas conversion of strings warns under pandas 3).
    """
    amount0 = t._vm_amount0 if net else t.amount
    # a matched return's units beyond its purchase: |quantity| less its units netted
    units_beyond = (t.quantity.abs() - t.returned_quantity).cast("float64") if net else None
    zero = (t.unit_price == 0) | (t.unit_price.isnull() & (amount0 == 0))

    def n_true(flag: Any) -> Any:  # PostgreSQL cannot cast a boolean to bigint
        return ibis.ifelse(flag.fill_null(False), 1, 0).sum()

    metrics = {
        "n": t.count(),
        "n_amount": t.amount.count(),
        "zero": n_true(zero),
        "left": t._vm_left.sum() if net else None,
        "n_left": n_true(t._vm_left > 0) if net else ibis.literal(0),
        "excess": ibis.ifelse(t._vm_matched, t._vm_left, 0.0).sum() if net else None,
        "excess_units": ibis.ifelse(t._vm_matched, units_beyond, 0.0).sum() if net else None,
        "n_excess": n_true(t._vm_matched & ((t._vm_left > 0) | (units_beyond > 0)))
        if net else ibis.literal(0),
        "refunds": ibis.ifelse(t._vm_ret, t._vm_amount0.abs(), 0.0).sum().cast("float64")
        if net else None,
        "spend0": amount0.cast("float64").sum(),
        "spend": t.amount.cast("float64").sum(),
        "n_out": n_true(t.is_outlier),
        "bad": n_true(t._parse_error.notnull()),
        "netted": (t._vm_amount0 - t.amount).sum() if net else None,
        "kept_codes": ibis.literal(0) if ctx.confirm is None else n_true(
            unconfirmed_codes(t, ctx)),
        "n_signs": n_true(opposite_signs(t, amount0)),
        **(_price_metrics(t, n_true) if net and "_vm_pv" in t.columns else {}),
    }
    # without netting, its sums are 0.0 here, not in SQL: PostgreSQL reads a bare 0.0 as a
    # NUMERIC literal, which Ibis cannot put in its float64 column
    zeros = {k: 0.0 for k, v in metrics.items() if v is None}
    metrics = {k: v for k, v in metrics.items() if v is not None}
    rows = [{**zeros, **row} for row in
            con.to_pyarrow(t.group_by("reason").aggregate(**metrics)).to_pylist()]
    # the outlier statistics were computed once, in Python's hands already (as literals
    # in the SQL, PostgreSQL would read them back as NUMERIC)
    return [{**row, "med": med, "mad": mad} for row in rows]
