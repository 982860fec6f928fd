"""Real public data bundled with valuemax, so the demo, the examples and the tests run offline.

Loaders return pandas DataFrames holding the files exactly as published (no cleaning);
:func:`path` returns a file itself, to hand to ``valuemax.analyze``, ``read_transactions`` or
the CLI. Each file's source, citation, licence and SHA-256 checksum are in ``NOTICE.md`` next
to the files.

- :func:`load_cdnow` (``kind="sample"`` 6,919 x 5, ``kind="master"`` 69,659 x 4): CDNOW,
  Fader & Hardie (2001); redistributed in the MIT-licensed ``lifetimes``.
- :func:`load_online_retail` (541,909 x 8): UCI Online Retail, Chen, Sain & Guo (2012),
  CC BY 4.0.
- :func:`load_donations` (22 x 4): BG/BB donations table, Fader, Hardie & Shang (2010);
  redistributed in ``lifetimes`` (MIT).
- :func:`load_retention` (13 x 3): sBG survivors table, Fader & Hardie (2007).
- :func:`load_hillstrom`: MineThatData (2008) e-mail experiment, **not bundled** (no
  redistribution licence): reads a copy you downloaded.

The Groceries baskets of arules (GPL-2 or later) are kept out of the MIT-licensed package;
the repository has them in ``tests/data/`` for the tests.
"""

from __future__ import annotations

from valuemax.datasets._files import online_retail_path, path
from valuemax.datasets._loaders import (
    load_cdnow,
    load_donations,
    load_hillstrom,
    load_online_retail,
    load_retention,
)

__all__ = ["load_cdnow", "load_donations", "load_hillstrom", "load_online_retail",
           "load_retention", "online_retail_path", "path"]
