"""Judging the KPIs: the target rules, the outlook to the target year, the scorecard."""
