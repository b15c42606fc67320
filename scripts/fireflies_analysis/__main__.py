"""Command line: ``python3 -m fireflies_analysis summary|report|plot|follow|ensemble|study ...``.

Examples::

    python3 -m fireflies_analysis summary run.h5              # key numbers, with units
    python3 -m fireflies_analysis summary --json --check a.h5 b.h5
    python3 -m fireflies_analysis report run.h5 -o run-report # figures + summary.txt
    python3 -m fireflies_analysis plot run.h5 --kind raster -o raster.png
    python3 -m fireflies_analysis plot a.h5 b.h5              # R of several runs, overlaid
    python3 -m fireflies_analysis follow growing.h5           # print samples as they appear
    python3 -m fireflies_analysis ensemble run table.tsv --seeds 1-10 --ranks 3 --out DIR
    python3 -m fireflies_analysis ensemble run table.tsv --seeds 1-10 --out DIR --slurm
    python3 -m fireflies_analysis ensemble collect DIR/*.h5 -o table.csv -o table.h5
    python3 -m fireflies_analysis ensemble plot table.csv --kind power-law --x width -o fit.png
    python3 -m fireflies_analysis study scripts/studies/time_to_sync_vs_size.toml \
        --profile here --out study-size

Exit status: 0 on success, 1 on an error (or, with ``summary --check``, when a file's totals
disagree), 2 on a usage error.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Optional, Sequence

from . import ensemble, plots
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


def _cmd_ensemble_run(args: argparse.Namespace) -> int:
    header, rows = ensemble.read_table(args.table)
    seeds = ensemble.parse_seeds(args.seeds) if args.seeds else None
    runs = ensemble.expand(header, rows, seeds=seeds, ranks=args.ranks)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ensemble.write_runs_table(out / "runs.tsv", runs)
    program = ensemble.find_program(args.fireflies)
    base = Path(args.config).resolve() if args.config else None
    extra = shlex.split(args.args or "")
    try:
        ensemble.preflight(program, runs, base_config=base, extra=extra)
    except ValueError as error:
        print(f"fireflies_analysis ensemble run: error: {error}", file=sys.stderr)
        return 2
    print(f"{len(runs)} runs ({len(rows)} rows x {len(seeds) if seeds else 1} seeds) into {out}",
          flush=True)
    if args.slurm:
        ids = ensemble.submit_slurm(runs, out, program=program, mode=args.slurm,
                                    jobs_dir=Path(args.jobs_dir) if args.jobs_dir else None,
                                    base_config=base, extra=extra,
                                    sbatch_args=shlex.split(args.sbatch_args or ""),
                                    max_parallel=args.max_parallel, dry_run=args.dry_run)
        print(f"submitted: {' '.join(ids)}; then: python3 -m fireflies_analysis ensemble collect "
              f"{out}/*.h5 -o {out}/table.csv")
        return 0
    outcomes = ensemble.run_local(runs, out, program=program, launcher=args.launcher,
                                  jobs=args.jobs, base_config=base, extra=extra, force=args.force,
                                  report=lambda m: print(m, flush=True))
    failed = [o for o in outcomes if o.code not in (None, 0)]
    for o in failed:
        print(f"fireflies_analysis ensemble run: {o.run.name} failed with exit code {o.code}: "
              f"see {o.log}", file=sys.stderr)
    return 1 if failed else 0


def _cmd_ensemble_collect(args: argparse.Namespace) -> int:
    import time
    started = time.monotonic()
    rows = ensemble.collect(args.files, skip_invalid=args.skip_invalid)
    if not rows:
        raise ValueError("no run files to collect")
    by = [c.strip() for c in args.by.split(",") if c.strip()] if args.by else None
    points = ensemble.summarise(rows, by=by)
    written = []
    for path in args.output or []:
        written += ensemble.write_table(rows, points, path)
    seconds = time.monotonic() - started
    if args.json:
        print(json.dumps({"runs": rows, "points": points}, indent=1, default=str))
    else:
        by = by if by is not None else ensemble.parameter_columns(rows)
        print(f"{len(rows)} runs, {len(points)} points (by {', '.join(by) or 'nothing: one point'})"
              f", read in {seconds:.2f} s")
        for p in points:
            head = " ".join(f"{c}={p[c]}" for c in by)
            print(f"  {head or 'all'}: {p['synced']}/{p['counted']} synchronised "
                  f"(95 % {p['fraction_synced_low']:.2f}-{p['fraction_synced_high']:.2f}), "
                  f"time_to_sync {p['time_to_sync_s_mean']:.4g} s "
                  f"(95 % CI {p['time_to_sync_s_low']:.4g} to {p['time_to_sync_s_high']:.4g}), "
                  f"final R {p['final_R_mean']:.4f}")
        for path in written:
            print(f"wrote {path}")
    return 0


def _cmd_ensemble_plot(args: argparse.Namespace) -> int:
    from . import ensemble_plots as ep
    rows = ensemble.load_rows(args.inputs, skip_invalid=args.skip_invalid)
    if not rows:
        raise ValueError("no runs")
    by = [c.strip() for c in args.by.split(",") if c.strip()] if args.by else [args.x]
    points = ensemble.summarise(rows, by=by)
    if args.kind == "power-law":
        fit, excluded = ep.power_law_of(rows, args.x, args.y or "time_to_sync_s", points=points,
                                        min_fraction=args.min_fraction)
        fig = ep.plot_power_law(rows, points, fit, x=args.x, y=args.y or "time_to_sync_s")
        print(fit.describe(args.x, args.y or "time_to_sync_s"))
        if excluded:
            print(f"left out (not every run synchronised): {args.x} = "
                  f"{', '.join(map(str, excluded))}")
    elif args.kind == "fraction":
        fig = ep.plot_fraction(points, args.x, log_x=args.log_x)
    else:
        fig = ep.plot_mean(points, args.x, args.y or "final_R", log_x=args.log_x)
    out = Path(args.output or f"ensemble-{args.kind}.png")
    fig.savefig(out, dpi=args.dpi)
    print(out)
    return 0


def _cmd_study(args: argparse.Namespace) -> int:
    from .study import main_study
    return main_study(args, report=lambda m: print(m, flush=True))


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

    ens = sub.add_parser("ensemble", help="run a table of parameters x seeds, collect the "
                                          "outputs into one table, plot it")
    esub = ens.add_subparsers(dest="ensemble_command", required=True)
    p = esub.add_parser("run", help="run every row of a parameter table (TSV) for each seed, "
                                    "locally or on Slurm")
    p.add_argument("table", metavar="TABLE.tsv",
                   help="tab-separated; header: option names (TOML keys), optionally ranks")
    p.add_argument("--seeds", metavar="LIST", help="seeds for every row: 1-10, 1,2,5, 1-3,7")
    p.add_argument("--ranks", type=int, default=1,
                   help="MPI ranks per run (default 1: the program alone); a ranks column wins")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the outputs")
    p.add_argument("--config", metavar="BASE.toml", help="base config for every run")
    p.add_argument("--args", metavar="OPTIONS", help="more program options for every run")
    p.add_argument("--fireflies", metavar="PATH", help="the program (default: FIREFLIES_BIN, "
                                                      "else fireflies on PATH)")
    p.add_argument("--jobs", type=int, default=1, help="runs at a time (local)")
    p.add_argument("--launcher", metavar="CMD",
                   help="launcher with {ranks} (default: FIREFLIES_LAUNCHER, else "
                        "'mpirun -np {ranks}')")
    p.add_argument("--force", action="store_true",
                   help="run again runs whose output is complete (default: skip them)")
    p.add_argument("--slurm", nargs="?", const="array", choices=("array", "long"),
                   help="submit instead: a job array of jobs/sweep.sbatch (array, default), or "
                        "one checkpointed jobs/fireflies.sbatch job per run (long)")
    p.add_argument("--sbatch-args", metavar="OPTIONS", help="more sbatch options (--time, ...)")
    p.add_argument("--max-parallel", type=int, help="array tasks at a time (%%N)")
    p.add_argument("--jobs-dir", metavar="DIR", help="where sweep.sbatch and fireflies.sbatch "
                                                    "are (default: the repository's jobs/)")
    p.add_argument("--dry-run", action="store_true", help="print the sbatch commands only")
    p.set_defaults(func=_cmd_ensemble_run)

    p = esub.add_parser("collect", help="one row per run file, per-point summaries; refuses "
                                        "files that are not fireflies outputs")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("-o", "--output", action="append", metavar="TABLE.csv|TABLE.h5",
                   help="write the table (CSV: also TABLE.points.csv; HDF5: /runs and /points); "
                        "may be given twice")
    p.add_argument("--by", metavar="COLUMNS",
                   help="comma-separated columns of a parameter point (default: the settings "
                        "that differ between the runs)")
    p.add_argument("--skip-invalid", action="store_true",
                   help="leave out files that are not fireflies outputs (with a warning)")
    p.add_argument("--json", action="store_true", help="print runs and points as JSON")
    p.set_defaults(func=_cmd_ensemble_collect)

    p = esub.add_parser("plot", help="a figure of an ensemble: power law, fraction synchronised, "
                                     "or a mean against a parameter")
    p.add_argument("inputs", nargs="+", metavar="FILE",
                   help="run files, or a table written by collect (.csv, .h5)")
    p.add_argument("--kind", choices=("power-law", "fraction", "mean"), default="power-law")
    p.add_argument("--x", default="width", help="parameter on the x axis (default width)")
    p.add_argument("--y", help="quantity (power-law: time_to_sync_s; mean: final_R)")
    p.add_argument("--by", metavar="COLUMNS", help="columns of a point (default: --x)")
    p.add_argument("--min-fraction", type=float, default=1.0,
                   help="power-law: fit only points where at least this fraction synchronised")
    p.add_argument("--log-x", action="store_true")
    p.add_argument("--skip-invalid", action="store_true")
    p.add_argument("-o", "--output", metavar="PNG")
    p.add_argument("--dpi", type=int, default=110)
    p.set_defaults(func=_cmd_ensemble_plot)

    p = sub.add_parser("study", help="run a study file (scripts/studies/*.toml): its runs, the "
                                     "collected table, fits, figures and report.md")
    p.add_argument("spec", metavar="STUDY.toml")
    p.add_argument("--profile", help="a [profiles.NAME] of the file (quick, full, cluster; study 1 also here)")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--fireflies", metavar="PATH")
    p.add_argument("--jobs", type=int, default=1, help="runs at a time (local)")
    p.add_argument("--launcher", metavar="CMD", help="as for ensemble run")
    p.add_argument("--slurm", nargs="?", const="array", choices=("array", "long"))
    p.add_argument("--sbatch-args", metavar="OPTIONS")
    p.add_argument("--dry-run", action="store_true")
    p.add_argument("--force", action="store_true")
    p.add_argument("--report-only", action="store_true",
                   help="only collect the outputs already in DIR and write the report")
    p.set_defaults(func=_cmd_study)
    return parser


#: Options whose value is itself a list of options ("--time=01:00:00"): argparse would take a
#: value starting with a dash for an option of its own.
_PASS_THROUGH = ("--args", "--sbatch-args", "--launcher")


def _join_pass_through(argv: Sequence[str]) -> list[str]:
    """``--sbatch-args --time=1:00`` -> ``--sbatch-args=--time=1:00``."""
    out, items = [], list(argv)
    i = 0
    while i < len(items):
        if items[i] in _PASS_THROUGH and i + 1 < len(items):
            out.append(f"{items[i]}={items[i + 1]}")
            i += 2
        else:
            out.append(items[i])
            i += 1
    return out


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(_join_pass_through(sys.argv[1:] if argv is None else argv))
    try:
        return args.func(args)
    except (MissingDataError, OSError, ValueError, RuntimeError, IndexError,
            TimeoutError) as error:
        command = args.command + (f" {args.ensemble_command}" if args.command == "ensemble" else "")
        print(f"fireflies_analysis {command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
