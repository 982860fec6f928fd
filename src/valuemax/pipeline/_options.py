"""The options of the jobs, grouped: one frozen object per concern, validated once.

``analyze`` and the part jobs (``customer_value``, ``buy_propensity``,
``association_rules``, ``inspect``) take these objects; the CLI builds each one once from its
flags. The flat keywords of the jobs (``analyze(path, clusters="none", clv=False)``) are a
shorthand that fills them (:func:`gather`); a group object and one of its own flat keywords
together are refused with a ``TypeError`` naming both.

Each object checks its fields in ``__post_init__`` with the shared vocabulary of
:mod:`valuemax._core.validation` and raises :class:`~valuemax.exceptions.InputError` (exit
code 2 in the CLI), so a job refuses a wrong option before reading a line. Dates are kept as
``datetime.date`` once checked: the observation end is parsed here, once per run.
"""

from __future__ import annotations

import datetime as dt
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from valuemax._core.exceptions import InputError
from valuemax._core.validation import (
    check_choice,
    check_date,
    check_in_interval,
    check_random_state,
    check_time_unit,
    check_whole_number,
)
from valuemax.clean import PRESETS
from valuemax.clv import MODEL_OPTIONS

#: Clusterings besides the RFM segments.
CLUSTER_CHOICES = ("kmeans", "kmeans+ward", "none")


def _set(obj: Any, name: str, value: Any) -> None:
    object.__setattr__(obj, name, value)


@dataclass(frozen=True)
class ReadOptions:
    """How to read the source: the arguments of :func:`valuemax.io.read_transactions`.

    Parameters
    ----------
    columns : sequence of str, optional
        Names for a headerless file, in file order (e.g. the CDNOW sample's
        ``customer_id, customer_index, date, quantity, amount``). Default None: the file's
        header.
    mapping : mapping of str to str, optional
        Canonical column -> source column, overriding the detected mapping (e.g.
        ``{"customer_id": "会员号"}``). Default None: detected from the names.
    date_format : str or sequence of str, optional
        ``strptime`` format(s) of the date column (e.g. ``"%d/%m/%Y"``). Default None:
        inferred, refusing an ambiguous day/month order.
    encoding : str, optional
        Text encoding. Default None: detected among utf-8, utf-8-sig, utf-16, gb18030.
    sheet : str or int, optional
        Excel sheet: its name or 0-based index. Default None: the first non-empty sheet.
    decimal : {".", ","}, default "."
        Decimal separator of numbers (``","`` for European ``1.234,50``).

    Raises
    ------
    InputError
        If ``decimal`` is not ``"."`` or ``","``, or ``columns``, ``mapping`` or
        ``date_format`` are malformed (the reader's own checks). The file-dependent checks
        (a mapped column missing, an unreadable date) are made by ``read_transactions``.
    """

    columns: Sequence[str] | None = None
    mapping: Mapping[str, str] | None = None
    date_format: str | Sequence[str] | None = None
    encoding: str | None = None
    sheet: str | int | None = None
    decimal: Literal[".", ","] = "."

    def __post_init__(self) -> None:
        # read_transactions' own checks, so the messages are the reader's
        from valuemax.io._mapping import validate_mapping
        from valuemax.io._read import _check_columns, _check_date_format

        check_choice("decimal", self.decimal, (".", ","),
                     explain="',' for European numbers such as 1.234,50")
        _set(self, "columns", _check_columns(self.columns))
        validate_mapping(self.mapping)
        _check_date_format(self.date_format)
        if self.date_format is not None and not isinstance(self.date_format, str):
            _set(self, "date_format", tuple(self.date_format))

    def to_params(self) -> dict[str, Any]:
        """The recorded form (``runs.parameters``, ``summary.json`` ``params``)."""
        return {"mapping": dict(self.mapping or {}),
                "columns": list(self.columns) if self.columns else None,
                "date_format": self.date_format if self.date_format is None
                or isinstance(self.date_format, str) else list(self.date_format),
                "encoding": self.encoding, "sheet": self.sheet, "decimal": self.decimal}


@dataclass(frozen=True)
class CleanOptions:
    """How to clean the log: the arguments of :func:`valuemax.clean.clean`.

    Parameters
    ----------
    preset : {"standard", "classic", "none"}, default "standard"
        Rule set (``classic`` reproduces the published rules of the Online Retail papers).
    observation_end : date or str "YYYY-MM-DD", optional
        Last day observed, inclusive; lines after it are quarantined. Kept as a
        ``datetime.date``. Default None: the date of the last valid transaction.
    returns : {"net", "exclude"}, optional
        ``"net"``: returns deducted from the customer's earlier purchase of the product;
        ``"exclude"``: returns quarantined, the purchase kept. Default None: ``"net"`` with
        the standard preset, ``"exclude"`` otherwise (with ``"none"``, which has no return
        rule, return lines stay as they are).

    Raises
    ------
    InputError
        If ``preset`` or ``returns`` is not one of its choices, ``returns`` is given with
        ``preset="none"`` (that preset keeps return lines: neither choice would act), or
        ``observation_end`` is not a whole calendar day.
    """

    preset: Literal["standard", "classic", "none"] = "standard"
    observation_end: dt.date | str | None = None
    returns: Literal["net", "exclude"] | None = None

    def __post_init__(self) -> None:
        check_choice("preset", self.preset, tuple(PRESETS))
        check_choice("returns", self.returns, ("net", "exclude", None))
        if self.returns is not None and not {"cancellation", "return"} & set(
                PRESETS[self.preset].rules):
            raise InputError(
                f"returns={self.returns!r} cannot be combined with preset={self.preset!r}: "
                f"that preset has no return rule, so return and cancellation lines stay in "
                f"the clean log as they are and the option would do nothing (preset "
                f"{self.preset!r} quarantines: {PRESETS[self.preset].description[0].lower()}"
                f"{PRESETS[self.preset].description[1:].rstrip('.')}). To quarantine returns use preset='classic' (the "
                f"published rules) or preset='standard' with returns='exclude'; to net them, "
                f"preset='standard' (returns='net' is its default); to keep every usable "
                f"line, leave the returns option out.")
        _set(self, "observation_end", check_date(
            "observation_end", self.observation_end,
            none="the date of the log's last transaction"))


@dataclass(frozen=True)
class SegmentOptions:
    """The clusters run beside the RFM segments (:func:`valuemax.segment.kmeans_segments`).

    Parameters
    ----------
    clusters : {"kmeans", "kmeans+ward", "none"}, default "kmeans"
        K-means on recency, frequency and spend; with Ward's hierarchy beside it; or none.
    k_min, k_max : int, default 2 and 10
        Range of the number of clusters searched by silhouette; 2 <= k_min <= k_max <= 50.

    Raises
    ------
    InputError
        If ``clusters`` is not one of its choices or the k range is not whole numbers with
        2 <= k_min <= k_max <= 50.
    """

    clusters: Literal["kmeans", "kmeans+ward", "none"] = "kmeans"
    k_min: int = 2
    k_max: int = 10

    def __post_init__(self) -> None:
        check_choice("clusters", self.clusters, CLUSTER_CHOICES)
        check_whole_number("k_min", self.k_min, 2, 50, what="a number of clusters",
                           example="e.g. 2")
        check_whole_number("k_max", self.k_max, self.k_min, 50,
                           what="a number of clusters, at least k_min,", example="e.g. 10")


@dataclass(frozen=True)
class ValueOptions:
    """Customer value: the BTYD summary's unit, the purchase model and the CLV it values.

    Parameters
    ----------
    enabled : bool, default True
        Run the value step (purchase model, Gamma-Gamma, CLV); the flat keyword is
        ``clv=``. ``customer_value`` runs it whatever this says.
    time_unit : {"D", "W"}, default "D"
        Unit of ``frequency``, ``recency`` and ``T`` (W = days / 7).
    calibration_end : date or str "YYYY-MM-DD", optional
        End of the calibration period, inclusive (kept as a ``datetime.date``); the rest
        of the observation period is the holdout the models are compared on. Default
        None: the last third of the span is held out.
    horizon_months : int, default 12
        CLV horizon in months of 30.4375 days, whatever ``time_unit`` is; 1..600.
    discount_rate : float, default 0.01
        Monthly discount rate of future margin, in [0, 1).
    margin : float, default 1.0
        Share of revenue that is profit, in (0, 1]; 1 gives revenue CLV.
    model : {"auto", "bgnbd", "mbgnbd", "pareto"}, default "auto"
        Purchase model (flat keyword ``clv_model=``); ``auto`` chooses on the holdout
        (:func:`valuemax.clv.choose_model`).

    Raises
    ------
    InputError
        If a field is outside the range or choices above.
    """

    enabled: bool = True
    time_unit: Literal["D", "W"] = "D"
    calibration_end: dt.date | str | None = None
    horizon_months: int = 12
    discount_rate: float = 0.01
    margin: float = 1.0
    model: Literal["auto", "bgnbd", "mbgnbd", "pareto"] = "auto"

    def __post_init__(self) -> None:
        check_choice("clv", self.enabled, (True, False))
        check_time_unit(self.time_unit)
        _set(self, "calibration_end", check_date(
            "calibration_end", self.calibration_end, example="2011-06-30",
            none="the last third of the span held out"))
        check_whole_number("horizon_months", self.horizon_months, 1, 600,
                           what="a whole number of months", example="e.g. 12")
        check_in_interval("discount_rate", self.discount_rate, "[0, 1)",
                          what="a monthly rate",
                          example="e.g. 0.01 for 1% a month, about 12.7% a year")
        check_in_interval("margin", self.margin, "(0, 1]", what="a share of revenue",
                          example="e.g. 0.3 for a 30% gross margin")
        check_choice("clv_model", self.model, tuple(MODEL_OPTIONS))


@dataclass(frozen=True)
class PropensityOptions:
    """The buy-again model (:func:`valuemax.propensity.fit_propensity`).

    Parameters
    ----------
    enabled : bool, default True
        Score every customer's chance to buy again (the flat keyword ``propensity=`` takes
        this bool). ``buy_propensity`` runs it whatever this says.
    horizon_days : int, default 90
        Days after a cutoff in which a purchase counts as buying again; 1..3650.

    Raises
    ------
    InputError
        If ``enabled`` is not a bool or ``horizon_days`` not a whole number in 1..3650.
    """

    enabled: bool = True
    horizon_days: int = 90

    def __post_init__(self) -> None:
        check_choice("propensity", self.enabled, (True, False))
        check_whole_number("horizon_days", self.horizon_days, 1, 3650,
                           what="a whole number of days", example="e.g. 90")


@dataclass(frozen=True)
class PrivacyOptions:
    """Personal data: pseudonymised ids and the personal-data columns kept.

    Parameters
    ----------
    pseudonymize : bool, default False
        Replace customer ids right after reading by keyed HMAC-SHA256 pseudonyms (64 hex
        digits, :func:`valuemax.io.protect`).
    pseudonym_key : str or bytes, optional
        The key (at least 16 bytes); only with ``pseudonymize=True``. Not shown in the
        object's ``repr``, written nowhere.
    pseudonym_key_file : path, optional
        A file holding the key, instead of ``pseudonym_key``. Without either, the key is
        the environment variable ``VALUEMAX_PSEUDONYM_KEY``.
    keep_pii : sequence of str, default ()
        Columns to keep although they hold personal data (by default every such column is
        dropped right after reading). Kept as a tuple.

    Raises
    ------
    InputError
        If ``pseudonymize`` is not a bool, a key is given without ``pseudonymize=True``, or
        ``keep_pii`` is not column names. A missing or short key is refused when the job
        starts (:meth:`key`).
    """

    pseudonymize: bool = False
    pseudonym_key: str | bytes | None = field(default=None, repr=False)
    pseudonym_key_file: str | os.PathLike | None = None
    keep_pii: Sequence[str] = ()

    def __post_init__(self) -> None:
        check_choice("pseudonymize", self.pseudonymize, (True, False))
        if not self.pseudonymize and (self.pseudonym_key is not None
                                      or self.pseudonym_key_file is not None):
            raise InputError("a pseudonym key was given but ids are not pseudonymised: pass "
                             "pseudonymize=True as well (CLI --pseudonymize)")
        given = self.keep_pii
        keep = (given,) if isinstance(given, str) else tuple(given or ())
        if not all(isinstance(k, str) and k.strip() for k in keep):
            raise InputError(f"keep_pii= must be column names, e.g. ['email'] (CLI --keep-pii "
                             f"email); got {given!r}")
        _set(self, "keep_pii", keep)

    def key(self) -> Any:
        """The :class:`~valuemax.privacy.PseudonymKey`, or None without ``pseudonymize``.

        The given key, else the content of ``pseudonym_key_file``, else
        ``VALUEMAX_PSEUDONYM_KEY`` (:func:`valuemax.privacy.load_key`).

        Raises
        ------
        InputError
            If no key is found or it is shorter than 16 bytes (the message says how to set
            one and never holds the key).
        """
        from valuemax.privacy import load_key

        if not self.pseudonymize:
            return None
        return load_key(self.pseudonym_key, key_file=self.pseudonym_key_file)


@dataclass(frozen=True)
class EngineOptions:
    """Where the source is read and the row-level steps run (``analyze`` only).

    Parameters
    ----------
    engine : None, "duckdb", "spark", URL, Ibis backend or SparkSession, optional
        Default None: the local DuckDB. URLs ``postgres://user:password@host:5432/db``,
        ``mysql://...``, ``mariadb://...``. The flat keyword ``engine=`` takes this value.
    table, query : str, optional
        Read this table of the engine, or the result of this SQL query run there, instead
        of a source (pass ``source=None``).
    schema : str, optional
        The schema the ``valuemax_*`` tables are written to in the engine (a plain name).
    spark_master : str, optional
        With ``engine="spark"``: the master of the session started (default ``local[*]``).
    memory_limit : str, optional
        DuckDB's ``memory_limit`` for the run's local store, e.g. ``"4GB"`` (DuckDB's size
        units: KB, MB, GB, TB, KiB, MiB, GiB, TiB); default the job's own
        (:data:`valuemax.pipeline._analyze.STORE_MEMORY_LIMIT`, 1.5 GB). Beyond it DuckDB
        spills to disk where it can; a step that still ran out of it is skipped with a
        reason naming this option. Python's own memory (the customer table, the models)
        comes on top of it.

    Raises
    ------
    InputError
        If ``engine`` is a name other than ``"duckdb"``/``"spark"`` that is not a URL, or a
        URL of a scheme valuemax does not run on (the message the job gave when opening
        it); if ``table``/``query`` are empty, both given or given without an engine other
        than DuckDB, ``schema`` is not a plain name or has no engine, or ``spark_master`` is
        malformed or given without ``engine="spark"``; if ``memory_limit`` is not a size of
        at least 100 MB. Whether the engine can be reached is found when the job opens it.
    """

    engine: Any = None
    table: str | None = None
    query: str | None = None
    schema: str | None = None
    spark_master: str | None = None
    memory_limit: str | None = None

    def __post_init__(self) -> None:
        from valuemax.pipeline._engine import check_engine_options

        check_engine_options(self.engine, self.table, self.query, self.schema,
                             self.spark_master)
        _check_engine_value(self.engine)
        _check_memory_limit(self.memory_limit)

    def __repr__(self) -> str:
        """The fields, with the password of a server URL (engine or master) masked."""
        from valuemax.engines import redact

        shown = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in ("engine", "spark_master"):
            if isinstance(shown[name], str):
                shown[name] = redact(shown[name])
        return "EngineOptions(" + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"


#: The smallest ``memory_limit`` accepted: below it DuckDB fails on small logs already.
MIN_MEMORY_LIMIT = 100 * 10**6


def _check_memory_limit(limit: Any) -> None:
    """Refuse a ``memory_limit`` that is not None nor a DuckDB size of at least
    :data:`MIN_MEMORY_LIMIT` bytes."""
    from valuemax.engines._memory import parse_size

    if limit is None:
        return
    size = parse_size(limit) if isinstance(limit, str) else None
    if size is None or size < MIN_MEMORY_LIMIT:
        raise InputError(
            f"memory_limit must be a memory size of at least 100MB, such as '4GB' or '8GiB' "
            f"(units KB, MB, GB, TB, KiB, MiB, GiB, TiB); got {limit!r}.")


def _check_engine_value(engine: Any) -> None:
    """Refuse at build the engine values a job would refuse on opening, with the same
    message: a name other than ``"duckdb"``/``"spark"`` that is not a URL (the check of
    ``open_engine``), a URL whose scheme valuemax does not run on (the check of
    :func:`valuemax.engines.connect_url`). Both raise before anything is opened; a supported
    URL is only opened (and a server reached) by the job."""
    from valuemax.engines import connect_url
    from valuemax.engines._connect import _SERVERS
    from valuemax.pipeline._engine import ENGINE_NAMES, open_engine

    if not isinstance(engine, str) or engine in ENGINE_NAMES:
        return
    if "://" not in engine:
        open_engine(engine)  # raises: not a name, not a URL
    elif engine.split("://", 1)[0].lower() not in (*_SERVERS, "duckdb"):
        connect_url(engine)  # raises: the scheme is not supported


#: The options objects of the jobs, by keyword.
GROUPS: dict[str, type] = {
    "read": ReadOptions, "clean": CleanOptions, "segments": SegmentOptions,
    "value": ValueOptions, "propensity": PropensityOptions, "privacy": PrivacyOptions,
    "engine": EngineOptions,
}
#: Flat keyword -> (group, field) it fills.
SHORTHAND: dict[str, tuple[str, str]] = {
    **{name: ("read", name) for name in ("columns", "mapping", "date_format", "encoding",
                                         "sheet", "decimal")},
    **{name: ("clean", name) for name in ("preset", "observation_end", "returns")},
    **{name: ("segments", name) for name in ("clusters", "k_min", "k_max")},
    "clv": ("value", "enabled"), "clv_model": ("value", "model"),
    **{name: ("value", name) for name in ("time_unit", "calibration_end", "horizon_months",
                                          "discount_rate", "margin")},
    "propensity": ("propensity", "enabled"), "horizon_days": ("propensity", "horizon_days"),
    **{name: ("privacy", name) for name in ("pseudonymize", "pseudonym_key",
                                            "pseudonym_key_file", "keep_pii")},
    **{name: ("engine", name) for name in ("engine", "table", "query", "schema",
                                           "spark_master", "memory_limit")},
}
#: The CLI flag of a Python keyword (with its value, or ending in ``=``), for messages of the
#: Python API that name an option: both are named (:func:`both_names`).
FLAGS: dict[str, str] = {
    "clv=False": "--no-clv", "propensity=False": "--no-propensity",
    "clusters='none'": "--clusters none", "calibration_end=": "--calibration-end",
    "horizon_months=": "--horizon-months", "refit=True": "--refit",
    "memory_limit=": "--memory-limit",
}


def both_names(keyword: str) -> str:
    """The CLI flag and the Python keyword that set an option, for a message of the API.

    The CLI shows the message with the keyword written as its flag, once
    (``valuemax.cli._options.cli_words``).

    >>> both_names("clv=False")
    '--no-clv (clv=False)'
    >>> both_names("horizon_months=")
    '--horizon-months (horizon_months=)'
    """
    return f"{FLAGS[keyword]} ({keyword})"


#: Old keyword names, still accepted with a ``FutureWarning``: old -> new.
RENAMED: dict[str, str] = {"seed": "random_state", "clv_horizon": "horizon_months",
                           "horizon": "horizon_days"}


def gather(who: str, groups: Mapping[str, Any], flat: Mapping[str, Any], *,
           stacklevel: int = 3) -> dict[str, Any]:
    """The options objects of a job, from its group keywords and flat shorthand.

    Parameters
    ----------
    who : str
        The job's name, for messages (``"analyze"``).
    groups : mapping of str to object or None
        The group keywords the job takes (a subset of :data:`GROUPS`), each an options
        object or None (built from the flat keywords, or the defaults).
    flat : mapping of str to object
        The other keywords the caller gave: flat names of :data:`SHORTHAND` (for the groups
        the job takes) and the old names of :data:`RENAMED`.
    stacklevel : int, default 3
        Of the ``FutureWarning``: 3 points at the caller of the job that calls ``gather``.

    Returns
    -------
    dict of str to object
        One options object per group of ``groups``, plus ``"random_state"`` when the old
        ``seed`` was given.

    Raises
    ------
    TypeError
        A keyword the job does not take, a group keyword that is not its options object
        (e.g. a dict), or a group object given together with one of its own flat keywords
        (both are named).
    InputError
        A field out of range (the object's validation).

    Warns
    -----
    FutureWarning
        For each old keyword name (``seed``, ``clv_horizon``, ``horizon``), naming the new
        one.
    """
    for g, obj in groups.items():
        cls = GROUPS[g]
        if obj is not None and not isinstance(obj, cls):
            fix = (f"{cls.__name__}(**{g})" if isinstance(obj, Mapping) else
                   f"{cls.__name__}(...)")
            raise TypeError(f"{who}(): {g}= takes a {cls.__name__} (or None); got "
                            f"{type(obj).__name__}: pass {g}={fix}")
    fields: dict[str, dict[str, Any]] = {g: {} for g in groups}
    extra: dict[str, Any] = {}
    for name, value in flat.items():
        new = RENAMED.get(name)
        if new is not None:
            warnings.warn(f"{who}(): the keyword {name}= is renamed {new}= (same meaning and "
                          f"unit); {name}= will be removed", FutureWarning,
                          stacklevel=stacklevel)
            if new in flat:
                raise TypeError(f"{who}() got both {name}= and {new}=: pass {new}= only")
            name = new
        if name == "random_state":
            extra[name] = value
            continue
        group, attr = SHORTHAND.get(name, (None, None))
        if group is None or group not in groups:
            raise TypeError(f"{who}() got an unexpected keyword argument {name!r}")
        if groups[group] is not None:
            cls = GROUPS[group].__name__
            raise TypeError(f"{who}() got both {group}= and {name}=: set {attr}= in the "
                            f"{cls} given as {group}=, or pass {name}= alone")
        fields[group][attr] = value
    built = {g: obj if obj is not None else GROUPS[g](**fields[g])
             for g, obj in groups.items()}
    return {**built, **extra}


@dataclass(frozen=True)
class AnalyzeOptions:
    """The seven options objects of :func:`valuemax.pipeline.analyze` and its seed, as
    :func:`analyze_options` resolves them from its keywords."""

    read: ReadOptions
    clean: CleanOptions
    segments: SegmentOptions
    value: ValueOptions
    propensity: PropensityOptions
    privacy: PrivacyOptions
    engine: EngineOptions
    random_state: int


def analyze_options(*, read: Any, clean: Any, segments: Any, value: Any, propensity: Any,
                    privacy: Any, engine: Any, random_state: Any,
                    shorthand: Mapping[str, Any]) -> AnalyzeOptions:
    """The options of :func:`valuemax.pipeline.analyze` from its keywords, validated once.

    ``propensity`` and ``engine`` also take their flat values there (``propensity=False``,
    ``engine="spark"``), which fill ``PropensityOptions.enabled`` and
    ``EngineOptions.engine``; every other flat keyword comes in ``shorthand``
    (:func:`gather`).

    Parameters
    ----------
    read, clean, segments, value, propensity, privacy, engine : options object or None
        ``analyze``'s group keywords as given (``propensity``: also a bool; ``engine``:
        also a name, URL or live backend).
    random_state : int
        ``analyze``'s ``random_state=`` as given.
    shorthand : mapping of str to object
        ``analyze``'s other keywords.

    Returns
    -------
    AnalyzeOptions

    Raises
    ------
    TypeError
        As :func:`gather` and :func:`random_state_of`.
    InputError
        A field out of range, or a seed outside 0..2**32 - 1.

    Warns
    -----
    FutureWarning
        For each old keyword name, pointing at the caller of ``analyze``.
    """
    flat = dict(shorthand)
    if propensity is not None and not isinstance(propensity, PropensityOptions):
        flat["propensity"], propensity = propensity, None
    if engine is not None and not isinstance(engine, EngineOptions):
        flat["engine"], engine = engine, None
    groups = {"read": read, "clean": clean, "segments": segments, "value": value,
              "propensity": propensity, "privacy": privacy, "engine": engine}
    opts = gather("analyze", groups, flat, stacklevel=4)
    return AnalyzeOptions(**{g: opts[g] for g in groups},
                          random_state=random_state_of("analyze", random_state, opts))


def random_state_of(who: str, random_state: Any, gathered: Mapping[str, Any]) -> int:
    """The job's seed: ``random_state=``, or the old ``seed=`` found by :func:`gather`.

    Raises
    ------
    TypeError
        If both were given (``random_state`` other than its default 0).
    InputError
        If it is not an integer in 0..2**32 - 1.
    """
    if "random_state" in gathered:
        if not (isinstance(random_state, int) and random_state == 0):
            raise TypeError(f"{who}() got both seed= and random_state=: pass random_state= "
                            "only")
        random_state = gathered["random_state"]
    try:
        return check_random_state(random_state)
    except InputError as exc:  # other commands' seeds have other flags: named here
        raise InputError(f"{exc} (CLI --random-state)") from None


__all__ = [
    "CLUSTER_CHOICES",
    "FLAGS",
    "GROUPS",
    "RENAMED",
    "SHORTHAND",
    "AnalyzeOptions",
    "CleanOptions",
    "EngineOptions",
    "PrivacyOptions",
    "PropensityOptions",
    "ReadOptions",
    "SegmentOptions",
    "ValueOptions",
    "analyze_options",
    "both_names",
    "gather",
    "random_state_of",
]
