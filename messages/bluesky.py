"""One update as one Bluesky post: at most 300 graphemes, links as facets, a card for the incident page.

The layout is X's (``messages.twitter``). Bluesky counts grapheme clusters and
shortens nothing: a link counts its whole length. Links are not found by
Bluesky: a URL without a facet is plain text, so every ``http(s)://`` link of
the text gets a ``app.bsky.richtext.facet#link`` facet whose ``byteStart`` /
``byteEnd`` are UTF-8 byte offsets (start inclusive, end exclusive). No other
facet is made: ``@handle`` and ``#tag`` stay text, so no one is mentioned.

The incident page is also an external embed card (``app.bsky.embed.external``):
its title is the incident's, its description the status and the start of the
message. A correction is a reply: Bluesky cannot edit a post.

Only public fields are read: Bluesky channels are public.
"""

from __future__ import annotations

from typing import Any

from broadcaster.messages import graphemes
from broadcaster.messages.twitter import _parts, _twitter_text, fit_with, shorten  # X's layout and cutting
from broadcaster.messages.visibility import PublicView

MAX_GRAPHEMES = 300  # app.bsky.feed.post text maxGraphemes
MAX_BYTES = 3000  # and its maxLength, in UTF-8 bytes
CARD_TITLE = 300  # graphemes of the card's title and description we keep; the app shows fewer
CARD_DESCRIPTION = 300


def post_length(text: str) -> int:
    """The length of ``text`` as Bluesky counts it against 300."""
    return graphemes.count(text)


def fits(text: str) -> bool:
    return post_length(text) <= MAX_GRAPHEMES and len(text.encode()) <= MAX_BYTES


def format_post(view: PublicView) -> str:
    """The post text for one update, shortened to 300 graphemes."""
    return fit_with(_parts(view), fits)


def link_facets(text: str, known: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """A link facet for each ``http(s)://`` URL of ``text``, at its UTF-8 byte offsets.

    ``known`` URLs (the incident page) are linked wherever they occur, even where
    twitter-text's list of top-level domains does not know theirs.
    """
    spans = {}
    for found in _twitter_text().extract_urls_with_indices(text):
        if found["url"].lower().startswith(("http://", "https://")):  # "example.com" stays text
            spans[found["indices"][0]] = found["url"]
    for url in filter(None, known):
        start = text.find(url)
        while start != -1:
            end = start + len(url)
            for begin in [b for b, u in spans.items() if b < end and start < b + len(u)]:
                del spans[begin]  # twitter-text may have found only part of it
            spans[start] = url
            start = text.find(url, start + len(url))
    facets = []
    for begin, url in sorted(spans.items()):
        start = len(text[:begin].encode())
        facets.append({
            "index": {"byteStart": start, "byteEnd": start + len(url.encode())},
            "features": [{"$type": "app.bsky.richtext.facet#link", "uri": url}],
        })
    return facets


def card(view: PublicView) -> dict[str, str] | None:
    """The external embed for the incident page, or None without a page link."""
    url = view.incident.url.strip()
    if not url:
        return None
    post = _parts(view)
    description = f"{view.status_label}: {post.message}" if post.message else view.status_label
    return {"uri": url, "title": _cut(post.title, CARD_TITLE), "description": _cut(description, CARD_DESCRIPTION)}


def _cut(text: str, limit: int) -> str:
    return shorten(text, lambda t: post_length(t) <= limit)
