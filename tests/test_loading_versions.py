"""A server keeps the directory's current version parsed: not every version it has served (at a
million fiches each is 0.8 GB, and every save makes one)."""

import gc
import weakref

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
