"""Files that may hold what an operator should keep to themself (password
hashes, a log of who did what, the console's remembered state): made readable
by their owner only, whatever the umask."""

from __future__ import annotations

import os
from pathlib import Path


def create_private(path: Path) -> None:
    """Create ``path`` (and its missing directories, 0700) as an empty 0600
    file unless it exists; an existing file keeps the mode it has."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def keep_private(path: Path) -> None:
    """``create_private``, and an existing file made 0600 too (for files only
    userdesk writes: its log and its remembered state)."""
    create_private(path)
    os.chmod(path, 0o600)


class PrivateFileError(Exception):
    """A file meant for its owner only could not be used: its message names
    the file and why (never its content)."""


def read_private(path: Path, what: str, *, nofollow: bool = False, limit: int = -1) -> bytes:
    """The content of ``path``, refused unless only its owner may read it (the
    mode of the file opened, not of whatever the path names later);
    ``nofollow``: a symbolic link is refused too. ``what`` names it in the
    message ("ldap_bind_password_file", "audit key file")."""
    try:
        fd = os.open(path, os.O_RDONLY | (os.O_NOFOLLOW if nofollow else 0))
        with os.fdopen(fd, "rb") as fh:
            mode = os.fstat(fh.fileno()).st_mode
            if mode & 0o077:
                raise PrivateFileError(f"{what} {path}: readable by others (mode {mode & 0o777:o}); chmod 600 it")
            return fh.read(limit)
    except OSError as exc:
        raise PrivateFileError(f"{what} {path}: cannot be read ({exc.strerror or type(exc).__name__})") from None
