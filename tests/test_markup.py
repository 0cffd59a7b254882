"""Nothing a coordinator types becomes markup: a layer's label written as
``<img src=x onerror=…>`` was HTML in the layer control of every map, the stage and the export.

Each surface is rendered with a hostile label and read as the browser would read its scripts'
strings (JSON escapes undone): the label must stand there as text (``&lt;img``), never as a tag.
The same label is played in Chromium, as a member opening a link, in test_browser_xss.py.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import replace
from html import unescape

import pandas as pd
import pytest

from reseaux.analyse.coverage_report import MEASURES
from reseaux.annuaire.directory import load_directory
from reseaux.carte.choropleth import coverage_legend_html, coverage_overlay
from reseaux.carte.export_map import export_policy, standalone_html
from reseaux.carte.legend import legend_html
from reseaux.carte.mapview import MapView, build_map
from reseaux.carte.search_map import build_search_map
from reseaux.carte.stage_map import scene_groups
from reseaux.markup import is_color, render, text
from reseaux.territoire.layers import load_layers, load_registry, read_registry
from tests.conftest import DATA, ROOT

GEO = DATA / "geo"
HOSTILE = '<img src=x onerror="window.top.pwned=1">'
TAG = re.compile(r"<img src=x", re.I)


def as_read(page: str) -> str:
    """The page with the escapes of JSON strings undone (\\u003c → <): what a script then writes."""
    return re.sub(r"\\u00([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), page).replace('\\"', '"')


def hostile_layers():
    specs = [replace(s, label=HOSTILE, source=HOSTILE) for s in load_registry(GEO / "layers.toml")]
    return specs, load_layers(specs, GEO)


def actors(referential, tmp_path):
    path = tmp_path / "actors.csv"
    path.write_text((DATA / "actors_small.csv").read_text(encoding="utf-8"), encoding="utf-8")
    return load_directory(path, referential).actors


def test_the_label_is_text_on_the_main_map_its_control_tooltips_legend_and_attribution(referential, tmp_path):
    specs, layers = hostile_layers()
    fmap = build_map(
        actors(referential, tmp_path),
        layers,
        specs,
        MapView(layers=("carres",)),
        referential,
        (1.09, 49.43, 1.13, 49.45),
    )
    page = as_read(fmap.get_root().render())
    assert not TAG.search(page)
    assert "&lt;img src=x onerror=&#34;window.top.pwned=1&#34;&gt;" in page  # there, as text
    assert "&amp;lt;" not in page  # escaped once, not twice


def test_the_label_is_text_on_the_stage_and_in_the_search_map(referential, tmp_path):
    specs, layers = hostile_layers()
    view = MapView(layers=("carres",))
    groups = scene_groups(actors(referential, tmp_path), view, referential, layers, specs, (1.09, 49.43, 1.13, 49.45))
    import folium

    fmap = folium.Map()
    for group in groups:
        group.add_to(fmap)
    assert not TAG.search(as_read(fmap.get_root().render()))
    search = build_search_map(
        (1.09, 49.43, 1.13, 49.45), (49.44, 1.1), 5, [], context=[(specs[0], layers[specs[0].id], None)]
    )
    assert not TAG.search(as_read(search.get_root().render()))


def test_the_coverage_overlay_and_legend_keep_titles_as_text():
    table = pd.DataFrame({"n_inside": [0.0, 2.0], "gap": [True, False], "n_within": [0, 2]})
    group = coverage_overlay(
        table, "n_inside", MEASURES["n_inside"], [1.0, 2.0], title=HOSTILE, within_label=HOSTILE, gap_label=HOSTILE
    )
    import folium

    fmap = folium.Map()
    group.add_to(fmap)
    assert not TAG.search(as_read(fmap.get_root().render()))
    assert not TAG.search(coverage_legend_html(MEASURES["n_inside"], [1.0, 2.0], HOSTILE))


def test_the_standalone_export_runs_its_own_scripts_only(referential, tmp_path):
    specs, layers = hostile_layers()
    fmap = build_map(
        actors(referential, tmp_path),
        layers,
        specs,
        MapView(layers=("carres",)),
        referential,
        (1.09, 49.43, 1.13, 49.45),
    )
    page = standalone_html(fmap, title=HOSTILE, subtitle=HOSTILE, alt=HOSTILE)
    assert not TAG.search(as_read(page))
    policy = unescape(re.search(r"<meta http-equiv=\"Content-Security-Policy\" content=\"([^\"]+)\">", page).group(1))
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]  # no injected script runs
    scripts = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", page, re.S)
    assert scripts and all(
        f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'" in policy for s in scripts
    )  # every script the export needs may run
    assert "<script src=" not in page  # and nothing comes from elsewhere
    assert export_policy("<p>no script</p>").startswith("default-src 'none'; script-src ;")


def test_the_legend_is_rendered_by_the_autoescaping_template(referential):
    specs, _ = hostile_layers()
    html = legend_html(referential, "type", ["structure"], specs[:1])
    assert not TAG.search(html) and "&lt;img src=x" in html


def test_a_colour_is_a_colour_or_the_layer_is_set_aside(tmp_path):
    folder = tmp_path / "geo"
    folder.mkdir()
    (folder / "squares.geojson").write_bytes((GEO / "squares.geojson").read_bytes())
    (folder / "layers.toml").write_text(
        '[[layer]]\nid = "a"\nlabel = "A"\nkind = "file"\nfile = "squares.geojson"\n'
        'color = "red;background:url(https://example.org/x)"\n',
        encoding="utf-8",
    )
    specs, broken = read_registry(folder / "layers.toml")
    assert specs == [] and "couleur" in broken[0][1] and "#RRGGBB" in broken[0][1]
    assert is_color("#CC79A7") and is_color("#abc") and not is_color("red") and not is_color("#12345")


def test_one_escaping_mechanism_in_the_code():
    """No HTML written by hand with html.escape: every fragment comes from reseaux.markup."""
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "src" / "reseaux").rglob("*.py")
        if p.name != "markup.py" and re.search(r"\bhtml\.escape\(|^import html$", p.read_text(encoding="utf-8"), re.M)
    ]
    assert offenders == []
    assert render("<b>{{ v }}</b>", v="<i>") == "<b>&lt;i&gt;</b>" and text("a&b") == "a&amp;b"


#: What Jinja would run: folium put each element's output in the page as a template, rendered
#: again with the page. Each part, run, would read « 42 », « ran » and this process's id.
RUNS = "«{{ 6*7 }}» «{% if true %}ran{% endif %}» «{{ cycler.__init__.__globals__.os.getpid() }}»"


def assert_written_not_run(page: str) -> None:
    import os

    read = as_read(page)
    assert "«42»" not in read and "«ran»" not in read and f"«{os.getpid()}»" not in read
    assert "«{{ 6*7 }}»" in read  # there, as written


def test_a_value_jinja_would_run_is_written_as_it_is_on_every_map_and_export(referential, tmp_path):
    """A perimeter file's names, a layer's label, a presentation's title, a fiche's name: folium
    rendered them twice, the second time as a Jinja template — « {{ 6*7 }} » read « 42 », and
    Python was within reach (the process's id, or any command)."""
    import folium

    from reseaux.analyse.proximity import Partner

    specs = [replace(s, label=RUNS, source=RUNS) for s in load_registry(GEO / "layers.toml")]
    layers = {key: frame.assign(nom=RUNS) for key, frame in load_layers(specs, GEO).items()}
    bounds = (1.09, 49.43, 1.13, 49.45)
    fmap = build_map(actors(referential, tmp_path), layers, specs, MapView(layers=("carres",)), referential, bounds)
    assert_written_not_run(fmap.get_root().render())  # the page the live map's frame is made from
    exported = build_map(actors(referential, tmp_path), layers, specs, MapView(layers=("carres",)), referential, bounds)
    assert_written_not_run(standalone_html(exported, title=RUNS, subtitle=RUNS, alt=RUNS))
    stage = folium.Map()
    for group in scene_groups(
        actors(referential, tmp_path), MapView(layers=("carres",)), referential, layers, specs, bounds
    ):
        group.add_to(stage)
    assert_written_not_run(stage.get_root().render())
    found = Partner(number=1, name=RUNS, role=RUNS, distance="1 km", latitude=49.44, longitude=1.1, structure=RUNS)
    search = build_search_map(bounds, (49.44, 1.1), 5, [found], context=[(specs[0], layers[specs[0].id], None)])
    assert_written_not_run(search.get_root().render())


def test_branca_s_own_templates_stay_templates():
    """Only what a template wrote is held as it is: branca's Div still lays out its children."""
    import folium

    page = folium.Figure()
    box = folium.Div().add_to(page)
    box.html.add_child(folium.Element("<p>«{{ 6*7 }}»</p>"))
    assert "<p>«{{ 6*7 }}»</p>" in page.render()


def test_a_branca_that_renders_text_again_stops_the_app_from_starting(monkeypatch):
    """Should an upgrade of branca make its elements otherwise (the text taken as a template
    again), the check ``reseaux.carte`` runs at its import says so instead of serving maps that
    run what a perimeter file says."""
    import branca.element

    from reseaux.carte import verbatim

    verbatim.check()  # this branca: as expected
    monkeypatch.setattr(branca.element.Element, "__init__", branca.element.Element.__init__.__wrapped__)
    with pytest.raises(RuntimeError, match="branca rend de nouveau"):
        verbatim.check()
