"""kpi_lib: 効果検証 (annual KPI verification) of Japanese regional revitalization strategies."""

__version__ = "0.1.0"
