"""What is in view, answered by the server (reseaux.carte.viewport_index, reseaux.annuaire.fiche_service's
views, the ``groupes`` route): counts checked against a brute force written another way (each
actor's tile pixel by the slippy-map formula, squares counted in a dict), every actor in view
counted once, a visitor's view never counting a members-only fiche, and the page carrying no
position beyond the threshold.
"""

from __future__ import annotations

import json
import math
import os
import random
from collections import Counter

import folium
import numpy as np
import pandas as pd
import pytest

from reseaux.acces.access import visible_actors
from reseaux.annuaire.fiche_service import FicheService, served_views
from reseaux.app_data import load_actors, visible_view
from reseaux.carte.actor_layer import build_actor_layer
from reseaux.carte.viewport_index import CELL_PX, MAX_CELLS, PRE_ZOOM, TOP_ZOOM, ViewportIndex
from tests.conftest import ROOT


def square(lat: float, lon: float, zoom: int) -> tuple[int, int]:
    """The square of CELL_PX pixels holding (lat, lon) at ``zoom``, by the slippy-map tile formula
    (https://wiki.openstreetmap.org/wiki/Slippy_map_tilenames), one actor at a time."""
    world = 256 * 2**zoom
    x = (lon + 180) / 360 * world
    rad = math.radians(lat)
    y = (1 - math.log(math.tan(rad) + 1 / math.cos(rad)) / math.pi) / 2 * world
    return int(x // CELL_PX), int(y // CELL_PX)


def brute_force(points, bbox, zoom) -> Counter:
    """Actors per square, for the squares the view touches (its corners' squares and all between)."""
    west, south, east, north = bbox
    (c0, r0), (c1, r1) = square(north, west, zoom), square(south, east, zoom)
    counts: Counter = Counter()
    for lat, lon in points:
        c, r = square(lat, lon, zoom)
        if c0 <= c <= c1 and r0 <= r <= r1:
            counts[(c, r)] += 1
    return counts


def answered(index: ViewportIndex, bbox, zoom) -> Counter:
    """The answer's counts per square (a cluster's mean place and a pin's place lie in their square)."""
    found = index.groups(bbox, zoom)
    counts: Counter = Counter()
    for lat, lon, n, _rows in found["clusters"]:
        counts[square(lat, lon, zoom)] += n
    for lat, lon, _row, _color in found["pins"]:
        counts[square(lat, lon, zoom)] += 1
    return counts


@pytest.fixture(scope="module")
def scattered():
    """3,000 actors over metropolitan France, half of them around six towns (as a directory is)."""
    rng = random.Random(26)
    towns = [(49.443, 1.099), (48.857, 2.352), (45.764, 4.836), (43.297, 5.370), (47.218, -1.554), (50.629, 3.057)]
    points = [(rng.uniform(42.5, 51), rng.uniform(-4.5, 8)) for _ in range(1500)]
    for _ in range(1500):
        lat, lon = rng.choice(towns)
        points.append((lat + rng.gauss(0, 0.05), lon + rng.gauss(0, 0.05)))
    rows = list(range(0, 2 * len(points), 2))  # fiche rows of a filtered directory: not 0..n-1
    index = ViewportIndex([p[0] for p in points], [p[1] for p in points], rows, [r % 7 for r in rows])
    return points, index


@pytest.mark.parametrize(
    ("bbox", "zoom"),
    [
        ((-20.0, 35.0, 20.0, 60.0), 3),  # France in a corner of the view, far zoom
        ((-6.0, 41.0, 10.0, 52.0), 6),  # the country
        ((0.0, 48.0, 3.0, 50.0), 8),  # Normandy to Paris
        ((1.0, 49.3, 1.2, 49.5), PRE_ZOOM),  # Rouen, the last zoom summed when built
        ((1.05, 49.4, 1.15, 49.48), PRE_ZOOM + 1),  # the first grouped on request
        ((2.30, 48.83, 2.40, 48.88), 14),  # Paris
    ],
)
def test_each_square_counts_the_actors_in_it_as_a_brute_force_does(scattered, bbox, zoom):
    points, index = scattered
    truth = brute_force(points, bbox, zoom)
    assert sum(truth.values()) > 0
    assert answered(index, bbox, zoom) == truth


@pytest.mark.parametrize(("bbox", "zoom"), [((-6.0, 41.0, 10.0, 52.0), 6), ((1.0, 49.3, 1.2, 49.5), 13)])
def test_a_filters_view_counts_its_own_actors_as_a_brute_force_does(scattered, bbox, zoom):
    """A subset (one actor in three, in other colours) of the index, made without sorting again."""
    points, index = scattered
    kept = list(range(0, len(points), 3))
    part = index.subset([2 * i for i in kept], [5] * len(kept))
    assert answered(part, bbox, zoom) == brute_force([points[i] for i in kept], bbox, zoom)
    found = part.groups(bbox, zoom)
    assert {p[3] for p in found["pins"]} <= {5} and all(p[2] // 2 in set(kept) for p in found["pins"])
    assert part.position(2 * kept[1]) == index.position(2 * kept[1]) and part.position(2) is None
    with pytest.raises(ValueError, match="pas dans l'index"):
        part.subset([2], [0])


def test_the_view_of_every_actor_shares_the_index_and_keeps_its_own_colours(scattered):
    """The map without a filter: every actor, in the view's colours (here by row, reversed), its
    squares those of the index (not copied), the index's colours untouched."""
    points, index = scattered
    rows = list(range(0, 2 * len(points), 2))
    whole = index.subset(rows[::-1], [(r // 2) % 3 for r in rows[::-1]])
    assert np.shares_memory(whole.x, index.x) and whole._levels is index._levels
    bbox, zoom = (1.05, 49.4, 1.15, 49.48), 14
    assert answered(whole, bbox, zoom) == brute_force(points, bbox, zoom)
    pins = whole.groups(bbox, zoom)["pins"]
    assert pins and all(p[3] == (p[2] // 2) % 3 for p in pins)  # the view's colour of each
    assert all(p[3] == p[2] % 7 for p in index.groups(bbox, zoom)["pins"])  # the index's, unchanged


def test_every_actor_is_counted_once_at_every_zoom_the_whole_world_in_view(scattered):
    points, index = scattered
    for zoom in range(0, 2):  # the world fits within MAX_CELLS squares a side up to zoom 1
        found = index.groups((-180, -85, 180, 85), zoom)
        assert sum(c[2] for c in found["clusters"]) + len(found["pins"]) == len(points)


def test_a_pin_is_its_actor_and_a_cluster_stands_at_its_actors_mean(scattered):
    """Three actors placed by hand: two 300 m apart in Rouen, one alone in Le Havre."""
    index = ViewportIndex([49.4431, 49.4458, 49.4944], [1.0993, 1.0993, 0.1079], [12, 3, 40], [1, 0, 2])
    found = index.groups((0.0, 49.3, 1.3, 49.6), 9)
    assert found["pins"] == [[49.4944, 0.1079, 40, 2]]
    [[lat, lon, count, rows]] = found["clusters"]
    assert (count, rows) == (2, [])
    assert lon == pytest.approx(1.0993) and 49.4431 < lat < 49.4458 and lat == pytest.approx(49.44445, abs=1e-3)
    near = index.groups((1.09, 49.44, 1.11, 49.45), 17)  # 300 m is 5 squares apart at zoom 17
    assert sorted(p[2] for p in near["pins"]) == [3, 12] and near["clusters"] == []


def test_at_the_deepest_zoom_a_cluster_lists_its_fiche_rows(scattered):
    """Four actors in one town hall: no zoom parts them, so the cluster says who they are."""
    index = ViewportIndex([49.4431] * 4 + [49.45], [1.0993] * 4 + [1.1], [7, 70, 700, 7000, 5], [0] * 5)
    found = index.groups((1.0990, 49.4429, 1.0996, 49.4433), TOP_ZOOM)
    assert [(c[2], sorted(c[3])) for c in found["clusters"]] == [(4, [7, 70, 700, 7000])]
    assert index.position(700) == (49.4431, 1.0993) and index.position(6) is None


def test_a_view_too_large_for_its_zoom_or_not_a_box_is_refused(scattered):
    _, index = scattered
    with pytest.raises(ValueError, match="trop grande"):
        index.groups((-180, -85, 180, 85), 12)  # the whole world in squares of zoom 12: the whole directory
    with pytest.raises(ValueError, match="invalide"):
        index.groups((3, 49, 1, 50), 8)  # west east of east
    with pytest.raises(ValueError, match="invalide"):
        index.groups((float("nan"), 49, 1, 50), 8)
    span = (MAX_CELLS - 2) * CELL_PX / (256 * 2**8) * 360  # just within, in degrees of longitude
    index.groups((0, 48, span, 48.1), 8)


def test_an_answer_costs_milliseconds_at_a_million_actors():
    """Not a benchmark: the bound is 20 times what it takes on a busy 2-core machine (measured
    0.2–5 ms), there to catch an answer that walks the whole directory (about 100 ms)."""
    import time

    rng = np.random.default_rng(1)
    n = 1_000_000
    index = ViewportIndex(rng.uniform(42.5, 51, n), rng.uniform(-4.5, 8, n), np.arange(n), np.zeros(n))
    slowest = 0.0
    for bbox, zoom in [((-6, 41, 10, 52), 6), ((1, 48, 3, 49.5), 9), ((2.2, 48.7, 2.5, 48.9), 12)]:
        start = time.perf_counter()
        index.groups(bbox, zoom)
        slowest = max(slowest, time.perf_counter() - start)
    assert slowest < 0.1


# The service: a view belongs to a page's token, under its checks.


@pytest.fixture(scope="module")
def demo(referential):
    return load_actors(ROOT / "data" / "actors.csv", referential)


def _total(answer: dict) -> int:
    return sum(c[2] for c in answer["clusters"]) + len(answer["pins"])


def test_a_visitors_map_counts_no_members_fiche(demo, referential, monkeypatch):
    """The page's layer, built as ui/carte.py builds it for a visitor beyond the threshold: the
    page carries no position; the server's view counts the public actors placed, and the rows it
    names are all public ones."""
    monkeypatch.setenv("RESEAUX_MAP_SERVER_ABOVE", "10")
    service = FicheService()
    visitor = visible_view(demo, "visiteur", "public").directory.actors
    token = service.register("visitor's session", visitor, referential, ttl_s=60)
    url = f"/_reseaux/carte/{token}"
    layer = build_actor_layer(visitor, referential, "type", served=served_views(url, service))
    html = layer.add_to(folium.Map()).get_root().render()
    payload = next(c for c in layer._children.values() if c._name == "ActorCluster").payload_json
    sent = json.loads(payload.replace("\\u003c", "<"))
    assert "data" not in sent and sent["url"].startswith(f"{url}/groupes?vue=") and sent["n"] > 10
    assert str(round(visitor["latitude"].dropna().iloc[0], 5)) not in html  # no position in the page
    key = sent["url"].split("vue=")[1]
    everyone = demo.directory.actors
    public = visible_actors(everyone, "visiteur", "public")  # the rule, applied to the whole directory
    world = service.groups(token, key, (-180, -85, 180, 85), 1)
    assert _total(world) == int(public["latitude"].notna().sum()) == sent["n"]
    assert sent["n"] < int(everyone["latitude"].notna().sum())  # some were members-only
    placed = visitor[visitor["latitude"].notna()]
    # Deep enough that every actor stands alone or in a building: the rows named are the visitor's.
    named = set()
    for lat, lon in zip(placed["latitude"], placed["longitude"], strict=True):
        box = (lon - 1e-4, lat - 1e-4, lon + 1e-4, lat + 1e-4)
        found = service.groups(token, key, box, TOP_ZOOM)
        named |= {p[2] for p in found["pins"]} | {r for c in found["clusters"] for r in c[3]}
    assert named == set(placed.index)
    names = set(visitor.iloc[sorted(named)]["nom"])
    assert names <= set(public["nom"]) and not names & (set(everyone["nom"]) - set(public["nom"]))
    with pytest.raises(IndexError):  # a view cannot name a row its token may not reach
        service.register_view(token, [len(visitor)], [0])
    unplaced = visitor.index[visitor["latitude"].isna()]
    if len(unplaced):  # nor a row without a position
        with pytest.raises(IndexError):
            service.register_view(token, [unplaced[0]], [0])


def test_below_the_threshold_the_page_carries_the_positions_as_before(demo, referential, monkeypatch):
    monkeypatch.setenv("RESEAUX_MAP_SERVER_ABOVE", str(len(demo.directory.actors)))
    service = FicheService()
    token = service.register("s", demo.directory.actors, referential, ttl_s=60)
    layer = build_actor_layer(
        demo.directory.actors, referential, "type", served=served_views(f"/_reseaux/carte/{token}", service)
    )
    cluster = next(c for c in layer._children.values() if c._name == "ActorCluster")
    assert '"data"' in cluster.payload_json and '"url"' not in cluster.payload_json
    assert not service._views  # nothing built on the server


def test_a_view_answers_nothing_once_its_token_expired_or_its_directory_changed(demo, referential, tmp_path):
    service = FicheService()
    frame = demo.directory.actors
    placed = frame[frame["latitude"].notna()]
    source = tmp_path / "actors.csv"
    source.write_text("x", encoding="utf-8")
    token = service.register("s", frame, referential, ttl_s=60, source=(str(source), source.stat().st_mtime), now=0)
    args = (placed.index, np.zeros(len(placed)))
    key = service.register_view(token, *args, now=0)
    assert service.register_view(token, *args, now=0) == key  # the same view: the same key, not rebuilt
    assert _total(service.groups(token, key, (-180, -85, 180, 85), 0, now=30)) == len(placed)
    assert service.groups(token, "another view", (-180, -85, 180, 85), 0, now=30) is None
    assert service.groups("forged", key, (-180, -85, 180, 85), 0, now=30) is None
    assert service.groups(token, key, (-180, -85, 180, 85), 0, now=61) is None  # expired
    token = service.register("t", frame, referential, ttl_s=60, source=(str(source), source.stat().st_mtime))
    key = service.register_view(token, *args)
    source.write_text("saved since", encoding="utf-8")
    os.utime(source, (1, 1))
    assert service.groups(token, key, (-180, -85, 180, 85), 0) is None  # the directory changed


def test_two_sessions_drawing_the_same_actors_share_one_index_and_only_they_may_ask_it(demo, referential):
    service = FicheService()
    frame = demo.directory.actors
    placed = frame[frame["latitude"].notna()]
    args = (placed.index, np.zeros(len(placed)))
    first, second, third = (service.register(s, frame, referential, ttl_s=60) for s in ("a", "b", "c"))
    key = service.register_view(first, *args)
    built = service._indexes[key]
    assert service.register_view(second, *args) == key and service._indexes[key] is built  # not rebuilt
    assert _total(service.groups(second, key, (-180, -85, 180, 85), 0)) == len(placed)
    assert service.groups(third, key, (-180, -85, 180, 85), 0) is None  # its page drew no such view
    assert service.register_view(first, placed.index, np.ones(len(placed))) != key  # other colours: another view
    assert service.register_view(first, placed.index[1:], np.zeros(len(placed) - 1)) != key  # other rows too


def test_a_new_version_shown_lets_the_version_before_go_with_its_tokens_and_views(demo, referential, tmp_path):
    """After a save, a server shows the new version (``loading._shown_now``): the tokens of the
    version before answer no more (their version changed), and their entries, views and index
    must not hold its rows until the tokens expire (a million fiches: 0.8 GB per version)."""
    import gc
    import weakref

    service = FicheService()
    before, after = demo.directory.actors.copy(), demo.directory.actors.copy()
    placed = before.index[before["latitude"].notna()]
    args = (placed, np.zeros(len(placed)))
    path = tmp_path / "actors.csv"
    path.write_text("version 1", encoding="utf-8")
    os.utime(path, (1, 1))
    old_a = service.register("a", before, referential, ttl_s=3600, source=(str(path), 1.0))
    old_b = service.register("b", before, referential, ttl_s=3600, source=(str(path), 1.0))
    old_key = service.register_view(old_a, *args)
    assert old_key is not None and service.register_view(old_b, *args) == old_key
    path.write_text("version 2", encoding="utf-8")  # saved
    os.utime(path, (2, 2))
    new_c = service.register("c", after, referential, ttl_s=3600, source=(str(path), 2.0))
    new_key = service.register_view(new_c, placed, np.ones(len(placed)))
    assert new_key is not None and len(service._entries) == 3 and len(service._bases) == 2
    gone = weakref.ref(before)
    del before
    service.keep_version((str(path), 2.0))
    gc.collect()
    assert gone() is None  # nothing of the service holds the version before
    assert set(service._entries) == {new_c} and set(service._indexes) == {new_key} and len(service._bases) == 1
    assert service._by_owner.keys() == {"c"}
    assert _total(service.groups(new_c, new_key, (-180, -85, 180, 85), 0)) == len(placed)


def test_many_views_keep_the_newest_only(referential):
    from reseaux.annuaire.fiche_service import MAX_VIEWS

    service = FicheService()
    frame = pd.DataFrame({"nom": ["a", "b"], "latitude": [49.0, 48.0], "longitude": [1.0, 2.0]})
    token = service.register("s", frame, referential, ttl_s=60)
    keys = [service.register_view(token, [0, 1], [i, 0]) for i in range(MAX_VIEWS + 2)]
    assert service.groups(token, keys[0], (-180, -85, 180, 85), 0) is None
    assert _total(service.groups(token, keys[-1], (-180, -85, 180, 85), 0)) == 2


# The route: the same token, checks and limits as the fiches'.


def test_the_groups_route_answers_a_view_refuses_in_french_and_limits_a_flood(demo, referential, monkeypatch):
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from reseaux.annuaire.fiche_service import SERVICE
    from reseaux.serveur.ratelimit import LIMITS
    from reseaux.serveur.web import FICHES_PATH, routes

    LIMITS.clear()
    monkeypatch.setattr(LIMITS, "clock", lambda: 1000.0)  # time stands still: the counts are exact
    monkeypatch.setenv("RESEAUX_RATE_GROUPS", "120")  # 30 at once
    frame = demo.directory.actors
    placed = frame[frame["latitude"].notna()]
    token = SERVICE.register("test_viewport_index", frame, referential, ttl_s=600)
    url = served_views(f"{FICHES_PATH}/{token}")(placed.index.to_numpy(), np.zeros(len(placed)))
    client = TestClient(Starlette(routes=routes()), base_url="http://reseaux.test", client=("127.0.0.1", 50000))
    try:
        answer = client.get(url + "&bbox=-180,-85,180,85&zoom=1")
        assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
        assert _total(answer.json()) == len(placed)
        row = int(placed.index[0])
        assert client.get(url + f"&ligne={row}").json() == {
            "lat": pytest.approx(placed["latitude"].iloc[0]),
            "lon": pytest.approx(placed["longitude"].iloc[0]),
        }
        refused = client.get(url + "&bbox=1,2,3&zoom=5")
        assert refused.status_code == 400 and "quatre nombres" in refused.text
        assert client.get(url + "&bbox=-180,-85,180,85&zoom=12").status_code == 400  # the whole directory: no
        expired = client.get(url.replace(token, "x" * 24) + "&bbox=0,48,2,50&zoom=8")
        assert expired.status_code == 404 and "rechargez" in expired.text
        codes = [client.get(url + "&bbox=0,48,2,50&zoom=8").status_code for _ in range(40)]
        assert 200 in codes and codes[-1] == 429
        assert "Trop de demandes" in client.get(url + "&bbox=0,48,2,50&zoom=8").text
    finally:
        LIMITS.clear()
        SERVICE.revoke_owner("test_viewport_index")


@pytest.mark.parametrize("color_by", ["type", "thematique", "profession"])
def test_each_actors_colour_is_the_same_reckoned_once_per_distinct_value_or_one_by_one(demo, referential, color_by):
    """The page's colours are reckoned once per distinct value (pd.factorize); a column of lists
    (unhashable) goes one actor at a time: both give every actor the same colour, highlight too."""
    from reseaux.carte.actor_layer import _colors
    from reseaux.carte.legend import COLOR_BY

    frame = demo.directory.actors
    column = COLOR_BY[color_by][0]
    as_lists = frame.assign(**{column: [list(v) if isinstance(v, tuple) else v for v in frame[column]]})
    highlight = referential.codes(COLOR_BY[color_by][1])[-2:]
    for chosen in ((), highlight):
        palette, codes = _colors(frame, referential, color_by, chosen)
        assert _colors(as_lists, referential, color_by, chosen)[1].tolist() == codes.tolist()
        firsts = [v[0] if isinstance(v, tuple) and v else v for v in frame[column]]
        if not chosen:  # with no highlight, an actor takes its first value's colour
            expected = [referential.color(COLOR_BY[color_by][1], v) if v else None for v in firsts]
            assert [palette[c] for c, e in zip(codes, expected, strict=True) if e] == [e for e in expected if e]
