"""Real data bundled with valuemax so that ``valuemax demo`` runs offline.

- ``online_retail.csv.gz``: UCI "Online Retail" (Chen, Sain & Guo 2012, CC BY 4.0), a UK gift
  wholesaler, 2010-12-01 .. 2011-12-09, 541,909 lines, as published (uncleaned).
"""

from __future__ import annotations

import importlib.resources as _resources
import pathlib as _pathlib

__all__ = ["online_retail_path"]


def online_retail_path() -> _pathlib.Path:
    """Path of the bundled UCI Online Retail log (gzip CSV, 541,909 lines).

    Returns
    -------
    pathlib.Path
    """
    return _pathlib.Path(str(_resources.files("valuemax.datasets").joinpath("online_retail.csv.gz")))
