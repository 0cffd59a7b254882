// The fiche a pin opens (renderFiche in fiches.js): every text of a fiche is shown as text, never
// read as markup, and only http(s), mailto and tel addresses become links.
import { test } from "node:test";
import assert from "node:assert/strict";

import { linkFor, renderFiche } from "../../src/reseaux/carte/fiches.js";
import { textOnlyDocument } from "./fake_dom.mjs";

// The fields as the server describes them (reseaux.carte.actor_layer.fiche_fields): [kind, label].
const FIELDS = [["text", "Nom"], ["text", "Profession"], ["text", "Adresse"], ["tel", "Téléphone"],
                ["mail", "Courriel"], ["url", "Site web"], ["text", "Horaires"], ["badge", ""]];
const HOSTILE = '<img src=x onerror="alert(1)">';

function rows(element) {
  return element.children.slice(1).map((row) => row.children.map((part) => part.textContent));
}

test("a fiche with markup in every text field shows it as text and makes no element of it", () => {
  const doc = textOnlyDocument();
  const fiche = FIELDS.map(() => HOSTILE);
  const root = renderFiche(fiche, FIELDS, doc);
  assert.deepEqual([...new Set(doc.made.map((e) => e.tagName))].sort(), ["A", "DIV", "SPAN"]);
  assert.equal(root.children[0].textContent, HOSTILE);  // the title, as typed
  assert.deepEqual(rows(root), [
    ["Profession : ", HOSTILE], ["Adresse : ", HOSTILE], ["Téléphone : ", HOSTILE],
    ["Courriel : ", HOSTILE], ["Site web : ", HOSTILE], ["Horaires : ", HOSTILE], [],
  ]);
  assert.equal(root.children[7].textContent, HOSTILE);  // the badge's text
  const links = doc.made.filter((e) => e.tagName === "A");
  assert.deepEqual(links.map((a) => a.href), ["tel:1", "mailto:" + HOSTILE]);  // the address is not a link
});

test("a fiche shows the values it has, in order, with their labels and links", () => {
  const doc = textOnlyDocument();
  const fiche = ["Centre Santé Élan", "Sage-femme", "", "02 35 00 00 00", "accueil@example.org",
                 "https://example.org/élan", "", "Fiche fictive (données de démonstration)"];
  const root = renderFiche(fiche, FIELDS, doc);
  assert.equal(root.className, "rx-fiche");
  assert.equal(root.children[0].textContent, "Centre Santé Élan");
  assert.deepEqual(rows(root), [["Profession : ", "Sage-femme"], ["Téléphone : ", "02 35 00 00 00"],
                                ["Courriel : ", "accueil@example.org"], ["Site web : ", "https://example.org/élan"], []]);
  const links = doc.made.filter((e) => e.tagName === "A");
  assert.deepEqual(links.map((a) => [a.href, a.target ?? null, a.rel ?? null]), [
    ["tel:0235000000", null, null], ["mailto:accueil@example.org", null, null],
    ["https://example.org/élan", "_blank", "noopener noreferrer"],
  ]);
  assert.equal(root.children.at(-1).className, "rx-fiche-row rx-fiche-fictif");
});

test("a web address is a link only in http or https", () => {
  assert.equal(linkFor("url", "https://example.org"), "https://example.org");
  assert.equal(linkFor("url", "HTTP://example.org"), "HTTP://example.org");
  for (const value of ["javascript:alert(1)", " javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,<b>x</b>",
                       "vbscript:x", "//example.org", "www.example.org", "ftp://example.org"]) {
    assert.equal(linkFor("url", value), null, value);
  }
});

test("a telephone link holds only digits and +, an e-mail link is always mailto:", () => {
  assert.equal(linkFor("tel", "+33 (0)2 35 00 00 00"), "tel:+330235000000");
  assert.equal(linkFor("tel", "javascript:alert(1)"), "tel:1");
  assert.equal(linkFor("mail", "javascript:alert(1)"), "mailto:javascript:alert(1)");
  assert.equal(linkFor("text", "https://example.org"), null);
  assert.equal(linkFor("badge", "https://example.org"), null);
});
