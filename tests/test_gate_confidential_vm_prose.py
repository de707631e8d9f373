"""Review 23m of f8238f3 (gate: '&', '+', '=' as breaks after a label; a label ending its detail after a colon):
ordinary ops prose about Confidential VMs / Confidential nodes / security type "Confidential" (Azure's and Google
Cloud's product and setting names), published at 0c667d8, was refused; it is taken again. "(machine type: n2d /
confidential)" stays refused: after "/" a label ends its detail ("(CHG-4411 / confidential)"), and the two cannot be
told apart. Fast: the gate is called directly (``refused``); one CLI case shows the operator's view.
"""

from __future__ import annotations

import pytest
from broadcaster.messages import gate

from tests.conftest import Project
from tests.fakes.webhook import FakeReceiver
from tests.gate_helpers import (  # noqa: F401 - public_receiver: the pub fixture
    RULE_IDS,
    RULES,
    assert_taken,
    public_receiver,
    refused,
)

_PREAMBLE = "We are sorry for the disruption this caused to your deployments today. " * 8

PROSE = [
    # "&" and "+" join two kinds of machine
    ("conf-and-public-vms", "Instances (confidential & public VMs) in europe-west4 failed to start at 09:10 UTC."),
    ("conf-plus-standard-vms", "Instances (confidential + standard VMs) in europe-west4 failed to start at 09:10 UTC."),
    ("gke-conf-and-shielded-nodes", "GKE nodes (Confidential & Shielded nodes) failed to boot from 09:10 to 09:55."),
    ("conf-and-gpu-nodes", "Some workloads (Confidential & GPU nodes) failed from 09:10 to 09:55 UTC."),
    ("conf-and-public-clusters", "GKE node pools (confidential & public clusters) failed to boot at 09:10."),
    # "=" is a break: a setting's value
    ("gce-confidential-eq-true", "GCE instances (confidential = true) failed to boot from 09:10 to 09:55 UTC."),
    ("conf-eq-enabled", "New instances (confidential = enabled) failed to start from 09:10 to 09:55 UTC."),
    # A label ending its detail (_label_ends): a setting's name, then its value "Confidential"
    ("azure-security-type-colon", "Azure VMs (security type: Confidential) failed to start from 09:10 to 09:55 UTC."),
    ("azure-security-type-eq", "Azure VMs (Security type = Confidential) failed to start from 09:10 to 09:55 UTC."),
    ("vm-type-eq", "Instances (VM type = confidential) failed to start from 09:10 to 09:55 UTC."),
    ("instance-type-colon", "Instances (instance type: Confidential) failed to start from 09:10 to 09:55 UTC."),
    ("n2d-plus-conf", "GKE node pools (N2D + confidential) failed to boot from 09:10 to 09:55 UTC."),
    # Not even a bracket: an unclosed "(" (a sad smiley) or a list item's ")" read back 400 characters
    ("smiley-then-line", "Status :(\nConfidential & GPU nodes were affected.\nWe are sorry."),
    ("numbered-list-setting", _PREAMBLE + "\nImpact:\n1) Instances failed to start.\nSecurity type: Confidential\n"
     "2) Dashboards lagged."),
    ("numbered-list-step", _PREAMBLE + "\nSteps:\n1) drain the node\n2) set pool = confidential\n3) verify"),
    ("intel-tdx-and-conf", "Some workloads (Intel TDX & confidential) failed from 09:10 to 09:55 UTC."),
    ("amd-sev-and-conf", "Some workloads (AMD SEV & confidential) failed from 09:10 to 09:55 UTC."),
]


@pytest.mark.parametrize("rule", RULES, ids=RULE_IDS)
@pytest.mark.parametrize("text", [c[1] for c in PROSE], ids=[c[0] for c in PROSE])
def test_confidential_vm_prose_is_taken(text: str, rule: gate.Rule) -> None:
    assert not refused(text, rule)


def test_the_operator_posts_azure_security_type_prose(project: Project, pub: FakeReceiver) -> None:
    assert_taken(project, pub, "Azure VMs (security type: Confidential) failed to start from 09:10 to 09:55 UTC.",
                 "(security type: Confidential)")
