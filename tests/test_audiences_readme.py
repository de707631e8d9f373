"""The README's "Audiences" example is what the code renders: generated here, compared there, so it cannot drift."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from broadcaster.messages import slack
from broadcaster.messages.visibility import view_for

from broadcaster import compose
from broadcaster.config_loader import parse

README = Path(__file__).resolve().parent.parent / "README.md"
CHANNELS = {"public-slack": "public", "acme-slack": "audience:acme", "globex-slack": "audience:globex", "ops": "internal"}


def rendered_example() -> str:
    config = parse({"components": [{"id": "api", "name": "API"}, {"id": "db", "name": "Database"}],
                    "operator": {"name": "dana"},
                    "audiences": {"acme": {"name": "Acme Corp", "components": ["api"]},
                                  "globex": {"name": "Globex", "components": ["db"]}}}, None, {})
    # The README's command line, as `post` builds it.
    draft = compose.Draft(
        "Elevated API error rates. We are investigating.", title="API errors", components=("api",),
        customers=("globex",), private="edge router fra-2 lost BGP",
        for_detail=(("acme", "Your circuit ACM-7 is rerouted via Frankfurt."),
                    ("globex", "Your nightly exports may start late.")),
    )
    incident, update = compose.build(draft, None, config, datetime(2026, 11, 25, 15, 0, tzinfo=UTC))
    return "\n\n".join(f"== {name} ({visibility})\n{slack.preview(view_for(visibility, incident, update, audiences=config.audiences))}"
                       for name, visibility in CHANNELS.items())


def test_the_readme_example_is_what_each_channel_sees() -> None:
    found = re.search(r"<!-- audiences-example -->\n```\n(.*?)\n```", README.read_text(encoding="utf-8"), re.DOTALL)
    assert found, "the README lost its audiences example"
    assert found.group(1) == rendered_example()
