"""Bundled real data sets as pandas DataFrames, read exactly as published.

No cleaning happens here: the frames hold every published line (bad lines included), so the
counts in each docstring are the source's own. Clean with ``valuemax.clean`` as any user log.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pandas as pd

from valuemax.datasets._files import path as bundled_path

#: Columns of the Hillstrom file as published by MineThatData (2008), in order.
HILLSTROM_COLUMNS: tuple[str, ...] = (
    "recency", "history_segment", "history", "mens", "womens", "zip_code", "newbie",
    "channel", "segment", "visit", "conversion", "spend",
)

_HILLSTROM_SOURCE = ("https://minethatdata.blogspot.com/2008/03/"
                     "minethatdata-e-mail-analytics-and-data.html")


def load_cdnow(*, kind: Literal["master", "sample"] = "sample") -> pd.DataFrame:
    """CDNOW transactions, 1997-01-01 .. 1998-06-30: the BTYD literature's reference data.

    The cohort of 23,570 customers who first bought at the online music retailer CDNOW in
    Q1 1997, with every later purchase up to 1998-06-30 (Fader & Hardie 2001). ``"sample"``
    is the 1/10 systematic sample on which [1]_ and [2]_ publish BG/NBD, Pareto/NBD and
    Gamma-Gamma estimates (calibration = the first 39 weeks).

    Parameters
    ----------
    kind : {"sample", "master"}, default "sample"
        ``"sample"``: 6,919 lines, 2,357 customers. ``"master"``: 69,659 lines, 23,570
        customers (80 lines have ``dollar_value <= 0``).

    Returns
    -------
    pandas.DataFrame
        One row per published line, in file order; shape (6919, 5) for ``"sample"``,
        (69659, 4) for ``"master"``. Columns: ``customer_id`` (str, zero-padded as published,
        e.g. ``"00004"``), ``customer_index`` (str, ``"0001"`` .. ``"2357"``; sample only),
        ``date`` (datetime64, day), ``number_of_cds`` (int64), ``dollar_value`` (float64, USD).
        Several customers buy more than once on a day: the BTYD summary counts those as one
        purchase occasion.

    Raises
    ------
    ValueError
        If ``kind`` is neither ``"sample"`` nor ``"master"``.

    See Also
    --------
    path : the file itself (``path("cdnow_sample")``), e.g. for ``valuemax.analyze``.

    Notes
    -----
    Source: Bruce Hardie's CDNOW data page (brucehardie.com/datasets); the master file is
    redistributed in the MIT-licensed ``lifetimes`` package, the sample is its documented
    1/10 subset (Hardie, note 026). Licence and checksums: ``NOTICE.md`` in this package.

    References
    ----------
    .. [1] Fader, Hardie & Lee (2005). "Counting Your Customers" the Easy Way. Marketing
       Science 24(2):275-284. doi:10.1287/mksc.1040.0098
    .. [2] Fader, Hardie & Lee (2005). RFM and CLV: Using Iso-Value Curves for Customer Base
       Analysis. Journal of Marketing Research 42(4):415-430. doi:10.1509/jmkr.2005.42.4.415

    Examples
    --------
    >>> from valuemax.datasets import load_cdnow
    >>> tx = load_cdnow()
    >>> tx.shape, tx["customer_id"].nunique()
    ((6919, 5), 2357)
    >>> str(tx["date"].min().date()), str(tx["date"].max().date())
    ('1997-01-01', '1998-06-30')
    """
    if kind not in ("sample", "master"):
        raise ValueError(f"kind must be 'sample' or 'master', got {kind!r}")
    dtypes = {"customer_id": str, "customer_index": str, "date": str,
              "number_of_cds": "int64", "dollar_value": "float64"}
    if kind == "master":
        frame = pd.read_csv(bundled_path("cdnow_master"), sep=r"\s+", dtype=dtypes)
    else:
        frame = pd.read_csv(bundled_path("cdnow_sample"), sep=r"\s+", header=None, dtype=dtypes,
                            names=list(dtypes))
    frame["date"] = pd.to_datetime(frame["date"], format="%Y%m%d")
    return frame


def load_online_retail() -> pd.DataFrame:
    """UCI "Online Retail": a UK gift wholesaler's invoice lines, 2010-12-01 .. 2011-12-09.

    The published, uncleaned log (Chen, Sain & Guo 2012 [1]_): cancellations (``InvoiceNo``
    starting with ``C``), negative quantities, zero prices, 5,268 exact duplicate lines and
    non-product codes are all still in it. Pass the frame (or ``path("online_retail")``) to
    ``valuemax.analyze`` to see the cleaning rules account for every line.

    Returns
    -------
    pandas.DataFrame of shape (541909, 8)
        Columns as published: ``InvoiceNo``, ``StockCode``, ``Description``, ``Country``,
        ``CustomerID`` (str; ``CustomerID`` float-like as published, ``"17850.0"``),
        ``Quantity`` (int64), ``InvoiceDate`` (datetime64, to the minute, local UK time),
        ``UnitPrice`` (float64, GBP). Missing in the source and left missing (NaN):
        135,080 ``CustomerID`` and 1,454 ``Description`` values.

    Notes
    -----
    Source: UCI Machine Learning Repository, doi:10.24432/C5BW33, licensed CC BY 4.0; this
    copy is the by-day split published with "Spark: The Definitive Guide", concatenated.
    Checksums: ``NOTICE.md`` in this package.

    References
    ----------
    .. [1] Chen, Sain & Guo (2012). Data mining for the online retail industry: a case study
       of RFM model-based customer segmentation using data mining. Journal of Database
       Marketing & Customer Strategy Management 19(3):197-208. doi:10.1057/dbm.2012.17

    Examples
    --------
    >>> from valuemax.datasets import load_online_retail
    >>> lines = load_online_retail()
    >>> lines.shape, int(lines["InvoiceNo"].str.startswith("C").sum())
    ((541909, 8), 9288)
    """
    text = ["InvoiceNo", "StockCode", "Description", "CustomerID", "Country", "InvoiceDate"]
    frame = pd.read_csv(bundled_path("online_retail"), dtype=dict.fromkeys(text, str)
                        | {"Quantity": "int64", "UnitPrice": "float64"})
    frame["InvoiceDate"] = pd.to_datetime(frame["InvoiceDate"], format="%Y-%m-%d %H:%M:%S")
    return frame


def load_donations() -> pd.DataFrame:
    """Repeat donations, 1995 cohort, 6 yearly opportunities: the BG/BB reference table.

    Sufficient statistics of Fader, Hardie & Shang (2010) [1]_ for 11,104 first-time donors
    to a US non-profit: each row is a (frequency, recency) pattern over ``periods`` = 6
    opportunities and the number of donors (``weights``) who had it. Published BG/BB
    estimates: alpha 1.204, beta 0.750, gamma 0.657, delta 2.783 (LL -33,225.6).

    Returns
    -------
    pandas.DataFrame of shape (22, 4)
        ``frequency`` (repeat donations, 0..6), ``recency`` (period of the last one, 0..6;
        0 when frequency is 0), ``periods`` (6), ``weights`` (donors); all int64.

    Notes
    -----
    Source: redistributed in the MIT-licensed ``lifetimes`` package (``donations.csv``);
    licence and checksum in ``NOTICE.md`` in this package.

    References
    ----------
    .. [1] Fader, Hardie & Shang (2010). Customer-Base Analysis in a Discrete-Time
       Noncontractual Setting. Marketing Science 29(6):1086-1108.
       doi:10.1287/mksc.1100.0580

    Examples
    --------
    >>> from valuemax.datasets import load_donations
    >>> d = load_donations()
    >>> d.shape, int(d["weights"].sum())
    ((22, 4), 11104)
    """
    return pd.read_csv(bundled_path("donations"), dtype="int64")


def load_retention() -> pd.DataFrame:
    """Customers still active each year out of 1,000 acquired: the sBG reference table.

    Fader & Hardie (2007) [1]_, two segments ("regular", "high end") over 13 years. The
    paper calibrates the shifted-beta-geometric model on years 0-7 (alpha 0.704, beta 1.182
    regular; alpha 0.668, beta 3.806 high end) and projects years 8-12.

    Returns
    -------
    pandas.DataFrame of shape (13, 3)
        ``year`` (0..12), ``regular`` and ``high_end`` (customers active at the start of the
        year; 1,000 in year 0, non-increasing); all int64.

    Notes
    -----
    The survivor counts are the figures published in the paper, reproduced with citation;
    checksum in ``NOTICE.md`` in this package.

    References
    ----------
    .. [1] Fader & Hardie (2007). How to Project Customer Retention. Journal of Interactive
       Marketing 21(1):76-90. doi:10.1002/dir.20074

    Examples
    --------
    >>> from valuemax.datasets import load_retention
    >>> s = load_retention()
    >>> s.shape, s.iloc[8].tolist()
    ((13, 3), [8, 223, 468])
    """
    return pd.read_csv(bundled_path("retention"), dtype="int64")


def load_hillstrom(path: str | Path | None = None) -> pd.DataFrame:
    """MineThatData e-mail experiment (Hillstrom 2008), read from a copy you provide.

    64,000 customers randomised to ``Mens E-Mail``, ``Womens E-Mail`` and ``No E-Mail``;
    outcomes over two weeks (``visit``, ``conversion``, ``spend``). Not bundled: its
    publisher states no licence that allows redistribution (see ``NOTICE.md``), so download
    it from the MineThatData blog post and pass its path.

    Parameters
    ----------
    path : str or pathlib.Path
        The published CSV (plain or ``.gz``), with a header line and the 12 columns listed
        in ``HILLSTROM_COLUMNS`` in that order.

    Returns
    -------
    pandas.DataFrame of shape (n_customers, 12)
        (64000, 12) for the published file. ``recency`` (months), ``mens``, ``womens``,
        ``newbie``, ``visit``, ``conversion`` int64; ``history`` and ``spend`` float64 (USD);
        ``history_segment``, ``zip_code`` (spelled ``Surburban`` in the data), ``channel``,
        ``segment`` str.

    Raises
    ------
    ValueError
        If ``path`` is None (where to download it), does not exist, or its columns are not
        the published ones (the message lists the missing and unexpected columns).

    References
    ----------
    .. [1] Hillstrom, K. (2008). The MineThatData E-Mail Analytics And Data Mining
       Challenge. MineThatData blog, March 2008.

    Examples
    --------
    >>> from valuemax.datasets import load_hillstrom
    >>> load_hillstrom()
    Traceback (most recent call last):
    ...
    ValueError: the Hillstrom data is not bundled with valuemax ...
    """
    if path is None:
        raise ValueError(
            "the Hillstrom data is not bundled with valuemax (its publisher grants no "
            f"redistribution licence); download it from {_HILLSTROM_SOURCE} and call "
            "load_hillstrom('path/to/hillstrom.csv')"
        )
    file = Path(path)
    if not file.is_file():
        raise ValueError(f"load_hillstrom: no file at {str(file)!r}; pass the path of the "
                         f"downloaded Hillstrom CSV (from {_HILLSTROM_SOURCE})")
    frame = pd.read_csv(file, dtype={"history_segment": str, "zip_code": str,
                                     "channel": str, "segment": str})
    if tuple(frame.columns) != HILLSTROM_COLUMNS:
        missing = [c for c in HILLSTROM_COLUMNS if c not in frame.columns]
        extra = [c for c in frame.columns if c not in HILLSTROM_COLUMNS]
        raise ValueError(
            f"load_hillstrom: {str(file)!r} does not have the published columns in order; "
            f"missing {missing}, unexpected {extra}, expected {list(HILLSTROM_COLUMNS)}. "
            "Pass the file as published by MineThatData."
        )
    return frame
