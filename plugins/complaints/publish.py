"""Publish the quarterly KPI report files (PDF/XLSX/HTML) to the district offices' shared drive.

Layout
------
``<root>/ปีงบประมาณ-2562/ไตรมาส-4/<unit>/<file>`` (:func:`publish_reports`), and for the daily
overdue digest ``<root>/รายการเรื่องใกล้ครบกำหนด/<district>/<unit>/<file>`` (:func:`digest_folder`
with :func:`publish_files`, which does the publishing for both).

Thai folder names, not an ASCII ``fy2562/q4`` code scheme, because the people who open
these folders are district staff browsing the drive in Windows Explorer: they think in
ปีงบประมาณ (Buddhist-era fiscal year) and ไตรมาส, and they know their unit by its Thai
name, so they find their folder without having to learn a code. Thai names are safe on
every hop: SMB carries names as UTF-16 and Windows/NTFS display Thai natively, Samba
stores them as UTF-8 on ext4 (``unix charset = UTF-8``, the default), and a Linux worker
that mounts the share (``cifs``, ``iocharset=utf8``) sees the same UTF-8 names. The
numbers stay Arabic digits and the separator is ``-`` rather than a space, so folders
sort in order and scripts need no quoting. Every component is NFC-normalised (so one
unit can never end up in two look-alike folders) and checked against what Windows
refuses (``<>:"/\\|?*``, control characters, reserved device names, a trailing dot or
space) and against ext4's 255-byte name limit (a Thai character is 3 bytes in UTF-8).

Atomic replacement
------------------
All files of one call are first uploaded to temporary names in the destination folder,
``.<name>.partial-<token>`` (a dot file: hidden in Explorer, because Samba's default
``hide dot files = yes`` marks it hidden), and only then renamed onto their final names.
A rename inside one folder is atomic on a local file system and on an SMB server, so a
reader sees either the previous complete file or the new complete file under the final
name, never a half-written one. If anything fails, the temporary files are removed and
the files already swapped in this call are put back (best effort), so a report set is
not left half old and half new.

Previous versions
-----------------
Re-publishing a quarter replaces the files and keeps each replaced file as
``<folder>/_previous/<YYYY-MM-DD_HHMMSS>/<name>`` (Bangkok time of the replacement; a
``_2``, ``_3`` suffix if two publications happen within one second). The old file is
hard-linked there first and the new one is then renamed over the final name, so the final
name never disappears, even for a moment. Where hard links are not supported (some
mounted drives, some SMB servers) the old file is moved instead, which leaves the final
name absent for the instant between the two renames, still never half-written.

Failures
--------
Any failure to reach or write the destination (share down, wrong password, read-only
share, a file where a folder is expected, immutable folder, ...) raises
:class:`PublishError` naming the target, the file and the step; the previously published
file stays in place. Bad arguments (a CE year, a unit name Windows cannot show) raise
``ValueError`` before anything is written.

Targets
-------
* :class:`LocalFolderTarget` - a folder on a mounted drive (the default). Its root must
  already exist unless ``create_root=True``: if the drive is not mounted, creating the
  root would silently publish onto the worker's own disk.
* :class:`SambaTarget` - a share reached through the Airflow Samba provider's
  ``SambaHook`` and an Airflow Connection (conn_type ``samba``: host, port, login,
  password; the share is ``share`` or else the connection's ``schema``). ``SambaHook``
  resolves the Connection through ``airflow.sdk.BaseHook.get_connection``. Inside a task
  that goes through the supervisor; outside a task (tests, the demo, a CLI) Airflow 3's
  task SDK falls back to the environment-variable and configured secrets backends
  (``ensure_secrets_backend_loaded``), so ``AIRFLOW_CONN_<CONN_ID>`` set to the JSON form
  (``{"conn_type": "samba", "host": ..., "port": ..., "login": ..., "password": ...,
  "schema": "<share>"}``) works without a scheduler or metadata database.

``target_from_config`` builds either one from the ``publish:`` section of the pipeline
configuration.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import operator
import os
import re
import shutil
import time
import unicodedata
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from complaints.paths import PROJECT_ROOT, data_dir
from complaints.thai_time import BANGKOK

log = logging.getLogger(__name__)

FISCAL_YEAR_FOLDER = "ปีงบประมาณ-{year}"
QUARTER_FOLDER = "ไตรมาส-{quarter}"
DIGEST_FOLDER = "รายการเรื่องใกล้ครบกำหนด"  # the daily overdue digest ("matters nearing their deadline")
PREVIOUS_FOLDER = "_previous"
PARTIAL_MARK = ".partial-"
# A temporary file left by a crashed run is removed by the next successful publication
# into the same folder once it is older than this (a younger one may be another run's).
STALE_PARTIAL_SECONDS = 24 * 3600
COPY_BUFFER = 1024 * 1024

_PARTIAL_NAME = re.compile(r"^\..+\.partial-[0-9a-f]{12}$")
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
_WINDOWS_FORBIDDEN = set('<>:"/\\|?*')
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {f"{p}{i}" for p in ("COM", "LPT") for i in range(1, 10)}


class PublishError(RuntimeError):
    """The destination could not be written; the message names the target, the file and the step."""

    def __init__(self, target: str, file: str, step: str, cause: BaseException | str) -> None:
        self.target = target
        self.file = file
        self.step = step
        super().__init__(f"cannot publish {file!r} to {target}: {step} failed: {cause}")


# --------------------------------------------------------------------------- layout


def safe_component(text: str, what: str = "name") -> str:
    """``text`` as one folder or file name every hop accepts (NFC, no zero-width marks), else ``ValueError``."""
    name = unicodedata.normalize("NFC", str(text)).translate(_ZERO_WIDTH).strip()
    problem = None
    if not name or name in (".", ".."):
        problem = "is empty"
    elif bad := sorted({c for c in name if c in _WINDOWS_FORBIDDEN or ord(c) < 32}):
        problem = f"contains {''.join(bad)!r}, which Windows does not allow in a name"
    elif name.endswith("."):
        problem = "ends with a dot, which Windows drops"
    elif name.split(".")[0].strip().upper() in _WINDOWS_RESERVED:
        problem = "is a reserved device name on Windows"
    elif len(name.encode("utf-8")) > 255:
        problem = "is longer than 255 bytes in UTF-8"
    if problem:
        raise ValueError(f"{what} {text!r} {problem}")
    return name


def publication_folder(fiscal_year_be: int, quarter: int, unit: str) -> PurePosixPath:
    """``ปีงบประมาณ-<year>/ไตรมาส-<q>/<unit>``, relative to a target's root."""
    try:
        year, q = operator.index(fiscal_year_be), operator.index(quarter)
    except TypeError:
        raise ValueError(f"fiscal year and quarter must be integers, got {fiscal_year_be!r}, {quarter!r}") from None
    if not 2400 <= year <= 2800:
        raise ValueError(f"fiscal year {fiscal_year_be} is not a Buddhist-era year (expected 25xx)")
    if isinstance(quarter, bool) or q not in (1, 2, 3, 4):
        raise ValueError(f"quarter must be 1..4, got {quarter!r}")
    return PurePosixPath(
        FISCAL_YEAR_FOLDER.format(year=year),
        QUARTER_FOLDER.format(quarter=q),
        safe_component(unit, "unit"),
    )


def digest_folder(district: str, unit: str) -> PurePosixPath:
    """``รายการเรื่องใกล้ครบกำหนด/<district>/<unit>``, relative to a target's root (the daily overdue digest)."""
    return PurePosixPath(DIGEST_FOLDER, safe_component(district, "district"), safe_component(unit, "unit"))


# --------------------------------------------------------------------------- targets


class Store(Protocol):
    """The few file operations publishing needs, on paths relative to the target's root (``/``-separated)."""

    def makedirs(self, rel: str) -> None: ...
    def mkdir(self, rel: str) -> None: ...  # raises OSError(EEXIST) if it exists
    def upload(self, src: Path, rel: str) -> None: ...
    def exists(self, rel: str) -> bool: ...
    def link(self, src: str, dst: str) -> None: ...  # hard link
    def rename(self, src: str, dst: str) -> None: ...  # fails if dst exists
    def replace(self, src: str, dst: str) -> None: ...  # atomically overwrites dst
    def remove(self, rel: str) -> None: ...
    def rmdir(self, rel: str) -> None: ...
    def listdir(self, rel: str) -> list[str]: ...
    def mtime(self, rel: str) -> float: ...
    def location(self, rel: str) -> str: ...  # what to show a human (a path or a UNC path)
    def sync_dir(self, rel: str) -> None: ...  # make renames in a folder durable, if the medium needs it


class PublishTarget(ABC):
    """Where reports go. ``open_store`` connects; ``describe`` names it in messages."""

    @abstractmethod
    def describe(self) -> str: ...

    @abstractmethod
    def open_store(self) -> contextlib.AbstractContextManager[Store]: ...


@dataclass(frozen=True)
class LocalFolderTarget(PublishTarget):
    """A folder on a mounted drive (or any local folder)."""

    root: Path
    create_root: bool = False

    def describe(self) -> str:
        return f"local folder {self.root}"

    @contextlib.contextmanager
    def open_store(self) -> Iterator[Store]:
        root = Path(self.root)
        if not root.is_dir():
            if root.exists():
                raise NotADirectoryError(errno.ENOTDIR, "publication root is not a folder", str(root))
            if not self.create_root:
                raise FileNotFoundError(
                    errno.ENOENT,
                    "publication root does not exist (is the drive mounted? set create_root to create it)",
                    str(root),
                )
            root.mkdir(parents=True, exist_ok=True)
        yield _LocalStore(root)


class _LocalStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _p(self, rel: str) -> Path:
        return self.root / rel

    def makedirs(self, rel: str) -> None:
        self._p(rel).mkdir(parents=True, exist_ok=True)

    def mkdir(self, rel: str) -> None:
        self._p(rel).mkdir()

    def upload(self, src: Path, rel: str) -> None:
        with open(src, "rb") as fin, open(self._p(rel), "xb") as fout:
            shutil.copyfileobj(fin, fout, COPY_BUFFER)
            fout.flush()
            os.fsync(fout.fileno())

    def exists(self, rel: str) -> bool:
        return os.path.lexists(self._p(rel))

    def link(self, src: str, dst: str) -> None:
        os.link(self._p(src), self._p(dst), follow_symlinks=False)

    def rename(self, src: str, dst: str) -> None:
        if os.path.lexists(self._p(dst)):
            raise FileExistsError(errno.EEXIST, "already exists", str(self._p(dst)))
        os.rename(self._p(src), self._p(dst))

    def replace(self, src: str, dst: str) -> None:
        os.replace(self._p(src), self._p(dst))

    def remove(self, rel: str) -> None:
        os.remove(self._p(rel))

    def rmdir(self, rel: str) -> None:
        os.rmdir(self._p(rel))

    def listdir(self, rel: str) -> list[str]:
        return os.listdir(self._p(rel))

    def mtime(self, rel: str) -> float:
        return os.lstat(self._p(rel)).st_mtime

    def location(self, rel: str) -> str:
        return str(self._p(rel))

    def sync_dir(self, rel: str) -> None:
        with contextlib.suppress(OSError):  # not every mounted file system can fsync a folder
            fd = os.open(self._p(rel), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


@dataclass(frozen=True)
class SambaTarget(PublishTarget):
    """A folder ``root`` inside an SMB share, through ``SambaHook`` and the Airflow Connection ``conn_id``.

    ``share`` overrides the Connection's ``schema`` field (where the provider keeps the share name).
    """

    conn_id: str
    share: str | None = None
    root: str = ""

    def describe(self) -> str:
        where = "/".join(p for p in (self.share or "<share of the connection>", _clean_root(self.root)) if p)
        return f"SMB share {where} (Airflow connection {self.conn_id!r})"

    @contextlib.contextmanager
    def open_store(self) -> Iterator[Store]:
        from airflow.providers.samba.hooks.samba import SambaHook

        conn = SambaHook.get_connection(self.conn_id)
        share = self.share or conn.schema
        if not share:
            raise ValueError(f"no share: set 'share' or the schema field of connection {self.conn_id!r}")
        hook = SambaHook(samba_conn_id=self.conn_id, share=share)
        try:
            hook.__enter__()  # connects and authenticates now, so a dead share or a bad password fails here
            yield _SambaStore(hook, _clean_root(self.root), f"\\\\{conn.host}\\{share}")
        finally:
            try:
                hook.__exit__(None, None, None)
            except Exception:  # the files are already published, or the real error is being raised
                log.warning("could not disconnect cleanly from %s", self.describe(), exc_info=True)


def _clean_root(root: str) -> str:
    parts = [p for p in re.split(r"[\\/]+", str(root or "")) if p and p != "."]
    if ".." in parts:
        raise ValueError(f"root {root!r} must not contain '..'")
    return "/".join(parts)


class _SambaStore:
    def __init__(self, hook: Any, root: str, unc_share: str) -> None:
        self.hook = hook
        self.root = root
        self.unc_share = unc_share

    def _p(self, rel: str) -> str:
        return f"{self.root}/{rel}" if self.root else rel

    def makedirs(self, rel: str) -> None:
        self.hook.makedirs(self._p(rel), exist_ok=True)

    def mkdir(self, rel: str) -> None:
        self.hook.mkdir(self._p(rel))

    def upload(self, src: Path, rel: str) -> None:
        self.hook.push_from_local(self._p(rel), str(src), buffer_size=COPY_BUFFER)

    def exists(self, rel: str) -> bool:
        try:
            self.hook.lstat(self._p(rel))
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return False
            raise
        return True

    def link(self, src: str, dst: str) -> None:
        self.hook.link(self._p(src), self._p(dst))

    def rename(self, src: str, dst: str) -> None:
        self.hook.rename(self._p(src), self._p(dst))

    def replace(self, src: str, dst: str) -> None:
        self.hook.replace(self._p(src), self._p(dst))

    def remove(self, rel: str) -> None:
        self.hook.remove(self._p(rel))

    def rmdir(self, rel: str) -> None:
        self.hook.rmdir(self._p(rel))

    def listdir(self, rel: str) -> list[str]:
        return list(self.hook.listdir(self._p(rel)))

    def mtime(self, rel: str) -> float:
        return self.hook.lstat(self._p(rel)).st_mtime

    def location(self, rel: str) -> str:
        return "\\".join([self.unc_share, *self._p(rel).split("/")])

    def sync_dir(self, rel: str) -> None:
        return None  # the server commits a rename before it answers


# --------------------------------------------------------------------------- publishing


def _now() -> datetime:
    return datetime.now(BANGKOK)


@dataclass
class _Staged:
    src: Path
    name: str
    temp: str
    final: str
    uploaded: bool = False
    swapped: bool = False
    previous: str | None = None  # where the replaced file was kept


def publish_reports(
    files: Sequence[Path | str], target: PublishTarget, fiscal_year_be: int, quarter: int, unit: str
) -> list[str]:
    """Publish ``files`` to ``<target root>/ปีงบประมาณ-<fy>/ไตรมาส-<q>/<unit>/`` and return where they now are.

    Each file keeps its own name. Returned locations are local paths for a
    :class:`LocalFolderTarget` and UNC paths (``\\\\host\\share\\...``, pasteable into
    Explorer) for a :class:`SambaTarget`, in the order of ``files``.
    Raises :class:`PublishError` if the destination cannot be written, ``ValueError`` for bad arguments.
    """
    return publish_files(files, target, publication_folder(fiscal_year_be, quarter, unit))


def publish_files(files: Sequence[Path | str], target: PublishTarget, folder: PurePosixPath | str) -> list[str]:
    """Publish ``files`` into ``folder`` (relative to the target's root, ``/``-separated) and return where they are.

    The atomic upload-then-rename, the ``_previous/<timestamp>`` versions, the roll-back and the
    errors are those described in the module docstring; every folder component must be a name
    :func:`safe_component` accepts. :func:`publish_reports` and the overdue digest both use this.
    """
    folder = _relative_folder(folder)
    sources = [Path(f) for f in files]
    if not sources:
        raise ValueError("no files to publish")
    names = [safe_component(src.name, "file name") for src in sources]
    for src, name in zip(sources, names, strict=True):
        if name.startswith(".") or name == PREVIOUS_FOLDER:
            raise ValueError(f"file name {src.name!r} is reserved for the publisher's own use")
        if not src.exists() or src.is_dir():
            raise ValueError(f"report file {src} does not exist or is a folder")
    if len(set(names)) != len(names):
        raise ValueError(f"two report files have the same name: {names}")

    token = uuid.uuid4().hex[:12]
    staged = [
        _Staged(src, name, f"{folder}/.{name}{PARTIAL_MARK}{token}", f"{folder}/{name}")
        for src, name in zip(sources, names, strict=True)
    ]
    describe = target.describe()
    current, step = names[0], "opening the target"
    try:
        with target.open_store() as store:
            describe = f"{describe} ({store.location(folder)})"
            step = f"creating folder {folder}"
            store.makedirs(folder)
            archive: list[str] = []  # the _previous/<timestamp> folder, created on first need
            try:
                for item in staged:
                    current, step = item.name, f"writing temporary file {item.temp}"
                    item.uploaded = True  # set first: a failed upload can leave a partial file behind
                    store.upload(item.src, item.temp)
                for item in staged:
                    current, step = item.name, f"renaming {item.temp} onto {item.final}"
                    _swap_in(store, folder, item, archive)
                store.sync_dir(folder)
            except Exception:
                _undo(store, folder, staged, archive, describe)
                raise
            _remove_stale_partials(store, folder, token)
            published = [store.location(item.final) for item in staged]
    except Exception as exc:
        raise PublishError(describe, current, step, exc) from exc
    log.info("published %d file(s) to %s: %s", len(published), describe, ", ".join(published))
    return published


def _relative_folder(folder: PurePosixPath | str) -> str:
    parts = PurePosixPath(folder).parts
    if not parts:
        raise ValueError("no folder to publish into")
    names = [safe_component(part, "folder") for part in parts]
    if hidden := [n for n in names if n.startswith(".") or n == PREVIOUS_FOLDER]:
        raise ValueError(f"folder name {hidden[0]!r} is reserved for the publisher's own use")
    return "/".join(names)


def _swap_in(store: Store, folder: str, item: _Staged, archive: list[str]) -> None:
    """Rename ``item.temp`` onto ``item.final``, keeping the file it replaces under ``_previous``."""
    moved = False
    if store.exists(item.final):
        if not archive:
            archive.append(_make_archive_folder(store, folder))
        previous = f"{archive[0]}/{item.name}"
        try:
            store.link(item.final, previous)
        except OSError as exc:
            log.info("no hard link on %s (%s); moving the previous %s instead", folder, exc, item.name)
            store.rename(item.final, previous)
            moved = True
        item.previous = previous
    try:
        store.replace(item.temp, item.final)
    except Exception:
        if item.previous is not None:
            with _logged(f"restoring {item.final}"):
                if moved:
                    store.rename(item.previous, item.final)
                else:
                    store.remove(item.previous)
            item.previous = None
        raise
    item.swapped = True


def _make_archive_folder(store: Store, folder: str) -> str:
    store.makedirs(f"{folder}/{PREVIOUS_FOLDER}")
    stamp = _now().strftime("%Y-%m-%d_%H%M%S")
    for n in range(1, 1000):
        candidate = f"{folder}/{PREVIOUS_FOLDER}/{stamp}" + (f"_{n}" if n > 1 else "")
        try:
            store.mkdir(candidate)
        except OSError as exc:
            if exc.errno == errno.EEXIST:
                continue
            raise
        return candidate
    raise FileExistsError(errno.EEXIST, "too many publications in one second", f"{folder}/{PREVIOUS_FOLDER}")


@contextlib.contextmanager
def _logged(what: str) -> Iterator[None]:
    """Best-effort clean-up: log, never mask the error being raised."""
    try:
        yield
    except Exception:
        log.warning("publish clean-up: %s failed", what, exc_info=True)


def _undo(store: Store, folder: str, staged: list[_Staged], archive: list[str], describe: str) -> None:
    """After a failure: put back what this call already swapped, and remove its temporary files."""
    for item in reversed(staged):
        if item.swapped:
            with _logged(f"rolling back {item.final}"):
                if item.previous is not None:
                    store.replace(item.previous, item.final)
                else:
                    store.remove(item.final)
        elif item.uploaded:
            with _logged(f"removing {item.temp}"):
                try:
                    store.remove(item.temp)
                except OSError as exc:
                    if exc.errno != errno.ENOENT:
                        raise
    for path in archive:
        with contextlib.suppress(Exception):  # succeeds only if everything was rolled back out of it
            store.rmdir(path)
    log.warning("publication to %s failed; previous files left in place in %s", describe, folder)


def _remove_stale_partials(store: Store, folder: str, token: str) -> None:
    """Remove temporary files that crashed runs left in ``folder`` more than a day ago."""
    with _logged(f"looking for stale temporary files in {folder}"):
        for name in store.listdir(folder):
            if not _PARTIAL_NAME.match(name) or name.endswith(token):
                continue
            rel = f"{folder}/{name}"
            with _logged(f"removing stale {rel}"):
                if time.time() - store.mtime(rel) > STALE_PARTIAL_SECONDS:
                    store.remove(rel)
                    log.info("removed stale temporary file %s", store.location(rel))


# --------------------------------------------------------------------------- configuration


def target_from_config(spec: Mapping[str, Any] | None) -> PublishTarget:
    """Build the target of the ``publish:`` config section.

    * ``{"kind": "local", "root": "data/shared-drive", "create_root": false}``: a relative
      ``root`` is taken from the project root; no ``root`` means ``<data dir>/shared-drive``.
      ``kind`` defaults to ``local``.
    * ``{"kind": "smb", "conn_id": "complaints_shared_drive", "share": "reports", "root": "kpi"}``:
      ``share`` defaults to the connection's schema, ``root`` to the top of the share.
    """
    spec = dict(spec or {})
    kind = str(spec.pop("kind", "local")).strip().lower()
    if kind == "local":
        allowed = {"root", "create_root"}
        root_text = spec.get("root")
        root = Path(os.path.expandvars(os.path.expanduser(str(root_text)))) if root_text else None
        if root is None:
            root = data_dir() / "shared-drive"
        elif not root.is_absolute():
            root = PROJECT_ROOT / root
        target: PublishTarget = LocalFolderTarget(root=root, create_root=_as_bool(spec.get("create_root", False)))
    elif kind in ("smb", "samba"):
        allowed = {"conn_id", "share", "root"}
        if not spec.get("conn_id"):
            raise ValueError("publish: kind smb needs conn_id (an Airflow Connection of type samba)")
        target = SambaTarget(
            conn_id=str(spec["conn_id"]),
            share=str(spec["share"]) if spec.get("share") else None,
            root=str(spec.get("root") or ""),
        )
        _clean_root(target.root)
    else:
        raise ValueError(f"publish: unknown kind {kind!r} (expected 'local' or 'smb')")
    if unknown := sorted(set(spec) - allowed):
        raise ValueError(f"publish: unknown setting(s) {unknown} for kind {kind!r}")
    return target


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).strip().lower() in ("1", "true", "yes", "on"):
        return True
    if str(value).strip().lower() in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"publish: expected true or false, got {value!r}")
