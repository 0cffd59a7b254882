"""Filters on three hand-placed actors and two square perimeters."""

import geopandas as gpd
import pytest
from shapely.geometry import Point

from reseaux.analyse.filters import ActorFilter, apply_filter, search_text
from reseaux.territoire.layers import load_layers, load_registry
from tests.conftest import DATA, positioned

GEO = DATA / "geo"


def actors():
    squares = gpd.read_file(GEO / "squares.geojson")
    c1, c2 = (squares.geometry[i].centroid for i in range(2))
    frame = gpd.GeoDataFrame(
        {
            "id": ["a", "b", "c"],
            "nom": ["Cabinet Éloïse", "Centre Planning", "Maraude du soir"],
            "structure": ["", "Planning familial (fictif)", ""],
            "description": ["Sage-femme libérale", "", "Santé sexuelle en rue"],
            "specialites": [("IVG médicamenteuse",), (), ()],
            "type": ["professionnel", "structure", "aller_vers"],
            "profession": ["sage_femme", "", ""],
            "thematiques": [("ivg", "contraception"), ("ivg", "ist_vih"), ("ist_vih",)],
            "publics": [("femmes",), ("jeunes",), ("precarite",)],
            "modalites": [("sur_rdv", "gratuit"), ("sans_rdv", "gratuit", "anonyme"), ("sans_rdv",)],
            "accessibilite": [("pmr",), (), ()],
            "code_insee": ["00001", "00002", ""],
        },
        geometry=[c1, c2, Point(1.3, 49.6)],
        crs="EPSG:4326",
    )
    return positioned(frame)


def ids(result):
    return list(result.actors["id"])


def test_no_filter_keeps_everyone(referential):
    result = apply_filter(actors(), ActorFilter(), referential)
    assert ids(result) == ["a", "b", "c"]
    assert result.sentence == "Tous les acteurs de l'annuaire, sans filtre."


def test_values_of_one_facet_are_alternatives(referential):
    result = apply_filter(actors(), ActorFilter(themes=("ivg", "contraception")), referential)
    assert ids(result) == ["a", "b"]
    assert result.sentence == "Acteurs sur la thématique « IVG » ou « Contraception »."


def test_facets_combine_and_modalities_are_all_required(referential):
    flt = ActorFilter(themes=("ist_vih",), modalites=("sans_rdv", "gratuit"))
    result = apply_filter(actors(), flt, referential)
    assert ids(result) == ["b"]
    assert "avec la modalité « Sans rendez-vous » et « Gratuit »" in result.sentence


def test_profession_type_public_accessibility(referential):
    assert ids(apply_filter(actors(), ActorFilter(professions=("sage_femme",)), referential)) == ["a"]
    assert ids(apply_filter(actors(), ActorFilter(types=("aller_vers", "structure")), referential)) == ["b", "c"]
    assert ids(apply_filter(actors(), ActorFilter(publics=("jeunes",)), referential)) == ["b"]
    assert ids(apply_filter(actors(), ActorFilter(accessibilite=("pmr",)), referential)) == ["a"]


def test_free_text_ignores_accents_and_case(referential):
    frame = actors()
    search = search_text(frame)
    assert ids(apply_filter(frame, ActorFilter(text="eloise"), referential, search=search)) == ["a"]
    assert ids(apply_filter(frame, ActorFilter(text="PLANNING"), referential, search=search)) == ["b"]
    assert ids(apply_filter(frame, ActorFilter(text="ivg medicamenteuse"), referential, search=search)) == ["a"]
    assert ids(apply_filter(frame, ActorFilter(text="santé sexuelle"), referential)) == ["c"]


def test_commune_epci_and_perimeter(referential):
    layers = load_layers(load_registry(GEO / "layers.toml"), GEO)
    names = {"commune:00001": "Commune A", "epci:222": "EPCI B", "carres:S2": "Carrés — Carré 2"}
    frame = actors()
    result = apply_filter(frame, ActorFilter(communes=("00001",)), referential, place_names=names)
    assert ids(result) == ["a"] and "dans la commune de Commune A" in result.sentence
    result = apply_filter(
        frame, ActorFilter(epci=("222",)), referential, commune_epci={"00001": "111", "00002": "222"}, place_names=names
    )
    assert ids(result) == ["b"] and "dans l'EPCI EPCI B" in result.sentence
    result = apply_filter(frame, ActorFilter(perimeter="carres:S2"), referential, perimeters=layers, place_names=names)
    assert ids(result) == ["b"] and "dans le périmètre « Carrés — Carré 2 »" in result.sentence
    result = apply_filter(frame, ActorFilter(perimeter="table:Périmètre P"), referential, perimeters=layers)
    assert ids(result) == ["a", "b"]
    assert ids(apply_filter(frame, ActorFilter(perimeter="inconnu:X"), referential, perimeters=layers)) == []


def test_filter_round_trips_through_the_query_string(referential):
    flt = ActorFilter(
        themes=("ivg", "vif"),
        professions=("sage_femme",),
        modalites=("gratuit",),
        communes=("76540",),
        perimeter="qpv:QN07620M",
        text="planning familial",
    )
    query = flt.to_query()
    assert query["theme"] == "ivg,vif" and query["perimetre"] == "qpv:QN07620M"
    assert ActorFilter.from_query(query, referential) == flt


def test_unknown_codes_in_a_link_are_ignored(referential):
    flt = ActorFilter.from_query({"theme": "ivg,<script>", "profession": "astronaute"}, referential)
    assert flt.themes == ("ivg",) and flt.professions == ()


def test_without_says_which_facet_to_drop(referential):
    flt = ActorFilter(themes=("ivg",), types=("aller_vers",))
    assert ids(apply_filter(actors(), flt, referential)) == []
    assert ids(apply_filter(actors(), flt.without("types"), referential)) == ["a", "b"]


def test_facet_index_gives_the_same_answers(referential):
    from reseaux.analyse.filters import FacetIndex

    frame = actors()
    index = FacetIndex.build(frame)
    for flt in (
        ActorFilter(themes=("ivg", "contraception")),
        ActorFilter(modalites=("sans_rdv", "gratuit")),
        ActorFilter(types=("structure",), publics=("jeunes", "femmes")),
        ActorFilter(themes=("vif",)),
    ):
        with_index = apply_filter(frame, flt, referential, facets=index)
        without = apply_filter(frame, flt, referential)
        assert ids(with_index) == ids(without)


def test_an_actor_on_a_perimeter_edge_is_inside_for_the_filter_as_for_couverture(referential):
    """A partner whose position is a corner of the perimeter (an address on the border street):
    Couverture counts an edge as inside (coverage_table, in the layer's metric system); the map's
    « Dans le périmètre » counted it outside (``within`` excludes the boundary), so the two pages
    gave two counts for one perimeter, and Trouver's « ce point est dans… » left it out too."""
    from reseaux.analyse.coverage import PreparedLayer, actor_points, coverage_table
    from reseaux.analyse.proximity import containing_perimeters

    specs = load_registry(GEO / "layers.toml")
    layers = load_layers(specs, GEO)
    square = layers["carres"].set_index("code").geometry["S2"]
    corner = Point(square.exterior.coords[0])  # on the outline, exactly
    frame = actors().iloc[:1].assign(latitude=[corner.y], longitude=[corner.x])
    assert not corner.within(square) and corner.intersects(square)  # the case: on the edge, not in the interior
    assert ids(apply_filter(frame, ActorFilter(perimeter="carres:S2"), referential, perimeters=layers)) == ["a"]
    table = coverage_table(PreparedLayer.build(layers["carres"]), actor_points(frame)).set_index("code")
    assert table.loc["S2", "n_inside"] == 1
    found = containing_perimeters(corner.y, corner.x, layers, specs)  # « Ce point est dans… » of Trouver
    assert ("carres", "S2") in {(spec.id, code) for spec, code, _ in found}


@pytest.mark.parametrize("which", ["three", "demo"])
def test_facet_masks_are_kept_packed_and_give_each_code_s_actors(which, referential):
    from reseaux.analyse.filters import FACETS, FacetIndex
    from reseaux.app_data import load_actors

    frame = actors() if which == "three" else load_actors(None, referential).directory.actors
    index = FacetIndex.build(frame)
    assert index.packed, "the demo has codes"
    for (column, code), bits in index.packed.items():
        assert bits.nbytes == (len(frame) + 7) // 8  # eight actors a byte
        have = [code in (v if isinstance(v, tuple | list) else (v,)) for v in frame[column]]
        assert index.code_mask(column, code).tolist() == have, (column, code)
    columns = {column for column, *_ in FACETS.values()}
    assert {column for column, _ in index.packed} == columns & set(frame.columns)
    assert not index.code_mask("thematiques", "aucun_code").any()


def test_the_free_search_sentence_and_labels_name_every_column_it_searches(referential):
    """What the person reads of a free search names each column it looks in (a match in the
    specialities was said to be in the name, the structure or the description)."""
    from reseaux.analyse.filters import SEARCH_COLUMNS, SEARCH_NAMES, describe

    said = {"nom": "nom", "structure": "structure", "description": "description", "specialites": "spécialités"}
    assert set(SEARCH_COLUMNS) == set(said)  # a column added to the search is added here, and to what is said
    sentence = describe(ActorFilter(text="IVG médicamenteuse"), referential, {})
    for word in said.values():
        assert word in sentence and word in SEARCH_NAMES.split(", "), word
