"""Bangkok complaint-handling pipeline: adapters, validation, warehouse and indicator code.

Airflow puts ``plugins/`` on ``sys.path``, so DAG files import this package directly; tests
do the same through ``pythonpath`` in ``pyproject.toml``.
"""
