# The Airflow image for the scale-out stack: the official image of the pinned Airflow
# version plus the project's pinned dependencies (the Thai report font, Sarabun, comes from PyPI)
# and Pango, which WeasyPrint draws the PDF with.
ARG AIRFLOW_VERSION=3.3.2
FROM apache/airflow:${AIRFLOW_VERSION}-python3.11
USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
 && rm -rf /var/lib/apt/lists/*
USER airflow
COPY requirements.txt constraints.txt /opt/airflow/
RUN pip install --no-cache-dir -r /opt/airflow/requirements.txt -c /opt/airflow/constraints.txt
