"""What was observed: the precedence rule, analysts' workbooks, all of it for a catalog, input
validation, and the catalog checked against or started from the data."""
