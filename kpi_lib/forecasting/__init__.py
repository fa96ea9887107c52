"""Forecasts: vectorised panel and per-series methods, their calibration and the forecast
benchmark."""
