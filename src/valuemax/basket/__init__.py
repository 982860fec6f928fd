"""What sells together: baskets, frequent itemsets, association rules, cross-sell.

- :func:`build_baskets` builds the sparse basket × item incidence in the engine (an order, or
  a customer-day without order ids); :func:`read_baskets` and :func:`baskets_from_long` read
  basket files;
- :func:`mine_rules` mines frequent itemsets level by level with sparse products of the
  incidence (exact counts, the itemsets of Apriori or FP-growth) and derives rules with support, confidence, lift, leverage, conviction and Zhang's metric, with
  thresholds compared exactly on integer counts and a guard against itemset blow-up;
- :func:`recommend` and :func:`evaluate_recommendations` give cross-sell suggestions and their
  time-based holdout evaluation against a popularity baseline;
- :func:`analyze_baskets` runs all of it for the main job.
"""

from valuemax.basket._analyze import BasketResult, analyze_baskets
from valuemax.basket._baskets import Baskets, baskets_from_long, build_baskets, read_baskets
from valuemax.basket._evaluate import evaluate_recommendations
from valuemax.basket._mine import RuleSet, mine_rules
from valuemax.basket._recommend import recommend
from valuemax.basket._thresholds import choose_thresholds

__all__ = [
    "BasketResult",
    "Baskets",
    "RuleSet",
    "analyze_baskets",
    "baskets_from_long",
    "build_baskets",
    "choose_thresholds",
    "evaluate_recommendations",
    "mine_rules",
    "read_baskets",
    "recommend",
]
