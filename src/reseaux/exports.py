"""Exports of the directory (CSV for Excel in French, XLSX, GeoJSON) and atomic writes."""

from __future__ import annotations

import fcntl
import io
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import pandas as pd
from openpyxl.utils import get_column_letter

from reseaux.directory import to_table

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


#: A number or a phone number (« -1.09 », « +33 2 35 00 00 00 », « (0)2 35… »): nothing a
#: spreadsheet could run, written as it is (prefixing it corrupted numbers and phones).
_NUMBER_LIKE = re.compile(r"^[+-]?[\d\s.,()/-]*\d[\d\s.,()/-]*$")


def neutralize_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix with ``'`` every cell a spreadsheet would run as a formula (=, +, -, @, tab,
    return at its start), except numbers and phone numbers, which run nothing."""
    def safe(value):
        if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER_LIKE.match(value):
            return "'" + value
        return value

    return frame.map(safe)


def table_csv_bytes(table: pd.DataFrame) -> bytes:
    """Any table as CSV for Excel in French: UTF-8 with BOM, ``;``, formulas neutralised.

    Numbers are written as French Excel reads them: whole numbers as integers (« 2159 », not
    « 2159.0 »), decimals with a comma (« 0,05 »), no thousands separator; a missing value is an
    empty cell (never « None » or « nan »); true/false are « oui »/« non ».
    """
    return _plain_cells(neutralize_formulas(table)).to_csv(
        index=False, sep=";", decimal=",", na_rep="", float_format="%.15g").encode("utf-8-sig")


def _plain_cells(table: pd.DataFrame) -> pd.DataFrame:
    out = table.copy()
    for column in out.columns:
        values = out[column]
        if pd.api.types.is_bool_dtype(values):
            out[column] = values.map({True: "oui", False: "non"})
        elif pd.api.types.is_float_dtype(values):
            values = values.replace([float("inf"), float("-inf")], float("nan"))
            finite = values.dropna()
            out[column] = values.astype("Int64") if (finite == finite.round()).all() else values
        elif values.dtype == object:
            out[column] = values.map(_plain_cell)
    return out


def _plain_cell(value):
    """One cell of a text column: None/NaN empty, 2159.0 → « 2159 », 0.05 → « 0,05 »."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.15g}".replace(".", ",")
    return value


def table_xlsx_bytes(table: pd.DataFrame, sheet: str) -> bytes:
    """Any table as an Excel workbook: one sheet, formulas neutralised, readable column widths."""
    buffer = io.BytesIO()
    table = neutralize_formulas(table)
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        table.to_excel(writer, index=False, sheet_name=sheet)
        columns = writer.sheets[sheet].column_dimensions
        for i, column in enumerate(table.columns, start=1):
            width = max([len(str(column)), *table[column].astype(str).str.len().head(200).tolist()])
            columns[get_column_letter(i)].width = min(max(width + 2, 8), 50)
    return buffer.getvalue()


def to_csv_bytes(actors: pd.DataFrame) -> bytes:
    """The actors as the directory file holds them, as CSV for Excel in French."""
    return table_csv_bytes(to_table(actors))


def to_xlsx_bytes(actors: pd.DataFrame, sheet: str = "Annuaire") -> bytes:
    """The actors as the directory file holds them, as an Excel workbook."""
    return table_xlsx_bytes(to_table(actors), sheet)


@contextmanager
def file_lock(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_path`` (created if needed) for the ``with`` block:
    every process and thread that takes it waits its turn (``flock``, released if the holder dies)."""
    lock_path = Path(lock_path)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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


def to_geojson_bytes(actors: gpd.GeoDataFrame) -> bytes:
    """Return the actors that have a position as GeoJSON (WGS84), multi-values joined by |."""
    placed = actors[actors.geometry.notna()]
    table = to_table(placed)
    frame = gpd.GeoDataFrame(table, geometry=placed.geometry.values, crs="EPSG:4326")
    return frame.to_json(ensure_ascii=False, drop_id=True).encode("utf-8")
