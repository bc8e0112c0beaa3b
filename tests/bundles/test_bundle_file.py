"""A bundle file's errors come all at once, each at the member's own line (a newcomer's file with
three mistakes was refused one mistake at a time, each located at the bundle's first line)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tongban.bundles.io import read_bundles
from tongban.errors import ValidationFailed

FILE = """\
format: tongban-bundles/1
bundles:
  - code: first-thing
    name_zh: 测试
    name_en: Test
    kind: life_event
    lead_department: QX-ZJJ
    questions:
      - code: q1
        text_zh: 问
        text_en: Q
        answers: [{code: 'yes', zh: 是, en: 'Yes'}]
    members:
      - item: QX-A
      - item: QX-B
        depends_on: [QX-NOPE]
      - item: QX-C
        when: {q2: ['yes']}
      - item: QX-A
"""


def test_every_member_mistake_is_named_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bundles.yaml"
    path.write_text(FILE, encoding="utf-8")
    with pytest.raises(ValidationFailed) as refused:
        read_bundles(path)
    assert refused.value.code == "bundle_file_invalid"
    found = {(e.loc, e.message) for e in refused.value.errors}
    assert found == {
        (
            "bundles.yaml: bundles[0] (first-thing).members[3].item (line 19)",
            "members listed twice: QX-A",
        ),
        (
            "bundles.yaml: bundles[0] (first-thing).members[1].depends_on[0] (line 16)",
            "member QX-B depends on QX-NOPE, which is not a member",
        ),
        (
            "bundles.yaml: bundles[0] (first-thing).members[2].when.q2 (line 18)",
            "member QX-C names unknown question 'q2'",
        ),
    }
