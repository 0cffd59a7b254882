/* Réseaux: draws the actors from a spatial index (supercluster); each fiche is asked of
 * window.rxFicheSource (fiches.js) when it is opened.
 *
 * The payload is {n, colors, data}: data is gzip in base64 of four little-endian arrays of n
 * values — latitude and longitude × 100,000 (Int32), the fiche rows as differences (Int32),
 * the colour (Uint8) — a few bytes an actor, inflated by the browser itself. */
function rxActorCluster(payload, options) {
  options = Object.assign({radius: 60, maxZoom: 19}, options || {});
  var n = payload.n, lat = new Float64Array(n), lon = new Float64Array(n), rows = new Int32Array(n);
  var colors = new Uint8Array(n), loaded = false;
  var index = new Supercluster({radius: options.radius, maxZoom: options.maxZoom, minPoints: 2});
  var ready = (n ? rxInflate(payload.data) : Promise.resolve(new ArrayBuffer(0))).then(function (buffer) {
    var ints = new Int32Array(buffer, 0, 3 * n), features = new Array(n), row = 0;
    colors.set(new Uint8Array(buffer, 12 * n, n));
    for (var i = 0; i < n; i++) {
      lat[i] = ints[i] / 1e5;
      lon[i] = ints[n + i] / 1e5;
      row += ints[2 * n + i];
      rows[i] = row;
      features[i] = {type: "Feature", geometry: {type: "Point", coordinates: [lon[i], lat[i]]}, properties: {i: i}};
    }
    index.load(features);
    loaded = true;
  });
  var icons = payload.colors.map(function (color) {
    return L.divIcon({
      className: "rx-pin",
      html: '<span style="background:' + color + '"></span>',
      iconSize: [16, 16],
      iconAnchor: [8, 8],
      popupAnchor: [0, -8]
    });
  });

  function openFiche(popup, row) {
    rxFicheSource.get([row]).then(function (data) {
      popup.setContent(rxFiche(data.fiches[0], data.fields));
    }, function (error) {
      popup.setContent(rxFicheMessage(error));
    });
  }

  function pin(i) {
    var marker = L.marker([lat[i], lon[i]], {icon: icons[colors[i]], keyboard: false});
    marker.rxRow = rows[i];
    marker.bindPopup("Chargement de la fiche…", {maxWidth: 340});
    marker.on("popupopen", function (event) { openFiche(event.popup, marker.rxRow); });
    return marker;
  }

  function leavesList(id, latlng, map) {
    /* Actors at the very same place (a town hall, one building): a list to choose from. */
    var leaves = index.getLeaves(id, Infinity).map(function (leaf) { return rows[leaf.properties.i]; });
    var list = document.createElement("ul");
    list.className = "rx-leaves";
    rxFicheSource.get(leaves).then(function (data) {
      leaves.forEach(function (row, k) {
        var item = document.createElement("li");
        var link = document.createElement("a");
        link.href = "#";
        link.textContent = data.fiches[k][0];
        link.onclick = function (e) {
          e.preventDefault();
          L.popup({maxWidth: 340}).setLatLng(latlng)
            .setContent(rxFiche(data.fiches[k], data.fields)).openOn(map);
        };
        item.appendChild(link);
        list.appendChild(item);
      });
    }, function (error) { list.textContent = rxFicheMessage(error); });
    L.popup({maxWidth: 340}).setLatLng(latlng).setContent(list).openOn(map);
  }

  function cluster(feature, map) {
    var count = feature.properties.point_count;
    var size = count < 10 ? 30 : count < 100 ? 38 : count < 1000 ? 46 : 54;
    var c = feature.geometry.coordinates;
    var marker = L.marker([c[1], c[0]], {
      icon: L.divIcon({html: "<div><span>" + rxFrNumber(count) + "</span></div>", className: "rx-cluster",
                       iconSize: L.point(size, size)}),
      keyboard: false
    });
    marker.on("click", function () {
      var id = feature.properties.cluster_id;
      var zoom = index.getClusterExpansionZoom(id);
      if (zoom > Math.min(options.maxZoom, map.getMaxZoom())) leavesList(id, marker.getLatLng(), map);
      else map.setView(marker.getLatLng(), zoom);
    });
    return marker;
  }

  var Layer = L.Layer.extend({
    onAdd: function (map) {
      this._group = L.layerGroup().addTo(map);
      this._pins = {};
      this._clusters = {};
      map.on("moveend", this.redraw, this);
      var layer = this;
      ready.then(function () { layer.redraw(); });
    },
    onRemove: function (map) {
      map.off("moveend", this.redraw, this);
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
      var pins = {}, clusters = {};
      for (var k = 0; k < found.length; k++) {
        var f = found[k];
        if (f.properties.cluster) {
          var key = f.properties.cluster_id;
          clusters[key] = this._clusters[key] || cluster(f, map);
        } else {
          var i = f.properties.i;
          pins[i] = this._pins[i] || pin(i);
        }
      }
      var group = this._group, old;
      for (old in this._pins) {
        if (!pins[old] && !this._pins[old].isPopupOpen()) group.removeLayer(this._pins[old]);
        else if (!pins[old]) pins[old] = this._pins[old];
      }
      for (old in this._clusters) if (!clusters[old]) group.removeLayer(this._clusters[old]);
      for (var p in pins) if (!group.hasLayer(pins[p])) group.addLayer(pins[p]);
      for (var c in clusters) if (!group.hasLayer(clusters[c])) group.addLayer(clusters[c]);
      this._pins = pins;
      this._clusters = clusters;
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
  window.rxActorIndex = {
    ready: ready,
    find: function (row) {
      if (!position) {
        position = new Map();
        for (var i = 0; i < n; i++) position.set(rows[i], i);
      }
      return position.has(row) ? position.get(row) : -1;
    },
    show: function (i) { layer.show(i); }
  };
  return layer;
}

/* A count the French way, as reseaux.text.fr_number writes it: « 12 345 » (narrow no-break
 * space between thousands; tests/test_folding.py compares the two). */
function rxFrNumber(count) {
  return String(Math.round(count)).replace(/\B(?=(\d{3})+(?!\d))/g, "\u202f");
}
