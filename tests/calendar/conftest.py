"""Every calendar test leaves the process's calendar as it found it: the package alone."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tongban.calendar import service
from tongban.kit import workdays


@pytest.fixture(autouse=True)
def package_calendar() -> Iterator[None]:
    workdays.set_imported_years({})
    service.forget()
    yield
    workdays.set_imported_years({})
    service.forget()
