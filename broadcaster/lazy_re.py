"""Regular expressions compiled where first used, not where their module is imported.

Every command imports the gate, the config's checks, the channels' formatters and the redaction of
logs, which hold about two hundred patterns between them; compiling them all cost about 20 ms of
CPU before anything else a command does (a dry run's whole budget is 200 ms), and a command uses
fewer than half of them. ``compile`` has ``re.compile``'s signature and returns an object that
behaves as the compiled pattern: the first use of any of its methods or attributes compiles it
(through ``re``'s own cache) and keeps the compiled pattern's bound methods on the object, so every
later call costs what a compiled pattern's costs. A pattern with a mistake fails where it is first
used, not at import: ``tests/test_lazy_re.py`` compiles every module-level pattern of the package.

One difference remains: a match's ``re`` is the compiled pattern, not this object, so ``m.re is PATTERN``
is always False (the gate once told its patterns apart that way, and let an addressed head through).
Tell patterns apart by which one was searched; the same test refuses ``.re is`` in the package.
"""

from __future__ import annotations

import re
from typing import Any, cast

# What a compiled pattern offers (``re.Pattern``'s public methods and attributes), kept on the object once compiled.
_KEPT = ("search", "match", "fullmatch", "split", "findall", "finditer", "sub", "subn", "scanner", "flags", "groups",
         "groupindex")


class Deferred:
    """A ``re.Pattern`` until first used: ``pattern`` is known at once (patterns are composed of others)."""

    def __init__(self, pattern: str, flags: int) -> None:
        self.pattern = pattern
        self._flags = flags

    def __getattr__(self, name: str) -> Any:  # only for what the object does not hold yet
        if name.startswith("__") or name in ("pattern", "_flags"):
            raise AttributeError(name)  # copy and pickle ask for dunders they do without, before the state is set
        compiled = self.compiled()
        return getattr(compiled, name)

    def compiled(self) -> re.Pattern[str]:
        """The compiled pattern; after this every use goes to its methods directly."""
        compiled = re.compile(self.pattern, self._flags)
        for name in _KEPT:
            setattr(self, name, getattr(compiled, name))
        return compiled

    def __repr__(self) -> str:
        return f"lazy_re.compile({self.pattern!r}, {self._flags})"


def compile(pattern: str, flags: int = 0) -> re.Pattern[str]:  # noqa: A001 - re.compile's name, on purpose
    """``re.compile(pattern, flags)``, compiled when first used (see the module's docstring)."""
    return cast("re.Pattern[str]", Deferred(pattern, int(flags)))


__all__ = ["Deferred", "compile"]
