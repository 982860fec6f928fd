"""Holdout metrics, cumulative gains with ties, calibration curve and the BTYD baseline."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from valuemax._core.exceptions import ConvergenceWarning
from valuemax.clv import BetaGeoModel


def gains_curve(y: np.ndarray, score: np.ndarray, fractions: np.ndarray) -> np.ndarray:
    """Share of all buyers captured by the top ``fractions`` of customers ranked by score.

    Customers with equal scores are one block whose buyers are spread evenly over it (linear
    interpolation), so ties are not broken by row order.

    Parameters
    ----------
    y : ndarray of shape (n,)
        Labels 0/1 with at least one 1.
    score : ndarray of shape (n,)
        Higher = more likely to buy.
    fractions : ndarray
        Customer shares in [0, 1].

    Returns
    -------
    ndarray
        Captured buyer shares in [0, 1], same shape as ``fractions``.
    """
    df = pd.DataFrame({"s": score, "y": y}).groupby("s", sort=True)["y"].agg(["size", "sum"])
    df = df.iloc[::-1]
    cum_n = np.concatenate([[0.0], df["size"].cumsum().to_numpy(dtype=float)])
    cum_y = np.concatenate([[0.0], df["sum"].cumsum().to_numpy(dtype=float)])
    return np.interp(np.asarray(fractions) * len(y), cum_n, cum_y) / cum_y[-1]


def score_metrics(name: str, y: np.ndarray, score: np.ndarray, *, is_probability: bool,
                  ) -> dict[str, Any]:
    """ROC AUC, PR AUC (average precision), Brier (probabilities only) and top-decile lift."""
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    top = float(gains_curve(y, score, np.array([0.1]))[0]) / 0.1
    return {
        "model": name,
        "roc_auc": float(roc_auc_score(y, score)),
        "pr_auc": float(average_precision_score(y, score)),
        "brier": float(brier_score_loss(y, score)) if is_probability else float("nan"),
        "top_decile_lift": top,
    }


def gains_table(y: np.ndarray, scores: dict[str, np.ndarray]) -> pd.DataFrame:
    """Cumulative gain and lift per decile for each scorer (long format)."""
    q = np.arange(1, 11) / 10
    rows = []
    for name, s in scores.items():
        g = gains_curve(y, s, q)
        for i, (f, gi) in enumerate(zip(q, g, strict=True)):
            rows.append({"model": name, "decile": i + 1, "customer_share": float(f),
                         "buyer_share": float(gi), "lift": float(gi / f)})
    return pd.DataFrame(rows)


def calibration_table(y: np.ndarray, probs: dict[str, np.ndarray], n_bins: int = 10,
                      ) -> pd.DataFrame:
    """``sklearn.calibration.calibration_curve`` (quantile bins) for each probability model."""
    from sklearn.calibration import calibration_curve

    rows = []
    for name, p in probs.items():
        frac, mean = calibration_curve(y, p, n_bins=n_bins, strategy="quantile")
        rows += [{"model": name, "mean_predicted": float(m), "fraction_positive": float(f)}
                 for m, f in zip(mean, frac, strict=True)]
    return pd.DataFrame(rows)


#: Holdout rows the permutation importance is computed on (a seeded sample above).
PERMUTATION_ROWS = 5_000
#: Rows of stacked permuted copies scored per call (bounds the memory of the batch).
PERMUTATION_CHUNK_ROWS = 250_000


def permutation_table(model: Any, x: pd.DataFrame, y: np.ndarray, *, random_state: int,
                      n_repeats: int = 5, max_rows: int = PERMUTATION_ROWS,
                      ) -> tuple[pd.DataFrame, str]:
    """Permutation importance (drop in holdout ROC AUC), on at most ``max_rows`` rows.

    Above ``max_rows`` holdout customers, a seeded sample of them (stated in the note):
    each of the ``n_repeats × n_features`` permutations re-scores every sampled row. On
    CDNOW (23,570 holdout customers) the 5,000-row sample keeps the most important feature
    and each mean importance within 0.01 ROC AUC of all rows (tests/propensity/test_fit.py).

    The permutations are those of scikit-learn's ``permutation_importance`` [1]_ with the
    same ``random_state`` (one seed drawn from it, each feature's column reshuffled
    ``n_repeats`` times in turn), and the scores are the same; but every permuted copy is
    stacked into one frame and scored by one ``predict_proba`` (or ``decision_function``,
    as the ``roc_auc`` scorer prefers) call, in chunks of about :data:`PERMUTATION_CHUNK_ROWS` rows, instead of
    ``n_repeats × n_features`` calls: the model's fixed cost per call (the column
    transformer on a DataFrame, three calibrated copies) is paid a few times, not 85. When
    the model's preprocessing works column by column and row by row (the two models of
    :func:`~valuemax.propensity._models.make_model`), each fitted preprocessing is applied
    to the holdout rows once and the permuted copies are assembled from its output
    (:func:`columnwise_scorer`): the same numbers, bit for bit, as transforming the copies.

    Parameters
    ----------
    model : fitted classifier
        With ``predict_proba`` (and optionally ``decision_function``), row-wise.
    x : pandas.DataFrame of shape (n, n_features)
        Holdout features.
    y : ndarray of shape (n,)
        Labels 0/1, both present.
    random_state : int
        Seed of the row sample and the permutations.
    n_repeats : int, default 5
        Permutations per feature.
    max_rows : int, default :data:`PERMUTATION_ROWS`
        Rows scored; a seeded sample above it.

    Returns
    -------
    (pandas.DataFrame, str)
        ``feature``, ``importance_mean``, ``importance_sd`` (population SD over the
        repeats; ROC AUC units), most important first; and the note on the sample ("" when
        every row is used).

    References
    ----------
    .. [1] Breiman (2001). Random Forests. Machine Learning 45(1):5-32, section 10.
    """
    from sklearn.metrics import roc_auc_score

    from valuemax.propensity._columnwise import columnwise_scorer

    note = ""
    if len(x) > max_rows:
        idx = np.random.default_rng(random_state).choice(len(x), max_rows, replace=False)
        x, y = x.iloc[np.sort(idx)], y[np.sort(idx)]
        note = (f"permutation importance on a seeded sample of {max_rows:,} holdout "
                "customers.")
    x = x.reset_index(drop=True)
    n, cols = len(x), list(x.columns)
    # sklearn.inspection.permutation_importance: one seed from random_state, the same
    # RandomState(seed) restarted for every feature, the column reshuffled cumulatively
    seed = np.random.RandomState(random_state).randint(np.iinfo(np.int32).max + 1)
    orders = []
    rs = np.random.RandomState(seed)
    shuffle, composed = np.arange(n), np.arange(n)
    for _ in range(n_repeats):
        rs.shuffle(shuffle)
        composed = composed[shuffle]
        orders.append(composed)
    jobs = [(j, order) for j in range(len(cols)) for order in orders]
    per_chunk = max(1, PERMUTATION_CHUNK_ROWS // max(n, 1))
    scores = np.empty(len(jobs))
    base = float(roc_auc_score(y, _response(model, x)))
    fast = columnwise_scorer(model, x)
    for lo in range(0, len(jobs), per_chunk):
        part = jobs[lo:lo + per_chunk]
        if fast is not None:
            resp = fast(part)
        else:
            stacked = {c: np.tile(x[c].to_numpy(), len(part)) for c in cols}
            for b, (j, order) in enumerate(part):
                stacked[cols[j]][b * n:(b + 1) * n] = x[cols[j]].to_numpy()[order]
            frame = pd.DataFrame(stacked).astype(x.dtypes.to_dict())
            resp = _response(model, frame)
        for b in range(len(part)):
            scores[lo + b] = roc_auc_score(y, resp[b * n:(b + 1) * n])
    drop = base - scores.reshape(len(cols), n_repeats)
    df = pd.DataFrame({"feature": cols, "importance_mean": drop.mean(axis=1),
                       "importance_sd": drop.std(axis=1)})
    return df.sort_values("importance_mean", ascending=False, ignore_index=True), note


def _response(model: Any, x: pd.DataFrame) -> np.ndarray:
    """The ``roc_auc`` scorer's response: ``decision_function`` when the model has one,
    else the positive class's ``predict_proba``."""
    if hasattr(model, "decision_function"):
        return np.asarray(model.decision_function(x))
    return model.predict_proba(x)[:, 1]


def btyd_scores(feats: pd.DataFrame, horizon_days: int, random_state: int,
                notes: list[str]) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """BG/NBD fitted on the features at the cutoff: E[purchases in H days] and P(alive).

    Weeks (days / 7) as in Fader, Hardie & Lee (2005). A baseline that cannot be computed
    (the fit fails, or its predictions raise or are not finite) is left out: it is missing
    from the scores and its reason is in the second dict and in ``notes``; the propensity
    step goes on without it.

    Returns
    -------
    scores : dict of str to ndarray of shape (n,)
        ``btyd_expected_purchases`` and ``btyd_p_alive``, those that could be computed.
    left_out : dict of str to str
        The baselines left out and why.
    """
    from valuemax._core.exceptions import ValuemaxError

    names = ("btyd_expected_purchases", "btyd_p_alive")
    x = feats["frequency"].to_numpy(dtype=float)
    t_x = feats["recency"].to_numpy(dtype=float) / 7.0
    big_t = feats["T"].to_numpy(dtype=float) / 7.0
    model = BetaGeoModel(time_unit="W", random_state=random_state)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            model.fit(x, t_x, big_t)
    except (ValuemaxError, ValueError, RuntimeError, FloatingPointError) as err:
        why = f"the BG/NBD fit failed ({err})"
        notes.append(f"BTYD baselines left out: {why}.")
        return {}, dict.fromkeys(names, why)
    for w in caught:
        notes.append(f"BTYD baseline: {w.message}")
    p = model.params_
    notes.append("BTYD baseline: BG/NBD on the features at the cutoff (weeks), r="
                 f"{p['r']:.3g}, alpha={p['alpha']:.3g}, a={p['a']:.3g}, b={p['b']:.3g}.")
    predict = {
        "btyd_expected_purchases": lambda: model.expected_purchases(horizon_days / 7.0, x, t_x,
                                                                    big_t),
        "btyd_p_alive": lambda: model.p_alive(x, t_x, big_t),
    }
    out: dict[str, np.ndarray] = {}
    left_out: dict[str, str] = {}
    for name in names:
        try:
            with np.errstate(all="ignore"):
                value = np.asarray(predict[name](), dtype=float)
        except (ValuemaxError, ValueError, RuntimeError, FloatingPointError) as err:
            left_out[name] = f"the prediction failed at the fitted parameters ({err})"
        else:
            bad = int((~np.isfinite(value)).sum())
            if bad:
                left_out[name] = (f"{bad:,} of {len(x):,} predictions are not finite at the "
                                  "fitted parameters (a degenerate BG/NBD fit)")
            else:
                out[name] = value
        if name in left_out:
            notes.append(f"BTYD baseline {name} left out: {left_out[name]}.")
    return out, left_out
