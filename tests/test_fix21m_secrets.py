"""Review 21m, findings 1-4 and 8 (secrets): a secret webhook URL written without its scheme or with http://, an
app password written in its groups, a token wrapped with a mark at the joint (a quote's "> ", a shell's "\\"), a
mistyped URL option quoted with its password, and a header naming the account refused as a credential. Through the
real CLI; the masking and the rule's edges also on ``redaction`` itself."""

from __future__ import annotations

import pytest

from broadcaster import redaction
from tests.conftest import Project

ENGINE = "\n[engine]\ntimeout = 5\ndeadline = 20\nmax_attempts = 1\n"


def _published(project: Project) -> str:
    return "".join(p.read_text(encoding="utf-8", errors="replace") for p in project.site.rglob("*") if p.is_file())


# -- 1. a secret webhook URL written without its scheme or with http:// ------------------------------------------------

# A Zapier catch hook: the whole path is the capability, each of its parts under the 20 characters of a key.
ZAPIER = "https://hooks.zapier.com/hooks/catch/7654321/q9z4mwx/"


def _zapier_channel(project: Project) -> None:
    from tests.fakes.webhook import SECRET

    project.env.update({"HOOK_SECRET": SECRET, "HOOK_URL": ZAPIER})
    project.write_config(ENGINE + '''
[channels.ops]
type = "webhook"
visibility = "internal"
url = "${HOOK_URL}"
secret = "${HOOK_SECRET}"
''')


@pytest.mark.parametrize("written", [
    "hooks.zapier.com/hooks/catch/7654321/q9z4mwx/",
    "http://hooks.zapier.com/hooks/catch/7654321/q9z4mwx/",
    "hooks.zapier.com/hooks/catch/7654321/q9z4mwx",
    "<http://HOOKS.zapier.com/hooks/catch/7654321/q9z4mwx>",
], ids=["no-scheme", "http", "no-scheme-no-last-slash", "http-in-brackets"])
def test_a_secret_webhook_url_written_without_its_scheme_is_refused_in_a_public_update(
        project: Project, written: str) -> None:
    _zapier_channel(project)
    result = project.cli("post", "--yes", "--skip", "ops", "--title", "Alert relay down", "-C", "api",
                         f"Our alert relay {written} answers 500; alerts are delayed.")
    assert "q9z4mwx" not in _published(project)
    assert result.exit_code == 2, result.output
    assert "channels.ops.url (${HOOK_URL}), a configured secret" in result.output
    assert "q9z4mwx" not in result.output


def test_a_receivers_host_and_path_words_stay_ordinary_text_and_only_the_address_with_its_key_is_refused(
        project: Project) -> None:
    """The host alone, or the path's words alone, name no capability: an update may say them. The host with the
    path holding the key is the URL."""
    _zapier_channel(project)
    taken = project.cli("post", "--yes", "--skip", "ops", "--title", "Zapier slow", "-C", "api",
                        "Events to hooks.zapier.com and the hooks/catch endpoints are delayed.")
    assert taken.exit_code == 0, taken.output
    refused = project.cli("post", "--yes", "--skip", "ops", "--title", "Zapier slow", "-C", "api",
                          "Still failing: hooks.zapier.com/hooks/catch/7654321/q9z4mwx/.")
    assert refused.exit_code == 2, refused.output


def test_a_url_without_a_key_in_its_path_is_not_looked_for_without_its_scheme() -> None:
    """Only a URL whose path or query holds a key (a digit, mixed case, 20+ characters) is looked for without its
    scheme: "hooks.example.com/in" names a receiver, which an update may. The key's URL is."""
    plain, keyed = ("a plain url", "https://hooks.example.com/in"), ("a keyed url", ZAPIER)
    assert redaction.held_secret("posting to hooks.example.com/in fails", [plain]) is None
    assert redaction.held_secret("posting to hooks.zapier.com/hooks/catch/7654321/q9z4mwx fails",
                                 [plain, keyed]) == "a keyed url"
    with_user = ("a url with a user", "https://relay:Pw@hooks.example.com/in/Fx21mKey7?x=1")
    assert redaction.held_secret("see hooks.example.com/in/Fx21mKey7?x=1", [with_user]) == "a url with a user"


def test_a_secret_url_without_its_scheme_is_masked_but_its_host_alone_is_not() -> None:
    """Masked in errors and logs too (a receiver quoting the address without its scheme); its host alone is not,
    even at the end of a text or in quotes, where a cut secret's start is masked."""
    assert redaction.redact("relay hooks.zapier.com/hooks/catch/7654321/q9z4mwx/ failed", [ZAPIER]) == \
        "relay *** failed"
    assert redaction.redact("http://hooks.zapier.com/hooks/catch/7654321/q9z4mwx/", [ZAPIER]) == "***"
    for text in ("could not reach 'hooks.zapier.com'", "could not reach hooks.zapier.com"):
        assert redaction.redact(text, [ZAPIER]) == text


# -- 2. an app password written in its groups, or configured with them ----------------------------------------------

APP_PASSWORD = "vgkrtmwzbqlpsxnd"
GROUPED = "vgkr tmwz bqlp sxnd"


def _mail_channel(project: Project, configured: str) -> None:
    project.env["SMTP_PASSWORD"] = configured
    project.write_config(ENGINE + '''
[channels.mail]
type = "email"
visibility = "internal"
host = "smtp.gmail.com"
username = "status@example.com"
password = "${SMTP_PASSWORD}"
from = "Acme status <status@example.com>"
to = ["ops@example.com"]
''')


@pytest.mark.parametrize(("configured", "written"), [
    (APP_PASSWORD, GROUPED),
    (GROUPED, APP_PASSWORD),
    (APP_PASSWORD, "vgkr tmwz\nbqlp sxnd"),
    (APP_PASSWORD, "VGKR TMWZ BQLP SXND"),
], ids=["written-grouped", "configured-grouped", "grouped-over-lines", "upper-case"])
def test_an_app_password_written_in_its_groups_is_refused(project: Project, configured: str, written: str) -> None:
    _mail_channel(project, configured)
    result = project.cli("post", "--yes", "--skip", "mail", "--title", "Status mails not sent", "-C", "api",
                         f"Mail to staff fails since the app password {written} was revoked.")
    assert "vgkr" not in _published(project).lower()
    assert result.exit_code == 2, result.output
    assert "channels.mail.password (${SMTP_PASSWORD}), a configured secret" in result.output


def test_a_short_secret_is_joined_only_at_the_texts_word_boundaries_and_not_when_it_is_words() -> None:
    """12 to 19 characters: found with the white space of both removed only where the pieces begin and end at the
    text's word boundaries (its own groups in a row), and not at all for a secret of words run together."""
    secret = [("the password", APP_PASSWORD)]
    assert redaction.held_secret(f"it was {GROUPED}.", secret) == "the password"
    assert redaction.held_secret(f"(x{GROUPED})", secret) is None  # begins inside a word
    assert redaction.held_secret(f"{GROUPED}ab", secret) is None  # ends inside a word
    words = [("a password", "postgresmain")]
    assert redaction.held_secret("the post gres main server is down", words) is None
    assert redaction.held_secret("the postgres main node is slow", words) is None
    assert redaction.held_secret("postgresmain", words) == "a password"


# -- 3. a token wrapped with a mark at the joint --------------------------------------------------------------------

TG_TOKEN = "7310029846:AAFx21mJointMarkTokenSplit0123456"


@pytest.mark.parametrize("joint", ["\n> ", "\r\n> > ", "\\\n", "=\n", "-\n", "\n| ", "\n# ", "-\n> "],
                         ids=["quoted", "quoted-twice-crlf", "shell", "quoted-printable", "hyphen", "pipe", "hash",
                              "hyphen-quoted"])
def test_a_token_wrapped_with_a_mark_at_the_joint_is_refused(project: Project, joint: str) -> None:
    project.env["TG_TOKEN"] = TG_TOKEN
    project.write_config(ENGINE + '''
[channels.tg-ops]
type = "telegram"
visibility = "internal"
token = "${TG_TOKEN}"
chat_ids = ["-1001"]
''')
    half = len(TG_TOKEN) // 2
    text = f"From the build log:\n\n> bot start {TG_TOKEN[:half]}{joint}{TG_TOKEN[half:]} ok\n\nWe rotate it."
    result = project.cli("post", "--yes", "--skip", "tg-ops", "--title", "Alert bot token rotation", "-C", "api", text)
    published = _published(project)
    assert not (TG_TOKEN[:half] in published and TG_TOKEN[half:] in published)
    assert result.exit_code == 2, result.output
    assert "channels.tg-ops.token (${TG_TOKEN}), a configured secret" in result.output


# -- 4. a mistyped URL option quoted with its password ----------------------------------------------------------------

WRITTEN_PASSWORD = "Fx21mTypoPassw0rdValue"


@pytest.mark.parametrize("table", [
    f'type = "matrix"\nhomeserver = "https//ops:{WRITTEN_PASSWORD}@matrix.example.org"\naccess_token = "${{T}}"\n'
    'room_id = "!ops:example.org"\nvisibility = "internal"',
    f'type = "mastodon"\ninstance_url = "https:/ops:{WRITTEN_PASSWORD}@mastodon.example"\naccess_token = "${{T}}"',
    f'type = "mastodon"\ninstance_url = "https:///ops:{WRITTEN_PASSWORD}@mastodon.example"\naccess_token = "${{T}}"',
    f'type = "bluesky"\nhandle = "acme.bsky.social"\napp_password = "${{T}}"\n'
    f'service = "htps//ops:{WRITTEN_PASSWORD}@bsky.social"',
], ids=["matrix-missing-colon", "mastodon-one-slash", "mastodon-three-slashes",
        "bluesky-mistyped-scheme"])
def test_a_mistyped_url_option_is_refused_without_quoting_its_password(project: Project, table: str) -> None:
    project.env["T"] = "tok-Fx21m-abcdefghijklmnop"
    project.write_config(f"\n[channels.ops]\n{table}\n")
    result = project.cli("list")
    assert result.exit_code == 2, result.output
    assert WRITTEN_PASSWORD not in result.output, result.output
    assert "***@" in result.output, result.output  # the address is still shown, its credentials masked


# -- 8. a header naming the account beside a key ---------------------------------------------------------------------


def _hook_with_headers(project: Project, headers: str) -> None:
    from tests.fakes.webhook import SECRET

    project.env.update({"HOOK_SECRET": SECRET, "GW_KEY": "gwk-Fx21m-0123456789abcdef"})
    project.write_config(ENGINE + f'''
[channels.ops]
type = "webhook"
visibility = "internal"
url = "https://hooks.example.com/in"
secret = "${{HOOK_SECRET}}"
headers = {headers}
''')


@pytest.mark.parametrize("header", [
    '"X-Auth-Email" = "ops@example.com"',
    '"X-Auth-User" = "status-robot"',
    '"X-Request-Key-Id" = "k1"',
    '"X-Signature-Version" = "v1"',
], ids=["email", "user", "key-id", "version"])
def test_a_header_naming_the_account_or_the_scheme_beside_a_key_is_taken(project: Project, header: str) -> None:
    _hook_with_headers(project, f'{{ {header}, "X-Auth-Key" = "${{GW_KEY}}" }}')
    result = project.cli("list")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("header", [
    '"X-Auth-User" = "Fx21mUserKey0123456789"',  # key-like: 16+ characters with digits
    '"X-Session-Id" = "a8f5f167f44f4964e6c998dee827110c"',
    '"X-Auth-Key" = "plainwords"',  # a credential's name, no identity word: refused whatever the value
    '"X-Auth-Email" = "Bearer Fx21mBearerValue0123"',
], ids=["user-key-like", "session-id-hex", "key-word", "bearer-in-email-header"])
def test_a_credential_named_header_with_a_key_like_value_is_still_refused(project: Project, header: str) -> None:
    """The other side of the rule: next to the taken cases (asserted first, failing without the fix), a value that
    is a key stays refused at load, never quoted."""
    _hook_with_headers(project, '{ "X-Auth-Email" = "ops@example.com", "X-Auth-Key" = "${GW_KEY}" }')
    assert project.cli("list").exit_code == 0
    _hook_with_headers(project, f"{{ {header} }}")
    result = project.cli("list")
    assert result.exit_code == 2, result.output
    assert "holds a credential written in the file" in result.output
    assert "Fx21m" not in result.output and "a8f5f167" not in result.output
