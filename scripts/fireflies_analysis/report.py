"""A folder of figures and a summary for one run (what ``scripts/report.sh`` writes)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Callable

from matplotlib.figure import Figure

from . import plots
from .convergence import format_summary, summary
from .load import Run, load_run

__all__ = ["default_report_dir", "write_report"]


def default_report_dir(path: str | os.PathLike) -> Path:
    """``run.h5`` -> ``run-report/`` beside it."""
    path = Path(path)
    return path.with_name(f"{path.stem if path.suffix == '.h5' else path.name}-report")


def _save(fig: Figure, path: Path, dpi: int) -> Path:
    fig.savefig(path, dpi=dpi)
    return path


def write_report(
    run: Run | str | os.PathLike,
    outdir: str | os.PathLike | None = None,
    *,
    gif: bool = True,
    dpi: int = 110,
    log: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> dict[str, Path]:
    """Write the figures of a run and its summary into ``outdir`` (created if needed; default
    :func:`default_report_dir`). Returns the files written, by name:

    - ``summary``: ``summary.txt`` (aligned text, units on every line) and ``summary_json``:
      ``summary.json`` (the :func:`~fireflies_analysis.convergence.summary` dict);
    - ``order_parameter``: R, R_state and flashes per sample against time;
    - ``flash_raster`` when every flash was recorded (``--record-flashes``);
    - ``snapshot_first``, ``snapshot_last`` and ``snapshots_gif`` when snapshots exist (the GIF
      only with ``gif=True`` and Pillow installed; otherwise ``log`` says why it is missing);
    - ``blocks_R`` and ``blocks_final_R`` when per-block order parameters exist.
    """
    if not isinstance(run, Run):
        run = load_run(run)
    outdir = Path(outdir) if outdir is not None else default_report_dir(run.path)
    outdir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    notes: list[str] = []

    written["order_parameter"] = _save(plots.plot_order_parameter(run),
                                       outdir / "order_parameter.png", dpi)
    if run.has_flashes:
        written["flash_raster"] = _save(plots.plot_raster(run), outdir / "flash_raster.png", dpi)
    else:
        notes.append("no flash raster: the run was not recorded with --record-flashes")
    if run.has_snapshots:
        written["snapshot_first"] = _save(plots.plot_snapshot(run, 0),
                                          outdir / "snapshot_first.png", dpi)
        written["snapshot_last"] = _save(plots.plot_snapshot(run, -1),
                                         outdir / "snapshot_last.png", dpi)
        if not gif:
            notes.append("no GIF: not asked for")
        elif not plots.gif_available():
            notes.append("no GIF: writing one needs the Debian package python3-pil")
        else:
            written["snapshots_gif"] = plots.animate_snapshots(run, outdir / "snapshots.gif")
    else:
        notes.append("no snapshots: the run was made without --snapshot-every")
    if run.has_blocks and run.block_R is not None and run.block_R.shape[0] > 0:
        written["blocks_R"] = _save(plots.plot_block_R(run), outdir / "blocks_R.png", dpi)
        written["blocks_final_R"] = _save(plots.plot_block_map(run, -1),
                                          outdir / "blocks_final_R.png", dpi)
    else:
        notes.append("no block figures: the file has no /blocks group")

    values = summary(run)
    text = format_summary(values)
    listing = "\n".join(f"  {p.name}" for p in written.values())
    text += f"\nfigures:\n{listing}\n"
    if notes:
        text += "notes:\n" + "\n".join(f"  {n}" for n in notes) + "\n"
    written["summary"] = outdir / "summary.txt"
    written["summary"].write_text(text, encoding="utf-8")
    written["summary_json"] = outdir / "summary.json"
    written["summary_json"].write_text(json.dumps(values, indent=2) + "\n", encoding="utf-8")
    for note in notes:
        log(f"report: {note}")
    return written
