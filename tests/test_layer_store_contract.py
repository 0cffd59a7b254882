"""The layers added from a file, kept by both backends (:mod:`reseaux.territoire.layer_store`).

Each test runs on the files (one server, its geo folder) and on PostgreSQL (a database per test):
there each « server » has its own copy of the geo folder, deployed with the territory, as two
machines would, and a layer added through one must be drawn by the other. « Another server » is
another Python process with its own geo folder and cache, knowing nothing of this one. The right
answers are those of the files written here: two squares coded 01 and 02, the ids the test added.
"""

from __future__ import annotations

import json
import os
import shutil
import tomllib

import pytest

from reseaux.territoire.add_layer import add_layer, bring_home
from reseaux.territoire.layer_store import layer_store
from reseaux.territoire.layers import LayerError
from tests.test_add_layer import add_communes_of_nowhere
from tests.test_document_store_contract import run_elsewhere, together
from tests.test_layer_writes import two_squares

REGISTRY = (
    '# Les couches du réseau (commentaire gardé)\n\n[[layer]]\nid = "a"\nlabel = "A"\nkind = "file"\n'
    'file = "a.geojson"\nid_field = "CODE"\nname_field = "NOM"\n'
)


def deployed(folder):
    """A geo folder as the territory deploys it: a registry of one layer « a » and its file."""
    folder.mkdir(parents=True)
    two_squares(folder / "a.geojson")
    (folder / "layers.toml").write_text(REGISTRY, encoding="utf-8")
    return folder


@pytest.fixture(params=["fichiers", "postgresql"])
def servers(request, tmp_path, monkeypatch):
    """The geo folders of two servers: the same folder on the files (one machine), two copies
    deployed alike on PostgreSQL (``RESEAUX_DATABASE_URL`` set to a database of this test). This
    process is the first; its cache is its own."""
    if request.param == "postgresql":
        monkeypatch.setenv("RESEAUX_DATABASE_URL", request.getfixturevalue("database_url"))
    else:
        monkeypatch.delenv("RESEAUX_DATABASE_URL", raising=False)
    monkeypatch.setenv("RESEAUX_GEOCACHE", str(tmp_path / "un" / "cache" / "geocodage.sqlite"))
    first = deployed(tmp_path / "un" / "geo")
    if request.param == "fichiers":
        return first, first
    return first, deployed(tmp_path / "deux" / "geo")


def add(source, geo, layer_id):
    return add_layer(
        source, layer_id=layer_id, code_field="CODE", name_field="NOM", registry=geo / "layers.toml", geo_dir=geo
    )


def drawn_elsewhere(geo, cache) -> dict[str, list[str]]:
    """What another server, reading the geo folder ``geo`` with the cache folder ``cache``, draws:
    ``{layer id: its perimeter codes}``, in the registry's order."""
    script = (
        "import json, os\n"
        f"os.environ['RESEAUX_GEOCACHE'] = {str(cache / 'geocodage.sqlite')!r}\n"
        "from pathlib import Path\n"
        "from reseaux.territoire.layer_store import layer_store\n"
        f"specs, layers, broken = layer_store(Path({str(geo / 'layers.toml')!r}), Path({str(geo)!r})).load()\n"
        "assert not broken, broken\n"
        "print(json.dumps({s.id: sorted(layers[s.id]['code']) for s in specs}))\n"
    )
    return json.loads(run_elsewhere(script))


def test_a_layer_added_through_one_server_is_drawn_by_another(servers, tmp_path):
    first, second = servers
    before = (second / "layers.toml").read_bytes()
    added = add(two_squares(tmp_path / "secteurs.geojson"), first, "secteurs")
    assert added.perimeters == 2
    assert drawn_elsewhere(second, tmp_path / "deux" / "cache") == {"a": ["01", "02"], "secteurs": ["01", "02"]}
    if first != second:  # PostgreSQL: the deployed registries stay as deployed: the addition is in the database
        assert (second / "layers.toml").read_bytes() == before
        assert (first / "layers.toml").read_bytes() == before
        assert not (first / "secteurs.geojson").exists()
    else:  # the file of today, that a coordinator opens
        ids = [e["id"] for e in tomllib.loads((first / "layers.toml").read_text(encoding="utf-8"))["layer"]]
        assert ids == ["a", "secteurs"]


def test_layers_added_at_once_are_all_declared(servers, tmp_path):
    first, second = servers
    ids = [f"couche_{n}" for n in range(6)]
    sources = [two_squares(tmp_path / f"{layer_id}.geojson") for layer_id in ids]
    # Half through each server's geo folder (the same one on the files).
    failures = together(6, lambda n: add(sources[n], (first, second)[n % 2], ids[n]))
    assert failures == []
    expected = {"a": ["01", "02"], **{layer_id: ["01", "02"] for layer_id in ids}}
    assert drawn_elsewhere(second, tmp_path / "deux" / "cache") == expected
    specs, _, broken = layer_store(first / "layers.toml", first).load()
    assert broken == [] and sorted(s.id for s in specs) == sorted(expected)


def unlocked(names: list[str]) -> list[str]:
    """The store's files but the registry's lock (a file of its own on the files)."""
    return [name for name in names if not name.endswith(".lock")]


def test_a_layer_that_cannot_be_used_leaves_nothing_behind(servers, tmp_path):
    first, _ = servers
    store = layer_store(first / "layers.toml", first)
    files_before, text_before = store.files.names(), store.added_text()
    add_communes_of_nowhere(tmp_path / "rien.csv", first)
    assert unlocked(store.files.names()) == unlocked(files_before)
    assert store.added_text() == text_before


def test_an_id_the_deployed_registry_holds_is_refused(servers, tmp_path):
    first, _ = servers
    with pytest.raises(LayerError, match="identifiant « a » déjà utilisé dans layers.toml"):
        add(two_squares(tmp_path / "autre.geojson"), first, "a")
    specs, _, broken = layer_store(first / "layers.toml", first).load()
    assert [s.id for s in specs] == ["a"] and broken == []


@pytest.mark.parametrize("servers", ["postgresql"], indirect=True)  # on the files, it is declared in it
def test_a_later_deployment_of_the_same_id_wins_and_says_the_added_one_set_aside(servers, tmp_path, monkeypatch):
    first, second = servers
    add(two_squares(tmp_path / "secteurs.geojson"), first, "secteurs")
    (second / "layers.toml").write_text(
        REGISTRY + '\n[[layer]]\nid = "secteurs"\nlabel = "Secteurs officiels"\nkind = "file"\nfile = "a.geojson"\n'
        'id_field = "CODE"\nname_field = "NOM"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("RESEAUX_GEOCACHE", str(tmp_path / "deux" / "cache" / "geocodage.sqlite"))
    specs, _, broken = layer_store(second / "layers.toml", second).load()
    assert [(s.id, s.label) for s in specs] == [("a", "A"), ("secteurs", "Secteurs officiels")]
    assert broken == [("secteurs", "identifiant « secteurs » déjà déclaré par layers.toml")]


@pytest.mark.parametrize("servers", ["postgresql"], indirect=True)  # a migration from the database
def test_the_layers_added_in_the_database_come_home_with_the_migration(servers, tmp_path, monkeypatch):
    first, _ = servers
    database_url = os.environ["RESEAUX_DATABASE_URL"]
    add(two_squares(tmp_path / "secteurs.geojson"), first, "secteurs")
    home = deployed(tmp_path / "fichiers" / "geo")
    assert bring_home(database_url, home / "layers.toml", home) == 1
    assert bring_home(database_url, home / "layers.toml", home) == 1  # a second run declares nothing twice
    registry = (home / "layers.toml").read_text(encoding="utf-8")
    assert registry.startswith("# Les couches du réseau (commentaire gardé)")
    assert [e["id"] for e in tomllib.loads(registry)["layer"]] == ["a", "secteurs"]
    monkeypatch.delenv("RESEAUX_DATABASE_URL")  # read on the files, as after the move
    specs, layers, broken = layer_store(home / "layers.toml", home).load()
    assert broken == [] and {s.id: sorted(layers[s.id]["code"]) for s in specs} == {
        "a": ["01", "02"],
        "secteurs": ["01", "02"],
    }
    shutil.rmtree(home)
