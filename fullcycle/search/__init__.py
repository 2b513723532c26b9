"""Hyperparameter search on the right scales (Optuna)."""
