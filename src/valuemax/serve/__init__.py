"""The scoring service (``valuemax serve``): a read-only HTTP API over a valuemax store.

``GET /customers/{customer_id}`` answers with everything a run stored on a customer (RFM,
segment and action, P(alive), expected purchases, CLV, churn risk, next best products),
``GET /segments`` with the segment table, ``POST /score`` scores a customer's posted
transactions with the stored fitted models, ``GET /health`` names the store and run; the
OpenAPI schema is at ``/openapi.json``. Built on FastAPI and uvicorn, the optional extra
``pip install 'valuemax[serve]'``; importing ``valuemax`` or its CLI does not import them.

The store is read, never written, and never held open (DuckDB allows one writer and no
reader beside it): a run is copied into memory and a new run is picked up when the file
changes (:class:`StoreReader`).
"""

from valuemax.serve._app import MAX_BODY_BYTES, create_app
from valuemax.serve._run import TOKEN_ENV, check_listen, is_loopback, read_token, serve
from valuemax.serve._schemas import MAX_TRANSACTIONS
from valuemax.serve._store import Snapshot, StoreReader, load_snapshot

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_TRANSACTIONS",
    "TOKEN_ENV",
    "Snapshot",
    "StoreReader",
    "check_listen",
    "create_app",
    "is_loopback",
    "load_snapshot",
    "read_token",
    "serve",
]
