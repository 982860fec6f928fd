"""Shared pieces of the commands: option types, argument parsing, error handling."""

from __future__ import annotations

import errno
import re
import signal
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperCommand, TyperGroup

from valuemax._core.exceptions import InputError, StepNotApplicable, ValuemaxError

OutOpt = Annotated[Path, typer.Option("--out", "-o", metavar="DIR", help="Output folder (written atomically).")]
DbOpt = Annotated[Path | None, typer.Option("--db", metavar="FILE", help="DuckDB store file (default: DIR/valuemax.duckdb).")]
MapOpt = Annotated[list[str] | None, typer.Option("--map", metavar="CANONICAL=SOURCE", help="Override the column mapping: canonical=source (repeatable), e.g. --map customer_id=会员号.")]
ColumnsOpt = Annotated[str | None, typer.Option("--columns", metavar="NAMES", help="Comma-separated names for a headerless file, e.g. customer_id,customer_index,date,quantity,amount.")]
PresetOpt = Annotated[str, typer.Option("--preset", metavar="standard|classic|none", help="Cleaning rules: standard | classic | none.")]
ObsEndOpt = Annotated[str | None, typer.Option("--observation-end", metavar="DATE", help="Observation end YYYY-MM-DD, inclusive (default: the last valid transaction date).")]
CalEndOpt = Annotated[str | None, typer.Option("--calibration-end", metavar="DATE", help="Also build the calibration/holdout table split at this date YYYY-MM-DD (inclusive).")]
TimeUnitOpt = Annotated[str, typer.Option("--time-unit", metavar="D|W", help="Unit of frequency/recency/T: D (days) or W (weeks = days/7).")]
DateFmtOpt = Annotated[list[str] | None, typer.Option("--date-format", metavar="FMT", help="strptime format of the date column, e.g. %d/%m/%Y (repeatable for several formats).")]
DecimalOpt = Annotated[str, typer.Option("--decimal", metavar="SEP", help="Decimal separator of numbers: '.' or ',' (European, e.g. 1.234,50).")]
SheetOpt = Annotated[str | None, typer.Option("--sheet", metavar="NAME", help="Excel sheet to read: its name or 0-based index (default: the first non-empty sheet).")]
EncodingOpt = Annotated[str | None, typer.Option("--encoding", metavar="NAME", help="Text encoding (default: detected among utf-8, utf-8-sig, utf-16, gb18030).")]
ReturnsOpt = Annotated[str | None, typer.Option("--returns", metavar="net|exclude", help="Returns netted against the customer's earlier purchase of the product, or excluded (quarantined, the purchase kept). Default: net with --preset standard, exclude otherwise.")]
RandomStateOpt = Annotated[int, typer.Option("--random-state", "--seed", metavar="N", help="Seed of every random step, in 0..4294967295 (--seed is its old name).")]
#: The old name of :data:`RandomStateOpt` (the same option).
ClustersOpt = Annotated[str, typer.Option("--clusters", metavar="kmeans|kmeans+ward|none", help="kmeans | kmeans+ward | none.")]
DebugOpt = Annotated[bool, typer.Option("--debug", metavar="", help="Show tracebacks of errors and of skipped steps.")]
ClvOpt = Annotated[bool, typer.Option("--clv/--no-clv", metavar="", help="Estimate customer value (purchase model + Gamma-Gamma): P(alive), expected purchases, CLV.")]
HorizonMonthsOpt = Annotated[int, typer.Option("--horizon-months", "--clv-horizon", metavar="MONTHS", help="CLV horizon in months of 30.4375 days, whatever --time-unit is (--clv-horizon is its old name).")]
DiscountOpt = Annotated[float, typer.Option("--discount-rate", metavar="RATE", help="Monthly discount rate of future margin, e.g. 0.01 (about 12.7%/year).")]
MarginOpt = Annotated[float, typer.Option("--margin", metavar="SHARE", help="Profit share of revenue in (0, 1]; 1 values revenue.")]
ClvModelOpt = Annotated[str, typer.Option("--clv-model", metavar="auto|bgnbd|mbgnbd|pareto", help="Purchase model; auto chooses on the holdout (lowest MAE, BIC among near ties).")]
PropensityOpt = Annotated[bool, typer.Option("--propensity/--no-propensity", metavar="", help="Score each customer's chance to buy again within --horizon-days days (needs a log spanning two horizons).")]
HorizonDaysOpt = Annotated[int, typer.Option("--horizon-days", "--horizon", metavar="DAYS", help="Buy-again horizon in days, 1..3650 (--horizon is its old name).")]
PseudonymizeOpt = Annotated[bool, typer.Option("--pseudonymize", metavar="", help="Replace customer ids right after reading by keyed HMAC-SHA256 pseudonyms (key from $VALUEMAX_PSEUDONYM_KEY or --pseudonym-key-file; the same key gives the same pseudonyms; the key is written nowhere).")]
KeyFileOpt = Annotated[Path | None, typer.Option("--pseudonym-key-file", metavar="FILE", help="File holding the pseudonym key (with --pseudonymize), instead of $VALUEMAX_PSEUDONYM_KEY.")]
KeepPiiOpt = Annotated[list[str] | None, typer.Option("--keep-pii", metavar="COL", help="Keep this column although it holds personal data (repeatable); by default such columns (e-mail, phone, names, addresses, national ids, bank/card numbers) are dropped right after reading and listed in the report.")]
EngineOpt = Annotated[str | None, typer.Option("--engine", metavar="duckdb|spark|URL", help="Where to read and run the row-level steps: duckdb (local, default), spark (local mode) or a server URL postgres://user:password@host:5432/db or mysql://... (MariaDB too). Cleaning, the customer table and the calibration/holdout run there; the rest of the job in the local store.")]
TableOpt = Annotated[str | None, typer.Option("--table", metavar="NAME", help="Read this table of --engine instead of a file, e.g. --table orders.")]
QueryOpt = Annotated[str | None, typer.Option("--query", metavar="SQL", help="Read the result of this SQL query run on --engine instead of a file.")]
SchemaOpt = Annotated[str | None, typer.Option("--schema", metavar="NAME", help="With --engine: write the valuemax_* result tables into this schema (PostgreSQL schema, MySQL/MariaDB database, Spark database), created when missing; default the engine's default schema.")]
MemoryLimitOpt = Annotated[str | None, typer.Option("--memory-limit", metavar="SIZE", help="DuckDB's memory limit for the local store, e.g. 4GB (default 1.5GB, at least 100MB); beyond it DuckDB spills to disk where it can. Python's memory (customer table, models) comes on top.")]
SparkMasterOpt = Annotated[str | None, typer.Option("--spark-master", metavar="URL", help="With --engine spark: the Spark master, e.g. local[4], spark://host:7077, yarn, k8s://https://host:6443 (default local[*]).")]
JsonOpt = Annotated[bool, typer.Option("--json", metavar="", help="Print machine-readable JSON instead of tables.")]


# Flags take no value: an empty metavar keeps Typer's help from showing them as "<bool>".


#: Old flag names kept as a second name of the renamed option: old -> new (as the Python
#: keywords ``seed=``, ``clv_horizon=``, ``horizon=`` of ``valuemax.pipeline._options.RENAMED``).
RENAMED_FLAGS: dict[str, str] = {"--seed": "--random-state", "--clv-horizon": "--horizon-months",
                                 "--horizon": "--horizon-days"}


class Command(TyperCommand):
    """A command whose ``--help`` flag, like every other flag, shows no ``<bool>`` type, and
    whose renamed flags (:data:`RENAMED_FLAGS`) say so when given under their old name."""

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)
        if option is not None:
            option.metavar = ""
        return option

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        check_renamed_flags(self, args)
        given = list(args)
        try:
            return super().parse_args(ctx, args)
        except typer.BadParameter as exc:
            if type(exc).__name__ != "MissingParameter":
                raise
            missing = self.missing_required(ctx, given)
            if len(missing) < 2:
                raise
            raise _USAGE_ERROR(_missing_message(missing), ctx=ctx) from None

    def missing_required(self, ctx: Any, args: list[str]) -> list[Any]:
        """The required parameters (arguments, options) that ``args`` does not give, in the
        order of the help (click stops at the first one)."""
        try:
            opts, _, _ = self.make_parser(ctx).parse_args(args=list(args))
        except typer.BadParameter:  # pragma: no cover - parse_args reached the missing one
            return []
        return [p for p in self.params if p.required and opts.get(p.name) is None
                and p.resolve_envvar_value(ctx) is None]


def _missing_message(params: list[Any]) -> str:
    """"Missing argument 'SCORES' and options '--margin', '--cost-per-contact'": every
    required parameter not given, in one line."""
    args = [p for p in params if p.param_type_name == "argument"]
    opts = [p for p in params if p.param_type_name != "argument"]

    def names(kind: str, ps: list[Any]) -> str:
        shown = ", ".join(f"'{p.metavar or p.name.upper() if kind == 'argument' else p.opts[0]}'"
                          for p in ps)
        return f"{kind}{'s' if len(ps) > 1 else ''} {shown}"

    parts = ([names("argument", args)] if args else []) + ([names("option", opts)]
                                                           if opts else [])
    return "Missing " + " and ".join(parts)


def _given(args: list[str], name: str) -> list[str]:
    """The values given to the option ``name`` in ``args`` (``NAME V`` or ``NAME=V``),
    before a ``--`` that ends the options."""
    found = []
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == name and i + 1 < len(args):
            found.append(args[i + 1])
        elif arg.startswith(name + "="):
            found.append(arg[len(name) + 1:])
    return found


def _same(values: list[str]) -> bool:
    """Whether the values are one number (``60`` and ``60.0`` are), or one text."""
    try:
        return len({float(v) for v in values}) <= 1
    except ValueError:  # not a number: refused by the option's own type check
        return len(set(values)) <= 1


def check_renamed_flags(command: Any, args: list[str]) -> None:
    """Say on stderr, in one line each, that an old flag name was used and which flag
    replaces it (the Python keywords give a ``FutureWarning``); refuse an old and a new name
    of one option given different values (exit 2, one line).

    Raises
    ------
    typer.Exit
        Code 2, when e.g. ``--seed 3 --random-state 4`` are both given.
    """
    err = Console(stderr=True, highlight=False)
    names = {name for param in command.params for name in getattr(param, "opts", ())}
    for old, new in RENAMED_FLAGS.items():
        if old not in names or new not in names:
            continue
        old_values = _given(args, old)
        if not old_values:
            continue
        new_values = _given(args, new)
        # one name repeated: the last value wins, as for every option (click); the old and
        # the new name of one option with different values: which one was meant is unclear
        if new_values and not _same(old_values[-1:] + new_values[-1:]):
            shown = f"{old} {old_values[-1]}, {new} {new_values[-1]}"
            err.print(f"[bold red]error:[/] {escape(shown)} set one option to different "
                      f"values: {old} is the old name of {new}; pass {new} once",
                      soft_wrap=True)
            raise typer.Exit(2)
        err.print(f"note: {old} is renamed {new} (same meaning and unit); {old} will be "
                  f"removed: pass {new}", soft_wrap=True)


#: click's UsageError as Typer raises it: Typer 0.29 vendors click (``typer._click``), older
#: Typer uses the click package; ``typer.BadParameter`` is a subclass in both.
_USAGE_ERROR: type[Exception] = next(c for c in typer.BadParameter.__mro__
                                     if c.__name__ == "UsageError")


class Group(TyperGroup):
    """The ``valuemax`` group, with the same ``--help`` rendering as :class:`Command`, and
    usage errors (an unknown command or option, a missing argument, a value of the wrong
    type) in one line on stderr with exit code 2, like every other refusal of the CLI
    (click's own rendering is a usage line, a hint line and a four-line box)."""

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)
        if option is not None:
            option.metavar = ""
        return option

    #: The command run when the group's first argument is none of its commands (e.g.
    #: ``valuemax experiment TABLE`` runs ``readout``); ``None``: no default.
    default_command: str | None = None

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if (self.default_command is not None and args and args[0] not in self.commands
                and args[0] not in ("--help", "-h")):
            args = [self.default_command, *args]
            ctx.meta[_implied_key(ctx)] = self.default_command  # the user did not type it
        return super().parse_args(ctx, args)

    def make_context(self, info_name: Any, args: list[str], parent: Any = None,
                     **extra: Any) -> Any:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except _USAGE_ERROR as exc:  # the group's own options
            if _shows_help(exc):
                raise
            raise _usage_exit(exc) from None

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except _USAGE_ERROR as exc:  # a command: unknown, or its options and arguments
            if _shows_help(exc):
                raise
            sub = ctx.invoked_subcommand  # set once the command's name was found
            raise _usage_exit(exc, f"{ctx.command_path} {sub}" if sub else ctx.command_path
                              ) from None


def _shows_help(exc: Any) -> bool:
    """Whether ``exc`` is click's "no arguments: show the help" (``valuemax`` or ``valuemax
    experiment`` alone): the help is the answer there, not an error line."""
    return type(exc).__name__ == "NoArgsIsHelpError"


def _implied_key(ctx: Any) -> str:
    """The ``ctx.meta`` key saying which command a group ran by default (not typed)."""
    return f"valuemax.implied:{ctx.command_path}"


def _usage_exit(exc: Any, where: str = "valuemax") -> typer.Exit:
    """Print the usage error ``exc`` in one line (what is wrong, where the options are
    listed: ``exc``'s command, else ``where``) and return the exit to raise (code 2).

    A command the user did not type (a group's :attr:`Group.default_command`, e.g.
    ``valuemax experiment TABLE`` running ``readout``) is not named alone: the line names
    the group the user typed, then where the default command's options are listed."""
    hint = None
    if exc.ctx is not None:
        where = exc.ctx.command_path
        parent = exc.ctx.parent
        if parent is not None and parent.meta.get(_implied_key(parent)) == exc.ctx.info_name:
            hint = (f"'{parent.command_path} --help' lists its commands and '{where} --help' "
                    f"the options of {exc.ctx.info_name}, which it runs by default")
    message = " ".join(exc.format_message().split()).rstrip(".")
    hint = hint or f"'{where} --help' lists the options"
    Console(stderr=True, highlight=False).print(
        f"[bold red]error:[/] {escape(message)}{' ' if message.endswith('?') else '; '}"
        f"{escape(hint)}", soft_wrap=True)
    return typer.Exit(2)


def parse_map(items: list[str] | None) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for item in items or []:
        canonical, sep, source = item.partition("=")
        if not sep or not canonical.strip() or not source.strip():
            raise InputError(
                f"--map {item!r} is not of the form canonical=source (e.g. --map order_id=单号)"
            )
        key = canonical.strip()
        if key in mapping and mapping[key] != source.strip():
            raise InputError(
                f"--map gives {key} twice ({mapping[key]!r} and {source.strip()!r}); "
                "give each canonical column once"
            )
        mapping[key] = source.strip()
    return mapping


def parse_columns(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [c.strip() for c in text.split(",")]
    if any(not c for c in names):
        raise InputError(f"--columns {text!r} has an empty name; give comma-separated names")
    return names


def parse_sheet(text: str | None) -> str | int | None:
    return int(text) if text is not None and text.isdigit() else text


# One builder per options group: each command builds its objects once, inside
# ``run_guarded`` (an invalid option exits 2 with the object's message, in CLI words).


def read_options(map_: list[str] | None, columns: str | None, date_format: list[str] | None,
                 encoding: str | None, sheet: str | None = None, decimal: str = ".") -> Any:
    """``--map --columns --date-format --encoding --sheet --decimal`` -> ``ReadOptions``."""
    from valuemax.pipeline import ReadOptions

    return ReadOptions(columns=parse_columns(columns), mapping=parse_map(map_),
                       date_format=date_format or None, encoding=encoding,
                       sheet=parse_sheet(sheet), decimal=decimal)  # type: ignore[arg-type]


def clean_options(preset: str, observation_end: str | None = None,
                  returns: str | None = None) -> Any:
    """``--preset --observation-end --returns`` -> ``CleanOptions``."""
    from valuemax.pipeline import CleanOptions

    return CleanOptions(preset=preset, observation_end=observation_end,  # type: ignore[arg-type]
                        returns=returns)  # type: ignore[arg-type]


def segment_options(clusters: str) -> Any:
    """``--clusters`` -> ``SegmentOptions``."""
    from valuemax.pipeline import SegmentOptions

    return SegmentOptions(clusters=clusters)  # type: ignore[arg-type]


def value_options(clv: bool, time_unit: str, calibration_end: str | None,
                  horizon_months: int, discount_rate: float, margin: float,
                  clv_model: str) -> Any:
    """``--clv --time-unit --calibration-end --horizon-months --discount-rate --margin
    --clv-model`` -> ``ValueOptions``."""
    from valuemax.pipeline import ValueOptions

    return ValueOptions(enabled=clv, time_unit=time_unit,  # type: ignore[arg-type]
                        calibration_end=calibration_end, horizon_months=horizon_months,
                        discount_rate=discount_rate, margin=margin,
                        model=clv_model)  # type: ignore[arg-type]


def propensity_options(propensity: bool, horizon_days: int) -> Any:
    """``--propensity --horizon-days`` -> ``PropensityOptions``."""
    from valuemax.pipeline import PropensityOptions

    return PropensityOptions(enabled=propensity, horizon_days=horizon_days)


def privacy_options(pseudonymize: bool, pseudonym_key_file: Path | None,
                    keep_pii: list[str] | None) -> Any:
    """``--pseudonymize --pseudonym-key-file --keep-pii`` -> ``PrivacyOptions`` (the key
    itself only from the file or ``$VALUEMAX_PSEUDONYM_KEY``, never a flag)."""
    from valuemax.pipeline import PrivacyOptions

    return PrivacyOptions(pseudonymize=pseudonymize, pseudonym_key_file=pseudonym_key_file,
                          keep_pii=tuple(keep_pii or ()))


def engine_options(engine: str | None, table: str | None, query: str | None,
                   schema: str | None, spark_master: str | None,
                   memory_limit: str | None = None) -> Any:
    """``--engine --table --query --schema --spark-master --memory-limit`` ->
    ``EngineOptions``."""
    from valuemax.pipeline import EngineOptions

    return EngineOptions(engine=engine, table=table, query=query, schema=schema,
                         spark_master=spark_master, memory_limit=memory_limit)


#: What a signal's one line says by default: a command that writes leaves nothing half-done.
STOPPED_WRITING = ("nothing was left half-written (the output folder and the store each hold "
                   "one whole run, if any)")


def run_guarded(debug: bool, fn: Callable[[], Any],
                keywords: Mapping[str, str] | None = None, *,
                stopped: str = STOPPED_WRITING) -> Any:
    """Call ``fn``; map errors to exit codes with a one-line reason on stderr.

    ``keywords`` maps the Python keywords this command passes on to its own options, beyond
    the ones every command shares (``valuemax target``: ``assigned_at`` -> ``--start``,
    ``uplift`` -> ``--uplift``), so that a message naming ``assigned_at='02/03/2024'``
    reads ``--start 02/03/2024`` (:func:`cli_words`).

    A signal (SIGINT/Ctrl-C, SIGTERM; see :func:`valuemax.cli._app.main`) wins over whatever
    error it caused on its way out (DuckDB's "Query interrupted", a reader's "could not be
    read"): exit 128 + signal (130, 143) with one line. ``InputError`` and
    ``StepNotApplicable`` exit 2, other valuemax
    errors and a full disk exit 1; messages show CLI options instead of Python keywords.
    ``stopped`` is what the signal's line says after "NAME received; " (a read-only
    command such as ``serve`` says that it wrote nothing).
    """
    err = Console(stderr=True, highlight=False)
    try:
        return fn()
    except (typer.Exit, typer.Abort):
        raise
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt) and Terminated.signum is None:
            Terminated.signum = signal.SIGINT  # Ctrl-C without main()'s handler
        if debug:
            raise
        if Terminated.signum is not None:
            name = signal.Signals(Terminated.signum).name
            err.print(f"[bold red]stopped:[/] {name} received; {stopped}", soft_wrap=True)
            raise typer.Exit(128 + Terminated.signum) from None
        # escaped: a message may hold brackets (pip install 'valuemax[postgres]')
        if isinstance(exc, InputError | StepNotApplicable):  # the data cannot serve the command
            err.print(f"[bold red]error:[/] {escape(one_line(exc, keywords))}",
                      soft_wrap=True)
            raise typer.Exit(2) from None
        if isinstance(exc, ValuemaxError):
            err.print(f"[bold red]error:[/] {escape(one_line(exc, keywords))}",
                      soft_wrap=True)
            raise typer.Exit(1) from None
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            where = f" writing {exc.filename!r}" if exc.filename else ""
            err.print(f"[bold red]error:[/] disk full{where}: {exc.strerror}; free some space "
                      "or choose another --out/--db", soft_wrap=True)
            raise typer.Exit(1) from None
        raise


#: Python keywords in messages -> the CLI options that set them (``cli_words``).
_KEYWORD_OPTIONS: dict[str, str] = {
    "out": "--out", "db": "--db", "mapping": "--map", "columns": "--columns",
    "engine": "--engine", "table": "--table", "query": "--query", "schema": "--schema",
    "spark_master": "--spark-master", "memory_limit": "--memory-limit",
    "date_format": "--date-format", "encoding": "--encoding", "sheet": "--sheet",
    "decimal": "--decimal", "preset": "--preset", "observation_end": "--observation-end",
    "time_unit": "--time-unit", "calibration_end": "--calibration-end",
    "returns": "--returns", "clusters": "--clusters", "horizon_months": "--horizon-months",
    "clv_horizon": "--horizon-months",
    "discount_rate": "--discount-rate", "margin": "--margin", "clv_model": "--clv-model",
    "horizon_days": "--horizon-days", "horizon": "--horizon-days",
    "seed": "--random-state", "random_state": "--random-state", "cutoff": "--cutoff",
    "min_support": "--min-support", "min_confidence": "--min-confidence",
    "min_lift": "--min-lift", "max_len": "--max-len", "input_format": "--input",
    "pseudonym_key_file": "--pseudonym-key-file", "keep_pii": "--keep-pii",
    "budget": "--budget", "max_contacts": "--max-contacts",
    "cost_per_contact": "--cost-per-contact", "cost_per_redemption": "--cost-per-redemption",
    "uplift_se": "--uplift-se", "revenue_se": "--revenue-se",
}
_KW = "|".join(sorted(_KEYWORD_OPTIONS, key=len, reverse=True))
#: a value: a quoted string, a tuple of quoted strings, or a bare word
_VALUE = r"""(?:'[^']*'|"[^"]*"|\((?:\s*'[^']*',?)+\s*\)|[\w.+-]+)"""
#: ``read_transactions(..., mapping={'order_ts': '<column>'})`` -> ``--map order_ts=<column>``
_CALL_MAPPING = re.compile(
    r"(?:[\w.]+\(\.\.\.,\s*mapping=\{'([^']+)':\s*'([^']*)'\}\))"
    r"|(?:mapping=\{'([^']+)':\s*'([^']*)'\})")
#: ``mapping={'a': 'x', 'b': 'y'} (CLI --map a=x --map b=y)`` -> ``--map a=x --map b=y``;
#: ``columns=[...] (CLI --columns a,b,c)`` -> ``--columns a,b,c``
_MAPPING_WITH_HINT = re.compile(r"\b\w+=(?:\{[^{}]*\}|\[[^\[\]]*\])\s*\(CLI ([^()]*)\)")
#: ``mapping['order_ts'] = 'nope'`` -> ``--map order_ts=nope``
_ITEM_MAPPING = re.compile(r"mapping\['([^']+)'\]\s*=\s*'([^']*)'")
#: ``read_transactions(..., date_format='%d/%m/%Y')`` -> ``--date-format '%d/%m/%Y'``
_CALL_KW = re.compile(rf"[\w.]+\(\.\.\.,\s*({_KW})=({_VALUE})\)")
#: ``returns='exclude'`` -> ``--returns exclude``; ``date_format=`` -> ``--date-format``
_KW_VALUE = re.compile(rf"(?<![\w\[-])({_KW})=({_VALUE})?")
#: a keyword named without a value (``calibration_end 2023-06-01 must fall after ...``):
#: only the keywords with an underscore, which no sentence uses as a plain word
_BARE_KW = re.compile(r"(?<![\w.\['\"-])(" + "|".join(
    k for k in sorted(_KEYWORD_OPTIONS, key=len, reverse=True) if "_" in k)
    + r")(?![\w='\"(\[])")
#: ``out/--out``, ``db/--db``: the option alone on the CLI
_BOTH = re.compile(rf"(?<![\w-])(?:{_KW})/(--[\w-]+)")
#: a message's own CLI hint, ``(CLI --map amount=<column>)``
_CLI_HINT = re.compile(r"\s*\(CLI ([^()]*)\)")
#: a flag followed by the Python keyword that sets it (``both_names``), once written as a
#: flag: ``--clusters none (--clusters none)``; or a keyword the CLI has no table entry for
#: (``--no-clv (clv=False)``, ``--refit (refit=True)``): the flag alone
_FLAG_AND_KEYWORD = re.compile(r"(--[\w-]+(?: (?!--)[^\s()]+)?) \((?:\1|[a-z_]+=\w+)\)")


def cli_words(message: str, keywords: Mapping[str, str] | None = None) -> str:
    """``message`` with Python keywords (``returns='exclude'``, ``read_transactions(...,
    mapping={'order_ts': 'Date'})``) written as the CLI options that set them.

    ``keywords``: a command's own keywords and options, beside (and before) the shared
    table ``_KEYWORD_OPTIONS``; they are rewritten only where a value or ``=`` follows
    (a word like ``assigned_at`` alone may be a column's name).

    >>> cli_words("use returns='exclude' or pass date_format=('%d/%m/%Y',)")
    "use --returns exclude or pass --date-format '%d/%m/%Y'"
    >>> cli_words("map it: read_transactions(..., mapping={'order_ts': '<column>'})")
    'map it: --map order_ts=<column>'
    >>> cli_words("now mapped (mapping={'customer_id': 'amount'}), so")
    'now mapped (--map customer_id=amount), so'
    >>> cli_words("pass date_format='excel_serial' (CLI --date-format excel_serial)")
    'pass --date-format excel_serial'
    >>> cli_words("with mapping={'a': '<c>', 'b': '<c>'} (CLI --map a=<c> --map b=<c>).")
    'with --map a=<c> --map b=<c>.'
    >>> cli_words("pass the 5 names with columns=[...] (CLI --columns name1,name2,...).")
    'pass the 5 names with --columns name1,name2,....'
    >>> cli_words("cost_per_contact=-1.0 must be >= 0")
    '--cost-per-contact -1.0 must be >= 0'
    >>> cli_words("random_state=-1 must be a whole number >= 0 (CLI --random-state).")
    '--random-state -1 must be a whole number >= 0.'
    >>> cli_words("clustering turned off with --clusters none (clusters='none')")
    'clustering turned off with --clusters none'
    >>> cli_words("turned off with --no-clv (clv=False); set it with --horizon-months (horizon_months=)")
    'turned off with --no-clv; set it with --horizon-months'
    >>> cli_words("calibration_end='' is not a date YYYY-MM-DD; expected an ISO date such as "
    ...           "'2011-06-30' or a datetime.date, or None for the last third held out")
    "--calibration-end '' is not a date YYYY-MM-DD; expected an ISO date such as '2011-06-30', or leave the option out for the last third held out"
    >>> cli_words("calibration_end 2023-06-01 must fall after the first purchase")
    '--calibration-end 2023-06-01 must fall after the first purchase'
    >>> cli_words("ValueOptions.calibration_end and 'calibration_end' stay")
    "ValueOptions.calibration_end and 'calibration_end' stay"
    >>> cli_words("Pass one of them as control= / --control. (shares= / --shares ARM=SHARE)",
    ...           {"control": "--control", "shares": "--shares"})
    'Pass one of them as --control. (--shares ARM=SHARE)'
    >>> cli_words("assigned_at='02/03/2024' is not an ISO date (columns arm, assigned_at)",
    ...           {"assigned_at": "--start"})
    "--start '02/03/2024' is not an ISO date (columns arm, assigned_at)"
    """
    table, call_kw, kw_value = _KEYWORD_OPTIONS, _CALL_KW, _KW_VALUE
    if keywords:
        table = {**_KEYWORD_OPTIONS, **keywords}
        kws = "|".join(sorted(table, key=len, reverse=True))
        call_kw = re.compile(rf"[\w.]+\(\.\.\.,\s*({kws})=({_VALUE})\)")
        kw_value = re.compile(rf"(?<![\w\[-])({kws})=({_VALUE})?")

    def value(v: str | None, option: str) -> str:
        if not v:
            return ""
        if v.startswith("("):  # a tuple: the option once per value
            items = re.findall(r"'([^']*)'", v)
            return " " + f" {option} ".join(repr(i) for i in items)
        if re.fullmatch(r"'[\w.+-]+'|\"[\w.+-]+\"", v):  # '' stays quoted
            v = v[1:-1]
        return " " + v

    def option(m: re.Match) -> str:
        opt = table[m.group(1)]
        return opt + value(m.group(2), opt)

    message = _BOTH.sub(lambda m: m.group(1), message)
    # a mapping of several columns with its own CLI hint: the hint replaces it
    message = _MAPPING_WITH_HINT.sub(lambda m: m.group(1), message)
    message = _CALL_MAPPING.sub(
        lambda m: f"--map {m.group(1) or m.group(3)}={m.group(2) or m.group(4) or ''}",
        message)
    message = _ITEM_MAPPING.sub(lambda m: f"--map {m.group(1)}={m.group(2)}", message)
    message = call_kw.sub(option, message)
    message = kw_value.sub(option, message)
    message = _BARE_KW.sub(lambda m: _KEYWORD_OPTIONS[m.group(1)], message)

    def hint(m: re.Match) -> str:  # drop a hint the message now says itself
        rest = message[:m.start()] + message[m.end():]
        return "" if m.group(1).strip() in rest else f" ({m.group(1)})"

    message = _FLAG_AND_KEYWORD.sub(lambda m: m.group(1), message)
    message = _PYTHON_DATE.sub("", message)
    message = _PYTHON_NONE.sub(", or leave the option out for ", message)
    # "control= / --control" has become "--control / --control": said once
    message = _SAME_OPTION_TWICE.sub(lambda m: m.group(1), message)
    return _CLI_HINT.sub(hint, message)


#: ``or a datetime.date`` in a date option's message: no Python type on the command line
_PYTHON_DATE = re.compile(r" or a datetime\.date\b")
#: ``, or None for the last third ...``: on the command line, the option left out
_PYTHON_NONE = re.compile(r", or None for ")
#: An option written twice around a slash, once its keyword was rewritten.
_SAME_OPTION_TWICE = re.compile(r"(--[\w-]+) / \1\b")


def one_line(exc: Exception, keywords: Mapping[str, str] | None = None) -> str:
    """``exc``'s message on one line, in the CLI's words (:func:`for_cli`)."""
    return for_cli(" ".join(str(exc).split()), keywords)


#: Keywords of the Python API that have no CLI option: a sentence of a message advising
#: one of them (e.g. an estimator's "Refit with a small penalizer") is dropped on the CLI,
#: where the user cannot act on it; the full text stays in the API's exception.
API_ONLY_KEYWORDS = ("penalizer", "n_starts", "on_invalid", "max_itemsets", "maxiter")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z(])")


def for_cli(text: str, keywords: Mapping[str, str] | None = None) -> str:
    """``text`` in the CLI's words: without the sentences that advise an API keyword absent
    from the CLI, and with the other keywords written as their options (:func:`cli_words`).

    >>> for_cli("X failed at [1.0, 2.5]. Refit with a small penalizer (e.g. 0.001). Or not.")
    'X failed at [1.0, 2.5]. Or not.'
    >>> for_cli("Two formats fit. Pass date_format=('%d/%m/%Y',).")
    "Two formats fit. Pass --date-format '%d/%m/%Y'."
    """
    sentences = _SENTENCE.split(text)
    kept = [s for s in sentences
            if not any(re.search(rf"\b{k}\b", s) for k in API_ONLY_KEYWORDS)]
    return cli_words(" ".join(kept) if kept else text, keywords)


class Terminated:
    """Set when SIGINT or SIGTERM arrived: DuckDB turns the interrupt into ``RuntimeError``
    and a reader may turn it into an ``InputError``; the signal decides the exit code."""

    signum: int | None = None
