"""The independent reference of mon's statistics (crates/mon-metrics/src/stats.rs), computed
with scipy and numpy only. Reads the data sets as JSON on stdin:

  {"rates":   [{"case": ..., "confidence": 0.95, "a": [successes, trials], "b": [...]}],
   "samples": [{"case": ..., "confidence": 0.95, "a": [values], "b": [values]}]}

and prints, for each case, its figures under the names tests/tests/stats.rs reads:

  rates:   Wilson interval of each rate (from its formula), the difference b - a with its
           unpooled Wald interval, the pooled two-proportion z and its two-sided p-value
           (scipy.stats.norm)
  samples: n, mean, standard deviation and t interval of each mean (scipy.stats.t.ppf);
           Welch's t-test of b against a (scipy.stats.ttest_ind(equal_var=False)) with its
           interval; Mann-Whitney U (scipy.stats.mannwhitneyu, asymptotic, continuity
           correction, two-sided) with z recovered from its p-value; np.percentile (linear).

A figure that cannot be computed is printed as null."""

import json
import math
import sys

try:
    import numpy as np
    from scipy import stats
except ImportError as missing:
    sys.exit(f"stats_check.py needs scipy and numpy ({missing}): pip install scipy numpy")


def number(x):
    """A finite float, or None (JSON null)."""
    x = float(x)
    return x if math.isfinite(x) else None


def rates(case):
    (s_a, n_a), (s_b, n_b) = case["a"], case["b"]
    q = stats.norm.ppf(1 - (1 - case["confidence"]) / 2)
    out = {"case": case["case"]}
    for side, s, n in (("a", s_a, n_a), ("b", s_b, n_b)):
        p = s / n
        centre = (p + q * q / (2 * n)) / (1 + q * q / n)
        half = q / (1 + q * q / n) * math.sqrt(p * (1 - p) / n + q * q / (4 * n * n))
        out[f"{side}_rate"] = p
        out[f"{side}_low"] = max(0.0, centre - half)
        out[f"{side}_high"] = min(1.0, centre + half)
    p_a, p_b = s_a / n_a, s_b / n_b
    difference = p_b - p_a
    wald = math.sqrt(p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b)
    out["difference"] = difference
    out["difference_low"] = difference - q * wald
    out["difference_high"] = difference + q * wald
    pooled = (s_a + s_b) / (n_a + n_b)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    z = difference / se
    out["z"] = z
    out["p_value"] = number(2 * stats.norm.sf(abs(z)))
    return out


def samples(case):
    a = np.asarray(case["a"], dtype=float)
    b = np.asarray(case["b"], dtype=float)
    confidence = case["confidence"]
    upper = 1 - (1 - confidence) / 2
    out = {"case": case["case"]}
    for side, x in (("a", a), ("b", b)):
        n = len(x)
        mean = np.mean(x)
        sd = np.std(x, ddof=1)
        half = stats.t.ppf(upper, n - 1) * sd / math.sqrt(n)
        out[f"{side}_n"] = n
        out[f"{side}_mean"] = mean
        out[f"{side}_std_dev"] = sd
        out[f"{side}_low"] = mean - half
        out[f"{side}_high"] = mean + half
        for q, value in zip((50, 90, 95, 99), np.percentile(x, [50, 90, 95, 99])):
            out[f"{side}_p{q}"] = value
    welch = stats.ttest_ind(b, a, equal_var=False)
    se = math.sqrt(np.var(a, ddof=1) / len(a) + np.var(b, ddof=1) / len(b))
    difference = np.mean(b) - np.mean(a)
    half = stats.t.ppf(upper, welch.df) * se
    out["difference"] = difference
    out["difference_low"] = difference - half
    out["difference_high"] = difference + half
    out["t"] = number(welch.statistic)
    out["df"] = number(welch.df)
    out["t_p_value"] = number(welch.pvalue)

    mwu = stats.mannwhitneyu(
        a, b, use_continuity=True, alternative="two-sided", method="asymptotic"
    )
    u = float(mwu.statistic)
    # scipy reports p only; |z| is its normal quantile, positive when b tends higher.
    direction = math.copysign(1.0, len(a) * len(b) / 2 - u)
    out["u"] = u
    out["u_z"] = direction * stats.norm.isf(mwu.pvalue / 2)
    out["u_p_value"] = number(mwu.pvalue)
    out["common_language_effect"] = u / (len(a) * len(b))
    return out


data = json.load(sys.stdin)
answer = {
    "scipy": __import__("scipy").__version__,
    "numpy": np.__version__,
    "rates": [rates(case) for case in data["rates"]],
    "samples": [samples(case) for case in data["samples"]],
}
# Floats as repr: the shortest text that reads back as the same double.
json.dump(answer, sys.stdout, default=float)
