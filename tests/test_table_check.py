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

    looked_at = []
    real = table_check._errors
    monkeypatch.setattr(table_check, "_errors", lambda rows, ref: looked_at.append(len(rows)) or real(rows, ref))
    second = check_table(edited, referential, previous=first)
    # The fiches the edit touched, the rows sharing an id and the rows without id: not the 50 others.
    assert len(looked_at) == 1 and 3 <= looked_at[0] <= 10, looked_at
    same_answer(second, edited, referential)


def test_a_row_is_validated_whole_only_when_its_issues_are_asked_for(table, referential, monkeypatch):
    """At a million fiches the row validator over every row was two minutes before the page showed
    anything: the first check reads columns, and validates whole only the rows that nothing may
    place (here row 8, blanked, is skipped as blank; none other lacks both address and commune)."""
    from reseaux.annuaire import table_check

    validated = []
    real = table_check._row_issues
    monkeypatch.setattr(table_check, "_row_issues", lambda *a: validated.append(a[3]) or real(*a))
    table.loc[12, ["adresse", "commune"]] = ""
    check = check_table(table, referential)
    assert validated == [14]
    assert check.issues_of(5)[0].column == "latitude"
    assert validated == [14, 7]


def tricky_rows() -> pd.DataFrame:
    """Rows where an error hides behind a cell that looks filled, or a filled cell hides an error."""
    rows = DirectoryStore(ROOT / "data" / "actors.csv").load().table.head(16).copy()
    unplaced = {"adresse": "", "commune": "", "code_postal": "", "code_insee": "", "zone_intervention": ""}
    unplaced.update(latitude="", longitude="")
    cases = [
        {**unplaced},  # nothing at all to place it: an error
        {**unplaced, "code_postal": "7600"},  # a postcode that is not one is kept, said: it places the row
        {**unplaced, "code_insee": "ABCDE"},  # the same with an INSEE code
        {**unplaced, "zone_intervention": "pas-une-zone"},  # every zone ignored
        {**unplaced, "latitude": "12,5", "longitude": "200"},  # out of France both ways: position ignored
        {**unplaced, "latitude": "49.44", "longitude": "1.09"},  # a position: placed
        {**unplaced, "code_postal": " 76 000 "},  # a postcode written with spaces: placed
        {**unplaced, "nom": ""},  # no name: an error of its own (required), not « nothing to place »
        {"id": "   "},  # an id of spaces is blank
        {"nom": "\t"},  # so is a name of a tab
        {"horaires": "h" * 10_001},  # too long, in a column of no consequence
        {**unplaced, "commune": "  Rouen "},  # a commune: placed
        {"id": "", "nom": "", **unplaced, "telephone": "0235000000"},  # only a phone: not blank, errors
    ]
    for position, cells in enumerate(cases):
        for column, value in cells.items():
            rows.loc[position, column] = value
    rows.loc[13, :] = "   "  # spaces only: a blank row, skipped
    return rows


def test_errors_read_by_column_are_the_row_validator_s(referential):
    rows = tricky_rows()
    check = check_table(rows, referential)
    assert check.bad[:13].tolist() == [True, False, True, True, True, False, False, True, True, True, True, False, True]
    assert not check.bad[13]
    same_answer(check, rows, referential)


def test_errors_read_by_column_with_a_column_named_twice(referential):
    """Headers naming a column already named (« Nom », « NOM » after « nom ») are read as no
    column, and the row validator, reading a row as a dict, keeps the last of them: the columns
    must read the same cells (a long cell in the first of them is not seen, nor a name)."""
    rows = DirectoryStore(ROOT / "data" / "actors.csv").load().table.head(6).copy()
    rows.insert(2, "Nom", rows["nom"])
    rows.insert(3, "NOM", rows["nom"])
    rows.loc[1, "nom"] = ""
    rows.loc[2, "Nom"] = "n" * 10_001
    rows.loc[5, "NOM"] = "n" * 10_001
    check = check_table(rows, referential)
    assert check.bad.tolist() == [False, True, False, False, False, True]
    same_answer(check, rows, referential)


@pytest.mark.parametrize("name", ["data/actors.csv", "tests/data/actors_small.csv"])
def test_the_repository_s_directories_read_by_column(name, referential):
    table = DirectoryStore(ROOT / name).load().table
    same_answer(check_table(table, referential), table, referential)


def test_rows_without_an_id_do_not_take_each_others(table, referential):
    """Several rows without an id: none is « already used » by the other (validate_table's answer)."""
    table.loc[[10, 11, 12], "id"] = ["", " ", ""]
    same_answer(check_table(table, referential), table, referential)
    assert check_table(table, referential).taken == {4: 4}  # row 4 holds the id of line 4 (row 2), no row without one
