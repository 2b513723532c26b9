"""Serving a bundle over HTTP and exporting it."""
