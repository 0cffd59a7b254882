// Streamlit's English in French (translator in streamlit_fr.js) with the table the server sends
// (src/reseaux/serveur/streamlit_fr.json): whole values only, sizes the French way.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

import { translator } from "../../src/reseaux/serveur/streamlit_fr.js";

const table = JSON.parse(readFileSync(new URL("../../src/reseaux/serveur/streamlit_fr.json", import.meta.url), "utf-8"));
const translate = translator(table);

test("a whole value the table knows is said in French, its spaces kept", () => {
  assert.equal(translate("Skip to main content"), "Aller au contenu principal");
  assert.equal(translate("  Collapse sidebar\n"), "  Replier le menu latéral\n");
});

test("a value the table's patterns know keeps its own words, and sizes are written the French way", () => {
  assert.equal(translate("Help for Upload"), "Aide : Upload");
  assert.equal(translate("Remove Clear all"), "Retirer « Clear all »");
  assert.equal(translate("10MB per file"), "10\u00a0Mo par fichier");
  assert.equal(translate("1.5KB"), "1,5\u00a0ko");
  assert.equal(translate("Search, 6.0B"), "Search, 6\u00a0o");
});

test("a value the table does not know, or only a part of, is left alone", () => {
  assert.equal(translate("Centre Santé Élan"), null);
  assert.equal(translate("Skip to main content now"), null);
  assert.equal(translate("   "), null);
});
