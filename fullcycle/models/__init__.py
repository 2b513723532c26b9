"""Architectures (the seeds' first tabular net) and the model bundle."""
