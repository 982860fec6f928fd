"""BTYD parameters in words: what each pair is, and which ones the data do not pin down
(the wording of the model choice, the value step's notes and the caveats)."""

from __future__ import annotations

from typing import Any

import numpy as np

#: A log standard error beyond which a parameter is "not pinned down": its 95% interval
#: spans a factor over e^(2 x 1.96 x 2) ~ 2,500.
MAX_LOG_SE = 2.0

#: What each BTYD parameter pair is, in words (review: the P(alive) caveat named a and b
#: without saying what they are).
PARAMETER_WORDS = {
    ("r", "alpha"): "the purchase-rate parameters: each customer's purchase rate while "
                    "active follows Gamma(r, alpha)",
    ("a", "b"): "the drop-out parameters: the chance to drop out after each purchase "
                "follows Beta(a, b) across customers",
    ("s", "beta"): "the drop-out parameters: each customer's drop-out rate follows "
                   "Gamma(s, beta)",
}


def named_parameters(names: list[str] | tuple[str, ...]) -> str:
    """``names`` (BTYD parameters) joined, each pair said in words
    (:data:`PARAMETER_WORDS`).

    >>> named_parameters(["a", "b"])
    'a and b (the drop-out parameters: the chance to drop out after each purchase follows Beta(a, b) across customers)'
    >>> named_parameters(["b"])
    'b (one of the drop-out parameters: the chance to drop out after each purchase follows Beta(a, b) across customers)'
    """
    parts = []
    for pair, words in PARAMETER_WORDS.items():
        hit = [n for n in names if n in pair]
        if len(hit) == 2:
            parts.append(f"{hit[0]} and {hit[1]} ({words})")
        elif hit:
            parts.append(f"{hit[0]} (one of {words})")
    rest = [n for n in names if not any(n in pair for pair in PARAMETER_WORDS)]
    parts += rest
    return "; ".join(parts)


def unpinned_note(model: Any) -> str | None:
    """The parameters of a fitted purchase model the data do not pin down (95% interval
    spanning a factor over e^(2 x 1.96 x 2) ~ 2,500, its lower end near the parameter's
    bound of 0), with their intervals, or None: "reached no limit" is not said of a model
    whose parameter's interval runs down to about 0 (review: Online Retail's BG/NBD, a
    with a 95% interval of 0.0000016 to 4.76)."""
    try:
        s = model.summary()
    except Exception:  # from_params: no standard errors, nothing to say
        return None
    loose = [n for n, lse in zip(s.param_names, s.log_std_errors, strict=True)
             if not np.isfinite(lse) or lse > MAX_LOG_SE]
    if not loose:
        return None
    ci = s.conf_int()
    spans = ", ".join(f"{n} from {_sig(ci.loc[n, 'lower'])} to {_sig(ci.loc[n, 'upper'])}"
                      for n in loose)
    return (f"the data do not pin down {named_parameters(loose)}: their 95% intervals run "
            f"down to about 0 ({spans})")


def _sig(x: float) -> str:
    """A bound in plain words: "under 0.001" below it, else three significant digits in
    plain decimals, with thousands separators from 1,000 on.

    >>> _sig(1.55e-06), _sig(0.003989), _sig(4.7648), _sig(14815.22)
    ('under 0.001', '0.00399', '4.76', '14,815')
    """
    x = float(x)
    if not np.isfinite(x):
        return "infinity" if x > 0 else "NaN"
    if abs(x) < 0.001:
        return "under 0.001"
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"


__all__ = ["MAX_LOG_SE", "PARAMETER_WORDS", "named_parameters", "unpinned_note"]
