"""valuemax: from a raw transaction log to accounted-for customers, segments and decisions."""

__version__ = "0.1.0"
