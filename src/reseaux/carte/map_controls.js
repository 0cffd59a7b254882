/* Réseaux: the map's controls in French — full screen, my position, search an actor — and the
 * focus on a chosen perimeter. Texts go through textContent: a name holding HTML shows as text. */
import {ficheMessage, ficheSource, searchWords} from "./fiches.js";
import {actorIndex} from "./actors_layer.js";

/* Every text the controls write, and those they give the plugins in place of their English. */
export const LABELS = {
  layers: "Couches affichées",
  fullscreen: {title: "Plein écran", titleCancel: "Quitter le plein écran"},
  locate: {title: "Me localiser", metersUnit: "mètres", feetUnit: "pieds",
           popup: "Vous êtes à moins de {distance} {unit} de ce point",
           outsideMapBoundsMsg: "Vous semblez être hors de la carte"},
  search: {placeholder: "Chercher un acteur…", label: "Chercher un acteur sur la carte", list: "Acteurs trouvés",
           tooMany: "Trop d'acteurs correspondent : précisez la recherche.",
           none: "Aucun acteur affiché ne correspond."},
  places: {label: "Aller à un territoire", first: "Aller à…"}
};

/* Why the browser gave no position (its GeolocationPositionError code), for a person. */
const GEO_ERRORS = {
  1: "Position refusée : autorisez la localisation dans votre navigateur pour l'utiliser.",
  2: "Position indisponible : le navigateur ne parvient pas à vous situer.",
  3: "Position introuvable à temps : réessayez."
};

export function geoErrorMessage(code) {
  return GEO_ERRORS[code] || "Position indisponible.";
}

/* Leaflet writes « Layers » on the layer control's button: say it in French, on the buttons
 * already drawn in ``doc`` and on those drawn later (the prototype is changed once a page). */
let layersInFrench = false;

export function frenchLayersButton(doc = document) {
  function french(toggle) {
    toggle.title = LABELS.layers;
    toggle.setAttribute("aria-label", LABELS.layers);
  }
  doc.querySelectorAll(".leaflet-control-layers-toggle").forEach(french);
  if (layersInFrench) return;
  layersInFrench = true;
  const initLayout = L.Control.Layers.prototype._initLayout;
  L.Control.Layers.prototype._initLayout = function () {
    initLayout.call(this);
    const toggle = this._container.querySelector(".leaflet-control-layers-toggle");
    if (toggle) french(toggle);
  };
}

export function notice(map, text) {
  /* A short message on the map (e.g. « position refusée »), gone after a few seconds. */
  var box = L.DomUtil.create("div", "rx-notice", map.getContainer());
  box.setAttribute("role", "status");
  box.textContent = text;
  setTimeout(function () { box.remove(); }, 6000);
}

export function mapControls(map, options) {
  if (options.fillFrame && document.getElementById("map_div")) {
    /* The page sizes the map's frame to the screen (CSS on the iframe): the map fills its frame. */
    map.getContainer().style.setProperty("height", "100vh", "important");
    map.invalidateSize();
    if (options.homeBounds) {
      /* The frame reaches its final height a moment later: frame the territory again then,
       * unless the person has already moved the map. */
      var touched = false;
      ["mousedown", "wheel", "touchstart", "keydown", "change"].forEach(function (type) {
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
      position: "topleft", title: LABELS.fullscreen.title, titleCancel: LABELS.fullscreen.titleCancel
    }));
  }
  if (options.locate && L.control.locate) {
    L.control.locate({
      position: "topleft",
      flyTo: false,
      showPopup: false,
      locateOptions: {maxZoom: 15, enableHighAccuracy: true},
      strings: LABELS.locate,
      onLocationError: function (err) { notice(map, geoErrorMessage(err.code)); }
    }).addTo(map);
  }
  if (options.places && options.places.length > 1) placesControl(options.places).addTo(map);
  if (options.search) {
    var search = searchControl().addTo(map);
    /* The search box first in its corner: the first control a Tab reaches in the map. */
    var corner = search.getContainer().parentNode;
    corner.insertBefore(search.getContainer(), corner.firstChild);
    popupsClearOf(map, search.getContainer());
  }
  /* The controls before the actors in the page's order: Tab reaches the search box and the zoom
   * at once, then the pins (drawn above or below as before: the panes keep their z-index). */
  var container = map.getContainer();
  container.insertBefore(map._controlContainer, container.firstChild);
}

export function placesControl(places) {
  /* « Aller à… »: a list of the territories that hold actors (mainland France, each overseas
   * one), the map framing the chosen one's actors. Names go through textContent. */
  var control = L.control({position: "topright"});
  control.onAdd = function (map) {
    var box = L.DomUtil.create("div", "leaflet-bar rx-places");
    var select = L.DomUtil.create("select", "", box);
    select.setAttribute("aria-label", LABELS.places.label);
    select.title = LABELS.places.label;
    [{name: LABELS.places.first}].concat(places).forEach(function (place, i) {
      var option = document.createElement("option");
      option.value = i ? String(i - 1) : "";
      option.textContent = place.name;
      select.appendChild(option);
    });
    select.addEventListener("change", function () {
      var place = places[Number(select.value)];
      if (select.value !== "" && place) map.fitBounds(place.bounds, {padding: [30, 30], maxZoom: 13, animate: false});
    });
    L.DomEvent.disableClickPropagation(box);
    L.DomEvent.disableScrollPropagation(box);
    return box;
  };
  return control;
}

export function popupsClearOf(map, box) {
  /* An open fiche is never under ``box`` (the search box): a popup is panned into view below
   * it, and sized to the map (narrower than a phone's map, scrolled inside when taller than the
   * room under the box). Leaflet reads these options at each layout and pan (the fiche comes a
   * moment after the popup opens, and both are done again then). */
  function fit(popup) {
    var size = popup._map.getSize();
    var under = box.getBoundingClientRect().bottom - popup._map.getContainer().getBoundingClientRect().top;
    under = Math.max(5, Math.round(under) + 8);
    popup.options.autoPanPaddingTopLeft = [5, under];
    popup.options.maxWidth = Math.min(340, size.x - 90);  /* the content, without its 44 px of margins */
    popup.options.maxHeight = Math.max(120, size.y - under - 40);
  }
  map.on("popupopen", function (event) {
    var popup = event.popup, adjust = popup._adjustPan;
    if (!popup.rxClear) {
      popup.rxClear = true;
      popup._adjustPan = function () {
        if (this._map) fit(this);
        return adjust.apply(this, arguments);
      };
    }
    /* On a narrow map (a phone) the zoom buttons, the layers' button and the legend would lie
     * over the fiche's edges: they step aside while it is open; the search box and the credits stay. */
    map.getContainer().classList.toggle("rx-narrow-fiche", map.getSize().x < 600);
    fit(popup);
    popup.update();
  });
  map.on("popupclose", function () { map.getContainer().classList.remove("rx-narrow-fiche"); });
}

export function searchControl() {
  /* Search the actors drawn on the map by name, structure or address: the fiche source
   * (fiches.js) finds the rows, the actors' layer (actorIndex) keeps those it draws. */
  var Control = L.Control.extend({
    options: {position: "topleft"},
    onAdd: function () {
      var box = L.DomUtil.create("div", "rx-search leaflet-bar");
      var input = L.DomUtil.create("input", "", box);
      input.type = "search";
      input.placeholder = LABELS.search.placeholder;
      input.setAttribute("aria-label", LABELS.search.label);
      var list = L.DomUtil.create("ul", "", box);
      list.setAttribute("role", "listbox");
      list.setAttribute("aria-label", LABELS.search.list);
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      var asked = 0;
      function say(text) {
        var line = L.DomUtil.create("li", "rx-none", list);
        line.textContent = text;
      }
      var run = function () {
        list.textContent = "";
        var query = input.value.trim(), ticket = ++asked;
        var index = actorIndex(), source = ficheSource();
        if (!searchWords(query).length || !index || !source) return;
        index.ready.then(function () { return source.search(query); }).then(function (found) {
          var drawn = [];
          for (var k = 0; k < found.rows.length && drawn.length < 8; k++) {
            var i = index.find(found.rows[k]);
            if (i >= 0) drawn.push([i, found.rows[k]]);
          }
          if (!drawn.length) return {drawn: drawn, more: found.more};
          return source.get(drawn.map(function (d) { return d[1]; })).then(function (data) {
            return {drawn: drawn, more: found.more, data: data};
          });
        }).then(function (answer) {
          if (ticket !== asked) return;  /* the person has typed on */
          list.textContent = "";
          if (!answer.drawn.length) {
            say(answer.more ? LABELS.search.tooMany : LABELS.search.none);
            return;
          }
          answer.drawn.forEach(function (d, k) {
            var fiche = answer.data.fiches[k], fields = answer.data.fields;
            var item = L.DomUtil.create("li", "", list);
            item.setAttribute("role", "option");
            item.tabIndex = 0;
            var name = L.DomUtil.create("strong", "", item);
            name.textContent = fiche[0];
            var address = fiche[fields.findIndex(function (f) { return f[1] === "Adresse"; })];
            var where = L.DomUtil.create("span", "", item);
            where.textContent = address ? " — " + address : "";
            item.onclick = function () {
              list.textContent = "";
              /* After this click has ended: the map closes popups on a click that reaches it. */
              setTimeout(function () { index.show(d[0]); }, 0);
            };
            item.onkeydown = function (e) {
              if (e.key !== "Enter") return;
              input.focus();  /* the list goes: the focus stays in the box, then goes to the fiche */
              this.onclick();
            };
          });
        }, function (error) {
          if (ticket !== asked) return;
          list.textContent = "";
          say(ficheMessage(error));
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

export function focusPerimeter(map, key, geojson, style) {
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
