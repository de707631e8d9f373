"""Review 18g (failed before its fix): the new "--store given before and after" refusal (options._remember_one) prints the first URL through
_shown_store, which masks the userinfo password and ``password=`` in the query, but not libpq's other secret
parameter ``sslpassword`` (the passphrase of the client key): it is printed as typed."""

from __future__ import annotations

from tests.conftest import Project


def test_an_sslpassword_in_a_store_url_given_twice_is_not_printed(project: Project) -> None:
    result = project.cli("--store", "postgresql://deploy@db.example/status?sslmode=verify-full&sslpassword=K3YPASS-x",
                         "list", "--store", str(project.root / "fallback.db"))
    assert result.exit_code == 2, result.output
    assert "given before the command name" in result.output
    assert "K3YPASS-x" not in result.output, result.output
