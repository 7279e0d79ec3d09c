"""The web UI's actions end to end, in a real headless Chromium against a real ``orchestrator
serve`` process: a run started from the form, its DAG turning green live (no reload), a failed
pipeline's error and log line, the cause fixed and the run resumed to success; a run cancelled;
a schedule paused and unpaused; dead letters replayed. No page logs a console error."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from ui_browser import RATES, Browser, Watched, browser, serve, shop  # noqa: F401 (browser is a fixture)

pytestmark = pytest.mark.e2e


def node(page: Watched, pipeline: str) -> Any:
    return page.page.locator(f"svg.dag g.node[data-pipeline={pipeline}]")


def navigations(page: Watched) -> list[str]:
    """The main frame's navigations from now on: a live page has none."""
    seen: list[str] = []
    page.page.on("framenavigated", lambda frame: seen.append(frame.url) if frame == page.page.main_frame else None)
    return seen


def start_from_form(page: Watched, pipeline: str, params: dict[str, str] | None = None, shoot: Browser | None = None,
                    prefilled: dict[str, str] | None = None) -> str:
    """Run a pipeline from its row's form (which holds ``prefilled``, the file's params with their
    defaults, first); the page moves to the new run, whose id is returned."""
    page.page.locator(f"tr[data-pipeline={pipeline}]").get_by_role("button", name="Run now").click()
    form = page.page.locator("form.params-form")
    for index, (name, value) in enumerate((prefilled or {}).items()):
        expect(form.get_by_label("param name").nth(index)).to_have_value(name)
        expect(form.get_by_label("param value").nth(index)).to_have_value(value)
    for index, (name, value) in enumerate((params or {}).items()):
        if index:
            form.get_by_role("button", name="+ param").click()
        form.get_by_label("param name").nth(index).fill(name)
        form.get_by_label("param value").nth(index).fill(value)
    if shoot is not None:
        shoot.shoot(page, "run-form")
    form.get_by_role("button", name="Start run").click()
    page.page.wait_for_url(re.compile(r"/runs/[^/]+$"))
    return page.page.url.rsplit("/", 1)[1]


def test_start_watch_fail_fix_and_resume(browser: Browser, tmp_path: Path) -> None:  # noqa: F811
    shop(tmp_path)
    served = serve(tmp_path, "shop.yaml")
    try:
        page = browser.open(f"http://127.0.0.1:{served.port}/")
        page.page.locator("tr.pipeline-row").first.wait_for()
        run_id = start_from_form(page, "report", {"batch": "hourly"}, shoot=browser, prefilled={"batch": "nightly"})
        moved = navigations(page)
        run = page.page.locator("section.run-page")

        # orders ends, customers runs until the test lets it: the DAG shows both, live
        expect(node(page, "orders")).to_have_attribute("data-status", "succeeded")
        expect(node(page, "customers")).to_have_attribute("data-status", "running")
        expect(run).to_have_attribute("data-status", "running")
        assert page.page.locator("[data-action=cancel]").is_visible()
        # what the history records in batches shows up while the run still runs
        expect(page.page.locator("details.pipeline-detail[data-pipeline=orders] tr.step-row")).to_have_count(3)
        browser.shoot(page, "run-live")
        (tmp_path / "inputs" / "go").touch()
        expect(node(page, "customers")).to_have_attribute("data-status", "succeeded")
        expect(node(page, "revenue")).to_have_attribute("data-status", "failed")
        expect(node(page, "report")).to_have_attribute("data-status", "skipped")
        expect(run).to_have_attribute("data-status", "failed")

        # the failed step's error and the line it logged; the param given in the form reached the step
        revenue = page.page.locator("details.pipeline-detail[data-pipeline=revenue]")
        expect(revenue.locator("tr.step-error")).to_contain_text("FileNotFoundError: inputs/rates.json not found")
        expect(revenue.locator("ol.log")).to_contain_text("inputs/rates.json is missing: the upstream export did not arrive")
        orders = page.page.locator("details.pipeline-detail[data-pipeline=orders]")
        expect(orders.locator("tr.step-row[data-step=fetch_orders]")).to_be_visible()
        expect(orders.locator("ol.log")).to_contain_text("fetching the hourly batch of orders")
        expect(page.page.locator("tr.letter-row")).to_have_count(4)
        assert page.page.locator("body").inner_text().count("inputs/rates.json not found") == 1, "the error is said twice"

        # fix the cause, resume: the same run goes on and succeeds, still without a reload
        (tmp_path / "inputs" / "rates.json").write_text(RATES)
        page.page.locator("[data-action=resume]").click()
        expect(node(page, "revenue")).to_have_attribute("data-status", "succeeded")
        expect(node(page, "report")).to_have_attribute("data-status", "succeeded")
        expect(run).to_have_attribute("data-status", "succeeded")
        expect(revenue.locator("tr.step-row[data-step=read_rates]")).to_contain_text("succeeded")
        assert page.page.url.endswith(f"/runs/{run_id}") and moved == [], f"the page reloaded or moved: {moved}"
        # its duration is the resume's, said beside the time since the run first started
        expect(run.locator(".facts")).to_contain_text("since it first started")
        browser.shoot(page, "run-resumed")
        page.clean()

        # and so says the page opened after the resume ended, which sees none of its events
        page = browser.open(f"http://127.0.0.1:{served.port}/runs/{run_id}")
        expect(page.page.locator("section.run-page")).to_have_attribute("data-status", "succeeded")
        expect(page.page.locator("section.run-page .facts")).to_contain_text("since it first started")
        page.clean()

        # the pipelines page shows the run in its grid
        page = browser.open(f"http://127.0.0.1:{served.port}/")
        expect(page.page.locator("tr[data-pipeline=report] a.cell.tone-ok")).to_have_count(1)
        page.clean()
    finally:
        assert served.stop() == 0


def test_cancel_pause_and_replay(browser: Browser, tmp_path: Path) -> None:  # noqa: F811
    shop(tmp_path)
    served = serve(tmp_path, "shop.yaml")
    base = f"http://127.0.0.1:{served.port}"
    try:
        page = browser.open(f"{base}/")
        orders = page.page.locator("tr[data-pipeline=orders]")
        orders.get_by_role("button", name="Pause").click()
        expect(orders.locator(".badge", has_text="paused")).to_be_visible()
        assert served.get("/api/pipelines")["pipelines"][0]["schedule"]["paused"] is True
        orders.get_by_role("button", name="Unpause").click()
        expect(orders.locator(".badge", has_text="paused")).to_have_count(0)
        assert served.get("/api/pipelines")["pipelines"][0]["schedule"]["paused"] is False

        # a run that would wait for ever is cancelled from its page (the button asks twice)
        start_from_form(page, "customers")
        expect(node(page, "customers")).to_have_attribute("data-status", "running")
        cancel = page.page.locator("[data-action=cancel]")
        cancel.click()
        expect(cancel).to_have_text("Click again to cancel")
        cancel.click()
        expect(page.page.locator("section.run-page")).to_have_attribute("data-status", "cancelled")
        expect(page.page.locator("[data-action=resume]")).to_be_visible()
        page.clean()

        # orders dead-letters four rows; replaying them is a new run, which the page moves to
        page = browser.open(f"{base}/")
        first = start_from_form(page, "orders")
        expect(page.page.locator("section.run-page")).to_have_attribute("data-status", "succeeded")
        expect(page.page.locator("tr.letter-row")).to_have_count(4)
        page.page.locator("[data-action=replay]").click()
        page.page.wait_for_url(re.compile(r"/runs/(?!" + re.escape(first) + r")[^/]+$"))
        expect(node(page, "orders")).to_have_attribute("data-status", re.compile("succeeded|failed"))
        page.clean()
    finally:
        assert served.stop() == 0
