"""The crawler: every role opens every page it is offered and clicks every control it can reach.

For each role — visiteur (not signed in), membre, coordinateur, administrateur — in headless
Chromium against the app served on copies of the data (``browser.data_folder``), the crawler
opens each page of the sidebar navigation and clicks, one after the other, every control it
finds there: buttons, form buttons, tabs, expanders, checkboxes and toggles, each option of a
radio, selectboxes and multiselects (opened, an option chosen), sliders (a key press), download
buttons (the file must arrive, not empty), file uploaders (a small spreadsheet is given), the
first row of each table (which selects it where the table is selectable), the boxes of the
map's layer control and a click at the centre of each map. Controls revealed by a click (a
fiche's form, an import's mapping) are used before the others. After each click it waits for
the app to settle and records any failure a person would see (see ``browser.page_errors``),
naming role, page and control, with the exception the server logged. At the end it fails on
every failure not in :data:`KNOWN_BROKEN`, and on any file that a visitor's or a member's
clicks changed.

Bounds, so that the run stays within about six minutes on two cores:

- controls are de-duplicated per page by kind and label, and widgets made in a loop by the
  stem of their key (a selectbox per imported column: one of them);
- at most :data:`MAX_CLICKS` clicks per page and :data:`MAX_LAYER_BOXES` boxes per layer
  control; only the first row of a table;
- the sign-in box, the same on every page, is used on the first page only;
- a control a less trusted role already used on the same page is not used again by the next
  roles (every role still opens every page it is offered); ``RESEAUX_CRAWL_FULL=1`` lifts this.

Not clicked, on purpose: « Se déconnecter » (it would end the role's run; it is clicked once
the role has seen every page, and must lead back to the sign-in form), « Se connecter avec le
compte de mon organisation » (leaves for the identity provider), the « Upload » button inside
a file uploader (it opens the system's file picker: a file is given to the uploader instead),
the toolbars Streamlit adds to tables and its own menu, links (they leave the page or the app),
and text fields (nothing is typed).
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field

import pytest

from tests import browser
from tests.conftest import DATA, SCREENSHOTS

pytestmark = pytest.mark.browser

ROLES = ("visiteur", "membre", "coordinateur", "administrateur")
MAX_CLICKS = 50
MAX_LAYER_BOXES = 6
#: Controls never clicked during a page's run (see the module's docstring).
SKIPPED = {("button", "Se déconnecter"), ("button", "Se connecter avec le compte de mon organisation")}
#: The sign-in box is the same on every page (app.py draws it): used on the first page only.
EVERY_PAGE = {("expander", "Se connecter (membres du réseau)"), ("button", "Se connecter")}
#: RESEAUX_CRAWL_FULL=1: every role clicks everything, even what a less trusted role clicked.
FULL = os.environ.get("RESEAUX_CRAWL_FULL") == "1"
#: TEMPORARY — failures already known in pages being mended elsewhere, as (page, control) with
#: « * » for any control. The lead empties this list as the fixes are merged; a known failure
#: that no longer happens is printed, so that its entry can go.
KNOWN_BROKEN: set[tuple[str, str]] = set()  # (page, control) of a known defect, while it is mended
UPLOAD = DATA / "actors_small.csv"

# Every reachable control of the page, in the order of the page, as {kind, label}; the n-th
# call with the same (kind, label) pair marks the element with data-rx-target.
_CONTROLS = r"""([markKind, markLabel]) => {
  const visible = (el) => el && !el.closest("[inert]") && el.getClientRects().length > 0
    && getComputedStyle(el).visibility !== "hidden";
  const text = (el) => {  // what a person reads, without the names of Material icons
    if (!el) return "";
    const copy = el.cloneNode(true);
    copy.querySelectorAll("[data-testid='stIconMaterial']").forEach(i => i.remove());
    return (copy.textContent.trim() || el.getAttribute("aria-label") || "").replace(/\s+/g, " ");
  };
  const labelOf = (widget) => text(widget.querySelector("[data-testid='stWidgetLabel']"));
  const found = [];
  // Widgets made in a loop (a selectbox per imported column, « ↑ » per scene) share the stem
  // of their key (« ann_map_3 » → « ann_map_# »): one of them stands for all.
  const stem = (el) => {
    const box = el.closest("[class*='st-key-']");
    const key = box && [...box.classList].find(c => c.startsWith("st-key-"));
    return key ? key.slice(7).replace(/\d+/g, "#") : null;
  };
  const add = (kind, label, el, disabled, open) => {
    if (!visible(el)) return;
    const key = stem(el);
    const id = kind + "|" + (key && kind !== "radio" ? key : label);
    found.push({kind, label, id, disabled: !!disabled, open: !!open, el});
  };
  const root = document.querySelector("[data-testid='stApp']");
  for (const el of root.querySelectorAll("*")) {
    const id = el.getAttribute("data-testid");
    if (!id) continue;
    if (id === "stButton" || id === "stFormSubmitButton" || id === "stPopover") {
      const b = el.querySelector("button"); if (b) add("button", text(b), b, b.disabled);
    } else if (id === "stButtonGroup") {
      el.querySelectorAll("button").forEach(b => add("button", labelOf(el) + " : " + text(b), b, b.disabled));
    } else if (id === "stDownloadButton") {
      const b = el.querySelector("button"); if (b) add("download", text(b), b, b.disabled);
    } else if (id === "stTab") {
      add("tab", text(el), el, el.getAttribute("aria-disabled") === "true");
    } else if (id === "stExpander") {
      const s = el.querySelector("summary");
      if (s) add("expander", text(s), s, false, s.parentElement.open);
    } else if (id === "stCheckbox") {
      const input = el.querySelector("input");
      add("checkbox", text(el.querySelector("label")), el.querySelector("label"), input && input.disabled);
    } else if (id === "stRadio") {
      el.querySelectorAll("[role='radiogroup'] label").forEach(o => {
        const input = o.querySelector("input");
        if (!(input && input.checked)) add("radio", labelOf(el) + " : " + text(o), o, input && input.disabled);
      });
    } else if (id === "stSelectbox" || id === "stMultiSelect") {
      const box = el.querySelector("[data-baseweb='select']") || el.querySelector("input");
      const input = el.querySelector("input");
      add(id === "stSelectbox" ? "selectbox" : "multiselect", labelOf(el), box, input && input.disabled);
    } else if (id === "stSlider") {
      const thumb = el.querySelector("[role='slider']"); add("slider", labelOf(el), thumb, !thumb);
    } else if (id === "stFileUploader") {
      add("uploader", labelOf(el), el.querySelector("[data-testid='stFileUploaderDropzone']") || el, false);
    } else if (id === "stDataFrame") {
      const canvas = el.querySelector("canvas");
      add("table", "tableau " + (found.filter(c => c.kind === "table").length + 1), canvas || el, false);
    } else if (id === "stCustomComponentV1" && el.tagName === "IFRAME" && (el.title || "").includes("folium")) {
      add("map", "carte " + (found.filter(c => c.kind === "map").length + 1), el, false);
    }
  }
  document.querySelectorAll("[data-rx-target]").forEach(e => e.removeAttribute("data-rx-target"));
  if (markKind) {
    const hit = found.find(c => c.kind === markKind && c.label === markLabel && !c.disabled);
    if (hit) hit.el.setAttribute("data-rx-target", "1");
    return !!hit;
  }
  return found.map(({kind, label, id, disabled, open}) => ({kind, label, id, disabled, open}));
}"""
_OPTIONS = (
    "[data-testid='stSelectboxVirtualDropdown'] [role='option'], "
    "[data-testid='stMultiSelectDropdown'] [role='option'], [role='listbox'] [role='option']"
)
_BULK = re.compile(r"^(Select all|Select \d+ matches|Add: )")


@dataclass
class Crawl:
    """What the crawl did and found, for the report."""

    clicks: int = 0
    failures: list[str] = field(default_factory=list)
    known: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    pages: dict[str, list[str]] = field(default_factory=dict)
    #: (page, kind, label) clicked by a less trusted role: not clicked again (unless FULL)
    clicked: set[tuple[str, str]] = field(default_factory=set)
    slow: list[tuple[float, str]] = field(default_factory=list)


def controls(page) -> list[dict]:
    return page.evaluate(_CONTROLS, [None, None])


def target(page, kind: str, label: str):
    """The first enabled control of ``kind`` labelled ``label``, or None."""
    if not page.evaluate(_CONTROLS, [kind, label]):
        return None
    return page.locator("[data-rx-target='1']")


def act(page, kind: str, label: str, element) -> str:
    """Use the control as a person would; return a note for the report ("" when nothing to say)."""
    if kind in ("button", "tab", "expander", "checkbox", "radio"):
        element.click()
    elif kind == "download":
        with page.expect_download(timeout=60_000) as info:
            element.click()
        path = info.value.path()
        if path is None or path.stat().st_size == 0:
            return f"téléchargement vide : {info.value.suggested_filename}"
    elif kind in ("selectbox", "multiselect"):
        options = page.locator(_OPTIONS)
        if not _open_list(page, element, options):
            return f"{kind} « {label} » : la liste ne s'ouvre pas, ou est vide"
        names = options.all_inner_texts()
        selected = options.evaluate_all("els => els.map(e => e.getAttribute('aria-selected') === 'true')")
        choice = next(
            (i for i, (n, s) in enumerate(zip(names, selected, strict=False)) if not s and not _BULK.match(n)), None
        )
        if choice is None:
            page.keyboard.press("Escape")
            _close_list(page, options)
            return ""
        options.nth(choice).click()
        if kind == "multiselect":  # its list stays open after a choice
            page.keyboard.press("Escape")
        _close_list(page, options)
    elif kind == "slider":
        element.focus()
        page.keyboard.press("ArrowRight")
    elif kind == "uploader":
        element.locator("input[type=file]").set_input_files(str(UPLOAD))
    elif kind == "table":
        box = element.bounding_box()
        if box and box["height"] > 60:  # header (35 px), then the first row: its box, or its first cell
            page.mouse.click(box["x"] + 18, box["y"] + 35 + 17)
    elif kind == "map":
        _use_map(page, element)
    return ""


def _open_list(page, element, options) -> bool:
    """Open a selectbox's or multiselect's list: a click, else the arrow key once it has focus."""
    for attempt in (lambda: element.click(), lambda: page.keyboard.press("ArrowDown"), lambda: element.click()):
        attempt()
        try:
            options.first.wait_for(timeout=2_000)
            return True
        except Exception:  # noqa: BLE001 — not open yet: next way
            continue
    page.keyboard.press("Escape")
    return False


def _close_list(page, options) -> None:
    """Wait for the list to close (an open list swallows the next click); Escape if it lingers."""
    try:
        options.first.wait_for(state="hidden", timeout=3_000)
    except Exception:  # noqa: BLE001 — still open (a late rerun): Escape, then wait again
        page.keyboard.press("Escape")
        options.first.wait_for(state="hidden", timeout=3_000)


def _use_map(page, iframe) -> None:
    """Tick the boxes of the layer control (when the map has one), then click the map's centre."""
    frame = iframe.content_frame
    frame.locator(".leaflet-container").first.wait_for(timeout=60_000)
    control = frame.locator(".leaflet-control-layers")
    if control.count():
        control.first.hover()
        boxes = frame.locator(".leaflet-control-layers-selector")
        for index in range(min(boxes.count(), MAX_LAYER_BOXES)):
            boxes.nth(index).click()
        page.mouse.move(0, 0)
    box = iframe.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def crawl_page(page, app, role: str, title: str, crawl: Crawl, again: set[tuple[str, str]]) -> None:
    """Click every control of the open page, de-duplicated (see ``_CONTROLS``), MAX_CLICKS at most.

    ``again`` holds (kind, label) of the role's controls already used on another page (the sign-in box)."""
    done: set[str] = set()
    revealed: dict[str, int] = {}  # control id -> number of the click that revealed it
    clicked: list[str] = []
    check(page, app, role, title, "(ouverture de la page)", app.mark(), crawl)
    while len(clicked) < MAX_CLICKS:
        present = controls(page)
        todo = [
            c
            for c in present
            if c["id"] not in done
            and not c["disabled"]
            and (c["kind"], c["label"]) not in SKIPPED | again
            and (FULL or (title, c["id"]) not in crawl.clicked)
        ]
        if not todo:
            break
        # What the latest clicks revealed first (a fiche's form before « Nouvelle fiche »); tabs
        # and open expanders last, as what they show hides once they are used.
        for control in present:
            revealed.setdefault(control["id"], len(clicked))
        ready = [c for c in todo if c["kind"] != "tab" and not c["open"]] or todo
        chosen = max(ready, key=lambda c: revealed[c["id"]])  # max keeps the first of equals
        kind, label = chosen["kind"], chosen["label"]
        done.add(chosen["id"])
        element = target(page, kind, label)
        if element is None:
            continue
        mark = app.mark()
        name = f"{kind} « {label} »"
        began = time.monotonic()
        try:
            note = act(page, kind, label, element)
            browser.settle(page)
        except Exception as exc:  # noqa: BLE001 — a control that cannot be used is a finding
            note = f"impossible d'utiliser : {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            page.keyboard.press("Escape")
            browser.settle(page)
        if note:
            crawl.notes.append(f"{role} / {title} / {name} : {note}")
        clicked.append(name)
        crawl.clicked.add((title, chosen["id"]))
        crawl.clicks += 1
        crawl.slow.append((time.monotonic() - began, f"{role} / {title} / {name}"))
        check(page, app, role, title, name, mark, crawl)
    else:
        crawl.notes.append(f"{role} / {title} : plafond de {MAX_CLICKS} clics atteint")
    crawl.pages[f"{role} / {title}"] = clicked


def check(page, app, role: str, title: str, control: str, mark: int, crawl: Crawl) -> None:
    seen = browser.page_errors(page)
    if not seen:
        return
    exception = app.exception_since(mark, wait=10) or "(rien dans le journal du serveur)"
    line = f"{role} / {title} / {control} : {' ; '.join(seen)} — exception : {exception}"
    if (title, control) in KNOWN_BROKEN or (title, "*") in KNOWN_BROKEN:
        crawl.known.append(line)
    else:
        crawl.failures.append(line)
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"crawler-{role}-{len(crawl.failures)}.png"), full_page=True)


def crawl_role(context, app, role: str, crawl: Crawl) -> list[str]:
    """Sign in as ``role`` (a visitor does not), crawl every page offered; return their titles."""
    page = context.new_page()
    page.set_default_timeout(10_000)  # a control that cannot be clicked in 10 s is reported, not waited for
    page.goto(app.url + "/")
    browser.settle(page)
    if role != "visiteur":
        browser.sign_in(page, browser.ACCOUNT_OF_ROLE[role])
    titles = browser.nav_titles(page)
    for number, title in enumerate(titles):
        browser.open_nav_page(page, title)
        crawl_page(page, app, role, title, crawl, again=EVERY_PAGE if number else set())
    if role != "visiteur":
        browser.sign_out(page)  # skipped during the crawl: it ends the role's run
    page.close()
    return titles


@pytest.fixture()
def chromium(browser):
    """The session's Chromium (``browser`` is the name of the helpers' module here)."""
    return browser


@pytest.mark.timeout(1200)
def test_every_role_clicks_every_control_of_every_page(chromium, tmp_path):
    folder, env = browser.data_folder(tmp_path)
    crawl = Crawl()
    offered: dict[str, list[str]] = {}
    started = time.monotonic()
    with browser.LoggedApp(env) as app:
        before = browser.fingerprint(folder)
        for role in ROLES:
            context = chromium.new_context(
                viewport={"width": 1440, "height": 900}, locale="fr-FR", accept_downloads=True
            )
            try:
                offered[role] = crawl_role(context, app, role, crawl)
            finally:
                context.close()
            if role == "membre":  # a visitor's and a member's clicks write nothing
                after = browser.fingerprint(folder)
                changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
                if changed:
                    crawl.failures.append(f"visiteur et membre : fichiers modifiés par leurs clics : {changed}")
    elapsed = time.monotonic() - started
    print(f"\nRobot d'exploration : {crawl.clicks} clics en {elapsed:.0f} s")
    for role, titles in offered.items():
        print(f"  {role} : {', '.join(titles)}")
    for seconds, what in sorted(crawl.slow, reverse=True)[:10]:
        print(f"  {seconds:5.1f} s  {what}")
    for note in crawl.notes:
        print(f"  note : {note}")
    for line in crawl.known:
        print(f"  connu (KNOWN_BROKEN) : {line}")
    assert "Annuaire" in offered["coordinateur"] and "Comptes" in offered["administrateur"]
    assert "Annuaire" not in offered["membre"] and "Comptes" not in offered["coordinateur"]
    assert not crawl.failures, "\n".join(crawl.failures)
