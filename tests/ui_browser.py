"""What the web UI's browser tests share: a real ``orchestrator serve`` process on a real project,
Debian's Chromium driven by Playwright (never a browser download: ``executable_path``), every
console error, page error and dialog of a page recorded, and screenshots.

Screenshots go to the test's temporary folder; with ``ORCHESTRATOR_UI_SCREENSHOTS=docs/images``
they are also written there (how the docs' images are regenerated, see docs/web-ui.md).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from serve_process import Served, not_before_next_month

# a loaded machine may take seconds to run what the pages wait for; a missing thing still fails
expect.set_options(timeout=30_000)

CHROMIUM = os.environ.get("ORCHESTRATOR_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]
VIEWPORT = {"width": 1360, "height": 860}
REPO = Path(__file__).resolve().parents[1]

#: a small shop: two pipelines feeding a third (which fails until ``inputs/rates.json`` exists,
#: after logging why) and a report after it; ``orders`` rejects rows without an amount into the
#: dead letters and is scheduled; ``customers`` runs until ``inputs/go`` exists
SHOP = """\
description: A small shop's nightly load.
params:
  batch: nightly
pipelines:
  orders:
    type: ETL
    schedule: {cron: "0 2 * * *", catchup: none, start: START}
    phases:
      extract:
        steps:
          - {id: fetch_orders, plugin: python.call, args: {callable: "shop_steps:orders", kwargs: {batch: "${params.batch}"}}}
      transform:
        steps:
          - {id: price_orders, plugin: python.call, on_error: dead_letter, args: {callable: "shop_steps:price"}}
      load:
        steps:
          - {id: store_orders, plugin: sqlite.write, args: {database: out/shop.db, table: orders, mode: replace}}
  customers:
    type: ETL
    phases:
      extract:
        steps:
          - {id: fetch_customers, plugin: python.call, args: {callable: "shop_steps:customers"}}
      load:
        steps:
          - {id: store_customers, plugin: sqlite.write, args: {database: out/shop.db, table: customers, mode: replace}}
  revenue:
    type: ETL
    depends_on: [orders, customers]
    phases:
      extract:
        steps:
          - {id: read_rates, plugin: python.call, args: {callable: "shop_steps:rates"}}
      load:
        steps:
          - {id: store_rates, plugin: sqlite.write, args: {database: out/shop.db, table: rates, mode: replace}}
  report:
    type: ETL
    depends_on: [revenue]
    phases:
      extract:
        steps:
          - {id: summarise, plugin: python.call, args: {callable: "shop_steps:summary"}}
      load:
        steps:
          - {id: write_report, plugin: jsonl.write, args: {path: out/report.jsonl}}
""".replace("START", not_before_next_month())  # shown as scheduled, never fired by a test

SHOP_STEPS = '''\
import json
import time
from pathlib import Path


def orders(context, batch):
    context.logger.info("fetching the %s batch of orders", batch)
    time.sleep(0.3)
    return [{"id": i, "amount": (i * 7) % 50 if i % 9 else None} for i in range(1, 41)]


def price(rows):
    priced = []
    for row in rows:
        if row["amount"] is None:
            raise ValueError(f"order {row['id']} has no amount")
        priced.append({**row, "vat": round(row["amount"] * 0.2, 2)})
    return priced


async def customers():
    """Waits (cancellably) for inputs/go: the test decides when this pipeline ends."""
    import anyio

    while not Path("inputs/go").exists():
        await anyio.sleep(0.05)
    return [{"id": i, "name": f"customer {i}"} for i in range(1, 11)]


def rates(context):
    path = Path("inputs/rates.json")
    context.logger.info("reading exchange rates from %s", path)
    if not path.exists():
        context.logger.error("%s is missing: the upstream export did not arrive", path)
        raise FileNotFoundError(f"{path} not found")
    return json.loads(path.read_text())


def summary():
    return [{"report": "ok"}]
'''

RATES = '[{"currency": "EUR", "rate": 1.0}, {"currency": "USD", "rate": 0.92}]'


def shop(folder: Path) -> Path:
    (folder / "inputs").mkdir(parents=True, exist_ok=True)
    (folder / "shop.yaml").write_text(SHOP)
    (folder / "shop_steps.py").write_text(SHOP_STEPS)
    return folder / "shop.yaml"


@dataclass
class Watched:
    """A page with what went wrong on it: console errors, uncaught errors, dialogs (an ``alert``
    would be a script the page did not mean to run)."""

    page: Any
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def clean(self) -> None:
        assert not self.dialogs, f"a dialog opened (a script ran): {self.dialogs}"
        assert not self.errors, "errors in the browser console:\n" + "\n".join(self.errors)


class Browser:
    """One Chromium for a test module; a fresh page per :meth:`open`."""

    def __init__(self, screenshots: Path) -> None:
        from playwright.sync_api import sync_playwright

        self._playwright = sync_playwright().start()
        self._browser = self._playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        self._context = self._browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
        self._context.set_default_timeout(30_000)
        self.screenshots = screenshots

    def open(self, url: str) -> Watched:
        page = self._context.new_page()
        watched = Watched(page)
        page.on("console", lambda message: watched.errors.append(f"{message.text} ({message.location})") if message.type == "error" else None)
        page.on("pageerror", lambda error: watched.errors.append(f"uncaught: {error}"))

        def dialog(opened: Any) -> None:
            watched.dialogs.append(f"{opened.type}: {opened.message}")
            opened.dismiss()

        page.on("dialog", dialog)
        page.goto(url)
        return watched

    def shoot(self, watched: Watched, name: str) -> Path:
        """A full-page screenshot in the test's output (and in the docs' images when asked)."""
        path = self.screenshots / f"{name}.png"
        watched.page.screenshot(path=str(path), full_page=True, animations="disabled")
        wanted = os.environ.get("ORCHESTRATOR_UI_SCREENSHOTS")
        if wanted:
            target = (REPO / wanted) if not Path(wanted).is_absolute() else Path(wanted)
            target.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target / path.name)
        return path

    def close(self) -> None:
        self._context.close()
        self._browser.close()
        self._playwright.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    opened = Browser(tmp_path_factory.mktemp("screenshots"))
    try:
        yield opened
    finally:
        opened.close()


def serve(folder: Path, *targets: str) -> Served:
    return Served(folder, *targets)
