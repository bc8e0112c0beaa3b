"""HTML pages of one-thing bundles (一件事): the list, the citizen's page (questions → one
personalised form and the materials to bring), the reduction ledger with its chart (``view``),
and the reform office's composer (pick items, set dependencies and questions, watch the ledger:
``edit``, its form in ``form``); ``common`` holds the label tables and what they share.

Labels of the domain's enumerations are English message ids; templates translate them. Every
POST checks the session's CSRF token; every rule (who may compose, what is valid) is the
service's.
"""

from fastapi import APIRouter

from tongban.bundles.pages import edit, view
from tongban.bundles.pages.common import LABELS, RULE_LABELS
from tongban.bundles.pages.form import ANSWER_SYNTAX, WHEN_SYNTAX

__all__ = ["ANSWER_SYNTAX", "LABELS", "RULE_LABELS", "WHEN_SYNTAX", "router"]

router = APIRouter(include_in_schema=False)
# The composer first: its fixed paths (/bundles/new, /bundles/preview) come before the
# citizen's page at /bundles/{code}.
for _module in (edit, view):
    router.include_router(_module.router)
