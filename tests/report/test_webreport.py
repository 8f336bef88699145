"""The HTML report (issue 16): self-contained and offline, everything escaped, bad run folders
named; and in a real headless Chromium: no console error, no request, images decoded, the
injected script shown as text and never run."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
from html import unescape
from pathlib import Path

import pytest
from cli_helpers import run_cli
from PIL import Image

from ibench.cli import main
from ibench.report.html.gallery import choose
from ibench.report.html.plots import robustness_plot
from ibench.report.html.tables import Spread
from ibench.report.html.thumbs import thumbnail

CHROMIUM = Path("/usr/bin/chromium")
INJECTED = "</td><script>alert(1)</script>"
INJECTED_PROMPT = "<img src=x onerror=alert(2)> what is it?"
DATA_URI = re.compile(r'src="(data:image/jpeg;base64,[A-Za-z0-9+/=]+)"')


def _eval(*args: str) -> None:
    try:
        main(["eval", *args])
    except SystemExit as exc:
        assert exc.code in (0, None), f"ibench eval {' '.join(args)} exited {exc.code}"


def _report(*args: str) -> None:
    try:
        main(["report", *args])
    except SystemExit as exc:
        assert exc.code in (0, None), f"ibench report {' '.join(args)} exited {exc.code}"


@pytest.fixture(scope="module")
def runs(sample_pack, ibench_cache, tmp_path_factory) -> dict[str, Path]:
    """Run A (tiny-vicuna, held-out) and run B (tiny-t5, three tasks, every template) on a
    copy of the pack with one VSR image deleted; then A's first GQA prediction and prompt are
    replaced by markup and both reports written."""
    from ibench.data import read_samples
    from ibench.protocol.suite import load_tasks

    root = tmp_path_factory.mktemp("webreport")
    pack = root / "pack"
    shutil.copytree(sample_pack, pack)
    gone = next(iter(read_samples(load_tasks()["vsr"], pack)))
    gone.media.unlink()
    common = ["--data-root", str(pack), "--output", str(root)]
    _eval("--model", "tiny-vicuna", "--split", "held-out", "--run-name", "a", *common)
    _eval("--model", "tiny-t5", "--tasks", "gqa,vsr,msvd_qa", "--templates", "all",
          "--run-name", "b", *common)
    a = root / "a"
    eval_report = (a / "report.html").read_text(encoding="utf-8")
    gqa = a / "predictions" / "gqa.jsonl"
    lines = [json.loads(x) for x in gqa.read_text(encoding="utf-8").splitlines()]
    lines[0].update(prediction=INJECTED, prompt=INJECTED_PROMPT)
    gqa.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    _report(str(a))
    _report(str(a), str(root / "b"), "-o", str(root / "compare.html"), "--samples", "4")
    return {"root": root, "a": a, "b": root / "b", "compare": root / "compare.html",
            "eval_report": eval_report, "gone": gone.id}  # type: ignore[dict-item]


def test_eval_writes_a_bounded_report(runs):
    html = runs["eval_report"]
    assert "<title>ibench report: a</title>" in html
    assert len(html.encode()) < 1_000_000  # 13 tasks x 4 samples: a few hundred kB


def test_report_is_self_contained_and_escaped(runs):
    html = (runs["a"] / "report.html").read_text(encoding="utf-8")
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    policy = unescape(csp.group(1)) if csp else ""
    assert "default-src 'none'" in policy and "img-src data:" in policy
    assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", html, re.I)  # no URL at all
    assert "<script" not in html.lower() and "<link" not in html.lower()
    assert "&lt;/td&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
    srcs = re.findall(r'<img [^>]*src="([^"]*)"', html)
    assert srcs and all(s.startswith("data:image/jpeg;base64,") for s in srcs)
    for uri in DATA_URI.findall(html):
        image = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
        assert image.format == "JPEG" and max(image.size) <= 256


def test_report_shows_the_failure_and_placeholder(runs):
    html = (runs["a"] / "report.html").read_text(encoding="utf-8")
    # the deleted image: a media_error line at eval time, a placeholder naming the file now
    assert "media_error" in html
    assert re.search(r'class="placeholder">no picture: [^<]*: file not found', html)
    assert f'data-sample="{runs["gone"]}"' in html


def test_compare_report_has_compare_flips_and_robustness(runs):
    html = runs["compare"].read_text(encoding="utf-8")
    compare = html[html.index('id="compare"'):html.index('id="robustness"')]
    assert "better in A" in compare and "<svg" in compare
    for task in ("gqa", "vsr", "msvd_qa"):
        assert f"<td class=\"text\">{task}</td>" in compare
    robustness = html[html.index('id="robustness"'):html.index('id="samples"')]
    assert "<svg" in robustness and "One template per dataset" in robustness  # B, then A
    assert 'id="flips"' in html and "class=\"f-flipped\"" in html


def test_choice_is_seeded_and_keeps_failures():
    ids = [f"s{i}" for i in range(50)]
    first = choose(ids, 5, 0, "gqa", ["s49", "s48"])
    assert first == choose(ids, 5, 0, "gqa", ["s48", "s49"])  # same for every run
    assert {"s48", "s49"} <= set(first) and len(first) == 7
    assert first == sorted(first, key=ids.index)  # in the samples' order
    assert choose(ids, 100, 0, "gqa", []) == ids


def test_plot_labels_are_text():
    hostile = "<script>alert(3)</script> $\\frac{a}{$"  # markup, and broken TeX
    svg = robustness_plot([Spread(hostile, "t1", [("t1", 10.0), ("t2", 20.0)], 15.0, 7.1,
                                  10.0, 20.0)])
    assert svg.startswith("<svg") and "<script" not in svg
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in svg and "http" not in svg


def test_thumbnail_long_side():
    thumb = thumbnail(Image.new("RGB", (1000, 300), "red"))
    assert (thumb.width, thumb.height) == (256, 77)  # 300 * 256 / 1000 = 76.8
    assert Image.open(io.BytesIO(base64.b64decode(thumb.src.split(",")[1]))).size == (256, 77)


def _copy(run: Path, tmp_path: Path) -> Path:
    target = tmp_path / run.name
    shutil.copytree(run, target)
    (target / "report.html").unlink()
    return target


@pytest.mark.parametrize("name, damage, said", [
    ("metrics.json", "delete", "metrics.json: missing: the run has not been scored"),
    ("metrics.json", "tear", "metrics.json: not valid JSON"),
    ("manifest.json", "tear", "manifest.json: not valid JSON"),
    ("manifest.json", "delete", "not an ibench run (no manifest.json)"),
])
def test_torn_or_missing_run_files_are_named(runs, tmp_path, capsys, name, damage, said):
    run = _copy(runs["a"], tmp_path)
    path = run / name
    if damage == "delete":
        path.unlink()
    else:
        path.write_bytes(path.read_bytes()[:200])
    code, _, err = run_cli(capsys, "report", str(run))
    assert code == 1 and said in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_torn_task_files_are_listed_in_the_page(runs, tmp_path, capsys):
    run = _copy(runs["a"], tmp_path)
    gqa = run / "predictions" / "gqa.jsonl"
    lines = gqa.read_text(encoding="utf-8").splitlines(keepends=True)
    gqa.write_text(lines[0] + '{"torn": \n' + "".join(lines[1:]), encoding="utf-8")
    (run / "scores" / "vsr.true_false-01.json").unlink()
    code, out, err = run_cli(capsys, "report", str(run))
    assert code == 0, err
    assert "predictions/gqa.jsonl: line 2 is not valid JSON" in err
    assert "scores/vsr.true_false-01.json: missing" in err
    html = (run / "report.html").read_text(encoding="utf-8")
    assert "Problems reading the run folder" in html and "gqa.jsonl: line 2" in html


def test_missing_data_root_shows_placeholders(runs, tmp_path, capsys):
    run = _copy(runs["a"], tmp_path)
    manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    manifest["settings"]["data_root"] = str(tmp_path / "elsewhere")
    (run / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    code, _, err = run_cli(capsys, "report", str(run), "-o", str(tmp_path / "r.html"))
    assert code == 0, err
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<img " not in html
    assert "is not on this machine" in html


# ------------------------------------------------------------------------------ in Chromium


def _browser(playwright):  # type: ignore[no-untyped-def]
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: the report's browser tests need Chromium from "
                    "Debian's package: apt-get install chromium")
    return playwright.chromium.launch(executable_path=str(CHROMIUM))


def _open(browser, path: Path):  # type: ignore[no-untyped-def]
    """A 1280x800 page on the report, recording console errors, requests and dialogs."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    seen: dict[str, list[str]] = {"errors": [], "requests": [], "dialogs": []}
    page.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: seen["errors"].append(str(exc)))
    page.on("dialog", lambda d: (seen["dialogs"].append(d.message), d.dismiss()))
    page.route("**/*", lambda route: (seen["requests"].append(route.request.url),
                                      route.continue_() if route.request.url.startswith(
                                          "file://") else route.abort()))
    page.goto(path.resolve().as_uri(), wait_until="load")
    return page, seen


def _check_page(page, seen, path: Path) -> None:  # type: ignore[no-untyped-def]
    assert seen["errors"] == [] and seen["dialogs"] == []
    assert seen["requests"] == [path.resolve().as_uri()]  # the page itself, nothing else
    images = page.evaluate("Array.from(document.querySelectorAll('.gallery img'), "
                           "i => [i.complete, i.naturalWidth])")
    assert images and all(done and width > 0 for done, width in images)
    assert page.evaluate("document.scripts.length") == 0
    assert page.locator("#leaderboard tr.paper").count() == 11
    assert page.locator("#leaderboard svg").count() >= 1


def test_reports_in_headless_chromium(runs, tmp_path):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is missing: pip install -e '.[test]' (it drives the Debian "
                    "chromium; never `playwright install`)")
    with sync_playwright() as playwright:
        browser = _browser(playwright)
        try:
            report = runs["a"] / "report.html"
            page, seen = _open(browser, report)
            _check_page(page, seen, report)
            assert "a (tiny-vicuna, DEMO)" in page.locator("#leaderboard tr.run").inner_text()
            prediction = page.locator(".card .prediction", has_text="alert(1)")
            assert prediction.first.inner_text() == INJECTED  # shown as text
            assert page.get_by_text(INJECTED_PROMPT).count() >= 1
            shot = tmp_path / "report-demo.png"
            page.screenshot(path=str(shot))
            assert Image.open(shot).size == (1280, 800)
            shutil.copy(shot, "/tmp/ibench_report_demo.png")
            # the failures filter of VSR's gallery leaves only failed cards visible
            vsr = page.locator(".gallery", has=page.locator("h3", has_text="vsr")).first
            vsr.locator(".f-failed").check()
            visible = vsr.locator(".card:visible")
            assert visible.count() >= 1
            assert all("failed" in (c.get_attribute("class") or "") for c in visible.all())

            compare = runs["compare"]
            page, seen = _open(browser, compare)
            _check_page(page, seen, compare)
            assert page.locator("#compare svg").count() == 1
            assert page.locator("#robustness svg").count() == 1  # run B's templates
            assert page.locator("#compare tbody tr").count() >= 3
            gqa = page.locator(".gallery", has=page.locator("h3", has_text="gqa")).first
            gqa.locator(".f-flipped").check()
            assert all("flipped" in (c.get_attribute("class") or "")
                       for c in gqa.locator(".card:visible").all())
        finally:
            browser.close()


def test_the_two_run_page_reads_well_at_1400_px(runs):
    """Issue 25: the two-run leaderboard fits, the plot's legend covers no bar, pictures are
    shown large enough to see, rank cards give their candidates' scores, and a VSR card shows
    its label, not the dataset's validator bookkeeping."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = _browser(playwright)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(runs["compare"].resolve().as_uri(), wait_until="load")
            assert page.evaluate("document.documentElement.scrollWidth") <= 1400
            board = page.locator("#leaderboard table.board")
            box, main = board.bounding_box(), page.locator("main").bounding_box()
            assert box["x"] + box["width"] <= main["x"] + main["width"]
            widths = page.evaluate("Array.from(document.querySelectorAll('.gallery img'), "
                                   "i => i.getBoundingClientRect().width)")
            assert widths and min(widths) >= 100  # pictures and video frames, not stamps
            vsr = page.locator(".gallery", has=page.locator("h3", has_text="vsr")).first
            text = vsr.inner_text()
            assert "validator" not in text and "label" in text
            assert vsr.locator("ol.ranked li").count() >= 2  # yes/no/true/false, scored
            assert "yes" in vsr.locator("ol.ranked").first.inner_text()
        finally:
            browser.close()


def test_the_difference_plot_puts_its_legend_below_the_axes():
    from ibench.report.html.plots import difference_plot
    from ibench.report.html.tables import Difference

    diffs = [Difference(f"run{i}", "InstructBLIP (FlanT5XL)", True, ["gqa", "vsr"],
                        [1.0, -2.0], [0.0, -3.0], [2.0, -1.0]) for i in range(2)]
    svg = difference_plot(diffs)
    legend = re.search(r'<g id="legend_1">(.*?)</g>\s*</g>', svg, re.S).group(1)
    axes = re.search(r'<g id="patch_1">.*?<path d="M (\S+) (\S+)', svg, re.S)
    legend_top = min(float(y) for y in re.findall(r"M \S+ (\S+)", legend))
    figure_height = float(re.search(r'height="([\d.]+)pt"', svg).group(1))
    # SVG y grows downwards: the legend starts below the lowest tick label of the axes
    ticks = [float(y) for y in re.findall(r'<use xlink:href="#\w+" x="\S+" y="(\S+)"', svg)]
    assert axes is not None and legend_top > max(ticks) and legend_top < figure_height
