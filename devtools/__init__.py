"""Tooling around the pipeline that Airflow never ships to a worker: the demo and the benchmarks."""
