"""Loaders for the publishers' own file formats; each returns a kpi_lib.sources.tidy table."""
