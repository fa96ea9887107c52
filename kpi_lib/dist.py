"""Normal and Student-t quantiles and tails from scipy.special.

scipy.stats would do the same, but importing it costs most of a second in every notebook
kernel of the report; these three functions are all the forecasts need.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr, ndtri, stdtrit


def norm_ppf(p):
    return ndtri(p)


def norm_cdf(x):
    return ndtr(x)


def t_ppf(p, df):
    return stdtrit(np.asarray(df, dtype=float), p)
