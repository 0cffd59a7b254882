"""Markdown from an address or a file shows as text — no link, no remote image.

``md_escape`` is checked against what Streamlit's Markdown does: CommonMark escapes, then
remark-gfm's search for bare addresses in the text already unescaped (its two regular
expressions are copied from Streamlit's bundle, StreamlitMarkdown.*.js). Then the pages: an
AppTest of the map opened with a hostile ``q`` and of the presentation with a hostile ``scene``, and the same
address opened in Chromium, where no link and no image may appear.
"""

from __future__ import annotations

import re
import urllib.parse

import pytest
from playwright.sync_api import expect

from reseaux.text import WORD_JOINER, md_escape
from tests.conftest import ServedApp, open_page

HOSTILE = [
    "[clic](https://example.org)",
    "![i](http://example.org/pixel.png)",
    "<https://example.org>",
    "<b>gras</b><img src=x onerror=alert(1)>",
    "voir https://example.org/page ou www.example.org",
    "écrire à pirate@example.org",
    "**gras** _italique_ ~~barré~~ `code` $x^2$",
    "# titre\n- liste\n> citation",
    ":red[rouge] :material/home: :smile:",
    "[ref][1]\n\n[1]: https://example.org",
    "a | b\n--|--\nc | d",
    "&lt;script&gt; &amp;",
]
#: remark-gfm (mdast-util-gfm-autolink-literal) on text nodes, after escapes are resolved.
BARE_URL = re.compile(r"(https?://|www(?=\.))([-.a-zA-Z0-9_]+)", re.IGNORECASE)
BARE_EMAIL = re.compile(r"([-.a-zA-Z0-9_+]+)@([-a-zA-Z0-9_]+(?:\.[-a-zA-Z0-9_]+)+)")
ACTIVE = set("\\`*_{}[]()#+-.!|<>~$:@&")


def unescaped(markdown: str) -> str:
    """The text CommonMark leaves of backslash escapes (each escaped punctuation is literal)."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)


@pytest.mark.parametrize("value", HOSTILE)
def test_md_escape_leaves_no_markup_and_no_bare_address(value):
    escaped = md_escape(value)
    characters = iter(escaped)
    for char in characters:  # every active character is escaped: CommonMark reads it as text
        if char == "\\":
            assert next(characters) in ACTIVE
        else:
            assert char not in ACTIVE, (char, escaped)
    assert "\n" not in escaped and "\r" not in escaped
    text = unescaped(escaped)
    assert not BARE_URL.search(text) and not BARE_EMAIL.search(text), text
    assert text.replace(WORD_JOINER, "") == re.sub(r"[\r\n]+", " ", value)  # shown as typed


def test_a_hostile_filter_in_the_address_is_written_as_text_on_the_map_page():
    at = open_page("carte", q="[clic](https://example.org) ![i](http://example.org/x.png)")
    assert not at.exception
    sentence = next(m.value for m in at.markdown if "contient" in m.value)
    assert md_escape("« [clic](https://example.org) ![i](http://example.org/x.png) »") in sentence
    assert "](" not in sentence and "https://" not in sentence


def test_an_unknown_scene_in_the_address_is_named_as_text():
    at = open_page("presentation", scene="[clic](https://example.org)")
    assert not at.exception
    warning = next(w.value for w in at.warning if "n'existe pas" in w.value)
    assert md_escape("[clic](https://example.org)") in warning and "](" not in warning


@pytest.mark.browser
def test_the_map_page_shows_a_hostile_address_as_text_in_chromium(page):
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    query = urllib.parse.urlencode({"q": "[clic](https://example.org) ![i](http://example.org/x.png) www.example.org"})
    with ServedApp() as app:
        page.goto(f"{app.url}/?{query}")
        sentence = page.get_by_test_id("stMarkdownContainer").filter(has_text="contient")
        sentence.first.wait_for(timeout=60_000)
        text = sentence.first.inner_text().replace(WORD_JOINER, "")
        assert "« [clic](https://example.org) ![i](http://example.org/x.png) www.example.org »" in text
        expect(sentence.first.locator("a, img")).to_have_count(0)
    assert not [url for url in requested if urllib.parse.urlparse(url).hostname == "example.org"]  # no image fetched
