"""Hostile or mistaken addresses: every page opened with out-of-range, malformed or
huge query parameters answers without a traceback, and the values are clamped or dropped."""

from __future__ import annotations

import pytest

from tests.conftest import open_page

CASES = [
    ("trouver", {"k": "0"}),
    ("trouver", {"k": "99999999999999999999"}),
    ("trouver", {"rayon": "-5"}),
    ("trouver", {"rayon": "1e400"}),
    ("trouver", {"rayon": "nan"}),
    ("trouver", {"lat": "nan", "lon": "1.09"}),
    ("trouver", {"lat": "inf", "lon": "-inf"}),
    ("trouver", {"lat": "95", "lon": "400"}),
    ("trouver", {"lat": "49.44", "lon": "1.09", "k": "-3", "rayon": "abc"}),
    ("couverture", {"distance": "999999"}),
    ("couverture", {"distance": "-1"}),
    ("couverture", {"couche": "n'existe pas", "mesure": "<script>"}),
    ("carte", {"couches": ",".join(["qpv"] * 2000)}),
    ("carte", {"theme": ",".join(["ivg"] * 2000), "fond": "x" * 5000, "couleur": "?"}),
    ("carte", {"perimetre": "qpv:" + "9" * 5000, "q": "x" * 100_000}),
    ("presentation", {"scene": "inconnue", "plein_ecran": "1"}),
]


@pytest.mark.parametrize(("view", "query"), CASES, ids=[f"{v}-{'-'.join(q)}" for v, q in CASES])
def test_a_hostile_address_shows_no_traceback(view, query):
    at = open_page(view, **query)
    assert not at.exception, at.exception
    assert not any("Traceback" in e.value for e in at.error)


def test_repeated_and_huge_values_are_read_once_and_cut(referential, territory):
    from reseaux.analyse.filters import ActorFilter
    from reseaux.carte.mapview import MapView

    view = MapView.from_query({"couches": ",".join(["qpv", "cpts"] * 2000)}, territory.specs)
    assert view.layers == ("qpv", "cpts")  # 4,000 layers asked, two drawn
    flt = ActorFilter.from_query({"theme": ",".join(["ivg"] * 2000), "q": "x" * 100_000}, referential)
    assert flt.themes == ("ivg",) and len(flt.text) == 200


def test_a_point_off_the_earth_is_dropped():
    from reseaux.ui.trouver import _point_from

    assert _point_from({"lat": "49.44", "lon": "1.09"}) == (49.44, 1.09, "")
    for lat, lon in (("nan", "1"), ("inf", "1"), ("95", "1"), ("49", "400"), ("1e400", "1"), ("x", "1")):
        assert _point_from({"lat": lat, "lon": lon}) is None


@pytest.mark.parametrize("text", ['[[couche]\nid = "qpv"\nfichier = ', "\x00\x01binaire", "[[couche]]\nid = 3\n"])
def test_a_malformed_layer_registry_shows_a_french_message_not_a_traceback(monkeypatch, tmp_path, text):
    registry = tmp_path / "layers.toml"
    registry.write_text(text, encoding="latin-1")
    monkeypatch.setenv("RESEAUX_LAYERS", str(registry))
    for view in ("carte", "trouver", "couverture", "presentation", "sources"):
        at = open_page(view)
        assert not at.exception, (view, at.exception)
