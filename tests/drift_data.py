"""Tables with a known drift: eight input columns of every kind the monitor distinguishes,
two of which (`n2`, numeric; `c1`, categorical) move in the shifted sample."""

from __future__ import annotations

import numpy as np
import pandas as pd

COLUMNS = ("n1", "n2", "n3", "n4", "rating", "c1", "c2", "yes_no")
SHIFTED = ("n2", "c1")
C1_LEVELS = ["red", "green", "blue", "grey"]


def sample(n: int, seed: int, *, shifted: bool = False) -> pd.DataFrame:
    """``n`` rows of the training distribution, or of the shifted one.

    The shift moves `n2` by half its standard deviation (a normed Wasserstein distance of
    0.5, five times the 0.1 threshold) and reverses the shares of `c1`'s four levels.
    """
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "n1": rng.normal(0.0, 1.0, n),
        "n2": rng.normal(50.0, 10.0, n) + (5.0 if shifted else 0.0),
        "n3": rng.exponential(2.0, n),
        "n4": rng.uniform(-1.0, 1.0, n),
        "rating": rng.integers(1, 6, n),  # five values: tested like a category
        "c1": rng.choice(C1_LEVELS, n, p=[0.1, 0.2, 0.3, 0.4] if shifted
                         else [0.4, 0.3, 0.2, 0.1]),
        "c2": rng.choice(["s", "m", "l"], n, p=[0.5, 0.3, 0.2]),
        "yes_no": rng.choice(["yes", "no"], n, p=[0.3, 0.7]),
    })
    frame.loc[rng.random(n) < 0.05, "n1"] = np.nan
    score = frame["n1"].fillna(0) + (frame["n2"] - 50) / 10 + (frame["c1"] == "red")
    frame["y"] = (score + rng.normal(0.0, 0.5, n) > 0.5).astype(int)
    return frame
