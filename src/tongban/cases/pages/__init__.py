"""HTML pages of cases: the application (single window or online), the applicant's status
page, the officer's workbench, the case page with its timeline (``case``) and the actions on
its steps (``steps``), the committee's decision page and the signing page, one module each
(``common`` holds what they share).

The engine (``tongban.cases.service``) decides everything; these pages ask, show and report
its answers. Every POST carries the CSRF token, every action on a step the ``lock_version`` the
page was drawn with, and every success answers with a 303 redirect.
"""

from fastapi import APIRouter

from tongban.cases.pages import (
    apply,
    case,
    caselist,
    committee,
    receipts,
    signing,
    status,
    steps,
    workbench,
)

router = APIRouter(include_in_schema=False)
for _module in (apply, receipts, status, workbench, caselist, case, steps, committee, signing):
    router.include_router(_module.router)
