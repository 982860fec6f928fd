"""Reading transaction logs (DESIGN.md §1): any source -> a raw table + canonical mapping.

``read_transactions`` materialises CSV/TSV/whitespace text (plain, .gz, .zst), Parquet, Excel,
JSON lines, DuckDB tables and pandas/polars/Arrow tables in DuckDB exactly as read, maps their
columns to the canonical ones (English and Chinese names, or ``mapping=``) and decides how to
parse dates, numbers and ids; ``Ingested.standardized()`` applies that lazily. Nothing is
cleaned here: that is ``valuemax.clean``. ``protect`` then drops the columns holding personal
data and, with a key, replaces customer ids by keyed pseudonyms (``valuemax.privacy``).
"""

from valuemax.io._encoding import normalise_encoding
from valuemax.io._ingested import Ingested, ParsePlan
from valuemax.io._private import protect
from valuemax.io._read import read_transactions
from valuemax.io._tables import read_customer_table, table_encoding

__all__ = ["Ingested", "ParsePlan", "normalise_encoding", "protect", "read_customer_table",
           "read_transactions", "table_encoding"]
