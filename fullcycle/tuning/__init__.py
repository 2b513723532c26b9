"""Hyperparameter search on the right scales (Optuna): spaces, coarse to fine, workers.

`fc.search(...)` is `fullcycle.tuning.study.search`. The modules: `space` (what is drawn,
on which scale), `refine` (coarse to fine), `plan`, `storage`, `workers`, `study`,
`results`, `objective` (the built-in net as a trial).
"""
