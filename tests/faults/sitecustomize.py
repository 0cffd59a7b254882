"""A disk that fails on demand, for the browser test of a save that cannot be written.

Tests only: ``tests/test_browser_accidents.py`` puts this folder first on the served app's
``PYTHONPATH``, so Python runs this file at start-up (``sitecustomize``); the app itself has no
such switch. While the file named by ``RESEAUX_TEST_DISK_FULL`` exists, replacing a file of the
folder it sits in fails as on a full disk (``ENOSPC``) — the last step of every save
(:meth:`reseaux.annuaire.store.DirectoryStore._commit`); remove it and the disk « has room » again.
"""

import errno
import os
from pathlib import Path

if os.environ.get("RESEAUX_TEST_DISK_FULL"):
    _flag = Path(os.environ["RESEAUX_TEST_DISK_FULL"])
    _replace = os.replace

    def _replace_unless_full(src, dst, *args, **kwargs):
        if _flag.exists() and Path(dst).parent == _flag.parent:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dst))
        return _replace(src, dst, *args, **kwargs)

    os.replace = _replace_unless_full
