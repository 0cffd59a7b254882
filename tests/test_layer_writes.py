"""Adding a layer cannot break the app: the registry is written by a TOML library and read back
before it replaces the old one; no message shows a server path; an uploaded file lives for one run;
a zip is bounded before GDAL unpacks it, and GDAL's failures are said in French."""

from __future__ import annotations

import json
import tomllib
import zipfile

import pytest

from reseaux.territoire.add_layer import add_layer, fields_of, upload_on_disk
from reseaux.territoire.layers import LayerError, RegistryError, read_registry

SQUARE = [[1.0, 49.40], [1.02, 49.40], [1.02, 49.42], [1.0, 49.42], [1.0, 49.40]]
OTHER = [[1.1, 49.40], [1.12, 49.40], [1.12, 49.42], [1.1, 49.42], [1.1, 49.40]]
REGISTRY = '# Les couches du réseau (commentaire gardé)\n\n[[layer]]\nid = "a"\nlabel = "A"\nkind = "file"\nfile = "a.geojson"\n'


def two_squares(path, field="région"):
    """Two perimeters: code 01 in « N », code 02 in « S » (``field`` holds N or S)."""
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"CODE": code, "NOM": name, field: part},
                        "geometry": {"type": "Polygon", "coordinates": [ring]},
                    }
                    for ring, code, name, part in ((SQUARE, "01", "Nord", "N"), (OTHER, "02", "Sud", "S"))
                ],
            }
        ),
        encoding="utf-8",
    )
    return path


@pytest.fixture
def geo(tmp_path):
    folder = tmp_path / "geo"
    folder.mkdir()
    two_squares(folder / "a.geojson")
    (folder / "layers.toml").write_text(REGISTRY, encoding="utf-8")
    return folder


def add(path, geo, **options):
    return add_layer(
        path,
        layer_id=options.pop("layer_id", "secteurs"),
        code_field="CODE",
        name_field="NOM",
        registry=geo / "layers.toml",
        geo_dir=geo,
        **options,
    )


@pytest.mark.parametrize("field", ["région", 'a "cité"', "deux mots", "[x]", "a.b", "c=d"])
def test_a_selection_on_any_field_name_leaves_a_registry_that_reads_back(geo, tmp_path, field):
    # « région » was written bare (where = { région = "N" }): not TOML; every page then failed.
    source = two_squares(tmp_path / "secteurs.geojson", field)
    label = 'Secteurs """ nord\nsur deux lignes <script>alert(1)</script> \\ fin'
    added = add(source, geo, where={field: "N"}, label=label, source='INSEE "brut"')
    text = (geo / "layers.toml").read_text(encoding="utf-8")
    assert text.startswith(REGISTRY)  # the comments and the layers already there are kept as they were
    entries = tomllib.loads(text)["layer"]
    assert [e["id"] for e in entries] == ["a", "secteurs"]
    assert entries[1]["where"] == {field: "N"} and entries[1]["label"] == label
    specs, broken = read_registry(geo / "layers.toml")
    spec = next(s for s in specs if s.id == "secteurs")
    assert (spec.where, spec.label, spec.source) == ({field: "N"}, label, 'INSEE "brut"') and not broken
    assert added.perimeters == 1


def test_a_registry_that_would_not_read_back_is_not_written(geo, tmp_path, monkeypatch):
    import reseaux.territoire.add_layer as module

    before = (geo / "layers.toml").read_bytes()
    monkeypatch.setattr(module, "registry_text", lambda old, spec: old + "\n[[layer]]\nid = région\n")
    with pytest.raises(LayerError, match="layers.toml n'a pas pu être complété sans risque .* il est inchangé"):
        add(two_squares(tmp_path / "secteurs.geojson"), geo)
    assert (geo / "layers.toml").read_bytes() == before and not (geo / "secteurs.geojson").exists()


def test_a_registry_giving_back_another_layer_is_not_written(geo, tmp_path, monkeypatch):
    import reseaux.territoire.add_layer as module

    before = (geo / "layers.toml").read_bytes()
    written = module.registry_text
    monkeypatch.setattr(module, "registry_text", lambda old, spec: written(old, spec).replace('"N"', '"S"'))
    with pytest.raises(LayerError, match="relu, ne redonne pas la couche"):
        add(two_squares(tmp_path / "secteurs.geojson"), geo, where={"région": "N"})
    assert (geo / "layers.toml").read_bytes() == before


def test_an_unreadable_registry_is_said_by_its_name_alone(geo, tmp_path):
    (geo / "layers.toml").write_text('[[layer]]\nwhere = { région = "N" }\n', encoding="utf-8")
    with pytest.raises(RegistryError) as caught:
        read_registry(geo / "layers.toml")
    said = str(caught.value)
    assert said.startswith("Registre des couches layers.toml illisible") and str(tmp_path) not in said
    with pytest.raises(LayerError, match="corrigez-le avant d'ajouter une couche") as caught:
        add(two_squares(tmp_path / "secteurs.geojson"), geo)
    assert str(tmp_path) not in str(caught.value)


def test_a_layer_that_cannot_be_written_is_said_in_french_and_changes_nothing(geo, tmp_path, monkeypatch):
    import errno

    from reseaux.stockage import documents

    def refused(path, data):  # a geo folder the server may not write into (tests run as root)
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    before = (geo / "layers.toml").read_bytes()
    monkeypatch.setattr(documents, "write_atomic", refused)  # the layers' store writes the geo folder
    with pytest.raises(LayerError) as caught:
        add(two_squares(tmp_path / "secteurs.geojson"), geo)
    assert str(caught.value) == (
        "secteurs.geojson ne peut pas être écrit dans le dossier des couches (le serveur "
        "n'a pas le droit d'écrire dans ce dossier) : l'administration du serveur doit le "
        "permettre"
    )
    assert (geo / "layers.toml").read_bytes() == before


def test_a_missing_layer_file_is_said_by_its_name_alone(geo, tmp_path):
    (geo / "a.geojson").unlink()
    _, broken = read_registry(geo / "layers.toml")
    assert broken == [("A", "fichier a.geojson introuvable dans le dossier des couches")]


@pytest.mark.parametrize("text", [None, 'titre = "x\n'])
def test_a_wrong_territory_file_is_said_by_its_name_alone(tmp_path, text):
    from reseaux.territoire.territory import TerritoryError, load

    path = tmp_path / "territoire.toml"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(TerritoryError) as caught:
        load(path)
    said = str(caught.value)
    assert said.startswith("Fichier du territoire territoire.toml ") and str(tmp_path) not in said


def test_an_upload_is_on_disk_for_the_block_only(tmp_path):
    with upload_on_disk("../../dossier/secteurs.geojson", b"{}") as path:
        assert path.name == "secteurs.geojson" and path.read_bytes() == b"{}"
        assert path.parent.stat().st_mode & 0o777 == 0o700  # private to the server's user
    assert not path.parent.exists()
    with pytest.raises(LayerError), upload_on_disk("secteurs.zip", b"pas un zip") as path:
        fields_of(path)
    assert not path.parent.exists()  # removed on a failure too


# --- zips and GDAL -------------------------------------------------------------------------------


def test_a_zip_unpacking_beyond_the_limit_is_refused_before_reading(tmp_path):
    bomb = tmp_path / "contours.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive, archive.open("contours.shp", "w") as member:
        block = bytes(1024 * 1024)
        for _ in range(210):  # 210 MB of zeros: a few hundred KB once zipped
            member.write(block)
    assert bomb.stat().st_size < 2 * 1024 * 1024
    with pytest.raises(LayerError, match=r"contours.zip se décompresse en 210 Mo \(au plus 200 Mo\) : simplifiez"):
        fields_of(bomb)


def test_a_zip_of_too_many_members_is_refused(tmp_path):
    crowd = tmp_path / "foule.zip"
    with zipfile.ZipFile(crowd, "w") as archive:
        for number in range(201):
            archive.writestr(f"f{number}.txt", "")
    with pytest.raises(LayerError, match="foule.zip contient 201 fichiers \\(au plus 200\\)"):
        fields_of(crowd)


@pytest.mark.parametrize(
    ("members", "meaning"),
    [
        ({"lisez-moi.txt": "bonjour"}, "format non reconnu"),
        ({"secteurs.geojson": '{"type": "FeatureCollection", "features": ['}, "contenu mal formé"),
        (
            {
                "secteurs.geojson": json.dumps(
                    {
                        "type": "FeatureCollection",
                        "features": [
                            {
                                "type": "Feature",
                                "properties": {"n": n},
                                "geometry": {"type": "Point", "coordinates": [n, n]},
                            }
                            for n in range(2000)
                        ],
                    }
                )
            },
            "archive zip endommagée",
        ),
    ],
)
def test_what_gdal_cannot_read_is_said_in_french_without_a_path(tmp_path, members, meaning):
    path = tmp_path / "secteurs.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    if meaning == "archive zip endommagée":  # its table of contents is whole, its member is not
        data = bytearray(path.read_bytes())
        data[100:300] = bytes(b ^ 0x55 for b in data[100:300])
        path.write_bytes(bytes(data))
    for attempt in (lambda: fields_of(path), lambda: add(path, tmp_path, layer_id="s")):
        with pytest.raises(LayerError) as caught:
            attempt()
        said = str(caught.value)
        assert said.startswith(f"secteurs.zip : {meaning}") and "; ouvrez-le dans QGIS" in said
        assert str(tmp_path) not in said and "/vsizip/" not in said


def test_a_file_that_is_not_a_zip_is_said_in_french(tmp_path):
    path = tmp_path / "secteurs.zip"
    path.write_bytes(b"pas un zip")
    with pytest.raises(LayerError, match="secteurs.zip n'est pas une archive zip lisible : zippez de nouveau"):
        fields_of(path)


def test_a_shapefile_zipped_without_its_companions_is_said_in_french(tmp_path):
    import geopandas as gpd
    from shapely.geometry import box

    gpd.GeoDataFrame({"CODE": ["01"]}, geometry=[box(1.0, 49.4, 1.02, 49.42)], crs=4326).to_file(tmp_path / "s.shp")
    path = tmp_path / "secteurs.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.write(tmp_path / "s.shp", "s.shp")  # no .shx, .dbf, .prj
    with pytest.raises(LayerError) as caught:
        fields_of(path)
    assert str(caught.value) == (
        "secteurs.zip : le shapefile s.shp est incomplet, il manque s.shx et s.dbf : "
        "zippez ensemble les fichiers .shp, .shx, .dbf et .prj de la couche, puis "
        "ajoutez-la de nouveau"
    )


def test_a_layer_of_too_many_perimeters_is_refused_before_reading(tmp_path, monkeypatch):
    import reseaux.territoire.layer_files as layer_files

    monkeypatch.setattr(layer_files, "MAX_FEATURES", 1)
    with pytest.raises(LayerError, match=r"^secteurs.geojson contient 2 périmètres \(au plus 1\) : gardez"):
        fields_of(two_squares(tmp_path / "secteurs.geojson"))


def test_two_layers_added_at_once_are_both_declared(geo, tmp_path, monkeypatch):
    """Two coordinators adding a layer at the same moment: each read the registry, added its
    layer to what it had read and wrote it back — the second write lost the first layer."""
    import threading

    import reseaux.territoire.add_layer as module

    written = module.registry_text
    threads: list[threading.Thread] = []

    def meanwhile_another_addition(old, spec):
        if spec.id == "secteurs":  # between reading the registry and writing it, another adds « autres »
            thread = threading.Thread(
                target=add, args=(two_squares(tmp_path / "autres.geojson"), geo), kwargs={"layer_id": "autres"}
            )
            thread.start()
            thread.join(timeout=1)  # it runs to its end unless it waits for this addition
            threads.append(thread)
        return written(old, spec)

    monkeypatch.setattr(module, "registry_text", meanwhile_another_addition)
    add(two_squares(tmp_path / "secteurs.geojson"), geo)
    threads[0].join(timeout=30)
    ids = [e["id"] for e in tomllib.loads((geo / "layers.toml").read_text(encoding="utf-8"))["layer"]]
    assert sorted(ids) == ["a", "autres", "secteurs"]
    assert {s.id for s in read_registry(geo / "layers.toml")[0]} == {"a", "autres", "secteurs"}
