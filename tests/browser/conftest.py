"""Browser tests: the demo county served on a free loopback port, driven by Debian's chromium.

The server is the real thing: ``tongban demo --no-serve`` fills a fresh SQLite file, then
``tongban serve`` runs as a subprocess. Every page a test visits is saved as a full-page
screenshot under ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from tests.browser.axe import Axe, install_axe

CHROMIUM = Path("/usr/bin/chromium")
REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"
DEMO_PASSWORD = "demo-pass-2026"
STARTUP_TIMEOUT = 30.0
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

Snap = Callable[[str], None]
Login = Callable[..., None]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(
        reason=f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)"
    )
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents and item.get_closest_marker("browser"):
            item.add_marker(skip)


def _python() -> str:
    venv = REPO_ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


_startup_failure: list[str] = []


@pytest.fixture(scope="session")
def server() -> Iterator[str]:
    """The base URL of a server holding a freshly loaded demo county."""
    if _startup_failure:  # pytest retries a failed session fixture for every test: fail fast
        pytest.fail(_startup_failure[0])
    tmp = Path(tempfile.mkdtemp(prefix="tongban-browser-"))
    env = {
        **os.environ,
        "TONGBAN_DATABASE_URL": f"sqlite:///{tmp / 'browser.sqlite3'}",
        "PYTHONUNBUFFERED": "1",
    }
    demo = subprocess.run(
        [_python(), "-m", "tongban.cli.main", "demo", "--no-serve"],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if demo.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        _startup_failure.append(f"`tongban demo --no-serve` failed:\n{demo.stdout}\n{demo.stderr}")
        pytest.fail(_startup_failure[0])
    port = _free_port()
    log_path = tmp / "server.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                _python(),
                "-m",
                "tongban.cli.main",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=env,
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base_url, process, log_path)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        SCREENSHOTS.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(log_path, SCREENSHOTS.parent / "browser-server.log")
        shutil.rmtree(tmp, ignore_errors=True)


def _wait_healthy(base_url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            _startup_failure.append(
                f"the server exited with {process.returncode}:\n{log_path.read_text()}"
            )
            pytest.fail(_startup_failure[0])
        try:
            if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    _startup_failure.append(f"the server did not answer /healthz within {STARTUP_TIMEOUT:.0f} s")
    pytest.fail(_startup_failure[0])


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    pw = sync_playwright().start()
    try:
        yield pw
    finally:
        pw.stop()


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture
def page(browser: Browser, server: str) -> Iterator[Page]:
    """A fresh browser context (no cookies) that prefers Chinese, like the county's staff."""
    context = browser.new_context(
        base_url=server, locale="zh-CN", viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    # Every page runs under the Content-Security-Policy: anything it refuses is a page broken.
    violations: list[str] = []
    page.on(
        "console",
        lambda msg: (
            violations.append(f"{page.url} {msg.location}: {msg.text[:60]}")
            if "Content Security Policy" in msg.text
            else None
        ),
    )
    try:
        yield page
    finally:
        context.close()
    assert violations == [], "the Content-Security-Policy refused something"


@pytest.fixture
def snap(page: Page, request: pytest.FixtureRequest) -> Snap:
    """``snap("step")`` saves a full-page screenshot as ``<test>-<step>.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    test_name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)

    def take(step: str) -> None:
        page.screenshot(path=str(SCREENSHOTS / f"{test_name}-{step}.png"), full_page=True)

    return take


@pytest.fixture
def api(server: str) -> Iterator[httpx.Client]:
    """The JSON API of the same server, used as an oracle for what the pages should show."""
    with httpx.Client(base_url=f"{server}/api/v1", timeout=10) as client:
        yield client


@pytest.fixture
def login(page: Page) -> Login:
    """``login("reform")`` logs the page's context in through the login form."""

    def log_in(username: str, password: str = DEMO_PASSWORD) -> None:
        page.goto("/login")
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill(password)
        page.locator("form[action='/login'] button[type=submit]").click()
        page.wait_for_url(lambda url: "/login" not in url)
        page.get_by_test_id("who").wait_for()

    return log_in


@pytest.fixture(scope="session")
def axe() -> Axe:
    """axe-core (``axe-core@4`` from npm, installed into test-artifacts/npm/ on first use):
    ``axe.check(page)`` fails listing every serious or critical violation on the page."""
    return Axe(install_axe())
