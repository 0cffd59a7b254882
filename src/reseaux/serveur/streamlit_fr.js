// Streamlit's own English in French (see reseaux.serveur.streamlit_fr): the texts and the aria-label,
// title and placeholder values Streamlit writes in its widgets are replaced, as they appear, by
// the French of a fixed table (streamlit_fr.json). Only a whole value found in the table changes;
// what people typed or the app wrote (Markdown, options, tables, fields) is never looked at.
// A module: the server sends it with one more line, which starts it on Streamlit's page with the
// table (`startTranslating(document, table)`, see reseaux.serveur.streamlit_fr.script_text).

const ATTRIBUTES = ["aria-label", "title", "placeholder"];
// Where the words are people's or the app's own, not Streamlit's: never translated. The
// attributes of a chip of a multiselect are Streamlit's (« Remove X »), its text is a choice.
const APP = "[data-testid='stMarkdownContainer'], [data-testid='stCode'], [data-testid='stJson'], "
  + "[data-testid='stTable'], [data-testid='stText'], [role='option'], [role='grid'], [contenteditable='true']";
const APP_TEXT = APP + ", [data-baseweb='tag'], textarea, script, style";
// Streamlit's own controls that sit in such a container: the uploader's button (its label is
// Markdown), a heading's anchor (people's words reach Markdown escaped: never a link), a code
// block's copy button.
const OWN = "[data-testid='stFileUploaderDropzone'] button, :is(h1, h2, h3, h4, h5, h6) a[href^='#'], "
  + "[data-testid='stCode'] button";
const UNITS = { B: "o", KB: "ko", MB: "Mo", GB: "Go" };
const SIZE = /(\d+(?:\.\d+)?)\s?(B|KB|MB|GB)\b/g;

// « 6.0B » → « 6 o », « 1.5KB » → « 1,5 ko » (no useless « ,0 »).
function frenchSize(_all, number, unit) {
  return number.replace(/\.0+$/, "").replace(".", ",") + "\u00a0" + UNITS[unit];
}

// The function that gives the French of a whole value by ``table`` ({exact, patterns}), or null
// when the table does not know it.
export function translator(table) {
  const exact = new Map(Object.entries(table.exact));
  const patterns = table.patterns.map(([source, replacement]) => [new RegExp(source), replacement]);
  return function translate(value) {
    const text = value.trim();
    if (!text) return null;
    let french = exact.get(text);
    if (french === undefined) {
      const found = patterns.find(([pattern]) => pattern.test(text));
      if (!found) return null;
      french = text.replace(found[0], found[1]).replace(SIZE, frenchSize);
    }
    return french === text ? null : value.replace(text, french);
  };
}

// Translates ``document`` now and what is added to it or changed later.
export function startTranslating(document, table) {
  const translate = translator(table);

  function translateText(node) {
    const parent = node.parentElement;
    if (!parent || (parent.closest(APP_TEXT) !== null && parent.closest(OWN) === null)) return;
    const french = translate(node.nodeValue);
    if (french !== null) node.nodeValue = french;
  }

  function translateAttributes(element) {
    if (element.closest(APP) !== null && element.closest(OWN) === null) return;
    for (const name of ATTRIBUTES) {
      const value = element.getAttribute(name);
      if (value === null) continue;
      const french = translate(value);
      if (french !== null) element.setAttribute(name, french);
    }
  }

  function translateTree(node) {
    if (node.nodeType === 3) { translateText(node); return; }
    if (node.nodeType !== 1) return;
    translateAttributes(node);
    node.querySelectorAll("[aria-label], [title], [placeholder]").forEach(translateAttributes);
    const walker = node.ownerDocument.createTreeWalker(node, 4 /* NodeFilter.SHOW_TEXT */);
    while (walker.nextNode()) translateText(walker.currentNode);
  }

  function start() {
    document.documentElement.lang = "fr";
    translateTree(document.body);
    new MutationObserver((mutations) => {
      for (const m of mutations) {
        if (m.type === "childList") m.addedNodes.forEach(translateTree);
        else if (m.type === "characterData") translateText(m.target);
        else if (m.type === "attributes") translateAttributes(m.target);
      }
    }).observe(document.body, { subtree: true, childList: true, characterData: true,
                                 attributes: true, attributeFilter: ATTRIBUTES });
  }

  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
}
