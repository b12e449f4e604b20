"""Development tools that are not part of the pipeline (kept out of plugins/, which Airflow loads)."""
