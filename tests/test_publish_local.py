"""Publishing report files to a folder on a mounted drive: layout, atomic replacement,
previous versions, and failures produced for real on the file system (a regular file where a
folder is expected, ``chattr +i``), not simulated; only the no-hard-link fallback is simulated."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from complaints.paths import PROJECT_ROOT
from complaints.publish import (
    LocalFolderTarget,
    PublishError,
    SambaTarget,
    publish_reports,
    target_from_config,
)

FOLDER = Path("ปีงบประมาณ-2562", "ไตรมาส-4", "ฝ่ายโยธา")
UNIT = "ฝ่ายโยธา"


def report(directory: Path, name: str, content: bytes) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_bytes(content)
    return path


def partial_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".partial-" in p.name) if folder.is_dir() else []


def previous_versions(folder: Path, name: str) -> list[bytes]:
    """Content of every kept previous version of ``name``, oldest first."""
    prev = folder / "_previous"
    return [(d / name).read_bytes() for d in sorted(prev.iterdir()) if (d / name).exists()] if prev.is_dir() else []


@pytest.fixture
def drive(tmp_path: Path) -> Path:
    root = tmp_path / "shared-drive"
    root.mkdir()
    return root


def test_publish_creates_the_thai_hierarchy_and_returns_the_paths(tmp_path, drive):
    pdf = report(tmp_path / "out", "รายงานตัวชี้วัด.pdf", b"%PDF-1.7\n" + os.urandom(50_000))
    xlsx = report(tmp_path / "out", "kpi.xlsx", b"PK\x03\x04" + os.urandom(20_000))
    html = report(tmp_path / "out", "kpi.html", "<h1>ผลการดำเนินงาน ไตรมาส 4</h1>".encode())

    published = publish_reports([pdf, xlsx, html], LocalFolderTarget(drive), 2562, 4, UNIT)

    folder = drive / FOLDER
    assert published == [str(folder / "รายงานตัวชี้วัด.pdf"), str(folder / "kpi.xlsx"), str(folder / "kpi.html")]
    for src in (pdf, xlsx, html):
        assert (folder / src.name).read_bytes() == src.read_bytes()
    assert sorted(p.name for p in folder.iterdir()) == sorted([pdf.name, xlsx.name, html.name])
    assert [p.name for p in drive.iterdir()] == ["ปีงบประมาณ-2562"]


def test_republishing_replaces_the_files_and_keeps_every_previous_version(tmp_path, drive):
    target = LocalFolderTarget(drive)
    for version in (1, 2, 3):  # three publications within a second or two: three distinct archive folders
        publish_reports(
            [report(tmp_path / f"v{version}", "kpi.pdf", f"version {version}".encode()),
             report(tmp_path / f"v{version}", "kpi.xlsx", f"sheet {version}".encode())],
            target, 2562, 4, UNIT,
        )  # fmt: skip
    folder = drive / FOLDER
    assert (folder / "kpi.pdf").read_bytes() == b"version 3"
    assert (folder / "kpi.xlsx").read_bytes() == b"sheet 3"
    assert previous_versions(folder, "kpi.pdf") == [b"version 1", b"version 2"]
    assert previous_versions(folder, "kpi.xlsx") == [b"sheet 1", b"sheet 2"]
    # both files replaced by one publication are kept side by side, under the same timestamp
    for archived in (folder / "_previous").iterdir():
        assert sorted(p.name for p in archived.iterdir()) == ["kpi.pdf", "kpi.xlsx"]
    assert partial_files(folder) == []


# --------------------------------------------------------------------------- a reader never sees a partial file


class FifoSource:
    """A named pipe standing in for a report file, so the test decides when each part of it arrives.

    The publisher copies it like any file; while the test holds back the rest of the data the
    copy is genuinely half done, and the test can look at the destination folder in that state.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(path)
        self.path = path
        self.fd: int | None = None

    def open(self, timeout: float = 10.0) -> None:
        """Wait until the publisher opened the pipe for reading (non-blocking open gives ENXIO until then)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
                break
            except OSError as exc:
                if exc.errno != errno.ENXIO or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
        fcntl.fcntl(self.fd, fcntl.F_SETFL, fcntl.fcntl(self.fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)

    def write(self, data: bytes) -> None:
        assert self.fd is not None
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view) :]

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def in_thread(fn: Callable[[], object]) -> tuple[threading.Thread, dict[str, object]]:
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["result"] = fn()
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def feed_slowly(
    source: FifoSource, chunks: list[bytes], partial_size: Callable[[], int], check_reader: Callable[[], None]
) -> list[int]:
    """Write ``chunks`` one by one; after each, wait until the publisher's temporary file has caught up,
    and run ``check_reader`` (what a reader of the final name sees) while the upload is half done.
    Returns the temporary file's sizes observed mid-upload."""
    observed = []
    written = 0
    source.open()
    try:
        for chunk in chunks:
            source.write(chunk)
            written += len(chunk)
            deadline = time.monotonic() + 10
            while True:
                check_reader()
                size = partial_size()
                if size >= written or time.monotonic() > deadline:
                    break
                time.sleep(0.01)
            check_reader()
            observed.append(size)
    finally:
        source.close()
    return observed


def test_a_reader_never_sees_a_partial_file_under_the_final_name(tmp_path, drive):
    target = LocalFolderTarget(drive)
    folder = drive / FOLDER
    chunk = 1024 * 1024  # the publisher copies in 1 MiB blocks, so each chunk shows up in the temporary file
    first = [os.urandom(chunk) for _ in range(3)]
    second = [os.urandom(chunk) for _ in range(3)]

    def partial_size() -> int:
        names = partial_files(folder)
        assert len(names) <= 1
        return (folder / names[0]).stat().st_size if names else -1

    # 1. first publication: the final name does not exist until the content is complete
    source = FifoSource(tmp_path / "v1" / "kpi.xlsx")
    thread, outcome = in_thread(lambda: publish_reports([source.path], target, 2562, 4, UNIT))

    def final_absent() -> None:
        assert not (folder / "kpi.xlsx").exists(), "the final name appeared before the upload finished"

    sizes = feed_slowly(source, first, partial_size, final_absent)
    thread.join(20)
    assert "error" not in outcome, outcome
    assert (folder / "kpi.xlsx").read_bytes() == b"".join(first)
    assert sizes[:2] == [chunk, 2 * chunk], "the test did not observe the upload half done"

    # 2. re-publication: a reader keeps getting the complete previous file until the new one is complete
    source = FifoSource(tmp_path / "v2" / "kpi.xlsx")
    thread, outcome = in_thread(lambda: publish_reports([source.path], target, 2562, 4, UNIT))

    def final_is_complete_old_version() -> None:
        assert (folder / "kpi.xlsx").read_bytes() == b"".join(first)

    sizes = feed_slowly(source, second, partial_size, final_is_complete_old_version)
    thread.join(20)
    assert "error" not in outcome, outcome
    assert sizes[:2] == [chunk, 2 * chunk]
    assert (folder / "kpi.xlsx").read_bytes() == b"".join(second)
    assert previous_versions(folder, "kpi.xlsx") == [b"".join(first)]
    assert partial_files(folder) == []


# --------------------------------------------------------------------------- failures


def test_target_root_that_is_a_regular_file_raises_publish_error(tmp_path):
    not_a_folder = tmp_path / "drive-is-a-file"
    not_a_folder.write_text("oops")
    src = report(tmp_path / "out", "kpi.pdf", b"new")
    with pytest.raises(PublishError) as caught:
        publish_reports([src], LocalFolderTarget(not_a_folder), 2562, 4, UNIT)
    message = str(caught.value)
    assert str(not_a_folder) in message and "kpi.pdf" in message
    assert caught.value.file == "kpi.pdf"
    assert not_a_folder.read_text() == "oops"


def test_a_file_where_the_year_folder_should_be_raises_and_leaves_it_alone(tmp_path, drive):
    (drive / "ปีงบประมาณ-2562").write_bytes(b"someone's file")
    with pytest.raises(PublishError, match="creating folder"):
        publish_reports([report(tmp_path / "out", "kpi.pdf", b"x")], LocalFolderTarget(drive), 2562, 4, UNIT)
    assert (drive / "ปีงบประมาณ-2562").read_bytes() == b"someone's file"


def test_missing_root_is_not_created_unless_asked(tmp_path):
    """An unmounted drive must not be replaced by a folder on the worker's own disk."""
    root = tmp_path / "mnt" / "district-drive"
    src = report(tmp_path / "out", "kpi.pdf", b"x")
    with pytest.raises(PublishError, match="mounted"):
        publish_reports([src], LocalFolderTarget(root), 2562, 4, UNIT)
    assert not root.exists()
    publish_reports([src], LocalFolderTarget(root, create_root=True), 2562, 4, UNIT)
    assert (root / FOLDER / "kpi.pdf").read_bytes() == b"x"


@contextlib.contextmanager
def immutable(path: Path) -> Iterator[None]:
    """``chattr +i``: not even root may create, rename or delete in (or of) ``path`` until ``chattr -i``.
    Skips where the file system or the container does not allow it (needs CAP_LINUX_IMMUTABLE and
    ext4/xfs/btrfs); the regular-file tests cover the failure path everywhere."""
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not installed")
    done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"chattr +i not possible here: {done.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def test_unwritable_folder_raises_publish_error_and_the_previous_file_stays(tmp_path, drive):
    """The unit folder is made immutable: no temporary file can be created in it."""
    target = LocalFolderTarget(drive)
    folder = drive / FOLDER
    publish_reports([report(tmp_path / "v1", "kpi.pdf", b"published v1")], target, 2562, 4, UNIT)
    with immutable(folder):
        with pytest.raises(PublishError) as caught:
            publish_reports([report(tmp_path / "v2", "kpi.pdf", b"published v2")], target, 2562, 4, UNIT)
        message = str(caught.value)
        assert f"local folder {drive}" in message and "'kpi.pdf'" in message
        assert isinstance(caught.value.__cause__, PermissionError)
        assert (folder / "kpi.pdf").read_bytes() == b"published v1"
        assert sorted(p.name for p in folder.iterdir()) == ["kpi.pdf"]


def test_failure_on_the_second_file_puts_the_first_one_back(tmp_path, drive):
    """kpi.xlsx is immutable, so it can be neither kept under _previous nor replaced; kpi.pdf was
    already replaced by then, and must be restored from _previous so the set stays consistent."""
    target = LocalFolderTarget(drive)
    folder = drive / FOLDER
    publish_reports([report(tmp_path / "v1", "kpi.pdf", b"pdf v1"), report(tmp_path / "v1", "kpi.xlsx", b"xlsx v1")],
                    target, 2562, 4, UNIT)  # fmt: skip
    with immutable(folder / "kpi.xlsx"):
        with pytest.raises(PublishError) as caught:
            publish_reports([report(tmp_path / "v2", "kpi.pdf", b"pdf v2"),
                             report(tmp_path / "v2", "kpi.xlsx", b"xlsx v2")], target, 2562, 4, UNIT)  # fmt: skip
        assert caught.value.file == "kpi.xlsx"
    assert (folder / "kpi.pdf").read_bytes() == b"pdf v1"
    assert (folder / "kpi.xlsx").read_bytes() == b"xlsx v1"
    assert partial_files(folder) == []
    assert list((folder / "_previous").iterdir()) == []  # the emptied archive folder is removed too


def test_without_hard_links_the_previous_version_is_moved(tmp_path, drive, monkeypatch):
    """Some mounted drives (CIFS, FAT) refuse hard links: the old file is then moved to _previous."""

    def no_hard_links(*args, **kwargs):
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_hard_links)
    target = LocalFolderTarget(drive)
    publish_reports([report(tmp_path / "v1", "kpi.pdf", b"v1")], target, 2562, 4, UNIT)
    publish_reports([report(tmp_path / "v2", "kpi.pdf", b"v2")], target, 2562, 4, UNIT)
    assert (drive / FOLDER / "kpi.pdf").read_bytes() == b"v2"
    assert previous_versions(drive / FOLDER, "kpi.pdf") == [b"v1"]


def test_failure_while_swapping_rolls_back_the_whole_set_and_removes_temporary_files(tmp_path, drive):
    """``_previous`` is a regular file, so keeping the old kpi.xlsx fails after kpi.pdf (new) was
    already renamed into place: the call must take kpi.pdf back out and leave kpi.xlsx as it was."""
    target = LocalFolderTarget(drive)
    folder = drive / FOLDER
    publish_reports([report(tmp_path / "v1", "kpi.xlsx", b"old sheet")], target, 2562, 4, UNIT)
    (folder / "_previous").write_bytes(b"in the way")

    new = [report(tmp_path / "v2", "kpi.pdf", b"new pdf"), report(tmp_path / "v2", "kpi.xlsx", b"new sheet")]
    with pytest.raises(PublishError) as caught:
        publish_reports(new, target, 2562, 4, UNIT)
    assert caught.value.file == "kpi.xlsx"
    assert (folder / "kpi.xlsx").read_bytes() == b"old sheet"
    assert not (folder / "kpi.pdf").exists()
    assert partial_files(folder) == []
    assert sorted(p.name for p in folder.iterdir()) == ["_previous", "kpi.xlsx"]


def test_stale_temporary_files_of_crashed_runs_are_removed(tmp_path, drive):
    folder = drive / FOLDER
    folder.mkdir(parents=True)
    stale = folder / ".kpi.pdf.partial-0123456789ab"
    fresh = folder / ".kpi.pdf.partial-ba9876543210"  # could belong to a run still going
    for path in (stale, fresh):
        path.write_bytes(b"half")
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(stale, (two_days_ago, two_days_ago))
    publish_reports([report(tmp_path / "out", "kpi.pdf", b"x")], LocalFolderTarget(drive), 2562, 4, UNIT)
    assert partial_files(folder) == [fresh.name]


# --------------------------------------------------------------------------- arguments and configuration


@pytest.mark.parametrize(
    ("year", "quarter", "unit", "match"),
    [
        (2019, 4, UNIT, "Buddhist-era"),
        (2562, 5, UNIT, "quarter"),
        (2562, 0, UNIT, "quarter"),
        (2562, 4, "ฝ่ายโยธา/ลับ", "Windows"),
        (2562, 4, "ฝ่าย:โยธา", "Windows"),
        (2562, 4, "CON", "reserved"),
        (2562, 4, "  ", "empty"),
        (2562, 4, "..", "empty"),
        (2562, 4, "ก" * 90, "255 bytes"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_written(tmp_path, drive, year, quarter, unit, match):
    with pytest.raises(ValueError, match=match):
        publish_reports([report(tmp_path, "kpi.pdf", b"x")], LocalFolderTarget(drive), year, quarter, unit)
    assert list(drive.iterdir()) == []


def test_bad_file_lists_are_refused(tmp_path, drive):
    target = LocalFolderTarget(drive)
    with pytest.raises(ValueError, match="no files"):
        publish_reports([], target, 2562, 4, UNIT)
    with pytest.raises(ValueError, match="same name"):
        publish_reports([report(tmp_path / "a", "k.pdf", b"1"), report(tmp_path / "b", "k.pdf", b"2")],
                        target, 2562, 4, UNIT)  # fmt: skip
    with pytest.raises(ValueError, match="does not exist"):
        publish_reports([tmp_path / "missing.pdf"], target, 2562, 4, UNIT)
    with pytest.raises(ValueError, match="reserved"):
        publish_reports([report(tmp_path, ".hidden.pdf", b"1")], target, 2562, 4, UNIT)
    assert list(drive.iterdir()) == []


def test_unit_names_are_normalised_so_one_unit_gets_one_folder(tmp_path, drive):
    src = report(tmp_path, "kpi.pdf", b"x")
    publish_reports([src], LocalFolderTarget(drive), 2562, 4, " ฝ่าย\u200bโยธา ")
    assert (drive / FOLDER / "kpi.pdf").exists()


def test_target_from_config():
    local = target_from_config({"kind": "local", "root": "data/shared-drive"})
    assert local == LocalFolderTarget(PROJECT_ROOT / "data" / "shared-drive")
    assert target_from_config({"root": "/mnt/kpi", "create_root": "yes"}) == LocalFolderTarget(
        Path("/mnt/kpi"), create_root=True
    )
    assert isinstance(target_from_config({}), LocalFolderTarget)
    smb = target_from_config({"kind": "smb", "conn_id": "complaints_shared_drive", "share": "reports", "root": "kpi"})
    assert smb == SambaTarget(conn_id="complaints_shared_drive", share="reports", root="kpi")
    assert target_from_config({"kind": "smb", "conn_id": "c"}) == SambaTarget(conn_id="c")
    with pytest.raises(ValueError, match="unknown kind"):
        target_from_config({"kind": "ftp"})
    with pytest.raises(ValueError, match="conn_id"):
        target_from_config({"kind": "smb", "share": "reports"})
    with pytest.raises(ValueError, match="unknown setting"):
        target_from_config({"kind": "smb", "conn_id": "c", "shre": "typo"})
    with pytest.raises(ValueError, match=r"\.\."):
        target_from_config({"kind": "smb", "conn_id": "c", "root": "kpi/../../etc"})
