"""The steps that are finished by their own act: a committee's collective decision (votes,
quorum, minutes), both parties' e-signatures, and payments (exactly once, through the jobs)."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tongban.auth.access import require_principal
from tongban.auth.models import Role, RoleGrant
from tongban.auth.principal import Principal
from tongban.cases import events, repository
from tongban.cases.models import (
    Case,
    CaseStep,
    Payment,
    Signature,
    Upload,
    Vote,
)
from tongban.cases.service.access import access_step_by_id
from tongban.cases.service.engine import finish
from tongban.catalog import service as catalog_service
from tongban.errors import Conflict, FieldError, ValidationFailed
from tongban.jobs import service as jobs


def insert_once(session: Session, row: object, conflict: str, code: str) -> None:
    """Insert a row that a unique constraint allows once (a vote, a signature, a payment); a
    second one is refused with ``code``."""
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(conflict, code=code) from None


def committee_size(session: Session, department_id: int) -> int:
    return (
        session.scalar(
            select(func.count(func.distinct(RoleGrant.user_id))).where(
                RoleGrant.role == Role.COMMITTEE_MEMBER.value,
                RoleGrant.department_id == department_id,
            )
        )
        or 0
    )


def quorum(size: int) -> int:
    return max(1, math.floor(size / 2) + 1)


def vote(*, session: Session, principal: Principal | None, step_id: int, choice: str) -> None:
    who = require_principal(principal)
    access = access_step_by_id(session=session, principal=who, step_id=step_id, action="vote")
    step, case = access.step, access.case
    insert_once(
        session,
        Vote(step_id=step.id, user_id=who.user_id, choice=choice),
        "you have already voted on this decision",
        "already_voted",
    )
    events.append(
        session,
        case_id=case.id,
        action="vote",
        actor_id=who.user_id,
        step_id=step.id,
        data={"choice": choice},
    )


DECISION_RULE = (
    "A majority of the votes for and against decides; abstentions count toward the quorum "
    "only. A tie is no decision: while members have not voted, the decision stays open; when "
    "every member has voted and the votes are still tied, the application is not approved."
)


@dataclass(frozen=True)
class Tally:
    """The votes as the rule reads them (``DECISION_RULE``)."""

    approve: int
    reject: int
    abstain: int
    members: int
    quorum: int

    @property
    def cast(self) -> int:
        return self.approve + self.reject + self.abstain

    @property
    def pending(self) -> int:
        """Members who have not voted."""
        return max(self.members - self.cast, 0)

    @property
    def tied(self) -> bool:
        return self.approve == self.reject

    @property
    def result(self) -> str:
        """``approve``, ``reject``, or ``tied`` (no decision yet: members still to vote)."""
        if self.approve > self.reject:
            return "approve"
        if self.reject > self.approve or self.pending == 0:
            return "reject"
        return "tied"


def tally(session: Session, step: CaseStep) -> Tally:
    cast = repository.votes(session, step.id)
    size = committee_size(session, step.responsible_department_id or 0)
    approve = sum(1 for v in cast if v.choice == "approve")
    reject = sum(1 for v in cast if v.choice == "reject")
    return Tally(approve, reject, len(cast) - approve - reject, size, quorum(size))


def close_decision(
    *,
    session: Session,
    principal: Principal | None,
    step_id: int,
    lock_version: int,
    reasons: str = "",
    confirmed: bool = True,
) -> CaseStep:
    """The committee's decision: needs a quorum, the minutes and the reasons (which the
    applicant reads); the votes decide by ``DECISION_RULE``, and a tie while members have not
    voted is refused rather than read as a refusal."""
    who = require_principal(principal)
    access = access_step_by_id(
        session=session, principal=who, step_id=step_id, action="close_decision"
    )
    step, acting = access.step, access.acting_department_id
    votes = tally(session, step)
    if votes.cast < votes.quorum:
        raise Conflict(
            "%(voted)s of %(size)s members voted; the quorum is %(quorum)s",
            params={"voted": votes.cast, "size": votes.members, "quorum": votes.quorum},
            code="quorum_not_met",
        )
    minutes = session.scalar(
        select(Upload.id).where(Upload.step_id == step.id, Upload.purpose == "minutes")
    )
    if minutes is None:
        raise Conflict("attach the minutes before closing the decision", code="minutes_missing")
    if votes.result == "tied":
        raise Conflict(
            "the votes are tied (%(approve)s for, %(reject)s against) and %(pending)s members "
            "have not voted: a tie is no decision",
            params={"approve": votes.approve, "reject": votes.reject, "pending": votes.pending},
            code="decision_tied",
        )
    reasons = reasons.strip()
    if not 2 <= len(reasons) <= 2000:
        raise ValidationFailed(
            "give the reasons for the decision (2 to 2000 characters): the applicant reads them",
            errors=[FieldError("reasons", "Give the reasons for the decision.")],
            code="decision_reasons_missing",
        )
    if not confirmed:
        raise ValidationFailed(
            "confirm the result before closing the decision: it is final",
            errors=[FieldError("confirm", "Confirm the result: it is final.")],
            code="decision_not_confirmed",
        )
    outcome = {
        "decision": votes.result,
        "approve": votes.approve,
        "reject": votes.reject,
        "abstain": votes.abstain,
        "members": votes.members,
        "quorum": votes.quorum,
        "tied": votes.tied,
        "rule": "majority_of_votes_cast_tie_fails",
        "reason": reasons,
        "minutes_upload": minutes,
    }
    finish(
        session,
        step,
        actor_id=who.user_id,
        acting_department_id=acting,
        lock_version=lock_version,
        outcome=outcome,
        action="collective_decision",
    )
    return step


def agreement_text(case: Case, step: CaseStep) -> str:
    lines = [
        f"{step.name_zh} / {step.name_en}",
        f"案件 Case: {case.number}",
        f"申请人 Applicant: {case.applicant_name}",
    ]
    lines += [f"{k}: {v}" for k, v in sorted(case.form_data.items())]
    return "\n".join(lines) + "\n"


def sign(
    *, session: Session, principal: Principal | None, step_id: int, party: str, lock_version: int
) -> CaseStep:
    """Both parties sign the generated document; its hash is what they signed. The step is
    done when the applicant (signing at the window, identity checked) and the department have."""
    who = require_principal(principal)
    if party not in ("applicant", "department"):
        raise ValidationFailed(
            "the party is the applicant or the department",
            errors=[FieldError("party", "applicant or department")],
            code="bad_party",
        )
    access = access_step_by_id(
        session=session, principal=who, step_id=step_id, action=f"sign_{party}"
    )
    step, case, acting = access.step, access.case, access.acting_department_id
    digest = hashlib.sha256(agreement_text(case, step).encode()).hexdigest()
    insert_once(
        session,
        Signature(step_id=step.id, user_id=who.user_id, party=party, document_sha256=digest),
        "you have already signed this document",
        "already_signed",
    )
    events.append(
        session,
        case_id=case.id,
        action="signed",
        actor_id=who.user_id,
        step_id=step.id,
        data={
            "party": party,
            "document_sha256": digest,
            **(
                {"signed_for": case.applicant_name, "identity_checked_by": who.username}
                if party == "applicant"
                else {}
            ),
        },
    )
    parties = set(session.scalars(select(Signature.party).where(Signature.step_id == step.id)))
    if parties >= {"applicant", "department"}:
        finish(
            session,
            step,
            actor_id=who.user_id,
            acting_department_id=acting,
            lock_version=lock_version,
            outcome={"document_sha256": digest, "parties": sorted(parties)},
        )
    return step


def pay(
    *,
    session: Session,
    principal: Principal | None,
    step_id: int,
    lock_version: int,
    amount_fen: int | None = None,
) -> Payment:
    """Exactly once: one payment row per step (unique), sent by a payment job after commit.

    The direction follows the item: an item whose output is a payment (a benefit, an award)
    pays out to the applicant's bank account; any other payment step (a tax, a fee) collects
    from the applicant, and the amount is the officer's to state."""
    who = require_principal(principal)
    access = access_step_by_id(session=session, principal=who, step_id=step_id, action="pay")
    step, case, acting = access.step, access.case, access.acting_department_id
    direction = payment_direction(session, step)
    account = str(case.form_data.get("DE.BANK_ACCOUNT", ""))
    if direction == "pay_out" and not account:
        raise ValidationFailed(
            "the application names no bank account",
            errors=[FieldError("form.DE.BANK_ACCOUNT", "required for a payment")],
            code="bank_account_missing",
        )
    if direction == "collect" and amount_fen is None:
        raise ValidationFailed(
            "state the amount to collect",
            errors=[FieldError("amount_fen", "required")],
            code="amount_required",
        )
    amount = amount_fen if amount_fen is not None else award_from_checks(session, case)
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise ValidationFailed(
            "the amount is a positive number of fen",
            errors=[FieldError("amount_fen", "positive integer fen")],
            code="bad_amount",
        )
    payment = Payment(
        case_id=case.id,
        step_id=step.id,
        amount_fen=amount,
        account=account if direction == "pay_out" else "",
        direction=direction,
        reference=f"{case.number}-{step.id}",
    )
    insert_once(session, payment, "this payment has already been made", "already_paid")
    jobs.defer(
        session,
        kind="payment" if direction == "pay_out" else "collection",
        key=f"payment:{payment.reference}",
        payload={
            "reference": payment.reference,
            "amount_fen": amount,
            "account": payment.account,
            "applicant": case.applicant_name,
        },
    )
    finish(
        session,
        step,
        actor_id=who.user_id,
        acting_department_id=acting,
        lock_version=lock_version,
        outcome={"payment": payment.reference, "amount_fen": amount, "direction": direction},
        action="payment",
    )
    return payment


def payment_direction(session: Session, step: CaseStep) -> str:
    """``pay_out`` (a benefit or award to the applicant) or ``collect`` (a tax or a fee)."""
    items = catalog_service.published_items(session=session, codes=[step.item_code or ""])
    item = items.get(step.item_code or "")
    pays_out = item is not None and any(o.kind.value == "payment" for o in item.outputs)
    return "pay_out" if pays_out else "collect"


def award_from_checks(session: Session, case: Case) -> int:
    for step in repository.steps_of(session, case.id):
        award = (step.outcome or {}).get("inputs", {}).get("award_fen")
        if isinstance(award, int) and award > 0:
            return award
    return 0
