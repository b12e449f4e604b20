"""A real Samba server (Debian's ``smbd``) on 127.0.0.1 for the SMB publishing tests.

Import the fixture into a test module to use it::

    from samba_server import SambaServer, samba_server_fixture  # noqa: F401  (registers ``samba_server``)

The session-scoped ``samba_server`` fixture, run as root:

1. makes sure the unprivileged account the share is served as exists::

       useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \\
               --user-group complaints-smb

   (only when it is missing; it is left in place afterwards, so CI may create it up front);
2. writes ``smb.conf`` into a fresh ``/tmp/complaints-smbd-XXXX`` with every directory smbd
   writes to (private, lock, state, cache, pid, ncalrpc, logs, the tdbsam password database)
   inside it, ``smb ports = <free port>``, ``interfaces = 127.0.0.1``,
   ``bind interfaces only = yes`` (loopback only, IPv4 only; ``interfaces = lo`` would also
   bind ``::1``), NetBIOS and printing off, and two shares on the same folder:
   ``[reports]`` (writable) and ``[reports_ro]`` (``read only = yes``), both
   ``valid users = complaints-smb``. The folder is a plain ``tempfile.mkdtemp`` under
   ``/tmp`` made 0755, because pytest's own ``/tmp/pytest-of-root`` is 0700 and smbd opens
   the share as the unprivileged account, which could not get through it;
3. sets a random password in that private database::

       printf '%s\\n%s\\n' "$PW" "$PW" | smbpasswd -c <tmp>/smb.conf -a -s complaints-smb

4. starts, in its own process session::

       smbd --foreground --no-process-group --debug-stdout --debuglevel=1 --configfile=<tmp>/smb.conf

5. waits (up to 20 s) until 127.0.0.1:<port> accepts a TCP connection;
6. at the end sends SIGTERM to that session's process group (smbd and the per-client
   smbd children it forked; SIGKILL after 10 s) and removes the folder.

Not being root or not having samba installed (``make test`` installs it when run as root, as
on CI) skips the tests with the reason in pytest's summary; anything else that stops smbd
(smbd exiting, not listening) FAILS them with smbd's log: these tests are how we know
publishing to the district offices' drive works, so they never skip silently.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SMB_USER = "complaints-smb"
RW_SHARE = "reports"
RO_SHARE = "reports_ro"
START_TIMEOUT = 20.0


@dataclass(frozen=True)
class SambaServer:
    host: str
    port: int
    user: str
    password: str
    share_dir: Path  # the folder both shares serve, as it is on this machine's disk
    conf: Path
    log: Path
    rw_share: str = RW_SHARE
    ro_share: str = RO_SHARE

    def connection_json(self, share: str | None = None, **overrides: object) -> str:
        """An Airflow Connection (conn_type samba) in the JSON form ``AIRFLOW_CONN_<ID>`` accepts."""
        conn: dict[str, object] = {
            "conn_type": "samba",
            "host": self.host,
            "port": self.port,
            "login": self.user,
            "password": self.password,
        }
        if share:
            conn["schema"] = share
        conn.update(overrides)
        return json.dumps(conn)

    def smbclient(self, share: str, command: str) -> subprocess.CompletedProcess[str]:
        """Run Samba's own ``smbclient`` CLI against a share (an independent client, not the code under test)."""
        auth = self.conf.parent / "client.auth"
        cmd = [
            "smbclient", f"//{self.host}/{share}", f"--port={self.port}", f"--configfile={self.conf}",
            f"--authentication-file={auth}", "--command", command,
        ]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        if done.returncode != 0 or "NT_STATUS_" in done.stdout + done.stderr:
            raise AssertionError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        return done

    def read_bytes(self, share: str, path: str) -> bytes:
        """Download ``path`` (``/``-separated, relative to the share) through the share."""
        with tempfile.TemporaryDirectory() as tmp:
            local = Path(tmp) / "download"
            remote = path.strip("/").replace("/", "\\")
            self.smbclient(share, f'get "{remote}" "{local}"')
            return local.read_bytes()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no smbd log)"


def _fail(message: str) -> None:
    pytest.fail(f"cannot run the Samba test server: {message}", pytrace=False)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ensure_user(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    cmd = [useradd, "--system", "--no-create-home", "--home-dir", "/nonexistent",
           "--shell", "/usr/sbin/nologin", "--user-group", name]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode not in (0, 9):  # 9: created meanwhile by a parallel session
        _fail(f"{' '.join(cmd)} failed: {done.stderr.strip()}")
    return pwd.getpwnam(name)


def _smb_conf(base: Path, port: int, share_dir: Path, user: str) -> str:
    share_options = f"  path = {share_dir}\n  valid users = {user}\n  browseable = yes\n"
    return (
        "[global]\n"
        "  server role = standalone server\n"
        "  workgroup = COMPLAINTS\n"
        "  netbios name = COMPLAINTSTEST\n"
        f"  smb ports = {port}\n"
        "  interfaces = 127.0.0.1\n"
        "  bind interfaces only = yes\n"
        "  disable netbios = yes\n"
        f"  private dir = {base}/private\n"
        f"  lock directory = {base}/lock\n"
        f"  state directory = {base}/state\n"
        f"  cache directory = {base}/cache\n"
        f"  pid directory = {base}/pid\n"
        f"  ncalrpc dir = {base}/ncalrpc\n"
        f"  log file = {base}/log/log.%m\n"
        f"  passdb backend = tdbsam:{base}/private/passdb.tdb\n"
        "  usershare path =\n"
        "  load printers = no\n"
        "  printing = bsd\n"
        "  printcap name = /dev/null\n"
        "  disable spoolss = yes\n"
        "  map to guest = never\n"
        "  server min protocol = SMB2_10\n"
        "  client min protocol = SMB2_10\n"
        "  unix charset = UTF-8\n"
        f"\n[{RW_SHARE}]\n{share_options}  read only = no\n"
        f"\n[{RO_SHARE}]\n{share_options}  read only = yes\n"
    )


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """End smbd and the per-connection children it forked: they share the process group we gave it."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    # children may outlive the parent for a moment; they are in the same group
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="session", name="samba_server")
def samba_server_fixture() -> Iterator[SambaServer]:
    if os.geteuid() != 0:
        pytest.skip(
            "SMB share tests need root (smbd serves the share as another account, and the test creates "
            f"the system user {SMB_USER!r}); run them in the CI container as root"
        )
    tools = {t: shutil.which(t) or (f"/usr/sbin/{t}" if os.path.exists(f"/usr/sbin/{t}") else None)
             for t in ("smbd", "smbpasswd", "smbclient")}  # fmt: skip
    if missing := [t for t, path in tools.items() if not path]:
        pytest.skip(
            f"SMB share tests need {', '.join(missing)}: `make test` installs the Debian packages samba and "
            "smbclient when run as root"
        )

    account = _ensure_user(SMB_USER)
    base = Path(tempfile.mkdtemp(prefix="complaints-smbd-"))
    proc: subprocess.Popen[bytes] | None = None
    try:
        base.chmod(0o755)
        for sub in ("private", "lock", "state", "cache", "pid", "ncalrpc", "log"):
            (base / sub).mkdir()
        (base / "private").chmod(0o700)
        share_dir = base / "share"
        share_dir.mkdir()
        os.chown(share_dir, account.pw_uid, account.pw_gid)

        port = _free_port()
        password = "Kpi-" + secrets.token_urlsafe(12)
        conf = base / "smb.conf"
        conf.write_text(_smb_conf(base, port, share_dir, SMB_USER), encoding="utf-8")
        (base / "client.auth").write_text(f"username = {SMB_USER}\npassword = {password}\ndomain = COMPLAINTS\n")
        (base / "client.auth").chmod(0o600)

        done = subprocess.run(
            [tools["smbpasswd"], "-c", str(conf), "-a", "-s", SMB_USER],
            input=f"{password}\n{password}\n", capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        if done.returncode != 0:
            _fail(f"smbpasswd -a failed ({done.returncode}): {done.stdout} {done.stderr}")

        log = base / "log" / "smbd.stdout"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [tools["smbd"], "--foreground", "--no-process-group", "--debug-stdout", "--debuglevel=1",
                 f"--configfile={conf}"],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        server = SambaServer("127.0.0.1", port, SMB_USER, password, share_dir, conf, log)
        deadline = time.monotonic() + START_TIMEOUT
        while not _port_open(port):
            if proc.poll() is not None:
                _fail(f"smbd exited with status {proc.returncode}; its log:\n{server.log_tail()}")
            if time.monotonic() > deadline:
                _fail(f"smbd did not accept connections on 127.0.0.1:{port} within {START_TIMEOUT:.0f} s; "
                      f"its log:\n{server.log_tail()}")  # fmt: skip
            time.sleep(0.05)
        yield server
    finally:
        if proc is not None:
            _stop(proc)
        shutil.rmtree(base, ignore_errors=True)
