"""What the input tests check after each command: was anything stored, sent, or made public."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import Project
from tests.fakes.world import PUBLIC_CHAT, FakeWorld

STATE = Path(".broadcaster/state.db")


def stored(project: Project) -> list[Any]:
    """Every record of the project's store (an export without its header); [] when there is no store."""
    from broadcaster.store import open_store
    from broadcaster.store.transfer import export_lines

    path = project.root / STATE
    if not path.exists():
        return []
    store = open_store(path)
    try:
        return [json.loads(line) for line in list(export_lines(store))[1:]]
    finally:
        store.close()


def requests(world: FakeWorld) -> list[Any]:
    return [*world.x.requests, *world.telegram.requests, *world.slack.requests]


def site_files(project: Project) -> dict[str, str]:
    root = project.site
    if not root.exists():
        return {}
    return {p.relative_to(root).as_posix(): p.read_bytes().decode("utf-8", errors="replace")
            for p in sorted(root.rglob("*")) if p.is_file()}


def public_outputs(project: Project, world: FakeWorld) -> list[tuple[str, str]]:
    """(where, text) of everything public: each site file (its name too), X and the public Telegram chat."""
    outputs = [(f"site/{name}", f"{name}\n{text}") for name, text in site_files(project).items()]
    outputs += [(f"x {r.path}", r.body.decode("utf-8", errors="replace")) for r in world.x.requests]
    outputs += [(f"telegram {r.path}", json.dumps(r.form, ensure_ascii=False)) for r in world.telegram.requests
                if str(r.form.get("chat_id")) == PUBLIC_CHAT]
    return outputs


def private_outputs(world: FakeWorld) -> str:
    """Everything the private channels received (the ops Telegram chats and Slack), as one text."""
    bodies = [json.dumps(r.form, ensure_ascii=False) for r in world.telegram.requests
              if str(r.form.get("chat_id")) != PUBLIC_CHAT]
    bodies += [json.dumps(r.form, ensure_ascii=False) for r in world.slack.requests]
    return "\n".join(bodies)


def leaks(project: Project, world: FakeWorld, secrets: list[str]) -> list[str]:
    """Each private value found in a public output, with where (compared case-insensitively)."""
    found = []
    for where, text in public_outputs(project, world):
        readable = _readable(text).casefold()
        found += [f"{secret!r} in {where}" for secret in secrets if secret.casefold() in readable]
    return found


def _readable(text: str) -> str:
    """As a reader sees it: JSON strings unescaped, HTML and XML entities decoded (twice: feeds nest them)."""
    import html

    try:
        text = "\n".join(_strings(json.loads(text)))
    except ValueError:
        pass
    return html.unescape(html.unescape(text))


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (str(k), *_strings(v))]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return [str(value)]


def refused(result: Any, project: Project, world: FakeWorld | None, before: list[Any], *needles: str) -> None:
    """Exit 2, the error says what, nothing stored, nothing sent, no site built."""
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    for needle in needles:
        assert needle in result.stderr, (needle, result.stderr)
    assert "Traceback" not in result.stderr
    assert stored(project) == before
    if world is not None:
        assert requests(world) == []
    assert site_files(project) == {}


# Two customers with private pages, the second one reading: the review-19 tests of one customer's names and ids
# reaching another's detail.
OTHER_TOKEN, READER_TOKEN = "a1" * 16, "b2" * 16


def two_customers(project: Project, other: str, other_name: str | None, reader: str, reader_name: str,
                  extra: str = "", env: dict[str, str] | None = None) -> None:
    """``[audiences.OTHER]`` and ``[audiences.READER]`` on component api, each with a page (no ``name`` line for
    the other when ``other_name`` is None), then ``extra`` config."""
    project.env.update(T_OTHER=OTHER_TOKEN, T_READER=READER_TOKEN, **(env or {}))
    named = f'name = "{other_name}"\n' if other_name is not None else ""
    project.write_config(f'\n[audiences.{other}]\n{named}feed_token = "${{T_OTHER}}"\ncomponents = ["api"]\n\n'
                         f'[audiences.{reader}]\nname = "{reader_name}"\nfeed_token = "${{T_READER}}"\n'
                         f'components = ["api"]\n{extra}')


def post_for(project: Project, reader: str, detail: str, *options: str) -> Any:
    """A post of a public text with ``detail`` for ``reader`` alone."""
    return project.cli("post", "--yes", "--title", "API errors", "-C", "api", *options, "--for", reader, detail,
                       "Some circuits are down.")


def page_of(project: Project, token: str) -> str:
    """Every file of the customer page at ``a/<token>/``, run together."""
    return "".join(text for name, text in site_files(project).items() if name.startswith(f"a/{token}/"))
