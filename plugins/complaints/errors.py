"""The pipeline's run errors: they carry what went wrong as data and are recognised by type.

A light module (no pandas, GX or SQLAlchemy), so that an alert callback can recognise an error
without importing the ingest machinery.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HeldBatch:
    """A batch the quarantine threshold held: nothing of it was loaded."""

    source_part: str
    message: str


class IngestError(RuntimeError):
    """A channel's run could not do all its work: source parts unreadable and/or batches held.

    The readable parts were loaded; unreadable ones stay in place for a re-run.
    """

    def __init__(
        self,
        channel: str,
        interval_start: str,
        interval_end: str,
        *,
        unreadable_parts: tuple[str, ...] = (),
        held_batches: tuple[HeldBatch, ...] = (),
    ) -> None:
        self.channel = channel
        self.interval_start = interval_start
        self.interval_end = interval_end
        self.unreadable_parts = tuple(unreadable_parts)
        self.held_batches = tuple(held_batches)
        problems = []
        if self.unreadable_parts:
            problems.append(
                "unreadable source parts (left in place for a re-run):\n  - " + "\n  - ".join(self.unreadable_parts)
            )
        if self.held_batches:
            problems.append(
                "batches held in quarantine:\n  - "
                + "\n  - ".join(f"{b.source_part}: {b.message}" for b in self.held_batches)
            )
        super().__init__(f"channel {channel}, interval {interval_start} .. {interval_end}: " + "\n".join(problems))

    def __reduce__(self):  # keep the data when the error crosses a process boundary
        return (
            _rebuild,
            (
                type(self),
                self.channel,
                self.interval_start,
                self.interval_end,
                self.unreadable_parts,
                self.held_batches,
            ),
        )


class QualityGateError(IngestError):
    """Every problem of the run is a batch over the quarantine threshold (no unreadable part)."""


def _rebuild(cls, channel, interval_start, interval_end, unreadable_parts, held_batches):
    return cls(channel, interval_start, interval_end, unreadable_parts=unreadable_parts, held_batches=held_batches)
