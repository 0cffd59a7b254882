/* Réseaux: where a map's fiches come from, and how one is shown.
 *
 * window.rxFicheSource answers two questions, as promises:
 *   get(rows)    -> {fields, fiches}: the fiches of these directory rows, in that order;
 *   search(text) -> {rows, more}: the rows whose name, structure or address hold every word.
 * In the app the fiches stay on the server and come on demand (rxHttpFiches: a click costs one
 * small request, under the same visibility rule as the page); a standalone export carries its
 * own fiches, compressed (rxBlobFiches), and works from a file with no server.
 * Every text goes through textContent, so a field holding HTML shows as text.
 * (streamlit-folium evaluates a map's script inside a function: what others use is on window.) */

window.rxFiche = function (fiche, fields) {
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
};

/* The one folding of text, as reseaux.text.fold does it on the server (the same cases test both:
 * tests/data/folding_cases.json): lower case, NFKD without its marks, œ æ ß… written out, every
 * run of what is neither a letter nor a digit (apostrophes, hyphens, slashes, no-break spaces…)
 * one space, none at either end. « Sœurs » is found as « soeurs », « d’IVG » as « d'IVG ». */
window.rxFold = (function () {
  /* The same as _LETTERS of reseaux/text.py (tests/test_folding.py compares them). */
  var letters = {"œ": "oe", "æ": "ae", "ß": "ss", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th",
                 "ı": "i", "ʼ": " ", "ʻ": " "};
  var written = new RegExp("[" + Object.keys(letters).join("") + "]", "gu");
  function rxFold(text) {
    return String(text === null || text === undefined ? "" : text).toLowerCase().normalize("NFKD")
      .replace(/\p{Mn}/gu, "")
      .replace(written, function (c) { return letters[c]; })
      .replace(/[^\p{L}\p{N}]+/gu, " ").trim();
  }
  rxFold.letters = letters;
  return rxFold;
})();

window.rxInflate = function (base64) {
  /* gzip-compressed bytes in base64 -> ArrayBuffer (the browser's own DecompressionStream). */
  var binary = atob(base64);
  var bytes = new Uint8Array(binary.length);
  for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Response(stream).arrayBuffer();
};

/* How a search's text becomes words, as the server's search does it (reseaux.fiche_service:
 * tests/test_folding.py compares the numbers, and both searches on the same queries): its first
 * maxQuery characters folded, each word once, none shorter than minWord letters (a one-letter word
 * finds nothing a person looks for), at most maxWords of them. */
window.rxSearchWords = (function () {
  var rules = {maxQuery: 200, minWord: 2, maxWords: 6, maxFound: 20000};
  function rxSearchWords(text) {
    var head = Array.from(String(text === null || text === undefined ? "" : text)).slice(0, rules.maxQuery);
    var seen = new Set();
    return rxFold(head.join("")).split(" ").filter(function (word) {
      if (seen.has(word)) return false;
      seen.add(word);
      return Array.from(word).length >= rules.minWord;
    }).slice(0, rules.maxWords);
  }
  rxSearchWords.rules = rules;
  return rxSearchWords;
})();

window.rxBlobFiches = function (blob, searchFields) {
  var loaded = null, haystack = null;
  function load() {
    if (!loaded) {
      loaded = rxInflate(blob).then(function (buffer) {
        return JSON.parse(new TextDecoder().decode(buffer));
      });
    }
    return loaded;
  }
  function folded(fiches) {
    /* Name, structure and address of every fiche, folded at the first search, not at every key. */
    if (!haystack) {
      haystack = fiches.map(function (fiche) {
        return rxFold(searchFields.map(function (f) { return fiche[f]; }).join(" "));
      });
    }
    return haystack;
  }
  return {
    get: function (rows) {
      return load().then(function (data) {
        return {fields: data.fields, fiches: rows.map(function (r) { return data.fiches[r]; })};
      });
    },
    search: function (text) {
      var words = rxSearchWords(text), most = rxSearchWords.rules.maxFound;
      if (!words.length) return Promise.resolve({rows: [], more: false});
      return load().then(function (data) {
        var hay = folded(data.fiches), rows = [], found = 0;
        for (var r = 0; r < hay.length; r++) {
          if (!words.every(function (w) { return hay[r].indexOf(w) >= 0; })) continue;
          if (++found <= most) rows.push(r);
        }
        return {rows: rows, more: found > most};
      });
    }
  };
};

window.rxHttpFiches = function (url) {
  /* ``url`` ends with this page's token: the server answers with what the page's viewer may see. */
  var cache = {}, fields = null;
  function ask(path) {
    return fetch(url + path, {credentials: "same-origin", cache: "no-store"}).then(function (response) {
      if (!response.ok) throw new Error(response.status === 404 ? "expirée" : "indisponible");
      return response.json();
    });
  }
  return {
    get: function (rows) {
      var missing = rows.filter(function (r) { return !(r in cache); });
      var ready = missing.length ? ask("/fiches?lignes=" + missing.join(",")).then(function (data) {
        fields = data.fields;
        missing.forEach(function (r, k) { cache[r] = data.fiches[k]; });
      }) : Promise.resolve();
      return ready.then(function () {
        return {fields: fields, fiches: rows.map(function (r) { return cache[r]; })};
      });
    },
    search: function (text) {
      return ask("/recherche?q=" + encodeURIComponent(text));
    }
  };
};

window.rxFicheMessage = function (error) {
  return error && error.message === "expirée"
    ? "Fiche indisponible : la page a expiré, rechargez-la."
    : "Fiche indisponible pour l'instant.";
};
