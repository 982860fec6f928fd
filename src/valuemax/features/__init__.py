"""Customer-level features built in the engine: marketing RFM and the BTYD summary.

``customer_table`` gives one row per customer at an observation end date;
``calibration_holdout`` splits the log at a calibration date and adds the holdout counts used
to validate purchase models; ``repeat_purchase_days`` gives the daily repeat purchases
of the calibration cohort (the tracking plot). Both return lazy Ibis expressions that run unchanged on DuckDB
and PySpark.
"""

from valuemax.features._customers import customer_table
from valuemax.features._holdout import calibration_holdout, repeat_purchase_days

__all__ = ["calibration_holdout", "customer_table", "repeat_purchase_days"]
