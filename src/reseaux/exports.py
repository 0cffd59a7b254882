"""Exports of the directory: CSV for Excel in French, written atomically to disk when asked."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

from reseaux.directory import to_table

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralize_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix with ``'`` every cell a spreadsheet would run as a formula (=, +, -, @)."""
    return frame.map(lambda v: "'" + v if isinstance(v, str) and v.startswith(_FORMULA_START) else v)


def to_csv_bytes(actors: pd.DataFrame) -> bytes:
    """Return ``actors`` as CSV for Excel in French: UTF-8 with BOM, ``;`` separator."""
    table = neutralize_formulas(to_table(actors))
    return table.to_csv(index=False, sep=";").encode("utf-8-sig")


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename: all or nothing."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
