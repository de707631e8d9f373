"""Which audiences an update reaches: the one routing rule for customers' channels.

An audience's channels receive an update when the audience is named (``--customer``,
``--for`` or a ``[for ID]`` span) in any update of the incident so far, or when the
incident has touched one of the audience's components. Both only grow as updates
arrive, so an audience that received an incident receives every later update of
it, threaded, up to the resolution: a customer is never left with an open
incident. A channel's own ``components`` still narrows what it gets (``plan``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from broadcaster.messages.model import Audience, Incident, Update
from broadcaster.messages.visibility import PRIVATE_KINDS, named_audiences


def reached(audience: Audience, incident: Incident, updates: Sequence[Update]) -> bool:
    """Whether ``audience`` hears about ``incident``, given its updates so far (the new one included)."""
    told = [u for u in updates if u.kind not in PRIVATE_KINDS]
    if any(audience.id in named_audiences(u) for u in told):
        return True
    touched = {c.id for c in incident.components} | {c.id for u in told for c in u.components}
    return bool(touched & set(audience.components))


def reached_audiences(
    audiences: Mapping[str, Audience], incident: Incident, updates: Iterable[Update]
) -> frozenset[str]:
    """The ids of every audience ``reached`` by the incident with these updates."""
    everything = list(updates)
    return frozenset(key for key, audience in audiences.items() if reached(audience, incident, everything))
