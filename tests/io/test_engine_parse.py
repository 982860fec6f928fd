"""The portable text-date and text-number parsers of ``io/_engine_parse.py`` (what PostgreSQL
and MariaDB run) give DuckDB's ``try_strptime`` / RE2 results on the local engine too: a
seeded battery of values per date family (in and out of range fields, every blank DuckDB
skips, am/pm in any case, two-digit years), and numbers with currency signs, separators
and null-like words. The same batteries run on the servers in
``tests/engines/test_engine_text.py``."""

from __future__ import annotations

import random

import ibis
import pyarrow as pa
import pytest

from valuemax.io._date_formats import FAMILIES, DatePlan, date_stage1, date_stage2
from valuemax.io._engine_parse import (
    engine_date_reason,
    engine_date_stages,
    engine_date_value,
    engine_number_stage1,
    engine_number_stage2,
    engine_strip,
)
from valuemax.io._numbers import NumberPlan, number_stage1, number_stage2, number_stage3

#: A field's text: in range, at and past its bounds, padded or not.
_FIELD = {"m": (1, 12), "d": (1, 31), "H": (0, 23), "I": (1, 12), "M": (0, 59), "S": (0, 59)}
_BLANKS = (" ", " ", " ", "  ", "\t", "", "\x0b", "\u00a0", "\n")


def _field(rng: random.Random, d: str) -> str:
    if d == "Y":
        return rng.choice(["1997", "2000", "1900", "2100", "2012", "2011", "2024", "1999"])
    if d == "y":
        return f"{rng.randint(0, 99):02d}"
    if d == "f":
        return "".join(rng.choice("0123456789") for _ in range(rng.randint(0, 8)))
    if d == "p":
        return rng.choice(["AM", "PM", "am", "pm", "Pm", "aM", "XM"])
    lo, hi = _FIELD[d]
    v = rng.choice([rng.randint(lo, hi)] * 4 + [lo, hi, lo - 1, hi + 1, 0])
    s = str(max(v, 0))
    return s.zfill(rng.choice([1, 1, 2, 3])) if rng.random() < 0.5 else s


def numbered(con, values: list) -> object:
    """A DuckDB table of ``values`` (``s``, text) numbered in order (``i``)."""
    return con.create_table("v", pa.table({"i": list(range(len(values))),
                                           "s": pa.array(values, pa.string())}), overwrite=True)


def portable_families() -> list:
    return [f for f in FAMILIES
            if engine_date_reason(DatePlan("text", f.formats, f.guard, f.tz)) is None]


def date_battery(seed: int, per_family: int) -> dict[str, list[str]]:
    """Values shaped by each portable family's formats (seeded): family key -> values."""
    rng = random.Random(seed)
    out = {}
    for fam in portable_families():
        values = []
        for _ in range(per_family):
            fmt, parts, i = rng.choice(fam.formats), [], 0
            while i < len(fmt):
                if fmt[i] == "%":
                    parts.append(_field(rng, fmt[i + 1]))
                    i += 2
                else:
                    parts.append(rng.choice(_BLANKS) if fmt[i] == " " else fmt[i])
                    i += 1
            value = "".join(parts)
            values.append(f" {value}\t" if rng.random() < 0.05 else value)
        if fam.key == "zh":
            values += [v + rng.choice([" 10:30", "\t9:05", "10时3分5秒", " x"])
                       for v in values[:per_family // 10]]
        out[fam.key] = values
    return out


def staged(t, plan: DatePlan):
    """The portable parse of ``t.s`` in stages (as ``standardized()`` runs it on the
    servers): a table of ``i`` and ``v``, ordered."""
    st, ts = engine_date_stages(t.mutate(st=engine_strip(t.s)), "st", plan)
    return st.select(i=st.i, v=ts).order_by("i")


def parsed_both_ways(t, plan: DatePlan) -> tuple[list, list]:
    """(DuckDB's try_strptime path, the portable path in stages) over ``t.s``."""
    local = t.select(i=t.i, v=date_stage2(date_stage1(t.s, plan), plan)).order_by("i")
    return (local.to_pyarrow().column("v").to_pylist(),
            staged(t, plan).to_pyarrow().column("v").to_pylist())


def test_every_family_but_names_and_offsets_is_portable():
    keys = {f.key for f in FAMILIES
            if engine_date_reason(DatePlan("text", f.formats, f.guard, f.tz)) is None}
    assert keys == {f.key for f in FAMILIES} - {"iso_offset", "d_mon_y", "mon_d_y"}
    assert "given date_format" in engine_date_reason(DatePlan("text", ("%Y-%m-%d",)))
    assert engine_date_reason(DatePlan("epoch_s", ("epoch_s",))) == "order_ts is epoch_s"


def test_dates_as_duckdb_parses_them():
    """Every portable family: the same timestamp or NULL as ``try_strptime``, value by value
    (400 values a family, about a tenth of them valid dates)."""
    con = ibis.duckdb.connect()
    battery = date_battery(7, 400)
    for fam in portable_families():
        plan = DatePlan("text", fam.formats, fam.guard, fam.tz)
        values = battery[fam.key]
        t = numbered(con, values)
        local, portable = parsed_both_ways(t, plan)
        diff = [(s, a, b) for s, a, b in zip(values, local, portable, strict=True) if a != b]
        assert diff == [], fam.key
        assert sum(v is not None for v in local) >= 15, fam.key


def test_edge_dates():
    """Leap days, 12 am/pm, the %y pivot (68 -> 2068, 69 -> 1969), 1-6 fraction digits,
    DuckDB's blanks (a vertical tab is one, a no-break space not)."""
    con = ibis.duckdb.connect()
    cases = {
        "iso": ["2012-02-29", "2011-02-29", "2000-02-29", "1900-02-29", "2011-04-31",
                "2011-01-05 10:30:00.5", "2011-01-05 10:30:00.1234567", "2011-01-05T23:59",
                "2011-01-05 23:59:60", "2011-01-05 24:00"],
        "dmy_slash": ["1/2/2011 12:30 AM", "1/2/2011 12:30 pm", "1/2/2011 0:30 AM",
                      "1/2/2011 13:30 PM", "1/2/2011 10:30PM", "31/12/2011 11:59:59 pm"],
        "dmy_slash_yy": ["1/2/68", "1/2/69", "1/2/00", "29/2/00", "29/2/01"],
        "zh": ["2011年1月5日", "2011年1月5日\x0b10:30", "2011年1月5日\u00a010:30",
               "2011年1月5日10时3分5秒", "2011年1月5日   10:30", "2011年13月5日"],
    }
    expected = {
        "iso": [True, False, True, False, False, True, False, True, False, False],
        "dmy_slash": [True, True, False, False, False, True],
        "dmy_slash_yy": [True, True, True, True, False],
        "zh": [True, True, False, True, True, False],
    }
    for key, values in cases.items():
        fam = next(f for f in FAMILIES if f.key == key)
        plan = DatePlan("text", fam.formats, fam.guard)
        local, portable = parsed_both_ways(numbered(con, values), plan)
        assert portable == local, key
        assert [v is not None for v in local] == expected[key], key
    t = numbered(con, ["1/2/68", "1/2/69", "1/2/2011 12:30 AM"])
    fam = next(f for f in FAMILIES if f.key == "dmy_slash_yy")
    got = t.select(i=t.i, v=engine_date_value(engine_strip(t.s), DatePlan(
        "text", ("%d/%m/%y",), fam.guard))).order_by("i").to_pyarrow().column("v").to_pylist()
    assert [v.year if v else None for v in got] == [2068, 1969, None]  # one expression


NUMBERS = ["12.50", " 1,234.50 ", "£5", "-£5.25", "5 GBP", "5 gbp", "5 GbP", "5 GſP", "£ 1,000",
           "1,23", "1,2345", "N/A", "NA", "na", "-", "", None, "abc", "1.2.3", ".5", "5.",
           "+7", "1e3", "12,50", "1.234,50", "\u00a05", "\x0b5", "5\t", "1" * 320,
           "1,234,567.891", "(12.50)", "( £1,000.25 )", "(-4)", "((5))", "(5", "(1.234,50)",
           "()", "(£)"]


@pytest.mark.parametrize("plan", [
    NumberPlan("text"),
    NumberPlan("text", ("£", "GBP"), True, ".", ("N/A", "NA", "-")),
    NumberPlan("text", ("£",), True, ",", ("na",)),
    NumberPlan("text", ("£", "GBP"), True, ".", ("N/A",), parens=True),
], ids=["plain", "tokens_thousands", "decimal_comma", "accounting_parens"])
def test_numbers_as_duckdb_parses_them(plan):
    """Value, missing and unparseable flags equal the local path's, except where the
    portable cast refuses (exponents, over 300 characters: sent local by
    ``engine_number_reason``) -- there the portable value is NULL."""
    con = ibis.duckdb.connect()
    t = numbered(con, NUMBERS)

    def flags(stage1, stage2):
        text, cleaned = stage1(t.s, plan)
        s1 = t.select(i=t.i, text=text, cleaned=cleaned).view()
        value = stage2(s1.cleaned)
        s2 = s1.mutate(value=value).view()
        v, missing, bad = number_stage3(s2.text, s2.value, plan)
        return s2.select(i=s2.i, v=v, m=missing, b=bad).order_by("i").to_pyarrow().to_pylist()

    local = flags(number_stage1, lambda c: number_stage2(c, plan))
    portable = flags(engine_number_stage1, engine_number_stage2)
    for value, a, b in zip(NUMBERS, local, portable, strict=True):
        if value in ("1e3", "1" * 320):
            assert b["v"] is None and b["b"]
            continue
        assert a == b, value
    values = dict(zip(NUMBERS, (r["v"] for r in portable), strict=True))
    if plan.tokens and plan.decimal == ".":
        assert values[" 1,234.50 "] == 1234.5 and values["-£5.25"] == -5.25
        assert values["5 GbP"] == 5.0 and values["5 GſP"] is None  # RE2 folds ASCII only
    if plan.decimal == ",":
        assert values["1.234,50"] == 1234.5 and values["12,50"] == 12.5
    if plan.parens:  # accounting negatives; a sign, nesting, or no digit inside: not numbers
        assert values["(12.50)"] == -12.5 and values["( £1,000.25 )"] == -1000.25
        assert [values[v] for v in ("(-4)", "((5))", "(5", "()", "(£)")] == [None] * 5
    else:
        assert values["(12.50)"] is None
