"""`--shard I/N` (issue 24): shares of one run in separate processes, their locks, and the
same merged predictions and scores whatever N and whichever share finishes last."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import run_cli

from ibench.run.lock import RunLock
from ibench.run.shares import Share, parse_share

ARGS = ("--model", "tiny-t5", "--tasks", "gqa,vsr,visdial", "--limit", "4")


def _eval(capsys, pack: Path, out: Path, *extra: str) -> tuple[int, str, str]:
    return run_cli(capsys, "eval", *ARGS, "--data-root", str(pack), "--output", str(out),
                   "--run-name", "r", *extra)


def _lines(run: Path, task: str) -> list[dict]:
    return [json.loads(x) | {"seconds": 0}
            for x in (run / "predictions" / f"{task}.jsonl").read_text().splitlines()]


def test_shares_in_any_order_give_the_single_runs_files(capsys, ibench_cache, sample_pack,
                                                        tmp_path):
    code, _, err = _eval(capsys, sample_pack, tmp_path / "one")
    assert code == 0, err
    for order in (("1/3", "2/3", "3/3"), ("3/3", "1/3", "2/3")):
        out = tmp_path / "-".join(s.replace("/", "of") for s in order)
        for i, share in enumerate(order):
            code, text, err = _eval(capsys, sample_pack, out, "--shard", share)
            assert code == 0, err
            if i < len(order) - 1:  # not the last: nothing scored yet
                assert "the last share to finish merges and scores" in text
                assert not (out / "r" / "metrics.json").exists()
        run = out / "r"
        assert (run / "metrics.json").read_bytes() == (
            tmp_path / "one" / "r" / "metrics.json").read_bytes()
        for task in ("gqa", "vsr", "visdial"):
            assert _lines(run, task) == _lines(tmp_path / "one" / "r", task)
        assert not list((run / "predictions").glob("*.part-*"))
        assert not list((run / "shares").glob("*.json"))
        sessions = json.loads((run / "manifest.json").read_text())["sessions"]
        assert [s["share"].split()[0] for s in sessions] == list(order)


def test_a_run_without_shard_finishes_what_shares_left(capsys, ibench_cache, sample_pack,
                                                       tmp_path):
    code, _, err = _eval(capsys, sample_pack, tmp_path / "one")
    code, _, err = _eval(capsys, sample_pack, tmp_path / "two", "--shard", "2/2")
    assert code == 0, err
    code, _, err = _eval(capsys, sample_pack, tmp_path / "two")
    assert code == 0, err
    assert (tmp_path / "two" / "r" / "metrics.json").read_bytes() == (
        tmp_path / "one" / "r" / "metrics.json").read_bytes()


def test_the_same_share_twice_is_refused_and_other_shares_run(capsys, ibench_cache,
                                                              sample_pack, tmp_path):
    run = tmp_path / "out" / "r"
    run.mkdir(parents=True)
    held = [RunLock(run, shared=True).acquire(), RunLock(run, ".lock-share-1of2").acquire()]
    try:
        code, _, err = _eval(capsys, sample_pack, tmp_path / "out", "--shard", "1/2")
        assert code == 1 and "share 1/2 of run" in err and "in use by process" in err
        code, _, err = _eval(capsys, sample_pack, tmp_path / "out")  # the whole run: refused
        assert code == 1 and "in use" in err
        code, text, err = _eval(capsys, sample_pack, tmp_path / "out", "--shard", "2/2")
        assert code == 0, err
    finally:
        for lock in held:
            lock.release()


def test_share_assignment_is_stable_and_covers_every_request():
    from ibench.records import Request

    requests = [Request(task="t", sample_id=str(i), template_id="x", prompt="p",
                        mode="generate", media=Path(f"/d/{i % 7}.jpg")) for i in range(50)]
    for n in (1, 2, 5):
        owners = [[s for s in range(1, n + 1) if Share(s, n).takes(r)] for r in requests]
        assert all(len(o) == 1 for o in owners)  # exactly one share takes each request
        # the requests of one image go to one share
        by_media: dict[Path, set[int]] = {}
        for r, o in zip(requests, owners, strict=True):
            by_media.setdefault(r.media, set()).add(o[0])
        assert all(len(v) == 1 for v in by_media.values())


@pytest.mark.parametrize("text", ["0/2", "3/2", "1", "a/b", "1/0"])
def test_a_bad_shard_is_refused(text):
    from ibench.run.folder import RunError

    with pytest.raises(RunError, match="expected I/N"):
        parse_share(text)
