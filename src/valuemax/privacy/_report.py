"""What privacy protection did to a log: pseudonymisation and the personal-data columns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from valuemax.privacy._detect import PiiColumn


@dataclass(frozen=True)
class PrivacyReport:
    """The personal data found in a log and what was done about it.

    Attributes
    ----------
    pseudonymized : bool
        Whether customer ids were replaced by keyed HMAC-SHA256 pseudonyms.
    key_fingerprint : str or None
        :func:`valuemax.privacy.key_fingerprint` of the key (never the key).
    pii_columns : tuple of PiiColumn
        Every column found to hold personal data, with its action.
    keep_pii : tuple of str
        Columns the caller kept on purpose (``keep_pii=``, CLI ``--keep-pii``).
    notes : tuple of str
        Sentences for the report and the terminal.
    """

    pseudonymized: bool = False
    key_fingerprint: str | None = None
    pii_columns: tuple[PiiColumn, ...] = ()
    keep_pii: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def dropped(self) -> tuple[str, ...]:
        """Columns removed from the log right after reading."""
        return tuple(c.column for c in self.pii_columns if c.action == "dropped")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able record (summary.json ``privacy``, the ``runs`` table).

        Returns
        -------
        dict
            ``pseudonymized``, ``key_fingerprint``, ``pii_columns`` (list of
            :meth:`PiiColumn.to_dict`), ``dropped``, ``keep_pii``, ``notes``.
        """
        return {"pseudonymized": self.pseudonymized, "key_fingerprint": self.key_fingerprint,
                "pii_columns": [c.to_dict() for c in self.pii_columns],
                "dropped": list(self.dropped), "keep_pii": list(self.keep_pii),
                "notes": list(self.notes)}
