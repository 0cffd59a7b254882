"""Reading a new version of the directory file by taking back the rows its last reading validated
(``validate_rows(previous=…)``): after a save, the map reads a million fiches of which a handful
changed. The truth it is held to is the whole validation of the new file, computed without the
previous reading: every actor, dtype, row kept aside, issue and line must be the same."""

from __future__ import annotations

import csv
import io
import random

import numpy as np
import pandas as pd
import pytest
from pandas.arrays import ArrowStringArray

from reseaux.annuaire import fields, validation
from reseaux.annuaire.directory import Directory, load_directory
from reseaux.annuaire.model import PrintIndex
from reseaux.territoire import france
from tests.conftest import ROOT

#: Rows no well-kept directory has, each a way a row's reading depends on more than its cells.
_ODD = [
    {"id": "odd-1", "nom": "Sans lieu"},  # nothing to place it: kept aside
    {"id": "", "nom": "Sans identifiant", "commune": "Rouen"},
    {"id": "odd-3", "nom": "Date à venir", "commune": "Rouen", "date_maj": "2099-01-01"},
    {"id": "odd-4", "nom": "Date illisible", "commune": "Rouen", "date_maj": "hier"},
    {"id": "odd-5", "nom": "Inversée", "latitude": "1.1", "longitude": "49.4"},
    {"id": "odd-6", "nom": "Téléphone 2619", "commune": "Rouen", "telephone": "261918673"},
    {"id": "odd-7", "nom": "Joint\x1fmal", "commune": "Rouen"},
    {"id": "odd-8", "nom": "X" * (validation.MAX_CELL + 1), "commune": "Rouen"},
    {"id": "demo-001", "nom": "Doublon", "commune": "Rouen"},  # an id an earlier row holds
    {"id": "odd-10", "nom": "  Espaces  ", "commune": "Rouen", "type": "inconnu", "thematiques": "ivg|xyz"},
]


def _rows() -> list[list[str]]:
    """The demo directory, a few synthetic fiches and the odd rows, as the file's cells (header first)."""
    from bench.synthetic import synthetic_table

    with open(ROOT / "data" / "actors.csv", encoding="utf-8", newline="") as file:
        rows = list(csv.reader(file))
    header = rows[0]
    synthetic = synthetic_table(120, seed=5).reindex(columns=header, fill_value="")
    rows += synthetic.astype(str).values.tolist()
    rows += [[odd.get(name, "") for name in header] for odd in _ODD]
    rows.insert(7, [])  # a blank line: counted in the lines, as a spreadsheet counts it
    rows.insert(30, [""] * len(header))
    rows.append([*rows[12], "en trop"])  # a cell more than the header: kept aside
    return rows


def _bytes(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode("utf-8")


def _read(rows: list[list[str]], referential, previous: Directory | None = None) -> Directory:
    """What the map does: read, then fill the communes of the placed fiches (in place)."""
    directory = load_directory(_bytes(rows), referential, previous)
    france.fill_communes(directory.actors)
    return directory


def _same(taken: Directory, whole: Directory) -> None:
    pd.testing.assert_frame_equal(taken.actors, whole.actors)
    pd.testing.assert_frame_equal(taken.rejected, whole.rejected)
    assert taken.issues == whole.issues
    assert taken.prints.header == whole.prints.header
    assert np.array_equal(taken.prints.prints, whole.prints.prints)


def _text_bytes(frame: pd.DataFrame) -> bytes:
    """Every byte the Arrow text columns of ``frame`` hold, slices' whole buffers included."""
    return b"".join(
        buffer.to_pybytes()
        for name in frame.columns
        if isinstance(frame[name].array, ArrowStringArray)
        for chunk in frame[name].array._pa_array.chunks
        for buffer in chunk.buffers()
        if buffer is not None
    )


def _edit(rows: list[list[str]], rng: random.Random) -> str:
    """One change a person or an import makes to the file (the header stays)."""
    body = range(1, len(rows))
    kind = rng.choice(["cell", "cell", "cell", "drop", "copy", "move", "blank", "swap", "id", "date"])
    row = rng.choice(body)
    if kind == "cell" and rows[row]:
        column = rng.randrange(len(rows[row]))
        donor = rows[rng.choice(body)]
        rows[row][column] = rng.choice(["", "x", donor[column] if column < len(donor) else "", "02 35 00 00 00"])
    elif kind == "drop":
        del rows[row]
    elif kind == "copy":  # the same fiche twice: the later one's id is taken
        rows.insert(rng.choice(body), list(rows[row]))
    elif kind == "move":
        rows.insert(rng.choice(range(1, len(rows))), rows.pop(row))
    elif kind == "blank":
        rows.insert(row, [])
    elif kind == "swap":  # which of two rows of one id comes first
        other = rng.choice(body)
        rows[row], rows[other] = rows[other], rows[row]
    elif kind == "id" and rows[row]:
        donor = rows[rng.choice(body)]
        rows[row][0] = rng.choice([donor[0] if donor else "", "", "nouveau"])
    elif kind == "date" and rows[row]:
        rows[row][rows[0].index("date_maj")] = rng.choice(["2099-01-01", "2024-02-03", "", "03/02/2024"])
    return kind


@pytest.mark.parametrize("seed", range(12))
def test_a_new_version_read_by_taking_rows_back_is_its_whole_reading(referential, seed):
    """Versions made by random edits, each read from the one before (itself read so): the
    same answer as reading it whole, rows kept aside, issues, lines and dtypes included."""
    from reseaux.analyse.filters import search_text, search_text_after

    rng = random.Random(seed)
    rows = _rows()
    previous = _read(rows, referential)
    text = search_text(previous.actors)
    for _ in range(6):
        done = [_edit(rows, rng) for _ in range(rng.randint(1, 8))]
        taken = _read(rows, referential, previous)
        _same(taken, _read(rows, referential))
        assert len(taken.actors) and len(taken.rejected), done
        # The search text, each row's from the previous one where its cells were there, copied
        # or made of slices of it (given the previous identifiers: shared when none is gone).
        for ids in (None, previous.actors["id"]):
            after = search_text_after(taken.actors, taken.prints.prints, previous.prints.prints, text, ids)
            pd.testing.assert_series_equal(after, search_text(taken.actors))
        previous, text = taken, after


def test_only_the_changed_rows_are_validated_again(monkeypatch, referential):
    rows = _rows()
    previous = _read(rows, referential)
    rows[5][rows[0].index("telephone")] = "02 35 11 22 33"
    del rows[40]
    rows.insert(60, [*rows[3][:1], "Nouvelle fiche", *rows[3][2:]])
    rows[60][0] = "nouvelle"
    validated = []
    real = validation._RowValidator.validate
    monkeypatch.setattr(
        validation._RowValidator, "validate", lambda self, raw, line: validated.append(line) or real(self, raw, line)
    )
    taken = _read(rows, referential, previous)
    # Read again besides the two changed: the rows kept aside, those with a warning on their date
    # (« Date à venir », « hier »), the one whose cells hold the joining character (lines after
    # 61 have not moved: a row out before, one in).
    again = {*previous.rejected["ligne"], *(i.line for i in previous.issues if i.column == "date_maj")}
    again.add(next(n for n, row in enumerate(rows, start=1) if row and row[0] == "odd-7"))
    assert sorted(validated) == sorted({6, 61} | again), validated
    assert len(validated) < 15 < len(previous.actors)
    validated.clear()
    _same(taken, _read(rows, referential))
    assert len(validated) == len(previous.actors) + len(previous.rejected)  # the whole reading: every row


def test_nothing_is_taken_back_across_another_header(monkeypatch, referential):
    rows = _rows()
    previous = _read(rows, referential)
    rows[0] = [name.upper() if name == "nom" else name for name in rows[0]]  # read alike, written otherwise
    validated = []
    real = validation._RowValidator.validate
    monkeypatch.setattr(
        validation._RowValidator, "validate", lambda self, raw, line: validated.append(line) or real(self, raw, line)
    )
    _same(_read(rows, referential, previous), _read(rows, referential))
    assert len(validated) == 2 * (len(previous.actors) + len(previous.rejected))


def test_a_date_in_the_future_yesterday_is_read_again_today(monkeypatch, referential):
    """« Date dans le futur » depends on the day: a row that had it is validated again."""
    rows = _rows()
    real_date = fields.date

    class Earlier(real_date):
        @classmethod
        def today(cls):
            return real_date(2024, 2, 2)

    line = next(n for n, row in enumerate(rows, start=1) if row and row[0] == "demo-002")
    rows[line - 1][rows[0].index("date_maj")] = "2024-02-03"
    monkeypatch.setattr(fields, "date", Earlier)
    previous = _read(rows, referential)
    assert any(i.line == line and i.column == "date_maj" for i in previous.issues)
    monkeypatch.setattr(fields, "date", real_date)
    taken = _read(rows, referential, previous)
    assert not any(i.line == line and i.column == "date_maj" for i in taken.issues)
    _same(taken, _read(rows, referential))


@pytest.mark.parametrize("gone", ["removed", "renamed"])
def test_a_fiche_gone_leaves_no_byte_in_the_next_reading(referential, gone):
    """The next reading takes back the rows of the others, but holds no byte of a fiche gone
    (erased, or its identifier changed): its text is copied, not sliced from the previous one's."""
    rows = _rows()
    previous = _read(rows, referential)
    at = next(n for n, row in enumerate(rows) if row and row[0] == "demo-003")
    name = rows[at][rows[0].index("nom")]
    assert name.encode() in _text_bytes(previous.actors)
    if gone == "removed":
        del rows[at]
    else:
        rows[at][0], rows[at][rows[0].index("nom")] = "demo-003-bis", "Cabinet renommé (fictif)"
    taken = _read(rows, referential, previous)
    _same(taken, _read(rows, referential))
    assert name.encode() not in _text_bytes(taken.actors)
    # Nor the map's search text, taken back from the previous one (its folded name, accents off).
    from reseaux.analyse.filters import search_text, search_text_after
    from reseaux.text import fold

    text = search_text(previous.actors)
    assert fold(name).encode() in _text_bytes(pd.DataFrame({"texte": text}))
    after = search_text_after(taken.actors, taken.prints.prints, previous.prints.prints, text, previous.actors["id"])
    pd.testing.assert_series_equal(after, search_text(taken.actors))
    assert fold(name).encode() not in _text_bytes(pd.DataFrame({"texte": after}))


def test_the_search_text_of_a_reading_taken_back_is_slices_of_the_previous_one(referential):
    """One fiche changed, none gone: the map's search text of the next reading holds the previous
    one's buffers (sliced, not copied), the changed row folded again; every value as folded whole."""
    from reseaux.analyse.filters import search_text, search_text_after

    rows = _rows()
    previous = _read(rows, referential)
    text = search_text(previous.actors)
    at = next(n for n, row in enumerate(rows) if row and row[0] == "demo-003")
    rows[at][rows[0].index("nom")] = "Cabinet renommé (fictif)"
    taken = _read(rows, referential, previous)
    after = search_text_after(taken.actors, taken.prints.prints, previous.prints.prints, text, previous.actors["id"])
    pd.testing.assert_series_equal(after, search_text(taken.actors))
    held = {buffer.address for chunk in text.array._pa_array.chunks for buffer in chunk.buffers() if buffer}
    shared = {buffer.address for chunk in after.array._pa_array.chunks for buffer in chunk.buffers() if buffer}
    assert held & shared, "the text was copied"


def test_the_fingerprints_go_with_the_parse_cache(tmp_path, referential):
    """A server started later takes rows back from the directory it read from the parse cache."""
    import pickle

    from reseaux.annuaire import cache_format

    directory = _read(_rows(), referential)
    with open(tmp_path / "kept.pickle", "wb") as file:
        cache_format.dump(directory, file)
    with open(tmp_path / "kept.pickle", "rb") as file:
        back = pickle.load(file)
    assert np.array_equal(back.prints.prints, directory.prints.prints)
    assert back.prints.prints.dtype == np.uint64 and back.prints.header == directory.prints.header


@pytest.mark.parametrize("score", ["0.9", "", None])
def test_a_column_a_change_fills_or_empties_keeps_the_whole_readings_dtype(referential, score):
    """The only score of the file written, taken out, or its row removed: the column is numbers,
    or nothing, as a whole reading makes it, not what joining the two parts would make. Without
    the odd rows: every row of the new version is then taken back, none validated again."""
    rows = _rows()[: -len(_ODD) - 1]
    column = rows[0].index("geocodage_score")
    for row in rows[1:]:
        if row:
            row[column] = ""
    rows[3][column] = "0.5" if not score else ""
    previous = _read(rows, referential)
    if score is None:
        del rows[3]
    else:
        rows[3][column] = score
    taken = _read(rows, referential, previous)
    _same(taken, _read(rows, referential))
    assert taken.actors["geocodage_score"].dtype == (float if score else object)


def test_the_map_reads_a_version_saved_through_the_store_by_taking_rows_back(tmp_path, monkeypatch, referential):
    """What follows a save: the map's loader reads the new version from the one it read last,
    validating the changed fiche alone, and shows what a whole reading shows (search text too)."""
    import shutil

    from reseaux import app_data
    from reseaux.analyse.filters import search_text
    from reseaux.annuaire.store import DirectoryStore

    monkeypatch.setenv("RESEAUX_GEOCACHE", str(tmp_path / "cache" / "geocodage.sqlite"))
    path = tmp_path / "actors.csv"
    shutil.copy(ROOT / "data" / "actors.csv", path)
    app_data.load_actors(path, referential)
    store = DirectoryStore(path)
    base = store.load()
    table = base.table.copy()
    table.loc[3, "telephone"] = "02 35 99 88 77"
    table.loc[6, "nom"] = "Centre Zéphyrin (fictif)"  # its search text folded again, the others taken
    store.save(table, base, "coord")
    validated = []
    real = validation._RowValidator.validate
    monkeypatch.setattr(
        validation._RowValidator, "validate", lambda self, raw, line: validated.append(line) or real(self, raw, line)
    )
    shown = app_data.load_actors(path, referential)
    assert validated == [5, 8]  # the fourth and seventh fiches, lines 5 and 8 of the file
    whole = load_directory(path, referential)
    france.fill_communes(whole.actors)
    _same(shown.directory, whole)
    pd.testing.assert_series_equal(shown.search, search_text(whole.actors))
    assert shown.directory.actors.loc[3, "telephone"] == "02 35 99 88 77"
    assert shown.search[6].startswith("centre zephyrin fictif")

    app_data.forget_last_read()  # an erasure: the next version is read whole
    table.loc[4, "telephone"] = "02 35 99 88 78"
    store.save(table, store.load(), "coord")
    validated.clear()
    app_data.load_actors(path, referential)
    assert len(validated) == len(whole.actors)


def _day_before(monkeypatch) -> None:
    """Validation's day made yesterday (``fields.today``, which the caches of readings read too)."""
    from datetime import date, timedelta

    monkeypatch.setattr(fields, "today", lambda: date.today() - timedelta(days=1))


@pytest.mark.parametrize("restart", [False, True])
def test_a_date_that_was_to_come_yesterday_is_not_said_so_today(tmp_path, monkeypatch, referential, restart):
    """A fiche updated « today » read yesterday had « date dans le futur »; today the map's loader
    does not serve yesterday's reading, in this process or a new one (from the parse cache):
    it reads the file again from it, validating the row with the date alone."""
    import csv as csv_module
    import shutil
    from datetime import date

    from reseaux import app_data

    monkeypatch.setenv("RESEAUX_GEOCACHE", str(tmp_path / "cache" / "geocodage.sqlite"))
    path = tmp_path / "actors.csv"
    shutil.copy(ROOT / "data" / "actors.csv", path)
    with open(path, encoding="utf-8", newline="") as file:
        rows = list(csv_module.reader(file))
    rows[4][rows[0].index("date_maj")] = date.today().isoformat()  # line 5
    path.write_bytes(_bytes(rows))
    app_data.forget_last_read()
    with monkeypatch.context() as yesterday:
        _day_before(yesterday)
        before = app_data.load_actors(path, referential).directory
    assert [i.line for i in before.issues if i.column == "date_maj"] == [5]
    if restart:
        app_data.forget_last_read()  # a new process: only the parse cache is there
    validated = []
    real = validation._RowValidator.validate
    monkeypatch.setattr(
        validation._RowValidator, "validate", lambda self, raw, line: validated.append(line) or real(self, raw, line)
    )
    today = app_data.load_actors(path, referential).directory
    assert validated == [5]
    assert not [i for i in today.issues if i.column == "date_maj"]
    whole = load_directory(path, referential)
    france.fill_communes(whole.actors)
    _same(today, whole)


def test_a_map_server_reads_again_on_a_new_day(tmp_path, monkeypatch):
    from reseaux.ui import loading

    path = tmp_path / "actors.csv"
    path.write_bytes((ROOT / "data" / "actors.csv").read_bytes())
    monkeypatch.setenv("RESEAUX_GEOCACHE", str(tmp_path / "cache" / "geocodage.sqlite"))
    loading._actors.clear()
    try:
        with monkeypatch.context() as yesterday:
            _day_before(yesterday)
            loading._read_today()
            read = loading._actors(str(path), 1.0)
            loading._read_today()
            assert loading._actors(str(path), 1.0) is read  # the same day: kept
        loading._read_today()
        assert loading._actors(str(path), 1.0) is not read  # the next: read again
    finally:
        loading._actors.clear()


def test_a_fingerprint_is_found_where_a_row_had_it_and_zero_nowhere():
    """The one look-up both the reading and the map's search text use (:class:`PrintIndex`),
    checked against a dictionary built row by row: a fingerprint two rows share gives the first."""
    rng = np.random.default_rng(7)
    before = rng.integers(0, 50, size=400).astype(np.uint64)  # repeats and zeros
    asked = rng.integers(0, 80, size=300).astype(np.uint64)
    first_at: dict[int, int] = {}
    for position, value in enumerate(before.tolist()):
        first_at.setdefault(value, position)
    expected = [-1 if value == 0 else first_at.get(value, -1) for value in asked.tolist()]
    assert PrintIndex(before).positions(asked).tolist() == expected
    assert PrintIndex(before[:0]).positions(asked).tolist() == [-1] * len(asked)
