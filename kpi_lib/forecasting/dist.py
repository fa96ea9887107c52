"""Normal and Student-t quantiles and tails from scipy.special.

scipy.stats would do the same, but importing it costs most of a second in every notebook
kernel of the report; these three functions are all the forecasts need.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr, ndtri, stdtrit


def norm_ppf(p):
    """Quantile of the standard normal distribution."""
    return ndtri(p)


def norm_cdf(x):
    """Distribution function of the standard normal distribution."""
    return ndtr(x)


def t_ppf(p, df):
    """Quantile of Student's t with `df` degrees of freedom."""
    return stdtrit(np.asarray(df, dtype=float), p)
