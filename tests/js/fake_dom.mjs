// A document that can only be built element by element: createElement and textContent, and
// nothing that reads markup (innerHTML, outerHTML, insertAdjacentHTML… throw). Code that renders
// with it cannot have turned a text into elements: every element made is recorded by its tag.
export function textOnlyDocument() {
  const made = [];
  const refuse = (what) => () => { throw new Error(`${what}: markup is never written`); };
  class Element {
    constructor(tag) {
      this.tagName = tag.toUpperCase();
      this.children = [];
      this.className = "";
      this.ownText = "";
      made.push(this);
    }
    appendChild(child) {
      this.children.push(child);
      return child;
    }
    set textContent(value) {
      this.children = [];
      this.ownText = String(value);
    }
    get textContent() {
      return this.ownText + this.children.map((c) => c.textContent).join("");
    }
  }
  for (const name of ["innerHTML", "outerHTML"]) {
    Object.defineProperty(Element.prototype, name, {get: refuse(name), set: refuse(name)});
  }
  for (const name of ["insertAdjacentHTML", "setHTMLUnsafe", "append", "prepend", "replaceChildren"]) {
    Element.prototype[name] = refuse(name);
  }
  return {
    made,
    createElement: (tag) => new Element(tag),
    write: refuse("write"),
    createRange: refuse("createRange"),
  };
}
