"""The holdout and scoring rows leave the engine only as far as they are used.

At a million customers the holdout frame (every customer active before the cutoff, every
feature) and the scoring frame (every customer, every feature) were the step's largest
Python objects, held together while the chosen model was refitted and scored. Now:

- :class:`Holdout`: the holdout's keys (customer, label, recency) come to pandas for every
  row; its features only for the rows the evaluation and the refit use
  (:meth:`Holdout.sample`): above their caps, the seeded stratified samples
  ``sklearn.model_selection.train_test_split`` draws from the labels (the rows it would
  take from the whole frame), fetched from the engine for those customers only;
- :func:`score_in_chunks`: the scoring features stream from the engine in chunks of
  :data:`SCORE_CHUNK_ROWS` customers, each scored and dropped; only the columns the score
  table needs stay.

Each customer's features are functions of that customer's own days and lines, so the
features of a subset of customers are those of the whole frame, value for value
(tests/propensity/test_holdout.py).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa

from valuemax.propensity._binned import binned_members, predict_positive
from valuemax.propensity._days import features_from_days
from valuemax.propensity._frame import frame_columns

#: Customers scored per ``predict_proba`` call: the model's transforms copy the features
#: a few times in float64 (imputed, missing indicators, log, standardised), so at a million
#: customers one call held several hundred MB at once; chunks bound that.
SCORE_CHUNK_ROWS = 100_000

#: The columns of the holdout every row keeps in pandas.
KEY_COLUMNS = ("customer_id", "label", "recency_days")


class Holdout:
    """The holdout rows at ``cut``: every row's keys, any rows' features on demand.

    Parameters
    ----------
    days : ibis.Table
        The materialised per-customer-day table.
    t : ibis.Table
        The lines (read for categorical modes only).
    cut : datetime.date
        Holdout cutoff.
    cats : tuple of str
        Categorical columns.
    h : int
        Label window, days.
    money : bool
        Spend features.

    Attributes
    ----------
    keys : pandas.DataFrame of shape (n_holdout, 3)
        :data:`KEY_COLUMNS` of every holdout customer, ordered by ``customer_id`` (the
        order of :func:`~valuemax.propensity._days.frame_at`).
    """

    def __init__(self, days: ir.Table, t: ir.Table, cut: _dt.date, cats: tuple[str, ...],
                 h: int, money: bool) -> None:
        self._args = (cats, money)
        expr = features_from_days(days, t, cut, categorical=cats, label_days=h, money=money)
        # the frame's one group-by of the days, kept in the engine (a temporary table of
        # one row per holdout customer): the keys, the evaluation rows and the refit rows
        # are then reads of it, not three group-bys of every day before the cutoff
        self._table = expr.cache()
        self._ids = self._table.select(*KEY_COLUMNS).order_by("customer_id").to_pyarrow()
        self.keys = self._ids.to_pandas()
        self._all: pd.DataFrame | None = None

    def __len__(self) -> int:
        return len(self.keys)

    def release(self) -> None:
        """Drop the engine's copy of the rows (:meth:`rows` cannot be called after)."""
        self._table.release()

    def frame(self) -> pd.DataFrame:
        """Every row, every column: :func:`~valuemax.propensity._days.frame_at` (kept)."""
        if self._all is None:
            cats, money = self._args
            df = self._table.order_by("customer_id").to_pyarrow().to_pandas()
            self._all = df[frame_columns(df, categorical=cats, label=True, money=money)
                           ].reset_index(drop=True)
        return self._all

    def rows(self, positions: np.ndarray) -> pd.DataFrame:
        """The rows at ``positions`` (increasing positions in :attr:`keys`), with the
        features of :meth:`frame`, from the engine for those customers only (or from
        :meth:`frame` when it is kept)."""
        if self._all is not None:
            return self._all.iloc[positions]
        who = ibis.memtable(pa.table({"customer_id": self._ids["customer_id"].take(
            pa.array(positions))}))
        df = self._table.semi_join(who, "customer_id").order_by("customer_id")
        df = df.to_pyarrow().to_pandas()
        if len(df) != len(positions):  # one row per customer: cannot happen
            raise RuntimeError(f"the holdout features of {len(positions):,} customers came "
                               f"back as {len(df):,} rows.")
        df.index = pd.Index(positions)
        return df

    def sample(self, max_rows: int, seed: int, notes: list[str], what: str) -> pd.DataFrame:
        """Every row (:meth:`frame`) up to ``max_rows``; above, a seeded stratified sample of
        ``max_rows`` (the rows ``train_test_split(frame, train_size=max_rows,
        stratify=label, random_state=seed)`` takes, in frame order, indexed by position;
        stratified when each label has 2 rows or more), stated in ``notes``."""
        n = len(self)
        if n <= max_rows:
            return self.frame()
        from sklearn.model_selection import train_test_split

        label = self.keys["label"]
        strat = label if label.value_counts().min() >= 2 else None
        pos, _ = train_test_split(np.arange(n), train_size=max_rows, stratify=strat,
                                  random_state=seed)
        notes.append(f"{what}: a seeded stratified sample of {max_rows:,} of {n:,} rows.")
        return self.rows(np.sort(pos))


def _chunks(reader: pa.RecordBatchReader, rows: int) -> Iterator[pa.Table]:
    """The reader's batches regrouped into tables of ``rows`` rows (the last one shorter)."""
    held: list[pa.RecordBatch] = []
    n = 0
    for batch in reader:
        held.append(batch)
        n += batch.num_rows
        while n >= rows:
            table = pa.Table.from_batches(held)
            yield table.slice(0, rows)
            rest = table.slice(rows)
            held, n = rest.to_batches(), rest.num_rows
    if n:
        yield pa.Table.from_batches(held)


def score_in_chunks(model: Any, expr: ir.Table, features: list[str], keep: list[str],
                    chunk: int | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """The positive class's ``predict_proba`` of every row of ``expr`` ordered by
    ``customer_id``, ``chunk`` rows (default :data:`SCORE_CHUNK_ROWS`) leaving the engine
    at a time.

    Both models and their calibration score each row on its own, so the probabilities are
    those of one call on the whole frame (tests/propensity/test_holdout.py); a calibrated
    gradient boosting walks its trees on its bins
    (:func:`~valuemax.propensity._binned.predict_positive`: the same numbers).

    Returns
    -------
    (pandas.DataFrame of shape (n, len(keep)), ndarray of shape (n,))
        The ``keep`` columns and the probabilities, row-aligned, ordered by ``customer_id``.
    """
    chunk = SCORE_CHUNK_ROWS if chunk is None else chunk
    cols = list(dict.fromkeys([*keep, *features]))
    rows = expr.select(*cols).order_by("customer_id")
    reader = rows.to_pyarrow_batches(chunk_size=chunk)
    kept, probs = [rows.schema().to_pyarrow().empty_table().select(keep)], [np.empty(0)]
    members = None
    for k, table in enumerate(_chunks(reader, chunk)):
        x = table.select(features).to_pandas()
        if k == 0:
            members = binned_members(model, x)
        probs.append(predict_positive(model, x, members))
        kept.append(table.select(keep))
    return pa.concat_tables(kept).to_pandas(), np.concatenate(probs)
