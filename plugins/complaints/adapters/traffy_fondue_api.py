"""Traffy Fondue's API read path: the Exchange API for agencies (:mod:`complaints.adapters.traffy_exchange`).

This module used to page ``GET traffy/v1/tickets?last_activity_start=...``, an endpoint the
platform does not have. The documented interface is NECTEC's Exchange API
(traffy-nectec/exchange-api-doc); a channel configured with
``adapter: complaints.adapters.traffy_fondue_api`` now reads it, exactly as
``adapter: complaints.adapters.traffy_exchange`` does (name the latter in new configs).
"""

from __future__ import annotations

from complaints.adapters.traffy_exchange import after_load, plan, read

__all__ = ["after_load", "plan", "read"]
