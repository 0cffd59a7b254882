// The map's folding (rxFold in src/reseaux/fiches.js) on the cases the server's folding
// (reseaux.text.fold) is tested on: tests/data/folding_cases.json. Run with `node --test tests/js/`
// (tests/test_folding.py runs it, so `make test` does).
// fiches.js is a classic script that streamlit-folium evaluates inside a function, assigning what
// others use to window: it runs here in a context whose window is that context itself.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import vm from "node:vm";

const root = new URL("../../", import.meta.url);
const read = (path) => readFileSync(new URL(path, root), "utf-8");

function loadFiches() {
  const context = vm.createContext({});
  context.window = context;
  vm.runInContext(read("src/reseaux/fiches.js"), context, { filename: "fiches.js" });
  return context;
}

const { cases } = JSON.parse(read("tests/data/folding_cases.json"));
const { rxFold, rxBlobFiches } = loadFiches();

test("rxFold folds every case of the table as the server does", () => {
  const show = JSON.stringify;
  const wrong = cases.filter(([input, folded]) => rxFold(input) !== folded)
    .map(([input, folded]) => `${show(input)} gives ${show(rxFold(input))}, not ${show(folded)}`);
  assert.deepEqual(wrong, []);
});

test("rxFold reads nothing as an empty text", () => {
  assert.equal(rxFold(null), "");
  assert.equal(rxFold(undefined), "");
  assert.equal(rxFold(12), "12");
});

test("a standalone map's search finds « Sœurs », « d’IVG », « Sage femme » as people type them", async () => {
  // rxBlobFiches's own search, without the gzip step: load() is what rxInflate would give.
  const fiches = [["Centre des Sœurs", "Consultation d’IVG"], ["Cabinet", "Sage femme"], ["Autre", "IST/VIH"]];
  const context = loadFiches();
  context.rxInflate = async () => new TextEncoder().encode(JSON.stringify({ fields: [], fiches }));
  context.TextDecoder = TextDecoder;
  const source = context.rxBlobFiches("", [0, 1]);
  const found = async (text) => Array.from((await source.search(text)).rows);  // from the context's realm
  assert.deepEqual(await found("soeurs"), [0]);
  assert.deepEqual(await found("d'IVG"), [0]);
  assert.deepEqual(await found("sage-femme"), [1]);
  assert.deepEqual(await found("ist vih"), [2]);
});

test("a search's words are taken as the server takes them", () => {
  const { rxSearchWords } = loadFiches();
  const words = (text) => Array.from(rxSearchWords(text));
  assert.deepEqual(words("a  Sœurs soeurs SOEURS d’IVG"), ["soeurs", "ivg"]);  // one-letter words out, each once
  assert.deepEqual(words("un deux trois quatre cinq six sept"), ["un", "deux", "trois", "quatre", "cinq", "six"]);
  assert.deepEqual(words("x"), []);
  assert.deepEqual(words(null), []);
  assert.deepEqual(words("ab".repeat(100) + " zz"), ["ab".repeat(100)]);  // its first 200 characters
});

test("a standalone map folds its fiches once, not at every key typed", async () => {
  const fiches = [["Centre des Sœurs", "Consultation d’IVG"], ["Cabinet", "Sage femme"], ["Autre", "IST/VIH"]];
  const context = loadFiches();
  context.rxInflate = async () => new TextEncoder().encode(JSON.stringify({ fields: [], fiches }));
  context.TextDecoder = TextDecoder;
  const fold = context.rxFold;
  let calls = 0;
  context.rxFold = (text) => { calls += 1; return fold(text); };
  const source = context.rxBlobFiches("", [0, 1]);
  const found = async (text) => Array.from((await source.search(text)).rows);
  assert.deepEqual(await found("so"), [0]);
  const first = calls;
  assert.deepEqual(await found("soe"), [0]);
  assert.deepEqual(await found("soeu"), [0]);
  assert.equal(calls - first, 2);  // the two texts typed, no fiche
  assert.deepEqual(await found("sage femme x"), [1]);  // « x » is no word, as on the server
  assert.deepEqual(await found("e"), []);
});
