"""The FastAPI application: routes, bearer-token auth, request limits and error bodies.

No ``from __future__ import annotations`` here: FastAPI reads the routes' annotations at
run time, and the token dependency is a local object.
"""


import datetime as dt
import hmac
import json
import math
import re
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from valuemax import __version__
from valuemax._core.exceptions import InputError
from valuemax.clv._prior_only import PRIOR_ONLY_COLUMN
from valuemax.serve._schemas import (
    BTYD,
    MAX_ID_LENGTH,
    MAX_TRANSACTIONS,
    RFM,
    Churn,
    CustomerScores,
    Health,
    Problem,
    Product,
    Scored,
    ScoreRequest,
    Segment,
    SegmentRow,
    Segments,
    Value,
    parse_day,
)
from valuemax.serve._score import (
    DAYS_PER_MONTH,
    beyond_history,
    score_summary,
    summarise_lines,
)
from valuemax.serve._store import Snapshot, StoreReader

#: Largest request body accepted, in bytes (more: 413). 10,000 lines of {date, amount,
#: order_id} fit in about 1 MB.
MAX_BODY_BYTES = 2 * 1024 * 1024

#: Query parameters that look like credentials: refused, whatever their value.
TOKEN_PARAMETERS = frozenset({"token", "access_token", "api_key", "apikey", "key", "auth",
                              "authorization", "bearer", "api_token"})

_RFM = ("first_purchase", "last_purchase", "n_orders", "n_lines", "total_spend",
        "avg_order_value", "recency_days", "tenure_days")
_BTYD = ("frequency", "recency", "T", "monetary_value")
_SCORES = ("r_score", "f_score", "m_score", "rfm_cell")

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "A token in the query string (refused)."},
    401: {"model": Problem, "description": "Missing or wrong bearer token."},
    413: {"model": Problem, "description": "Request body or transaction list too large."},
    422: {"model": Problem, "description": "The request is invalid; the body says what and "
                                           "how to fix it."},
}


class _BodyTooLarge(Exception):
    pass


def _query_credentials(query: str, token: bytes | None) -> str | None:
    """The name of a query parameter that carries credentials, or None."""
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name.lower() in TOKEN_PARAMETERS or (
                token is not None and hmac.compare_digest(value.encode("utf-8"), token)):
            return name
    return None


class _Guard:
    """ASGI middleware on every path: refuse credentials in the query string (400) and
    bodies over ``max_bytes`` (413) before they are read whole.

    A declared ``Content-Length`` over the limit is refused at once; a chunked body is
    counted as it arrives and refused when it passes the limit.
    """

    def __init__(self, app: Any, max_bytes: int, token: bytes | None) -> None:
        self.app, self.max_bytes, self.token = app, max_bytes, token

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        name = _query_credentials(scope.get("query_string", b"").decode("latin-1"),
                                  self.token)
        if name is not None:
            await JSONResponse(status_code=400, content={"detail": (
                f"credentials in the query string are refused (query parameter {name!r}): "
                "URLs end up in logs and histories. Send the header 'Authorization: Bearer "
                "<token>' instead")})({"type": "http"}, None, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                n = int(declared)
            except ValueError:
                n = -1
            if n > self.max_bytes:
                await _too_large(send, n, self.max_bytes)
                return
        seen = 0
        started = over = False

        async def counted() -> dict:
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    over = True
                    raise _BodyTooLarge
            return message

        async def watched(message: dict) -> None:
            nonlocal started
            if over:  # FastAPI turns the failed body read into a 400: answer 413 instead
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await _too_large(send, seen, self.max_bytes)
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _BodyTooLarge:
            if not started:
                await _too_large(send, seen, self.max_bytes)


async def _too_large(send: Any, n: int, limit: int) -> None:
    response = JSONResponse(status_code=413, content={"detail": (
        f"request body of {n:,}+ bytes is over the limit of {limit:,} bytes; send at most "
        f"{MAX_TRANSACTIONS:,} transactions per POST /score, in several requests if needed")})
    await response({"type": "http"}, None, send)


def _finite(value: Any) -> Any:
    """Floats that are NaN or infinite become None (JSON has no such numbers)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _flag(value: Any) -> bool | None:
    """A stored boolean flag as a bool; None when the store has none (NULL or absent)."""
    return None if value is None else bool(value)


def _part(row: dict[str, Any], prefix: str, names: tuple[str, ...]) -> dict[str, Any]:
    return {n: _finite(row.get(f"{prefix}.{n}")) for n in names}


def _value(snap: Snapshot, scores: dict[str, Any]) -> Value:
    return Value(model=snap.model_name, horizon_months=snap.value_horizon,
                 discount_rate=snap.discount_rate, margin=snap.margin,
                 caveats=snap.run["caveats"].get("value", []), **scores)


def customer_scores(snap: Snapshot, customer_id: str) -> CustomerScores | None:
    """Everything the snapshot holds on ``customer_id`` (None when it is not in the store)."""
    row = snap.profile(customer_id)
    if row is None:
        return None
    missing = dict(snap.missing)
    rfm = RFM(**_part(row, "c", _RFM), **_part(row, "s", _SCORES))
    btyd = BTYD(**_part(row, "c", _BTYD))
    segment = None
    if "segments" in snap.tables:
        name = row.get("s.segment")
        segment = Segment(name=name, action=snap.actions.get(name),
                          cluster=row.get("s.cluster"), cluster_name=row.get("s.cluster_name"),
                          cluster_mixed=row.get("s.cluster_mixed"))
    value = None
    if "clv" in snap.tables:
        h = snap.value_horizon
        scores = {"p_alive": _finite(row.get("v.p_alive")),
                  "expected_purchases": _finite(row.get(f"v.expected_purchases_{h}")),
                  "expected_avg_value": _finite(row.get("v.expected_avg_value")),
                  "clv": _finite(row.get(f"v.clv_{h}")),
                  "clv_from_prior_only": _flag(row.get(f"v.{PRIOR_ONLY_COLUMN}"))}
        value = _value(snap, scores)
        if scores["p_alive"] is None and "value" not in missing:
            missing["value"] = "no value scores for this customer in the store's clv table"
    churn = None
    if "propensity_scores" in snap.tables and snap.churn_horizon is not None:
        h = snap.churn_horizon
        churn = Churn(horizon_days=h, p_buy=_finite(row.get(f"p.p_buy_{h}d")),
                      churn_risk=row.get("p.churn_risk"),
                      churn_risk_extrapolated=row.get("p.churn_risk_extrapolated"),
                      expected_next_purchase=row.get("p.expected_next_purchase"),
                      next_purchase_basis=row.get("p.next_purchase_basis"))
    _why_blank(snap, missing, segment, churn)
    products = None
    if snap.recommendations is not None:
        products = [Product(**p) for p in snap.products(row)
                    if isinstance(p.get("score"), float) and math.isfinite(p["score"])]
        if not products:
            missing["next_best_products"] = ("no product suggestion for this customer: no "
                                             "rule or co-occurring item scores above zero")
    known = {f"c.{n}" for n in (*_RFM, *_BTYD)}  # attributes: the other customer columns
    attributes = {k[2:]: _finite(v) for k, v in row.items()
                  if k.startswith("c.") and k not in known
                  and (v is None or isinstance(v, str | int | float | bool))}
    return CustomerScores(
        customer_id=customer_id, run_id=snap.run["run_id"],
        observation_end=snap.observation_end, time_unit=snap.time_unit, rfm=rfm, btyd=btyd,
        segment=segment, value=value, churn=churn, next_best_products=products,
        attributes=attributes, missing=missing)


#: Why a stored customer has no cluster or buy-again score while others have: both are
#: kept from the last fit by ``valuemax update`` (README, "Every day: update").
_NOT_FITTED = ("this customer has no {what} while the store's other customers have: {what} "
               "stay from the last fit, so a customer first seen in a later `valuemax update` "
               "(or left out of the fit) gets one with `valuemax update --refit`")


def _why_blank(snap: Snapshot, missing: dict[str, str], segment: Segment | None,
               churn: Churn | None) -> None:
    """Say under ``missing`` why a customer's cluster or buy-again score is null while other
    stored customers have one (new user: a customer added by ``update`` got nulls with no
    reason)."""
    if segment is not None and segment.cluster is None and "cluster" not in missing \
            and _any_value(snap, "s.cluster"):
        missing["cluster"] = _NOT_FITTED.format(what="clusters")
    if churn is not None and churn.p_buy is None and "churn" not in missing \
            and _any_value(snap, f"p.p_buy_{churn.horizon_days}d"):
        missing["churn"] = _NOT_FITTED.format(what="buy-again scores")


def _any_value(snap: Snapshot, column: str) -> bool:
    """Whether any stored customer has a value in the profiles' ``column``."""
    import pyarrow.compute as pc

    names = snap.profiles.column_names
    return column in names and pc.count(snap.profiles.column(column)).as_py() > 0


def score_request(snap: Snapshot, body: ScoreRequest) -> Scored:
    """Score posted lines with the snapshot's models; the store is not touched."""
    if len(body.transactions) > MAX_TRANSACTIONS:
        raise HTTPException(413, f"{len(body.transactions):,} transactions in one request; at "
                                 f"most {MAX_TRANSACTIONS:,} are scored per POST /score: "
                                 "split the request")
    obs = snap.observation_end
    if body.observation_end is not None:
        obs = parse_day(body.observation_end, "observation_end")
        _check_observation_end(snap, body.observation_end, obs)
    lines = body.transactions
    summary = summarise_lines([parse_day(t.date, "date") for t in lines],
                              [t.amount for t in lines], [t.order_id for t in lines],
                              observation_end=obs, time_unit=snap.time_unit)
    missing: dict[str, str] = {}
    notes: list[str] = []
    value = None
    if snap.purchase_model is None:
        missing["value"] = snap.missing.get("value", "the store has no fitted purchase model "
                                                     "(no clv_params table)")
    else:
        spend = snap.spend_model if snap.value_horizon is not None else None
        horizon = snap.value_horizon or 12
        scores, notes = score_summary(summary, purchase_model=snap.purchase_model,
                                      spend_model=spend, horizon_months=horizon,
                                      discount_rate=snap.discount_rate, margin=snap.margin)
        value = Value(model=snap.model_name, horizon_months=horizon,
                      discount_rate=snap.discount_rate, margin=snap.margin,
                      caveats=snap.run["caveats"].get("value", []), **scores)
        if spend is None:
            missing["clv"] = snap.missing.get("clv", "the store has no spend model")
        far = beyond_history(summary, _longest_t(snap), snap.time_unit)
        if far:
            notes = [*notes, far]
    missing["segment"] = ("RFM scores and segments rank a customer among the stored "
                          "customers; they are given for stored customers (GET /customers/{id})")
    missing["churn"] = ("the buy-again model's fitted coefficients are not stored (only its "
                        "scores); stored customers have them under GET /customers/{id}")
    return Scored(customer_id=body.customer_id, run_id=snap.run["run_id"], observation_end=obs,
                  time_unit=snap.time_unit, rfm=RFM(**{k: summary[k] for k in _RFM}),
                  btyd=BTYD(**{k: summary[k] for k in _BTYD}), value=value, missing=missing,
                  notes=notes)


def observation_end_range(snap: Snapshot) -> tuple[dt.date | None, dt.date, int]:
    """``(earliest, latest, horizon months)`` an ``observation_end`` of ``POST /score`` may
    take: from the store's first purchase day to its observation end plus the value horizon
    (months of 30.4375 days, rounded to whole days as the CLV horizon is: 12 months are 365
    days, so 2024-07-20 + 12 months is 2025-07-20; 12 months when the store has no value
    horizon), the period the stored models predict over. Later dates would score a customer
    at a time the models know nothing of (a date such as 9999-12-31 is a typo or a
    placeholder); earlier ones before any purchase the models were fitted on."""
    months = snap.value_horizon or 12
    latest = snap.observation_end + dt.timedelta(days=round(months * DAYS_PER_MONTH))
    return snap.first_day, latest, months


def _check_observation_end(snap: Snapshot, given: str, obs: dt.date) -> None:
    """422 naming ``given`` and the allowed range when ``obs`` is outside it."""
    first, latest, months = observation_end_range(snap)
    if (first is None or obs >= first) and obs <= latest:
        return
    low = (f"from {first.isoformat()} (the store's first purchase day) " if first is not None
           else "")
    why = ("after the period the stored models predict over" if obs > latest else
           "before the store's first purchase day")
    raise HTTPException(422, (
        f"observation_end {given!r} is {why}: this store scores observation ends {low}to "
        f"{latest.isoformat()} (its observation end {snap.observation_end.isoformat()} + the "
        f"value horizon of {months} months). Send a date in that range, or leave "
        f"observation_end out to score at the store's observation end"))


def _longest_t(snap: Snapshot) -> float | None:
    """The largest ``T`` among the stored customers (None: no ``T`` column stored)."""
    if "c.T" not in snap.profiles.column_names or not snap.profiles.num_rows:
        return None
    import pyarrow.compute as pc

    got = pc.max(snap.profiles.column("c.T")).as_py()
    return None if got is None else float(got)


def _validation_message(errors: list[dict[str, Any]]) -> str:
    parts = []
    for err in errors[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {err.get('msg')}")
    more = f" (and {len(errors) - 5:,} more)" if len(errors) > 5 else ""
    return (f"{len(errors):,} problem{'s' if len(errors) != 1 else ''} in the request: "
            + "; ".join(parts) + more)


def create_app(store_path: str | Path, token: str | None = None, *,
               retry_seconds: float = 1.0, max_body_bytes: int = MAX_BODY_BYTES) -> Any:
    """The scoring service over a store, as an ASGI application (FastAPI).

    Endpoints: ``GET /customers/{customer_id}``, ``GET /segments``, ``POST /score``,
    ``GET /health``; the OpenAPI schema at ``/openapi.json`` (no documentation UI: Swagger
    and ReDoc load their scripts from a CDN, and the service works offline; open the schema
    in any local OpenAPI viewer).

    Parameters
    ----------
    store_path : str or pathlib.Path
        A DuckDB store written by ``valuemax analyze --db``; opened read-only, and only while
        a run is copied into memory (see :mod:`valuemax.serve._store`).
    token : str, optional
        Bearer token every endpoint but ``/openapi.json`` requires
        (``Authorization: Bearer <token>``, compared in constant time). None: no auth (the
        CLI allows that on loopback only).
    retry_seconds : float, default 1.0
        Least time between two reload attempts while a writer holds the store.
    max_body_bytes : int, default 2 MiB
        Largest request body (413 beyond it).

    Returns
    -------
    fastapi.FastAPI
        ``app.state.store`` is the :class:`StoreReader`.

    Raises
    ------
    InputError
        If the store cannot be read or is not a valuemax store.
    """
    store = StoreReader(store_path, retry_seconds=retry_seconds)
    app = FastAPI(
        title="valuemax scoring service",
        version=__version__,
        description="Customer value from a valuemax store (read-only): RFM, segment and "
                    "action, P(alive), expected purchases, CLV, churn risk, next best "
                    "products. Every endpoint but /openapi.json needs "
                    "`Authorization: Bearer <token>` when the service has a token.",
        docs_url=None, redoc_url=None, openapi_url="/openapi.json",
    )
    app.state.store = store
    expected = None if token is None else token.encode("utf-8")
    _add_error_handlers(app)
    _add_routes(app, store, guarded=[Depends(_authorizer(expected))])
    app.add_middleware(_Guard, max_bytes=int(max_body_bytes), token=expected)
    return app


class _RepeatedKeyError(ValueError):
    """A JSON object names a key twice."""


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` of :func:`json.loads`: refuse an object naming a key twice."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _RepeatedKeyError(key)
        out[key] = value
    return out


async def unique_keys(request: Request) -> None:
    """The dependency of ``POST /score`` after the token check: a body whose JSON objects
    repeat a key is a 422 naming the key (JSON readers keep the last value silently, so
    ``{"observation_end": "1998-01-01", "observation_end": "9999-12-31"}`` would score at
    the second). A body that is not JSON is left to FastAPI's own message."""
    raw = await request.body()  # cached: FastAPI read it already
    try:
        json.loads(raw, object_pairs_hook=_unique_pairs)
    except _RepeatedKeyError as exc:
        raise HTTPException(422, (
            f"the request body repeats the key {exc.args[0]!r} in one JSON object; each key "
            "may appear once (a repeated key would silently take its last value). Send the "
            "key once")) from None
    except ValueError:  # not JSON (or not UTF-8): FastAPI's validation says so
        return


def _authorizer(expected: bytes | None) -> Any:
    """The dependency every guarded route runs: the bearer token checked in constant time
    (``None``: no token, everything allowed)."""
    bearer = HTTPBearer(auto_error=False, description="The service's token "
                        "(VALUEMAX_API_TOKEN or --token-file)")

    async def authorize(credentials: Annotated[
            HTTPAuthorizationCredentials | None, Depends(bearer)]) -> None:
        if expected is None:
            return
        if credentials is None:
            raise HTTPException(401, "missing bearer token: send the header 'Authorization: "
                                     "Bearer <token>' (the token the service was started with)",
                                headers={"WWW-Authenticate": "Bearer"})
        if not hmac.compare_digest(credentials.credentials.encode("utf-8"), expected):
            raise HTTPException(401, "wrong bearer token",
                                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})

    return authorize


def _add_error_handlers(app: Any) -> None:
    """422 answers with one readable ``detail`` for invalid requests and bad input."""

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")}
                  for e in exc.errors()]
        detail = _validation_message(errors)
        kind = request.headers.get("content-type", "")
        if (any(tuple(e.get("loc", ())) == ("body",) for e in errors)
                and "json" not in kind.lower()):
            # FastAPI reads a body of another type as text, then finds no object in it
            detail += (f"; the body was sent as {kind or 'no content type'!r}: send it as "
                       "JSON with the header 'Content-Type: application/json'")
        return JSONResponse(status_code=422, content={"detail": detail, "errors": errors})

    @app.exception_handler(InputError)
    async def _bad_input(request: Request, exc: InputError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": str(exc)})


_PSEUDONYM = re.compile(r"[0-9a-f]{64}")


def _not_found_hint(run: dict[str, Any], customer_id: str) -> str:
    """How to find a customer: ids as stored, or, in a pseudonymised store, their
    pseudonyms (computed with the run's key)."""
    if not run.get("pseudonymized") or _PSEUDONYM.fullmatch(customer_id):
        whole = re.fullmatch(r"(-?\d+)\.0+", customer_id)
        return ("ids are matched as text, exactly as stored: leading zeros, case and spaces "
                "count" + ("" if whole is None else (
                    f"; an id read from a number column is stored without its '.0' (as "
                    f"in many exports' 17850.0): try '{whole.group(1)}'")))
    fingerprint = run.get("pseudonym_key_fingerprint") or ""
    return ("this store holds keyed HMAC-SHA256 pseudonyms (64 hex digits) instead of the "
            "customer ids (the run used --pseudonymize"
            + (f", key fingerprint {fingerprint[:12]}..." if fingerprint else "") + "): look "
            "a customer up by its pseudonym, computed with the same key: VALUEMAX_PSEUDONYM_KEY"
            "=... python -c \"from valuemax.privacy import load_key, pseudonymize; "
            "print(pseudonymize(['ID'], load_key())[0])\"")


def _add_routes(app: Any, store: StoreReader, *, guarded: list[Any]) -> None:
    """The four endpoints, each answering from the store's current snapshot."""

    @app.get("/health", response_model=Health, dependencies=guarded, responses=_ERRORS,
             summary="Which store and run the service answers from")
    async def health() -> Health:
        snap = store.current()
        pending = store.pending
        return Health(status="stale" if pending else "ok", store=snap.path,
                      run_id=snap.run["run_id"], observation_end=snap.observation_end,
                      n_customers=len(snap.index),
                      store_valuemax_version=snap.run.get("valuemax_version"),
                      version=__version__, loaded_at=snap.loaded_at,
                      reload_pending=pending, reload_error=store.reload_error,
                      warning=snap.run.get("version_warning"))

    # ``:path``: an id may hold "/" (sent as %2F, which the server decodes before routing)
    @app.get("/customers/{customer_id:path}", response_model=CustomerScores,
             dependencies=guarded,
             responses={**_ERRORS, 404: {"model": Problem, "description": "Unknown id."}},
             summary="Everything the store holds on one customer")
    async def customer(customer_id: str) -> CustomerScores:
        if len(customer_id) > MAX_ID_LENGTH:
            raise HTTPException(422, f"customer_id has {len(customer_id):,} characters; ids "
                                     f"are at most {MAX_ID_LENGTH}")
        snap = store.current()
        found = customer_scores(snap, customer_id)
        if found is None:
            raise HTTPException(404, f"customer_id {customer_id!r} is not in the store (run "
                                     f"{snap.run['run_id']}, {len(snap.index):,} customers); "
                                     + _not_found_hint(snap.run, customer_id))
        return found

    @app.get("/segments", response_model=Segments, dependencies=guarded, responses=_ERRORS,
             summary="The run's RFM segments with their actions")
    async def segments() -> Segments:
        snap = store.current()
        rows = [SegmentRow(**{k: _finite(v) for k, v in r.items()}) for r in snap.segments]
        return Segments(run_id=snap.run["run_id"], segments=rows)

    @app.post("/score", response_model=Scored, dependencies=[*guarded, Depends(unique_keys)],
              responses=_ERRORS,
              summary="Score a customer's transactions with the stored models")
    def score(body: ScoreRequest) -> Scored:
        return score_request(store.current(), body)
