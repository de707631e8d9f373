"""Review 64a: the last fixes (b87659e, e33b34b, 83f226e, 8b2cb4a, 65ca427) attacked through the real CLI and fakes.

1. `retry --json` beside a live `post` of this machine still sending a paced broadcast printed
   ``"deliveries": [], "sending": []``: what a cron job reads as every delivery sent or skipped, the lie 65ca427
   took out of the plain text only. The JSON now counts those deliveries (``sending_here``).
2. ``[store] url = "sqlite:///data"`` written in the config, naming a folder (or a typo away from the state file
   beside it), was refused as '[store] path ...', a setting the config did not have: 83f226e named the setting
   only when the URL came from a variable (``${STORE_URL}``).
"""

from __future__ import annotations

import json

from tests.conftest import Project
from tests.test_review63b import retried_while_a_post_sends


def test_retry_json_beside_a_post_still_sending_says_how_many_are_being_sent_here(project: Project) -> None:
    retried = retried_while_a_post_sends(project, "--json")
    assert retried.exit_code == 0, retried.output
    found = json.loads(retried.output)
    assert found["deliveries"] == [] and found["sending"] == [], found
    assert found["sending_here"] > 0, found



def test_a_store_url_written_in_the_config_is_named_as_the_setting_it_came_from(project: Project) -> None:
    (project.root / "data").mkdir()
    project.write_config('\n[store]\nurl = "sqlite:///data"\n')
    refused = project.cli("list")
    assert refused.exit_code == 2, refused.output
    assert "[store] url data" in refused.output.replace(str(project.root) + "/", ""), refused.output
    assert "[store] path" not in refused.output, refused.output

    project.write_config('\n[store]\nurl = "sqlite:///stat.db"\n')
    posted = project.cli("post", "--yes", "--store", str(project.root / "state.db"), "--title", "API errors", "Errors.")
    assert posted.exit_code == 0, posted.output
    refused = project.cli("list")
    assert refused.exit_code == 2, refused.output
    assert "[store] url" in refused.output and "[store] path" not in refused.output, refused.output
