"""The case engine: one application fans out to every department's steps along the item's or
the bundle's graph; steps become ready when their inputs are done; legal clocks run in working
days; every change appends to the case's hash-chained event log; who was responsible and who
acted is recorded, and a difference is a duty shift (甩锅) shown to everyone.

One module per concern; this facade is what callers import (``from tongban.cases import
service``):

- :mod:`.access` — the funnels: who may see a case, who may act on a step, on whose behalf;
- :mod:`.intake` — an application becomes a case and its steps;
- :mod:`.engine` — the step engine and its hot path, automatic checks;
- :mod:`.interrupts` — returns, corrections and suspensions, delegation;
- :mod:`.decisions` — committee votes, e-signatures, payments;
- :mod:`.uploads` — files;
- :mod:`.reading` — a case by number, the workbench, the applicant's status;
- :mod:`.clocks` — the escalation ladder;
- :mod:`.notices` — what the applicant is told.

The event log and its integrity checks live beside it, in :mod:`tongban.cases.events`.

Transactions belong to the edge: every function here flushes, none commits. Side effects
(payments, notifications) are jobs deferred in the same transaction (``tongban.jobs``).
"""

from sqlalchemy.orm import Session

from tongban.cases import events
from tongban.cases.service.access import (
    ROLES_BY_KIND,
    SPECIAL_KINDS,
    STAFF_ROLES,
    WINDOW_KINDS,
    StepAccess,
    access_case_by_number,
    access_step_by_id,
    may_act,
    visible_steps,
)
from tongban.cases.service.clocks import TickReport, tick
from tongban.cases.service.decisions import (
    DECISION_RULE,
    Tally,
    agreement_text,
    close_decision,
    committee_size,
    pay,
    payment_direction,
    quorum,
    sign,
    tally,
    vote,
)
from tongban.cases.service.engine import complete_step
from tongban.cases.service.intake import refuse_unfit_item, submit_application
from tongban.cases.service.interrupts import delegate, request_correction, resume, return_step
from tongban.cases.service.reading import get_case_row, public_status, workbench
from tongban.cases.service.uploads import (
    FILE_READER_ROLES,
    ID_REVEALER_ROLES,
    MAX_UPLOAD,
    Attachment,
    check_attachment,
    open_upload,
    reveal_applicant_id,
    upload,
)


def verify_all(*, session: Session) -> list[str]:
    """Every case's event chain; one line per broken case (``events.verify_all``)."""
    return events.verify_all(session)


__all__ = [
    "DECISION_RULE",
    "FILE_READER_ROLES",
    "ID_REVEALER_ROLES",
    "MAX_UPLOAD",
    "ROLES_BY_KIND",
    "SPECIAL_KINDS",
    "STAFF_ROLES",
    "WINDOW_KINDS",
    "Attachment",
    "StepAccess",
    "Tally",
    "TickReport",
    "access_case_by_number",
    "access_step_by_id",
    "agreement_text",
    "check_attachment",
    "close_decision",
    "committee_size",
    "complete_step",
    "delegate",
    "get_case_row",
    "may_act",
    "open_upload",
    "pay",
    "payment_direction",
    "public_status",
    "quorum",
    "refuse_unfit_item",
    "request_correction",
    "resume",
    "return_step",
    "reveal_applicant_id",
    "sign",
    "submit_application",
    "tally",
    "tick",
    "upload",
    "verify_all",
    "visible_steps",
    "vote",
    "workbench",
]
