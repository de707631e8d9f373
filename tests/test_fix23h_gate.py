"""Fix 23h: the round-bracket reading of 68f8728 (fix 23c), reviewed in 23f, through the real CLI against the fake
webhook, the public site and acme's fake Slack.

It refused ordinary ops prose ("(int only)" the integration environment, "(conf only)" a config change, "(priv:
root)", "(private: 3 nodes, public: 2 nodes)") and published labels next to the ones it refused ("(Private and
Confidential)", "(confidential | CHG-4411)", "(i n t e r n a l o n l y)", "(S.R.E. only)"). The abbreviations are now
read only with their full stop, "private" heads no detail, a label heads its detail after any break and takes its
companions, and letters spaced apart are read across words."""

from __future__ import annotations

import pytest
from broadcaster.messages import gate

from tests.conftest import Project
from tests.fakes.slack import FakeSlack
from tests.fakes.webhook import FakeReceiver
from tests.gate_helpers import (  # noqa: F401 - public_receiver: the pub fixture
    LEAK,
    RULE_IDS,
    RULES,
    assert_kept_back,
    assert_taken,
    public_receiver,
    refused,
)
from tests.test_fix21g2_audience import assert_nothing_reached_acme, slack_server  # noqa: F401 - the slack fixture

# Refused at 68f8728, published before it and now (review 23f, F1 and F2): bare int / conf / priv are ops words, and
# "private" heading a value is the network word.
PROSE = [
    ("config-only-deploy", "The 14:02 deploy (conf only) changed the pool size; we rolled it back at 14:20.",
     "(conf only)"),
    ("config-only-hyphen", "The 14:02 deploy (conf-only) changed the pool size.", "(conf-only)"),
    ("config-only-no-code", "The 14:02 change (conf only, no code) changed the pool size.", "(conf only, no code)"),
    ("config-file-head", "The reload (conf: /etc/nginx/nginx.conf) failed at 14:03.", "(conf: /etc/nginx/nginx.conf)"),
    ("config-value-head", "The pool (conf: 200 connections) was exhausted.", "(conf: 200 connections)"),
    ("integration-env", "The bad build (int only) never reached production.", "(int only)"),
    ("deployed-to-int", "The bad build (deployed to int only) never reached production.", "(deployed to int only)"),
    ("only-int", "The bad build (only int) never reached production.", "(only int)"),
    ("rollout-status", "Rollout: dev (done), int (done), prod (int only so far).", "(int only so far)"),
    ("international-calls", "Calls (int only) failed; domestic calls worked.", "(int only)"),
    ("sql-int-type", "The id column (int only) overflowed at 2,147,483,647.", "(int only)"),
    ("signed-int", "The id column (signed int only) overflowed at 2,147,483,647.", "(signed int only)"),
    ("node-pools", "Node pools (private: 3 nodes, public: 2 nodes) were drained at 14:10.",
     "(private: 3 nodes, public: 2 nodes)"),
    ("subnets", "Subnets (private - 10.0.0.0/8; public - 203.0.113.0/24) lost their routes.",
     "(private - 10.0.0.0/8; public - 203.0.113.0/24)"),
    ("privilege-head", "The process (priv: root) was restarted at 14:05.", "(priv: root)"),
    ("privileged-pods", "Pods (priv only) crashed after the kernel update.", "(priv only)"),
    ("bridge-number", "Join the bridge (conf: 555-0100) for updates.", "(conf: 555-0100)"),
    ("private-regions", "Outage (private: eu-west-1 and eu-central-1 only) for Private Link customers.",
     "(private: eu-west-1 and eu-central-1 only)"),
    ("private-dash-all-regions", "Affected endpoints (Private - all regions) recovered at 14:10.",
     "(Private - all regions)"),
    ("private-en-dash-region", "Endpoints (private \u2013 eu-west-1) recovered at 14:10.", "(private \u2013 eu-west-1)"),
    ("tiers", "Both tiers (private: degraded; public: fine) are being watched.", "(private: degraded; public: fine)"),
    ("private-keys-only", "Keys (priv only) were rotated; no data was exposed.", "(priv only)"),
    ("conf-alone", "Only the config (conf) changed.", "(conf)"),
    ("priv-alone", "Pods (priv) crashed.", "(priv)"),
    ("conf-yes", "The flag (conf: yes) was set.", "(conf: yes)"),
]


@pytest.mark.parametrize(("text", "shown"), [c[1:] for c in PROSE], ids=[c[0] for c in PROSE])
def test_ordinary_ops_prose_is_published_again(project: Project, pub: FakeReceiver, text: str, shown: str) -> None:
    assert_taken(project, pub, text, shown)


@pytest.mark.parametrize("rule", RULES, ids=RULE_IDS)
@pytest.mark.parametrize("text", [c[1] for c in PROSE], ids=[c[0] for c in PROSE])
def test_every_field_takes_it(text: str, rule: gate.Rule) -> None:
    assert not refused(text, rule)


# A classification label of a few words (review 23f, F3): a label word with companions only.
LABEL_PAIRS = [
    ("private-and-confidential", "Root cause (Private and Confidential) is CHG-4411."),
    ("company-confidential", "Root cause (Company Confidential) is CHG-4411."),
    ("confidential-slash-internal", "Root cause (Confidential/Internal) is CHG-4411."),
    ("internal-slash-confidential", "Root cause (Internal/Confidential) is CHG-4411."),
    ("internal-and-confidential", "Root cause (Internal and Confidential) is CHG-4411."),
    ("internal-comma-confidential", "Root cause (Internal, Confidential) is CHG-4411."),
    ("confidential-for-now", "Root cause (confidential for now) is CHG-4411."),
    ("still-confidential", "Root cause (still confidential) is CHG-4411."),
    ("confidential-please", "Root cause (confidential please) is CHG-4411."),
    ("company-confidential-head", "Root cause (Company Confidential: CHG-4411)."),
    ("privileged-and-confidential", "Root cause (Privileged and Confidential) is CHG-4411."),
    ("confidential-information", "Root cause (CONFIDENTIAL INFORMATION) is CHG-4411."),
    ("confidential-until", "Root cause (confidential until fixed) is CHG-4411."),
]

# A label heading its detail after a break other than a colon or a spaced dash (review 23f, F4).
HEADS = [
    ("pipe", "Root cause (confidential | CHG-4411)."),
    ("arrow", "Root cause (confidential \u2192 CHG-4411)."),
    ("semicolon", "Root cause (confidential; CHG-4411)."),
    ("semicolon-root-cause", "Postmortem (confidential; root cause CHG-4411)."),
    ("slash", "Root cause (confidential / CHG-4411)."),
    ("full-stop", "Root cause (Confidential. CHG-4411)."),
    ("unspaced-em-dash", "Root cause (confidential\u2014CHG-4411)."),
    ("hyphen-before-detail", "Root cause (confidential -CHG-4411)."),
    ("vertraulich-semicolon", "Ursache (vertraulich; Ursache CHG-4411)."),
    ("paragraph-break", "Root cause (confidential\n\nCHG-4411)."),
    ("pair-then-pipe", "Root cause (Internal/Confidential | CHG-4411)."),
]

# Disguises next to the ones 68f8728 read (review 23f, F5), and the abbreviations with their full stop.
DISGUISES = [
    ("every-letter-spaced", "Root cause (i n t e r n a l o n l y) is CHG-4411."),
    ("underscored-letters", "Root cause (i_n_t_e_r_n_a_l only) is CHG-4411."),
    ("underscored-confidential", "Root cause (c_o_n_f_i_d_e_n_t_i_a_l) is CHG-4411."),
    ("dotted-spaced-letters", "Root cause (i. n. t. e. r. n. a. l. only) is CHG-4411."),
    ("double-spaced-letters", "Root cause (i  n  t  e  r  n  a  l only) is CHG-4411."),
    ("slashed-letters", "Root cause (i/n/t/e/r/n/a/l only) is CHG-4411."),
    ("bang-for-i", "Root cause (!nternal only) is CHG-4411."),
    ("one-for-i-in-priv-dot", "Root cause (pr1v.) is CHG-4411."),
    ("common-typo", "Root cause (confidental) is CHG-4411."),
    ("common-typo-head", "Root cause (Confidental: CHG-4411)."),
    ("hyphen-letters-both-words", "Root cause (s-t-a-f-f o-n-l-y) is CHG-4411."),
    ("hyphen-letters-do-not-share", "Root cause (d-o n-o-t s-h-a-r-e) is CHG-4411."),
    ("int-dot-only-unspaced", "Root cause (int.only) is CHG-4411."),
    ("dotted-team-initials", "Root cause (S.R.E. only) is CHG-4411."),
    ("dotted-noc", "Root cause (N.O.C. only) is CHG-4411."),
    ("ext-abbreviated", "Root cause (not for ext. use) is CHG-4411."),
]

ALL = LABEL_PAIRS + HEADS + DISGUISES


@pytest.mark.parametrize("text", [c[1] for c in ALL], ids=[c[0] for c in ALL])
def test_a_confidentiality_label_is_not_published(project: Project, pub: FakeReceiver, text: str) -> None:
    assert_kept_back(project, pub, text)


@pytest.mark.parametrize("rule", RULES, ids=RULE_IDS)
@pytest.mark.parametrize("text", [c[1] for c in ALL], ids=[c[0] for c in ALL])
def test_every_field_a_reader_shares_refuses_them(text: str, rule: gate.Rule) -> None:
    assert refused(text, rule)


@pytest.mark.parametrize("title", ["API errors (Private and Confidential) CHG-4411",
                                   "API errors (confidential | CHG-4411)"], ids=["pair", "pipe-head"])
def test_in_a_title(title: str) -> None:
    assert refused(title, gate.TITLE)


def test_a_heading_with_a_label_pair_is_refused(project: Project, pub: FakeReceiver) -> None:
    assert_kept_back(project, pub, "## Root cause (Confidential/Internal)\nOur change CHG-4411 did it.")


def test_a_label_pair_in_for_text_is_refused(project: Project, slack: FakeSlack) -> None:
    result = project.cli("post", "--yes", "--title", "API errors", "-C", "api", "--for", "acme",
                         "Your circuit flapped. Root cause (Private and Confidential): our change CHG-4411.",
                         "API errors.")
    assert result.exit_code == 2, result.output
    assert_nothing_reached_acme(project, slack)
    assert LEAK == "CHG-4411"


# Guards, refused at 68f8728 and now: the abbreviations with their full stop, a label pair, a spaced em dash. They
# pass without this fix and show it keeps what 68f8728 rightly refused.
STILL_REFUSED = [
    ("int-dot-only", "Affected: SMS (int. only), root cause CHG-4411."),
    ("priv-dot", "Root cause (priv.) is CHG-4411."),
    ("strictly-conf-dot", "Root cause (strictly conf.) is CHG-4411."),
    ("private-slash-confidential", "Root cause (private/confidential) is CHG-4411."),
    ("spaced-em-dash", "Root cause (confidential \u2014 CHG-4411)."),
]


@pytest.mark.parametrize("text", [c[1] for c in STILL_REFUSED], ids=[c[0] for c in STILL_REFUSED])
def test_what_68f8728_rightly_refused_stays_refused(project: Project, pub: FakeReceiver, text: str) -> None:
    assert_kept_back(project, pub, text)


# Guards, published before 68f8728, at it and now: they pass without this fix and show the new readings (companions,
# breaks, letters read across words, abbreviations) do not over-refuse.
GUARDS = [
    ("private-and-public", "Both networks (private and public) were affected.", "(private and public)"),
    ("private-or-confidential", "No data (private or confidential) was exposed.", "(private or confidential)"),
    ("confidential-computing", "Confidential VMs (confidential computing) fail to boot.", "(confidential computing)"),
    ("confidential-hyphenated", "Some VMs (confidential-computing VMs) fail to boot.", "(confidential-computing VMs)"),
    ("private-beta", "The API (private beta) is slow.", "(private beta)"),
    ("internal-alone", "The build cache (internal) is slow.", "(internal)"),
    ("internal-api", "The build (internal API) is slow.", "(internal API)"),
    ("int-host", "DNS (int.example.com) failed.", "(int.example.com)"),
    ("int-host-suffix", "DNS for the host (v1.int.) failed.", "(v1.int.)"),
    ("country", "Traffic (U.S.A.) is slow.", "(U.S.A.)"),
    ("for-example", "Some regions (e.g. EU only) are slow.", "(e.g. EU only)"),
    ("that-is", "The gateway (i.e. the API) is slow.", "(i.e. the API)"),
    ("morning", "The job (9 a.m. UTC) failed.", "(9 a.m. UTC)"),
    ("initials", "Queues (S Q S) are slow.", "(S Q S)"),
    ("team-plan", "Accounts (T E A M plan) are slow.", "(T E A M plan)"),
    ("team-initials-alone", "Paging (S.R.E.) was slow.", "(S.R.E.)"),
    ("int-dns", "Lookups (int. DNS) failed.", "(int. DNS)"),
    ("conf-call", "Join us (conf. call, 15:00 UTC) for updates.", "(conf. call, 15:00 UTC)"),
    ("exclaimed", "The fix (deployed!) holds.", "(deployed!)"),
    ("private-pipe-region", "Endpoints (private | eu-west-1) recovered at 14:10.", "(private | eu-west-1)"),
    ("privileged-access", "Logins (privileged access) failed.", "(privileged access)"),
    ("information-only", "The banner (information only) is wrong.", "(information only)"),
    ("private-until", "The beta (private until Monday) is down.", "(private until Monday)"),
    ("computing-until", "VMs (confidential computing until Friday) fail.", "(confidential computing until Friday)"),
]


@pytest.mark.parametrize(("text", "shown"), [c[1:] for c in GUARDS], ids=[c[0] for c in GUARDS])
def test_prose_beside_the_new_readings_stays_published(project: Project, pub: FakeReceiver, text: str,
                                                       shown: str) -> None:
    assert_taken(project, pub, text, shown)
