"""Content-addressed storage of originals (and derived files such as page previews).

An original is written to a temporary file in the same folder, flushed and fsynced, then
renamed to its final name (its SHA-256), so a row is only ever committed pointing at a complete
file. The interface leaves room for a shared-volume or S3-compatible backend.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path
from typing import BinaryIO

CHUNK = 1024 * 1024


class TooLarge(Exception):
    """The stream was longer than the allowed size (it was not kept)."""


class Storage(ABC):
    """Where originals and derived files live."""

    @abstractmethod
    def spool(self, stream: BinaryIO, max_bytes: int) -> tuple[Path, str, int]:
        """Copy ``stream`` to a temporary file, stopping past ``max_bytes``.

        Returns (temporary path, sha256, size); raises :class:`TooLarge` while streaming.
        """

    @abstractmethod
    def commit(self, tmp_path: Path, sha256: str) -> Path:
        """Durably move a spooled file to its content address; return the final path."""

    @abstractmethod
    def path(self, sha256: str) -> Path:
        """Local path of an original."""

    @abstractmethod
    def derived_dir(self, sha256: str) -> Path:
        """Folder for files derived from an original (page previews)."""


class LocalStorage(Storage):
    """Originals under ``<root>/originals/ab/cd/<sha256>``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.tmp = self.root / "tmp"

    def spool(self, stream: BinaryIO, max_bytes: int) -> tuple[Path, str, int]:
        self.tmp.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        fd, name = tempfile.mkstemp(dir=self.tmp, prefix="upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise TooLarge(size)
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise
        return Path(name), digest.hexdigest(), size

    def path(self, sha256: str) -> Path:
        return self.root / "originals" / sha256[:2] / sha256[2:4] / sha256

    def derived_dir(self, sha256: str) -> Path:
        return self.root / "derived" / sha256[:2] / sha256[2:4] / sha256

    def commit(self, tmp_path: Path, sha256: str) -> Path:
        final = self.path(sha256)
        if final.exists():
            tmp_path.unlink(missing_ok=True)
            return final
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp_path, final)
        # The rename itself must reach the disk before the row pointing at it is committed.
        dir_fd = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return final
