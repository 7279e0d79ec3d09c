"""The web UI of ``orchestrator serve`` in a real headless Chromium, against a real server process
on real pipeline files: every page renders what the API returns, with no console error; a page's
security headers; hostile text (a file named ``<img src=x onerror=alert(1)>.yaml``, error texts,
log lines and params carrying markup) stays text and runs no script.

Each page is screenshotted into the test's output (and into docs/images when
``ORCHESTRATOR_UI_SCREENSHOTS=docs/images`` is set).
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from helpers import cli
from serve_process import Served
from ui_browser import RATES, Browser, browser, serve, shop  # noqa: F401 (browser is a fixture)

pytestmark = pytest.mark.e2e


def run(config: Path, *args: str, ok: bool) -> None:
    done = cli("run", str(config), *args, cwd=config.parent, timeout=120)
    assert done.returncode == (0 if ok else 1), done.stdout + done.stderr


def fetch(served: Served, path: str, headers: dict[str, str] | None = None) -> tuple[dict[str, str], str]:
    request = urllib.request.Request(f"http://127.0.0.1:{served.port}{path}", headers=headers or {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return {k.lower(): v for k, v in response.headers.items()}, response.read().decode()


def test_pages_carry_a_strict_content_security_policy(tmp_path: Path) -> None:
    shop(tmp_path)
    served = serve(tmp_path, "shop.yaml")
    try:
        for path in ("/", "/runs", "/runs/x", "/runs/x/config", "/runs/x/diff/y", "/plugins"):
            headers, body = fetch(served, path)
            policy = headers["content-security-policy"]
            assert "script-src 'self'" in policy and "default-src 'none'" in policy and "unsafe" not in policy
            assert "frame-ancestors 'none'" in policy and headers["x-content-type-options"] == "nosniff"
            assert headers["content-type"].startswith("text/html")
            assert not re.search(r"<script(?![^>]*\bsrc=)", body), "the shell has an inline script"
            assert 'src="/static/js/app.js"' in body
        headers, body = fetch(served, "/static/js/app.js")
        assert headers["x-content-type-options"] == "nosniff" and "javascript" in headers["content-type"]
        # behind a proxy at a prefix, the shell links below it; a prefix that is not a plain path is ignored
        _headers, body = fetch(served, "/", {"X-Forwarded-Prefix": "/tools/orchestrator"})
        assert 'src="/tools/orchestrator/static/js/app.js"' in body
        _headers, body = fetch(served, "/", {"X-Forwarded-Prefix": '/x"><script>alert(1)</script>'})
        assert 'src="/static/js/app.js"' in body and "<script>alert" not in body
    finally:
        assert served.stop() == 0


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A shop with a history: three runs that succeeded, then (the file edited, the rates gone) one
    that failed."""
    folder = tmp_path_factory.mktemp("shop")
    config = shop(folder)
    (folder / "inputs" / "go").touch()
    (folder / "inputs" / "rates.json").write_text(RATES)
    for _ in range(3):
        run(config, ok=True)
    (folder / "inputs" / "rates.json").unlink()
    config.write_text(config.read_text().replace("batch: nightly", "batch: hourly"))
    run(config, ok=False)
    return folder


def test_every_page_renders_from_the_api(browser: Browser, history: Path) -> None:  # noqa: F811
    served = serve(history, "shop.yaml")
    base = f"http://127.0.0.1:{served.port}"
    try:
        runs = served.get("/api/runs")["runs"]
        failed, succeeded = runs[0]["run_id"], runs[1]["run_id"]
        assert len(runs) == 4

        page = browser.open(f"{base}/")
        rows = page.page.locator("tr.pipeline-row")
        rows.first.wait_for()
        assert rows.count() == 4
        assert page.page.locator("tr[data-pipeline=revenue] a.cell").count() == 4
        assert page.page.locator("tr[data-pipeline=revenue] a.cell.tone-failed").count() == 1
        assert "cron 0 2 * * *" in page.page.locator("tr[data-pipeline=orders]").inner_text()
        browser.shoot(page, "pipelines")
        page.page.get_by_label("Failing first").check()
        expect(rows.first).to_have_attribute("data-pipeline", "revenue")
        page.page.get_by_label("search pipelines").fill("cust")
        expect(rows).to_have_count(1)
        expect(rows.first).to_have_attribute("data-pipeline", "customers")
        page.clean()

        page = browser.open(f"{base}/runs")
        page.page.locator("tr.run-row").first.wait_for()
        assert page.page.locator("tr.run-row").count() == 4
        assert page.page.locator("tr.run-row").first.get_attribute("data-run") == failed
        browser.shoot(page, "runs")
        page.clean()

        page = browser.open(f"{base}/runs/{failed}")
        page.page.locator("svg.dag g.node").first.wait_for()
        nodes = page.page.locator("svg.dag g.node")
        assert {nodes.nth(i).get_attribute("data-pipeline"): nodes.nth(i).get_attribute("data-status") for i in range(nodes.count())} == {
            "orders": "succeeded", "customers": "succeeded", "revenue": "failed", "report": "skipped",
        }
        assert page.page.locator("svg.dag path.edge").count() == 3
        revenue = page.page.locator("details.pipeline-detail[data-pipeline=revenue]")
        assert "FileNotFoundError: inputs/rates.json not found" in revenue.inner_text()
        assert "inputs/rates.json is missing: the upstream export did not arrive" in revenue.locator("ol.log").inner_text()
        # the error is said once, under the step that raised it: the pipeline's own message
        # ("step 'read_rates' (python.call) failed: ...") says nothing more
        assert page.page.locator("body").inner_text().count("inputs/rates.json not found") == 1
        assert revenue.locator("tr.step-error").inner_text().strip() == "FileNotFoundError: inputs/rates.json not found"
        # a pipeline's message that the steps do not say stays: why report was skipped
        expect(page.page.locator("details.pipeline-detail[data-pipeline=report] pre.note-text")).to_have_text(
            "skipped: depends on 'revenue', which did not succeed")
        assert page.page.locator("tr.letter-row").count() == 4
        # what the history measured of each step attempt has its columns
        headers = page.page.locator("details.pipeline-detail[data-pipeline=orders] thead").first.text_content() or ""
        assert "CPU" in headers and "Peak RSS" in headers
        # with them, every cell of a step's row still shows all it holds (no badge or size cut short)
        cut = page.page.locator("table.steps tr.step-row td:not(.timeline)").evaluate_all(
            "(cells) => cells.filter((cell) => cell.scrollWidth > cell.clientWidth).map((cell) => cell.innerText)")
        assert cut == [], f"cells cut short: {cut}"
        assert "ValueError: order 9 has no amount" in page.page.locator("tr.letter-row").first.inner_text()
        assert page.page.locator("[data-action=resume]").is_visible()
        assert page.page.locator("[data-action=replay]").is_visible()
        browser.shoot(page, "run-failed")
        page.page.get_by_role("link", name="Diff with previous").click()
        page.page.locator("pre.diff").wait_for()
        assert page.page.locator("pre.diff .line.del").inner_text().strip() == "-  batch: nightly"
        assert page.page.locator("pre.diff .line.add").inner_text().strip() == "+  batch: hourly"
        browser.shoot(page, "config-diff")
        page.clean()

        page = browser.open(f"{base}/runs/{succeeded}/config")
        page.page.locator("pre.config").wait_for()
        assert "batch: nightly" in page.page.locator("pre.config").inner_text()
        browser.shoot(page, "config")
        page.clean()

        page = browser.open(f"{base}/plugins")
        page.page.locator("tr.plugin-row").first.wait_for()
        assert "sqlite.write" in page.page.locator("tr.plugin-row", has_text="builtin").inner_text()
        browser.shoot(page, "plugins")
        page.clean()
    finally:
        assert served.stop() == 0


HOSTILE_NAME = "<img src=x onerror=alert(1)>.yaml"
HOSTILE = """\
description: <img src=x onerror=alert(2)>
params:
  note: plain
pipelines:
  load_it:
    type: ETL
    phases:
      extract:
        steps:
          - {id: boom, plugin: python.call, args: {callable: "hostile_steps:boom", kwargs: {note: "${params.note}"}}}
      load:
        steps:
          - {id: keep, plugin: jsonl.write, args: {path: out/kept.jsonl}}
"""
HOSTILE_STEPS = '''\
def boom(context, note):
    context.logger.warning("<script>alert(3)</script> %s", note)
    raise ValueError("<img src=x onerror=alert(4)> broke")
'''


def test_markup_in_names_params_errors_and_logs_stays_text(browser: Browser, tmp_path: Path) -> None:  # noqa: F811
    """Pipeline names cannot hold markup (the schema allows letters, digits, ``_.-``), so the
    file name carries it, with a param, an error text and a log line."""
    (tmp_path / HOSTILE_NAME).write_text(HOSTILE)
    (tmp_path / "hostile_steps.py").write_text(HOSTILE_STEPS)
    run(tmp_path / HOSTILE_NAME, "--param", "note=<img src=x onerror=alert(5)>", ok=False)
    served = serve(tmp_path, HOSTILE_NAME)
    base = f"http://127.0.0.1:{served.port}"
    try:
        (only,) = served.get("/api/runs")["runs"]
        for path, ready, texts in (
            ("/", "tr.pipeline-row", [HOSTILE_NAME]),
            ("/runs", "tr.run-row", [HOSTILE_NAME, "note=<img src=x onerror=alert(5)>"]),
            (f"/runs/{only['run_id']}", "ol.log", [
                "ValueError: <img src=x onerror=alert(4)> broke", "<script>alert(3)</script> <img src=x onerror=alert(5)>",
                "note=<img src=x onerror=alert(5)>",
            ]),
            (f"/runs/{only['run_id']}/config", "pre.config", ["description: <img src=x onerror=alert(2)>"]),
        ):
            page = browser.open(base + path)
            page.page.locator(ready).first.wait_for()
            shown = page.page.locator("main").inner_text()
            for text in texts:
                assert text in shown, f"{path}: {text!r} is not shown as text"
            assert page.page.locator("main img, main script").count() == 0, f"{path}: markup from the data became elements"
            page.clean()
    finally:
        assert served.stop() == 0


def test_with_an_access_token_a_browser_logs_in_once_and_every_page_works(browser: Browser, tmp_path: Path) -> None:  # noqa: F811
    """The server's token login (``?token=`` once, then a session cookie): the pages' fetches, event
    streams and actions all go through with the cookie, and nothing works without it."""
    shop(tmp_path)
    (tmp_path / "inputs" / "go").touch()
    (tmp_path / "token").write_text("a-token-of-the-test-0123456789\n")
    served = Served(tmp_path, "shop.yaml", options=("--token-file", str(tmp_path / "token")))
    base = f"http://127.0.0.1:{served.port}"
    try:
        with pytest.raises(urllib.error.HTTPError) as refused:
            fetch(served, "/")
        assert refused.value.code == 401
        page = browser.open(f"{base}/?token=a-token-of-the-test-0123456789")
        page.page.locator("tr.pipeline-row").first.wait_for()
        assert "token" not in page.page.url
        page.page.locator("tr[data-pipeline=customers]").get_by_role("button", name="Run now").click()
        page.page.get_by_role("button", name="Start run").click()
        page.page.wait_for_url(re.compile(r"/runs/[^/]+$"))
        expect(page.page.locator("section.run-page")).to_have_attribute("data-status", "succeeded")
        expect(page.page.locator("svg.dag g.node[data-pipeline=customers]")).to_have_attribute("data-status", "succeeded")
        page.clean()
    finally:
        assert served.stop() == 0


def test_under_a_path_prefix_the_pages_find_their_scripts_and_the_api(browser: Browser, history: Path) -> None:  # noqa: F811
    """A reverse proxy at ``/tools/orchestrator/`` (played by the browser's request routing: it
    strips the prefix and says it in ``X-Forwarded-Prefix``), on pages without event streams."""
    served = serve(history, "shop.yaml")
    base = f"http://127.0.0.1:{served.port}"
    prefix = "/tools/orchestrator"
    try:
        run_id = served.get("/api/runs")["runs"][0]["run_id"]
        page = browser.open("about:blank")
        proxied: list[str] = []

        def proxy(route: Any) -> None:
            path = route.request.url.removeprefix(base + prefix)
            proxied.append(path)
            route.fulfill(response=route.fetch(url=base + path, headers={**route.request.headers, "x-forwarded-prefix": prefix}))

        page.page.route(f"{base}{prefix}/**", proxy)
        page.page.goto(f"{base}{prefix}/plugins")
        expect(page.page.locator("tr.plugin-row", has_text="builtin")).to_be_visible()
        expect(page.page.get_by_role("link", name="Runs", exact=True)).to_have_attribute("href", f"{prefix}/runs")
        page.page.goto(f"{base}{prefix}/runs/{run_id}/config")
        expect(page.page.locator("pre.config")).to_contain_text("batch: hourly")
        assert "/static/js/app.js" in proxied and "/api/plugins" in proxied and f"/api/runs/{run_id}/config" in proxied
        page.clean()
    finally:
        assert served.stop() == 0


BIG_STEPS = '''\
def one():
    return [{"n": 1}]

def boom():
    raise RuntimeError("p249 broke on purpose")
'''


def test_a_big_run_reads_its_steps_one_open_pipeline_at_a_time(browser: Browser, tmp_path: Path) -> None:  # noqa: F811
    """A run of 250 pipelines in a chain: the page reads the run without its steps (``?steps=0``),
    shows each closed section's step count from it, and reads a pipeline's steps and log lines
    when its section is open: the failed one at once, another when it is clicked open. Its graph
    draws the boxes in sight, and more as it scrolls."""
    lines = ["pipelines:"]
    for index in range(250):
        call = "big_steps:boom" if index == 249 else "big_steps:one"
        lines += [f"  p{index:03d}:", "    type: ETL", *([f"    depends_on: [p{index - 1:03d}]"] if index else []),
                  f'    phases: {{extract: {{steps: [{{id: src, plugin: python.call, args: {{callable: "{call}"}}}}]}}, '
                  f"load: {{steps: [{{id: out, plugin: jsonl.write, args: {{path: out/p{index:03d}.jsonl}}}}]}}}}"]
    (tmp_path / "big.yaml").write_text("\n".join(lines) + "\n")
    (tmp_path / "big_steps.py").write_text(BIG_STEPS)
    run(tmp_path / "big.yaml", ok=False)
    served = serve(tmp_path, "big.yaml")
    try:
        run_id = served.get("/api/runs")["runs"][0]["run_id"]
        page = browser.open("about:blank")
        asked: list[str] = []
        page.page.on("request", lambda request: asked.append(request.url.split(str(served.port), 1)[1]))
        page.page.goto(f"http://127.0.0.1:{served.port}/runs/{run_id}")
        failed = page.page.locator("details.pipeline-detail[data-pipeline=p249]")
        expect(failed.locator("pre.error-text").first).to_contain_text("RuntimeError: p249 broke on purpose")
        closed = page.page.locator("details.pipeline-detail[data-pipeline=p003]")
        expect(closed.locator("summary")).to_contain_text("2 steps")
        assert closed.locator("tr.step-row").count() == 0
        closed.locator("summary").click()
        expect(closed.locator("tr.step-row")).to_have_count(2)
        assert f"/api/runs/{run_id}?steps=0" in asked and f"/api/runs/{run_id}" not in asked
        assert f"/api/runs/{run_id}/pipelines/p249" in asked and f"/api/runs/{run_id}/pipelines/p003" in asked
        assert not any(path.startswith(f"/api/runs/{run_id}/pipelines/p1") for path in asked)  # closed, never opened
        # the graph: all 250 laid out, the boxes in sight drawn; scrolled to its end, the last one is
        dag = page.page.locator("svg.dag[data-nodes='250']")
        expect(dag.locator("g.node[data-pipeline=p000]")).to_be_attached()
        assert dag.locator("g.node").count() < 50 and dag.locator("g.node[data-pipeline=p249]").count() == 0
        browser.shoot(page, "run-big")
        page.page.locator("div.dag-frame").evaluate("(frame) => { frame.scrollLeft = frame.scrollWidth; }")
        expect(dag.locator("g.node[data-pipeline=p249]")).to_have_attribute("data-status", "failed")
        page.clean()
    finally:
        assert served.stop() == 0
