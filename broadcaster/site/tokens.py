"""Which customer each page path (``feed_token``) has served: a path once one customer's is never another's.

A customer's page lives at ``a/<token>/``, and whoever has that address keeps it. A customer who left, whose
table was copied for the next customer with the token's variable kept, would read the next customer's detail
there, and nothing else could tell. So the store keeps a keyed digest of each token (never the token) with the
customer it served, and a post that would build the site, or a build, is refused while a token is configured for
another customer than the one it served. A renamed ``[audiences.X]`` table counts as another customer: it gets a
new token, which is also what the README says to do when someone who should no longer read a page may have it.
"""

from __future__ import annotations

import hashlib
import hmac

from broadcaster.config import MAKE_FEED_TOKEN, Config
from broadcaster.errors import ConfigError
from broadcaster.store import Store

__all__ = ["claim_feed_tokens", "refuse_reused_feed_tokens"]


def refuse_reused_feed_tokens(config: Config, store: Store, consequence: str) -> list[tuple[str, str]]:
    """ConfigError while a customer's ``feed_token`` once served another customer; else each configured
    token's (customer, digest). ``consequence`` ends the message ("Nothing was stored or sent.")."""
    claims = _claims(config, store)
    for key, digest in claims:
        served = store.feed_token_reader(digest)
        if served is not None and served != key:
            table = config.audience_tables[key]
            assert table.feed_token is not None
            raise ConfigError(
                f"[audiences.{key}] feed_token (${{{table.feed_token.env_var}}}) is the page path that was "
                f"[audiences.{served}]'s: whoever kept that customer's address would read {key}'s page there. "
                f"Give {key} a new token, made with {MAKE_FEED_TOKEN}, and send {key} its new address "
                f"(a/<token>/ under the site's address). {consequence}"
            )
    return claims


def claim_feed_tokens(config: Config, store: Store) -> None:
    """Refuse as ``refuse_reused_feed_tokens`` does, then remember which customer each token serves."""
    for key, digest in refuse_reused_feed_tokens(config, store, "Nothing was built."):
        if store.feed_token_reader(digest) is None:
            store.note_feed_token_reader(digest, key)


def _claims(config: Config, store: Store) -> list[tuple[str, str]]:
    tokens = [(key, table.feed_token.reveal()) for key, table in config.audience_tables.items()
              if table.feed_token is not None and not table.feed_token.missing]
    if not tokens:
        return []
    # Keyed by the store's own secret: the digest alone would let whoever reads the state file test guesses.
    site_key = store.site_generation()[0].encode()
    return [(key, hmac.new(site_key, token.encode(), hashlib.sha256).hexdigest()) for key, token in tokens]
