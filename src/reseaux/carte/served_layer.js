/* Réseaux: the actors drawn from what the server says is in view, for a directory too large for
 * the page to carry (beyond RESEAUX_MAP_SERVER_ABOVE placed actors: see reseaux.carte.viewport_index).
 *
 * The payload is {n, colors, url, bounds}: no position. On load and at the end of each move or
 * zoom the layer asks ``url`` for the view (with a margin of a quarter on each side, as the
 * browser's own index draws it) at the rounded zoom, and draws the answer: clusters
 * [lat, lon, count, rows] and pins [lat, lon, fiche row, colour]. A cluster zooms in when clicked;
 * at the deepest zoom it carries its fiche rows, and lists them. An answer that comes after a
 * newer request was sent is dropped. The pins are those of actors_layer.js: named for the
 * keyboard, their fiche asked of the fiche source when opened. */
import {
  actorCluster, clusterMarker, escapeCloses, fichePin, focusNearest, leavesPopup, pinIcons, useActorIndex
} from "./actors_layer.js";
import {notice} from "./map_controls.js";

/* The query of a view: ``bounds`` {west, south, east, north} in degrees (longitudes kept within
 * the world: Leaflet's run past ±180 after a pan round it), ``zoom`` rounded. */
export function groupsQuery(bounds, zoom) {
  function round(v) { return Math.round(v * 1e5) / 1e5; }
  var west = Math.max(-180, bounds.west), east = Math.min(180, bounds.east);
  var south = Math.max(-85.05, bounds.south), north = Math.min(85.05, bounds.north);
  return "&bbox=" + [west, south, east, north].map(round).join(",") + "&zoom=" + Math.round(zoom);
}

/* What changes on the map for an answer: the pins (by fiche row) and clusters (by place and
 * count) to add, and the keys of those drawn to remove; what stays drawn is not touched. */
export function drawPlan(answer, drawnPins, drawnClusters) {
  var pins = {}, clusters = {}, add = [];
  answer.pins.forEach(function (p) {
    pins[p[2]] = p;
    if (!(p[2] in drawnPins)) add.push({pin: p});
  });
  answer.clusters.forEach(function (c) {
    var key = c[0] + "," + c[1] + "," + c[2];
    clusters[key] = c;
    if (!(key in drawnClusters)) add.push({cluster: c, key: key});
  });
  /* North to south: the Tab order of a drawing goes down the map, not at random. */
  add.sort(function (a, b) { return (b.pin || b.cluster)[0] - (a.pin || a.cluster)[0]; });
  return {
    add: add,
    removePins: Object.keys(drawnPins).filter(function (row) { return !(row in pins); }),
    removeClusters: Object.keys(drawnClusters).filter(function (key) { return !(key in clusters); })
  };
}

/* The groups of one view, asked of the server: a promise of {clusters, pins}. */
export function askGroups(url, bounds, zoom) {
  return fetch(url + groupsQuery(bounds, zoom), {credentials: "same-origin", cache: "no-store"})
    .then(function (response) {
      if (!response.ok) throw new Error(response.status === 404 ? "expirée" : "indisponible");
      return response.json();
    });
}

export function servedCluster(payload, options) {
  options = Object.assign({maxZoom: 19}, options || {});
  var icons = pinIcons(payload.colors), names = {}, asked = 0, layer;

  function drawnOn() { return layer._map; }

  function say(text) {
    /* Why the map is empty (a page expired): said on the map, in place of the actors. */
    var map = layer._map;
    if (!map || layer._said) return;
    layer._said = L.DomUtil.create("div", "rx-notice", map.getContainer());
    layer._said.setAttribute("role", "status");
    layer._said.textContent = text;
  }

  var Layer = L.Layer.extend({
    onAdd: function (map) {
      this._group = L.layerGroup().addTo(map);
      this._pins = {};
      this._clusters = {};
      map.on("moveend", this.redraw, this);
      this._onEscape = escapeCloses(map);
      this.redraw();
    },
    onRemove: function (map) {
      map.off("moveend", this.redraw, this);
      L.DomEvent.off(map.getContainer(), "keydown", this._onEscape);
      map.removeLayer(this._group);
      if (this._said) this._said.remove();
      this._pins = {};
      this._clusters = {};
      asked++;  /* an answer still on its way draws nothing */
    },
    getBounds: function () {
      return payload.bounds ? L.latLngBounds(payload.bounds) : L.latLngBounds([]);
    },
    redraw: function () {
      var map = this._map, self = this;
      if (!map) return Promise.resolve();
      var view = map.getBounds().pad(0.25), zoom = Math.round(map.getZoom());
      var bounds = {west: view.getWest(), south: view.getSouth(), east: view.getEast(), north: view.getNorth()};
      var query = groupsQuery(bounds, zoom);
      /* The view asked last, asked again (the move that ends a map's first drawing): its answer,
         on its way or drawn, is this one's; the server is not asked twice. */
      var last = this._last;
      if (last && last.query === query && last.ticket === asked) return last.answer;
      var ticket = ++asked;
      var answer = askGroups(payload.url, bounds, zoom).then(function (groups) {
        if (ticket === asked && self._map) self._draw(groups, map);
      }, function (error) {
        if (ticket !== asked) return;
        self._last = null;  /* asked again at the next move, even to the same view */
        say(error && error.message === "expirée"
          ? "Carte expirée : rechargez la page pour revoir les acteurs."
          : "Acteurs indisponibles pour l'instant : déplacez la carte pour réessayer.");
      });
      this._last = {query: query, ticket: ticket, answer: answer};
      return answer;
    },
    _draw: function (answer, map) {
      var plan = drawPlan(answer, this._pins, this._clusters), group = this._group, self = this;
      plan.removePins.forEach(function (row) {
        if (self._pins[row].isPopupOpen()) return;  /* the fiche being read stays */
        group.removeLayer(self._pins[row]);
        delete self._pins[row];
      });
      plan.removeClusters.forEach(function (key) {
        group.removeLayer(self._clusters[key]);
        delete self._clusters[key];
      });
      plan.add.forEach(function (item) {
        if (item.pin) {
          var p = item.pin;
          var icon = icons[p[3]] || icons[icons.length - 1];
          self._pins[p[2]] = fichePin([p[0], p[1]], p[2], icon, names, drawnOn).addTo(group);
        } else {
          self._clusters[item.key] = self._cluster(item.cluster, map).addTo(group);
        }
      });
      if (this._focusNear) {  /* Enter on a cluster: the focus on what stands nearest to it now */
        focusNearest(map, this._pins, this._clusters, this._focusNear);
        this._focusNear = null;
      }
      if (this._then) {
        var then = this._then;
        this._then = null;
        then();
      }
    },
    _cluster: function (c, map) {
      var self = this;
      var marker = clusterMarker([c[0], c[1]], c[2], map, function (fromKeys) {
        /* At the deepest zoom the server lists the cluster's fiche rows (a building's actors). */
        if (c[3].length) return leavesPopup(c[3], marker.getLatLng(), map);
        if (fromKeys) self._focusNear = marker.getLatLng();
        map.setView(marker.getLatLng(), Math.min(Math.round(map.getZoom()) + 2, options.maxZoom, map.getMaxZoom()));
      });
      marker.rxRows = c[3];
      return marker;
    },
    show: function (row) {
      /* The search box: where fiche ``row`` stands (asked of the server), zoomed to, its fiche opened. */
      var map = this._map, self = this;
      fetch(payload.url + "&ligne=" + Number(row), {credentials: "same-origin", cache: "no-store"})
        .then(function (response) { return response.ok ? response.json() : {}; })
        .then(function (place) {
          if (place.lat === undefined) {
            notice(map, "Cet acteur n'est pas sur la carte : les filtres choisis l'écartent.");
            return;
          }
          var top = Math.min(options.maxZoom, map.getMaxZoom());
          self._then = function () {
            var marker = self._pins[row];
            if (marker) return marker.openPopup();
            var shared = Object.keys(self._clusters).map(function (k) { return self._clusters[k]; })
              .filter(function (m) { return m.rxRows && m.rxRows.indexOf(row) >= 0; })[0];
            if (shared) leavesPopup(shared.rxRows, shared.getLatLng(), map);
          };
          map.setView([place.lat, place.lon], top, {animate: false});
        });
    }
  });
  layer = new Layer();
  useActorIndex({
    ready: Promise.resolve(),
    /* Every row the search finds may be in view: where it stands is asked when it is shown. */
    find: function (row) { return row; },
    show: function (row) { layer.show(row); }
  });
  return layer;
}

/* The map's actors: from the server when the payload names where to ask, else from the positions it carries. */
export function mapActors(payload, options) {
  return payload.url ? servedCluster(payload, options) : actorCluster(payload, options);
}
