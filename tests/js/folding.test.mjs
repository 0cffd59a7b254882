// The map's folding (fold in src/reseaux/carte/fiches.js) on the cases the server's folding
// (reseaux.text.fold) is tested on: tests/data/folding_cases.json; and the standalone map's own
// search, which takes words as the server does. Run with `node --test tests/js/` (as
// tests/test_javascript.py does, so `make test` does).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

import { blobFiches, fold, memoryFiches, searchWords } from "../../src/reseaux/carte/fiches.js";

const root = new URL("../../", import.meta.url);
const { cases } = JSON.parse(readFileSync(new URL("tests/data/folding_cases.json", root), "utf-8"));

// What a standalone export carries: its fiches as gzip-compressed JSON in base64.
const blobOf = (data) => gzipSync(Buffer.from(JSON.stringify(data))).toString("base64");

test("fold folds every case of the table as the server does", () => {
  const show = JSON.stringify;
  const wrong = cases.filter(([input, folded]) => fold(input) !== folded)
    .map(([input, folded]) => `${show(input)} gives ${show(fold(input))}, not ${show(folded)}`);
  assert.deepEqual(wrong, []);
});

test("fold reads nothing as an empty text", () => {
  assert.equal(fold(null), "");
  assert.equal(fold(undefined), "");
  assert.equal(fold(12), "12");
});

test("a standalone map's search finds « Sœurs », « d’IVG », « Sage femme » as people type them", async () => {
  const fiches = [["Centre des Sœurs", "Consultation d’IVG"], ["Cabinet", "Sage femme"], ["Autre", "IST/VIH"]];
  const source = blobFiches(blobOf({ fields: [], fiches }), [0, 1]);
  const found = async (text) => (await source.search(text)).rows;
  assert.deepEqual(await found("soeurs"), [0]);
  assert.deepEqual(await found("d'IVG"), [0]);
  assert.deepEqual(await found("sage-femme"), [1]);
  assert.deepEqual(await found("ist vih"), [2]);
  assert.deepEqual(await source.get([2, 0]), { fields: [], fiches: [fiches[2], fiches[0]] });
});

test("a search's words are taken as the server takes them", () => {
  assert.deepEqual(searchWords("a  Sœurs soeurs SOEURS d’IVG"), ["soeurs", "ivg"]);  // one-letter words out, each once
  assert.deepEqual(searchWords("un deux trois quatre cinq six sept"), ["un", "deux", "trois", "quatre", "cinq", "six"]);
  assert.deepEqual(searchWords("x"), []);
  assert.deepEqual(searchWords(null), []);
  assert.deepEqual(searchWords("ab".repeat(100) + " zz"), ["ab".repeat(100)]);  // its first 200 characters
});

test("a standalone map reads its fiches once, not at every key typed", async () => {
  let reads = 0;
  const counted = (fiche) => new Proxy(fiche, {
    get(target, key) { if (/^\d+$/.test(String(key))) reads += 1; return target[key]; },
  });
  const fiches = [["Centre des Sœurs", "Consultation d’IVG"], ["Cabinet", "Sage femme"], ["Autre", "IST/VIH"]];
  const source = memoryFiches(() => Promise.resolve({ fields: [], fiches: fiches.map(counted) }), [0, 1]);
  const found = async (text) => (await source.search(text)).rows;
  assert.deepEqual(await found("so"), [0]);
  assert.equal(reads, 6);  // two values of each of the three fiches, folded once
  assert.deepEqual(await found("soe"), [0]);
  assert.deepEqual(await found("soeu"), [0]);
  assert.deepEqual(await found("sage femme x"), [1]);  // « x » is no word, as on the server
  assert.deepEqual(await found("e"), []);
  assert.equal(reads, 6);
});
