"""Request and response bodies of the scoring service (pydantic models; they make the OpenAPI).

Requests are validated strictly: unknown fields are refused, dates are ISO text (no Unix
numbers, no time zone), amounts are finite JSON numbers >= 0 (returns are netted before
scoring, as ``valuemax analyze`` does), and sizes are bounded (:data:`MAX_TRANSACTIONS`).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: Most transaction lines one ``POST /score`` takes (more: 413, split the request).
MAX_TRANSACTIONS = 10_000
#: Largest amount of one line, in the log's currency (a guard against overflowing sums).
MAX_AMOUNT = 1e12
#: Longest customer or order id accepted, in characters.
MAX_ID_LENGTH = 256
#: Earliest year of a line's date (placeholder dates such as 1900-01-01 are refused).
MIN_YEAR = 1901

_DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?$"


def parse_day(value: Any, what: str) -> dt.date:
    """An ISO date or naive date-time as text -> its calendar day.

    Raises
    ------
    ValueError
        If ``value`` is not text, not ISO, carries a time zone, or falls before
        :data:`MIN_YEAR` (the message says which and what is expected).
    """
    if not isinstance(value, str):
        raise ValueError(f"{what} must be ISO text 'YYYY-MM-DD' (or 'YYYY-MM-DDTHH:MM:SS'), "
                         f"not a {type(value).__name__}; Unix times are not accepted")
    text = value.strip()
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
        else:
            stamp = dt.datetime.fromisoformat(text)
            if stamp.tzinfo is not None:
                raise ValueError(f"{what} {value!r} has a time zone; send the local calendar "
                                 "date (the log's time, without offset), e.g. "
                                 f"{stamp.date().isoformat()!r}")
            day = stamp.date()
    except ValueError as exc:
        if "time zone" in str(exc):
            raise
        raise ValueError(f"{what} {value!r} is not an ISO date; expected 'YYYY-MM-DD' (or "
                         "'YYYY-MM-DDTHH:MM:SS', no time zone)") from None
    if day.year < MIN_YEAR:
        raise ValueError(f"{what} {value!r} is before {MIN_YEAR}: a placeholder date, not a "
                         "purchase; leave the line out")
    return day


class TransactionLine(BaseModel):
    """One purchase line of the customer to score."""

    model_config = ConfigDict(extra="forbid")

    date: Annotated[str, Field(
        description="Purchase date, ISO 'YYYY-MM-DD' or a naive 'YYYY-MM-DDTHH:MM:SS' (the "
                    "calendar day counts; lines on one day are one purchase occasion).",
        examples=["1997-01-01"], json_schema_extra={"pattern": _DATE_PATTERN})]
    amount: Annotated[float, Field(
        strict=True, allow_inf_nan=False,
        json_schema_extra={"minimum": 0, "maximum": MAX_AMOUNT},
        description="Line revenue in the store's currency, >= 0 (net returns before scoring).",
        examples=[29.33])]
    order_id: Annotated[str | None, Field(
        default=None, min_length=1, max_length=MAX_ID_LENGTH,
        description="Order (invoice) id; a line without one is its own order.")] = None

    @field_validator("date", mode="before")
    @classmethod
    def _date(cls, value: Any) -> str:
        parse_day(value, "date")
        return value

    @field_validator("amount")
    @classmethod
    def _amount(cls, value: float) -> float:
        if not math.isfinite(value):  # Python's JSON reader accepts NaN and Infinity
            raise ValueError("amount must be a finite number")
        if value < 0:
            raise ValueError(f"amount {value:g} is negative: net returns against the purchases "
                             "they return before scoring (as valuemax analyze does) and send "
                             "purchases only")
        if value > MAX_AMOUNT:
            raise ValueError(f"amount {value:g} is over {MAX_AMOUNT:g} (the log's currency); "
                             "check the unit of the amounts")
        return value


class ScoreRequest(BaseModel):
    """A customer's transactions, scored with the store's fitted models."""

    model_config = ConfigDict(extra="forbid")

    transactions: Annotated[list[TransactionLine], Field(
        min_length=1,
        description=f"The customer's purchase lines (1 to {MAX_TRANSACTIONS:,}; more: 413).")]
    customer_id: Annotated[str | None, Field(
        default=None, min_length=1, max_length=MAX_ID_LENGTH,
        description="Echoed back; not looked up (use GET /customers/{customer_id}).")] = None
    observation_end: Annotated[str | None, Field(
        default=None, description="Inclusive end of observation 'YYYY-MM-DD'; default the "
                                  "store's (every line must be on or before it). From the "
                                  "store's first purchase day to its observation end + the "
                                  "value horizon (else 422).",
        json_schema_extra={"pattern": r"^\d{4}-\d{2}-\d{2}$"})] = None

    @field_validator("observation_end", mode="before")
    @classmethod
    def _obs(cls, value: Any) -> str | None:
        if value is not None:
            parse_day(value, "observation_end")
        return value


class RFM(BaseModel):
    """Marketing RFM of a customer at the observation end (days; money in the log's currency)."""

    first_purchase: dt.date
    last_purchase: dt.date
    n_orders: int
    n_lines: int
    total_spend: float | None = Field(description="None for a log without prices.")
    avg_order_value: float | None
    recency_days: int
    tenure_days: int
    r_score: int | None = None
    f_score: int | None = None
    m_score: int | None = None
    rfm_cell: str | None = None


class BTYD(BaseModel):
    """Fader & Hardie's summary: repeat purchase days, their span and age, in ``time_unit``."""

    frequency: int
    recency: float
    T: float
    monetary_value: float | None = Field(description="Mean spend of the repeat purchase "
                                                     "days; 0 without repeats.")


class Value(BaseModel):
    """Customer value from the stored purchase (and spend) model."""

    model: str | None = Field(description="BG/NBD, MBG/NBD or Pareto/NBD.")
    horizon_months: int | None
    p_alive: float | None = Field(description="P(alive) at the observation end, in [0, 1].")
    expected_purchases: float | None = Field(
        description="Expected repeat purchases in the next horizon_months months.")
    expected_avg_value: float | None = Field(
        description="Gamma-Gamma expected spend per purchase; None without a spend model.")
    clv: float | None = Field(description="Discounted margin over horizon_months; None "
                                          "without a spend model.")
    clv_from_prior_only: bool | None = Field(
        default=None, description="True where clv is only the population's prior: one order, "
                                  "first seen at most 7 days before the observation end, so "
                                  "nothing is known of the customer yet (do not rank them by "
                                  "clv). None without clv, or in a store written before the "
                                  "flag existed.")
    discount_rate: float = Field(description="Monthly discount rate of the run.")
    margin: float
    caveats: list[str] = Field(
        default_factory=list,
        description="What the run found about its value models that a reader of these "
                    "numbers must know (e.g. P(alive) near 1 at the no-drop-out limit), as "
                    "the report says; empty when the models raised no warning.")


class Segment(BaseModel):
    """The customer's RFM segment with its recommended action, and the K-means cluster."""

    name: str | None
    action: str | None
    cluster: int | None = None
    cluster_name: str | None = None
    cluster_mixed: bool | None = Field(
        default=None, description="True where the K-means cluster is mixed: under half its "
                                  "customers are in segments with its centre's action, so no "
                                  "cluster-wide action fits; act on the RFM segment's. None "
                                  "without clusters (as customers.csv's cluster_mixed).")


class Churn(BaseModel):
    """The buy-again model's scores (churn risk = low chance to buy within the horizon)."""

    horizon_days: int
    p_buy: float | None
    churn_risk: str | None
    churn_risk_extrapolated: bool | None = Field(
        default=None, description="True where the customer has been inactive longer than any "
                                  "customer the model was trained on: p_buy (and churn_risk "
                                  "when given) extrapolate; read the RFM segment and P(alive). "
                                  "Kept when churn_risk is left out (scores not informative). "
                                  "None in a store written before the flag existed.")
    expected_next_purchase: dt.date | None = None
    next_purchase_basis: str | None = None


class Product(BaseModel):
    """A cross-sell suggestion: from an association rule, else item co-occurrence."""

    rank: int
    item: str
    name: str | None = Field(
        default=None, description="The product's name in the clean log (the first in sort "
                                  "order when a code has several, as in the report); None "
                                  "when the log has no names or the item is a name itself.")
    score: float
    source: str


class CustomerScores(BaseModel):
    """Everything the store holds on one customer; a part the run skipped is None, with the
    reason under ``missing``."""

    customer_id: str
    run_id: str
    observation_end: dt.date
    time_unit: str
    rfm: RFM
    btyd: BTYD
    segment: Segment | None
    value: Value | None
    churn: Churn | None
    next_best_products: list[Product] | None
    attributes: dict[str, str | float | int | bool | None] = Field(
        description="Other customer columns of the store (e.g. Country).")
    missing: dict[str, str] = Field(description="Why a part is None (or empty).")


class Scored(BaseModel):
    """Scores of posted transactions, from the store's fitted models (the store is not
    changed)."""

    customer_id: str | None
    run_id: str
    observation_end: dt.date
    time_unit: str
    rfm: RFM
    btyd: BTYD
    value: Value | None
    missing: dict[str, str]
    notes: list[str]


class SegmentRow(BaseModel):
    """One RFM segment of the run: size, revenue share and the recommended action."""

    model_config = ConfigDict(extra="allow")

    segment: str
    n_customers: int
    share_customers: float | None = None
    revenue: float | None = None
    revenue_share: float | None = None
    action: str | None = None
    rationale: str | None = None


class Segments(BaseModel):
    """The run's segments, largest first."""

    run_id: str
    segments: list[SegmentRow]


class Health(BaseModel):
    """Which store and run the service answers from."""

    status: str = Field(description="'ok', or 'stale' while a changed store is not loaded.")
    store: str
    run_id: str
    observation_end: dt.date
    n_customers: int
    store_valuemax_version: str | None
    version: str = Field(description="valuemax version of the service.")
    loaded_at: dt.datetime
    reload_pending: bool
    reload_error: str | None
    warning: str | None = Field(
        default=None, description="Set when the store was written by another minor version "
                                  "of valuemax than the service's (rebuild it).")


class Problem(BaseModel):
    """An error: what is wrong and how to fix it."""

    detail: Any
