"""Large CSV file drops read in bounded chunks: what the Traffy Fondue and 1555 adapters share.

A file is planned as parts of at most ``chunk_rows`` rows. One streaming pass (:func:`scan`)
over its bytes finds the byte offset and line where every chunk starts and the whole file's
sha256; reading a part seeks to its first byte and parses up to its last, so memory holds one
chunk at a time whatever the file's size. The CSV structure (quotes, commas, line ends) is
ASCII in every encoding these files come in (UTF-8, Windows-874), so chunk boundaries found on
the bytes hold whatever the text's encoding; each adapter passes its own ``decode``. Lines end
at ``\\r\\n``, ``\\n`` or a lone ``\\r``, as Python's universal newlines split them, so a
"CSV (Macintosh)" export splits like the others.

A part is ``"<file>#<first_row>-<last_row>@<start_byte>-<end_byte>"`` (rows are the file's
records numbered from 1 after the header; bytes the chunk's span). :class:`FileRuns` remembers,
per process, which chunks of which file version were planned and which have loaded, so that a
file is archived only once every chunk of it has loaded.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from complaints.adapters import ExtractRequest, SourceError

log = logging.getLogger(__name__)

DEFAULT_CHUNK_ROWS = 50_000
PART_SPAN = re.compile(r"^(\d+)-(\d+)@(\d+)-(\d+)$")
_BLOCK = 1 << 16

Decoder = Callable[[bytes, int], str]  # (a line's bytes, its offset in the file) -> its text
NextRecord = Callable[[Any, "Lines", int], "list[str] | None"]  # (csv reader, lines, row) -> record


def chunk_rows(request: ExtractRequest) -> int:
    """The channel's ``chunk_rows`` setting: the most rows one part (one batch) of a file holds."""
    rows = int(request.channel.settings.get("chunk_rows", DEFAULT_CHUNK_ROWS))
    if rows < 1:
        raise SourceError(f"channel {request.channel.code}: chunk_rows must be at least 1, not {rows}")
    return rows


@dataclass(frozen=True)
class Chunk:
    """Rows ``first_row..last_row`` of a file, in bytes ``[start, end)``, starting on line ``line``.

    The line (1-based, 0 when unknown) is not part of the part's name and not compared: it only
    lets a reader name the physical line of a row in its messages."""

    first_row: int
    last_row: int
    start: int
    end: int
    line: int = field(default=0, compare=False)

    def part(self, file_name: str) -> str:
        return f"{file_name}#{self.first_row}-{self.last_row}@{self.start}-{self.end}"

    @property
    def rows(self) -> int:
        return self.last_row - self.first_row + 1


def parse_span(span: str) -> Chunk | None:
    """The chunk a part's ``<first_row>-<last_row>@<start>-<end>`` names; None if it is not one."""
    match = PART_SPAN.match(span)
    return Chunk(*(int(g) for g in match.groups())) if match else None


class Lines:
    """The lines of a binary file from byte ``start`` up to ``end``, decoded, for ``csv.reader``.

    Keeps the byte offset of what it has handed out (``offset``), where the record being parsed
    started (``record_start``, for the caller to set) and how many lines it has handed out,
    counted from ``first_line`` (``line``: the physical line of the last one). A leading UTF-8
    BOM is dropped. Feeds ``digest`` with every byte it reads. Holds one line (and one block)
    in memory at a time.
    """

    def __init__(
        self,
        fh: IO[bytes],
        path: Path,
        start: int = 0,
        end: int | None = None,
        *,
        decode: Decoder,
        digest: Any = None,
        first_line: int = 1,
    ) -> None:
        fh.seek(start)
        self.fh, self.path, self.end, self.decode, self.digest = fh, path, end, decode, digest
        self.offset = self.record_start = start
        self.line = first_line - 1
        self._buffer = b""
        self._position = 0
        self._eof = False

    def __iter__(self) -> Lines:
        return self

    def __next__(self) -> str:
        if self.end is not None and self.offset >= self.end:
            raise StopIteration
        raw = self._raw_line()
        if raw is None:
            raise StopIteration
        at = self.offset
        self.offset += len(raw)
        self.line += 1
        if at == 0 and raw.startswith(codecs.BOM_UTF8):
            raw, at = raw[len(codecs.BOM_UTF8) :], len(codecs.BOM_UTF8)
        return self.decode(raw, at)

    def _raw_line(self) -> bytes | None:
        """The next line's bytes with its line end (``\\r\\n``, ``\\n`` or ``\\r``); None at the end."""
        while True:
            buffer, position = self._buffer, self._position
            newline = buffer.find(b"\n", position)
            carriage = buffer.find(b"\r", position, newline if newline >= 0 else len(buffer))
            if carriage >= 0 and (carriage + 1 < len(buffer) or self._eof):
                stop = carriage + 2 if buffer[carriage + 1 : carriage + 2] == b"\n" else carriage + 1
            elif newline >= 0 and carriage < 0:
                stop = newline + 1
            elif self._eof:
                if position >= len(buffer):
                    return None
                stop = len(buffer)
            else:  # no complete line buffered (or a "\r" that may be half of "\r\n"): read on
                rest = buffer[position:]
                block = self.fh.read(max(_BLOCK, len(rest)))  # doubling: a 10 MB field costs O(size)
                if self.digest is not None:
                    self.digest.update(block)
                self._eof = not block
                self._buffer, self._position = rest + block, 0
                continue
            self._position = stop
            return buffer[position:stop]


@dataclass
class Scan:
    """What one pass over a file found: its sha256, header, chunks and last non-blank row."""

    checksum: str
    header: list[str]  # the header record's fields as ``decode`` gave them
    header_line: int  # the physical line the header starts on
    header_start: int  # its byte offset
    chunks: list[Chunk]
    last_row: int  # the last row with a non-blank field (0: none)


def scan(
    path: Path,
    rows_per_chunk: int,
    *,
    decode: Decoder,
    next_record: NextRecord,
    check_header: Callable[[list[str] | None], Any] | None = None,
    skip_blank_before_header: bool = False,
) -> Scan:
    """One streaming pass over a file: its sha256 and its chunks of at most ``rows_per_chunk`` rows.

    ``next_record`` raises the adapter's SourceError for malformed CSV; ``check_header`` is called
    with the header (None: the file has none) as soon as it is read. A file with a header and no
    rows is one empty chunk. Remembers the checksum for :func:`file_sha256`.
    """
    digest = hashlib.sha256()
    chunks: list[Chunk] = []
    last_row = 0
    with path.open("rb") as fh:
        lines = Lines(fh, path, decode=decode, digest=digest)
        reader = csv.reader(lines, strict=True)
        header_start, header_line = lines.offset, lines.line + 1
        header = next_record(reader, lines, 0)
        while skip_blank_before_header and header is not None and not any(f.strip() for f in header):
            header_start, header_line = lines.offset, lines.line + 1
            header = next_record(reader, lines, 0)
        if check_header is not None:
            check_header(header)
        if header is None:
            raise SourceError(f"{path}: the file is empty (no header row)")
        first, start, line, row = 1, lines.offset, lines.line + 1, 0
        while (fields := next_record(reader, lines, row + 1)) is not None:
            row += 1
            if any(f.strip() for f in fields):
                last_row = row
            if row - first + 1 == rows_per_chunk:
                chunks.append(Chunk(first, row, start, lines.offset, line))
                first, start, line = row + 1, lines.offset, lines.line + 1
        if row >= first or not chunks:
            chunks.append(Chunk(first, row, start, lines.offset, line))
    checksum = digest.hexdigest()
    _remember_checksum(path, checksum)
    return Scan(checksum, header, header_line, header_start, chunks, last_row)


# -- checksums and the run's chunks ------------------------------------------------------------

_checksums: dict[tuple[str, int, int], str] = {}  # (path, size, mtime_ns) -> sha256
_checksums_lock = threading.Lock()


def _stat_key(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return (str(path), stat.st_size, stat.st_mtime_ns)


def _remember_checksum(path: Path, checksum: str) -> None:
    with _checksums_lock:
        _checksums[_stat_key(path)] = checksum


def file_sha256(path: Path) -> str:
    """sha256 of the file's bytes, streamed; remembered per (path, size, mtime) for the next chunk."""
    key = _stat_key(path)
    with _checksums_lock:
        known = _checksums.get(key)
    if known:
        return known
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    checksum = digest.hexdigest()
    with _checksums_lock:
        _checksums[key] = checksum
    return checksum


@dataclass
class _FileRun:
    planned: set[str]
    loaded: set[str] = field(default_factory=set)


class FileRuns:
    """The parts ``plan`` found in each file (by path and content) and those loaded since, in this
    process; ``read`` refuses a file whose content changed since it was planned."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._runs: dict[tuple[str, str], _FileRun] = {}
        self._planned: dict[str, str] = {}  # path -> the sha256 plan() found
        self._lock = threading.Lock()

    def planned(self, path: Path, checksum: str, parts: list[str]) -> None:
        with self._lock:
            self._runs[(str(path), checksum)] = _FileRun(set(parts))
            self._planned[str(path)] = checksum

    def check_unchanged(self, path: Path, checksum: str) -> None:
        """SourceError when ``plan`` saw other content in this file."""
        with self._lock:
            planned = self._planned.get(str(path))
        if planned is not None and planned != checksum:
            raise SourceError(f"{path}: the file changed since it was planned (its sha256 differs); re-run to read it")

    def complete_after(self, path: Path, part: str, checksum: str, replan: Callable[[], tuple[str, list[str]]]) -> bool:
        """Record ``part`` of ``path`` (content ``checksum``) as loaded; True when every part of the
        file has loaded and the file is still that content, i.e. it can be archived.

        ``replan`` gives (sha256, parts) of the file as ``plan`` would: used when the file was
        planned by another process."""
        key = (str(path), checksum)
        with self._lock:
            run = self._runs.get(key)
        if run is None:
            found, parts = replan()
            if found != checksum:
                log.warning("%s %s changed since it was read; left in the inbox for the next run", self.source, path)
                return False
            run = _FileRun(set(parts))
        with self._lock:
            run.loaded.add(part)
            missing = run.planned - run.loaded
            self._runs[key] = run
            if not missing:
                del self._runs[key]
        if missing:
            log.info("%s %s: %d of %d chunks loaded", self.source, path.name, len(run.loaded), len(run.planned))
            return False
        if file_sha256(path) != checksum:
            log.warning("%s %s changed since it was read; left in the inbox for the next run", self.source, path)
            return False
        return True
