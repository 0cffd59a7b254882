/* Réseaux: where a map's fiches come from, and how one is shown.
 *
 * A fiche source answers two questions, as promises:
 *   get(rows)    -> {fields, fiches}: the fiches of these directory rows, in that order;
 *   search(text) -> {rows, more}: the rows whose name, structure or address hold every word.
 * In the app the fiches stay on the server and come on demand (httpFiches: a click costs one
 * small request, under the same visibility rule as the page); a standalone export carries its
 * own fiches, compressed (blobFiches), and works from a file with no server.
 * A fiche is built of elements made here and texts put in them as text (textContent): nothing of
 * a fiche ever becomes markup, a field holding HTML shows as text. */

/* The map's fiche source (one map a page): set by useFiches, read by the pins and the search box. */
let shownFiches = null;

export function useFiches(source) {
  shownFiches = source;
}

export function ficheSource() {
  return shownFiches;
}

/* The address of a link field, or null when the value is shown as plain text: a web address
 * only in http(s), a telephone as its digits, an e-mail address behind mailto:. */
export function linkFor(kind, value) {
  if (kind === "tel") return "tel:" + value.replace(/[^0-9+]/g, "");
  if (kind === "mail") return "mailto:" + value;
  if (kind === "url" && /^https?:\/\//i.test(value)) return value;
  return null;
}

/* The fiche's element: its name as title, then « Label : value » for each value it has. */
export function renderFiche(fiche, fields, doc = document) {
  function element(tag, className, text) {
    const made = doc.createElement(tag);
    if (className) made.className = className;
    if (text !== undefined) made.textContent = text;
    return made;
  }
  const root = element("div", "rx-fiche");
  root.appendChild(element("div", "rx-fiche-title", fiche[0]));
  for (let i = 1; i < fields.length; i++) {
    const value = fiche[i];
    if (value === "" || value === null || value === undefined) continue;
    const [kind, label] = fields[i];
    if (kind === "badge") {
      root.appendChild(element("div", "rx-fiche-row rx-fiche-fictif", value));
      continue;
    }
    const row = element("div", "rx-fiche-row");
    row.appendChild(element("span", "rx-fiche-label", label + " : "));
    const href = linkFor(kind, value);
    if (href === null) {
      row.appendChild(element("span", "", value));
    } else {
      const link = element("a", "", value);
      link.href = href;
      if (kind === "url") {
        link.target = "_blank";
        link.rel = "noopener noreferrer";
      }
      row.appendChild(link);
    }
    root.appendChild(row);
  }
  return root;
}

/* The one folding of text, as reseaux.text.fold does it on the server (the same cases test both:
 * tests/data/folding_cases.json): lower case, NFKD without its marks, œ æ ß… written out, every
 * run of what is neither a letter nor a digit (apostrophes, hyphens, slashes, no-break spaces…)
 * one space, none at either end. « Sœurs » is found as « soeurs », « d’IVG » as « d'IVG ». */
/* The same as _LETTERS of reseaux/text.py (tests/test_folding.py compares them). */
const LETTERS = {"œ": "oe", "æ": "ae", "ß": "ss", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th",
                 "ı": "i", "ʼ": " ", "ʻ": " "};
const WRITTEN_OUT = new RegExp("[" + Object.keys(LETTERS).join("") + "]", "gu");

export function fold(text) {
  return String(text === null || text === undefined ? "" : text).toLowerCase().normalize("NFKD")
    .replace(/\p{Mn}/gu, "")
    .replace(WRITTEN_OUT, (c) => LETTERS[c])
    .replace(/[^\p{L}\p{N}]+/gu, " ").trim();
}
fold.letters = LETTERS;

/* gzip-compressed bytes in base64 -> ArrayBuffer (the browser's own DecompressionStream). */
export function inflate(base64) {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Response(stream).arrayBuffer();
}

/* How a search's text becomes words, as the server's search does it (reseaux.annuaire.fiche_service:
 * tests/test_folding.py compares the numbers, and both searches on the same queries): its first
 * maxQuery characters folded, each word once, none shorter than minWord letters (a one-letter word
 * finds nothing a person looks for), at most maxWords of them. */
const SEARCH_RULES = {maxQuery: 200, minWord: 2, maxWords: 6, maxFound: 20000};

export function searchWords(text) {
  const head = Array.from(String(text === null || text === undefined ? "" : text)).slice(0, SEARCH_RULES.maxQuery);
  const seen = new Set();
  return fold(head.join("")).split(" ").filter((word) => {
    if (seen.has(word)) return false;
    seen.add(word);
    return Array.from(word).length >= SEARCH_RULES.minWord;
  }).slice(0, SEARCH_RULES.maxWords);
}
searchWords.rules = SEARCH_RULES;

/* A fiche source over fiches held by the page: ``load()`` gives, once, {fields, fiches};
 * ``searchFields`` are the indexes of the values a search looks in (name, structure, address). */
export function memoryFiches(load, searchFields) {
  let loaded = null, haystack = null;
  function data() {
    if (!loaded) loaded = load();
    return loaded;
  }
  function folded(fiches) {
    /* Every fiche folded at the first search, not at every key. */
    if (!haystack) haystack = fiches.map((fiche) => fold(searchFields.map((f) => fiche[f]).join(" ")));
    return haystack;
  }
  return {
    get(rows) {
      return data().then((all) => ({fields: all.fields, fiches: rows.map((r) => all.fiches[r])}));
    },
    search(text) {
      const words = searchWords(text), most = SEARCH_RULES.maxFound;
      if (!words.length) return Promise.resolve({rows: [], more: false});
      return data().then((all) => {
        const hay = folded(all.fiches), rows = [];
        let found = 0;
        for (let r = 0; r < hay.length; r++) {
          if (!words.every((w) => hay[r].indexOf(w) >= 0)) continue;
          if (++found <= most) rows.push(r);
        }
        return {rows: rows, more: found > most};
      });
    }
  };
}

/* A standalone export's fiches: gzip-compressed JSON in base64, inflated at the first use. */
export function blobFiches(blob, searchFields) {
  return memoryFiches(() => inflate(blob).then((buffer) => JSON.parse(new TextDecoder().decode(buffer))),
                      searchFields);
}

/* The app's fiches, asked of the server: ``url`` ends with this page's token, and the server
 * answers with what the page's viewer may see. */
export function httpFiches(url) {
  const cache = {};
  let fields = null;
  function ask(path) {
    return fetch(url + path, {credentials: "same-origin", cache: "no-store"}).then((response) => {
      if (!response.ok) throw new Error(response.status === 404 ? "expirée" : "indisponible");
      return response.json();
    });
  }
  return {
    get(rows) {
      const missing = rows.filter((r) => !(r in cache));
      const ready = missing.length ? ask("/fiches?lignes=" + missing.join(",")).then((data) => {
        fields = data.fields;
        missing.forEach((r, k) => { cache[r] = data.fiches[k]; });
      }) : Promise.resolve();
      return ready.then(() => ({fields: fields, fiches: rows.map((r) => cache[r])}));
    },
    search(text) {
      return ask("/recherche?q=" + encodeURIComponent(text));
    }
  };
}

/* What a person reads when a fiche cannot come. */
export function ficheMessage(error) {
  return error && error.message === "expirée"
    ? "Fiche indisponible : la page a expiré, rechargez-la."
    : "Fiche indisponible pour l'instant.";
}
