"""Estiba: a hackable container platform (OCI runtime, engine, compose, cluster)."""

__version__ = "0.1.0"
