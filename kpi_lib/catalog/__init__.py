"""The KPI catalog: its model and the Japanese notation of targets, years and numbers."""
