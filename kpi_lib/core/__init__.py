"""Foundations every layer uses: errors, paths, Japanese number formatting, atomic outputs,
safe publishing of folders, developer checks."""
