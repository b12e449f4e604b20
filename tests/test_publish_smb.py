"""Publishing to an SMB share through the Airflow Samba provider, against a real smbd.

The Connection comes from an ``AIRFLOW_CONN_<ID>`` environment variable in JSON form: outside a
running task, Airflow 3's ``BaseHook.get_connection`` (task SDK) falls back to the
environment-variable secrets backend, so no metadata database or scheduler is needed.
Files are read back with Samba's own ``smbclient`` CLI, a client independent of the code under test.
"""

from __future__ import annotations

import os
import pwd
import time
import uuid
from pathlib import Path

import pytest

from complaints.publish import PublishError, SambaTarget, publish_reports, target_from_config
from samba_server import SambaServer, samba_server_fixture  # noqa: F401  (registers the samba_server fixture)
from test_publish_local import FifoSource, feed_slowly, in_thread, partial_files, report

FOLDER = "ปีงบประมาณ-2562/ไตรมาส-4/ฝ่ายรักษาความสะอาดและสวนสาธารณะ"
UNIT = "ฝ่ายรักษาความสะอาดและสวนสาธารณะ"
RW_CONN = "complaints_smb_test"
RO_CONN = "complaints_smb_test_ro"


@pytest.fixture
def smb(samba_server: SambaServer, monkeypatch: pytest.MonkeyPatch) -> SambaServer:
    """Connections to both shares; the read/write one names no share (the target gives it)."""
    monkeypatch.setenv(f"AIRFLOW_CONN_{RW_CONN.upper()}", samba_server.connection_json())
    monkeypatch.setenv(f"AIRFLOW_CONN_{RO_CONN.upper()}", samba_server.connection_json(samba_server.ro_share))
    return samba_server


@pytest.fixture
def root() -> str:
    """A folder of its own in the share for each test (the server is shared by the session)."""
    return f"kpi-{uuid.uuid4().hex[:8]}"


def on_disk(smb: SambaServer, root: str) -> Path:
    return smb.share_dir / root / FOLDER


def test_publish_through_the_samba_hook_and_read_back_through_the_share(tmp_path, smb, root):
    pdf = report(tmp_path, "รายงานตัวชี้วัด.pdf", b"%PDF-1.7\n" + os.urandom(300_000))
    xlsx = report(tmp_path, "kpi.xlsx", b"PK\x03\x04" + os.urandom(100_000))
    html = report(tmp_path, "kpi.html", "<h1>ผลการดำเนินงาน ไตรมาส 4</h1>".encode())
    target = target_from_config({"kind": "smb", "conn_id": RW_CONN, "share": smb.rw_share, "root": root})

    published = publish_reports([pdf, xlsx, html], target, 2562, 4, UNIT)

    unc = f"\\\\127.0.0.1\\{smb.rw_share}\\{root}\\" + FOLDER.replace("/", "\\")
    assert published == [f"{unc}\\รายงานตัวชี้วัด.pdf", f"{unc}\\kpi.xlsx", f"{unc}\\kpi.html"]
    for src in (pdf, xlsx, html):
        assert smb.read_bytes(smb.rw_share, f"{root}/{FOLDER}/{src.name}") == src.read_bytes()
    # written by smbd as the share's account, into the Thai folder names on the server's disk
    folder = on_disk(smb, root)
    assert sorted(p.name for p in folder.iterdir()) == sorted([pdf.name, xlsx.name, html.name])
    assert (folder / pdf.name).stat().st_uid == pwd.getpwnam(smb.user).pw_uid


def test_republishing_keeps_the_previous_version_on_the_share(tmp_path, smb, root):
    target = SambaTarget(conn_id=RW_CONN, share=smb.rw_share, root=root)
    publish_reports([report(tmp_path / "v1", "kpi.pdf", b"version 1")], target, 2562, 4, UNIT)
    publish_reports([report(tmp_path / "v2", "kpi.pdf", b"version 2")], target, 2562, 4, UNIT)

    assert smb.read_bytes(smb.rw_share, f"{root}/{FOLDER}/kpi.pdf") == b"version 2"
    [stamp] = [p.name for p in (on_disk(smb, root) / "_previous").iterdir()]
    assert smb.read_bytes(smb.rw_share, f"{root}/{FOLDER}/_previous/{stamp}/kpi.pdf") == b"version 1"
    assert partial_files(on_disk(smb, root)) == []


def test_read_only_share_raises_publish_error_and_the_previous_file_stays(tmp_path, smb, root):
    publish_reports([report(tmp_path / "v1", "kpi.pdf", b"version 1")],
                    SambaTarget(conn_id=RW_CONN, share=smb.rw_share, root=root), 2562, 4, UNIT)  # fmt: skip

    read_only = SambaTarget(conn_id=RO_CONN, root=root)  # the share comes from the connection's schema
    with pytest.raises(PublishError) as caught:
        publish_reports([report(tmp_path / "v2", "kpi.pdf", b"version 2")], read_only, 2562, 4, UNIT)
    message = str(caught.value)
    assert RO_CONN in message and "'kpi.pdf'" in message and "ACCESS_DENIED" in message
    # the same folder through the writable share: untouched, readable, no leftovers
    assert smb.read_bytes(smb.rw_share, f"{root}/{FOLDER}/kpi.pdf") == b"version 1"
    assert sorted(p.name for p in on_disk(smb, root).iterdir()) == ["kpi.pdf"]


def test_share_down_raises_publish_error(tmp_path, smb, root, monkeypatch):
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    monkeypatch.setenv("AIRFLOW_CONN_COMPLAINTS_SMB_DOWN", smb.connection_json(smb.rw_share, port=dead_port))
    started = time.monotonic()
    with pytest.raises(PublishError) as caught:
        publish_reports([report(tmp_path, "kpi.pdf", b"x")], SambaTarget("complaints_smb_down", root=root),
                        2562, 4, UNIT)  # fmt: skip
    assert "complaints_smb_down" in str(caught.value) and "'kpi.pdf'" in str(caught.value)
    assert caught.value.step == "opening the target"
    assert time.monotonic() - started < 10


def test_wrong_password_raises_publish_error(tmp_path, smb, root, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_COMPLAINTS_SMB_BADPW",
                       smb.connection_json(smb.rw_share, password="not-the-password"))  # fmt: skip
    with pytest.raises(PublishError, match="complaints_smb_badpw"):
        publish_reports([report(tmp_path, "kpi.pdf", b"x")], SambaTarget("complaints_smb_badpw", root=root),
                        2562, 4, UNIT)  # fmt: skip
    assert not (smb.share_dir / root).exists()


def test_a_reader_of_the_share_never_sees_a_partial_file(tmp_path, smb, root):
    """While the new version is half uploaded, a client reading the final name gets the complete old one."""
    target = SambaTarget(conn_id=RW_CONN, share=smb.rw_share, root=root)
    old = os.urandom(200_000)
    publish_reports([report(tmp_path / "v1", "kpi.xlsx", old)], target, 2562, 4, UNIT)
    folder = on_disk(smb, root)
    chunk = 1024 * 1024
    new = [os.urandom(chunk) for _ in range(2)]

    def partial_size() -> int:
        names = partial_files(folder)
        return (folder / names[0]).stat().st_size if names else -1

    def reader_sees_the_old_file() -> None:
        assert smb.read_bytes(smb.rw_share, f"{root}/{FOLDER}/kpi.xlsx") == old

    source = FifoSource(tmp_path / "v2" / "kpi.xlsx")
    thread, outcome = in_thread(lambda: publish_reports([source.path], target, 2562, 4, UNIT))
    sizes = feed_slowly(source, new, partial_size, reader_sees_the_old_file)
    thread.join(20)
    assert "error" not in outcome, outcome
    assert sizes[0] == chunk, "the test did not observe the upload half done"
    assert smb.read_bytes(smb.rw_share, f"{root}/{FOLDER}/kpi.xlsx") == b"".join(new)
    assert partial_files(folder) == []
