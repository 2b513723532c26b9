"""Sanity checks before spending compute, and the LR finder."""
