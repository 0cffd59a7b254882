"""The directory file read by pandas' C reader gives the cells Python's ``csv`` gives.

The store reads its file with pandas (``decoding.read_directory_table``: a million fiches in 4 s
and 0.4 GB of Arrow strings, instead of 17 s and 1.9 GB of Python strings); the truth is the
former reading, Python's ``csv`` module row by row (``read_table`` then ``table_from_rows``),
on the files of the repository and on cells written to catch a reader out. A file pandas would
read otherwise goes to ``csv`` itself, and the test says which path each file took.
"""

from __future__ import annotations

import pandas as pd
import pytest

from reseaux.annuaire.decoding import _read_regular, iter_table, read_directory_table, read_table, table_from_rows
from reseaux.annuaire.directory import DirectoryError
from tests.conftest import ROOT

HEADER = "id,nom,type,adresse,commune,telephone,description"


def by_csv(data: bytes) -> pd.DataFrame:
    rows, _, _ = read_table(data)
    return table_from_rows(rows)


def took_pandas(data: bytes) -> bool:
    rows, encoding, delimiter = iter_table(data)
    header = next(rows)
    return encoding in ("utf-8", "utf-8-sig") and _read_regular(data, header, encoding, delimiter) is not None


def same(data: bytes) -> pd.DataFrame:
    """Both readings of ``data``, compared cell by cell (as Python strings) and by their format."""
    table, encoding, delimiter = read_directory_table(data)
    truth = by_csv(data)
    _, encoding_csv, delimiter_csv = read_table(data)
    assert (encoding, delimiter) == (encoding_csv, delimiter_csv)
    assert list(table.columns) == list(truth.columns)
    assert table.shape == truth.shape
    assert table.astype(object).to_numpy().tolist() == truth.astype(object).to_numpy().tolist()
    assert all(str(dtype) == "str" for dtype in table.dtypes)
    return table


@pytest.mark.parametrize("name", ["data/actors.csv", "tests/data/actors_small.csv"])
def test_the_repository_s_directories_read_alike(name):
    data = (ROOT / name).read_bytes()
    assert took_pandas(data)
    assert len(same(data)) >= 3


CASES = {
    "quotes, delimiters and line breaks in cells": (
        f'{HEADER}\na1,"Centre « Les Charmes », Rouen",structure,"1 rue ""du Pont""\nBât. B",Rouen,,"deux\r\nlignes"\n',
        True,
    ),
    "spaces kept, a quoted empty cell": (f'{HEADER}\n  a2 , Nom ,structure,"",Rouen, 02 35 00 00 00 ,\n', True),
    "blank rows dropped, a row of spaces too": (f"{HEADER}\n\na3,Nom,structure,,Rouen,,\n,,,,,,\n ,  , ,,,,\n", True),
    "a short row": (f"{HEADER}\na4,Nom,structure\n", True),
    "semicolons and a mark": (
        "\ufeff" + HEADER.replace(",", ";") + "\na5;Nom, avec virgule;structure;;Rouen;;\n",
        True,
    ),
    "CRLF line ends": (HEADER.replace(",", ";") + "\r\na6;Nom;structure;;Rouen;;\r\n", True),
    "unknown and duplicated columns": (f"{HEADER},nom,couleur\na7,Nom,structure,,Rouen,,,Doublon,bleu\n", True),
    "a missing column of the registry": ("id,nom,type\na8,Nom,structure\n", True),
    "a row longer than the header": (f"{HEADER}\na9,Nom,structure,,Rouen,,,en trop\n", False),
    "a quote inside a cell": (f'{HEADER}\na10,Nom "sans" guillemets,structure,,Rouen,,\n', True),
    "only a header": (f"{HEADER}\n", True),
}


@pytest.mark.parametrize("case", list(CASES))
def test_written_cells_read_alike(case):
    text, regular = CASES[case]
    data = text.encode("utf-8")
    assert took_pandas(data) == regular
    same(data)


def test_a_windows_1252_file_is_read_by_csv_alike():
    data = f"{HEADER}\na1,Hôpital Charles-Nicolle,structure,,Rouen,,\n".encode("cp1252")
    assert not took_pandas(data)
    table = same(data)
    assert table.loc[0, "nom"] == "Hôpital Charles-Nicolle"


def test_a_file_without_a_required_column_is_refused_alike():
    data = b"nom,type\nNom,structure\n"
    with pytest.raises(DirectoryError) as fast:
        read_directory_table(data)
    with pytest.raises(DirectoryError) as slow:
        by_csv(data)
    assert str(fast.value) == str(slow.value)


def whole_csv(table: pd.DataFrame, delimiter: str, encoding: str) -> bytes:
    """The file as Python's csv writes the table at once: the truth for :func:`encode_table`."""
    import csv
    import io

    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(list(table.columns))
    writer.writerows(table.astype(object).fillna("").to_numpy().tolist())
    return buffer.getvalue().encode(encoding)


def test_a_table_written_a_few_rows_at_a_time_is_the_file_written_at_once(monkeypatch):
    from reseaux.annuaire import store

    table, _, _ = read_directory_table((ROOT / "data" / "actors.csv").read_bytes())
    monkeypatch.setattr(store, "ENCODE_CHUNK", 7)  # 185 fiches: 27 pieces, the last one short
    assert store.encode_table(table) == whole_csv(table, ",", "utf-8")
    assert store.encode_table(table, ";", "cp1252") == whole_csv(table, ";", "cp1252")
    assert read_directory_table(store.encode_table(table))[0].equals(table)


def test_a_cell_the_file_s_encoding_cannot_hold_writes_it_in_utf8_with_a_mark():
    from reseaux.annuaire import store

    table, _, _ = read_directory_table(f"{HEADER}\na1,Nom,structure,,Rouen,,\n".encode())
    table.loc[0, "nom"] = "Œuvre ǅ"  # « ǅ » is not in Windows-1252
    data = store.encode_table(table, ",", "cp1252")
    assert data.startswith(b"\xef\xbb\xbf") and data == whole_csv(table, ",", "utf-8-sig")
    assert read_directory_table(data)[0].loc[0, "nom"] == "Œuvre ǅ"
