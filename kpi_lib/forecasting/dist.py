"""Normal and Student-t quantiles and tails from scipy.special.

scipy.stats would do the same, but importing it costs most of a second in every notebook
kernel of the report; these three functions are all the forecasts need. Even scipy.special is
imported only when one is called (half a second): the report's kernels import this module with
the evaluation's classes, which they unpickle, but never forecast.
"""

from __future__ import annotations

import numpy as np


def norm_ppf(p):
    """Quantile of the standard normal distribution."""
    from scipy.special import ndtri

    return ndtri(p)


def norm_cdf(x):
    """Distribution function of the standard normal distribution."""
    from scipy.special import ndtr

    return ndtr(x)


def t_ppf(p, df):
    """Quantile of Student's t with `df` degrees of freedom (a scalar `p`, any `df`).

    Solved once per distinct `df`: a panel's hundreds of series share a dozen (stdtrit inverts
    the distribution by iteration, 0.15 ms for a panel's column)."""
    from scipy.special import stdtrit

    df = np.asarray(df, dtype=float)
    distinct, where = np.unique(df, return_inverse=True)
    return stdtrit(distinct, p)[where].reshape(df.shape)
