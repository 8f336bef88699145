"""The HTML report: one self-contained, offline page per run or pair of runs (leaderboard
beside the paper, template robustness, sample galleries, failures, manifest, compare).

runs.py reads the run folders, tables.py and gallery.py turn them into plain records,
thumbs.py embeds the media, plots.py draws the SVG plots, page.py renders templates/.
"""

from ibench.report.html.page import (
    DEFAULT_SAMPLES,
    build_report,
    default_output,
    render_report,
    write_report,
)

__all__ = ["DEFAULT_SAMPLES", "build_report", "default_output", "render_report", "write_report"]
