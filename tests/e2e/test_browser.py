"""The status page in a real browser (Debian's chromium, headless, through chromium-driver) on the Compose stack."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

from tests.e2e.test_stack import API_PASSWORD, API_USER, REPO, Stack

pytestmark = pytest.mark.e2e

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
# Headless, and nothing the browser would fetch on its own: the test may only talk to the stack on loopback.
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1100",
)
SCREENSHOTS = REPO / "build" / "e2e"
# One read of every card, in the page's own JS: the page refreshes itself, so reading piecemeal could
# straddle two versions of it.
READ_CARDS = """
return Array.from(document.querySelectorAll('section.card')).map(card => [
  card.dataset.alias,
  card.querySelector('.status').textContent.trim(),
  Object.fromEntries(Array.from(card.querySelectorAll('td.rows')).map(td => [td.dataset.table, td.textContent.trim()])),
]);
"""


@pytest.fixture(scope="module")
def browser(stack: Stack) -> Iterator[webdriver.Chrome]:
    subprocess.run([str(REPO / "scripts" / "ensure-debs.sh"), "chromium", "chromium-driver"], check=True, timeout=900)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in CHROMIUM_ARGS:
        options.add_argument(argument)
    # The proxy's certificate is accepted by its key's pin, not by skipping the check altogether.
    options.add_argument(f"--ignore-certificate-errors-spki-list={_spki_pin(stack.ca_file.with_name('server.crt'))}")
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)  # a driver path: no Selenium Manager
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def signed_in(stack: Stack, browser: webdriver.Chrome) -> webdriver.Chrome:
    """The stack's superuser signed in through the admin login form, as a person would."""
    base = stack.base_url
    browser.get(base + "/")
    assert "/admin/login/" in browser.current_url  # production config: staff only
    browser.find_element(By.NAME, "username").send_keys(API_USER)
    browser.find_element(By.NAME, "password").send_keys(API_PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    # click() returns before the next page loads: wait for it (a loaded machine takes seconds to hash and answer).
    try:
        WebDriverWait(browser, 30).until(expected_conditions.url_to_be(base + "/"))
    except TimeoutException:
        pass
    assert browser.current_url == base + "/"
    return browser


def cards(browser: webdriver.Chrome) -> dict[str, tuple[str, dict[str, str]]]:
    rows: list[list[Any]] = browser.execute_script(READ_CARDS)
    return {alias: (status, counts) for alias, status, counts in rows}


def settled(
    browser: webdriver.Chrome, wanted: Callable[[dict[str, tuple[str, dict[str, str]]]], bool], timeout: float = 45
) -> dict[str, tuple[str, dict[str, str]]]:
    """Reload until the cards show what `wanted` expects; on a loaded machine one probe may time out (2 s)."""
    deadline = time.monotonic() + timeout
    while True:
        browser.refresh()
        found = cards(browser)
        if wanted(found) or time.monotonic() > deadline:
            return found
        time.sleep(1)


def statuses(found: dict[str, tuple[str, dict[str, str]]]) -> dict[str, str]:
    return {alias: status for alias, (status, _) in found.items()}


def screenshot(browser: webdriver.Chrome, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / name))


def test_status_page_shows_three_ok_cards_and_a_new_post_in_the_blog_card(
    stack: Stack, signed_in: webdriver.Chrome
) -> None:
    all_ok = dict.fromkeys(["default", "blog_db", "shop_db"], "ok")
    before = settled(signed_in, lambda found: statuses(found) == all_ok)
    assert statuses(before) == all_ok
    assert "shop_order" in before["shop_db"][1] and "blog_post" not in before["shop_db"][1]

    status, body = stack.http("POST", "/api/posts/", {"title": f"browser-{uuid.uuid4().hex[:8]}", "content": "hi"})
    assert status == 201, body
    grown = int(before["blog_db"][1]["blog_post"]) + 1
    after = settled(signed_in, lambda found: found["blog_db"][1].get("blog_post") == str(grown))
    assert int(after["blog_db"][1]["blog_post"]) == int(before["blog_db"][1]["blog_post"]) + 1
    assert after["default"][1]["auth_user"] == before["default"][1]["auth_user"]  # nothing new in main
    screenshot(signed_in, "status-page.png")


def test_stopped_shop_database_turns_its_card_down_and_the_others_stay_ok(
    stack: Stack, signed_in: webdriver.Chrome
) -> None:
    stack.compose("stop", "db-shop")
    try:
        expected = {"default": "ok", "blog_db": "ok", "shop_db": "down"}
        found = settled(signed_in, lambda found: statuses(found) == expected)
        screenshot(signed_in, "status-page-shop-down.png")
        assert statuses(found) == expected
        assert set(found["shop_db"][1].values()) == {"-"}  # rows not counted on a database that is down
        assert "not ready (shop_db)" in signed_in.title
    finally:
        stack.compose("up", "--detach", "--wait", "db-shop")
    # Later tests get the stack as it was: every alias ready again.
    deadline = time.monotonic() + 120
    while (ready := stack.http("GET", "/readyz"))[0] != 200:
        services = {name: (row["State"], row["Health"]) for name, row in stack.services().items()}
        assert time.monotonic() < deadline, f"not ready after db-shop restarted: {ready} {services}"
        time.sleep(1)


def _spki_pin(certificate: Path) -> str:
    """base64(sha256(SubjectPublicKeyInfo)) of a PEM certificate, the form chromium's SPKI list takes."""
    key = subprocess.run(
        ["openssl", "x509", "-noout", "-pubkey", "-in", str(certificate)], capture_output=True, check=True
    ).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=key, capture_output=True, check=True)
    return base64.b64encode(hashlib.sha256(der.stdout).digest()).decode()
