"""The publishers' files: loaders, the tidy schema and the bundled tables (ingest)."""
