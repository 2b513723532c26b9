"""Bias / variance / data-mismatch diagnosis, baselines and learning curves."""
