/* Réseaux: draws the actors in bulk in a marker cluster and builds each fiche on demand.
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
  var cluster = L.markerClusterGroup(Object.assign({
    showCoverageOnHover: false,
    maxClusterRadius: 45,
    chunkedLoading: true,
    iconCreateFunction: function (c) {
      var n = c.getChildCount();
      var size = n < 10 ? 30 : n < 100 ? 38 : n < 1000 ? 46 : 54;
      return L.divIcon({
        html: "<div><span>" + n + "</span></div>",
        className: "rx-cluster",
        iconSize: L.point(size, size)
      });
    }
  }, options || {}));
  var icons = payload.colors.map(function (color) {
    return L.divIcon({
      className: "rx-pin",
      html: '<span style="background:' + color + '"></span>',
      iconSize: [16, 16],
      iconAnchor: [8, 8],
      popupAnchor: [0, -8]
    });
  });
  var markers = new Array(payload.points.length);
  for (var i = 0; i < payload.points.length; i++) {
    var p = payload.points[i];
    var marker = L.marker([p[0], p[1]], {icon: icons[p[2]], keyboard: false});
    marker.rxRow = p[3];
    marker.bindPopup("Chargement de la fiche…", {maxWidth: 340});
    marker.on("popupopen", function (event) {
      var row = event.target.rxRow;
      rxLoadFiches().then(function (data) {
        event.popup.setContent(rxFiche(data.fiches[row], data.fields));
      }, function () {
        event.popup.setContent("Fiche indisponible.");
      });
    });
    markers[i] = marker;
  }
  cluster.addLayers(markers);
  window.rxActorIndex = {cluster: cluster, markers: markers};  /* for the search control */
  return cluster;
}

/* streamlit-folium evaluates this layer's script inside a function: declarations stay local.
 * The map's controls (search) need the fiches too. */
window.rxLoadFiches = rxLoadFiches;
