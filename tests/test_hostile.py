"""Hostile input: script strings in every field, formulas in exports, erasure, uploads."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from reseaux.annuaire.columns import names as column_names
from reseaux.annuaire.directory import load_directory
from reseaux.annuaire.exports import to_csv_bytes, to_xlsx_bytes
from reseaux.annuaire.privacy import ERASED, purge_actor
from reseaux.annuaire.store import DirectoryStore
from tests.conftest import DATA, SCREENSHOTS, ServedApp, map_frame

PAYLOADS = [line for line in (DATA / "xss.txt").read_text(encoding="utf-8").splitlines() if line]
TEXT_FIELDS = ("nom", "structure", "description", "specialites", "langues", "adresse", "commune")


def hostile_directory(path):
    """One public structure per payload, near Rouen, the payload in every free-text field."""
    import csv

    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(column_names()))
        writer.writeheader()
        for i, payload in enumerate(PAYLOADS):
            row = dict.fromkeys(column_names(), "")
            row.update({f: payload for f in TEXT_FIELDS})
            row.update(
                id=f"x{i}",
                type="structure",
                thematiques="ivg",
                code_postal="76000",
                # a grid 5 to 6 km apart: every fiche stands alone on the map, no cluster
                latitude=f"{49.30 + (i // 4) * 0.05:.4f}",
                longitude=f"{0.95 + (i % 4) * 0.08:.4f}",
                site_web="javascript:alert(1)",
                email=payload,
                telephone="=1+1",
                fictif="oui",
                visibilite="public",
            )
            writer.writerow(row)


def test_formulas_are_neutralised_in_csv_and_xlsx(tmp_path, referential):
    path = tmp_path / "actors.csv"
    path.write_text(
        "id,nom,type,description,telephone,commune\n"
        'a,=HYPERLINK("http://example.org";"x"),structure,+33 cmd,@SUM(1),Rouen\n'
        "b,-2+3,structure,normal,02 61 91 00 01,Rouen\n",
        encoding="utf-8",
    )
    actors = load_directory(path, referential).actors
    text = to_csv_bytes(actors).decode("utf-8-sig")
    assert "'=HYPERLINK" in text and "'+33 cmd" in text and "'-2+3" in text and "'@SUM(1)" in text
    sheet = load_workbook(io.BytesIO(to_xlsx_bytes(actors))).active
    values = [c.value for row in sheet.iter_rows(min_row=2) for c in row if c.value]
    assert '\'=HYPERLINK("http://example.org";"x")' in values
    assert not any(str(v).startswith(("=", "+", "@")) for v in values)
    assert sheet["A2"].data_type == "s"


def test_erasure_removes_a_fiche_from_file_backups_journal_and_cache(tmp_path):
    path = tmp_path / "actors.csv"
    path.write_bytes((DATA / "actors_small.csv").read_bytes())
    store = DirectoryStore(path)
    base = store.load()
    changed = base.table.copy()
    changed.loc[changed["id"] == "t1", "telephone"] = "02 61 91 00 42"
    store.save(changed, base, who="Alice")  # a backup holding t1, a journal line naming her
    from reseaux.territoire.geocode_cache import GeoCache, address_key
    from reseaux.territoire.geocoder_client import Match

    cache = GeoCache(tmp_path / "cache.sqlite")
    cache.put_many([(address_key(base.table.iloc[0].to_dict()), Match(49.4, 1.1, 0.9, "housenumber", "x"))])
    cache.close()
    report = purge_actor(store, "t1", "Alice", geocache=tmp_path / "cache.sqlite")
    assert report.backups >= 1 and report.journal_entries >= 1 and report.cache_entries == 1
    everything = path.read_text(encoding="utf-8") + "".join(b.read_text(encoding="utf-8") for b in store.list_backups())
    everything += store.journal.read_text(encoding="utf-8")
    assert "Camille Exemple" not in everything and "02 61 91 00 42" not in everything
    assert ERASED in store.journal.read_text(encoding="utf-8")
    assert store.read_journal()[-1]["action"] == "suppression définitive (RGPD)"
    with pytest.raises(KeyError):
        purge_actor(store, "t1", "Alice")


@pytest.mark.browser
def test_script_strings_show_as_text_everywhere(page, tmp_path):
    path = tmp_path / "actors.csv"
    hostile_directory(path)
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    with ServedApp({"RESEAUX_ACTORS": str(path), "RESEAUX_GEOCODER_URL": "http://127.0.0.1:9"}) as app:
        page.goto(app.url + "/?couches=qpv")
        frame = map_frame(page)
        frame.locator(".rx-pin, .rx-cluster").first.wait_for(timeout=60_000)
        expect(frame.locator(".rx-pin")).to_have_count(len(PAYLOADS))
        opened = 0
        for index in range(frame.locator(".rx-pin").count()):
            frame.locator(".rx-pin").nth(index).dispatch_event("click")
            fiche = frame.locator(".rx-fiche").last
            fiche.wait_for(timeout=60_000)
            title = fiche.locator(".rx-fiche-title").inner_text()
            assert title in PAYLOADS
            expect(fiche.locator("img, svg, iframe, script, details, b")).to_have_count(0)
            expect(fiche.locator("a[href^='javascript']")).to_have_count(0)
            opened += 1
            frame.locator(".leaflet-popup-close-button").last.click()
            frame.locator(".rx-fiche").first.wait_for(state="detached", timeout=60_000)
        assert opened == len(PAYLOADS)
        # « Trouver un partenaire »: the list is Markdown; the strings stay text there too.
        page.goto(app.url + "/trouver?lat=49.42&lon=1.05&rayon=20&k=20")
        page.get_by_text("partenaires les plus proches").wait_for(timeout=60_000)
        main = page.get_by_test_id("stMain")
        texts = main.get_by_test_id("stMarkdownContainer")  # where the fiches' text is written
        texts.nth(len(PAYLOADS)).wait_for(timeout=30_000)  # the cards are written one after the other
        assert texts.count() > len(PAYLOADS)
        # (the only svg allowed is Streamlit's own « link to heading » icon)
        expect(
            texts.locator("img, iframe, script, details, b, svg:not(:is(h1, h2, h3, h4, h5, h6) a[href^='#'] svg)")
        ).to_have_count(0)
        expect(main.locator("a[href^='javascript']")).to_have_count(0)
        expect(main).to_contain_text("<img src=x onerror=alert(1)>")
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "xss-trouver.png"), full_page=True)
    assert dialogs == []


def test_any_exported_table_neutralises_formulas():
    import pandas as pd

    from reseaux.annuaire.exports import table_csv_bytes, table_xlsx_bytes

    table = pd.DataFrame({"nom": ["=CMD()", "Quartier Saint-Julien"], "code": ["+1", "QN07627N"]})
    assert "'=CMD()" in table_csv_bytes(table).decode("utf-8-sig")
    sheet = load_workbook(io.BytesIO(table_xlsx_bytes(table, "Périmètres"))).active
    assert [c.value for c in sheet[2]] == ["'=CMD()", "+1"]  # a number runs nothing: left as it is


def test_an_export_reimports_unchanged_numbers_and_phones_included(tmp_path, referential):
    """Neutralising formulas once turned a longitude of -1.09 into « '-1.090000 » and a phone
    « +33… » into « '+33… », and the re-imported row was rejected."""
    path = tmp_path / "actors.csv"
    path.write_text(
        "id,nom,type,telephone,commune,latitude,longitude\n"
        "a,Centre Ouest,structure,+33 2 35 00 00 00,Cherbourg-en-Cotentin,49.6337,-1.6222\n"
        "b,=CMD(),structure,(0)2 35 00 00 01,Rouen,49.44,1.09\n",
        encoding="utf-8",
    )
    first = load_directory(path, referential)
    again = tmp_path / "export.csv"
    again.write_bytes(to_csv_bytes(first.actors))
    second = load_directory(again, referential)
    assert len(second.rejected) == 0 and len(second.actors) == 2
    for column in ("telephone", "latitude", "longitude"):
        assert second.actors[column].tolist() == first.actors[column].tolist(), column
    assert second.actors["nom"].tolist() == ["Centre Ouest", "'=CMD()"]  # the formula stays defused


def test_a_cell_longer_than_the_csv_limit_is_kept_aside_and_the_rest_loads(tmp_path, referential):
    """A 200,000-character cell once made every page fail with « field larger than field limit »."""
    from reseaux.annuaire.validation import MAX_CELL, validate_record

    path = tmp_path / "actors.csv"
    path.write_text(
        "id,nom,type,description,commune\n"
        f"a,Centre long,structure,{'x' * 200_000},Rouen\n"
        "b,Centre court,structure,normal,Rouen\n",
        encoding="utf-8",
    )
    directory = load_directory(path, referential)
    assert directory.actors["nom"].tolist() == ["Centre court"]
    assert len(directory.rejected) == 1
    problem = next(i for i in directory.issues if i.column == "description")
    assert problem.line == 2 and "200\u202f000 caractères" in problem.message and "raccourcissez" in problem.message
    _, issues = validate_record({"id": "c", "nom": "y" * (MAX_CELL + 1), "type": "structure"}, referential)
    assert any(i.column == "nom" and "au plus" in i.message for i in issues)  # the form refuses it too


def _xlsx_with(sheet_xml_edit) -> bytes:
    """A real workbook (openpyxl) whose first sheet's XML is rewritten by ``sheet_xml_edit``."""
    import zipfile

    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["id", "nom", "type", "commune"])
    book.active.append(["x1", "Centre (fictif)", "structure", "Rouen"])
    buffer = io.BytesIO()
    book.save(buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = sheet_xml_edit(data)
            target.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return out.getvalue()


def test_a_sheet_declaring_a_million_rows_reads_the_two_it_holds():
    """A 5 KB workbook declaring A1:XFD1048576 once exhausted memory on import."""
    import re

    from reseaux.importation.reading import read_upload

    data = _xlsx_with(lambda xml: re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:XFD1048576"/>', xml))
    assert len(data) < 10_000
    assert read_upload("bombe.xlsx", data) == [
        ["id", "nom", "type", "commune"],
        ["x1", "Centre (fictif)", "structure", "Rouen"],
    ]


def test_a_spreadsheet_that_unpacks_to_gigabytes_is_refused_before_unpacking():
    from reseaux.importation.reading import MAX_UNPACKED_BYTES, UploadError, read_upload

    padding = b" " * (MAX_UNPACKED_BYTES + 1024)
    data = _xlsx_with(lambda xml: xml.replace(b"<sheetData>", padding + b"<sheetData>", 1))
    assert len(data) < 1_000_000  # small on disk
    with pytest.raises(UploadError, match="se décompresse en"):
        read_upload("bombe.xlsx", data)


def test_an_import_of_more_rows_than_the_limit_is_refused_with_the_count(monkeypatch):
    from reseaux.importation import reading

    monkeypatch.setattr(reading, "MAX_ROWS", 1000)
    text = "id,nom,type,commune\n" + "".join(f"x{i},Centre {i},structure,Rouen\n" for i in range(1500))
    with pytest.raises(reading.UploadError, match="1\u202f500 lignes"):
        reading.read_upload("grand.csv", text.encode("utf-8"))


ENTITIES = (
    b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">'
    b'<!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">'
    b'<!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;"><!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;">'
    b'<!ENTITY i "&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;"><!ENTITY j "&i;&i;&i;&i;&i;&i;&i;&i;&i;&i;">'
    b'<!ENTITY k SYSTEM "file:///etc/passwd">]>'
)


def _with_entities(xml: bytes, name: bytes) -> bytes:
    """The XML part with a DTD declaring the « billion laughs » (10 characters × 10⁹) and an
    external entity, and the cell « Centre (fictif) » replaced by a reference to them."""
    import re

    xml = re.sub(rb"^<\?xml[^>]*\?>", b"", xml.lstrip())
    return b'<?xml version="1.0" encoding="UTF-8"?>' + ENTITIES + xml.replace(b"Centre (fictif)", name)


def entity_workbooks(reference: bytes) -> tuple[bytes, bytes]:
    """An XLSX and an ODS whose XML declares :data:`ENTITIES` and uses ``reference`` in a cell."""
    import re
    import zipfile

    def inline(xml):  # openpyxl writes shared strings: the sheet gets an inline-string cell
        xml = _with_entities(xml, b"")
        return re.sub(
            rb'<c r="B2"[^>]*>.*?</c>',
            b'<c r="B2" t="inlineStr"><is><t>' + reference + b"</t></is></c>",
            xml,
            count=1,
            flags=re.S,
        )

    from tests.ods import ods_workbook

    data = ods_workbook({"Feuille1": [["id", "nom", "type"], ["x1", "Centre (fictif)", "structure"]]})
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = source.read(info.filename)
            target.writestr(info, _with_entities(data, reference) if info.filename == "content.xml" else data)
    return _xlsx_with(inline), out.getvalue()


@pytest.mark.parametrize("reference", [b"&j;", b"&k;"], ids=["billion-laughs", "entite-externe"])
def test_a_spreadsheet_declaring_xml_entities_is_refused_before_expanding_them(reference):
    """A few kilobytes that expand to 10 GB, or a cell that reads a server file: refused at once
    with a French message, for Excel and OpenDocument alike."""
    import resource

    from reseaux.importation.reading import UploadError, read_upload

    xlsx, ods = entity_workbooks(reference)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for name, data in (("bombe.xlsx", xlsx), ("bombe.ods", ods)):
        assert len(data) < 20_000
        with pytest.raises(UploadError, match="refusé : son XML déclare des entités"):
            read_upload(name, data)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000  # kB: nothing expanded


def test_an_excel_unicode_text_export_reads_like_utf8():
    """Excel's « Texte Unicode » is UTF-16 LE with a byte-order mark, tab-separated: it was read
    as one column of NUL-riddled names. Without the mark (some exporters), too."""
    from reseaux.importation.reading import read_upload

    text = "id\tnom\ttype\tcommune\r\nx1\tCentre Émile (fictif)\tstructure\tÉvreux\r\n"
    expected = [["id", "nom", "type", "commune"], ["x1", "Centre Émile (fictif)", "structure", "Évreux"]]
    assert read_upload("export.txt", text.encode("utf-16")) == expected  # with the mark
    assert read_upload("export.csv", text.encode("utf-16-le")) == expected
    assert read_upload("export.csv", text.encode("utf-16-be")) == expected
    assert read_upload("export.csv", text.replace("\t", ",").encode("utf-32")) == expected


def test_stray_nul_bytes_are_removed_and_a_binary_file_is_refused(tmp_path, referential):
    from reseaux.annuaire.directory import DirectoryError
    from reseaux.importation.reading import read_upload

    # A file cut short on a crash may end in NUL bytes, as may a cell pasted from another program.
    damaged = b"id,nom,type,commune\nx1,Cen\x00tre (fictif),structure,Rouen\n" + b"\x00" * 6
    assert read_upload("a.csv", damaged)[1] == ["x1", "Centre (fictif)", "structure", "Rouen"]
    path = tmp_path / "actors.csv"
    path.write_bytes(damaged)
    assert load_directory(path, referential).actors["nom"].tolist() == ["Centre (fictif)"]
    for binary in (b"\x00" * 5000, bytes(range(256)) * 100, b"PK\x03\x04" + b"\x00" * 2000):
        with pytest.raises(DirectoryError, match="n'est pas un texte CSV : il contient"):
            read_upload("classeur.csv", binary)


def test_a_one_megabyte_cell_in_an_import_is_kept_aside_with_its_line(referential):
    from reseaux.annuaire.directory import validate_rows
    from reseaux.importation.reading import read_upload

    data = (
        "id,nom,type,description,commune\n"
        f"x1,Centre long (fictif),structure,{'y' * 1_000_000},Rouen\n"
        "x2,Centre court (fictif),structure,ok,Rouen\n"
    ).encode()
    checked = validate_rows(read_upload("grand.csv", data), referential)
    assert checked.actors["nom"].tolist() == ["Centre court (fictif)"]
    problem = next(i for i in checked.issues if i.column == "description")
    assert problem.line == 2 and "1\u202f000\u202f000 caractères" in problem.message


@pytest.mark.parametrize(
    "document", [b"[" * 200_000, b'{"type": "FeatureCollection", "features": [' * 50_000], ids=["listes", "objets"]
)
def test_a_geojson_nested_beyond_reason_is_refused(document):
    from reseaux.importation.reading import UploadError, read_upload

    with pytest.raises(UploadError, match="imbriquées sur des milliers de niveaux"):
        read_upload("carte.geojson", document)


def test_deep_geojson_properties_stay_one_cell():
    import json

    from reseaux.importation.reading import read_upload

    deep: dict = {"v": 1}
    for _ in range(500):
        deep = {"a": deep}
    document = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"nom": "Centre (fictif)", "contact": {"tel": "02 35 00 00 00"}, "profond": deep},
                "geometry": {"type": "Point", "coordinates": [1.09, 49.44]},
            }
        ],
    }
    rows = read_upload("carte.geojson", json.dumps(document).encode())
    assert rows[0][:2] == ["nom", "contact.tel"] and rows[1][:2] == ["Centre (fictif)", "02 35 00 00 00"]
    assert rows[0] == ["nom", "contact.tel", "profond.a.a.a", "latitude", "longitude"]
    assert json.loads(rows[1][2])["a"]["a"]["a"]  # below four levels: one cell, its JSON text
