"""Hand-made logs whose duplicates and returns cross the split (written out line by line)."""

from __future__ import annotations

from pathlib import Path

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"

#: January: c1 buys mugs, plates (one line copied) and bowls and returns one bowl; c2 buys
#: two mugs; c3 a mug and postage (not a product); a line without a customer; c4 a vase.
FIRST = """\
1001,P1,Mug,5,2024-01-05 10:00,2.50,c1,UK
1001,P2,Plate,1,2024-01-05 10:00,8.00,c1,UK
1001,P2,Plate,1,2024-01-05 10:00,8.00,c1,UK
1002,P1,Mug,2,2024-01-07 11:00,2.50,c2,France
1003,P3,Bowl,4,2024-01-10 09:00,3.00,c1,UK
1004,P1,Mug,1,2024-01-12 12:00,2.50,c3,UK
1005,POST,Postage,1,2024-01-12 12:00,15.00,c3,UK
1006,P2,Plate,3,2024-01-20 15:00,8.00,c2,France
C1007,P3,Bowl,-1,2024-01-25 10:00,3.00,c1,UK
1008,P1,Mug,1,2024-01-31 10:00,2.50,,UK
1009,P4,Vase,1,2024-01-31 16:00,950.00,c4,UK
"""

#: February: c2 returns both January mugs (the stored line is netted to zero), c1 returns a
#: second bowl (the stored line netted again), a new customer c5 (one line copied), a copy of
#: a stored January line, c3 buys twice in Spain (its most frequent country changes), an
#: unmatched return, a line without a customer and a free item. c4 buys nothing.
SECOND = """\
1010,P1,Mug,3,2024-02-02 10:00,2.50,c1,UK
C1011,P1,Mug,-2,2024-02-03 10:00,2.50,c2,France
C1012,P3,Bowl,-1,2024-02-04 10:00,3.00,c1,UK
1013,P2,Plate,2,2024-02-05 10:00,8.00,c5,Germany
1013,P2,Plate,2,2024-02-05 10:00,8.00,c5,Germany
1001,P2,Plate,1,2024-01-05 10:00,8.00,c1,UK
1014,P5,Lamp,1,2024-02-06 10:00,40.00,c3,Spain
1015,P5,Lamp,1,2024-02-07 10:00,40.00,c3,Spain
C1016,P9,Thing,-1,2024-02-08 10:00,5.00,c1,UK
1017,P1,Mug,1,2024-02-09 10:00,2.50,,UK
1018,P6,Rug,1,2024-02-10 10:00,0.00,c1,UK
"""

#: Without products, order ids or quantities (netted by amount): c1 refunds 20 in February
#: (from its latest earlier purchase, 30 -> 10), c2 refunds its whole January purchase.
AMOUNT_HEADER = "customer,date,amount\n"
AMOUNT_FIRST = """\
c1,2024-01-05,50.00
c1,2024-01-10,30.00
c2,2024-01-06,20.00
c3,2024-01-08,12.50
c3,2024-01-20,7.50
"""
AMOUNT_SECOND = """\
c1,2024-02-01,-20.00
c2,2024-02-02,-20.00
c4,2024-02-03,15.00
c3,2024-02-03,5.00
"""


def write_parts(folder: Path, header: str, first: str, second: str) -> dict[str, Path]:
    """``first.csv``, ``second.csv`` and ``whole.csv`` (first then second) in ``folder``."""
    out = {"first": folder / "first.csv", "second": folder / "second.csv",
           "whole": folder / "whole.csv"}
    out["first"].write_text(header + first, encoding="utf-8")
    out["second"].write_text(header + second, encoding="utf-8")
    out["whole"].write_text(header + first + second, encoding="utf-8")
    return out
