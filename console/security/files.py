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
