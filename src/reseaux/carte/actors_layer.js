/* Réseaux: draws the actors from a spatial index (supercluster); each fiche is asked of the
 * map's fiche source (fiches.js) when it is opened.
 *
 * The payload is {n, colors, data}: data is gzip in base64 of four little-endian arrays of n
 * values — latitude and longitude × 100,000 (Int32), the fiche rows as differences (Int32),
 * the colour (Uint8) — a few bytes an actor, inflated by the browser itself (decodePayload).
 *
 * The keyboard: each pin and cluster drawn is a Tab stop (Leaflet's role="button"). A pin is
 * named by its actor's name and profession, asked of the fiche source for the pins drawn once the
 * map stops (the same request a click makes, for the drawn pins only); Enter opens its fiche and
 * moves the focus into it, Échap closes it and gives the focus back to the pin. Enter on a
 * cluster zooms in and puts the focus on the pin or cluster nearest to where it was. Nothing is
 * added for actors not drawn: at 100,000 actors the page holds only what supercluster draws. */
import {ficheMessage, ficheSource, inflate, renderFiche} from "./fiches.js";

/* The drawn actors, for the search box (one map a page): see actorCluster. */
let drawnActors = null;

export function actorIndex() {
  return drawnActors;
}

/* The payload's points: {n, lat, lon (degrees, Float64Array), rows (fiche rows, Int32Array),
 * colors (index in payload.colors, Uint8Array)}, as a promise. */
export function decodePayload(payload) {
  const n = payload.n;
  return (n ? inflate(payload.data) : Promise.resolve(new ArrayBuffer(0))).then((buffer) => {
    const ints = new Int32Array(buffer, 0, 3 * n);
    const lat = new Float64Array(n), lon = new Float64Array(n), rows = new Int32Array(n);
    let row = 0;
    for (let i = 0; i < n; i++) {
      lat[i] = ints[i] / 1e5;
      lon[i] = ints[n + i] / 1e5;
      row += ints[2 * n + i];
      rows[i] = row;
    }
    return {n: n, lat: lat, lon: lon, rows: rows, colors: new Uint8Array(buffer, 12 * n, n).slice()};
  });
}

/* The pins' icons, one a colour of the payload's palette. */
export function pinIcons(colors) {
  return colors.map(function (color) {
    return L.divIcon({
      className: "rx-pin",
      html: '<span style="background:' + color + '"></span>',
      iconSize: [16, 16],
      iconAnchor: [8, 8],
      popupAnchor: [0, -8]
    });
  });
}

function seen(marker, map) {
  /* A pin or cluster reached by Tab outside the view (the layer draws a margin around it):
   * the map comes to it, so that the person sees where the focus is. */
  L.DomEvent.on(marker._icon, "focus", function () {
    if (map && !map.getBounds().pad(-0.05).contains(marker.getLatLng())) map.panTo(marker.getLatLng());
  });
}

function nameOf(fiche, fields) {
  var what = ["Profession", "Type"].map(function (label) {
    return fiche[fields.findIndex(function (f) { return f[1] === label; })];
  }).filter(Boolean)[0];
  return fiche[0] + (what ? ", " + what : "");
}

/* What a pin is called, by fiche row: « Nom, profession » (or its type), once asked. */
function named(marker, names) {
  if (marker._icon) marker._icon.setAttribute("aria-label", names[marker.rxRow] || "Acteur (nom en chargement)");
}

/* One request for the drawn pins not yet named (at most 500 a request, as the server allows). */
function askNames(pins, names) {
  var source = ficheSource();
  var missing = Object.keys(pins).map(function (i) { return pins[i].rxRow; })
    .filter(function (row) { return !(row in names); }).slice(0, 500);
  if (!source || !missing.length) return;
  source.get(missing).then(function (data) {
    missing.forEach(function (row, k) { if (data.fiches[k]) names[row] = nameOf(data.fiches[k], data.fields); });
    for (var i in pins) named(pins[i], names);
  }, function () { /* the names come with the next move; a click says what is wrong */ });
}

function openFiche(popup, row, marker, names) {
  /* Opened from the keyboard (the focus on its pin, or in the search box): the focus goes into
   * the fiche, so that it is read and its links are the next Tab stops. */
  var icon = marker && marker._icon, active = document.activeElement;
  var fromKeys = active && (active === icon || (active.closest && active.closest(".rx-search")));
  function show(content) {
    popup.setContent(content);
    if (fromKeys && popup.isOpen() && content.nodeType === 1) {
      content.tabIndex = -1;
      content.focus({preventScroll: true});
    }
  }
  ficheSource().get([row]).then(function (data) {
    names[row] = nameOf(data.fiches[0], data.fields);
    if (marker) named(marker, names);
    show(renderFiche(data.fiches[0], data.fields));
  }, function (error) {
    popup.setContent(ficheMessage(error));
  });
}

/* The pin of fiche row ``row`` at ``latlng``: named for the keyboard, its fiche asked when opened. */
export function fichePin(latlng, row, icon, names, mapOf) {
  var marker = L.marker(latlng, {icon: icon, keyboard: true});
  marker.rxRow = row;
  marker.bindPopup("Chargement de la fiche…", {maxWidth: 340});
  marker.on("add", function () { named(marker, names); seen(marker, mapOf()); });
  marker.on("popupopen", function (event) { openFiche(event.popup, marker.rxRow, marker, names); });
  marker.on("popupclose", function (event) {
    /* Closed by Échap or its × from the keyboard: the focus goes back to the pin, not lost. */
    var element = event.popup.getElement(), active = document.activeElement;
    var lost = !active || active === document.body || (element && element.contains(active));
    if (lost && marker._icon) marker._icon.focus({preventScroll: true});
  });
  return marker;
}

/* Actors at the very same place (a town hall, one building): a list of fiche rows to choose from. */
export function leavesPopup(leaves, latlng, map) {
  var active = document.activeElement;
  var fromKeys = active && active.closest && active.closest(".rx-cluster, .rx-search");
  var list = document.createElement("ul");
  list.className = "rx-leaves";
  ficheSource().get(leaves).then(function (data) {
    leaves.forEach(function (row, k) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = "#";
      link.textContent = data.fiches[k][0];
      link.onclick = function (e) {
        e.preventDefault();
        L.popup({maxWidth: 340}).setLatLng(latlng)
          .setContent(renderFiche(data.fiches[k], data.fields)).openOn(map);
      };
      item.appendChild(link);
      list.appendChild(item);
    });
    if (fromKeys && list.firstChild) list.firstChild.firstChild.focus({preventScroll: true});
  }, function (error) { list.textContent = ficheMessage(error); });
  L.popup({maxWidth: 340}).setLatLng(latlng).setContent(list).openOn(map);
}

/* A cluster of ``count`` actors at ``latlng``; ``open(fromKeys)`` on a click or Enter. */
export function clusterMarker(latlng, count, map, open) {
  var size = count < 10 ? 30 : count < 100 ? 38 : count < 1000 ? 46 : 54;
  var marker = L.marker(latlng, {
    icon: L.divIcon({html: "<div><span>" + frNumber(count) + "</span></div>", className: "rx-cluster",
                     iconSize: L.point(size, size)}),
    keyboard: true
  });
  marker.on("add", function () {
    marker._icon.setAttribute("aria-label", count + " acteurs regroupés ici : Entrée pour zoomer");
    seen(marker, map);
  });
  marker.on("click", function () { open(false); });
  marker.on("keypress", function (e) { if (e.originalEvent.keyCode === 13) open(true); });
  return marker;
}

/* After Enter on a cluster: the focus on the drawn marker (``pins`` and ``clusters``, objects of
 * markers) standing nearest to ``latlng`` now, not lost with the cluster the zoom took away. */
export function focusNearest(map, pins, clusters, latlng) {
  var best = null, distance = Infinity, target = map.latLngToContainerPoint(latlng);
  [pins, clusters].forEach(function (drawn) {
    Object.keys(drawn).forEach(function (k) {
      var marker = drawn[k], d = map.latLngToContainerPoint(marker.getLatLng()).distanceTo(target);
      if (marker._icon && d < distance) { best = marker; distance = d; }
    });
  });
  if (best) best._icon.focus({preventScroll: true});
}

/* Échap closes the open fiche wherever the focus is in the map (Leaflet's own keys work only
 * while the map itself has the focus, not a pin or the fiche). Returns the handler, to remove. */
export function escapeCloses(map) {
  var handler = function (e) {
    if (e.key !== "Escape" || !map._popup || !map._popup.isOpen()) return;
    map.closePopup();
    L.DomEvent.stop(e);  /* a first Échap closes the fiche, not the presentation's full screen */
  };
  L.DomEvent.on(map.getContainer(), "keydown", handler);
  return handler;
}

/* The drawn actors, for the search box: {ready, find(row) -> i or -1, show(i)}. */
export function useActorIndex(index) {
  drawnActors = index;
}

export function actorCluster(payload, options) {
  options = Object.assign({radius: 60, maxZoom: 19}, options || {});
  var n = payload.n, lat = new Float64Array(n), lon = new Float64Array(n), rows = new Int32Array(n);
  var colors = new Uint8Array(n), loaded = false;
  var index = new Supercluster({radius: options.radius, maxZoom: options.maxZoom, minPoints: 2});
  var ready = decodePayload(payload).then(function (points) {
    lat = points.lat; lon = points.lon; rows = points.rows; colors = points.colors;
    var features = new Array(n);
    for (var i = 0; i < n; i++) {
      features[i] = {type: "Feature", geometry: {type: "Point", coordinates: [lon[i], lat[i]]}, properties: {i: i}};
    }
    index.load(features);
    loaded = true;
  });
  var icons = pinIcons(payload.colors);
  var names = {};

  function drawnOn() { return layer._map; }

  function pin(i) {
    return fichePin([lat[i], lon[i]], rows[i], icons[colors[i]], names, drawnOn);
  }

  function leavesList(id, latlng, map) {
    leavesPopup(index.getLeaves(id, Infinity).map(function (leaf) { return rows[leaf.properties.i]; }), latlng, map);
  }

  function cluster(feature, map) {
    var c = feature.geometry.coordinates;
    var marker = clusterMarker([c[1], c[0]], feature.properties.point_count, map, function (fromKeys) {
      var id = feature.properties.cluster_id;
      var zoom = index.getClusterExpansionZoom(id);
      if (zoom > Math.min(options.maxZoom, map.getMaxZoom())) leavesList(id, marker.getLatLng(), map);
      else {
        if (fromKeys) layer._focusNear = marker.getLatLng();
        map.setView(marker.getLatLng(), zoom);
      }
    });
    return marker;
  }

  var Layer = L.Layer.extend({
    onAdd: function (map) {
      this._group = L.layerGroup().addTo(map);
      this._pins = {};
      this._clusters = {};
      map.on("moveend", this.redraw, this);
      this._onEscape = escapeCloses(map);
      var layer = this;
      ready.then(function () { layer.redraw(); });
    },
    onRemove: function (map) {
      map.off("moveend", this.redraw, this);
      L.DomEvent.off(map.getContainer(), "keydown", this._onEscape);
      map.removeLayer(this._group);
      this._pins = {};
      this._clusters = {};
    },
    getBounds: function () {
      var bounds = L.latLngBounds([]);
      for (var i = 0; i < n; i++) bounds.extend([lat[i], lon[i]]);
      return bounds;
    },
    redraw: function () {
      var map = this._map;
      if (!map || !loaded) return;
      var view = map.getBounds().pad(0.25);
      var zoom = Math.round(map.getZoom());
      var found = index.getClusters([view.getWest(), view.getSouth(), view.getEast(), view.getNorth()], zoom);
      /* Added north to south: the Tab order of a first drawing goes down the map, not at random. */
      found.sort(function (a, b) { return b.geometry.coordinates[1] - a.geometry.coordinates[1]; });
      var pins = {}, clusters = {}, order = [];
      for (var k = 0; k < found.length; k++) {
        var f = found[k];
        if (f.properties.cluster) {
          var key = f.properties.cluster_id;
          clusters[key] = this._clusters[key] || cluster(f, map);
          order.push(clusters[key]);
        } else {
          var i = f.properties.i;
          pins[i] = this._pins[i] || pin(i);
          order.push(pins[i]);
        }
      }
      var group = this._group, old;
      for (old in this._pins) {
        if (!pins[old] && !this._pins[old].isPopupOpen()) group.removeLayer(this._pins[old]);
        else if (!pins[old]) pins[old] = this._pins[old];
      }
      for (old in this._clusters) if (!clusters[old]) group.removeLayer(this._clusters[old]);
      for (var m = 0; m < order.length; m++) if (!group.hasLayer(order[m])) group.addLayer(order[m]);
      this._pins = pins;
      this._clusters = clusters;
      /* Drawn at least once: what the PNG export waits for before its picture (export_map.py). */
      map.getContainer().setAttribute("data-rx-acteurs", "dessinés");
      if (this._focusNear) {
        focusNearest(map, this._pins, this._clusters, this._focusNear);
        this._focusNear = null;
      }
      clearTimeout(this._naming);
      /* Once the map stops (arrow keys move it step by step): one request, not one a step. */
      this._naming = setTimeout(askNames, 300, this._pins, names);
    },
    show: function (i) {
      /* Zoom until actor ``i`` stands alone, then open its fiche (the search box). */
      var map = this._map;
      var zoom = Math.max(Math.round(map.getZoom()), 10), top = Math.min(options.maxZoom, map.getMaxZoom());
      var box = [lon[i] - 1e-6, lat[i] - 1e-6, lon[i] + 1e-6, lat[i] + 1e-6];
      function alone(z) {
        return index.getClusters(box, z).some(function (f) { return !f.properties.cluster && f.properties.i === i; });
      }
      while (zoom < top && !alone(zoom)) zoom++;
      map.setView([lat[i], lon[i]], zoom, {animate: false});
      this.redraw();
      var marker = this._pins[i];
      if (marker) {
        marker.openPopup();
        return;
      }
      /* Still sharing its place at the last zoom: the list of the actors there. */
      var around = [lon[i] - 1e-4, lat[i] - 1e-4, lon[i] + 1e-4, lat[i] + 1e-4];
      var shared = index.getClusters(around, zoom).filter(function (f) { return f.properties.cluster; })[0];
      if (shared) leavesList(shared.properties.cluster_id, L.latLng(lat[i], lon[i]), map);
    }
  });
  var layer = new Layer();
  /* For the search box: which fiche rows are drawn, and how to show one. */
  var position = null;
  useActorIndex({
    ready: ready,
    find: function (row) {
      if (!position) {
        position = new Map();
        for (var i = 0; i < n; i++) position.set(rows[i], i);
      }
      return position.has(row) ? position.get(row) : -1;
    },
    show: function (i) { layer.show(i); }
  });
  return layer;
}

/* A count the French way, as reseaux.text.fr_number writes it: « 12 345 » (narrow no-break
 * space between thousands; tests/test_javascript.py compares the two). */
export function frNumber(count) {
  return String(Math.round(count)).replace(/\B(?=(\d{3})+(?!\d))/g, "\u202f");
}
