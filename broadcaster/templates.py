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
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from broadcaster.errors import InputError, did_you_mean
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



def template_fields(template: Mapping[str, Any]) -> list[str]:
    """The ``{placeholders}`` a template needs, in order of first use."""
    found: list[str] = []
    for value in template.values():
        texts = list(value.values()) if isinstance(value, dict) else value if isinstance(value, list) else [value]
        for text in texts:
            if isinstance(text, str):
                found.extend(n for n in names(text) if n not in found)
    return found


def apply_template(available: Mapping[str, Mapping[str, Any]], name: str, values: Mapping[str, str]) -> dict[str, Any]:
    """Template ``name`` of ``available`` (the config's ``[templates]``), every ``{placeholder}`` filled
    from ``--set key=value``.

    Values pass the input gate first, and no value may form a marker with the
    template's text (``fill``).
    """
    if name not in available:
        hint = did_you_mean(name, list(available))
        known = ", ".join(available) or "none: add [templates.NAME] to the config"
        raise InputError(f"no template {name!r}.{hint} Templates: {known}.")
    template = available[name]
    needed = template_fields(template)
    missing = [f for f in needed if f not in values]
    unused = [k for k in values if k not in needed]
    if unused:  # first: a typo ("thng") is both, and the operator should read the key they typed
        hints = "".join(did_you_mean(k, needed) for k in unused)
        raise InputError(
            f"template {name!r} has no placeholder {', '.join(unused)}.{hints} It takes "
            f"{', '.join(needed) or 'no values'}. Nothing was stored or sent."
        )
    if missing:
        raise InputError(f"template {name!r} needs a value for {', '.join(missing)}: add " + " ".join(f"--set {m}=..." for m in missing))
    admitted = admit_values(values)

    def filled(key: str, value: Any) -> Any:
        if isinstance(value, str):
            return fill(value, admitted, key)
        if isinstance(value, list):
            return [filled(key, v) for v in value]
        if isinstance(value, dict):  # for = { acme = "..." }
            return {audience: filled(f"{key}.{audience}", v) for audience, v in value.items()}
        return value

    return {key: filled(key, value) for key, value in template.items()}


def parse_sets(pairs: Sequence[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--set {pair!r}: write it as key=value.")
        if not value.strip():  # `--set region=$REGION` with REGION unset: "DNS failures in ." published
            raise InputError(f"--set {pair!r} gives {key.strip()} no value (an unset shell variable?). "
                             "Nothing was stored or sent.")
        if key.strip() in values:
            raise InputError(f"--set gives {key.strip()} twice ({values[key.strip()]!r}, then {value!r}): which is "
                             "meant? Give it once. Nothing was stored or sent.")
        values[key.strip()] = value
    return values


def merge(filled: Mapping[str, Any], typed: Mapping[str, Any]) -> dict[str, Any]:
    """A filled template's fields under what was typed on the command line (which wins), except the
    private note and the customers' detail, which add up: the typed note after the template's, and a
    ``--for`` typed for a customer in place of the template's for that customer only.

    The template's message comes back as ``template_message``: the command uses it
    when no MESSAGE was given.
    """
    merged: dict[str, Any] = {}
    for key in ("title", "impact", "status"):
        if not typed.get(key) and filled.get(key):
            merged[key] = filled[key]
    if not typed.get("components") and filled.get("components"):
        merged["components"] = tuple(filled["components"])
    # The notes and each customer's detail add up: typing one must not silently drop the template's.
    if filled.get("private"):
        merged["private"] = "\n\n".join(p for p in (filled["private"], typed.get("private") or "") if p)
    if filled.get("for"):
        typed_for = tuple(typed.get("for_detail") or ())
        typed_ids = {audience for audience, _ in typed_for}
        merged["for_detail"] = (*((a, t) for a, t in filled["for"].items() if a not in typed_ids), *typed_for)
    if filled.get("message"):
        merged["template_message"] = filled["message"]
    return merged
