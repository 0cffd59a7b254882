"""Exports of the directory (CSV for Excel in French, XLSX, GeoJSON) and atomic writes."""

from __future__ import annotations

import fcntl
import io
import os
import re
import stat
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import geopandas as gpd
import pandas as pd
from openpyxl.utils import get_column_letter

from reseaux.annuaire.model import placed_mask, points
from reseaux.annuaire.serialise import to_table

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
    return tables_csv_bytes([table])


def tables_csv_bytes(tables: Iterable[pd.DataFrame]) -> bytes:
    """Tables of the same columns, one after the other, as one CSV of :func:`table_csv_bytes`
    (the first one's header; at least one table): a list of a million fiches written a part at a
    time, each part let go once written (a table of text gives the bytes of the whole written at
    once; a column of numbers is written as each part's own are). The parts wait in an unnamed
    temporary file, read back once: joined in memory, the file was held twice at its end (0.4 GB
    at a million fiches)."""
    with tempfile.TemporaryFile(prefix="reseaux-export-") as written:
        parts = 0
        for parts, table in enumerate(tables, start=1):
            text = _plain_cells(neutralize_formulas(table)).to_csv(
                index=False, header=parts == 1, sep=";", decimal=",", na_rep="", float_format="%.15g"
            )
            written.write(text.encode("utf-8-sig" if parts == 1 else "utf-8"))
            del text
        if not parts:
            raise ValueError("aucun tableau à écrire (il en faut un, même vide, pour l'en-tête)")
        written.seek(0)
        return written.read()


#: Rows an Excel workbook or a GeoJSON file of a page is built with at most: openpyxl holds every
#: cell as an object, GeoJSON every feature as a dictionary (a million actors' list was gigabytes
#: in the server); beyond, the CSV, written a part at a time, holds every row.
WHOLE_FILE_MAX = 100_000


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


class LockTimeout(TimeoutError):
    """Another save held the lock longer than the caller would wait; nothing was written.

    A :class:`TimeoutError` (so an :class:`OSError`): callers that already report a failed
    write say this one too, in French."""

    def __init__(self, lock_path: Path, timeout: float) -> None:
        self.lock_path = Path(lock_path)
        self.timeout = timeout
        super().__init__(
            f"un autre enregistrement est en cours (verrou « {self.lock_path.name} » tenu depuis plus de "
            f"{timeout:g} s) ; rien n'a été écrit, réessayez dans un instant"
        )


#: How long a save waits for the lock by default: longer than any normal save, short enough
#: that one stuck holder does not block every later save for ever.
LOCK_TIMEOUT = 30.0


@contextmanager
def file_lock(lock_path: Path, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_path`` (created if needed) for the ``with`` block:
    every process and thread that takes it waits its turn (``flock``, released if the holder dies).

    Raises :class:`LockTimeout` when the lock is still held by another after ``timeout`` seconds."""
    lock_path = Path(lock_path)
    private_folder(lock_path.parent)
    with open(lock_path, "a+") as handle:
        deadline = time.monotonic() + timeout
        pause = 0.005
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise LockTimeout(lock_path, timeout) from None
                time.sleep(min(pause, left))
                pause = min(pause * 2, 0.1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


#: Modes of what the app creates for its data (fiches of people, their history, accounts): the
#: server's user alone reads them. A file that exists keeps its own mode when it is rewritten.
PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700


def write_atomic(path: Path, data: bytes | Callable[[BinaryIO], object]) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename: all or nothing, the
    rename itself made durable (the folder is synced). ``data`` may be a function that writes
    to the open file (a pickle of a large object, never held whole as bytes). A new file is private
    (:data:`PRIVATE_FILE`); a file replaced keeps its mode (a directory readable by a group stays so)."""
    path = Path(path)
    aside = write_aside(path, data)
    try:
        os.replace(aside, path)
    except BaseException:
        aside.unlink(missing_ok=True)
        raise
    sync_folder(path.parent)


def write_aside(path: Path, data: bytes | Callable[[BinaryIO], object]) -> Path:
    """Write ``data`` to a new temporary file beside ``path`` (``.<name>.<random>.tmp``), with the
    mode ``path`` must keep (:func:`kept_mode`), flushed to disk; return it, for the caller to
    rename over ``path`` (and to remove should anything fail first). Nothing is left behind when
    the write itself fails."""
    path = Path(path)
    mode = kept_mode(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            if callable(data):
                data(handle)
            else:
                handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def why_not_written(exc: OSError) -> str:
    """Why a file could not be written, as a person reads it (French, no path: it may be shown
    to anyone): « le disque est plein », « le dossier est en lecture seule »…"""
    import errno

    from reseaux.stockage.errors import StorageUnavailable

    if isinstance(exc, StorageUnavailable):  # a database that does not answer: it says which
        return exc.reason
    return {
        errno.ENOSPC: "le disque est plein",
        errno.EDQUOT: "le quota du disque est atteint",
        errno.EROFS: "le dossier est en lecture seule",
        errno.EACCES: "le serveur n'a pas le droit d'écrire dans ce dossier",
        errno.EPERM: "le serveur n'a pas le droit d'écrire dans ce dossier",
    }.get(exc.errno, f"erreur du disque ({exc.strerror})" if exc.strerror else "erreur du disque")


def kept_mode(path: Path) -> int:
    """The permission bits a rewrite of ``path`` must keep: its own, :data:`PRIVATE_FILE` when new."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return PRIVATE_FILE


def sync_folder(folder: Path) -> None:
    """Make the names in ``folder`` durable (a rename or a new file survives a power cut). A file
    system that cannot sync a folder is not an error: the data itself is synced already."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def private_folder(folder: Path) -> Path:
    """Create ``folder`` and its missing parents as :data:`PRIVATE_FOLDER`; a folder that exists
    keeps its mode. Returns ``folder``."""
    target = Path(folder)
    missing, folder = [], target
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for new in reversed(missing):
        try:
            new.mkdir(mode=PRIVATE_FOLDER)
        except FileExistsError:  # made meanwhile by another process
            continue
        new.chmod(PRIVATE_FOLDER)  # mkdir's mode passes through the umask
    return target


def open_private(path: Path, mode: str = "a"):
    """``open(path, mode)`` for text in UTF-8, a new file created :data:`PRIVATE_FILE` (``open``
    would create it readable by all, through the umask)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if mode == "a" else os.O_TRUNC)
    return os.fdopen(os.open(path, flags, PRIVATE_FILE), mode, encoding="utf-8")


def to_geojson_bytes(actors: pd.DataFrame) -> bytes:
    """Return the actors that have a position as GeoJSON (WGS84), multi-values joined by |."""
    placed = actors[placed_mask(actors)]
    table = to_table(placed)
    frame = gpd.GeoDataFrame(table, geometry=points(placed).values, crs="EPSG:4326")
    return frame.to_json(ensure_ascii=False, drop_id=True).encode("utf-8")
