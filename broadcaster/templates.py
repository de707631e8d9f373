"""``[templates.NAME]``: placeholders that are plain names, filled without ever forming a marker.

A template's texts use ``{name}`` placeholders, filled from ``--set name=value``.
Only plain names are placeholders: attribute and index access
(``{x.__class__}``, ``{x[0]}``), positional fields, conversions and format
specs are refused when the config is loaded, so filling a template can never
reach into Python objects. Filling is done here, not by ``str.format``: each
value goes through the input gate first (it may hold no marker or lookalike),
and a real marker that would form across a value's boundary
(``[priv{x}`` with ``x=ate]``) is refused, so a value can never open or close a
private span of the template.
"""

from __future__ import annotations

import string
from collections.abc import Iterator, Mapping

from broadcaster.errors import InputError
from broadcaster.messages import gate


class TemplateSyntaxError(ValueError):
    """A template text holds something other than plain ``{name}`` placeholders."""


def pieces(text: str) -> Iterator[tuple[str, str | None]]:
    """``(literal, placeholder name or None)`` in order; ``TemplateSyntaxError`` for anything else."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise TemplateSyntaxError(f"{exc}; write a placeholder as {{name}} and a literal brace as {{{{ or }}}}") from None
    for literal, name, spec, conversion in parsed:
        if name is None:
            yield literal, None
            continue
        if not name.isidentifier() or spec or conversion:
            shown = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
            raise TemplateSyntaxError(
                f"{shown} is not a plain placeholder: write {{name}} (letters, digits and _); attribute or "
                "index access, positional fields, conversions and format specs are not allowed"
            )
        yield literal, name


def names(text: str) -> list[str]:
    return [name for _, name in pieces(text) if name is not None]


def admit_values(values: Mapping[str, str]) -> dict[str, str]:
    """Every ``--set`` value through the input gate: no control characters, no marker or lookalike."""
    return {key: gate.admit(value, f"--set {key}", gate.TEMPLATE_VALUE) for key, value in values.items()}


def fill(text: str, values: Mapping[str, str], where: str) -> str:
    """``text`` with its placeholders replaced; refused if a marker would form across a value's edge."""
    parts: list[str] = []
    inserted: list[tuple[int, int, str]] = []
    length = 0
    for literal, name in pieces(text):
        parts.append(literal)
        length += len(literal)
        if name is not None:
            value = values[name]
            parts.append(value)
            inserted.append((length, length + len(value), name))
            length += len(value)
    filled = "".join(parts)
    for marker in gate.MARKER.finditer(filled):
        for start, end, name in inserted:
            if marker.start() < end and start < marker.end():
                raise InputError(
                    f"--set {name}: with the template's {where} around it, its value forms a private marker "
                    f"({marker.group(0)!r}). A value cannot open or close a private span; nothing was stored or sent."
                )
    return filled
