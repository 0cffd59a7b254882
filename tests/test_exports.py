"""The CSV of the pages' lists (``annuaire.exports``): written a part at a time, the same file."""

from __future__ import annotations

import pytest

from reseaux.annuaire.exports import table_csv_bytes, tables_csv_bytes
from reseaux.annuaire.listing import people_table
from tests.conftest import visible_demo


def test_a_list_written_a_part_at_a_time_is_the_list_written_at_once(referential):
    """The CSV of a million fiches is written a part at a time (``tables_csv_bytes``): the same
    bytes as the whole table at once — the BOM and the header once, every row once, in order."""
    table = people_table(visible_demo(referential, "membre"), referential)
    whole = table_csv_bytes(table)
    assert tables_csv_bytes(table.iloc[i : i + 7] for i in range(0, len(table), 7)) == whole
    assert whole.startswith("\ufeff".encode()) and whole.count("\ufeff".encode()) == 1
    assert tables_csv_bytes([table.iloc[:0]]) == table_csv_bytes(table.iloc[:0])  # none: the header alone
    with pytest.raises(ValueError):
        tables_csv_bytes([])
