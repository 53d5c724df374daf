"""Issue 21.1: the guards of `policy restrict` that need no tenant: the closest address, the empty group."""

from __future__ import annotations

import pytest

from roomsops.core.addresses import closest
from roomsops.core.errors import OperationFailed
from roomsops.services.policy.group import refuse_empty_group
from roomsops.services.policy.model import GroupRequest, Outcome, Step

KNOWN = [
    "DiegoS@roomslab.onmicrosoft.com",
    "AdeleV@roomslab.onmicrosoft.com",
    "room-zurich@roomslab.onmicrosoft.com",
]


def test_a_wrong_domain_suggests_the_same_name_in_the_tenant() -> None:
    assert closest("diegos@contoso.onmicrosoft.com", KNOWN) == "DiegoS@roomslab.onmicrosoft.com"


def test_a_typo_suggests_the_nearest_and_nothing_near_suggests_nothing() -> None:
    assert closest("room-zurch@roomslab.onmicrosoft.com", KNOWN) == "room-zurich@roomslab.onmicrosoft.com"
    assert closest("x@y.org", KNOWN) is None
    assert closest("anything@x.org", []) is None


REQUEST = GroupRequest(group="SyncIsAllowed", members=("a@x.org", "b@x.org"))


def test_a_group_with_no_member_left_gets_no_policy() -> None:
    steps = [
        Step("group", "SyncIsAllowed", Outcome.CREATED),
        Step("member", "a@x.org", Outcome.FAILED, "refused"),
        Step("member", "b@x.org", Outcome.FAILED, "refused too"),
    ]
    with pytest.raises(OperationFailed) as caught:
        refuse_empty_group(REQUEST, steps, "RestrictAccess policy")
    assert caught.value.code == "group_empty"
    assert "a@x.org: refused; b@x.org: refused too" in caught.value.message
    assert "the RestrictAccess policy was not created" in caught.value.message
    assert "Remove-DistributionGroup -Identity SyncIsAllowed" in (caught.value.remedy or "")


@pytest.mark.parametrize("kept", [Outcome.ADDED, Outcome.ALREADY])
def test_one_member_in_the_group_is_enough(kept: Outcome) -> None:
    steps = [Step("member", "a@x.org", Outcome.FAILED, "refused"), Step("member", "b@x.org", kept)]
    refuse_empty_group(REQUEST, steps, "RestrictAccess policy")  # no exception


def test_an_unknown_name_in_the_tenant_domain_suggests_nothing_unrelated() -> None:
    """review21: the shared domain made every mailbox of the tenant "close" to any unknown name."""
    assert closest("nobody@roomslab.onmicrosoft.com", KNOWN) is None
    assert closest("zz@roomslab.onmicrosoft.com", KNOWN) is None
    assert closest("diegoz@roomslab.onmicrosoft.com", KNOWN) == "DiegoS@roomslab.onmicrosoft.com"
