"""A tied committee vote is no decision (issue 12, point 4): the rule is shown, a tie while
members have not voted cannot be closed, the chair confirms the result and gives the reasons,
and a tie with every member voted is a refusal that says so."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.cases.test_case_pages import (
    _as,
    _attach_minutes,
    _big_world,
    _hidden,
    _lock,
    _post,
    _step_id,
    _through_verification,
)
from tests.factories import assert_refused
from tongban.cases.service import Tally


def test_the_rule_reads_a_tie_as_no_decision_until_everyone_has_voted() -> None:
    assert Tally(2, 1, 0, 3, 2).result == "approve"
    assert Tally(1, 2, 0, 3, 2).result == "reject"
    assert Tally(1, 1, 0, 3, 2).result == "tied"  # one member still to vote
    assert Tally(1, 1, 1, 3, 2).result == "reject"  # everyone voted: the motion fails
    assert Tally(0, 0, 2, 3, 2).result == "tied"
    assert Tally(1, 1, 0, 3, 2).pending == 1


def _vote(client: TestClient, number: str, decision: int, member: str, choice: str) -> None:
    _as(client, member)
    page = client.get(f"/cases/{number}/steps/{decision}/decision")
    voted = _post(
        client,
        f"/cases/{number}/steps/{decision}/vote",
        {
            "csrf_token": _hidden(page.text, "csrf_token"),
            "lock_version": _lock(client, number, decision),
            "choice": choice,
        },
    )
    assert voted.status_code == 303


def test_a_tied_vote_is_refused_then_closed_as_a_refusal_with_reasons(
    client: TestClient, session: Session
) -> None:
    _big_world(session)
    number = _through_verification(client, session)
    decision = _step_id(client, number, "collective_decision")
    url = f"/cases/{number}/steps/{decision}/decision"
    _vote(client, number, decision, "committee.a", "approve")
    _vote(client, number, decision, "committee.b", "reject")
    page = client.get(url)
    token = _hidden(page.text, "csrf_token")
    _attach_minutes(client, number, decision, token)
    page = client.get(url)
    assert 'data-testid="decision-rule"' in page.text
    assert 'data-result="tied" data-pending="1"' in page.text
    assert 'data-testid="tied"' in page.text
    assert "committee.c" in page.text.split('data-testid="not-voted"')[1].split("</dd>")[0]
    assert 'data-testid="close-form"' not in page.text
    tied = _post(
        client,
        f"/cases/{number}/steps/{decision}/close",
        {
            "csrf_token": token,
            "lock_version": _lock(client, number, decision),
            "reasons": "票数相同",
            "confirm": "yes",
        },
    )
    assert_refused(tied, 409, "decision_tied")

    _vote(client, number, decision, "committee.c", "abstain")
    page = client.get(url)
    assert 'data-result="reject" data-pending="0"' in page.text
    assert "不予批准" in page.text
    token = _hidden(page.text, "csrf_token")
    no_reasons = _post(
        client,
        f"/cases/{number}/steps/{decision}/close",
        {"csrf_token": token, "lock_version": _lock(client, number, decision), "confirm": "yes"},
    )
    assert_refused(no_reasons, 422, "decision_reasons_missing")
    closed = _post(
        client,
        f"/cases/{number}/steps/{decision}/close",
        {
            "csrf_token": token,
            "lock_version": _lock(client, number, decision),
            "reasons": "赞成与反对各一票，一票弃权，未获多数通过",
            "confirm": "yes",
        },
    )
    assert closed.status_code == 303
    done = client.get(closed.headers["location"]).text
    assert 'data-testid="decision-reasons"' in done
    assert "未获多数通过" in done
    assert "全体委员表决后票数相同：不予批准" in done
