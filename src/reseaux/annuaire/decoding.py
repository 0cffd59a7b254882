"""Reading a directory file's text: its encoding, its delimiter, its header named by the columns.

A spreadsheet's CSV export comes in UTF-8 with or without BOM, UTF-16, Windows-1252, with ``,``,
``;`` or tabs, and headers in any case or spelling (« CP », « Code postal »): this makes rows of
cells of it, and names each header cell by its column of :mod:`reseaux.annuaire.columns`.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import warnings
from collections.abc import Callable, Iterator
from typing import BinaryIO

import numpy as np
import pandas as pd
from rapidfuzz import process

from reseaux.annuaire import columns
from reseaux.annuaire.model import WARNING, DirectoryError, Issue
from reseaux.text import fold


def read_table(data: bytes) -> tuple[list[list[str]], str, str]:
    """Decode and split a CSV export of a spreadsheet.

    Returns ``(rows, encoding, delimiter)``; ``rows[0]`` is the header. The encoding is UTF-8
    (with or without BOM), else Windows-1252, else charset-normalizer's best guess. The
    delimiter is the one of ``;``, ``,`` and tab that makes the most known column headers.
    """
    rows, encoding, delimiter = iter_table(data)
    return list(rows), encoding, delimiter


def iter_table(data: bytes | BinaryIO) -> tuple[Iterator[list[str]], str, str]:
    """As :func:`read_table`, the rows read as they are asked for, so that a reader that keeps
    something else of them never holds them all (a million rows of thirty cells as lists of
    strings: about 1.5 GB). ``data`` is the file's bytes or the file itself, open in binary and
    read from its start (a UTF-8 or Windows-1252 file is then never held whole: 0.2 GB at a
    million fiches). Raises DirectoryError as the rows are read when the CSV is unreadable."""
    lines, encoding, size = _text_lines(data)
    names_of = columns.header_names()
    first_line = next(lines(), "")  # a lone \r ends it too (old Mac files were one long header)
    best = (",", -1)
    for delimiter in (";", ",", "\t"):
        header = next(csv.reader([first_line], delimiter=delimiter), [])
        known = sum(1 for h in header if fold(h) in names_of)
        score = known * 1000 + len(header)
        if score > best[1]:
            best = (delimiter, score)
    delimiter = best[0]
    # Python's csv stops at 131,072 characters a cell, and the whole file then failed to load
    # (on every page, for everyone): read longer cells, the validation keeps them aside.
    csv.field_size_limit(max(csv.field_size_limit(), size + 1))
    return _rows(csv.reader(lines(), delimiter=delimiter)), encoding, delimiter


#: A line as ``io.StringIO(text, newline="")`` gives it: up to ``\n``, ``\r\n`` or a lone ``\r``, kept.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def _lines(text: str) -> Iterator[str]:
    """The lines of ``text`` as ``io.StringIO(text, newline="")`` gives them, without its copy of
    the text at four bytes a character (800 MB for the CSV of a million fiches)."""
    for line in _LINE.finditer(text):
        yield line.group()


def _rows(reader) -> Iterator[list[str]]:
    try:
        yield from reader
    except csv.Error as exc:
        raise DirectoryError(
            f"Fichier CSV illisible ({exc}) : ouvrez-le dans un tableur et enregistrez-le de nouveau au format CSV."
        ) from exc


def table_from_rows(rows: list[list[str]]) -> pd.DataFrame:
    """Every non-blank row as strings, columns named as the directory names them.

    Unknown columns keep their header; a duplicated column is dropped (only its first copy is
    read, as when loading). Raises DirectoryError when a required column is missing. The cells
    are pandas strings (``str``, kept by Arrow), as :func:`read_directory_table` and the
    database's reading give them.
    """
    header, _ = map_header(rows[0])
    names = [h if h else "" for h in header]
    keep = [i for i, h in enumerate(names) if h]
    body = [[(cells[i] if i < len(cells) else "") for i in keep] for cells in rows[1:] if any(c.strip() for c in cells)]
    return _ordered(pd.DataFrame(body, columns=[names[i] for i in keep], dtype=str))


def _ordered(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with every column of the registry (an absent one empty), those first, in order."""
    known = columns.names()
    for column in known:
        if column not in table:
            table[column] = pd.Series("", index=table.index, dtype=str)
    ordered = [*known, *(c for c in table.columns if c not in known)]
    return table[ordered].reset_index(drop=True)


def read_directory_table(data: bytes) -> tuple[pd.DataFrame, str, str]:
    """:func:`table_from_rows` of :func:`read_table`, ``(table, encoding, delimiter)``, read by
    pandas' C reader when the file is regular: UTF-8 (a mark or not), every row of the header's
    width or shorter. Python's ``csv`` made a list of strings per row first — at a million fiches
    16.6 s and 2.5 GB at the peak, the table 1.9 GB of Python strings; pandas reads the same
    cells in 4.4 s, 0.9 GB at the peak, the table 0.4 GB of Arrow strings. Any other file (another
    encoding, a longer row, a cell pandas' reader refuses) is read by ``csv`` as before: the
    same cells either way (``tests/test_directory_reading.py`` compares them)."""
    rows, encoding, delimiter = iter_table(data)
    header = next(rows, None)
    if header is None:
        raise DirectoryError("Fichier vide : la première ligne doit nommer les colonnes.")
    if encoding in ("utf-8", "utf-8-sig") and b"\x00" not in data:
        table = _read_regular(data, header, encoding, delimiter)
        if table is not None:
            return table, encoding, delimiter
    return table_from_rows([header, *rows]), encoding, delimiter


def _pandas_csv(data: bytes, delimiter: str, encoding: str, width: int) -> pd.DataFrame:
    return pd.read_csv(
        io.BytesIO(data),
        sep=delimiter,
        header=0,
        names=range(width),
        index_col=False,
        dtype=str,
        na_filter=False,  # an empty cell is "", as csv gives it
        skip_blank_lines=True,
        encoding=encoding,
        engine="c",
        on_bad_lines="error",
        quotechar='"',
        doublequote=True,
        skipinitialspace=False,
    )


def _read_regular(data: bytes, header: list[str], encoding: str, delimiter: str) -> pd.DataFrame | None:
    """The table of a regular file by pandas' C reader, None when pandas would read it otherwise
    than ``csv`` (a row longer than the header, a reader's error): see :func:`read_directory_table`."""
    names, _ = map_header(header)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)  # a longer row: pandas drops cells, says so
            read = _pandas_csv(data, delimiter, encoding, len(header))
    except (ValueError, pd.errors.ParserError, pd.errors.ParserWarning, UnicodeDecodeError, IndexError):
        return None
    if read.shape[1] != len(header):
        return None
    read = read.fillna("")  # the cells a short row lacks
    # A row of blanks only (« ;;; », spaces) is no fiche: narrowed column by column, it costs little.
    blank = np.ones(len(read), dtype=bool)
    for j in range(read.shape[1]):
        if not blank.any():
            break
        blank[blank] = (read.iloc[:, j][blank].str.strip() == "").to_numpy()
    if blank.any():
        read = read[~blank]
    keep = [j for j, name in enumerate(names) if name]
    table = read.iloc[:, keep].set_axis([names[j] for j in keep], axis=1)
    return _ordered(table)


#: Byte-order marks of the UTF-16 and UTF-32 texts spreadsheets write (Excel's « Texte Unicode »
#: is UTF-16 LE with its mark, tab-separated); UTF-32's first, it begins like UTF-16 LE's.
_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)


def _text_lines(data: bytes | BinaryIO) -> tuple[Callable[[], Iterator[str]], str, int]:
    """What makes the lines of the file's text (each call from the start), its encoding and its
    size in bytes — :func:`_decode`'s, without holding the whole text when it is UTF-8 or
    Windows-1252 (the usual files, and what the database writes): those are checked a megabyte at
    a time, then decoded a line at a time. The CSV of a million fiches is 0.2 GB, its text 0.4 GB
    (two bytes a character as soon as one is accented), held while every row was validated."""
    head, size, has_nul = _scan(data)
    if not any(head.startswith(bom) for bom, _ in _BOMS) and not has_nul:
        if head.startswith(b"\xef\xbb\xbf"):
            return _streamed(data, "utf-8-sig", "replace"), "utf-8-sig", size
        for encoding in ("utf-8", "cp1252"):
            if _decodes(data, encoding):
                return _streamed(data, encoding, "strict"), encoding, size
    if not isinstance(data, bytes | bytearray):  # a rare file (UTF-16, NUL, unknown encoding): read whole
        data.seek(0)
        data = data.read()
    text, encoding = _decode(data)
    return (lambda: _lines(text)), encoding, size


_STEP = 1 << 20


def _blocks(data: bytes | BinaryIO) -> Iterator[bytes | memoryview]:
    """``data`` a megabyte at a time, from its start."""
    if isinstance(data, bytes | bytearray):
        view = memoryview(data)
        for start in range(0, len(data), _STEP):
            yield view[start : start + _STEP]
        return
    data.seek(0)
    while block := data.read(_STEP):
        yield block


def _scan(data: bytes | BinaryIO) -> tuple[bytes, int, bool]:
    """The first bytes of ``data`` (for its marks), its size, and whether it holds a NUL byte."""
    if isinstance(data, bytes | bytearray):
        return bytes(data[:4]), len(data), b"\x00" in data
    head, size, has_nul = b"", 0, False
    for block in _blocks(data):
        if not size:
            head = bytes(block[:4])
        size += len(block)
        has_nul = has_nul or b"\x00" in block
    return head, size, has_nul


def _decodes(data: bytes | BinaryIO, encoding: str) -> bool:
    """Whether ``data`` is text in ``encoding``, read a megabyte at a time (nothing kept)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        for block in _blocks(data):
            decoder.decode(block)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _streamed(data: bytes | BinaryIO, encoding: str, errors: str) -> Callable[[], Iterator[str]]:
    """The lines of ``data`` decoded as they are read, as ``io.StringIO(text, newline="")`` gives
    them (``\n``, ``\r\n`` or a lone ``\r`` ends one, kept); ``io.BytesIO`` shares the bytes,
    and a file is read from its start and left open for its owner."""

    def lines() -> Iterator[str]:
        if isinstance(data, bytes | bytearray):
            yield from io.TextIOWrapper(io.BytesIO(data), encoding=encoding, errors=errors, newline="")
            return
        data.seek(0)
        text = io.TextIOWrapper(data, encoding=encoding, errors=errors, newline="")
        try:
            for line in text:  # noqa: UP028 — ``yield from`` would close the file, through the wrapper, on an early exit
                yield line
        finally:
            if not data.closed:  # else its owner closed it already (a file refused at its header)
                text.detach()  # the file is its owner's to close

    return lines


def _decode(data: bytes) -> tuple[str, str]:
    """The text of a CSV file and its encoding.

    UTF-8 (with or without mark), UTF-16/32 with a mark, UTF-16 without one (told by its zero
    bytes), Windows-1252, else charset-normalizer's guess. A few stray NUL characters (a file cut
    short and padded by the disk) are removed; a file made of them (binary, or a spreadsheet
    renamed .csv) is refused."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding
            except UnicodeDecodeError:
                raise DirectoryError(
                    f"Fichier {encoding.upper()} abîmé : enregistrez-le de nouveau en « CSV UTF-8 » depuis le tableur."
                ) from None
    if b"\x00" in data:
        data = _without_nul(data)
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        from charset_normalizer import from_bytes

        guess = from_bytes(data).best()
        if guess is None:
            raise DirectoryError(
                "Encodage du fichier non reconnu : enregistrez-le en « CSV UTF-8 » depuis le tableur."
            ) from None
        return str(guess), guess.encoding


def _without_nul(data: bytes) -> bytes:
    """The bytes of a text with NUL bytes: UTF-16 without a mark re-encoded in UTF-8, a few
    stray NULs removed; else :class:`DirectoryError` (a binary file)."""
    head = data[:4096]
    even, odd = head[0::2].count(0), head[1::2].count(0)
    for encoding, zeros, others in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if zeros > len(head) // 4 and others < zeros // 20:  # one zero byte a character: ASCII in UTF-16
            try:
                return data.decode(encoding).encode("utf-8")
            except UnicodeDecodeError:
                break
    nul = data.count(0)
    if nul > max(8, len(data) // 1000):
        raise DirectoryError(
            f"Ce fichier n'est pas un texte CSV : il contient {nul:_} octets nuls (un fichier "
            "binaire, ou un classeur renommé en .csv ?). Ouvrez-le dans un tableur et "
            "enregistrez-le en « CSV UTF-8 ».".replace("_", "\u202f")
        )
    return data.replace(b"\x00", b"")


def map_header(cells: list[str]) -> tuple[list[str], list[Issue]]:
    """Name each header cell by its column (``""`` for a duplicate); raise when one is required.

    A cell is the column that names it (:func:`reseaux.annuaire.columns.header_names`: « CP »,
    « Code postal »); any other header is kept, folded with underscores, with a warning."""
    issues: list[Issue] = []
    header: list[str] = []
    names_of = columns.header_names()
    names = columns.names()
    for cell in cells:
        key = names_of.get(fold(cell)) or fold(cell).replace(" ", "_")
        if key in header:
            issues.append(Issue(1, cell, cell, "colonne en double : seule la première est lue", WARNING))
            key = ""
        elif key and key not in names:
            close = process.extractOne(key, list(names), score_cutoff=80)
            hint = f" ; vouliez-vous dire « {close[0]} » ?" if close else ""
            issues.append(Issue(1, cell, cell, f"colonne inconnue, conservée telle quelle{hint}", WARNING))
        header.append(key)
    missing = [c.name for c in columns.columns() if c.required and c.name not in header]
    if missing:
        listed = ", ".join(f"« {c} »" for c in missing)
        raise DirectoryError(
            f"ligne 1 : colonne(s) obligatoire(s) absente(s) : {listed}. La première ligne doit "
            f"nommer les colonnes ; colonnes attendues : {', '.join(names)}."
        )
    absent = [c.name for c in columns.columns() if c.expected and c.name not in header]
    if absent:
        issues.append(Issue(1, None, "", "colonnes absentes, considérées vides : " + ", ".join(absent), WARNING))
    return header, issues
