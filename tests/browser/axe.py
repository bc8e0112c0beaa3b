"""axe-core in the browser tests: installed from the npm registry into test-artifacts/npm/ (like
bpmn-js), injected into the page under test, and asked for its violations.

The project's rule: a page is done when a person finishes the journey on a phone and axe-core
finds nothing serious. ``assert_no_serious_violations`` fails on every violation whose impact is
"serious" or "critical", naming the rule, what to fix and where (selectors and HTML snippets).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

REPO_ROOT = Path(__file__).resolve().parents[2]
NPM_DIR = REPO_ROOT / "test-artifacts" / "npm"
AXE_PACKAGE = "axe-core@4"
AXE_SCRIPT = NPM_DIR / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")
SHOWN_NODES = 3

Violation = dict[str, Any]

RUN = """
async () => {
  const results = await axe.run(document, { resultTypes: ['violations'] });
  return results.violations.map(v => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    helpUrl: v.helpUrl,
    nodes: v.nodes.map(n => ({
      target: n.target.map(t => Array.isArray(t) ? t.join(' >>> ') : String(t)),
      html: n.html,
      summary: n.failureSummary || '',
    })),
  }));
}
"""


def install_axe() -> Path:
    """The path of ``axe.min.js``, installing ``axe-core@4`` from npm on first use."""
    if AXE_SCRIPT.exists():
        return AXE_SCRIPT
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is missing: it is needed to install axe-core from the npm registry")
    NPM_DIR.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--prefix", str(NPM_DIR), AXE_PACKAGE],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0 or not AXE_SCRIPT.exists():
        pytest.fail(f"npm could not install {AXE_PACKAGE}:\n{done.stdout}\n{done.stderr}")
    return AXE_SCRIPT


def violations(page: Page, script: Path) -> list[Violation]:
    """axe-core's violations on the page as it is now (all rules, all impacts)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # evaluated, not added as a <script>: the page's Content-Security-Policy refuses an
        # inline script, as it should
        page.evaluate(script.read_text(encoding="utf-8"))
    found: list[Violation] = page.evaluate(RUN)
    return found


def serious(found: list[Violation]) -> list[Violation]:
    return [v for v in found if v.get("impact") in SERIOUS]


def describe(found: list[Violation]) -> str:
    """One paragraph per violation: rule, impact, help, and the first few offending nodes."""
    lines: list[str] = []
    for violation in found:
        nodes = violation["nodes"]
        lines.append(
            f"- {violation['id']} ({violation['impact']}, {len(nodes)} nodes): "
            f"{violation['help']} <{violation['helpUrl']}>"
        )
        for node in nodes[:SHOWN_NODES]:
            html = " ".join(node["html"].split())
            if len(html) > 200:
                html = html[:200] + "…"
            lines.append(f"    at {', '.join(node['target'])}: {html}")
        if len(nodes) > SHOWN_NODES:
            lines.append(f"    … and {len(nodes) - SHOWN_NODES} more")
    return "\n".join(lines)


class Axe:
    """The ``axe`` fixture: ``axe.run(page)`` returns the violations, ``axe.check(page)`` fails
    on the serious and critical ones and returns them all."""

    def __init__(self, script: Path) -> None:
        self.script = script

    def run(self, page: Page) -> list[Violation]:
        return violations(page, self.script)

    def check(self, page: Page, where: str | None = None) -> list[Violation]:
        found = self.run(page)
        assert_no_serious_violations(found, where or page.url)
        return found


def assert_no_serious_violations(found: list[Violation], where: str = "the page") -> None:
    bad = serious(found)
    if bad:
        ids = ", ".join(v["id"] for v in bad)
        pytest.fail(
            f"axe-core found {len(bad)} serious or critical violations on {where} ({ids}):\n"
            + describe(bad),
            pytrace=False,
        )
