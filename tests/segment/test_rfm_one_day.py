"""A one-day export: every recency equal, so R is the top score for all and the lifecycle
part of the segment names says nothing (new-user finding: R = 5 for all, no note)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from valuemax.segment import assign_segments, rfm_scores


def test_one_recency_for_everyone_is_said():
    rng = np.random.default_rng(0)
    c = pd.DataFrame({"recency_days": np.zeros(40), "n_orders": rng.integers(1, 3, 40),
                      "total_spend": rng.uniform(5, 100, 40)})
    res = rfm_scores(c)
    assert (res.scores["r_score"] == 5).all()
    assert res.notes[0].startswith("Every customer last bought the same number of days before "
                                   "the observation end (0;")
    assert "recency score is 5 for all" in res.notes[0]
    # the names it qualifies: lifecycle names from R = 5 alone
    names = set(assign_segments(res))
    assert names and not names & {"At Risk", "Can't Lose Them", "Lost", "Hibernating"}
    varied = rfm_scores(c.assign(recency_days=np.arange(40)))
    assert not any(n.startswith("Every customer last bought") for n in varied.notes)
