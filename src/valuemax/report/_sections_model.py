"""Report sections 3 (RFM segments), 4 (clusters) and 5 (run)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from valuemax.report import _plots as plots
from valuemax.report._html import (
    figure,
    fmt_num,
    fmt_value,
    grid2,
    kv,
    note,
    notes_list,
    section,
    sub,
    table,
)
from valuemax.report._sections_data import skip_reason

Subs = list[tuple[str, str]]

_DIRECTION = {
    "recency": "fewer days since the last purchase -> higher R score",
    "frequency": "more orders -> higher F score",
    "monetary": "more spend -> higher M score",
}


_LEADING = ("cluster", "name", "segment", "n_customers", "share_customers", "revenue_share",
            "action", "rationale")


def _lead_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Identity, size, shares and the action first; the other columns after, as given."""
    first = [c for c in _LEADING if c in df.columns]
    return df[first + [c for c in df.columns if c not in first]]


def _frame(obj: Any) -> pd.DataFrame | None:
    return obj if isinstance(obj, pd.DataFrame) and len(obj) else None


def segments_section(result: Any) -> tuple[str, Subs]:
    """Section 3: RFM cut points, named segments with actions, the R x F heat map."""
    lead = ("RFM scores rank customers by recency, frequency and monetary value into "
            "quantile bins; named segments group the score cells and come with an action.")
    rfm = getattr(result, "rfm", None)
    parts: list[str] = [sub("seg-cuts", "RFM cut points")]
    subs: Subs = [("seg-cuts", "Cut points")]
    if rfm is None:
        parts.append(note("RFM scoring did not run: " + skip_reason(
            result, "rfm", "segments", default="no RFM result was recorded for this run."), warn=True))
    else:
        cuts = dict(getattr(rfm, "cut_points", None) or {})
        cols = getattr(rfm, "columns", None) or {}
        if cuts:
            frame = pd.DataFrame({
                "dimension": list(cuts),
                "customer column": [cols.get(d, "—") if isinstance(cols, dict) else "—"
                                    for d in cuts],
                "bins": [len(v) + 1 for v in cuts.values()],
                "cut points": [", ".join(fmt_num(x) for x in v) for v in cuts.values()],
                "scoring": [_DIRECTION.get(d, "") for d in cuts],
            })
            parts.append(table(frame, csv_name="rfm_cut_points", caption=(
                "The actual quantile cut points used for the scores, in the column's unit "
                "(days, orders, currency).")))
        rnotes = list(getattr(rfm, "notes", ()) or ())
        parts.append(notes_list(rnotes, title="Collapsed bins and other notes")
                     if rnotes else note("No bins collapsed: every dimension kept its bins."))

    parts.append(sub("seg-named", "Named segments"))
    subs.append(("seg-named", "Named segments"))
    seg = _frame(getattr(result, "segments", None))
    if seg is None:
        parts.append(note("No segment table: " + skip_reason(
            result, "segments", "rfm", default="RFM segments were not computed."), warn=True))
    else:
        seg = seg.copy()
        if "n_customers" in seg and seg["n_customers"].sum() > 0:
            seg["share_customers"] = seg["n_customers"] / seg["n_customers"].sum()
        if "revenue" in seg and seg["revenue"].sum() > 0:
            seg["revenue_share"] = seg["revenue"] / seg["revenue"].sum()
        if "revenue" in seg:
            seg = seg.sort_values("revenue", ascending=False)
        series = {k: seg[c].tolist() for k, c in (("customers", "share_customers"),
                                                  ("revenue", "revenue_share")) if c in seg}
        fig = plots.hbar(seg["segment"].tolist(), series, x_title="share of the total (%)",
                         percent=True) if "segment" in seg else None
        if fig is not None:
            parts.append(figure(fig, "Share of customers and of revenue per named segment, "
                                     "largest revenue first. Segments whose revenue bar is "
                                     "longer than their customer bar are worth more than "
                                     "their head count."))
        parts.append(table(_lead_columns(seg), csv_name="segments",
                           percent=("share_customers", "revenue_share"),
                           labels={"revenue": "revenue (currency)",
                                   "mean_recency_days": "mean recency (days)",
                                   "mean_total_spend": "mean spend (currency)"},
                           caption="Named segments with the recommended action and why."))

    parts.append(sub("seg-heat", "Recency × frequency"))
    subs.append(("seg-heat", "R × F heat map"))
    parts.append(_rf_heatmap(getattr(result, "customers", None)))
    return section("segments", "3. Segments (RFM)", lead, "".join(parts)), subs


def _rf_heatmap(cust: Any) -> str:
    if cust is None or not {"r_score", "f_score"} <= set(getattr(cust, "columns", ())):
        return note("No R × F heat map: the customer table has no r_score/f_score.")
    r = pd.to_numeric(cust["r_score"], errors="coerce")
    f = pd.to_numeric(cust["f_score"], errors="coerce")
    ok = r.notna() & f.notna()
    if not ok.any():
        return note("No R × F heat map: every r_score/f_score is missing.")
    r, f = r[ok].astype(int), f[ok].astype(int)
    levels_r = np.arange(int(r.min()), int(r.max()) + 1)
    levels_f = np.arange(int(f.min()), int(f.max()) + 1)
    counts = pd.crosstab(r, f).reindex(index=levels_r, columns=levels_f, fill_value=0)
    extra = None
    if "total_spend" in cust:
        spend = pd.to_numeric(cust.loc[ok, "total_spend"], errors="coerce")
        extra = (pd.DataFrame({"r": r, "f": f, "s": spend}).pivot_table(
            index="r", columns="f", values="s", aggfunc="mean")
            .reindex(index=levels_r, columns=levels_f).to_numpy(dtype=float))
    fig = plots.heatmap(counts.to_numpy(dtype=float), x_labels=levels_f.tolist(),
                        y_labels=levels_r.tolist(), x_title="F score (higher = more orders)",
                        y_title="R score (higher = more recent)", z_title="customers",
                        extra=extra, extra_title="mean total_spend (currency)")
    if fig is None:
        return note("No R × F heat map: no scored customer.")
    return figure(fig, "Customers per recency (rows) and frequency (columns) score; hover for "
                       "their mean spend. The top-right corner holds recent, frequent buyers; "
                       "the bottom-left, lapsed one-off buyers.")


# ---------------------------------------------------------------- clusters


def clusters_section(result: Any) -> tuple[str, Subs]:
    """Section 4: k-means (k chosen by a stated criterion), projection, profile; Ward."""
    lead = ("K-means on log-transformed, standardised customer features; clusters are ranked "
            "by value and named from their profile (labels are otherwise arbitrary).")
    km = getattr(result, "clusters", None)
    parts: list[str] = [sub("cl-kmeans", "K-means")]
    subs: Subs = [("cl-kmeans", "K-means")]
    if km is None or getattr(km, "skipped", None):
        reason = (f"kmeans: {km.skipped}" if km is not None else
                  skip_reason(result, "kmeans", "clusters", default="clustering did not run."))
        parts.append(note("Clustering was skipped: " + reason, warn=True))
    else:
        parts.append(_kmeans(km, getattr(result, "cluster_actions", None), subs))
    parts.append(sub("cl-ward", "Hierarchical (Ward)"))
    subs.append(("cl-ward", "Hierarchical (Ward)"))
    parts.append(_hierarchy(result))
    return section("clusters", "4. Clusters", lead, "".join(parts)), subs


def _kmeans(km: Any, actions: Any, subs: Subs) -> str:
    names = dict(getattr(km, "names", None) or {})
    feats = getattr(km, "features", ()) or ()
    parts = [kv([("method", getattr(km, "method", "k-means")),
                 ("clusters (k)", getattr(km, "k", "—")),
                 ("features", ", ".join(map(str, feats)) or "—")])]
    if getattr(km, "criterion", None):
        parts.append(note(f"How k was chosen: {km.criterion}"))
    parts.append(notes_list(getattr(km, "notes", ()) or (), title="Notes"))

    sel = _frame(getattr(km, "selection", None))
    figs = []
    if sel is not None and "k" in sel:
        for col, title, color, cap in (
            ("silhouette", "mean silhouette (-1 to 1)", plots.PALETTE[0],
             "Silhouette by k: higher means tighter, better-separated clusters; the star is "
             "the chosen k."),
            ("inertia", "inertia (standardised units²)", plots.PALETTE[1],
             "Elbow plot of the inertia (within-cluster sum of squared distances to the "
             "centroid): it always falls as k grows; look for the bend after which extra "
             "clusters buy little. The star is the chosen k."),
        ):
            if col in sel:
                fig = plots.selection_line(sel["k"], sel[col], chosen=getattr(km, "k", None),
                                           y_title=title, color=color)
                if fig is not None:
                    figs.append(figure(fig, cap))
    if figs:
        parts.append(sub("cl-select", "Choosing k"))
        subs.append(("cl-select", "Choosing k"))
        parts.append(grid2(*figs))
    else:
        parts.append(note("No model-selection scores by k were recorded."))

    fig, n_drawn = plots.projection_scatter(_frame(getattr(km, "projection", None)),
                                            _frame(getattr(km, "centers_projection", None)),
                                            names)
    parts.append(sub("cl-proj", "Projection"))
    subs.append(("cl-proj", "Projection"))
    if fig is not None:
        parts.append(figure(fig, f"Customers ({n_drawn:,} drawn) on the first two principal "
                                 "components of the clustering features, coloured by cluster; "
                                 "crosses are the centroids. Overlap here does not mean the "
                                 "clusters overlap in all dimensions."))
    else:
        parts.append(note("No 2-D projection was recorded."))

    parts.append(sub("cl-profile", "Cluster profiles and actions"))
    subs.append(("cl-profile", "Profiles and actions"))
    prof = _frame(getattr(km, "profile", None))
    if prof is None:
        parts.append(note("No cluster profile was recorded."))
    else:
        act = _frame(actions)
        if act is not None and "cluster" in act and "cluster" in prof:
            keep = ["cluster"] + [c for c in act.columns if c not in prof.columns]
            prof = prof.merge(act[keep], on="cluster", how="left")
        parts.append(table(_lead_columns(prof), csv_name="cluster_profiles",
                           percent=("share_customers", "revenue_share"),
                           labels={"revenue": "revenue (currency)",
                                   "mean_recency_days": "mean recency (days)",
                                   "mean_total_spend": "mean spend (currency)"},
                           caption="One row per cluster, ranked by value, with the action."))
    return "".join(parts)


def _hierarchy(result: Any) -> str:
    h = getattr(result, "hierarchy", None)
    if h is None:
        return note("Ward clustering was not run: " + skip_reason(
            result, "ward", "hierarchy", default="not requested (run with clusters='kmeans+ward' to add it)."))
    if getattr(h, "skipped", None):
        return note(f"Ward clustering was skipped: {h.skipped}", warn=True)
    parts = [kv([("clusters (k)", getattr(h, "k", "—")),
                 ("customers used", fmt_value(getattr(h, "n_used", None)))])]
    if getattr(h, "criterion", None):
        parts.append(note(f"How k was chosen: {h.criterion}"))
    parts.append(notes_list(getattr(h, "notes", ()) or (), title="Notes"))
    sel = _frame(getattr(h, "selection", None))
    if sel is not None and {"k", "silhouette"} <= set(sel.columns):
        fig = plots.selection_line(sel["k"], sel["silhouette"], chosen=getattr(h, "k", None),
                                   y_title="mean silhouette (-1 to 1)",
                                   color=plots.PALETTE[2])
        if fig is not None:
            parts.append(figure(fig, "Silhouette of the Ward clusters by k (cutting the tree "
                                     "at k groups); the star is the chosen k."))
    dend = getattr(h, "dendrogram", None) or {}
    fig = plots.dendrogram(dend.get("icoord", ()), dend.get("dcoord", ()), dend.get("ivl", ()),
                           y_title="Ward merge distance (standardised units)")
    if fig is not None:
        parts.append(figure(fig, "Ward dendrogram: each join is drawn at the distance at which "
                                 "two groups merged. A long vertical gap before the next join "
                                 "marks a natural number of clusters."))
    else:
        parts.append(note("No dendrogram coordinates were recorded."))
    prof = _frame(getattr(h, "profile", None))
    if prof is not None:
        parts.append(table(_lead_columns(prof), csv_name="ward_profiles",
                           percent=("share_customers", "revenue_share"),
                           caption="One row per Ward cluster."))
    return "".join(parts)


# ---------------------------------------------------------------- run


def run_section(result: Any, run_date: str) -> tuple[str, Subs]:
    """Section 5: parameters, timings, skipped steps, version and input fingerprint."""
    ing = getattr(result, "ingest", None) or {}
    parts = [sub("run-id", "Provenance"), kv([
        ("valuemax version", getattr(result, "version", None) or "—"),
        ("run date", run_date),
        ("input fingerprint (sha256)", ing.get("fingerprint") or "—"),
        ("source", ing.get("source") or "—"),
    ])]
    parts.append(sub("run-params", "Parameters"))
    params = getattr(result, "params", None) or {}
    if params:
        frame = pd.DataFrame({"parameter": [str(k) for k in params],
                              "value": [fmt_value(v) for v in params.values()]})
        parts.append(table(frame, csv_name="run_parameters"))
    else:
        parts.append(note("No parameters were recorded."))
    parts.append(sub("run-timings", "Timings"))
    timings = getattr(result, "timings_s", None) or {}
    if timings:
        secs = pd.Series({str(k): float(v) for k, v in timings.items()}, dtype=float)
        frame = pd.DataFrame({"step": secs.index, "seconds": secs.to_numpy(),
                              "share": (secs / secs.sum()).to_numpy() if secs.sum() > 0
                              else np.nan})
        parts.append(table(frame, csv_name="run_timings", percent=("share",),
                           labels={"share": "share of total"},
                           caption=f"Wall time per step; total {fmt_num(secs.sum())} s."))
    else:
        parts.append(note("No timings were recorded."))
    parts.append(sub("run-skipped", "Skipped steps"))
    skipped = getattr(result, "skipped", None) or {}
    if skipped:
        frame = pd.DataFrame({"step": [str(k) for k in skipped],
                              "reason": [str(v) for v in skipped.values()]})
        parts.append(table(frame, csv_name="skipped_steps"))
    else:
        parts.append(note("No step was skipped."))
    subs = [("run-id", "Provenance"), ("run-params", "Parameters"),
            ("run-timings", "Timings"), ("run-skipped", "Skipped steps")]
    lead = "What was run, with which parameters and how long each step took, to re-run it."
    return section("run", "5. Run", lead, "".join(parts)), subs
