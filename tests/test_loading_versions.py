"""A server keeps the directory's current version parsed: not every version it has served (at a
million fiches each is 0.8 GB, and every save makes one)."""

import gc
import os
import weakref
from functools import partial

import pytest

from reseaux.acces.access import ROLES
from reseaux.ui import loading
from tests.conftest import DATA


def test_a_server_keeps_the_current_version_of_the_directory_parsed(tmp_path, monkeypatch):
    path = tmp_path / "actors.csv"
    path.write_bytes((DATA / "actors_small.csv").read_bytes())
    monkeypatch.setenv("RESEAUX_ACTORS", str(path))
    monkeypatch.setenv("RESEAUX_GEOCACHE", str(tmp_path / ".cache" / "geocodage.sqlite"))
    loading._actors.clear()
    try:
        first = loading._actors(str(path), 1.0)
        gone = weakref.ref(first)
        views = [weakref.ref(loading._visible(str(path), 1.0, role, "public")) for role in ("visiteur", "membre")]
        del first
        second = loading._actors(str(path), 2.0)
        before = weakref.ref(second)
        del second
        third = loading._actors(str(path), 3.0)
        for role in ROLES:  # every role's view of the last: the first's views go
            loading._visible(str(path), 3.0, role, "public")
        gc.collect()
        assert gone() is None and before() is None  # the versions before are let go…
        assert loading._actors(str(path), 3.0) is third  # …the current one is kept
        assert [view() for view in views] == [None, None]
    finally:
        loading._actors.clear()
        loading._visible.clear()


def _csv(rows) -> bytes:
    return rows.to_csv().encode("utf-8")


def test_a_download_of_a_replaced_version_says_so_and_lets_its_rows_go(tmp_path):
    """A page's download, built when clicked, of the version its run showed: once the directory
    changed it gives a file saying so (a fiche erased since is not handed out), and its rows are
    let go as soon as the server shows another version (Streamlit keeps a page's downloads
    until its session goes: the version a save replaced stayed in memory through them)."""

    import pandas as pd

    path = tmp_path / "actors.csv"
    path.write_text("v1", encoding="utf-8")
    os.utime(path, (1, 1))
    rows = pd.DataFrame({"nom": ["Centre de santé"]})
    held = weakref.ref(rows)
    download = loading.of_this_version(partial(_csv, rows), loading.changed_since("csv"), (str(path), 1.0))
    del rows
    assert b"Centre de sant" in download()  # the version shown: its list
    path.write_text("v2", encoding="utf-8")  # saved by someone else
    os.utime(path, (2, 2))
    changed = download()
    assert loading.CHANGED_SINCE in changed.decode("utf-8-sig") and b"Centre" not in changed
    assert held() is not None  # until this server shows the new version…
    loading._shown_now(str(path), 1.0)
    loading._shown_now(str(path), 2.0)
    gc.collect()
    assert held() is None  # …then its rows go
    assert loading.CHANGED_SINCE in download().decode("utf-8-sig")
    for kind in ("xlsx", "geojson"):
        assert loading.changed_since(kind)()  # a file in each format the exports give


def test_a_download_of_the_version_shown_is_its_list_and_stays(tmp_path):
    path = tmp_path / "actors.csv"
    path.write_text("v1", encoding="utf-8")
    os.utime(path, (1, 1))
    download = loading.of_this_version(lambda: b"nom\nCentre", loading.changed_since("csv"), (str(path), 1.0))
    loading._shown_now(str(path), 1.0)
    assert download() == b"nom\nCentre"
    assert loading.of_this_version(bytes, loading.changed_since("csv"), None)() == b""  # no version: as given


@pytest.mark.parametrize("name", ["acteurs.csv", "acteurs.xlsx", "annuaire.geojson"])
def test_a_download_whose_file_cannot_be_built_says_so_in_french(name, caplog):
    """A download built when clicked whose building fails gives a file in its format that says so
    in French (the error itself goes to the server's log, not to the person), instead of
    Streamlit's own message in English; nothing is written in the audit trail as downloaded."""
    import io
    import json

    import openpyxl

    from reseaux.ui import widgets

    def broken() -> bytes:
        raise ValueError("colonne introuvable : secret_interne")

    with caplog.at_level("ERROR", logger="reseaux"):
        got = widgets.audited_export(broken, name)()
    if name.endswith(".xlsx"):
        sheet = openpyxl.load_workbook(io.BytesIO(got)).active
        said = [[cell.value for cell in row] for row in sheet.iter_rows()]
        assert said == [["Message"], [widgets.NOT_BUILT]]
    elif name.endswith(".geojson"):
        assert json.loads(got) == {"type": "FeatureCollection", "features": [], "message": widgets.NOT_BUILT}
    else:
        assert got.decode("utf-8-sig").splitlines()[1].strip('"') == widgets.NOT_BUILT
    assert b"secret_interne" not in got
    assert "secret_interne" in caplog.text and name in caplog.text


def test_a_download_of_another_format_whose_file_cannot_be_built_is_not_given_a_table():
    from reseaux.ui import widgets

    def broken() -> bytes:
        raise ValueError("image")

    with pytest.raises(ValueError):
        widgets.audited_export(broken, "carte.png")()


def test_a_new_version_is_read_after_the_views_of_the_one_before_are_let_go(tmp_path, monkeypatch):
    """After a save, the pages' views of the version before (a visitor's: a copy of the public
    fiches) go before the new version is read, not after: both were held at once, with the new
    reading's own, at the top of the server's memory. The version before itself stays, to be
    read from."""
    path = tmp_path / "actors.csv"
    path.write_bytes((DATA / "actors_small.csv").read_bytes())
    monkeypatch.setenv("RESEAUX_ACTORS", str(path))
    monkeypatch.setenv("RESEAUX_GEOCACHE", str(tmp_path / ".cache" / "geocodage.sqlite"))
    read = loading._actors
    read.clear()
    loading._visible.clear()
    loading._SHOWN[0] = None
    try:
        stamp = [1.0]
        monkeypatch.setattr(loading, "directory_source", lambda: (str(path), stamp[0]))
        loading.actors()
        view = weakref.ref(loading._visible(str(path), 1.0, "visiteur", "public"))
        directory = weakref.ref(loading._actors(str(path), 1.0))
        assert view() is not None
        seen = []

        def reading(source, mtime):
            gc.collect()
            seen.append((mtime, view() is None, directory() is not None))
            return read(source, mtime)

        monkeypatch.setattr(loading, "_actors", reading)
        stamp[0] = 2.0  # saved
        loading.actors()
        assert seen[0] == (2.0, True, True)  # the view was gone, the directory there, as 2 was read
    finally:
        read.clear()
        loading._visible.clear()
        loading._SHOWN[0] = None
