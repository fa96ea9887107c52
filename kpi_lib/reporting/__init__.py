"""The annual report: notebook runner, report context, charts, per-goal documents, batch runs."""
