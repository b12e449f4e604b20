"""Demo sources: a deterministic generator for fiscal year 2562 and a local API server."""
