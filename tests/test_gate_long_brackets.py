"""A round bracket longer than the gate's reach (400 characters from its "("): the instruction at its end was not
read, and "(... 420 characters ..., internal only) root cause CHG-4411" was published. Read back from the ")" too."""

from __future__ import annotations

from tests.conftest import Project

PROSE = ("the edge routers in the Frankfurt site were reconfigured during the scheduled change window, and the new "
         "configuration dropped a route that the load balancers in front of the public API depend on, so requests "
         "from most regions failed for about twenty minutes until the on-call engineer rolled the change back and "
         "the routes came back, after which error rates returned to normal and stayed there for the next hour, ")


def test_an_instruction_at_the_end_of_a_long_bracket_is_refused(project: Project) -> None:
    assert len(PROSE) > 400
    text = f"API errors ({PROSE}internal only) root cause CHG-4411."
    result = project.cli("post", "--yes", "--title", "API errors", "-C", "api", text)
    assert result.exit_code == 2, result.output
    assert not (project.site / "index.html").exists()


def test_a_long_bracket_of_prose_alone_is_published(project: Project) -> None:
    result = project.cli("post", "--yes", "--title", "API errors", "-C", "api", f"API errors ({PROSE}all fixed).")
    assert result.exit_code == 0, result.output
    assert "CHG" not in (project.site / "index.html").read_text(encoding="utf-8")
