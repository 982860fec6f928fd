"""valuemax.dashboard: a marketer's web view of a store (``valuemax dashboard --db STORE``).

Server-rendered pages (FastAPI, extra ``serve``) over a store written by ``valuemax analyze
--db``, opened read-only: KPI tiles, segments, CLV and churn-risk distributions, the
high-value-at-risk list with its CSV export, customer lookup, association rules, and the
experiment/targeting tables when present; filters by segment and country. Offline: plotly.js
is served from the installed plotly package, nothing is fetched from elsewhere.

FastAPI and uvicorn are imported only by :func:`create_app` and :func:`serve`.
"""

from valuemax.dashboard._app import DEFAULT_PORT, create_app, serve
from valuemax.dashboard._store import COUNTRY_COLUMNS, Filters, StoreView

__all__ = ["COUNTRY_COLUMNS", "DEFAULT_PORT", "Filters", "StoreView", "create_app", "serve"]
