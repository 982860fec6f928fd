"""Report section 4 (Clusters: K-means with its choice of k and profile; Ward beside it)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pandas as pd

from valuemax.report import _plots as plots
from valuemax.report._format import fmt_int, plain
from valuemax.report._html import (
    caveats_block,
    diagnostics,
    figure,
    grid2,
    kv,
    note,
    notes_list,
    section,
    split_notes,
    sub,
    table,
)
from valuemax.report._sections_data import skip_reason, strip_step
from valuemax.report._sections_segments import frame_or_none, profile_table

if TYPE_CHECKING:  # type only: the report renders the pipeline's record, never imports it
    from valuemax.pipeline import AnalysisResult
    from valuemax.segment import ClusterResult

Subs = list[tuple[str, str]]

#: How to ask for Ward, on the command line and in Python.
WARD_HINT = "--clusters kmeans+ward (Python: clusters='kmeans+ward')"

def clusters_section(result: AnalysisResult, *, title: str = "Clusters") -> tuple[str, Subs]:
    """Section 4: k-means (k chosen by a stated criterion), projection, profile; Ward.

    When K-means did not run (``result.stages["kmeans"]``), its reason is shown instead.
    """
    lead = ("K-means on log-transformed, standardised customer features; clusters are ranked "
            "by value and named from their profile (labels are otherwise arbitrary).")
    km = result.clusters
    parts: list[str] = [sub("cl-kmeans", "K-means")]
    subs: Subs = [("cl-kmeans", "K-means")]
    if km is None or not result.stages["kmeans"].ran:
        reason = skip_reason(result.stages["kmeans"], "kmeans", "clusters",
                             default="clustering did not run.")
        lead = ("K-means clustering of customer features would group similar customers here; "
                "it did not run on this log.")
        parts.append(note("Clustering was skipped: " + reason, warn=True))
    else:
        box, raw = caveats_block(getattr(result, "caveats", ()), "clusters")
        parts.append(box)  # k at the top of the range tried; clusters sharing a name
        if raw:
            parts.append(diagnostics([raw], what="caveats of the clusters"))
        parts.append(_kmeans(km, result.cluster_actions, subs))
    parts.append(sub("cl-ward", "Hierarchical (Ward)"))
    subs.append(("cl-ward", "Hierarchical (Ward)"))
    parts.append(_hierarchy(result))
    return section("clusters", title, lead, "".join(parts)), subs


def _kmeans(km: ClusterResult, actions: pd.DataFrame | None, subs: Subs) -> str:
    names = dict(km.names)
    parts = [kv([("method", km.method),
                 ("clusters (k)", km.k),
                 ("features", ", ".join(plain(f) for f in km.features) or "—")])]
    if km.criterion:
        parts.append(note(f"How k was chosen: {plain(km.criterion)}"))
    shown, technical = split_notes(km.notes)
    parts.append(notes_list(shown, title="Notes"))
    diag = [notes_list(technical)]

    sel = frame_or_none(km.selection)
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
                fig = plots.selection_line(sel["k"], sel[col], chosen=km.k,
                                           y_title=title, color=color)
                if fig is not None:
                    figs.append(figure(fig, cap))
    if figs:
        parts.append(sub("cl-select", "Choosing k"))
        subs.append(("cl-select", "Choosing k"))
        parts.append(grid2(*figs))
    else:
        parts.append(note("No model-selection scores by k were recorded."))

    fig, n_drawn = plots.projection_scatter(frame_or_none(km.projection),
                                            frame_or_none(km.centers_projection), names)
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
    prof = frame_or_none(km.profile)
    if prof is None:
        parts.append(note("No cluster profile was recorded."))
    else:
        act = frame_or_none(actions)
        if act is not None and "cluster" in act and "cluster" in prof:
            keep = ["cluster"] + [c for c in act.columns if c not in prof.columns]
            prof = prof.merge(act[keep], on="cluster", how="left")
        parts.append(profile_table(
            prof, csv_name="cluster_profiles",
            caption="One row per K-means cluster, ranked by value; under each, the "
                    "recommended action, why, and its top countries. Level (R/F/M): the cluster's "
                    "median recency, orders and spend against the overall median (high R = "
                    "recent)."))
    parts.append(diagnostics(diag, what="K-means"))
    return "".join(parts)


def _all_customers(text: str, n: int) -> str:
    """Say "all n customers" where a note calls every customer a sample."""
    num = f"{n:,}"
    text = re.sub(rf"\bthe {re.escape(num)} sampled customers", f"all {num} customers", text)
    return re.sub(rf"\b{re.escape(num)} sampled customers", f"all {num} customers", text)


def _sizes(profile: pd.DataFrame) -> str:
    """Group sizes of a clustering profile, "2,519 / 1,805" ("—" when unknown)."""
    prof = frame_or_none(profile)
    if prof is None or "n_customers" not in prof:
        return "—"
    return " / ".join(fmt_int(v) for v in prof["n_customers"].tolist())


def _ward_names(prof: pd.DataFrame) -> pd.DataFrame:
    """Label each Ward group "Ward <n> — <profile name>", never the bare K-means name."""
    prof = prof.copy()
    ids = prof["cluster"].tolist() if "cluster" in prof else list(range(1, len(prof) + 1))
    names = prof["name"].tolist() if "name" in prof else [""] * len(prof)
    prof["name"] = [f"Ward {i} — {n}" if str(n).strip() else f"Ward {i}"
                    for i, n in zip(ids, names, strict=True)]
    return prof


def _crosstab(result: AnalysisResult) -> str:
    """Customers by K-means cluster and Ward group, when both labels are on the customers."""
    cust = result.customers
    if not {"cluster", "ward_cluster"} <= set(cust.columns):
        return ""
    ok = cust["cluster"].notna() & cust["ward_cluster"].notna()
    if not ok.any():
        return ""
    names = dict(result.clusters.names) if result.clusters is not None else {}
    km = cust.loc[ok, "cluster"].astype(int)
    ward = cust.loc[ok, "ward_cluster"].astype(int)
    tab = pd.crosstab(km, ward)
    tab.columns = [f"Ward {w}" for w in tab.columns]
    tab["total"] = tab.sum(axis=1)
    tab.insert(0, "K-means cluster", [f"{c} — {names[c]}" if c in names else str(c)
                                      for c in tab.index])
    return table(tab.reset_index(drop=True), csv_name="kmeans_vs_ward", caption=(
        "Customers by K-means cluster (rows) and Ward group (columns): where the two "
        "partitions agree and where they split the same customers differently."))


def _hierarchy(result: AnalysisResult) -> str:
    h = result.hierarchy
    if h is None:  # no "ward" stage: not asked for
        return note("Ward clustering was not run: " + skip_reason(
            result.stages.get("ward"), "ward", "hierarchy",
            default=f"not requested; to add it, run with {WARD_HINT}."))
    if h.skipped:
        return note(f"Ward clustering was skipped: {strip_step(h.skipped)}", warn=True)
    n_cust = len(result.customers)
    n_used = h.n_used
    everyone = int(n_used) == n_cust

    def fix(text: Any) -> str:
        return _all_customers(str(text), int(n_used)) if everyone else str(text)

    if everyone:
        used = f"all {n_cust:,} customers"
    elif n_cust:
        used = f"{int(n_used):,} of {n_cust:,} customers (a sample)"
    else:
        used = fmt_int(n_used)
    parts = [kv([("clusters (k)", h.k), ("customers used", used)])]
    km = result.clusters
    km_sizes = _sizes(km.profile) if km is not None else "—"
    parts.append(note(
        "Ward and K-means are separate partitions of the same customers: a Ward group is not "
        "the K-means cluster with the same profile name, and their group sizes differ (Ward: "
        f"{_sizes(h.profile)}; K-means: {km_sizes} customers). Ward groups "
        "are labelled \"Ward <n> — <profile name>\" to keep them apart."))
    if h.criterion:
        parts.append(note(f"How k was chosen: {plain(fix(h.criterion))}"))
    shown, technical = split_notes(fix(n) for n in h.notes)
    parts.append(notes_list(shown, title="Notes"))
    parts.append(diagnostics([notes_list(technical)], what="Ward"))
    sel = frame_or_none(h.selection)
    if sel is not None and {"k", "silhouette"} <= set(sel.columns):
        fig = plots.selection_line(sel["k"], sel["silhouette"], chosen=h.k,
                                   y_title="mean silhouette (-1 to 1)",
                                   color=plots.PALETTE[2])
        if fig is not None:
            parts.append(figure(fig, "Silhouette of the Ward clusters by k (cutting the tree "
                                     "at k groups); the star is the chosen k."))
    dend = h.dendrogram or {}
    fig = plots.dendrogram(dend.get("icoord", ()), dend.get("dcoord", ()), dend.get("ivl", ()),
                           y_title="Ward merge distance (standardised units)")
    if fig is not None:
        parts.append(figure(fig, "Ward dendrogram: each join is drawn at the distance at which "
                                 "two groups merged. A long vertical gap before the next join "
                                 "marks a natural number of clusters."))
    else:
        parts.append(note("No dendrogram coordinates were recorded."))
    prof = frame_or_none(h.profile)
    if prof is not None:
        parts.append(profile_table(_ward_names(prof), csv_name="ward_profiles",
                                   caption="One row per Ward group, named from its own "
                                           "profile."))
    parts.append(_crosstab(result))
    return "".join(parts)
