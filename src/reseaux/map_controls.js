/* Réseaux: the map's controls in French — full screen, my position, search an actor —
 * and the focus on a chosen perimeter. Texts go through
 * textContent: a name holding HTML shows as text. */
(function () {
  if (window.rxControlsReady) return;
  window.rxControlsReady = true;
  /* Leaflet writes « Layers » on the layer control's button: say it in French. */
  var initLayout = L.Control.Layers.prototype._initLayout;
  L.Control.Layers.prototype._initLayout = function () {
    initLayout.call(this);
    var toggle = this._container.querySelector(".leaflet-control-layers-toggle");
    if (toggle) { toggle.title = "Couches affichées"; toggle.setAttribute("aria-label", "Couches affichées"); }
  };
})();

window.rxFold = function (text) {
  return String(text || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
}

window.rxNotice = function (map, text) {
  /* A short message on the map (e.g. « position refusée »), gone after a few seconds. */
  var box = L.DomUtil.create("div", "rx-notice", map.getContainer());
  box.setAttribute("role", "status");
  box.textContent = text;
  setTimeout(function () { box.remove(); }, 6000);
}

window.RX_GEO_ERRORS = {
  1: "Position refusée : autorisez la localisation dans votre navigateur pour l'utiliser.",
  2: "Position indisponible : le navigateur ne parvient pas à vous situer.",
  3: "Position introuvable à temps : réessayez."
};

window.rxMapControls = function (map, options) {
  if (options.fillFrame && document.getElementById("map_div")) {
    /* The page sizes the map's frame to the screen (CSS on the iframe): the map fills its frame. */
    map.getContainer().style.setProperty("height", "100vh", "important");
    map.invalidateSize();
    if (options.homeBounds) {
      /* The frame reaches its final height a moment later: frame the territory again then,
       * unless the person has already moved the map. */
      var touched = false;
      ["mousedown", "wheel", "touchstart", "keydown"].forEach(function (type) {
        map.getContainer().addEventListener(type, function () { touched = true; }, {once: true});
      });
      [0, 700, 2000].forEach(function (delay) {
        setTimeout(function () {
          if (touched) return;
          map.invalidateSize();
          map.fitBounds(options.homeBounds, {padding: [10, 10], animate: false});
        }, delay);
      });
    }
  }
  if (options.fullscreen && L.Control.FullScreen) {
    map.addControl(new L.Control.FullScreen({
      position: "topleft", title: "Plein écran", titleCancel: "Quitter le plein écran"
    }));
  }
  if (options.locate && L.control.locate) {
    L.control.locate({
      position: "topleft",
      flyTo: false,
      showPopup: false,
      locateOptions: {maxZoom: 15, enableHighAccuracy: true},
      strings: {title: "Me localiser", metersUnit: "mètres", feetUnit: "pieds",
                popup: "Vous êtes à moins de {distance} {unit} de ce point",
                outsideMapBoundsMsg: "Vous semblez être hors de la carte"},
      onLocationError: function (err) { rxNotice(map, window.RX_GEO_ERRORS[err.code] || "Position indisponible."); }
    }).addTo(map);
  }
  if (options.searchFields) rxSearchControl(map, options.searchFields).addTo(map);
}

window.rxSearchControl = function (map, fields) {
  /* Search the actors drawn on the map (window.rxActorIndex) in the fiche columns ``fields``
   * (name first, address last). */
  var Control = L.Control.extend({
    options: {position: "topleft"},
    onAdd: function () {
      var box = L.DomUtil.create("div", "rx-search leaflet-bar");
      var input = L.DomUtil.create("input", "", box);
      input.type = "search";
      input.placeholder = "Chercher un acteur…";
      input.setAttribute("aria-label", "Chercher un acteur sur la carte");
      var list = L.DomUtil.create("ul", "", box);
      list.setAttribute("role", "listbox");
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      var run = function () {
        list.textContent = "";
        var query = rxFold(input.value).trim();
        var index = window.rxActorIndex;
        if (query.length < 2 || !index) return;
        rxLoadFiches().then(function (data) {
          if (rxFold(input.value).trim() !== query) return;
          var words = query.split(/\s+/), found = 0;
          list.textContent = "";
          for (var i = 0; i < index.rows.length && found < 8; i++) {
            var fiche = data.fiches[index.rows[i]];
            var text = rxFold(fields.map(function (f) { return fiche[f]; }).join(" "));
            if (!words.every(function (w) { return text.indexOf(w) >= 0; })) continue;
            found++;
            var item = L.DomUtil.create("li", "", list);
            item.setAttribute("role", "option");
            item.tabIndex = 0;
            var name = L.DomUtil.create("strong", "", item);
            name.textContent = fiche[fields[0]];
            var address = fiche[fields[fields.length - 1]];
            var where = L.DomUtil.create("span", "", item);
            where.textContent = address ? " — " + address : "";
            var open = (function (actor) {
              return function () {
                list.textContent = "";
                /* After this click has ended: the map closes popups on a click that reaches it. */
                setTimeout(function () { index.show(actor); }, 0);
              };
            })(i);
            item.onclick = open;
            item.onkeydown = function (e) { if (e.key === "Enter") this.onclick(); };
          }
          if (!found) {
            var none = L.DomUtil.create("li", "rx-none", list);
            none.textContent = "Aucun acteur affiché ne correspond.";
          }
        });
      };
      input.addEventListener("input", run);
      input.addEventListener("keydown", function (e) {
        if (e.key === "Enter" && list.firstChild && list.firstChild.onclick) list.firstChild.onclick();
        if (e.key === "Escape") { input.value = ""; list.textContent = ""; }
      });
      return box;
    }
  });
  return new Control();
}

window.rxFocus = function (map, key, geojson, style) {
  /* Outline the perimeter chosen in the filters; zoom to it when the choice changes. */
  if (map.rxFocusLayer) { map.removeLayer(map.rxFocusLayer); map.rxFocusLayer = null; }
  if (!geojson) { map.rxFocusKey = null; return; }
  map.rxFocusLayer = L.geoJSON(geojson, {style: style, interactive: false}).addTo(map);
  if (map.rxFocusKey !== key) {
    map.rxFocusKey = key;
    var bounds = map.rxFocusLayer.getBounds();
    /* After the page has laid the map out: a fit computed on a map still being sized is lost. */
    setTimeout(function () { map.invalidateSize(); map.fitBounds(bounds, {padding: [30, 30], maxZoom: 15}); }, 300);
  }
}
