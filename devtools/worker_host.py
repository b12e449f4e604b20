"""The ``[core] hostname_callable`` of the scale demo's Celery workers.

Airflow records in ``task_instance.hostname`` what ``hostname_callable`` returns in the task
process (``airflow.sdk.api.client.get_hostname``, sent with the "task is running" call of the
execution API). Two workers in containers each have their own hostname; two workers on one
machine share it, so ``devtools.scale_demo`` starts each with its Celery hostname in
``SCALE_DEMO_WORKER_HOSTNAME`` and this callable, and the task processes a worker forks
inherit that variable: a task instance names the worker that ran it. Only the standard
library is imported here, because every task process imports this module.
"""

from __future__ import annotations

import os
import socket

WORKER_HOSTNAME_ENV = "SCALE_DEMO_WORKER_HOSTNAME"
CALLABLE = "devtools.worker_host.hostname"


def hostname() -> str:
    """The worker's name when the scale demo set one, else the machine's FQDN (Airflow's default)."""
    return os.environ.get(WORKER_HOSTNAME_ENV) or socket.getfqdn()
