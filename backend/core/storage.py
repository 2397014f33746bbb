"""Evidence storage: write-once blobs addressed by their SHA-256, and the spool for uploads in progress.

Services use the `BlobStore` protocol only. `FileSystemStore` (the default) keeps each blob at
`<data_dir>/evidence/<kind>/<aa>/<bb>/<sha256>`, read-only (kinds: a photo's original and its derivatives, and
the documents of letters made known). A blob is written once: its content is fsynced,
then linked under its name only if that name is still free, so a reader sees a complete blob or none and
a stored blob is never replaced. An S3-compatible store implements the same four operations: `put` as a
conditional PUT (`If-None-Match: *`) of the spooled file, `open` as a streamed GET, `delete` as DELETE.

`Spool` holds request bodies while they arrive and derivatives while they are made: files in a dedicated
directory, each locked (flock) by the process writing it. The lock goes with the process, so at start-up
`sweep()` removes exactly the files no living process is writing (left by a killed server), even when
other workers are uploading at that moment.

`PartStore` keeps the bytes of resumable uploads, which must outlive the request and the process: one
directory per upload, one file per append (`<token>.part`). A part is fsynced, with its directory, before
the caller records it as received; which parts count is the database's business, not the file system's.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import os
import re
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal, Protocol

Kind = Literal["original", "derivative", "document"]
KINDS: tuple[Kind, ...] = ("original", "derivative", "document")
CHUNK_BYTES = 256 * 1024
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class BlobMissing(Exception):
    """The database names a blob the store does not have."""


@dataclass
class Blob:
    """An open blob: its size, and its content as chunks (read once)."""

    size: int
    chunks: AsyncIterator[bytes]


class BlobStore(Protocol):
    async def put(self, kind: Kind, sha256: str, source: Path) -> bool:
        """Store the file at `source` (whose content hashes to `sha256`) unless that blob exists; True when
        it was stored now. `source` stays where it is; the caller removes it."""

    async def open(self, kind: Kind, sha256: str) -> Blob:
        """The blob, streamed in chunks; BlobMissing when it is not there."""

    async def exists(self, kind: Kind, sha256: str) -> bool: ...

    async def delete(self, kind: Kind, sha256: str) -> None:
        """Remove the blob (nothing happens when it is absent)."""


def _check_key(kind: str, sha256: str) -> None:
    # Names come from our own hashes; checking them anyway keeps any path outside the store impossible.
    if kind not in KINDS or not _SHA256.match(sha256):
        raise ValueError("not a blob key")


class FileSystemStore:
    """Blobs as read-only files under `root` (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, kind: Kind, sha256: str) -> Path:
        _check_key(kind, sha256)
        return self.root / kind / sha256[:2] / sha256[2:4] / sha256

    async def put(self, kind: Kind, sha256: str, source: Path) -> bool:
        return await asyncio.to_thread(self._put, self.path(kind, sha256), source)

    def _put(self, final: Path, source: Path) -> bool:
        if final.exists():
            return False
        final.parent.mkdir(parents=True, exist_ok=True)
        with open(source, "rb") as content:
            os.fsync(content.fileno())
        os.chmod(source, 0o444)
        try:
            os.link(source, final)  # fails, rather than replaces, when the name is taken
        except FileExistsError:
            return False
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.EPERM, errno.ENOTSUP):
                raise
            return self._copy_into_place(final, source)
        _fsync_directory(final.parent)
        return True

    def _copy_into_place(self, final: Path, source: Path) -> bool:
        """For a spool on another file system: copy beside the target, then link the complete copy."""
        partial = final.with_name(f".{final.name}.{uuid.uuid4().hex}")
        try:
            with open(source, "rb") as src, open(partial, "xb") as dst:
                shutil.copyfileobj(src, dst, CHUNK_BYTES)
                dst.flush()
                os.fsync(dst.fileno())
            os.chmod(partial, 0o444)
            try:
                os.link(partial, final)
            except FileExistsError:
                return False
            _fsync_directory(final.parent)
            return True
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(partial)

    async def open(self, kind: Kind, sha256: str) -> Blob:
        path = self.path(kind, sha256)
        try:
            handle = await asyncio.to_thread(open, path, "rb")
        except FileNotFoundError:
            raise BlobMissing(f"{kind} blob missing") from None
        size = os.fstat(handle.fileno()).st_size
        return Blob(size=size, chunks=_chunks(handle))

    async def exists(self, kind: Kind, sha256: str) -> bool:
        return await asyncio.to_thread(self.path(kind, sha256).exists)

    async def delete(self, kind: Kind, sha256: str) -> None:
        path = self.path(kind, sha256)
        with contextlib.suppress(FileNotFoundError):
            await asyncio.to_thread(os.unlink, path)


async def _chunks(handle: BinaryIO) -> AsyncIterator[bytes]:
    try:
        while chunk := await asyncio.to_thread(handle.read, CHUNK_BYTES):
            yield chunk
    finally:
        handle.close()


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- the spool -----------------------------------------------------------------------------------------------


@dataclass
class SpoolFile:
    path: Path
    fd: int

    def write(self, data: bytes | bytearray | memoryview) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]


class Spool:
    """Temporary files for uploads in progress (see the module docstring)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @contextlib.contextmanager
    def file(self) -> Iterator[SpoolFile]:
        """A new, locked, empty file; removed when the block ends, however it ends."""
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{uuid.uuid4().hex}.part"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield SpoolFile(path, fd)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            os.close(fd)

    def sweep(self) -> int:
        """Remove the files no living process holds (left by a killed or crashed server); their count."""
        removed = 0
        if not self.directory.is_dir():
            return 0
        for entry in self.directory.iterdir():
            try:
                fd = os.open(entry, os.O_RDONLY)
            except OSError:
                continue
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # an upload in progress in another worker
                # Unlinked while we hold the lock, so no writer can take the file over in between.
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry)
                    removed += 1
            finally:
                os.close(fd)
        return removed


# --- parts of resumable uploads ------------------------------------------------------------------------------


class PartStore:
    """Part files of resumable uploads under `root/<upload id>/` (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def directory(self, upload_id: uuid.UUID) -> Path:
        return self.root / upload_id.hex

    @contextlib.contextmanager
    def new_part(self, upload_id: uuid.UUID) -> Iterator[tuple[str, SpoolFile]]:
        """A new empty part file and its token; the caller removes it (`discard`) unless it keeps it."""
        directory = self.directory(upload_id)
        directory.mkdir(parents=True, exist_ok=True)
        token = uuid.uuid4().hex
        fd = os.open(directory / f"{token}.part", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            yield token, SpoolFile(directory / f"{token}.part", fd)
        finally:
            os.close(fd)

    @staticmethod
    def seal(part: SpoolFile) -> None:
        """Make the part durable: its content and its name survive a crash once this returns."""
        os.fsync(part.fd)
        _fsync_directory(part.path.parent)

    def discard(self, upload_id: uuid.UUID, token: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.directory(upload_id) / f"{token}.part")

    def open_parts(self, upload_id: uuid.UUID, tokens: list[str]) -> list[BinaryIO]:
        """The parts, opened in order (they stay readable if the upload is removed meanwhile);
        FileNotFoundError when one is gone."""
        handles: list[BinaryIO] = []
        try:
            for token in tokens:
                handles.append(open(self.directory(upload_id) / f"{token}.part", "rb"))  # noqa: SIM115
        except BaseException:
            for handle in handles:
                handle.close()
            raise
        return handles

    def remove(self, upload_id: uuid.UUID) -> None:
        shutil.rmtree(self.directory(upload_id), ignore_errors=True)

    def upload_ids(self) -> list[uuid.UUID]:
        """The uploads that have a directory here."""
        if not self.root.is_dir():
            return []
        found = []
        for entry in self.root.iterdir():
            with contextlib.suppress(ValueError):
                found.append(uuid.UUID(hex=entry.name))
        return found


async def read_parts(handles: list[BinaryIO]) -> AsyncIterator[bytes]:
    """The parts' content in order, as one stream; closes them."""
    try:
        for handle in handles:
            while chunk := await asyncio.to_thread(handle.read, CHUNK_BYTES * 4):
                yield chunk
    finally:
        for handle in handles:
            handle.close()
