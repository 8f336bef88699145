"""The report's plots, drawn by Matplotlib's SVG backend into strings for inline <svg>
(no pyplot, so no global backend state; text stays text, ids are seeded)."""

from __future__ import annotations

import io
import math
import re

from ibench.report.html.tables import Difference, Spread

COLORS = ("#1f6fb4", "#d9730d", "#2e8b57", "#8e44ad")
_RC = {"svg.fonttype": "none", "svg.hashsalt": "ibench-report", "font.size": 9,
       "text.parse_math": False, "text.usetex": False,  # labels are text, never TeX
       "axes.spines.top": False, "axes.spines.right": False}
# The XML prolog, DTD and namespace declarations an inline <svg> in HTML does without.
_PROLOG = re.compile(r"<\?xml[^>]*\?>\s*|<!DOCTYPE[^>]*>\s*|\s+xmlns(:\w+)?=\"[^\"]*\"")


def _svg(fig) -> str:  # type: ignore[no-untyped-def]
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight",
                metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    return _PROLOG.sub("", buffer.getvalue())


def _figure(rows: int, width: float = 7.0):  # type: ignore[no-untyped-def]
    from matplotlib.figure import Figure

    return Figure(figsize=(width, 0.9 + 0.28 * max(rows, 1)))


def difference_plot(diffs: list[Difference]) -> str:
    """Horizontal bars: run - paper per dataset, with the run's 95% interval shifted alike."""
    import matplotlib

    from ibench.protocol.paper import held_out_order

    tasks = [t for t in held_out_order() if any(t in d.tasks for d in diffs)]
    with matplotlib.rc_context(_RC):
        fig = _figure(len(tasks) * len(diffs))
        ax = fig.add_subplot()
        height = 0.8 / len(diffs)
        for i, diff in enumerate(diffs):
            ys = [tasks.index(t) + (i - (len(diffs) - 1) / 2) * height for t in diff.tasks]
            err = [[v - lo for v, lo in zip(diff.values, diff.lows, strict=True)],
                   [hi - v for v, hi in zip(diff.values, diff.highs, strict=True)]]
            ax.barh(ys, diff.values, height=height * 0.9, xerr=err, color=COLORS[i % 4],
                    error_kw={"elinewidth": 0.8, "capsize": 2},
                    label=f"{diff.run} - {diff.paper_row}")
        ax.axvline(0, color="#444", linewidth=0.8)
        ax.set_yticks(range(len(tasks)), tasks)
        ax.invert_yaxis()
        ax.set_xlabel("difference to the paper's number (points), with the run's 95% interval")
        if len(diffs) == 1:
            ax.set_title(f"{diffs[0].run} - {diffs[0].paper_row}", fontsize=9)
        else:
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), fontsize=8,
                      frameon=False)  # below the axes: it never covers a bar
        return _svg(fig)


def robustness_plot(spreads: list[Spread]) -> str:
    """A dot per template per dataset; the headline (zero-shot) template's dot is filled."""
    import matplotlib

    with matplotlib.rc_context(_RC):
        fig = _figure(len(spreads))
        ax = fig.add_subplot()
        for y, spread in enumerate(spreads):
            xs = [v for _, v in spread.scores]
            ax.plot([min(xs), max(xs)], [y, y], color="#bbb", linewidth=1, zorder=1)
            other = [v for t, v in spread.scores if t != spread.headline]
            head = [v for t, v in spread.scores if t == spread.headline]
            ax.scatter(other, [y] * len(other), s=18, facecolors="none",
                       edgecolors=COLORS[0], zorder=2)
            ax.scatter(head, [y] * len(head), s=22, color=COLORS[1], zorder=3)
            if not math.isnan(spread.mean):
                ax.plot([spread.mean], [y], marker="|", markersize=10, color="#333", zorder=3)
        ax.set_yticks(range(len(spreads)), [s.task for s in spreads])
        ax.invert_yaxis()
        ax.set_xlabel("score per template (filled: the zero-shot template; bar: the mean)")
        return _svg(fig)


def compare_plot(rows: list[dict]) -> str:
    """B - A per task with its paired-bootstrap 95% interval."""
    import matplotlib

    with matplotlib.rc_context(_RC):
        fig = _figure(len(rows))
        ax = fig.add_subplot()
        labels = [r["task"] if r["template_a"] == r["template_b"] and len(
            [x for x in rows if x["task"] == r["task"]]) == 1 else
            f"{r['task']} ({r['template_a']}/{r['template_b']})" for r in rows]
        ys = list(range(len(rows)))
        diff = [r["difference"] for r in rows]
        err = [[d - r["low"] for d, r in zip(diff, rows, strict=True)],
               [r["high"] - d for d, r in zip(diff, rows, strict=True)]]
        colors = [COLORS[2] if r["low"] > 0 else COLORS[1] if r["high"] < 0 else "#888"
                  for r in rows]
        ax.errorbar(diff, ys, xerr=err, fmt="none", ecolor="#666", elinewidth=0.8, capsize=2)
        ax.scatter(diff, ys, color=colors, s=20, zorder=3)
        ax.axvline(0, color="#444", linewidth=0.8)
        ax.set_yticks(ys, labels)
        ax.invert_yaxis()
        ax.set_xlabel("B - A (points), paired-bootstrap 95% interval")
        return _svg(fig)
