"""``analyze()``: the main job, end to end, with an atomic output folder."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import ibis

from valuemax import __version__
from valuemax._core.exceptions import InputError
from valuemax.clean import clean as clean_log_lines
from valuemax.decide import cluster_actions, segment_actions
from valuemax.decide._actions import MIXED_BELOW
from valuemax.engines import connect
from valuemax.features import calibration_holdout, customer_table
from valuemax.pipeline._caveats import caveats_by_step, run_caveats
from valuemax.pipeline._clock import StepClock
from valuemax.pipeline._engine import (
    check_engine_source,
    copy_to_store,
    engine_source,
    engine_table,
    open_engine,
    prepare_schema,
    push_log,
    record_engine_run,
    write_engine_table,
)
from valuemax.pipeline._engine_read import (
    NORMALISED_ON_ENGINE,
    RAW_PUSHED,
    local_only_reason,
    normalise_on_engine,
    note_local,
    push_normalised,
    push_raw,
    stage_on_engine,
)
from valuemax.pipeline._engine_read import RAW as ENGINE_RAW
from valuemax.pipeline._engine_tables import (
    RunTables,
    drop_run_tables,
    hold_run,
    publish_results,
    release_run,
    sweep_on_server,
)
from valuemax.pipeline._options import (
    FLAGS,
    AnalyzeOptions,
    CleanOptions,
    EngineOptions,
    PrivacyOptions,
    PropensityOptions,
    ReadOptions,
    SegmentOptions,
    ValueOptions,
    analyze_options,
    both_names,
)
from valuemax.pipeline._outputs import summary_dict, write_exports
from valuemax.pipeline._parts import (
    run_basket,
    run_propensity,
    run_stats,
    run_step,
    with_p_alive_caveat,
)
from valuemax.pipeline._prepare import country_column, default_returns, read_source
from valuemax.pipeline._result import AnalysisResult, StageStatus
from valuemax.pipeline._spill import Spilled
from valuemax.pipeline._store import (
    record_run,
    write_segments,
    write_step_tables,
    write_table,
)
from valuemax.pipeline._value import (
    no_spend_model_reason,
    refuse_empty_calibration,
    run_value,
)
from valuemax.pipeline._value_result import ValueResult
from valuemax.pipeline._workspace import Workspace, compact_store
from valuemax.privacy import key_fingerprint
from valuemax.segment import (
    assign_segments,
    kmeans_segments,
    rfm_scores,
    segment_summary,
    ward_segments,
)

#: Steps of the main job, in order (names used for progress and ``timings_s``).
#: Fewer customers than this: K-means (and Ward) are skipped with the reason.
MIN_CUSTOMERS_TO_CLUSTER = 20
#: Why the steps that need money are skipped on a log without prices.
NO_MONEY = ("the log has no prices (no amount column, nor quantity and unit_price), so spend, "
            "monetary value and CLV in money are not computed; name the money column with "
            "mapping={'amount': 'COL'} (CLI --map amount=COL)")
#: Why the steps that need spend are skipped when every clean line is free (prices all 0).
FREE_ONLY = ("every clean line's amount is zero (free items only), so there is no spend to "
             "score, cluster or explain; RFM segments use recency and frequency (R and F "
             "scores); if the log has another money column, name it with "
             "mapping={'amount': 'COL'} (CLI --map amount=COL)")


def negative_spend_reason(customers: Any) -> str | None:
    """Why the spend steps are skipped when some customers' total spend is below zero, or
    None when every total is >= 0.

    ``preset='none'`` keeps return lines and negative prices (it removes only unusable
    lines), so a customer whose refunds exceed their purchases has a negative total; the
    spend-based parts (M score, clusters, the value model of spend) cannot score it, while
    recency and frequency still can. The fix named is one that removes those lines.
    """
    spend = customers["total_spend"]
    negative = (spend < 0).to_numpy()
    if not negative.any():
        return None
    ids = ", ".join(str(v) for v in customers.loc[negative, "customer_id"].head(5))
    return (f"{int(negative.sum()):,} of {len(customers):,} customers have a negative total "
            f"spend (customer_id {ids}; smallest {float(spend.min()):.2f}): their returns "
            f"or negative prices exceed their purchases, so spend is not scored, clustered "
            f"or explained; RFM segments use recency and frequency (R and F scores); to "
            f"quarantine return lines and negative prices, clean with preset='standard' "
            f"(CLI --preset standard) or preset='classic', or drop those customers first")


STEPS: tuple[str, ...] = ("read", "clean", "customers", "segments", "clusters", "value",
                          "stats", "propensity", "basket", "store", "report")
#: DuckDB's ``memory_limit`` for the store of a run of the main job (below the 3 GB of
#: :func:`valuemax.engines.connect`): the steps' Python frames at a million customers (about
#: 2 GB in the propensity and basket steps) come on top of it, so with 3 GB the 10M-line
#: run peaked at 4.9 GB (issue 12: <= 4 GB). Larger work spills to disk; DuckDB's results do
#: not depend on the limit (benchmarks/compare_outputs.py on runs with a limit low enough
#: to spill in every step). The operators DuckDB holds in memory run in passes sized from
#: the limit (valuemax.engines._memory), so it need not grow with the log; a user gives
#: more with ``memory_limit=`` (CLI ``--memory-limit``), named in a skip reason when a step
#: ran out of it.
STORE_MEMORY_LIMIT = "1.5GB"


def analyze(
    source: Any,
    *,
    read: ReadOptions | None = None,
    clean: CleanOptions | None = None,
    segments: SegmentOptions | None = None,
    value: ValueOptions | None = None,
    propensity: PropensityOptions | bool | None = None,
    privacy: PrivacyOptions | None = None,
    engine: EngineOptions | Any = None,
    out: str | Path | None = None,
    db: str | Path | None = None,
    random_state: int = 0,
    on_step: Callable[[str], None] | None = None,
    **shorthand: Any,
) -> AnalysisResult:
    """Run the main job: transaction log -> clean log -> customers -> segments -> report.

    The options come in a few objects, one per concern, each validated when built; every
    field of an object can also be given as a flat keyword (below), which fills the
    object: ``analyze(path, clusters="none", clv=False)`` is
    ``analyze(path, segments=SegmentOptions(clusters="none"),
    value=ValueOptions(enabled=False))``. An object and one of its own flat keywords
    together raise ``TypeError``.

    Parameters
    ----------
    source : path, DataFrame (pandas/polars), pyarrow.Table or ``(con, table)``
        The transaction log; see :func:`valuemax.io.read_transactions` for formats.
    read : ReadOptions, optional
        How to read it (flat: ``columns``, ``mapping``, ``date_format``, ``encoding``,
        ``sheet``, ``decimal``); default ``ReadOptions()``.
    clean : CleanOptions, optional
        How to clean it (flat: ``preset``, ``observation_end``, ``returns``), with
        :func:`valuemax.clean.clean`. ``observation_end`` defaults to the date of the last
        valid transaction (inclusive). ``returns`` defaults to ``"net"`` with the
        ``standard`` preset (a cancelled order is not revenue: returns are netted against
        the customer's earlier purchase of the product, or by amount without products) and
        to ``"exclude"`` otherwise (the ``classic`` preset reproduces the published rule
        set, which keeps the cancelled purchase).
    segments : SegmentOptions, optional
        Clustering besides the RFM segments (flat: ``clusters``, ``k_min``, ``k_max``).
    value : ValueOptions, optional
        Customer value (flat: ``clv`` for ``enabled``, ``time_unit``, ``calibration_end``,
        ``horizon_months``, ``discount_rate``, ``margin``, ``clv_model`` for ``model``).
        When enabled, the purchase model and Gamma-Gamma are fitted and ``p_alive``,
        ``expected_purchases_<h>``, ``expected_avg_value`` and ``clv_<h>`` added to the
        customer table (``result.value``; store table ``clv``). The model is chosen on a
        holdout (the ``calibration_end`` split, or the last third of the span when not
        given) among BG/NBD, MBG/NBD and Pareto/NBD, then refitted on the whole period.
        ``time_unit`` is also the unit of the customer table's BTYD summary
        (``frequency``, ``recency``, ``T``); with ``calibration_end`` the
        calibration/holdout table is built too (``result.calibration``, store table
        ``calibration_holdout``, ``calibration_holdout.parquet``).
    propensity : PropensityOptions or bool, optional
        The buy-again model (flat: ``horizon_days``; ``propensity=False`` turns it off).
        Scores every customer's chance to buy again within ``horizon_days`` days
        (``p_buy_<h>d``, ``churn_risk``, ``expected_next_purchase``;
        ``result.propensity``), when the log spans at least two horizons.
    privacy : PrivacyOptions, optional
        Personal data (flat: ``pseudonymize``, ``pseudonym_key``, ``pseudonym_key_file``,
        ``keep_pii``). With ``pseudonymize=True`` customer ids are replaced, right after
        reading, by keyed HMAC-SHA256 pseudonyms (64 hex digits;
        :func:`valuemax.io.protect`): every table, export, the report and the store then
        hold only pseudonyms, and the same key gives the same pseudonyms in every run. The
        key is ``pseudonym_key``, else the content of ``pseudonym_key_file``, else the
        environment variable ``VALUEMAX_PSEUDONYM_KEY``; it is written nowhere (``runs``
        and ``summary.json`` record its :func:`valuemax.privacy.key_fingerprint`). By
        default every column found to hold personal data (e-mail, phone, names,
        addresses, national ids, bank/card numbers; by English or Chinese name, or by value
        patterns on a sample) is dropped right after reading unless listed in
        ``keep_pii``: it reaches no export, report or store table; each is listed in the
        report and ``summary.json`` (``privacy.pii_columns``).
    engine : EngineOptions, or None, "duckdb", "spark", URL, Ibis backend or SparkSession
        Where the source is read from and the Ibis row-level steps run (flat: ``engine``
        itself, ``table``, ``query``, ``schema``, ``spark_master``, ``memory_limit``: the
        local store's DuckDB memory limit, default :data:`STORE_MEMORY_LIMIT`): cleaning with the
        quarantine, the customer table and the calibration/holdout table run on that
        engine (results also written there as ``valuemax_*`` tables, in ``schema`` when
        given: the run works on tables of its own, ``valuemax_tmp_<tag>_*``, dropped at its
        end whatever happens, and its results replace the ``valuemax_*`` ones in one step
        when it succeeds, so runs in one schema at once do not meet; see
        :mod:`valuemax.pipeline._engine_tables`), mapping and type normalisation and the
        steps after the customer table run in the local DuckDB store
        (``valuemax.pipeline._engine`` says what runs where). With ``table``/``query``, pass ``source=None``. Default: the local DuckDB.
    out : path, optional
        Output folder: ``report.html``, ``customers.parquet``/``.csv``, ``quarantine.parquet``,
        ``summary.json`` and (unless ``db`` is given) ``valuemax.duckdb``. Written atomically:
        on error nothing is left half-written. ``None``: nothing written (in-memory store).
    db : path, optional
        DuckDB store file (default ``<out>/valuemax.duckdb``).
    random_state : int, default 0
        Seed of every random step (K-means, samples, optimiser starts, models), in
        0..2**32 - 1. The old name ``seed=`` still works with a ``FutureWarning``.
    on_step : callable, optional
        Called with each step's name (``STEPS``) as it starts; the CLI draws progress with it.
    **shorthand
        The flat keywords named above. Old names still accepted with a ``FutureWarning``:
        ``seed`` (``random_state``), ``clv_horizon`` (``horizon_months``), ``horizon``
        (``horizon_days``).

    Outputs are readable by their owner only: files 0600, a folder valuemax creates 0700
    (whatever the umask); the ``runs`` table records who ran what, when, with which options
    and which outputs (``outputs``).

    Returns
    -------
    AnalysisResult
        A model step (clusters, value, stats, propensity, basket) that cannot run on this
        log, or fails, is skipped: its reason is in ``result.skipped`` (and in the report
        and ``summary.json``), its traceback in ``result.tracebacks``, and
        ``result.stages`` says for each optional stage whether it ran, was skipped (with
        the reason) or failed (with the exception type); every other output is written.
        The result is frozen: derive a variant with ``dataclasses.replace``. A log without prices (no amount, nor quantity and unit_price) runs what
        needs no money: the customer table without its money columns, R and F scores with
        segments named from them (the rule table read with M taken as F), the purchase
        models (P(alive), expected purchases; Gamma-Gamma and CLV skipped, said in
        ``result.value.notes``), the buy-again propensity without its spend features (said
        in ``result.propensity.notes``) and baskets; ``skipped`` holds ``spend``,
        ``kmeans`` and ``stats`` with :data:`NO_MONEY` (the ``--map amount=COL`` fix).

    Raises
    ------
    TypeError
        An unknown keyword, or an options object together with one of its flat keywords.
    InputError
        If an option is invalid, the source cannot be read, or no row is usable (every row
        quarantined): nothing useful can be computed (exit code 2 in the CLI); with
        ``pseudonymize=True``, if no key is found (the message says how to set one);
        if ``schema`` cannot be created or written to, or ``spark_master`` is malformed.

    Warns
    -----
    FutureWarning
        For each old keyword name (``seed``, ``clv_horizon``, ``horizon``).
    """
    opts = analyze_options(read=read, clean=clean, segments=segments, value=value,
                           propensity=propensity, privacy=privacy, engine=engine,
                           random_state=random_state, shorthand=shorthand)
    where = opts.engine
    key = opts.privacy.key()
    started = datetime.now()
    params = _run_params(opts, key, started)
    check_engine_source(source, where.table, where.query)
    opened = open_engine(where.engine, spark_master=where.spark_master)
    econ, engine_label = opened if opened is not None else (None, "duckdb")
    params.update(engine=engine_label, table=where.table, query=where.query,
                  schema=where.schema, memory_limit=where.memory_limit or STORE_MEMORY_LIMIT)
    ws = Workspace(Path(out) if out is not None else None, Path(db) if db is not None else None)
    run = _Run(econ=econ, engine_label=engine_label, schema=where.schema, params=params,
               clock=StepClock({}, on_step, freeze_gc=True), tables=RunTables.new())
    try:
        if econ is not None:
            hold_run(econ, run.tables)  # its valuemax_tmp_<tag>_* tables are in use
            prepare_schema(econ, engine_label, where.schema)
            sweep_on_server(econ, where.schema)  # working tables of killed runs
        run.con = connect(ws.store, memory_limit=params["memory_limit"])
        log = _read_and_clean(run, source, opts, key)
        steps = _model_steps(run, log, opts)
        return _publish(run, ws, log, steps, opts, started)
    except Exception as exc:  # a full disk: name the file and the space (Workspace.disk_full)
        if (full := ws.disk_full(exc)) is not None:
            raise full from exc
        if type(exc).__name__ == "OutOfMemoryException":  # in read/clean: nothing can run
            duck = " ".join(str(exc).split()).split(" Possible solutions:")[0]
            raise InputError(
                f"DuckDB ran out of the store's memory limit ({params['memory_limit']}) while "
                "reading and cleaning the log, which every other step needs, so nothing was "
                f"written; run again with a larger limit, e.g. {FLAGS['memory_limit=']} 4GB "
                "(memory_limit='4GB'), leaving room for Python's own memory on top of it "
                f"(DuckDB: {duck})") from exc
        raise
    finally:
        run.clock.release_gc()
        if run.con is not None:
            run.con.disconnect()
        if econ is not None:  # the run's working tables, also after an error or Ctrl-C
            drop_run_tables(econ, run.tables, where.schema)
            release_run(econ, run.tables)
            if isinstance(where.engine, str) and "://" in where.engine:
                econ.disconnect()  # a connection we opened (a live one stays the caller's)
        ws.discard()


@dataclasses.dataclass
class _Run:
    """What the steps of one ``analyze`` run share: the store connection, the engine (None
    for the local DuckDB), the recorded parameters, the step clock and the skipped steps
    with their reasons and tracebacks (both filled as the steps go)."""

    econ: Any
    engine_label: str
    schema: str | None
    params: dict[str, Any]
    clock: StepClock
    #: The run's id and its engine tables' names (``valuemax_tmp_<tag>_*`` while it works).
    tables: RunTables
    con: Any = None
    skipped: dict[str, str] = dataclasses.field(default_factory=dict)
    tracebacks: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class _Log:
    """The read and cleaned log: what was read, clean's result, the same over the stored
    clean lines (``stored``: its guarantees hold there), the quality report with the lost
    customers, whether the raw table was rewritten (pseudonyms, dropped personal data) and
    whether the log has prices."""

    ingested: Any
    cleaned: Any
    stored: Any
    quality: Any
    rewritten: bool
    money: bool


@dataclasses.dataclass(frozen=True)
class _Steps:
    """The model steps' results (None: not run, the reason in ``_Run.skipped``)."""

    customers: Any
    rfm: Any
    segments: Any
    calibration: Any
    km: Any
    actions: Any
    ward: Any
    value: ValueResult | None
    stats: Any
    propensity: Any
    basket: Any


def _run_params(opts: AnalyzeOptions, key: Any, started: datetime) -> dict[str, Any]:
    """The run's parameters as recorded (``runs``, ``summary.json``); the engine's are added
    once it is opened, the returns' and the observation end's once the log is read."""
    cleaning, seg, val, prop = opts.clean, opts.segments, opts.value, opts.propensity
    return {
        "preset": cleaning.preset, "observation_end": None
        if cleaning.observation_end is None else str(cleaning.observation_end),
        "time_unit": val.time_unit, "calibration_end": None if val.calibration_end is None
        else str(val.calibration_end), "returns": cleaning.returns, "clusters": seg.clusters,
        "k_min": seg.k_min, "k_max": seg.k_max, "clv": val.enabled,
        "horizon_months": val.horizon_months, "discount_rate": val.discount_rate,
        "margin": val.margin, "clv_model": val.model, "propensity": prop.enabled,
        "horizon_days": prop.horizon_days, "random_state": opts.random_state,
        **opts.read.to_params(),
        "run_at": started.isoformat(timespec="seconds"),
        # the key is never recorded: its fingerprint tells whether two runs share it
        "pseudonymize": key is not None,
        "pseudonym_key_fingerprint": None if key is None else key_fingerprint(key),
        "keep_pii": list(opts.privacy.keep_pii),
    }


def _read_and_clean(run: _Run, source: Any, opts: AnalyzeOptions, key: Any) -> _Log:
    """The read and clean steps: the raw log read (from the engine's table or query when
    given), cleaned (on the engine when given), the clean lines and the quarantine stored."""
    con, econ, schema, clock, params = run.con, run.econ, run.schema, run.clock, run.params
    reading, cleaning, priv, where = opts.read, opts.clean, opts.privacy, opts.engine
    staged = False
    with clock("read"):
        if econ is not None and (where.table is not None or where.query is not None):
            label = (f"{run.engine_label} " + (f"table {where.table}" if where.table
                                               else f"query {where.query}"))
            expr = engine_source(econ, run.engine_label, table=where.table, query=where.query)
            staged = econ.name in NORMALISED_ON_ENGINE
            if staged:  # numbered there, streamed into the store: normalised there below
                ingested = stage_on_engine(econ, expr, con, reading, label=label, key=key,
                                           keep_pii=priv.keep_pii, schema=schema,
                                           tables=run.tables)
            else:
                ingested = read_source(reading, expr, con, pseudonym_key=key,
                                       keep_pii=priv.keep_pii)
            ingested = dataclasses.replace(ingested, source=label)
        else:
            ingested = read_source(reading, source, con, pseudonym_key=key,
                                   keep_pii=priv.keep_pii)
    protected = ingested.privacy
    # the raw table was rewritten: write the store afresh so no freed page keeps the
    # dropped columns or the original ids
    rewritten = protected is not None and (protected.pseudonymized or bool(protected.dropped))
    returns = params["returns"] = default_returns(cleaning.returns, cleaning.preset, ingested)
    with clock("clean"):
        if econ is not None:
            elog, ingested = _to_engine(run, ingested, staged=staged,
                                        from_engine=where.table is not None
                                        or where.query is not None)
        cleaned = clean_log_lines(
            ingested if econ is None else elog,
            preset=cleaning.preset, observation_end=cleaning.observation_end,
            returns=returns
        )
        if econ is None:
            write_table(con, "transactions_clean", cleaned.transactions)
            write_table(con, "quarantine", cleaned.quarantine)
        else:
            for name, expr in (("transactions_clean", cleaned.transactions),
                               ("quarantine", cleaned.quarantine)):
                copy_to_store(con, name, write_engine_table(
                    econ, run.tables.work(name), expr, schema), schema=expr.schema())
        # the next stages take clean's result over its stored lines (its guarantees
        # hold there): they neither re-parse the observation end nor re-scan the rows
        stored = dataclasses.replace(cleaned, transactions=con.table("transactions_clean"))
    quality = _with_lost_customers(cleaned, ingested, con)
    if econ is None:
        cleaned = stored = _release_labelled(con, stored)
    params["observation_end"] = cleaned.observation_end.isoformat()
    # a log without prices (no amount, nor quantity and unit_price): what needs no money
    # runs, the spend steps are skipped with NO_MONEY
    money = ingested.plan.amount_from != "none"
    if not money:
        run.skipped["spend"] = NO_MONEY
    return _Log(ingested=ingested, cleaned=cleaned, stored=stored, quality=quality,
                rewritten=rewritten, money=money)


def _to_engine(run: _Run, ingested: Any, *, staged: bool, from_engine: bool) -> tuple[Any, Any]:
    """The normalised log on the engine, and ``ingested`` with a note when it stayed local.

    A source the engine numbered (``staged``), or a file whose raw log was pushed to Spark
    (:data:`~valuemax.pipeline._engine_read.RAW_PUSHED`), is normalised there when the
    engine gives the local path's values exactly
    (:func:`~valuemax.pipeline._engine_read.local_only_reason`); otherwise (and for a file
    on a server) the local DuckDB normalises it and the normalised log is pushed (with the
    raw log, when not there yet). The run's parameters record where
    (``normalised_on``: ``engine`` or ``local``), the rows pushed (``rows_pushed``) and,
    for an engine source normalised locally, why (``normalised_locally_because``).
    """
    econ, schema, tables = run.econ, run.schema, run.tables
    reason, pushed, eraw = None, 0, None
    if staged:
        eraw = engine_table(econ, tables.work(ENGINE_RAW), schema)
    elif econ.name in RAW_PUSHED:  # a file: its raw log pushed, normalised there if exact
        eraw, pushed = push_raw(econ, ingested, schema, tables=tables)
    if eraw is not None:
        reason = local_only_reason(econ, ingested, eraw)
        if reason is None:
            run.params.update(normalised_on="engine", rows_pushed=pushed)
            return normalise_on_engine(econ, ingested, schema, pushed,
                                       tables=tables), ingested
    elif from_engine:
        reason = (f"{econ.name} numbers rows only in an order (ROW_NUMBER() needs ORDER BY), "
                  f"so its sources are read and normalised locally")
    elog = (push_normalised(econ, ingested, eraw, schema, pushed, tables=tables) if pushed
            else push_log(econ, ingested, schema, tables=tables))
    run.params.update(normalised_on="local", rows_pushed=elog.rows_pushed)
    if reason is not None:
        run.params["normalised_locally_because"] = reason
        ingested = dataclasses.replace(
            ingested, notes=(*ingested.notes, note_local(reason, run.engine_label)))
    return elog, ingested


def _model_steps(run: _Run, log: _Log, opts: AnalyzeOptions) -> _Steps:
    """The steps from the customer table to the baskets, each skipped with its reason when
    it cannot run (:func:`~valuemax.pipeline._parts.run_step`)."""
    clock, skipped, tracebacks = run.clock, run.skipped, run.tracebacks
    seg, val, prop_opts = opts.segments, opts.value, opts.propensity
    random_state, money, stored = opts.random_state, log.money, log.stored
    country = country_column(log.ingested.extra_columns)
    with clock("customers"):
        customers, calibration = _customers(
            run, log, val, country, opts.clean.observation_end is not None)
    # every clean line free (all prices zero): no spend to score, cluster or explain;
    # the value step still runs its purchase models (its spend model is skipped, said)
    spend_reason = NO_MONEY if not money else (
        FREE_ONLY if not (customers["total_spend"] > 0).any()
        else negative_spend_reason(customers))
    with clock("segments"):
        monetary = "total_spend" if spend_reason is None else None
        rfm = rfm_scores(customers, monetary=monetary)
        customers = customers.join(rfm.scores)
        customers["segment"] = assign_segments(rfm).astype(str)
        segments = segment_summary(customers, customers["segment"],
                                   monetary=monetary).merge(
            segment_actions(), on="segment", how="left"
        )
    with clock("clusters"):
        if spend_reason is not None:
            skipped["kmeans"] = ("the clusters are built on recency, frequency and spend: "
                                 + spend_reason)
            km = actions = ward = None
        else:
            km, actions, ward = run_step(
                "kmeans", skipped, tracebacks, _cluster, customers, seg.clusters,
                seg.k_min, seg.k_max, random_state, country, skipped,
                tracebacks) or (None, None, None)
        label_clusters(customers, km, ward, actions)
    with clock("value"):
        customers, value = _value_step(run, log, opts, customers, calibration)
    with clock("stats"):
        if spend_reason is None:
            stats = run_step("stats", skipped, tracebacks, run_stats, customers)
        else:
            stats = None
            skipped["stats"] = "its target is customer value in money: " + spend_reason
    # neither the propensity nor the basket step reads the earlier steps' results (the first
    # reads the customers' number and first purchases): on disk meanwhile, out of their
    # peaks (docs/performance.md)
    spilled = Spilled((customers, rfm, segments, calibration, km, actions, ward, value, stats),
                      frame=customers, keep=["first_purchase"])
    del customers, rfm, segments, calibration, km, actions, ward, value, stats
    with clock("propensity"):
        prop = None
        if not prop_opts.enabled:
            skipped["propensity"] = "turned off with " + both_names("propensity=False")
        else:
            # without prices the spend features are left out (stated in its notes)
            prop = run_step(
                "propensity", skipped, tracebacks, run_propensity,
                stored, spilled.kept, skipped, horizon_days=prop_opts.horizon_days,
                random_state=random_state, money=money,
                store_limit=None if opts.engine.memory_limit else STORE_MEMORY_LIMIT)
    with clock("basket"):
        # on an engine the baskets are built there: only distinct (basket, item) pairs and
        # one row per basket reach Python
        basket = run_step("basket", skipped, tracebacks, run_basket,
                          _clean_log(run, log), log.ingested.mapping, skipped,
                          random_state=random_state)
    customers, rfm, segments, calibration, km, actions, ward, value, stats = spilled.load()
    prop = with_p_alive_caveat(prop, value)
    if prop is not None:
        customers = customers.merge(prop.scores, on="customer_id", how="left",
                                    validate="one_to_one")
    return _Steps(customers=customers, rfm=rfm, segments=segments, calibration=calibration,
                  km=km, actions=actions, ward=ward, value=value, stats=stats,
                  propensity=prop, basket=basket)


def _value_step(run: _Run, log: _Log, opts: AnalyzeOptions, customers: Any,
                calibration: Any) -> tuple[Any, Any]:
    """The value step: ``(customers with the value columns, value result)``, or the
    customers unchanged and None when it is turned off or cannot run (the reason in
    ``run.skipped``; the rest of the job goes on)."""
    skipped, val, money = run.skipped, opts.value, log.money
    if not val.enabled:
        skipped["value"] = "customer value turned off with " + both_names("clv=False")
        return customers, None
    value, reason = run_step(
        "value", skipped, run.tracebacks, run_value,
        run.con, log.stored, customers, time_unit=val.time_unit,
        calibration_end=val.calibration_end,
        calibration=calibration, horizon_months=val.horizon_months,
        discount_rate=val.discount_rate, margin=val.margin, model=val.model,
        random_state=opts.random_state, money=money) or (None, skipped.get("value"))
    if value is None:
        skipped["value"] = reason
        return customers, None
    if value.spend_model is None and money:  # CLV in money is missing: say so
        skipped["spend"] = no_spend_model_reason(customers)
    return join_in_order(customers, value.table), value


def join_in_order(customers: Any, table: Any) -> Any:
    """``customers.merge(table, on="customer_id", how="left", validate="one_to_one")``
    without hashing the ids when ``table`` holds the same ids in the same order (the value
    step scores the customer table row by row): its other columns put beside them, the
    same frame (a million customers: a 1 s merge saved). Otherwise the merge itself."""
    import numpy as np
    import pandas as pd

    if (len(table) == len(customers) and isinstance(customers.index, pd.RangeIndex)
            and customers.index.start == 0 and customers.index.step == 1
            and not set(table.columns).intersection(customers.columns) - {"customer_id"}
            and np.array_equal(table["customer_id"].to_numpy(),
                               customers["customer_id"].to_numpy())
            and customers["customer_id"].is_unique):
        right = table.drop(columns="customer_id").set_axis(customers.index)
        return pd.concat([customers, right], axis=1)
    return customers.merge(table, on="customer_id", how="left", validate="one_to_one")


def _clean_log(run: _Run, log: _Log) -> Any:
    """Clean's result over the clean lines the row-level steps read: the run's
    ``valuemax_tmp_<tag>_transactions_clean`` when an engine was given, else the stored
    copy."""
    if run.econ is None:
        return log.stored
    return dataclasses.replace(log.cleaned, transactions=engine_table(
        run.econ, run.tables.work("transactions_clean"), run.schema))


def _customers(run: _Run, log: _Log, val: ValueOptions, country: str | None,
               obs_end_given: bool) -> tuple[Any, Any]:
    """The customer table and, with ``calibration_end``, the calibration/holdout table, as
    pandas frames sorted by id: built on the engine when one was given (its clean log, the
    results copied back to the store), else over the stored clean lines."""
    con, econ = run.con, run.econ
    clean_log = _clean_log(run, log)
    store = write_table if econ is None else _write_back(econ, run.schema, run.tables)
    expr = customer_table(
        clean_log, time_unit=val.time_unit,
        mode_columns=(country,) if country else (), money=log.money,
    )
    store(con, "customers", expr)
    customers = con.table("customers").order_by("customer_id").to_pyarrow().to_pandas()
    calibration = None
    if val.calibration_end is not None:
        if len(customers):  # refused up front, as one after the log's end is: a calibration
            # period before the first purchase gives an empty calibration table, no holdout
            import pandas as pd

            refuse_empty_calibration(val.calibration_end,
                                     pd.Timestamp(customers["first_purchase"].min()).date(),
                                     clean_log.observation_end,
                                     obs_end_given=obs_end_given)
        store(con, "calibration_holdout", calibration_holdout(
            clean_log, calibration_end=val.calibration_end, time_unit=val.time_unit,
            money=log.money,
        ))
        calibration = (con.table("calibration_holdout").order_by("customer_id")
                       .to_pyarrow().to_pandas())
    return customers, calibration


def _publish(run: _Run, ws: Workspace, log: _Log, steps: _Steps, opts: AnalyzeOptions,
             started: datetime) -> AnalysisResult:
    """Store the step tables, build the result, write the exports, the report, the run's
    record and ``summary.json``, and publish the output folder in one step."""
    con, clock, quality = run.con, run.clock, log.quality
    customers = steps.customers
    with clock("store"):
        write_segments(con, customers, steps.segments)
        write_table(con, "quality", quality.to_frame())
        write_step_tables(con, value=steps.value, propensity=steps.propensity,
                          basket=steps.basket)
    result = _result(run, log, steps, opts)
    result = dataclasses.replace(result, caveats=run_caveats(result))
    result = dataclasses.replace(result, summary=summary_dict(result))
    with clock("report"):
        if ws.tmp is not None and ws.out is not None:
            write_exports(result, ws.tmp, quarantine=con.table("quarantine"))
            result.to_html(ws.tmp / "report.html")
    # the final timings (the report's included)
    result = dataclasses.replace(result, timings_s=clock.timings, peak_rss_mb=clock.peaks)
    result = dataclasses.replace(result, summary=summary_dict(result))
    run_id = record_run(
        con, started=started, params=run.params, ingest=result.ingest, quality=quality,
        n_customers=len(customers), timings=clock.timings, outputs=ws.planned_outputs(),
        caveats=caveats_by_step(result.caveats), run_id=run.tables.run_id,
    )
    if run.econ is not None:  # its tables in place of the valuemax_* ones, its row beside
        publish_results(run.econ, run.tables, run.schema, record=lambda: record_engine_run(
            run.econ, run.schema, run_id=run_id, started=started,
            source=str(result.ingest.get("source")), quality=quality,
            n_customers=len(customers), engine=run.engine_label, version=__version__))
    if ws.tmp is not None and ws.out is not None:
        (ws.tmp / "summary.json").write_text(_json(result.summary), encoding="utf-8")
    ws.copy_store_to_db(con, con.list_tables())
    con.disconnect()
    run.con = None
    if log.rewritten and ws.store is not None and not (ws.db is not None
                                                       and not ws.db_in_out):
        compact_store(ws.store)
    ws.publish()
    return dataclasses.replace(result, out=ws.out)


def _result(run: _Run, log: _Log, steps: _Steps, opts: AnalyzeOptions) -> AnalysisResult:
    """The run's :class:`AnalysisResult` (without its summary), with each optional stage's
    status."""
    km, ward = steps.km, steps.ward
    ran = {"kmeans": km is not None and km.skipped is None,
           "ward": ward is not None and ward.skipped is None,
           "value": steps.value is not None, "stats": steps.stats is not None,
           "propensity": steps.propensity is not None, "basket": steps.basket is not None}
    if opts.segments.clusters != "kmeans+ward":
        del ran["ward"]
    if not log.money:
        ran = {"spend": False, **ran}
    skipped, tracebacks = run.skipped, run.tracebacks
    return AnalysisResult(
        ingest=log.ingested.to_dict(), quality=log.quality, customers=steps.customers,
        time_unit=opts.value.time_unit, rfm=steps.rfm, segments=steps.segments, clusters=km,
        cluster_actions=steps.actions, hierarchy=ward, calibration=steps.calibration,
        value=steps.value, stats=steps.stats, basket=steps.basket,
        propensity=steps.propensity,
        stages={name: StageStatus.from_run(
            name, ran=done, skipped=skipped, tracebacks=tracebacks,
            otherwise="K-means did not run, and Ward runs beside it")
            for name, done in ran.items()},
        skipped=skipped, tracebacks=tracebacks, params=run.params,
        timings_s=run.clock.timings, peak_rss_mb=run.clock.peaks, version=__version__,
    )


def label_clusters(customers: Any, km: Any, ward: Any, actions: Any = None) -> None:
    """Add ``cluster``/``cluster_name`` (K-means) and ``ward_cluster`` to the pandas
    ``customers`` in place, for the runs that were not skipped (Ward only when it labelled
    every customer).

    With ``actions`` (:func:`valuemax.decide.cluster_actions` with members, so with
    ``share_same_action``), also ``cluster_mixed``: True where the customer's cluster is
    "mixed" (fewer than :data:`valuemax.decide._actions.MIXED_BELOW` of its customers in
    segments with the action of the cluster's centre: no cluster-wide action, act on the
    customer's RFM segment), False where the cluster's action applies.
    """
    if km is not None and km.skipped is None:
        customers["cluster"] = km.labels.astype("Int64")
        customers["cluster_name"] = customers["cluster"].map(km.names)
        if actions is not None and "share_same_action" in actions:
            mixed = dict(zip(actions["cluster"], actions["share_same_action"] < MIXED_BELOW,
                             strict=True))
            customers["cluster_mixed"] = customers["cluster"].map(mixed).astype("boolean")
    if ward is not None and ward.skipped is None and len(ward.labels) == len(customers):
        customers["ward_cluster"] = ward.labels.reindex(customers.index).astype("Int64")


def _cluster(customers, clusters, k_min, k_max, random_state, country, skipped, tracebacks):
    if clusters == "none":
        skipped["kmeans"] = "clustering turned off with " + both_names("clusters='none'")
        return None, None, None
    if len(customers) < MIN_CUSTOMERS_TO_CLUSTER:
        skipped["kmeans"] = (
            f"only {len(customers):,} customers: clustering needs at least "
            f"{MIN_CUSTOMERS_TO_CLUSTER} for the silhouette to choose k meaningfully; "
            "the RFM segments above still apply"
        )
        return None, None, None
    km = kmeans_segments(
        customers, k_min=k_min, k_max=k_max, random_state=random_state, country=country
    )
    actions = None
    if km.skipped is not None:
        skipped["kmeans"] = km.skipped
    else:
        actions = cluster_actions(km.profile,
                                  members=customers[["segment"]].assign(cluster=km.labels))
    ward = None
    if clusters == "kmeans+ward":
        ward = run_step("ward", skipped, tracebacks, ward_segments, customers,
                        random_state=random_state)
        if ward is not None and ward.skipped is not None:
            skipped["ward"] = ward.skipped
    return km, actions, ward


def _write_back(econ, schema, tables):
    """A ``write_table`` for results computed on ``econ``: kept there as the run's
    ``valuemax_tmp_<tag>_NAME`` (in ``schema`` when given; published as ``valuemax_NAME``
    at the end) and copied into the local store as ``NAME``."""
    def store(con, name, expr):
        copy_to_store(con, name, write_engine_table(econ, tables.work(name), expr, schema),
                      schema=expr.schema())
    return store


def _release_labelled(con: Any, stored: Any) -> Any:
    """Drop clean's labelled lines (the temporary ``_vm_labelled_*`` table, every line of
    the log with its rule columns: about 1 GB at 10M lines) once the clean lines, the
    quarantine and the lost customers are counted: nothing reads it after that, and held
    to the end of the run it took the later steps' share of the store's memory limit (or
    was spilled to disk). Returns ``stored`` reading the stored tables (``lines`` None)."""
    names = [r[0] for r in con.con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE temporary AND "
        "starts_with(table_name, '_vm_labelled_')").fetchall()]
    for name in names:
        con.con.execute(f'DROP TABLE IF EXISTS temp.main."{name}"')
    return dataclasses.replace(stored, quarantine=con.table("quarantine"), lines=None)


def _with_lost_customers(cleaned, ingested, con):
    """Add a note counting customer ids whose every line was quarantined (one engine query;
    on clean's labelled lines when it has them, else on the log parsed again)."""
    report, lines = cleaned.report, cleaned.lines
    if lines is None:
        std = ingested.standardized()
        kept = con.table("transactions_clean").select("customer_id").distinct()
        ids = std.filter(std.customer_id.notnull()).select("customer_id").distinct()
        lost = ids.anti_join(kept, "customer_id")
        n_lost = int(lost.count().to_pyarrow().as_py())
        n_ids = int(ids.count().to_pyarrow().as_py()) if n_lost else 0
    else:  # one GROUP BY of the lines: a customer is lost when none of theirs is clean
        per = lines.filter(lines.customer_id.notnull()).group_by("customer_id").aggregate(
            _vm_kept=ibis.ifelse(lines.reason.isnull(), 1, 0).max())
        lost = per.filter(per._vm_kept == 0).select("customer_id")
        row = per.aggregate(n_ids=per.count(), n_lost=(1 - per._vm_kept).sum()
                            ).to_pyarrow().to_pylist()[0]
        n_ids, n_lost = int(row["n_ids"]), int(row["n_lost"] or 0)
    if n_lost == 0:
        return report
    examples = lost.order_by("customer_id").limit(5).to_pyarrow().column(0).to_pylist()
    note = (
        f"customers lost to the quarantine: {n_lost:,} of {n_ids:,} customer ids have no clean "
        f"line (e.g. {', '.join(map(str, examples))}); they are not in the customer table. "
        "See quarantine.parquet for their lines and reasons."
    )
    return dataclasses.replace(report, notes=(*report.notes, note))


def _json(obj: Any) -> str:
    import json

    return json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n"


__all__ = ["STEPS", "analyze"]
