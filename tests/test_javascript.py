"""The map's JavaScript: its unit tests (``node --test tests/js``), its lint (ESLint, zero
findings), the one module the pages get from its files (:func:`reseaux.carte.mapbits.map_module`), and
the payload the server writes as the browser reads it. Each runs Node as ``make test`` has it
(Debian's node; ESLint from package-lock.json, installed by ``make setup``)."""

from __future__ import annotations

import json
import shutil
import subprocess

import pandas as pd
import pytest

from reseaux.carte.actor_layer import actor_payload
from reseaux.carte.mapbits import map_module
from tests.conftest import ROOT

#: Where the map's modules are.
JS_DIR = ROOT / "src" / "reseaux" / "carte"
ESLINT = ROOT / "node_modules" / ".bin" / "eslint"


def node() -> str:
    found = shutil.which("node")
    assert found, "node is needed for the JavaScript's tests (it comes with npm, which `make setup` uses)"
    return found


def run_module(module: str, function: str, value: object) -> object:
    """What the JavaScript ``function``, written with the exports of ``module`` (a file of the
    map's) in scope, answers for ``value`` (once its promise is kept)."""
    script = """
    const fs = require("node:fs"), url = require("node:url");
    import(url.pathToFileURL(process.argv[1]).href).then(async (module) => {
      const answer = new Function(...Object.keys(module), "return (" + process.argv[2] + ")")(...Object.values(module));
      process.stdout.write(JSON.stringify(await answer(JSON.parse(fs.readFileSync(0, "utf-8")))));
    });
    """
    done = subprocess.run(
        [node(), "-e", script, str(JS_DIR / module), function],
        cwd=ROOT,
        input=json.dumps(value),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_javascript_unit_tests_pass():
    """tests/js/*.test.mjs: the fiche's rendering and escaping, the folding on the server's cases,
    the payload decoder, the module's namespace and the controls' French."""
    done = subprocess.run(
        [node(), "--test", "tests/js/"], cwd=ROOT, capture_output=True, text=True, timeout=180, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_eslint_finds_nothing():
    assert ESLINT.exists(), "ESLint is missing: run `make setup` (npm ci installs it from package-lock.json)"
    done = subprocess.run(
        [str(ESLINT), "--max-warnings=0", "."], cwd=ROOT, capture_output=True, text=True, check=False, timeout=180
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_joined_module_declares_every_name_it_uses_once():
    """The page gets the modules joined without their imports: ESLint on the joined text sees a
    name that only an import brought, or one declared in two files."""
    assert ESLINT.exists(), "ESLint is missing: run `make setup` (npm ci installs it from package-lock.json)"
    done = subprocess.run(
        [str(ESLINT), "--max-warnings=0", "--stdin", "--stdin-filename", "src/reseaux/carte/joined.js"],
        cwd=ROOT,
        input=map_module(),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_joined_module_installs_the_namespace_and_runs_what_waited_for_it(tmp_path):
    """As in a map's frame: the map's code queued a call before the module ran."""
    joined = tmp_path / "joined.mjs"
    joined.write_text(map_module(), encoding="utf-8")
    script = """
    const names = [];
    globalThis.L = {Control: {Layers: {prototype: {_initLayout() {}}}}};
    globalThis.window = {document: {querySelectorAll: () => []},
                         reseaux: [(rx) => names.push(...Object.keys(rx).sort())]};
    import(require("node:url").pathToFileURL(process.argv[1]).href)
      .then(() => process.stdout.write(JSON.stringify(names)));
    """
    done = subprocess.run([node(), "-e", script, str(joined)], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert {"actorCluster", "blobFiches", "httpFiches", "useFiches", "mapControls", "focusPerimeter", "push"} <= set(
        json.loads(done.stdout)
    )


def test_the_browser_reads_the_payload_the_server_writes(referential):
    """Three actors placed by hand (Rouen's town hall, Le Havre's, Saint-Denis de La Réunion),
    their fiche rows out of order as a filtered directory's are, drawn by their type's colour."""
    places = [(49.44301, 1.09902), (49.49437, 0.10788), (-20.87889, 55.44806)]
    types = referential.codes("type")
    actors = pd.DataFrame(
        {
            "type": [types[1], types[0], "inconnu"],
            "latitude": [p[0] for p in places],
            "longitude": [p[1] for p in places],
        }
    )
    payload = actor_payload(actors, referential, "type", rows=[12, 3, 40000])
    decoded = run_module(
        "actors_layer.js",
        """(payload) => decodePayload(payload).then((p) => ({
        n: p.n, lat: Array.from(p.lat), lon: Array.from(p.lon), rows: Array.from(p.rows),
        colors: Array.from(p.colors, (c) => payload.colors[c])}))""",
        payload,
    )
    assert decoded == {
        "n": 3,
        "lat": [p[0] for p in places],
        "lon": [p[1] for p in places],
        "rows": [12, 3, 40000],
        "colors": [referential.color("type", types[1]), referential.color("type", types[0]), payload["colors"][-1]],
    }


@pytest.mark.parametrize("count", [0, 7, 999, 1000, 12345, 100000, 1234567])
def test_the_maps_clusters_count_as_the_server_does(count):
    """A cluster of the map wrote « 12345 » where the pages say « 12 345 » (fr_number)."""
    from reseaux.text import fr_number

    assert run_module("actors_layer.js", "(n) => frNumber(n)", count) == fr_number(count)
