"""Untrusted text stays text (issue 15): rich markup, table separators, HTML, LaTeX specials and
terminal escapes from a run folder's manifest go through every output format as data."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil

import pytest
from cli_helpers import run_cli

from ibench.safetext import latex_cell, md_cell, visible

HOSTILE = ("[/x][bold]B[link=https://evil.example]L|x\n<script>alert(1)</script> $^{}~&%#_\\ "
           "\x1b[31mred\x1b]0;pwned\x07 \x1b]8;;http://x\x1b\\link\x9b")


@pytest.fixture(scope="module")
def hostile_runs(tmp_path_factory, sample_pack, ibench_cache):
    """Two scored runs whose manifests carry the hostile string (alias, model, a note)."""
    root = tmp_path_factory.mktemp("hostile")
    import os
    import subprocess
    import sys

    env = {**os.environ, "IBENCH_CACHE": str(ibench_cache)}
    subprocess.run([sys.executable, "-m", "ibench", "eval", "--model", "tiny-t5", "--tasks",
                    "gqa", "--data-root", str(sample_pack), "--output", str(root),
                    "--run-name", "a", "--limit", "2"], env=env, check=True,
                   capture_output=True)
    shutil.copytree(root / "a", root / "b")
    for name in ("a", "b"):
        path = root / name / "manifest.json"
        manifest = json.loads(path.read_text())
        manifest["settings"]["model_alias"] = HOSTILE
        if name == "b":
            manifest["settings"]["model"] = HOSTILE
        manifest["status"] = HOSTILE  # a note says "the run is <status>"
        path.write_text(json.dumps(manifest))
    return root


def _no_escapes(text: str) -> None:
    assert "\x1b" not in text and "\x07" not in text and "\x9b" not in text


def test_the_terminal_table_shows_markup_as_text(capsys, hostile_runs):
    code, out, err = run_cli(capsys, "leaderboard", str(hostile_runs / "a"))
    assert code == 0, err
    _no_escapes(out)
    flat = "".join(out.split())
    assert "[/x][bold]B[link=https://evil.example]L|x" in flat  # not interpreted
    assert "\\x1b[31mred" in flat and "<script>" in flat


def test_markdown_keeps_each_row_in_its_cells(capsys, hostile_runs):
    code, out, _ = run_cli(capsys, "leaderboard", str(hostile_runs / "a"), "--format", "md")
    assert code == 0
    _no_escapes(out)
    table = [line for line in out.splitlines() if line.startswith("|")]
    cells = [len(re.split(r"(?<!\\)\|", line)) for line in table]
    assert len(set(cells)) == 1 and cells[0] == 15 + 2  # 15 cells (and the two ends)
    assert len(table) == 2 + 12  # header, rule, 11 paper rows and the run: no stray line
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert not [line for line in out.splitlines() if line and not line.startswith(("|", "- "))]


def test_latex_escapes_every_special_and_keeps_one_line_a_row(capsys, hostile_runs):
    code, out, _ = run_cli(capsys, "leaderboard", str(hostile_runs / "a"), "--format", "latex")
    assert code == 0
    _no_escapes(out)
    body = out.split("\\midrule\n")[1].split("\\bottomrule")[0].splitlines()
    assert len(body) == 12 and all(line.endswith("\\\\") for line in body)
    row = body[-1]
    for special in "$^{}~&%#_":
        bare = re.findall(rf"(?<!\\){re.escape(special)}", row.replace("\\textasciitilde{}", "")
                          .replace("\\textasciicircum{}", "").replace("\\textbackslash{}", "")
                          .replace("\\textless{}", "").replace("\\textgreater{}", ""))
        assert special in "&" or not bare, (special, row)  # & separates cells only
    assert row.count(" & ") == 14  # 15 cells: the specials did not add any


def test_csv_and_json_round_trip_exactly(capsys, hostile_runs):
    name = f"a ({HOSTILE}, DEMO)"
    code, out, _ = run_cli(capsys, "leaderboard", str(hostile_runs / "a"), "--format", "csv")
    assert code == 0 and [r for r in csv.reader(io.StringIO(out))][-1][0] == name
    code, out, _ = run_cli(capsys, "leaderboard", str(hostile_runs / "a"), "--format", "json")
    data = json.loads(out)
    assert data["rows"][-1]["model"] == name
    assert any(HOSTILE in note for note in data["notes"])


def test_compare_prints_hostile_settings_and_warnings_as_text(capsys, hostile_runs):
    a, b = str(hostile_runs / "a"), str(hostile_runs / "b")
    code, out, err = run_cli(capsys, "compare", a, b)
    assert code == 0, err
    _no_escapes(out + err)
    assert "[bold]B[link=https://evil.example]" in "".join((out + err).split())
    for fmt in ("md", "latex"):
        code, text, _ = run_cli(capsys, "compare", a, b, "--format", fmt)
        _no_escapes(text)
        assert "<script>" not in text
    code, text, _ = run_cli(capsys, "compare", a, b, "--format", "json")
    assert any(d["b"] == HOSTILE for d in json.loads(text)["manifest_diff"])


def test_the_cell_functions():
    assert visible("a\x1b[31mb\nc\x9b") == "a\\x1b[31mb\\nc\\x9b"
    assert md_cell("a|b<i>\n") == "a\\|b&lt;i&gt;\\\\n"  # renders as a|b<i>\n
    assert latex_cell("$x^2_{i}~ & 5% #") == (
        "\\$x\\textasciicircum{}2\\_\\{i\\}\\textasciitilde{} \\& 5\\% \\#")


def test_print_table_never_parses_a_cell_title_or_caption_as_markup():
    from rich.console import Console

    from ibench.cli.display import print_table

    buf = io.StringIO()
    print_table(HOSTILE, ["model", HOSTILE], [[HOSTILE, "1.0"], ["[/x]", None]],
                caption=HOSTILE, out=Console(file=buf, width=200))  # a plain console too
    out = buf.getvalue()
    _no_escapes(out)
    flat = "".join(out.split())
    assert flat.count("[/x][bold]B[link=https://evil.example]L|x") >= 4  # title, header, cell
    assert "\\x1b]0;pwned\\x07" in flat and "\\x1b]8;;http://x\\x1b\\link\\x9b" in flat


def test_the_console_shows_control_characters_of_styled_text_too():
    from rich.text import Text

    from ibench.cli.display import SafeConsole

    buf = io.StringIO()
    out = SafeConsole(file=buf, width=200, force_terminal=True, color_system="standard")
    out.print(Text.assemble(("id\x1b]0;pwned\x07", "bold"), ": ", ("[red]x\x9b\x7f", "red")))
    text = buf.getvalue()
    shown = re.sub(r"\x1b\[[0-9;]*m", "", text)  # the console's own styling, nothing else
    _no_escapes(shown)
    assert "id\\x1b]0;pwned: [red]x\\x9b\\x7f" in shown  # (rich's Text drops a BEL itself)
    assert "\x1b[1m" in text  # the styles are kept


def test_print_json_escapes_c1_and_del_and_round_trips(capsys):
    from ibench.cli.display import print_json

    print_json({HOSTILE: [HOSTILE, "é"]})
    out = capsys.readouterr().out
    _no_escapes(out)
    assert "\x7f" not in out and "é" in out
    assert json.loads(out) == {HOSTILE: [HOSTILE, "é"]}


def test_progress_bars_show_a_task_name_as_text():
    from ibench.cli.display import SafeConsole
    from ibench.cli.progress import RichHooks

    hooks = RichHooks()
    hooks.err = SafeConsole(file=io.StringIO(), width=200)
    advance = hooks.task_started("t\x1b]0;pwned\x07[bold]", 2, 1)
    advance(2)
    hooks.task_finished("t")
    text = hooks.err.file.getvalue()
    _no_escapes(text)
    assert "t\\x1b]0;pwned\\x07[bold]" in text


def test_error_and_warning_lines_show_run_folder_text_visibly(capsys, tmp_path):
    from run_fixtures import make_run

    task = "t\x1b]0;pwned\x07\x9b[bold]"  # a task id from a shared run folder's manifest
    runs = [make_run(tmp_path, name, [1, 0, 1, 1], [1, 0, 1, 0]) for name in ("a", "b")]
    for run in runs:
        manifest = json.loads((run / "manifest.json").read_text())
        manifest["settings"]["tasks"].append(task)
        (run / "manifest.json").write_text(json.dumps(manifest))
        metrics = json.loads((run / "metrics.json").read_text())
        metrics["tasks"][task] = metrics["tasks"]["vsr"]  # scored, its files missing
        (run / "metrics.json").write_text(json.dumps(metrics))
    code, out, err = run_cli(capsys, "report", *map(str, runs), "-o", str(tmp_path / "r.html"))
    assert code == 0 and "warning:" in err
    _no_escapes(out + err)
    assert "t\\x1b]0;pwned\\x07\\x9b[bold]" in err
    code, out, err = run_cli(capsys, "leaderboard", str(tmp_path / "gone\x1b]0;pwned\x07"))
    assert code == 1 and err.startswith("error:")
    _no_escapes(out + err)
    assert "gone\\x1b]0;pwned\\x07" in err


def test_compare_shows_another_models_protocol_as_text(capsys, tmp_path):
    """The protocol warning quotes a run folder's manifest (model family and differences)."""
    from run_fixtures import make_run

    runs = [make_run(tmp_path, name, [1, 0, 1, 1], [1, 0, 1, 0]) for name in ("a", "b")]
    manifest = json.loads((runs[1] / "manifest.json").read_text())
    manifest["model_info"] = {"family": "fam\x1b]0;pwned\x07", "protocol_differences": [HOSTILE]}
    (runs[1] / "manifest.json").write_text(json.dumps(manifest))
    code, out, err = run_cli(capsys, "compare", *map(str, runs))
    assert code == 0
    _no_escapes(out + err)
    assert "run B is fam\\x1b]0;pwned\\x07, not InstructBLIP" in " ".join(err.split())
    for fmt in ("md", "latex", "json"):
        code, out, _ = run_cli(capsys, "compare", *map(str, runs), "--format", fmt)
        assert code == 0
        _no_escapes(out)
        if fmt == "md":
            assert "&lt;script&gt;alert(1)" in out and "<script>" not in out
