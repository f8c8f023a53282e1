"""The web page in a real headless browser (issue 11, "the page"): after Restore the result
is scrolled into view, the Input and Restored panes scroll together, and Restore is
disabled when /healthz says the model is missing.

Needs Chromium and its driver (Debian: ``apt-get install chromium chromium-driver``) and
``pip install selenium``; skips with the reason otherwise. The server runs on 127.0.0.1 in
a thread with a stand-in restorer, so the model is not needed. Set ``UNSPIN_SCREENSHOT`` to
a file name to keep a PNG of the page after the restore.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time

import pytest

import unspin
from unspin import Restoration, Span, apply_spans

SPUN = (
    "The board met so you're able to discuss brand new budget, and you may the fresh members asked "
    "of a lot questions. Officials said you to definitely costs would rise.\n\n"
)
LONG = SPUN * 18  # a long span table above the restored text, and panes that scroll


def _browser_or_skip():
    pytest.importorskip("fastapi", reason="the serve API needs fastapi: pip install 'unspin[serve]'")
    pytest.importorskip("uvicorn", reason="unspin serve needs uvicorn: pip install 'unspin[serve]'")
    pytest.importorskip("selenium", reason="the browser test needs selenium: pip install selenium")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.skip("the browser test needs Chromium and chromedriver (Debian: apt-get install chromium chromium-driver)")
    return chromium, driver


@pytest.fixture
def browser():
    chromium, driver = _browser_or_skip()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="unspin-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={profile}", "--window-size=1280,900", "--disable-dev-shm-usage"):
        opts.add_argument(flag)
    try:
        b = webdriver.Chrome(service=Service(driver), options=opts)
    except Exception as exc:  # a broken install: say so rather than fail obscurely
        shutil.rmtree(profile, ignore_errors=True)
        pytest.skip(f"Chromium would not start: {str(exc).splitlines()[0]}")
    try:
        yield b
    finally:
        b.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _restorer(text, config=None, lm=None):
    changes = [Span(s.start, s.end, s.text, s.kind, s.original, s.confidence, s.rule)
               for s in unspin.check(text).spans if s.kind == "signature"]
    return Restoration(text, apply_spans(text, changes), changes)


def _serve(monkeypatch, available: bool):
    from unspin.serve import app as serve_app

    monkeypatch.setattr(serve_app, "restore_available", lambda: available)
    monkeypatch.setattr(serve_app, "_restore_fn", lambda: _restorer)
    return serve_app.create_app()


def _until(b, script, limit=10.0):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        value = b.execute_script(script)
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for: {script}")


def _settled(b, script, limit=5.0):
    """The value of ``script`` once it has stopped changing (smooth scrolling has ended)."""
    last = object()
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        value = b.execute_script(script)
        if value == last:
            return value
        last = value
        time.sleep(0.25)
    return last


def test_restore_scrolls_to_the_result_and_the_panes_scroll_together(browser, monkeypatch):
    from live_server import running

    with running(_serve(monkeypatch, True)) as (port, _):
        b = browser
        b.get(f"http://127.0.0.1:{port}/")
        _until(b, "return document.getElementById('restore').disabled === false")
        b.execute_script("document.getElementById('text').value = arguments[0]", LONG)
        b.find_element("id", "check").click()
        _until(b, "return !document.getElementById('report').hidden")
        rows = b.execute_script("return document.querySelectorAll('#spans tr').length")
        assert rows > 60  # the long table that used to push the result off-screen
        b.find_element("id", "restore").click()
        _until(b, "return !document.getElementById('restoration').hidden")
        top = _settled(b, "return document.getElementById('restoration').getBoundingClientRect().top")
        assert b.execute_script("return window.scrollY") > 500
        assert -5 <= top <= 60, f"the restored text starts {top}px from the top of the window"

        # the two panes scroll together, whichever one the reader scrolls
        share = ("const e = document.getElementById(arguments[0]);"
                 "return e.scrollTop / (e.scrollHeight - e.clientHeight);")
        assert b.execute_script("const e = document.getElementById('before'); return e.scrollHeight > e.clientHeight + 200")
        b.execute_script("const e = document.getElementById('before'); e.scrollTop = (e.scrollHeight - e.clientHeight) / 2")
        time.sleep(0.3)
        assert abs(_settled(b, share.replace("arguments[0]", "'after'")) - 0.5) < 0.03
        time.sleep(0.2)
        b.execute_script("const e = document.getElementById('after'); e.scrollTop = e.scrollHeight")
        time.sleep(0.3)
        assert _settled(b, share.replace("arguments[0]", "'before'")) > 0.97
        shot = os.environ.get("UNSPIN_SCREENSHOT")
        if shot:
            b.save_screenshot(shot)


def test_restore_is_disabled_when_the_model_is_missing(browser, monkeypatch):
    from live_server import running

    with running(_serve(monkeypatch, False)) as (port, _):
        b = browser
        b.get(f"http://127.0.0.1:{port}/")
        _until(b, "return !document.getElementById('lm-note').hidden")
        assert b.execute_script("return document.getElementById('restore').disabled") is True
        assert b.execute_script("return document.getElementById('deep').disabled") is True
        note = b.find_element("id", "lm-note").text
        assert "pip install 'unspin[lm]'" in note
        # Check still works, and does not re-enable Restore afterwards
        b.execute_script("document.getElementById('text').value = arguments[0]", SPUN)
        b.find_element("id", "check").click()
        _until(b, "return !document.getElementById('report').hidden")
        _until(b, "return document.getElementById('check').disabled === false")
        assert b.execute_script("return document.getElementById('restore').disabled") is True
