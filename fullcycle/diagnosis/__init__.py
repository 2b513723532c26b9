"""Bias / variance / data-mismatch diagnosis, baselines and learning curves.

`fc.diagnose(...)` is `fullcycle.diagnosis.diagnosis.diagnose`.
"""
