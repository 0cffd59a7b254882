"""Loading the directory of actors (``data/actors.csv``).

The file is what coordinators open in a spreadsheet, so loading is forgiving about form
(UTF-8 with or without BOM, Windows-1252, ``,`` or ``;``, headers in any case) and strict about
content: every problem is an :class:`Issue` with the spreadsheet line (header = line 1), the
column, the value and what to do. Only a row that cannot be an actor at all (no name, no
identifier, nothing to place it by) is an error, kept aside in ``Directory.rejected``; anything
else is a warning and the actor stays usable (an unrecognised referential value is kept as
written, an unknown type becomes « À classer »). Nothing is dropped silently.

This module is the directory's front: the columns are declared in :mod:`reseaux.annuaire.columns`,
the file's text is read by :mod:`reseaux.annuaire.decoding`, its rows checked by
:mod:`reseaux.annuaire.validation`, written back by :mod:`reseaux.annuaire.serialise`; what they
return is in :mod:`reseaux.annuaire.model`.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from reseaux.annuaire.decoding import iter_table, map_header, read_directory_table, read_table, table_from_rows
from reseaux.annuaire.model import ERROR, WARNING, Directory, DirectoryError, Issue, RowPrints
from reseaux.annuaire.referential import Referential
from reseaux.annuaire.validation import validate_record, validate_rows, validate_table

__all__ = [
    "ERROR",
    "WARNING",
    "Directory",
    "DirectoryError",
    "Issue",
    "RowPrints",
    "load_directory",
    "map_header",
    "read_directory_table",
    "read_table",
    "table_from_rows",
    "validate_record",
    "validate_rows",
    "validate_table",
]


def load_directory(
    source: Path | bytes | BinaryIO, referential: Referential, previous: Directory | None = None
) -> Directory:
    """Load and validate a directory file (a path, the raw bytes of an upload, or a file open in
    binary, read from its start and left open). ``previous``: the directory read from the file's
    last version, whose unchanged rows are taken back (see :func:`validate_rows`).

    Returns a :class:`Directory`. Raises :class:`DirectoryError` when the file cannot be used
    at all (unreadable, empty, a required column missing). A file is read as its rows are
    validated, never held whole.
    """
    if isinstance(source, Path | str):
        try:
            with open(source, "rb") as file:
                return load_directory(file, referential, previous)
        except OSError as exc:
            raise DirectoryError(f"Impossible de lire l'annuaire « {source} » : {exc.strerror}.") from exc
    rows, encoding, delimiter = iter_table(source)
    directory = validate_rows(rows, referential, previous)
    directory.encoding, directory.delimiter = encoding, delimiter
    return directory
