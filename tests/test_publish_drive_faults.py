"""The shared drive unwritable when the quarterly report is published, made so for real: the drive
is its own small tmpfs mount, remounted read-only (EROFS) or filled up (ENOSPC). Permission bits
would not stop root, so they are not used. The publication fails with a message naming the
target, the file and the step; the previously published report stays intact and readable, and no
temporary file is left behind. Needs root (mount); skipped where mounting is not allowed."""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from complaints.publish import LocalFolderTarget, PublishError, publish_reports

FOLDER = Path("ปีงบประมาณ-2562", "ไตรมาส-2", "ฝ่ายโยธา")
UNIT = "ฝ่ายโยธา"
DRIVE_BYTES = 1024 * 1024


def report_set(directory: Path, version: str, size: int) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    files = []
    for name in ("รายงานตัวชี้วัด.pdf", "รายงานตัวชี้วัด.xlsx", "รายงานตัวชี้วัด.html"):
        path = directory / name
        path.write_bytes(f"{version}:".encode() + os.urandom(size))
        files.append(path)
    return files


def mount(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["mount", *args], capture_output=True, text=True)


@pytest.fixture
def drive(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB file system of its own, mounted for the test."""
    root = tmp_path / "shared-drive"
    root.mkdir()
    done = mount("-t", "tmpfs", "-o", f"size={DRIVE_BYTES}", "tmpfs", str(root))
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
    try:
        yield root
    finally:
        subprocess.run(["umount", "-l", str(root)], check=True)


def published(drive: Path) -> dict[str, bytes]:
    folder = drive / FOLDER
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def leftovers(drive: Path) -> list[str]:
    return sorted(str(p.relative_to(drive)) for p in drive.rglob("*") if ".partial-" in p.name)


def test_a_read_only_shared_drive_fails_clearly_and_keeps_the_previous_report(tmp_path, drive):
    target = LocalFolderTarget(drive)
    publish_reports(report_set(tmp_path / "v1", "v1", 20_000), target, 2562, 2, UNIT)
    before = published(drive)
    assert done_ok(mount("-o", "remount,ro", str(drive)))

    with pytest.raises(PublishError) as caught:
        publish_reports(report_set(tmp_path / "v2", "v2", 20_000), target, 2562, 2, UNIT)
    message = str(caught.value)
    assert message.startswith(f"cannot publish 'รายงานตัวชี้วัด.pdf' to local folder {drive}")
    assert "writing temporary file" in message and "Read-only file system" in message
    assert isinstance(caught.value.__cause__, OSError) and caught.value.__cause__.errno == errno.EROFS
    assert published(drive) == before  # intact and readable
    assert all(content.startswith(b"v1:") for content in before.values())
    assert leftovers(drive) == []


def test_a_full_shared_drive_fails_clearly_removes_its_partial_files_and_keeps_the_previous_report(tmp_path, drive):
    target = LocalFolderTarget(drive)
    publish_reports(report_set(tmp_path / "v1", "v1", 50_000), target, 2562, 2, UNIT)
    before = published(drive)
    filler = drive / "someone-elses-backup.bin"
    # fill the drive until the file system itself refuses
    with filler.open("wb") as fh, pytest.raises(OSError) as full:
        while True:
            fh.write(os.urandom(64 * 1024))
            fh.flush()
    assert full.value.errno == errno.ENOSPC
    filler.unlink()
    filler.write_bytes(os.urandom(DRIVE_BYTES - 300_000))  # leave ~150 kB free: less than the new set

    with pytest.raises(PublishError) as caught:
        publish_reports(report_set(tmp_path / "v2", "v2", 120_000), target, 2562, 2, UNIT)
    message = str(caught.value)  # the PDF fitted; the spreadsheet did not
    assert message.startswith(f"cannot publish 'รายงานตัวชี้วัด.xlsx' to local folder {drive}")
    assert "writing temporary file" in message and "No space left on device" in message
    assert isinstance(caught.value.__cause__, OSError) and caught.value.__cause__.errno == errno.ENOSPC
    assert published(drive) == before
    assert leftovers(drive) == []  # the half-uploaded temporary files are gone

    filler.unlink()  # space freed: the same publication now goes through
    publish_reports(report_set(tmp_path / "v3", "v3", 120_000), target, 2562, 2, UNIT)
    assert all(content.startswith(b"v3:") for content in published(drive).values())


def done_ok(done: subprocess.CompletedProcess) -> bool:
    if done.returncode != 0:
        raise AssertionError(done.stderr)
    return True
