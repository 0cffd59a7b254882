"""Uploads that cost minutes. A workbook of a few hundred kilobytes whose XML
holds millions of cells, a sheet that reads forever, an import's duplicate search over 200,000
rows, and the review of thousands of duplicates."""

from __future__ import annotations

import io
import time
import zipfile

import pytest

from reseaux.importation import reading
from reseaux.importation.reading import UploadError, read_upload
from tests.ods import ods_workbook
from tests.test_hostile import _xlsx_with

HEADER = [["id", "nom", "type", "commune"], ["x1", "Centre (fictif)", "structure", "Rouen"]]


def _with_rows(rows: bytes):
    """A sheet edit appending ``rows`` (XML of ``<row>`` elements) after the two rows it holds."""
    return lambda xml: xml.replace(b"</sheetData>", rows + b"</sheetData>", 1)


def _styled_empty_rows(n_rows: int, n_cells: int, first: int = 3) -> bytes:
    """Rows of empty cells that only carry a style: nothing to read, all of it to parse."""
    return b"".join(b'<row r="%d">' % r + b'<c s="0"/>' * n_cells + b"</row>" for r in range(first, first + n_rows))


def test_a_sheet_of_empty_styled_cells_beyond_the_budget_is_refused_before_it_is_read(monkeypatch):
    monkeypatch.setattr(reading, "MAX_CELLS", 1000)
    data = _xlsx_with(_with_rows(_styled_empty_rows(20, 100)))
    with pytest.raises(
        UploadError,
        match="feuille « Sheet » compte 2\u202f008 cellules.*au plus 1\u202f000.*feuille utile seule en CSV",
    ):
        read_upload("bombe.xlsx", data)


def test_two_million_styled_empty_cells_are_refused_in_a_few_seconds():
    """Beyond the real limit: 2.1 million empty cells (21 MB of XML, 60 KB zipped) took 8 CPU
    seconds to read into two rows; counting them takes a fraction of that."""
    data = _xlsx_with(_with_rows(_styled_empty_rows(7_000, 300)))
    assert len(data) < 200_000
    start = time.process_time()
    with pytest.raises(UploadError, match="2\u202f100\u202f008 cellules"):
        read_upload("bombe.xlsx", data)
    assert time.process_time() - start < 3


def _with_shared_strings(data: bytes, n_strings: int) -> bytes:
    """``data`` with a shared-strings part of ``n_strings`` strings, declared as Excel declares it."""
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    strings = (
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        + b"".join(b"<si><t>t%d</t></si>" % i for i in range(n_strings))
        + b"</sst>"
    )
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            part = source.read(info.filename)
            if info.filename == "[Content_Types].xml":
                part = part.replace(
                    b"</Types>",
                    b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                    b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
                )
            elif info.filename == "xl/_rels/workbook.xml.rels":
                part = part.replace(
                    b"</Relationships>",
                    b'<Relationship Id="rIdS" Type="http://schemas.openxml'
                    b'formats.org/officeDocument/2006/relationships/sharedStrings" '
                    b'Target="sharedStrings.xml"/></Relationships>',
                )
            target.writestr(info, part)
        target.writestr("xl/sharedStrings.xml", strings)
    return out.getvalue()


def test_a_workbook_of_more_shared_strings_than_the_budget_is_refused(monkeypatch):
    data = _with_shared_strings(_xlsx_with(lambda xml: xml), 1500)
    assert read_upload("textes.xlsx", data) == HEADER  # read as Excel would: the strings are declared
    monkeypatch.setattr(reading, "MAX_CELLS", 1000)
    with pytest.raises(UploadError, match="1\u202f500 textes.*au plus 1\u202f000"):
        read_upload("textes.xlsx", data)


def test_a_sheet_read_past_the_deadline_is_refused_with_the_line_reached(monkeypatch):
    monkeypatch.setattr(reading, "READ_SECONDS", 0)
    with pytest.raises(
        UploadError, match="arrêtée au bout de 0 s \\(feuille « Sheet », ligne 1\\).*feuille utile seule en CSV"
    ):
        read_upload("lent.xlsx", _xlsx_with(lambda xml: xml))


def test_reading_a_workbook_reports_its_progress(monkeypatch):
    monkeypatch.setattr(reading, "PROGRESS_ROWS", 2)
    rows = b"".join(b'<row r="%d"><c t="inlineStr"><is><t>y%d</t></is></c></row>' % (r, r) for r in range(3, 9))
    seen = []
    read_upload("suivi.xlsx", _xlsx_with(_with_rows(rows)), progress=lambda done, total: seen.append((done, total)))
    assert seen == [(2, 8), (4, 8), (6, 8), (8, 8)]


def test_a_filled_row_far_below_the_row_limit_is_refused_not_dropped(monkeypatch):
    """Rows 1, 2 and 5000 of a sheet: reading stopped at the limit, then dropped the trailing
    blanks, and row 5000 with them — silently."""
    monkeypatch.setattr(reading, "MAX_ROWS", 1000)
    far = b'<row r="5000"><c r="A5000" t="inlineStr"><is><t>x9</t></is></c></row>'
    with pytest.raises(UploadError, match="Feuille « Sheet » : plus de 1\u202f000 lignes"):
        read_upload("loin.xlsx", _xlsx_with(_with_rows(far)))
    assert read_upload("proche.xlsx", _xlsx_with(_with_rows(far.replace(b"5000", b"6")))) == [
        *HEADER,
        ["", "", "", ""],
        ["", "", "", ""],
        ["", "", "", ""],
        ["x9", "", "", ""],
    ]


def test_a_sheet_naming_a_shared_string_that_does_not_exist_gets_a_french_message():
    data = _xlsx_with(_with_rows(b'<row r="3"><c r="A3" t="s"><v>7</v></c></row>'))
    with pytest.raises(UploadError, match="Classeur Excel illisible \\(IndexError\\)"):
        read_upload("abime.xlsx", data)


def test_counting_the_elements_of_a_part_sees_prefixes_and_tags_cut_between_chunks(monkeypatch):
    from reseaux.importation import sheet_limits

    monkeypatch.setattr(sheet_limits, "_CHUNK", 7)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "s.xml",
            b'<x:sheetData><x:row r="1"><x:c r="A1"/><c>1</c><cols/><col/></x:row>'
            b"<row><c\n/></row></x:sheetData><sst><si><t>a</t></si></sst>",
        )
    counts = sheet_limits.count_elements(zipfile.ZipFile(buffer))
    assert dict(counts.parts["s.xml"]) == {"row": 2, "c": 3, "si": 1}


# --- duplicate search ------------------------------------------------------------------------


def _fiches(rows: list[tuple[str, str, str, str]], prefix: str):
    """A directory table from (name, address, commune, postcode) tuples, ids ``prefix1``, ``prefix2``…"""
    import pandas as pd

    from reseaux.annuaire.columns import names

    COLUMNS = names()

    return pd.DataFrame(
        [
            dict.fromkeys(COLUMNS, "") | {"id": f"{prefix}{i}", "nom": n, "adresse": a, "commune": c, "code_postal": p}
            for i, (n, a, c, p) in enumerate(rows, start=1)
        ],
        dtype=object,
    )


def test_duplicates_are_looked_for_in_the_same_commune_written_another_way():
    from reseaux.importation.duplicates import find_duplicates

    existing = _fiches(
        [
            ("Marie Dupont", "12 rue des Tilleuls", "Rouen", "76000"),
            ("Centre Élan", "3 place Verte", "Saint-Étienne-du-Rouvray", ""),
            ("Paul Martin", "5 rue Haute", "", "76500"),
        ],
        "e",
    )
    new = _fiches(
        [
            ("DUPONT Marie", "12, rue des Tilleuls", "ROUEN CEDEX", ""),
            ("Centre Elan", "3 pl. Verte", "St Etienne du Rouvray", ""),
            ("Martin Paul", "5 rue Haute", "Elbeuf", "76500"),
            ("Marie Dupont", "40 avenue Nue", "Dieppe", ""),  # same name elsewhere: another person
            ("Marie Dupond", "", "", ""),
        ],  # neither address nor place: only the same words would do
        "n",
    )
    found = {(d.new_index, d.existing_id) for d in find_duplicates(new, existing)}
    assert found == {(0, "e1"), (1, "e2"), (2, "e3")}


def test_the_duplicate_search_compares_within_blocks_not_every_pair():
    """2,000 rows against 2,000 fiches in 40 communes: 4 million pairs before, a tenth at most now
    (the names share two words: all the fiches of a commune are compared with its rows)."""
    from reseaux.importation.duplicates import find_duplicates

    communes = [f"Bourg {chr(97 + i)}{chr(97 + i % 7)}" for i in range(40)]
    fiches = [(f"Personne {i:04d} Nom{i % 97}", f"{i} rue Longue", communes[i % 40], "") for i in range(2000)]
    existing, new = _fiches(fiches, "e"), _fiches([(n.upper(), a, c, p) for n, a, c, p in fiches], "n")
    seen = []
    found = find_duplicates(new, existing, progress=lambda done, planned: seen.append((done, planned)))
    assert len(found) == 2000 and found.unchecked == 0
    assert all(d.existing_id == f"e{d.new_index + 1}" for d in found)
    assert seen[-1][0] == seen[-1][1] < 2000 * 2000 / 10


def test_the_duplicate_search_stops_at_its_budget_and_counts_the_rows_left(monkeypatch):
    from reseaux.importation import duplicates

    rouen = [(f"Cabinet {i}", f"{i} rue Longue", "Rouen", "") for i in range(50)]
    elbeuf = [("Centre Élan", "3 place Verte", "Elbeuf", "")]
    existing = _fiches(rouen + elbeuf, "e")
    new = _fiches([(n.replace("Cabinet", "Cabinets"), a, c, p) for n, a, c, p in rouen] + elbeuf, "n")
    assert len(duplicates.find_duplicates(new, existing)) == 51
    monkeypatch.setattr(duplicates, "MAX_COMPARISONS", 100)  # the Élan block (1 × 1) fits, Rouen (50 × 50) not
    found = duplicates.find_duplicates(new, existing)
    assert [d.existing_id for d in found] == ["e51"] and found.unchecked == 50


# --- duplicates review -----------------------------------------------------------------------


def _review_script():
    import pandas as pd
    import streamlit as st

    from reseaux.annuaire.columns import names

    COLUMNS = names()
    from reseaux.importation.duplicates import find_duplicates
    from reseaux.ui.annuaire.importer import duplicates_review

    work = pd.DataFrame(
        [
            dict.fromkeys(COLUMNS, "")
            | {"id": f"e{i}", "nom": f"Cabinet {i}", "adresse": f"{i} rue Longue", "commune": "Rouen"}
            for i in range(45)
        ],
        dtype=object,
    )
    new = work.assign(id=[f"n{i}" for i in range(45)])
    if "found" not in st.session_state:  # the page keeps its duplicates as long as the import and the directory
        st.session_state["found"] = find_duplicates(new, work)
    st.session_state["decided"] = duplicates_review(new, work, st.session_state["found"])


def test_duplicates_are_reviewed_twenty_a_page_and_decisions_survive_the_pages():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_review_script, default_timeout=60).run()
    assert not at.exception
    assert "**45 doublons probables**" in at.markdown[0].value
    assert len(at.radio) == 20 and at.radio[0].key == "ann_dup_0"
    assert "Doublons 1 à 20 sur 45 (page 1 sur 3)" in [c.value for c in at.caption]
    at.radio(key="ann_dup_0").set_value("ignorer").run()
    at.button(key="ann_dup_next").click().run()
    assert [r.key for r in at.radio][:2] == ["ann_dup_20", "ann_dup_21"] and len(at.radio) == 20
    at.radio(key="ann_dup_20").set_value("garder les deux").run()
    at.button(key="ann_dup_next").click().run()
    assert len(at.radio) == 5 and at.button(key="ann_dup_next").disabled
    at.button(key="ann_dup_prev").click().run()
    at.button(key="ann_dup_prev").click().run()
    assert at.radio(key="ann_dup_0").value == "ignorer"  # kept while its page was not drawn
    decided = at.session_state["decided"]
    assert decided == {**{i: "fusionner" for i in range(45) if i not in (0, 20)}, 0: "ignorer", 20: "garder les deux"}
    assert "fusionner : 43 · garder les deux : 1 · ignorer : 1" in [c.value for c in at.caption]
    at.selectbox(key="ann_dup_all").set_value("ignorer")
    at.button(key="ann_dup_all_go").click().run()
    assert all(r.value == "ignorer" for r in at.radio)
    assert set(at.session_state["decided"].values()) == {"ignorer"} and len(at.session_state["decided"]) == 45


# --- applying an import ----------------------------------------------------------------------


def test_merging_thousands_of_duplicates_and_dropping_blank_rows_take_a_second_not_minutes():
    """4,000 merges were 4,000 row assignments (1 ms each, 8 ms in columns of pandas strings: 83 s for
    20,000) and blank rows were found row by row (5.5 s for 20,000 rows, 55 s for 200,000)."""
    from reseaux.importation.duplicates import find_duplicates
    from reseaux.importation.import_merge import apply_import
    from reseaux.importation.importing import drop_blank

    fiches = [(f"Cabinet {i:04d}", f"{i} rue Longue", f"Bourg {chr(97 + i % 26)}", "") for i in range(4000)]
    existing, new = _fiches(fiches, "e"), _fiches([(n.upper(), a, c, p) for n, a, c, p in fiches], "n")
    new.loc[len(new)] = ""  # a blank row, dropped
    found = find_duplicates(drop_blank(new), existing)
    start = time.process_time()
    table = apply_import(existing, drop_blank(new), {0: "garder les deux", 1: "ignorer"}, found)
    assert time.process_time() - start < 1.5
    # « CABINET 0002 » merged into « Cabinet 0002 » says the same name: the fiche keeps its own
    assert len(table) == 4001 and table["nom"].iloc[2] == "Cabinet 0002" and table["id"].iloc[-1] == "n1"
    assert table["nom"].iloc[1] == "Cabinet 0001"  # ignored: the fiche as it was
    big = _fiches(fiches * 5, "b")
    big.loc[[5, 7, 9], :] = ""
    start = time.process_time()
    assert len(drop_blank(big)) == 19_997
    assert time.process_time() - start < 1


# --- OpenDocument ----------------------------------------------------------------------------


def _ods_with(rows_xml: bytes) -> bytes:
    """An OpenDocument workbook with ``rows_xml`` appended to its first table."""
    data = ods_workbook({"Feuille1": [["id", "nom", "type"], ["x1", "Centre (fictif)", "structure"]]})
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            part = source.read(info.filename)
            if info.filename == "content.xml":
                part = part.replace(b"</table:table>", rows_xml + b"</table:table>", 1)
            target.writestr(info, part)
    return out.getvalue()


def _repeated(rows: int, cells: int, value: bytes = b'office:value-type="string"><text:p>x</text:p>') -> bytes:
    cell = (
        b'<table:table-cell table:number-columns-repeated="%d" ' % cells
        + value
        + (b"" if value.endswith(b"/>") else b"</table:table-cell>")
    )
    return b'<table:table-row table:number-rows-repeated="%d">' % rows + cell + b"</table:table-row>"


def test_an_ods_row_repeated_a_billion_times_is_refused_before_pandas_expands_it():
    """1.6 KB on disk; pandas' reader builds one list entry per repetition (8 GB)."""
    data = _ods_with(_repeated(1_000_000_000, 3))
    assert len(data) < 5_000
    start = time.process_time()
    with pytest.raises(UploadError, match="au moins 1\u202f000\u202f000\u202f001 lignes"):
        read_upload("bombe.ods", data)
    assert time.process_time() - start < 1


def test_an_ods_beyond_its_cell_budget_is_refused_and_a_trailing_blank_area_is_not_counted(monkeypatch):
    monkeypatch.setattr(reading, "MAX_ODS_CELLS", 100)
    blank_area = _repeated(1_048_000, 1024, b"/>")  # what LibreOffice writes below the data
    assert read_upload("normal.ods", _ods_with(blank_area)) == [
        ["id", "nom", "type"],
        ["x1", "Centre (fictif)", "structure"],
    ]
    with pytest.raises(UploadError, match="comptent au moins 110 cellules \\(au plus 100 dans un classeur .ods\\)"):
        read_upload("large.ods", _ods_with(_repeated(20, 5)))  # 22 rows of 5 cells (pandas makes it square)


def test_the_command_line_import_reports_its_steps_and_a_bounded_duplicate_search(tmp_path, monkeypatch, referential):
    from reseaux.importation import duplicates
    from reseaux.importation.import_file import import_file

    into = tmp_path / "actors.csv"
    _fiches([(f"Cabinet {i}", f"{i} rue Longue", "Rouen", "") for i in range(30)], "e").to_csv(into, index=False)
    source = tmp_path / "nouveaux.csv"
    _fiches([(f"Cabinets {i}", f"{i} rue Longue", "Rouen", "") for i in range(30)], "n").to_csv(source, index=False)
    steps = []
    result = import_file(
        source, into, referential, offline=True, dry_run=True, progress=lambda step, done, total: steps.append(step)
    )
    assert result.merged == 30 and result.unchecked == 0 and "doublons" in steps
    monkeypatch.setattr(duplicates, "MAX_COMPARISONS", 10)
    result = import_file(source, into, referential, offline=True, dry_run=True)
    assert result.unchecked == 30
    assert any("Recherche des doublons bornée : pour 30 lignes" in s for s in result.sentences())


def test_a_sheet_part_named_otherwise_is_counted_all_the_same(monkeypatch):
    """The sheet's path comes from the workbook's relations: « feuille.bin » is read as well."""
    source, out = zipfile.ZipFile(io.BytesIO(_xlsx_with(_with_rows(_styled_empty_rows(20, 100))))), io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            part = source.read(info.filename)
            name = "xl/worksheets/feuille.bin" if info.filename == "xl/worksheets/sheet1.xml" else info.filename
            target.writestr(name, part.replace(b"worksheets/sheet1.xml", b"worksheets/feuille.bin"))
    assert len(read_upload("renomme.xlsx", out.getvalue())) == 2  # openpyxl follows the relations
    monkeypatch.setattr(reading, "MAX_CELLS", 1000)
    with pytest.raises(UploadError, match="2\u202f008 cellules"):
        read_upload("renomme.xlsx", out.getvalue())


def test_a_merge_into_a_repeated_id_goes_to_its_first_fiche():
    from reseaux.importation.duplicates import find_duplicates
    from reseaux.importation.import_merge import apply_import

    existing = _fiches([("Centre Élan", "3 place Verte", "Elbeuf", ""), ("Autre", "", "Rouen", "")], "e")
    existing["id"] = ["dup", "dup"]
    new = _fiches([("Centre Élan", "3 place Verte", "Elbeuf", "76500")], "n")
    table = apply_import(existing, new, {}, find_duplicates(new, existing))
    assert table["code_postal"].tolist() == ["76500", ""]


def test_a_sheet_of_empty_styled_rows_beyond_the_budget_is_refused(monkeypatch):
    """A million « formatted » empty rows (2.3 MB zipped) took 22 CPU s to read into two rows."""
    monkeypatch.setattr(reading, "MAX_CELLS", 1000)
    rows = b"".join(b'<row r="%d" s="1" customFormat="1"/>' % r for r in range(3, 1503))
    with pytest.raises(
        UploadError, match="compte 8 cellules sur 1\u202f502 lignes.*au plus 1\u202f000 cellules et lignes en tout"
    ):
        read_upload("lignes.xlsx", _xlsx_with(_with_rows(rows)))


def _damaged(data: bytes, part: str, how: str) -> bytes:
    """``data`` (a zip) with its member ``part`` damaged: ``deflate`` garbles its compressed bytes,
    ``method`` declares a compression no reader knows, ``encrypted`` marks it encrypted."""
    import struct

    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(part)
    damaged = bytearray(data)
    local = info.header_offset
    name_length, extra_length = struct.unpack_from("<HH", damaged, local + 26)
    start = local + 30 + name_length + extra_length
    central = data.index(b"PK\x01\x02")  # the central directory: its entry for ``part``
    while data[central + 46 : central + 46 + len(part)] != part.encode():
        central = data.index(b"PK\x01\x02", central + 1)
    if how == "deflate":
        damaged[start : start + info.compress_size] = b"\xff" * info.compress_size
    elif how == "method":
        struct.pack_into("<H", damaged, local + 8, 99)
        struct.pack_into("<H", damaged, central + 10, 99)
    else:
        for flags in (local + 6, central + 8):
            struct.pack_into("<H", damaged, flags, struct.unpack_from("<H", damaged, flags)[0] | 0x1)
    return bytes(damaged)


@pytest.mark.parametrize("how", ["deflate", "method", "encrypted"])
def test_a_workbook_whose_archive_is_damaged_gets_a_french_message(how):
    """A garbled deflate stream (zlib.error), an unknown compression (NotImplementedError) or an
    encrypted part (RuntimeError) came out of the cell count as a traceback."""
    data = _damaged(_xlsx_with(lambda xml: xml), "xl/worksheets/sheet1.xml", how)
    with pytest.raises(UploadError, match="Classeur Excel illisible : archive abîmée.*enregistrez-le de nouveau"):
        read_upload("abime.xlsx", data)


@pytest.mark.parametrize("how", ["deflate", "method", "encrypted"])
def test_an_opendocument_whose_archive_is_damaged_gets_a_french_message(how):
    data = _damaged(ods_workbook({"Feuille1": HEADER}), "content.xml", how)
    with pytest.raises(UploadError, match="Classeur OpenDocument illisible : archive abîmée"):
        read_upload("abime.ods", data)
