/* Réseaux: draws the actors from a spatial index (supercluster) and builds each fiche on demand.
 * Every text goes through textContent, so a field holding HTML shows as text. */
function rxFiche(fiche, fields) {
  var root = document.createElement("div");
  root.className = "rx-fiche";
  var title = document.createElement("div");
  title.className = "rx-fiche-title";
  title.textContent = fiche[0];
  root.appendChild(title);
  for (var i = 1; i < fields.length; i++) {
    var value = fiche[i];
    if (value === "" || value === null || value === undefined) continue;
    var kind = fields[i][0], label = fields[i][1];
    var row = document.createElement("div");
    row.className = "rx-fiche-row";
    if (kind === "badge") {
      row.className += " rx-fiche-fictif";
      row.textContent = value;
      root.appendChild(row);
      continue;
    }
    var name = document.createElement("span");
    name.className = "rx-fiche-label";
    name.textContent = label + " : ";
    row.appendChild(name);
    var target = document.createElement(kind === "text" ? "span" : "a");
    target.textContent = value;
    if (kind === "tel") target.href = "tel:" + value.replace(/[^0-9+]/g, "");
    if (kind === "mail") target.href = "mailto:" + value;
    if (kind === "url") {
      if (/^https?:\/\//i.test(value)) {
        target.href = value;
        target.target = "_blank";
        target.rel = "noopener noreferrer";
      } else {
        target = document.createElement("span");
        target.textContent = value;
      }
    }
    row.appendChild(target);
    root.appendChild(row);
  }
  return root;
}

function rxLoadFiches() {
  /* The fiches travel gzip-compressed in base64 (window.rxFicheBlob); inflated on first use. */
  if (window.rxFicheCache) return Promise.resolve(window.rxFicheCache);
  if (!window.rxFicheBlob) return Promise.reject(new Error("fiches absentes"));
  var binary = atob(window.rxFicheBlob);
  var bytes = new Uint8Array(binary.length);
  for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Response(stream).text().then(function (text) {
    window.rxFicheCache = JSON.parse(text);
    return window.rxFicheCache;
  });
}

function rxActorCluster(payload, options) {
  /* The actors as a spatial index (supercluster, on kdbush): only the clusters and pins in view
   * are made into markers, again after each move. A pin keeps its marker while it stays in
   * view (its open fiche is not closed by a redraw). */
  options = Object.assign({radius: 60, maxZoom: 19}, options || {});
  var points = payload.points;
  var index = new Supercluster({radius: options.radius, maxZoom: options.maxZoom, minPoints: 2});
  index.load(points.map(function (p, i) {
    return {type: "Feature", geometry: {type: "Point", coordinates: [p[1], p[0]]}, properties: {i: i}};
  }));
  var icons = payload.colors.map(function (color) {
    return L.divIcon({
      className: "rx-pin",
      html: '<span style="background:' + color + '"></span>',
      iconSize: [16, 16],
      iconAnchor: [8, 8],
      popupAnchor: [0, -8]
    });
  });

  function pin(i) {
    var p = points[i];
    var marker = L.marker([p[0], p[1]], {icon: icons[p[2]], keyboard: false});
    marker.rxRow = p[3];
    marker.bindPopup("Chargement de la fiche…", {maxWidth: 340});
    marker.on("popupopen", function (event) {
      rxLoadFiches().then(function (data) {
        event.popup.setContent(rxFiche(data.fiches[marker.rxRow], data.fields));
      }, function () {
        event.popup.setContent("Fiche indisponible.");
      });
    });
    return marker;
  }

  function leavesList(id, latlng, map) {
    /* Actors at the very same place (a town hall, one building): a list to choose from. */
    var leaves = index.getLeaves(id, Infinity);
    var list = document.createElement("ul");
    list.className = "rx-leaves";
    rxLoadFiches().then(function (data) {
      leaves.forEach(function (leaf) {
        var i = leaf.properties.i;
        var item = document.createElement("li");
        var link = document.createElement("a");
        link.href = "#";
        link.textContent = data.fiches[points[i][3]][0];
        link.onclick = function (e) {
          e.preventDefault();
          L.popup({maxWidth: 340}).setLatLng(latlng)
            .setContent(rxFiche(data.fiches[points[i][3]], data.fields)).openOn(map);
        };
        item.appendChild(link);
        list.appendChild(item);
      });
    });
    L.popup({maxWidth: 340}).setLatLng(latlng).setContent(list).openOn(map);
  }

  function cluster(feature, map) {
    var n = feature.properties.point_count;
    var size = n < 10 ? 30 : n < 100 ? 38 : n < 1000 ? 46 : 54;
    var c = feature.geometry.coordinates;
    var marker = L.marker([c[1], c[0]], {
      icon: L.divIcon({html: "<div><span>" + n + "</span></div>", className: "rx-cluster",
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
      this.redraw();
    },
    onRemove: function (map) {
      map.off("moveend", this.redraw, this);
      map.removeLayer(this._group);
      this._pins = {};
      this._clusters = {};
    },
    getBounds: function () {
      return L.latLngBounds(points.map(function (p) { return [p[0], p[1]]; }));
    },
    redraw: function () {
      var map = this._map;
      if (!map) return;
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
      var map = this._map, p = points[i];
      var zoom = Math.max(Math.round(map.getZoom()), 10), top = Math.min(options.maxZoom, map.getMaxZoom());
      var box = [p[1] - 1e-6, p[0] - 1e-6, p[1] + 1e-6, p[0] + 1e-6];
      function alone(z) {
        return index.getClusters(box, z).some(function (f) { return !f.properties.cluster && f.properties.i === i; });
      }
      while (zoom < top && !alone(zoom)) zoom++;
      map.setView([p[0], p[1]], zoom, {animate: false});
      this.redraw();
      var marker = this._pins[i];
      if (marker) {
        marker.openPopup();
        return;
      }
      /* Still sharing its place at the last zoom: the list of the actors there. */
      var around = [p[1] - 1e-4, p[0] - 1e-4, p[1] + 1e-4, p[0] + 1e-4];
      var shared = index.getClusters(around, zoom).filter(function (f) { return f.properties.cluster; })[0];
      if (shared) leavesList(shared.properties.cluster_id, L.latLng(p[0], p[1]), map);
    }
  });
  var layer = new Layer();
  /* For the search control: every actor's fiche row, and how to show one. */
  window.rxActorIndex = {rows: points.map(function (p) { return p[3]; }),
                         show: function (i) { layer.show(i); }};
  return layer;
}

/* streamlit-folium evaluates this layer's script inside a function: declarations stay local.
 * The map's controls (search) need the fiches too. */
window.rxLoadFiches = rxLoadFiches;
