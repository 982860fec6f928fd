"""Fixtures for the io tests: small files written in ``tmp_path``, results as Python values."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

#: A small Online-Retail-like log; customer ' 007 ' has blanks, line 4 has no customer.
SMALL_CSV = (
    "order_no,Customer ID,Order Date,Qty,Unit Price,SKU,Product Name,Country\n"
    "A1, 007 ,2024-01-05 10:00:00,2,3.50,S1,Mug,UK\n"
    'A1,007,2024-01-05 10:00:00,1,10,S2,"Plate, large",UK\n'
    "A2,008,2024-02-01 09:30:00,3,2.25,S1,Mug,FR\n"
    "A3,,2024-02-02 09:30:00,1,1,S3,Spoon,FR\n"
)


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """``write(name, text, encoding='utf-8')``: a file in ``tmp_path`` with exactly those bytes."""

    def _write(name: str, text: str, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.write_bytes(text.encode(encoding))
        return path

    return _write


@pytest.fixture
def rows() -> Callable[..., list[tuple]]:
    """``rows(table, *columns)``: an Ibis table's rows by ``_row_id`` as tuples."""

    def _rows(table, *columns: str) -> list[tuple]:
        data = table.order_by("_row_id").select(*columns).to_pyarrow().to_pydict()
        return list(zip(*(data[c] for c in columns), strict=True))

    return _rows


@pytest.fixture
def small_csv(write) -> Path:
    return write("orders.csv", SMALL_CSV)
