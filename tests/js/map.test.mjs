// The map's one module (map.js): the page's code asks for it through window.reseaux, before or
// after the module has run; and the texts its controls write are French.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

import { install, reseaux } from "../../src/reseaux/carte/map.js";
import { geoErrorMessage, LABELS } from "../../src/reseaux/carte/map_controls.js";

// A window with no layer control drawn yet.
const emptyWindow = (queued) => ({ reseaux: queued, document: { querySelectorAll: () => [] } });

test("what the map's code asked before the module ran is run once it has, in order, then at once", () => {
  const calls = [];
  const root = emptyWindow(undefined);
  (root.reseaux = root.reseaux || []).push((rx) => calls.push(["first", rx]));
  (root.reseaux = root.reseaux || []).push((rx) => calls.push(["second", rx]));
  globalThis.L = { Control: { Layers: { prototype: { _initLayout() {} } } } };
  try {
    install(root);
  } finally {
    delete globalThis.L;
  }
  assert.deepEqual(calls, [["first", reseaux], ["second", reseaux]]);
  (root.reseaux = root.reseaux || []).push((rx) => calls.push(["later", rx]));
  assert.deepEqual(calls.map((c) => c[0]), ["first", "second", "later"]);
  assert.equal(root.reseaux, reseaux);
});

test("the namespace is the one name the map's code uses, and cannot be changed", () => {
  for (const name of ["actorCluster", "blobFiches", "httpFiches", "useFiches", "mapControls", "focusPerimeter"]) {
    assert.equal(typeof reseaux[name], "function", name);
  }
  assert.ok(Object.isFrozen(reseaux));
});

test("a refused or failed position is said in French, with what to do", () => {
  assert.match(geoErrorMessage(1), /^Position refusée : autorisez la localisation/);
  assert.match(geoErrorMessage(2), /^Position indisponible/);
  assert.match(geoErrorMessage(3), /réessayez/);
  assert.equal(geoErrorMessage(99), "Position indisponible.");
});

test("the controls give the plugins a French text for each English text they would write", () => {
  // The plugins' own defaults, read from the files the map loads (as npm installed them).
  const plugin = (path) => readFileSync(new URL("../../node_modules/" + path, import.meta.url), "utf-8");
  const texts = (source, key) => [...source.match(new RegExp(key + ":\\s*\\{([\\s\\S]*?)\\n\\s*\\}"))[1]
    .matchAll(/(\w+)\s*:\s*(['"])([^'"]*)\2/g)].map((m) => [m[1], m[3]]);
  const locate = texts(plugin("leaflet.locatecontrol/dist/L.Control.Locate.umd.js"), "strings");
  assert.ok(locate.length >= 4, JSON.stringify(locate));
  const fullscreen = texts(plugin("leaflet.fullscreen/dist/Control.FullScreen.umd.js"), "options")
    .filter(([key]) => key.startsWith("title"));
  assert.equal(fullscreen.length, 2);
  const left = [...locate.map(([key, english]) => [key, english, LABELS.locate[key]]),
                ...fullscreen.map(([key, english]) => [key, english, LABELS.fullscreen[key]])]
    .filter(([, english, french]) => !french || french === english);
  assert.deepEqual(left, []);
});
