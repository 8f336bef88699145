"""CLI over the catalog: tasks, templates, mixture, and unknown names."""

from cli_helpers import run_cli, run_json
from protocol_fixtures import HELD_OUT


def test_tasks_list_held_out_json(capsys):
    rows = run_json(capsys, "tasks", "list", "--split", "held-out", "--json")
    assert [(r["id"], r["metric"], r["mode"]) for r in rows] == [
        (k, *v) for k, v in HELD_OUT.items()
    ]


def test_tasks_list_table(capsys):
    code, out, _ = run_cli(capsys, "tasks", "list")
    # all = held-in and held-out: the 26 datasets plus A-OKVQA's direct-answer task
    assert code == 0 and "27 tasks" in out and "msrvtt_qa" in out and "vizwiz_test" not in out
    code, out, _ = run_cli(capsys, "tasks", "list", "--split", "server")
    assert code == 0 and "1 tasks" in out and "vizwiz_test" in out


def test_templates_list_json(capsys):
    data = run_json(capsys, "templates", "list", "--json")
    counts = {r["task"]: r["count"] for r in data["tasks"]}
    assert len(counts) == 27  # all = the 26 datasets and A-OKVQA direct answer
    assert all(c >= 10 for t, c in counts.items() if not t.startswith("llava_"))
    assert all(counts[t] >= 1 for t in ("llava_conv", "llava_detail", "llava_reasoning"))
    fam = data["families"]
    assert fam["captioning"]["sources"] == {"paper": 13}
    assert fam["vqa"]["sources"] == {"paper": 10}
    assert fam["vqg"]["sources"]["paper"] == 6


def test_templates_show_and_render(capsys):
    data = run_json(capsys, "templates", "show", "gqa", "--json")
    assert data["family"] == "vqa" and len(data["templates"]) == 10
    code, out, _ = run_cli(capsys, "templates", "render", "gqa", "--template", "vqa-05",
                           "--field", "question=Is it red?")
    assert code == 0 and "'Question: Is it red? Short answer:'" in out
    code, _, err = run_cli(capsys, "templates", "render", "gqa", "--template", "vqa-05")
    assert code == 1 and "needs field 'question'" in err


def test_unknown_names_suggest_and_exit_2(capsys):
    code, _, err = run_cli(capsys, "tasks", "show", "gqaa")
    assert code == 2 and "unknown task 'gqaa'" in err and "gqa" in err
    code, _, err = run_cli(capsys, "templates", "show", "captionin")
    assert code == 2 and "captioning" in err
    code, _, err = run_cli(capsys, "templates", "list", "--task", "vizwis")
    assert code == 2 and "vizwiz" in err


def test_mixture(capsys, tmp_path):
    sizes = tmp_path / "sizes.json"
    sizes.write_text('{"a": 100, "b": 400}')
    data = run_json(capsys, "data", "mixture", "--sizes", str(sizes), "--json")
    assert abs(data["a"]["probability"] - 1 / 3) < 1e-12
    data = run_json(capsys, "data", "mixture", "--json")
    assert len(data) == 13 and abs(sum(v["probability"] for v in data.values()) - 1) < 1e-12


def test_every_task_show_names_metric_and_definition(capsys):
    from ibench.metrics import METRICS
    from ibench.protocol.suite import load_tasks

    for task_id, task in load_tasks().items():
        data = run_json(capsys, "tasks", "show", task_id, "--json")
        assert data["metric"] == task.metric
        assert data["metric_definition"] == METRICS[task.metric].definition
    code, out, _ = run_cli(capsys, "tasks", "show", "vizwiz")
    assert code == 0 and "VQA accuracy" in out and "min(1" in out.replace("\n", " ")
