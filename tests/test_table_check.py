"""The Annuaire page's incremental validation gives validate_table's answer, edit after edit."""

import pandas as pd
import pytest

from reseaux.annuaire.directory import validate_table
from reseaux.annuaire.store import DirectoryStore
from reseaux.annuaire.table_check import check_table
from tests.conftest import ROOT


def same_answer(check, table, referential):
    """Which rows are errors, and each row's issues in words, as validate_table says them."""
    report = validate_table(table, referential)
    assert {i + 2 for i in range(len(table)) if check.bad[i]} == set(report.rejected["ligne"])
    for row in range(len(table)):
        expected = [str(i) for i in report.issues if i.line == row + 2]
        assert [str(i) for i in check.issues_of(row)] == expected, f"ligne {row + 2}"


@pytest.fixture()
def table():
    base = DirectoryStore(ROOT / "data" / "actors.csv").load().table.head(60).copy()
    base.loc[3, "nom"] = ""  # an error of its own
    base.loc[4, "id"] = base.loc[2, "id"]  # an id already used above
    base.loc[5, "latitude"] = "91"  # out of range
    base.loc[6, "type"] = "inconnu"  # a warning only
    base.loc[7, "description"] = "x" * 10_001  # too long
    base.loc[8, :] = ""  # a blank row, skipped
    base.loc[9, "id"] = base.loc[3, "id"]  # its first holder is an error: this one keeps it
    return base.reset_index(drop=True)


def test_a_first_check_is_validate_table(table, referential):
    check = check_table(table, referential)
    assert check.n_bad == len(validate_table(table, referential).rejected) == 3
    same_answer(check, table, referential)


def test_after_edits_only_changed_fiches_are_checked_and_the_answer_is_the_same(table, referential, monkeypatch):
    first = check_table(table, referential)
    edited = table.copy()
    edited.loc[3, "nom"] = "Nom rendu"  # an error corrected: row 9 now takes the id second
    edited.loc[10, "telephone"] = "pas un numéro"
    edited.loc[20, "id"] = edited.loc[0, "id"]  # a new duplicate
    edited = pd.concat([edited.drop(index=[1]), edited.iloc[[11]].assign(id="nouvelle")], ignore_index=True)

    from reseaux.annuaire import table_check

    validated = []
    real = table_check._row_issues
    monkeypatch.setattr(table_check, "_row_issues", lambda *a: validated.append(a[3]) or real(*a))
    second = check_table(edited, referential, previous=first)
    same_answer(second, edited, referential)
    # The fiches the edit touched, the rows sharing an id and the rows without id: not the 50 others.
    assert 3 <= len(validated) <= 10, validated
