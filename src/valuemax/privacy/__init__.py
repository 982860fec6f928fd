"""Privacy by default (DESIGN.md §4): pseudonymous customer ids, personal data kept out.

- :func:`pseudonymize` replaces customer ids by keyed HMAC-SHA256 pseudonyms; the key comes
  from :func:`load_key` (the caller, a key file, or ``VALUEMAX_PSEUDONYM_KEY``) and is never
  written anywhere; :func:`key_fingerprint` (an HMAC of a fixed label) is safe to store and
  tells whether two runs used the same key.
- :func:`detect_pii` finds columns holding personal data (e-mail, phone, names, addresses,
  national ids and passports, bank/card numbers, WeChat/QQ accounts, birth dates, IP
  addresses, free-text remarks) by English and Chinese names and by value patterns with
  check digits (:func:`luhn_valid`, :func:`cn_id_valid`, :func:`iban_valid`); one phone
  number, e-mail or id inside free text is enough.
- :func:`make_private` gives outputs owner-only modes (0600 files, 0700 folders).

The reading stage (``valuemax.io.protect``) applies these to a log right after reading.
"""

from valuemax.privacy._checks import cn_id_check_char, cn_id_valid, iban_valid, luhn_valid
from valuemax.privacy._detect import (
    PII_KINDS,
    VALUE_SHARE,
    PiiColumn,
    detect_pii,
    name_kind,
    value_kind,
)
from valuemax.privacy._files import PRIVATE_DIR, PRIVATE_FILE, make_private
from valuemax.privacy._key import KEY_ENV, MIN_KEY_BYTES, PseudonymKey, key_fingerprint, load_key
from valuemax.privacy._pseudonym import pseudonymize
from valuemax.privacy._report import PrivacyReport

__all__ = ["KEY_ENV", "MIN_KEY_BYTES", "PII_KINDS", "PRIVATE_DIR", "PRIVATE_FILE", "VALUE_SHARE",
           "PiiColumn", "PrivacyReport", "PseudonymKey", "cn_id_check_char", "cn_id_valid",
           "detect_pii", "iban_valid", "key_fingerprint", "load_key", "luhn_valid",
           "make_private", "name_kind", "pseudonymize", "value_kind"]
