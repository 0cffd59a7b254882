"""The parsed directory kept between starts: read back when the file is unchanged, never stale."""

from __future__ import annotations

import shutil

from reseaux.app_data import load_actors, load_referential_file
from tests.conftest import DATA


def test_an_unchanged_file_is_read_back_and_a_changed_one_is_not(tmp_path, monkeypatch):
    monkeypatch.setenv("RESEAUX_GEOCACHE", str(tmp_path / "cache" / "geocodage.sqlite"))
    path = tmp_path / "actors.csv"
    shutil.copy(DATA / "actors_small.csv", path)
    referential = load_referential_file()
    first = load_actors(path, referential)
    kept = list((tmp_path / "cache" / "annuaire").glob("*.pickle"))
    assert len(kept) == 1
    again = load_actors(path, referential)
    assert again.directory.actors.equals(first.directory.actors) and again.search.equals(first.search)
    path.write_text(path.read_text(encoding="utf-8").replace("Camille Exemple", "Camille Autre"), encoding="utf-8")
    changed = load_actors(path, referential)
    assert "Camille Autre" in set(changed.directory.actors["nom"]) and "Camille Exemple" not in set(
        changed.directory.actors["nom"]
    )
    kept[0].write_bytes(b"not a pickle")  # a damaged cache file is ignored, the file is read again
    path.write_text(path.read_text(encoding="utf-8").replace("Camille Autre", "Camille Exemple"), encoding="utf-8")
    assert load_actors(path, referential).directory.actors.equals(first.directory.actors)
