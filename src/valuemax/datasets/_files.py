"""Where the bundled data files are: one registry of names, file names and sources.

The files sit next to this module (package data, shipped in the wheel); ``NOTICE.md`` beside
them gives each file's source, citation, licence and SHA-256 checksum.
"""

from __future__ import annotations

import importlib.resources as resources
from pathlib import Path
from typing import Literal

#: Names accepted by :func:`path`, each with its file name in this package.
FILES: dict[str, str] = {
    "cdnow_master": "CDNOW_master.txt.gz",
    "cdnow_sample": "CDNOW_sample.txt.gz",
    "donations": "donations.csv",
    "online_retail": "online_retail.csv.gz",
    "retention": "sbg_survivors.csv",
}

DatasetName = Literal["cdnow_master", "cdnow_sample", "donations", "online_retail", "retention"]


def path(name: DatasetName) -> Path:
    """Path of a data file bundled with valuemax, as published (compressed where large).

    Hand it to ``valuemax.analyze``, ``read_transactions`` or the CLI as any user file; the
    ``load_*`` functions return the same data as a DataFrame.

    Parameters
    ----------
    name : {"cdnow_master", "cdnow_sample", "donations", "online_retail", "retention"}
        - ``"cdnow_master"``: ``CDNOW_master.txt.gz``, 69,659 lines, whitespace-separated
          with one header line, CRLF line ends (Fader & Hardie 2001; MIT via lifetimes).
        - ``"cdnow_sample"``: ``CDNOW_sample.txt.gz``, the 1/10 sample (6,919 lines,
          2,357 customers), no header: pass ``columns=`` when reading it.
        - ``"donations"``: ``donations.csv``, BG/BB sufficient statistics (22 rows).
        - ``"online_retail"``: ``online_retail.csv.gz``, UCI Online Retail (541,909 lines,
          CC BY 4.0).
        - ``"retention"``: ``sbg_survivors.csv``, survivors out of 1,000 per year (13 rows).

    Returns
    -------
    pathlib.Path
        An existing file inside the installed package. Decompressed, every file is
        byte-identical to its published source (checksums in ``NOTICE.md``).

    Raises
    ------
    ValueError
        If ``name`` is not one of the names above (the message lists them).

    Examples
    --------
    >>> from valuemax.datasets import path
    >>> path("cdnow_master").name
    'CDNOW_master.txt.gz'
    """
    if name not in FILES:
        raise ValueError(
            f"unknown data set name {name!r}; expected one of {sorted(FILES)}. "
            f"Hillstrom and Groceries are not in the package (see valuemax.datasets' NOTICE.md)."
        )
    return Path(str(resources.files("valuemax.datasets").joinpath(FILES[name])))


def online_retail_path() -> Path:
    """Path of the bundled UCI Online Retail log (gzip CSV, 541,909 lines).

    Same as ``path("online_retail")``; kept for ``valuemax demo`` and existing callers.

    Returns
    -------
    pathlib.Path
        ``online_retail.csv.gz`` inside the installed package.

    Examples
    --------
    >>> from valuemax.datasets import online_retail_path
    >>> online_retail_path().name
    'online_retail.csv.gz'
    """
    return path("online_retail")
