"""The pipeline's own vocabulary: values code, SQL parameters and tests share, as enums.

StrEnum members are their string values, so they bind as SQL parameters and compare with what
the warehouse stores. Lists that are data (statuses, districts, units, categories) stay in
include/config/ and are read through complaints.config.
"""

from __future__ import annotations

from enum import StrEnum


class BatchOutcome(StrEnum):
    """What became of a batch: the ``outcome`` column of the ``ingest_batch`` ledger."""

    LOADED = "loaded"
    LOADED_WITH_WARNINGS = "loaded_with_warnings"  # some rows quarantined, under the threshold
    REJECTED = "rejected"  # held: over the quarantine threshold, nothing loaded
    DUPLICATE_DELIVERY = "duplicate_delivery"  # content already ingested, not counted again


# A channel's data is covered up to a batch's interval end when the batch was loaded or was a
# delivery already counted (the indicator's freshness and the digest read this).
COVERING_OUTCOMES: tuple[BatchOutcome, ...] = (
    BatchOutcome.LOADED,
    BatchOutcome.LOADED_WITH_WARNINGS,
    BatchOutcome.DUPLICATE_DELIVERY,
)
