"""Command line: ``python3 -m fireflies_analysis summary|report|plot|follow FILE ...``.

Examples::

    python3 -m fireflies_analysis summary run.h5              # key numbers, with units
    python3 -m fireflies_analysis summary --json --check a.h5 b.h5
    python3 -m fireflies_analysis report run.h5 -o run-report # figures + summary.txt
    python3 -m fireflies_analysis plot run.h5 --kind raster -o raster.png
    python3 -m fireflies_analysis plot a.h5 b.h5              # R of several runs, overlaid
    python3 -m fireflies_analysis follow growing.h5           # print samples as they appear

Exit status: 0 on success, 1 on an error (or, with ``summary --check``, when a file's totals
disagree), 2 on a usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Optional, Sequence

from . import plots
from .convergence import format_summary, summary
from .load import MissingDataError, follow, load_run
from .report import write_report

def _save_png(fig, out: Path, args: argparse.Namespace) -> None:
    fig.savefig(out, dpi=args.dpi)


#: ``plot --kind``: how to write each figure of one run, and the file suffix.
PLOT_KINDS = {
    "order": (lambda run, out, a: _save_png(plots.plot_order_parameter(run), out, a), "png"),
    "raster": (lambda run, out, a: _save_png(plots.plot_raster(run, a.t_range), out, a), "png"),
    "snapshot": (lambda run, out, a: _save_png(plots.plot_snapshot(run, a.frame), out, a), "png"),
    "animation": (lambda run, out, a: plots.animate_snapshots(run, out, fps=a.fps), "gif"),
    "blocks": (lambda run, out, a: _save_png(plots.plot_block_R(run), out, a), "png"),
    "block-map": (lambda run, out, a: _save_png(plots.plot_block_map(run, a.frame), out, a),
                  "png"),
}


def _cmd_summary(args: argparse.Namespace) -> int:
    status = 0
    results = []
    for path in args.files:
        values = summary(load_run(path, snapshots=False))
        results.append(values)
        if args.check and not values["totals_consistent"]:
            status = 1
        if not args.json:
            if len(args.files) > 1:
                print(f"== {path}")
            print(format_summary(values), end="")
    if args.json:
        print(json.dumps(results[0] if len(results) == 1 else results, indent=2))
    return status


def _cmd_report(args: argparse.Namespace) -> int:
    if args.output is not None and len(args.files) > 1:
        raise SystemExit("report: -o/--output needs exactly one FILE")
    for path in args.files:
        written = write_report(path, args.output, gif=not args.no_gif)
        print(f"{path}: wrote {len(written)} files in {written['summary'].parent}")
    return 0


def _cmd_plot(args: argparse.Namespace) -> int:
    if args.kind == "order" and len(args.files) > 1:
        runs = [load_run(p, flashes=False, snapshots=False) for p in args.files]
        fig = plots.plot_compare(runs, series=args.series)
        out = Path(args.output or f"compare-{args.series}.png")
        fig.savefig(out, dpi=args.dpi)
        print(out)
        return 0
    if args.output is not None and len(args.files) > 1:
        raise SystemExit("plot: -o/--output needs exactly one FILE (or --kind order)")
    write, suffix = PLOT_KINDS[args.kind]
    for path in map(Path, args.files):
        run = load_run(path, flashes=args.kind == "raster",
                       snapshots=args.kind in ("snapshot", "animation"))
        out = Path(args.output or path.with_name(f"{path.stem}-{args.kind}.{suffix}"))
        write(run, out, args)
        print(out)
    return 0


def _cmd_follow(args: argparse.Namespace) -> int:
    shown = 0
    for run in follow(args.file, interval=args.interval, idle_timeout=args.idle_timeout,
                      wait_for_file=args.wait):
        for i in range(shown, run.n_samples):
            print(f"t = {run.t[i]:9.2f} s   R = {run.R[i]:.4f}   R_state = {run.R_state[i]:.4f}"
                  f"   flashes = {run.flashes[i]:6d}   pulse = {run.pulse[i]:.3f}", flush=True)
        shown = run.n_samples
    print(f"{args.file}: {shown} samples, status {run.status or 'unknown'}")
    return 0


def _t_range(text: str) -> tuple[float, float]:
    try:
        lo, hi = (float(x) for x in text.split(":"))
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected START:END in seconds, got {text!r}") from error
    return lo, hi


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python3 -m fireflies_analysis",
        description="Analyse fireflies run files (HDF5). Times are simulated seconds.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("summary", help="key numbers of runs: time to R = 0.9/0.99, final R, "
                                       "flash rate, totals check")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--check", action="store_true",
                   help="exit with status 1 if a file's totals disagree with each other")
    p.set_defaults(func=_cmd_summary)

    p = sub.add_parser("report", help="write figures, a GIF and summary.txt for runs")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("-o", "--output", metavar="DIR", help="report folder (default FILE-report/)")
    p.add_argument("--no-gif", action="store_true", help="skip the snapshot animation")
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("plot", help="one figure of runs (several files: R overlaid)")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("-k", "--kind", choices=sorted(PLOT_KINDS), default="order",
                   help="which figure (default: order, the order parameter against time)")
    p.add_argument("-o", "--output", metavar="PATH",
                   help="image file (default: FILE-KIND.png beside FILE)")
    p.add_argument("--frame", type=int, default=-1,
                   help="snapshot or sample index for snapshot/block-map (default: last)")
    p.add_argument("--t-range", type=_t_range, metavar="START:END",
                   help="time window of the raster (s)")
    p.add_argument("--series", choices=("R", "R_state"), default="R",
                   help="order parameter compared across files")
    p.add_argument("--fps", type=float, default=4.0, help="frames per second of the GIF")
    p.add_argument("--dpi", type=int, default=110)
    p.set_defaults(func=_cmd_plot)

    p = sub.add_parser("follow", help="print the samples of a run file while it is written")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--interval", type=float, default=0.5, help="poll interval (wall s)")
    p.add_argument("--idle-timeout", type=float, default=None,
                   help="stop after this many wall seconds without new samples")
    p.add_argument("--wait", type=float, default=60.0,
                   help="wall seconds to wait for the file to appear")
    p.set_defaults(func=_cmd_follow)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (MissingDataError, OSError, ValueError, RuntimeError, IndexError,
            TimeoutError) as error:
        print(f"fireflies_analysis {args.command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
