// The actors drawn from what the server says is in view (served_layer.js): the request a view
// makes, what an answer changes on the map, an answer overtaken by a newer view dropped, a
// cluster zooming in, and the page told in French when the map expired. Leaflet is a stand-in
// here that records what is drawn; fetch answers as the test says.
import { test } from "node:test";
import assert from "node:assert/strict";

import { askGroups, drawPlan, groupsQuery, mapActors } from "../../src/reseaux/carte/served_layer.js";

test("a view asks its box, longitudes kept within the world, at its rounded zoom", () => {
  assert.equal(groupsQuery({west: -1.5, south: 48.25, east: 3.123456, north: 50}, 7.75),
               "&bbox=-1.5,48.25,3.12346,50&zoom=8");
  assert.equal(groupsQuery({west: -400, south: -90, east: 200, north: 90}, 0),
               "&bbox=-180,-85.05,180,85.05&zoom=0");
});

test("an answer adds what is new, north first, and removes what is no longer in it", () => {
  const answer = {clusters: [[48.9, 2.35, 120, []], [49.44, 1.1, 3, []]],
                  pins: [[43.3, 5.37, 17, 2], [50.63, 3.06, 4, 0]]};
  const plan = drawPlan(answer, {17: "drawn", 99: "drawn"}, {"49.44,1.1,3": "drawn", "45,4,2": "drawn"});
  assert.deepEqual(plan.add.map((a) => (a.pin ? ["pin", a.pin[2]] : ["cluster", a.cluster[2]])),
                   [["pin", 4], ["cluster", 120]]);
  assert.deepEqual(plan.removePins, ["99"]);
  assert.deepEqual(plan.removeClusters, ["45,4,2"]);
});

// Leaflet, as little of it as the layer uses: markers and groups record themselves.
function fakeLeaflet() {
  const drawn = new Set();
  class Marker {
    constructor(latlng, options) { this.latlng = latlng; this.options = options; this.handlers = {}; }
    on(name, handler) { this.handlers[name] = handler; return this; }
    bindPopup() { return this; }
    isPopupOpen() { return false; }
    getLatLng() { return {lat: this.latlng[0], lng: this.latlng[1]}; }
    addTo(group) { group.addLayer(this); return this; }
  }
  const L = {
    marker: (latlng, options) => new Marker(latlng, options),
    divIcon: (options) => options,
    point: (x, y) => [x, y],
    latLngBounds: (b) => b,
    layerGroup: () => ({
      addTo() { return this; },
      addLayer(m) { drawn.add(m); },
      removeLayer(m) { drawn.delete(m); },
    }),
    DomEvent: {on() {}, off() {}, stop() {}},
    DomUtil: {create: () => ({setAttribute() {}, remove() {}, textContent: ""})},
    Layer: {extend: (methods) => function Layer() { Object.assign(this, methods); }},
  };
  return {L, drawn};
}

function fakeMap(zoom) {
  const handlers = {};
  const bounds = {getWest: () => 0, getSouth: () => 48, getEast: () => 2, getNorth: () => 50};
  return {
    zoom, views: [], handlers,
    getBounds: () => ({pad: () => bounds}),
    getZoom() { return this.zoom; },
    getMaxZoom: () => 19,
    getContainer: () => ({}),
    on(name, handler, context) { handlers[name] = handler.bind(context); },
    off() {},
    removeLayer() {},
    setView(latlng, z) { this.views.push([latlng, z]); this.zoom = z; handlers.moveend(); },
  };
}

// fetch answering each request when the test says: {url, answer(json), fail(status)}.
function fakeFetch() {
  const asked = [];
  globalThis.fetch = (url) => new Promise((resolve) => {
    asked.push({
      url,
      answer: (json) => resolve({ok: true, status: 200, json: () => Promise.resolve(json)}),
      fail: (status) => resolve({ok: false, status, json: () => Promise.resolve({})}),
    });
  });
  return asked;
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

// ``body(asked)`` with ``L`` and the fake fetch in place of the browser's, both taken away after.
async function withFakes(L, body) {
  globalThis.L = L;
  try {
    await body(fakeFetch());
  } finally {
    delete globalThis.L;
    delete globalThis.fetch;
  }
}

test("the layer asks its view when added and at each move, and draws only the newest answer", async () => {
  const {L, drawn} = fakeLeaflet();
  await withFakes(L, async (asked) => {
    const layer = mapActors({n: 3, colors: ["#111", "#222"], url: "/_reseaux/carte/T/groupes?vue=K",
                             bounds: [[48, 0], [50, 2]]});
    const map = fakeMap(6.25);
    layer._map = map;
    layer.onAdd(map);
    assert.equal(asked[0].url, "/_reseaux/carte/T/groupes?vue=K&bbox=0,48,2,50&zoom=6");
    map.zoom = 9;
    map.handlers.moveend();  // the person zoomed before the first answer came
    asked[1].answer({clusters: [[49, 1, 2, []]], pins: [[49.5, 1.5, 42, 1]]});
    await tick();
    asked[0].answer({clusters: [[49, 1, 3000, []]], pins: []});  // late: overtaken
    await tick();
    const counts = [...drawn].map((m) => (m.rxRow !== undefined ? "pin " + m.rxRow : m.options.icon.html));
    assert.deepEqual(counts.sort(), ["<div><span>2</span></div>", "pin 42"]);
    assert.equal([...drawn].find((m) => m.rxRow === 42).options.icon.html, '<span style="background:#222"></span>');
    // A click on the cluster zooms in by two, and the new view is asked.
    [...drawn].find((m) => m.rxRow === undefined).handlers.click();
    assert.deepEqual(map.views, [[{lat: 49, lng: 1}, 11]]);
    assert.match(asked[2].url, /&zoom=11$/);
  });
});

test("the view asked again as the map settles is one request, its answer drawn", async () => {
  const {L, drawn} = fakeLeaflet();
  await withFakes(L, async (asked) => {
    const layer = mapActors({n: 3, colors: ["#111"], url: "/x?vue=K", bounds: null});
    const map = fakeMap(6);
    layer._map = map;
    layer.onAdd(map);
    map.handlers.moveend();  // the map's first drawing ends with a move to the same view
    assert.equal(asked.length, 1);
    asked[0].answer({clusters: [], pins: [[49.5, 1.5, 42, 0]]});
    await tick();
    assert.deepEqual([...drawn].map((m) => m.rxRow), [42]);  // the one answer, drawn
    map.zoom = 7;
    map.handlers.moveend();  // another view: asked
    assert.equal(asked.length, 2);
    asked[1].fail(500);
    await tick();
    await tick();
    map.handlers.moveend();  // the same view after a failure: asked again
    assert.equal(asked.length, 3);
  });
});

test("a map whose page expired says so in French on the map", async () => {
  const {L} = fakeLeaflet();
  const said = [];
  L.DomUtil.create = () => { const box = {setAttribute() {}, remove() {}, textContent: ""}; said.push(box); return box; };
  await withFakes(L, async (asked) => {
    const answer = askGroups("/x?vue=K", {west: 0, south: 0, east: 1, north: 1}, 3);
    asked[0].fail(404);
    await assert.rejects(answer, /expirée/);
    const layer = mapActors({n: 3, colors: ["#111"], url: "/x?vue=K", bounds: null});
    const map = fakeMap(5);
    layer._map = map;
    layer.onAdd(map);
    asked[1].fail(404);
    await tick();
    await tick();
    assert.deepEqual(said.map((box) => box.textContent), ["Carte expirée : rechargez la page pour revoir les acteurs."]);
  });
});

test("a fiche the search finds but the filters leave out is said so on the map, not opened", async () => {
  const {L} = fakeLeaflet();
  const said = [];
  L.DomUtil.create = () => { const box = {setAttribute() {}, remove() {}, textContent: ""}; said.push(box); return box; };
  await withFakes(L, async (asked) => {
    const layer = mapActors({n: 3, colors: ["#111"], url: "/x?vue=K", bounds: null});
    const map = fakeMap(5);
    layer._map = map;
    layer.onAdd(map);
    asked[0].answer({clusters: [], pins: []});
    layer.show(7);
    assert.equal(asked[1].url, "/x?vue=K&ligne=7");
    asked[1].answer({});  // not in this view
    await tick();
    await tick();
    assert.deepEqual(said.map((box) => box.textContent),
                     ["Cet acteur n'est pas sur la carte : les filtres choisis l'écartent."]);
    assert.deepEqual(map.views, []);  // the map did not move
  });
});
