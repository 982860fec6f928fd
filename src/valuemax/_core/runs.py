"""The store's ``runs`` rows as the readers of a store (the daily update, the API, the
dashboard) tell them apart: runs of the log and their recorded caveats.

Kept in ``_core`` (no dependency beyond the standard library) so that the service and the
dashboard read them without importing the pipeline.
"""

from __future__ import annotations

import json
from typing import Any


def of_log(ingest: Any) -> bool:
    """Whether a ``runs`` row with this ``ingest`` (its JSON text) is a run of the log
    (``analyze``, ``update``: it recorded the reading options, ``ingest.mapping``), not a
    campaign's target, experiment or uplift run written to the store later (``--db``, an
    ``ingest`` of its source only); a row of a store written before the ``ingest`` column
    (None) is.

    >>> of_log('{"mapping": {"customer_id": "CustomerID"}}'), of_log('{"source": "e.csv"}')
    (True, False)
    >>> of_log(None), of_log("not json")
    (True, False)
    """
    if ingest is None:
        return True
    try:
        found = json.loads(ingest)
    except (TypeError, ValueError):
        return False
    return isinstance(found, dict) and "mapping" in found


def newest_caveats(rows: Any) -> dict[str, list[str]]:
    """The ``caveats`` of the newest run of the log that recorded them: ``{step: [text,
    ...]}``, or {} when none did (the store, the API and the dashboard show these).

    Parameters
    ----------
    rows : iterable of (caveats, ingest)
        The ``runs`` rows' JSON texts, newest first (a NULL ``caveats`` or an unreadable one
        is passed over, as is a campaign's run, :func:`of_log`).

    >>> newest_caveats([(None, None), ('{"value": ["x"]}', '{"source": "e.csv"}'),
    ...                 ('{"value": ["y"], "n": 3}', '{"mapping": {}}')])
    {'value': ['y']}
    """
    for text, ingest in rows:
        if text is None or not of_log(ingest):
            continue
        try:
            found = json.loads(text)
        except (TypeError, ValueError):
            continue
        if isinstance(found, dict):
            return {str(k): [str(v) for v in vs] for k, vs in found.items()
                    if isinstance(vs, list)}
    return {}


__all__ = ["newest_caveats", "of_log"]
