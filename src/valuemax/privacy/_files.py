"""Outputs readable by their owner only: 0600 files, 0700 folders, whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

#: Mode of every file valuemax writes (owner read/write).
PRIVATE_FILE = 0o600
#: Mode of every folder valuemax creates (owner read/write/search).
PRIVATE_DIR = 0o700


def make_private(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Set owner-only modes on ``paths`` and everything inside the folders among them.

    Files get :data:`PRIVATE_FILE`, folders :data:`PRIVATE_DIR`, set with ``chmod`` after
    they were written, so the result does not depend on the process umask. Symbolic links
    are not followed (their targets are not valuemax's), and a file with several hard links
    is left alone (it is a user's file linked into an output folder, not valuemax's own).

    Parameters
    ----------
    paths : iterable of path
        Files and folders valuemax itself wrote; missing ones are skipped.

    Returns
    -------
    list of Path
        Every file and folder whose mode was set.

    Raises
    ------
    OSError
        If a mode cannot be set (e.g. the file belongs to another user).
    """
    done: list[Path] = []

    def one(p: Path) -> None:
        st = p.lstat()
        if stat.S_ISLNK(st.st_mode):
            return
        if stat.S_ISDIR(st.st_mode):
            os.chmod(p, PRIVATE_DIR)
            done.append(p)
            for child in sorted(p.iterdir()):
                one(child)
        elif stat.S_ISREG(st.st_mode) and st.st_nlink == 1:
            os.chmod(p, PRIVATE_FILE)
            done.append(p)

    for path in paths:
        p = Path(path)
        if p.exists() or p.is_symlink():
            one(p)
    return done
