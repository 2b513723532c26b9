"""Drift monitoring and retraining."""
