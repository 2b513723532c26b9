"""Data set-up: loading, task inference, splits, preprocessing fitted on train only."""
