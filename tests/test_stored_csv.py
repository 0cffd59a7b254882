"""The directory as PostgreSQL writes it out for the app to parse (``load_csv``): the very bytes
the app wrote from the table it loaded (``encode_table(store.load().table)``), read back by Python's
csv module as given, on the demo directory and on cells that CSV must quote.
The database is a real PostgreSQL with PostGIS the tests start (tests/postgres_server.py)."""

import csv
import io
import os

import pytest

from reseaux.annuaire.store import encode_table
from reseaux.stockage import stored_directory
from reseaux.stockage.postgres import PostgresDirectoryStore
from tests.conftest import ROOT

#: Cells a CSV writer must quote or may get wrong: a comma, quotes, line breaks, accents, empty cells.
AWKWARD = [
    ["a1", "Centre « Élan », Rouen", 'Dit "le centre"', ""],
    ["a2", "Maraude", "Mardi\nsoir, puis\r\nmercredi", "Évreux"],
    ["a3", "", "", ""],
    ["a4", " espaces ", '"', "Saint-Étienne-du-Rouvray"],
    ["a5", "Point-virgule ; tabulation\t", "\\.", "Le Havre"],
]


def written(rows: list[list[str]]) -> bytes:
    """A CSV file as Python's csv module writes it (the app's files are written so)."""
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode("utf-8")


@pytest.fixture()
def store(database_url):
    return PostgresDirectoryStore(database_url)


def test_the_demo_directory_comes_out_as_the_app_would_write_it(store, database_url, monkeypatch):
    store.replace((ROOT / "data" / "actors.csv").read_bytes(), "essai", "migration")
    data, version = store.load_csv()
    loaded = store.load()
    assert version == loaded.version
    assert data == encode_table(loaded.table)
    monkeypatch.setenv("RESEAUX_DATABASE_URL", database_url)
    file, stored_version = stored_directory()  # what the app parses: a file, read a block at a time
    with file:
        assert os.fstat(file.fileno()).st_nlink == 0  # no name on the disk: nothing stays of it once closed
        assert (file.read(), stored_version) == (data, version)
    assert file.closed


def test_awkward_cells_and_a_cell_older_than_its_column_come_out_unchanged(store):
    rows = [["id", "nom", "description", "commune"], *AWKWARD]
    store.replace(written(rows), "essai", "migration")
    # A row written before its version's « commune » column existed has no such cell (a save
    # that rewrites only the rows it changes leaves them so): made here by taking the cell out.
    with store._connection() as connection:
        taken = connection.execute(
            "UPDATE reseaux.directory_rows SET cells = cells - 'commune' "
            "WHERE valid_to IS NULL AND actor_id IN ('a1', 'a3')"
        ).rowcount
        connection.commit()
    assert taken == 2
    data, _ = store.load_csv()
    assert data == encode_table(store.load().table)
    # Read back by Python's csv module: the cells as given, every column the store adds empty.
    header, *back = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
    given = [dict(zip(rows[0], row, strict=True)) for row in AWKWARD]
    assert [{c: row[header.index(c)] for c in rows[0]} for row in back] == given
    assert {cell for row in back for c, cell in zip(header, row, strict=True) if c not in rows[0]} == {""}


def test_no_directory_yet_is_said_as_load_says_it(store):
    with pytest.raises(Exception) as by_load:
        store.load()
    with pytest.raises(type(by_load.value)):
        store.load_csv()
