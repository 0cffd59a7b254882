"""The directory file's table: actors as the file stores them, one string a cell."""

from __future__ import annotations

import pandas as pd

from reseaux.annuaire import columns


def to_table(actors: pd.DataFrame) -> pd.DataFrame:
    """Return ``actors`` as the file stores them: one string per cell, multi-values joined by |."""
    out = pd.DataFrame(index=actors.index)
    for column in columns.columns():
        name = column.name
        values = actors[name] if name in actors else pd.Series("", index=actors.index)
        if column.multi:
            out[name] = values.map(lambda v: "|".join(v) if isinstance(v, tuple | list) else (v or ""))
        elif column.kind == columns.YES_NO:
            out[name] = values.map(lambda v: "oui" if v is True else "non")
        elif column.kind == columns.SCORE:
            out[name] = values.map(lambda v: "" if v is None or pd.isna(v) else f"{v:.2f}")
        elif column.kind == columns.COORDINATE:
            out[name] = values.map(lambda v: "" if v is None or pd.isna(v) else f"{v:.6f}")
        else:
            out[name] = values.map(lambda v: "" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v))
    return out
