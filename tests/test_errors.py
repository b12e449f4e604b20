"""Run errors carry their data and are recognised by type, also after crossing a process boundary."""

from __future__ import annotations

import pickle

from complaints.alerts import _is_quality_gate
from complaints.errors import HeldBatch, IngestError, QualityGateError


def test_a_held_batch_error_carries_its_batches_and_survives_pickling():
    error = QualityGateError(
        "hotline_1555",
        "2019-01-15T00:00:00+07:00",
        "2019-01-16T00:00:00+07:00",
        held_batches=(HeldBatch("1555_20190115.csv", "5 of 35 rows (14.3%) failed validation"),),
    )
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is QualityGateError and isinstance(copy, IngestError)
    assert copy.held_batches == error.held_batches and copy.unreadable_parts == ()
    assert str(copy) == str(error)
    assert "1555_20190115.csv: 5 of 35 rows (14.3%) failed validation" in str(error)


def test_alerts_recognise_the_quality_gate_by_type_not_by_message():
    gate = QualityGateError("mis", "a", "b", held_batches=(HeldBatch("part", "why"),))
    unreadable = IngestError("mis", "a", "b", unreadable_parts=("file.csv line 4: bad",))
    lookalike = RuntimeError("QualityGateError: batches held in quarantine")
    assert _is_quality_gate(gate)
    assert not _is_quality_gate(unreadable)
    assert not _is_quality_gate(lookalike)
