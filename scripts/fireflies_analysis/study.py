"""Studies: an ensemble described as data (a TOML file in ``scripts/studies/``), run, collected,
fitted and drawn by one command::

    python3 -m fireflies_analysis study scripts/studies/time_to_sync_vs_size.toml \\
        --profile here --out study-size

The file says what every run gets (``[options]``), which parameter points to run
(``[points]``: lists of option values, every combination; ``[tie]``: options that take another
option's value, such as ``height = "width"`` for square grids), how many seeds and ranks
(``seeds``, ``ranks`` or ``cells-per-worker``), named ``[profiles.NAME]`` that replace any of
these (a test size, this machine's size, a cluster's), and the figures (``[[figures]]``, kinds
``power_law``, ``fraction`` and ``mean``). A study of another model family is another such
file: the options it varies are the program's, passed through unchanged.

The output folder gets the runs (``run-NNNN.h5`` locally, ``sweep-JOB-k.h5`` from a Slurm
array), ``runs.tsv`` (what was run), ``runs.csv`` and ``points.csv`` (the collected table and
its per-point summaries), ``study.h5`` (both, in HDF5), the figures, and ``report.md``: the
fit, the points, the command, the program's version and the machine.
"""

from __future__ import annotations

import copy
import datetime
import itertools
import json
import math
import os
import platform
import shlex
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from . import ensemble
from .ensemble_plots import plot_fraction, plot_mean, plot_phase_diagram, plot_power_law, power_law_of

__all__ = ["Study", "load_study", "machine_description", "report_study", "run_study"]

_FIGURE_KINDS = ("power_law", "fraction", "mean", "phase_diagram")


def _text(value: Any) -> str:
    """An option value as the command line spells it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


@dataclass
class Study:
    """A study file with one profile applied."""

    path: Path
    name: str
    title: str
    profile: str
    options: dict[str, Any]
    points: dict[str, list[Any]]
    tie: dict[str, str]
    seeds: list[int]
    ranks: Optional[int]
    cells_per_worker: Optional[int]
    max_ranks: Optional[int]
    figures: list[dict[str, Any]]
    notes: str
    spec: dict[str, Any]
    #: Environment for the Slurm jobs (``[slurm-env]``: e.g. FIREFLIES_CHECKPOINT_EVERY).
    slurm_env: dict[str, str]

    def runs(self) -> list[ensemble.Run]:
        """Every point (each combination of the ``[points]`` lists, ties filled in) x seed."""
        names = list(self.points)
        runs = []
        for combo in itertools.product(*(self.points[n] for n in names)):
            point = dict(zip(names, combo))
            for target, source in self.tie.items():
                point[target] = point[source]
            options = {k: _text(v) for k, v in {**self.options, **point}.items()}
            ranks = self.ranks_for(point)
            for seed in self.seeds:
                runs.append(ensemble.Run(len(runs) + 1, {**options, "seed": str(seed)}, ranks))
        return runs

    def ranks_for(self, point: dict[str, Any]) -> int:
        if self.cells_per_worker:
            cells = int(point.get("width", self.options.get("width", 30))) * int(
                point.get("height", self.options.get("height", 30)))
            ranks = 1 + max(1, math.ceil(cells / self.cells_per_worker))
            return min(ranks, self.max_ranks) if self.max_ranks else ranks
        return int(self.ranks or 1)


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_study(path: str | os.PathLike, profile: Optional[str] = None) -> Study:
    """Reads a study file and applies ``profile`` (else the file's ``default-profile``).

    A profile table may set ``seeds``, ``ranks``, ``cells-per-worker``, ``max-ranks`` and
    ``notes``, and replace entries of ``options``, ``points`` and ``tie``. Raises ValueError
    naming the file for anything it does not understand.
    """
    path = Path(path)
    try:
        spec = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{path}: not valid TOML: {error}") from None
    known = {"study", "options", "points", "tie", "profiles", "figures", "seeds", "ranks",
             "cells-per-worker", "max-ranks", "default-profile", "notes", "slurm-env"}
    unknown = sorted(set(spec) - known)
    if unknown:
        raise ValueError(f"{path}: unknown key(s) {', '.join(unknown)}")
    profiles = spec.get("profiles", {})
    name = profile or spec.get("default-profile")
    if name is not None:
        if name not in profiles:
            raise ValueError(f"{path}: no profile {name!r} (have: {', '.join(profiles) or 'none'})")
        merged = _merge({k: v for k, v in spec.items() if k != "profiles"}, profiles[name])
    else:
        merged = spec
    meta = merged.get("study", {})
    points = merged.get("points", {})
    for key, values in points.items():
        if not isinstance(values, list) or not values:
            raise ValueError(f"{path}: points.{key} must be a non-empty list")
    tie = merged.get("tie", {})
    for target, source in tie.items():
        if source not in points and source not in merged.get("options", {}):
            raise ValueError(f"{path}: tie.{target} = {source!r} names no point or option")
    figures = merged.get("figures", [])
    for figure in figures:
        if figure.get("kind") not in _FIGURE_KINDS:
            raise ValueError(f"{path}: figure kind {figure.get('kind')!r} is not one of "
                             f"{', '.join(_FIGURE_KINDS)}")
        if "x" not in figure or "file" not in figure:
            raise ValueError(f"{path}: every figure needs x and file")
        if figure["kind"] == "phase_diagram" and "y" not in figure:
            raise ValueError(f"{path}: a phase_diagram figure needs y (the second parameter)")
    seeds = merged.get("seeds", "1")
    return Study(
        path=path, name=meta.get("name", path.stem), title=meta.get("title", path.stem),
        profile=name or "", options=dict(merged.get("options", {})), points=dict(points),
        tie=dict(tie), seeds=ensemble.parse_seeds(seeds if isinstance(seeds, str) else
                                                  ",".join(map(str, seeds))),
        ranks=merged.get("ranks"), cells_per_worker=merged.get("cells-per-worker"),
        max_ranks=merged.get("max-ranks"), figures=list(figures),
        notes=str(merged.get("notes", "")), spec=spec,
        slurm_env={str(k): str(v) for k, v in merged.get("slurm-env", {}).items()},
    )


def machine_description() -> dict[str, str]:
    """Where a study ran: host, CPU model and count, memory, load, OS, Python, date (UTC)."""
    info = {"host": platform.node(), "os": f"{platform.system()} {platform.release()}",
            "python": platform.python_version(), "cpus": str(os.cpu_count()),
            "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory"] = f"{int(line.split()[1]) / 2**20:.1f} GiB"
                break
        info["load_average"] = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        pass
    return info


def run_study(study: Study, out: Path, *, program: str, jobs: int = 1,
              launcher: Optional[str] = None, slurm: Optional[str] = None,
              sbatch_args: Sequence[str] = (), dry_run: bool = False, force: bool = False,
              report: Callable[[str], None] = print) -> list[ensemble.Outcome] | list[str]:
    """Runs (or submits) every run of the study into ``out``: the outcomes, or the job ids."""
    out.mkdir(parents=True, exist_ok=True)
    runs = study.runs()
    ensemble.write_runs_table(out / "runs.tsv", runs)
    (out / "study.toml").write_text(study.path.read_text())
    ensemble.preflight(program, runs)
    report(f"{study.name} (profile {study.profile or 'none'}): {len(runs)} runs into {out}")
    if slurm:
        return ensemble.submit_slurm(runs, out, program=program, mode=slurm, sbatch_args=sbatch_args,
                                     dry_run=dry_run, report=report, env=study.slurm_env)
    return ensemble.run_local(runs, out, program=program, launcher=launcher, jobs=jobs,
                              force=force, report=report)


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def report_study(study: Study, out: Path, *, command: str = "", wall_seconds: Optional[float] = None,
                 machine: Optional[dict[str, str]] = None) -> dict[str, Any]:
    """Collects the study's outputs in ``out``, writes the tables, figures and ``report.md``.
    Returns what it found: ``rows``, ``points``, ``fits`` (figure file -> PowerLawFit)."""
    started = time.monotonic()
    # This study's runs: run-NNNN.h5 (local, or one Slurm job each) and sweep-JOB-k.h5 (arrays).
    expected = [out / f"{run.name}.h5" for run in study.runs()]
    files = [p for p in expected if p.exists()] + sorted(out.glob("sweep-*.h5"))
    if not files:
        raise FileNotFoundError(f"{out}: no run outputs (run-NNNN.h5, sweep-*.h5)")
    rows = ensemble.collect(files)
    missing = len(expected) - len(rows) if not any(out.glob("sweep-*.h5")) else 0
    collect_seconds = time.monotonic() - started
    varied = [n for n in study.points] + [t for t in study.tie]
    by = [c for c in varied if any(c in r for r in rows)]
    points = ensemble.summarise(rows, by=by)
    ensemble.write_table(rows, points, out / "runs.csv")
    (out / "runs.points.csv").replace(out / "points.csv")
    ensemble.write_table(rows, points, out / "study.h5")

    fits: dict[str, Any] = {}
    lines = [f"# {study.title}", ""]
    if study.notes:
        lines += [study.notes.strip(), ""]
    if missing > 0:
        lines += [f"**{missing} of {len(expected)} runs have no output yet**; the numbers below "
                  "are over the others.", ""]
    for figure in study.figures:
        kind, x, file = figure["kind"], figure["x"], figure["file"]
        title = figure.get("title", study.title)
        if kind == "power_law":
            y = figure.get("y", "time_to_sync_s")
            drawn = []
            # One fit per lower bound of x in fit_from (default: all of x).
            for lower in figure.get("fit_from", [None]):
                where = f"{x} >= {lower}" if lower else f"every {x}"
                try:
                    fit, excluded = power_law_of(rows, x, y, points=points, min_x=lower,
                                                 min_fraction=float(figure.get("min_fraction", 1.0)))
                except ValueError as error:
                    lines += [f"No power law fitted over {where}: {error}.", ""]
                    continue
                drawn.append(fit)
                fits[f"{file}:{where}"] = fit
                lines += [f"**Fit over {where}**: {fit.describe(x, y)}.", ""]
                if excluded:
                    lines += [f"Left out of the fit (not every run synchronised): {x} = "
                              f"{', '.join(map(str, excluded))}.", ""]
            refs = [tuple(r) for r in figure.get("references", [])] or None
            fig = plot_power_law(rows, points, drawn, x=x, y=y, title=title, references=refs,
                                 reference_label=figure.get("reference_label", "reference"))
        elif kind == "phase_diagram":
            fig = plot_phase_diagram(points, x, figure["y"], facet=figure.get("facet"), title=title,
                                     log_x=bool(figure.get("log_x", False)),
                                     log_y=bool(figure.get("log_y", False)),
                                     facet_labels=figure.get("facet_labels"),
                                     guides=figure.get("guides", ()))
        elif kind == "fraction":
            fig = plot_fraction(points, x, title=title, log_x=bool(figure.get("log_x", False)))
        else:
            fig = plot_mean(points, x, figure.get("y", "final_R"), title=title,
                            log_x=bool(figure.get("log_x", False)), log_y=bool(figure.get("log_y", False)),
                            series=figure.get("series"))
        fig.savefig(out / file, dpi=int(figure.get("dpi", 100)))
        lines += [f"![{kind}]({file})", ""]

    lines += ["## Points", "", "| " + " | ".join(by + ["runs", "synced", "fraction (95 % Wilson)",
                                                      "time to sync mean (95 % CI) s", "median s",
                                                      "final R_state", "wall s"]) + " |",
              "|" + "---|" * (len(by) + 7)]
    for p in points:
        lines.append("| " + " | ".join(
            [_fmt(p[c]) for c in by] +
            [str(p["runs"]), f"{p['synced']}/{p['counted']}",
             f"{_fmt(p['fraction_synced'], 3)} ({_fmt(p['fraction_synced_low'], 2)}-"
             f"{_fmt(p['fraction_synced_high'], 2)})",
             f"{_fmt(p['time_to_sync_s_mean'])} ({_fmt(p['time_to_sync_s_low'])}-"
             f"{_fmt(p['time_to_sync_s_high'])})",
             _fmt(p["time_to_sync_s_median"]), _fmt(p["final_R_state_mean"], 4),
             _fmt(p["wall_time_s_mean"], 3)]) + " |")
    versions = sorted({str(r.get("fireflies_version")) + " (git " + str(r.get("git_revision")) + ")"
                       for r in rows})
    lines += ["", "## Provenance", "",
              f"- study file: `{study.path}`, profile `{study.profile or 'none'}`, "
              f"{len(rows)} runs, seeds {study.seeds[0]}..{study.seeds[-1]}",
              f"- program: {', '.join(versions)}"]
    if command:
        lines.append(f"- command: `{command}`")
    if wall_seconds is not None:
        lines.append(f"- wall time of the runs: {wall_seconds:.0f} s (their machine below; `load average` "
                     "at their start, `load average after` at their end)")
    lines.append(f"- collected {len(rows)} files in {collect_seconds:.2f} s")
    for key, value in (machine or machine_description()).items():
        lines.append(f"- {key.replace('_', ' ')}: {value}")
    (out / "report.md").write_text("\n".join(lines) + "\n")
    return {"rows": rows, "points": points, "fits": fits}


def main_study(args, report: Callable[[str], None] = print) -> int:
    """``python3 -m fireflies_analysis study``: see the module docstring."""
    study = load_study(args.spec, args.profile)
    out = Path(args.out)
    command = " ".join(shlex.quote(a) for a in ["python3", "-m", "fireflies_analysis"] + sys.argv[1:])
    machine = machine_description()
    wall = None
    provenance = out / "provenance.json"
    if args.report_only and provenance.exists():
        # Where and how the runs ran, as noted when they did (not where the report is made).
        noted = json.loads(provenance.read_text())
        command, wall, machine = noted.get("command", command), noted.get("wall_seconds"), noted.get("machine", machine)
    if not args.report_only:
        program = ensemble.find_program(args.fireflies)
        started = time.monotonic()
        result = run_study(study, out, program=program, jobs=args.jobs, launcher=args.launcher,
                           slurm=args.slurm, sbatch_args=shlex.split(args.sbatch_args or ""),
                           dry_run=args.dry_run, force=args.force, report=report)
        wall = time.monotonic() - started
        machine["load_average_after"] = machine_description().get("load_average", "")
        provenance.write_text(json.dumps({"command": command, "wall_seconds": wall if not args.slurm else None,
                                          "machine": machine}, indent=1) + "\n")
        if args.slurm:
            wall = None
            report(f"{'would submit' if args.dry_run else 'submitted'} {len(result)} job(s): "
                   f"{' '.join(result)}; when they are done: "
                   f"python3 -m fireflies_analysis study {args.spec} --profile {study.profile} "
                   f"--out {out} --report-only")
            return 0
        failed = [o for o in result if o.code not in (None, 0)]
        if failed:
            for o in failed:
                report(f"{o.run.name} failed (exit {o.code}): see {o.log}")
            return 1
    found = report_study(study, out, command=command, wall_seconds=wall, machine=machine)
    for fit in found["fits"].values():
        report(fit.describe())
    report(f"wrote {out / 'report.md'}")
    return 0
