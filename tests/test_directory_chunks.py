"""The validated directory made in chunks (``validation._Records``): the same frame, dtypes
included, as when every row was held as Python values until the end, and equal tuples of codes
shared. Checked against the frame pandas makes of the records as dicts, which is how the
columns were made before (and what ``_Records`` promises to equal)."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from reseaux.annuaire import validation
from reseaux.annuaire.validation import _Records


def _records() -> list[dict]:
    """Records of the kinds validation makes: text, numbers, tuples of codes, a column empty in
    the first rows and filled later, a key some records lack, a flag."""
    made = []
    for i in range(23):
        record = {
            "id": f"a{i}",
            "nom": f"Fiche fictive {i}",
            "latitude": 49.44 + i / 1000 if i % 5 else np.nan,
            "thematiques": ("ivg", "ist") if i % 2 else (("violences",) if i % 3 else ()),
            "site_web": "" if i < 11 else f"https://exemple.invalid/{i}",
            "late": np.nan if i < 14 else "tard",
            "flag": bool(i % 2),
        }
        if i % 4 == 0:
            record["only_some"] = i
        made.append(record)
    return made


@pytest.mark.parametrize("chunk", [1, 3, 7, 14, 1000])
def test_chunks_make_the_frame_of_the_whole(chunk, monkeypatch):
    monkeypatch.setattr(_Records, "CHUNK", chunk)
    records = _Records()
    for record in _records():
        records.append(record)
    made = records.frame()
    expected = pd.DataFrame(_records())  # every record at once, as before the chunks
    pd.testing.assert_frame_equal(made, expected)
    assert [str(t) for t in made.dtypes] == [str(t) for t in expected.dtypes]


def test_equal_tuples_are_one(monkeypatch):
    monkeypatch.setattr(_Records, "CHUNK", 4)
    records = _Records()
    for record in _records():
        records.append(record)
    codes = records.frame()["thematiques"]
    pairs = [value for value in codes if value == ("ivg", "ist")]
    assert len(pairs) == 11 and all(value is pairs[0] for value in pairs)


def test_the_lists_of_a_large_directory_are_shared_too(monkeypatch):
    """Eleven thousand different lists of themes (a million synthetic fiches): each, seen again in
    another chunk, is the tuple its first row holds. Shared only up to 4,096, the others were a
    tuple per row (0.2 million at a million fiches)."""
    monkeypatch.setattr(_Records, "CHUNK", 1000)
    records = _Records()
    lists = [(f"code_{i}", "ivg") for i in range(5000)]
    for value in lists + lists:
        records.append({"thematiques": tuple(list(value))})  # a tuple of its own, as each row makes it
    codes = records.frame()["thematiques"].tolist()
    assert codes == lists + lists
    assert all(codes[i] is codes[i + 5000] for i in range(5000))


def test_a_reading_s_many_warnings_are_the_same_made_again(monkeypatch):
    """Past ``COMPACT_ISSUES`` warnings, a reading makes them again at its end, once its temporaries
    are gone (docs/mesures.md, « Quatorzième passage »): the same warnings, in the same order,
    as a reading that keeps those it made row by row; an equal field, one object."""
    from reseaux.annuaire.validation import validate_rows
    from reseaux.app_data import load_referential_file

    referential = load_referential_file()
    header = ["id", "nom", "type", "thematiques", "commune", "latitude", "longitude", "date_maj"]
    rows = [header] + [
        [
            f"a{i}",
            f"Acteur {i} (fictif)",
            "structure",
            f"thème inconnu {i % 7}",
            "Rouen",
            "49.44",
            "1.09",
            "x" * (i % 2),
        ]
        for i in range(1500)
    ]
    made_again = validate_rows(iter(rows), referential).issues
    threshold = validation.COMPACT_ISSUES
    monkeypatch.setattr(validation, "COMPACT_ISSUES", 10**9)
    kept = validate_rows(iter(rows), referential).issues
    assert len(kept) > threshold and made_again == kept
    assert sum(i.column == "thematiques" for i in kept) == 1500
    messages = [i.message for i in made_again]
    assert len({id(m) for m in messages}) == len(set(messages))


def test_the_demo_directory_is_the_same_in_chunks(monkeypatch):
    from reseaux import config
    from reseaux.annuaire.directory import load_directory
    from reseaux.annuaire.referential import load_referential

    referential = load_referential(config.path("referential"))
    whole = load_directory(config.path("actors"), referential).actors
    monkeypatch.setattr(validation._Records, "CHUNK", 5)
    chunked = load_directory(config.path("actors"), referential).actors
    pd.testing.assert_frame_equal(chunked, whole)


def test_the_search_text_folded_in_pieces_is_the_same(monkeypatch):
    from reseaux import config
    from reseaux.analyse import filters
    from reseaux.annuaire.directory import load_directory
    from reseaux.annuaire.referential import load_referential

    actors = load_directory(config.path("actors"), load_referential(config.path("referential"))).actors
    whole = filters.search_text(actors)
    monkeypatch.setattr(filters, "SEARCH_CHUNK", 4)
    pieces = filters.search_text(actors)
    pd.testing.assert_series_equal(pieces, whole)
    assert len(actors) > 4 and whole.str.contains("ivg").any()


class _SmallReads(io.BufferedReader):
    """A file that refuses to be read whole: any read of more than 1 MiB, or of all the rest, fails."""

    def read(self, size=-1):
        assert 0 <= size <= 1 << 20, f"read({size}) : le fichier lu en entier"
        return super().read(size)

    def read1(self, size=-1):
        assert 0 <= size <= 1 << 20, f"read1({size}) : le fichier lu en entier"
        return super().read1(size)


def test_a_directory_file_is_read_a_block_at_a_time_and_gives_what_its_bytes_give(tmp_path):
    from bench.synthetic import synthetic_table
    from reseaux import config
    from reseaux.annuaire.directory import load_directory
    from reseaux.annuaire.referential import load_referential
    from reseaux.annuaire.store import encode_table

    referential = load_referential(config.path("referential"))
    data = encode_table(synthetic_table(12_000))
    assert len(data) > 2 << 20 and "é".encode() in data  # several blocks, accented: two bytes a character
    path = tmp_path / "annuaire.csv"
    path.write_bytes(data)
    with _SmallReads(io.FileIO(path, "rb")) as file:
        streamed = load_directory(file, referential)
        assert not file.closed  # the caller's to close
    whole = load_directory(data, referential)
    pd.testing.assert_frame_equal(streamed.actors, whole.actors)
    assert len(streamed.actors) == 12_000 and streamed.encoding == "utf-8"


def test_a_windows_1252_file_is_streamed_too(tmp_path):
    from reseaux import config
    from reseaux.annuaire.directory import load_directory
    from reseaux.annuaire.referential import load_referential

    referential = load_referential(config.path("referential"))
    text = "id;nom;commune;latitude;longitude\r\nf1;Fiche fictive Hôpital;Évreux;49.02;1.15\r\n"
    path = tmp_path / "annuaire.csv"
    path.write_bytes(text.encode("cp1252"))
    with _SmallReads(io.FileIO(path, "rb")) as file:
        loaded = load_directory(file, referential)
    assert loaded.encoding == "cp1252" and loaded.actors["nom"].tolist() == ["Fiche fictive Hôpital"]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-8-sig"])
def test_a_rarer_file_read_from_the_disk_reads_as_its_bytes(tmp_path, encoding):
    """UTF-16 (with or without its mark: NUL bytes) is read whole, then as bytes are; UTF-8 with a
    mark is streamed: both give what the same bytes give."""
    from reseaux import config
    from reseaux.annuaire.directory import load_directory
    from reseaux.annuaire.referential import load_referential

    referential = load_referential(config.path("referential"))
    data = "id\tnom\tcommune\tlatitude\tlongitude\r\nf1\tFiche fictive Émile\tÉvreux\t49.02\t1.15\r\n".encode(encoding)
    path = tmp_path / "annuaire.csv"
    path.write_bytes(data)
    from_disk, from_bytes = load_directory(path, referential), load_directory(data, referential)
    pd.testing.assert_frame_equal(from_disk.actors, from_bytes.actors)
    assert from_disk.actors["nom"].tolist() == ["Fiche fictive Émile"]


def test_warnings_of_mixed_kinds_are_kept_as_made():
    """A field Arrow cannot hold as one column (a number among texts) leaves the warnings as they
    were made: the same list, the reading not stopped."""
    from reseaux.annuaire.model import Issue

    issues = [Issue(i, "nom", "texte" if i % 2 else 3.5, "message") for i in range(validation.COMPACT_ISSUES)]
    same = list(issues)
    assert validation._compacted(issues) is issues and issues == same
