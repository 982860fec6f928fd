"""Results the main job needs again later, kept on disk while the steps in between run.

At 3M customers the customer table (about 30 columns, text and dates included) is about
1 GB of Python memory and the value step's result (per-customer table, holdout comparison)
about 0.4 GB; the propensity and basket steps read neither (the propensity step needs the
customers' number and first purchases only), yet they stayed in memory under those steps'
own peaks (the basket step set the 30M-line run's peak: 8.4 GB). :class:`Spilled` writes
them to an anonymous temporary file and drops them; :meth:`Spilled.load` gives the same
objects back (pickle: every dtype, index and value exactly as it was, Arrow-backed text
included).
"""

from __future__ import annotations

import pickle
import tempfile
from typing import Any

import pandas as pd


class Spilled:
    """An object (the earlier steps' results) held in an anonymous temporary file (deleted
    when closed, also when the process dies) instead of memory.

    Parameters
    ----------
    obj : object
        What to hold; the caller drops its own references to it after this. An object
        pickle cannot write (e.g. one holding a live connection) stays in memory as it is:
        the job's results never depend on where it was kept.
    frame : pandas.DataFrame, optional
        A frame some of whose columns the steps in between need (:attr:`kept`).
    keep : sequence of str, optional
        Those columns.

    Attributes
    ----------
    kept : pandas.DataFrame of shape (n_rows, len(keep)) or None
        The ``keep`` columns of ``frame``, same index (None without ``frame``).
    on_disk : bool
        Whether ``obj`` is in the file (False: pickle refused it, it is held in memory).

    Raises
    ------
    OSError
        When the temporary folder cannot hold it (disk full): the job stops, as for any
        other file it writes.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"a": [1, 2], "b": ["x", None]})
    >>> s = Spilled({"customers": df}, frame=df, keep=["a"])
    >>> s.kept.columns.tolist(), s.on_disk
    (['a'], True)
    >>> s.load()["customers"].equals(df)
    True
    """

    def __init__(self, obj: Any, *, frame: pd.DataFrame | None = None,
                 keep: tuple[str, ...] | list[str] = ()) -> None:
        self.kept = None if frame is None else frame[list(keep)].copy()
        self._held: Any = None
        # kept open until load(): the file has no name and goes when closed
        self._file: Any = tempfile.TemporaryFile(prefix="valuemax-spill-")  # noqa: SIM115
        try:
            pickle.dump(obj, self._file, protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError):  # not picklable: in memory
            self.close()
            self._held = obj
        else:
            self._file.flush()
        self.on_disk = self._file is not None
        self._loaded = False

    def load(self) -> Any:
        """The object as it was given, read back once; the file is then deleted.

        Raises
        ------
        RuntimeError
            When called a second time.
        """
        if self._loaded:
            raise RuntimeError("Spilled.load: the object was already read back (once only).")
        self._loaded = True
        if self._file is None:
            held, self._held = self._held, None
            return held
        try:
            self._file.seek(0)
            return pickle.load(self._file)  # our own file, written above
        finally:
            self.close()

    def close(self) -> None:
        """Delete the file without reading it (a job stopped between spill and load);
        idempotent, and done when the object is collected."""
        if getattr(self, "_file", None) is not None:  # set unless __init__ failed
            self._file.close()
            self._file = None

    def __del__(self) -> None:
        self.close()
