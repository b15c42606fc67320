"""Ensembles of runs: a table of parameters x seeds, run locally or on Slurm, collected into one
tidy table with per-point summaries.

The table is the one ``jobs/sweep.sbatch`` reads: tab-separated, a header of option names
(without dashes, the TOML keys of the config file), one run per line, blank lines and ``#``
comments skipped. One extra column is understood here and never passed to the program:
``ranks``, the MPI ranks of that row's runs (else ``--ranks``).

- :func:`expand` crosses the rows with seeds (``--seeds 1-10``) into one line per run, written
  as ``runs.tsv`` in the output folder: the run list, and the table a Slurm array runs;
- :func:`run_local` runs them with ``mpirun`` (or the program alone), ``jobs`` at a time,
  skipping runs whose output is already complete with the same settings;
- :func:`submit_slurm` submits them as job arrays of ``jobs/sweep.sbatch`` (one array per rank
  count), or each as its own checkpointed, requeued ``jobs/fireflies.sbatch`` job (``long``);
- :func:`collect` reads run files into one row each (every setting, the outcome), reading only
  attributes and a few values, so that a thousand files take seconds; :func:`summarise` groups
  the rows into parameter points (mean and t-based 95 % interval, fraction synchronised with its
  Wilson interval); :func:`write_table` writes CSV or HDF5.

The parameter points are the settings that differ between the runs, except those that cannot
change a result (seed, paths, telemetry, engine, speed, ...: :data:`NOT_PARAMETERS`); with the
model families' new options (``--neighbourhood``, ``--prc-dissipation``, ...) a study varies
them as columns of the table like any other option, with no change here.
"""

from __future__ import annotations

import csv
import math
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Sequence

import h5py
import numpy as np

from .convergence import time_to_sync
from .stats import mean_ci, wilson_interval

__all__ = [
    "NOT_PARAMETERS",
    "NotAnOutputError",
    "Run",
    "collect",
    "expand",
    "parse_seeds",
    "read_table",
    "run_local",
    "submit_slurm",
    "summarise",
    "write_runs_table",
    "write_table",
]

#: Settings that do not change what a run computes (or only how it is written), left out of the
#: parameter points of :func:`summarise` (the seed makes the ensemble).
NOT_PARAMETERS = frozenset({
    "seed", "output", "force", "progress", "visualize", "speed", "telemetry", "engine",
    "checkpoint", "checkpoint-every", "restart", "record-flashes", "snapshot-every",
    "snapshot-max", "stop-when-synced",
})

#: Table columns that are not program options.
RANKS_COLUMN = "ranks"
#: Columns the runner sets itself.
RESERVED_COLUMNS = frozenset({"output", "config", "restart", "checkpoint"})

_NAME = re.compile(r"^[a-z][a-z0-9-]*$")


class NotAnOutputError(ValueError):
    """A file given to :func:`collect` is not a fireflies output file."""


# ---- the table ---------------------------------------------------------------------------

def read_table(path: str | os.PathLike) -> tuple[list[str], list[list[str]]]:
    """The header and rows of a parameter table (TSV), as ``jobs/sweep.sbatch`` reads it.

    Raises ValueError naming the file and line for a row whose column count differs from the
    header's, or a column that is not an option name.
    """
    path = Path(path)
    lines = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.rstrip("\r")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        lines.append((number, line.split("\t")))
    if not lines:
        raise ValueError(f"{path}: no header line")
    header = [name.strip().removeprefix("--") for name in lines[0][1]]
    for name in header:
        if not _NAME.match(name):
            raise ValueError(f"{path}: column {name!r} is not an option name (lower case, digits, "
                             "dashes; tab-separated)")
        if name in RESERVED_COLUMNS:
            raise ValueError(f"{path}: column {name!r} is set by the runner, not the table")
    if len(set(header)) != len(header):
        raise ValueError(f"{path}: a column is named twice")
    rows = []
    for number, cells in lines[1:]:
        if len(cells) != len(header):
            raise ValueError(f"{path}:{number}: {len(cells)} columns, the header has "
                             f"{len(header)} (columns are separated by tabs)")
        rows.append([c.strip() for c in cells])
    if not rows:
        raise ValueError(f"{path}: no data rows")
    return header, rows


def parse_seeds(text: str) -> list[int]:
    """``"1-10"``, ``"1,2,5"``, ``"1-3,7"`` -> the seeds, in order, each once."""
    seeds: list[int] = []
    for part in str(text).replace(" ", "").split(","):
        if not part:
            continue
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not match:
            raise ValueError(f"--seeds: {part!r} is not a seed or a range like 1-10")
        lo = int(match.group(1))
        hi = int(match.group(2)) if match.group(2) else lo
        if hi < lo:
            raise ValueError(f"--seeds: the range {part!r} is empty")
        if hi >= 2**64:
            raise ValueError(f"--seeds: {hi} is not a seed (0 .. 2^64 - 1)")
        seeds.extend(s for s in range(lo, hi + 1) if s not in seeds)
    if not seeds:
        raise ValueError("--seeds: no seeds")
    return seeds


@dataclass
class Run:
    """One run of an ensemble: its number (1-based), options and rank count."""

    index: int
    options: dict[str, str]
    ranks: int

    @property
    def name(self) -> str:
        return f"run-{self.index:04d}"


def expand(header: Sequence[str], rows: Sequence[Sequence[str]], *, seeds: Optional[Sequence[int]] = None,
           ranks: int = 1) -> list[Run]:
    """Every row, once per seed (rows first, then seeds). A table with a ``seed`` column takes
    no ``seeds``; a ``ranks`` column overrides ``ranks`` per row."""
    if seeds and "seed" in header:
        raise ValueError("the table has a seed column: give seeds there or with --seeds, not both")
    runs = []
    for row in rows:
        options = dict(zip(header, row))
        row_ranks = options.pop(RANKS_COLUMN, None)
        try:
            n = int(row_ranks) if row_ranks is not None else int(ranks)
        except ValueError:
            raise ValueError(f"ranks {row_ranks!r} is not a whole number") from None
        if n < 1:
            raise ValueError(f"ranks must be at least 1, not {n}")
        for seed in (seeds or [None]):
            opts = dict(options)
            if seed is not None:
                opts["seed"] = str(seed)
            runs.append(Run(len(runs) + 1, opts, n))
    return runs


def write_runs_table(path: str | os.PathLike, runs: Sequence[Run], *, with_ranks: bool = True) -> Path:
    """The runs as a table ``jobs/sweep.sbatch`` reads (row k = run k)."""
    path = Path(path)
    names: list[str] = []
    for run in runs:
        names.extend(n for n in run.options if n not in names)
    lines = ["\t".join(names + ([RANKS_COLUMN] if with_ranks else []))]
    for run in runs:
        cells = [run.options.get(n, "") for n in names]
        if any(c == "" for c in cells):
            raise ValueError(f"{run.name} lacks a value for one of {names}")
        lines.append("\t".join(cells + ([str(run.ranks)] if with_ranks else [])))
    path.write_text("\n".join(lines) + "\n")
    return path


# ---- running -----------------------------------------------------------------------------

def find_program(fireflies: Optional[str] = None) -> str:
    """The fireflies executable: the argument, else FIREFLIES_BIN, else ``fireflies`` on PATH."""
    candidate = fireflies or os.environ.get("FIREFLIES_BIN") or shutil.which("fireflies")
    if not candidate or not os.access(candidate, os.X_OK):
        raise FileNotFoundError("fireflies not found: give --fireflies PATH, set FIREFLIES_BIN or "
                                "put it on PATH")
    return str(Path(candidate).resolve())


def _option_args(options: dict[str, str]) -> list[str]:
    return [f"--{name}={value}" for name, value in options.items()]


def program_args(run: Run, output: Path, *, base_config: Optional[Path] = None,
                 extra: Sequence[str] = ()) -> list[str]:
    """The program's arguments for one run (as ``jobs/sweep.sbatch`` builds them)."""
    args = ["--config", str(base_config)] if base_config else []
    return args + _option_args(run.options) + ["--output", str(output)] + list(extra)


def preflight(program: str, runs: Sequence[Run], *, base_config: Optional[Path] = None,
              extra: Sequence[str] = ()) -> None:
    """Asks the program to check each distinct set of options (``--print-config``, one
    process, nothing written): a mistake in the table fails here, once, with the program's own
    one-line error, before anything runs. Raises ValueError with that line."""
    seen = set()
    for run in runs:
        key = tuple(sorted((k, v) for k, v in run.options.items() if k != "seed"))
        if key in seen:
            continue
        seen.add(key)
        args = [program] + (["--config", str(base_config)] if base_config else [])
        args += _option_args(run.options) + list(extra) + ["--print-config"]
        done = subprocess.run(args, capture_output=True, text=True)
        if done.returncode != 0:
            message = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
            raise ValueError(f"{run.name} ({' '.join(_option_args(run.options))}): {message}")


def _config_value_matches(stored: Any, text: str) -> bool:
    if isinstance(stored, bool):
        return text.strip().lower() == ("true" if stored else "false")
    if isinstance(stored, (int, float)):
        try:
            return float(text) == float(stored)
        except ValueError:
            return False
    return str(stored) == text


def output_is_done(path: Path, options: dict[str, str]) -> bool:
    """Whether ``path`` is a complete output of a run with these options."""
    try:
        with h5py.File(path, "r") as f:
            if _plain(f.attrs.get("status")) != "complete":
                return False
            settings = _settings(_plain(f.attrs.get("config", "")), path)
    except (OSError, ValueError, KeyError):
        return False
    return all(name in settings and _config_value_matches(settings[name], value)
               for name, value in options.items())


@dataclass
class Outcome:
    run: Run
    output: Path
    code: Optional[int]  # None: skipped (already done)
    seconds: float = 0.0
    log: Optional[Path] = None


def launch_command(launcher: str, ranks: int) -> list[str]:
    """The launcher's argv for ``ranks`` ranks: ``launcher`` with ``{ranks}`` filled in; with
    one rank and the default launcher, the program alone."""
    return shlex.split(launcher.replace("{ranks}", str(ranks)))


DEFAULT_LAUNCHER = "mpirun -np {ranks}"


def run_local(
    runs: Sequence[Run],
    out_dir: str | os.PathLike,
    *,
    program: str,
    launcher: Optional[str] = None,
    jobs: int = 1,
    base_config: Optional[Path] = None,
    extra: Sequence[str] = (),
    force: bool = False,
    report: Callable[[str], None] = print,
) -> list[Outcome]:
    """Runs every run on this machine, ``jobs`` at a time, each with its rank count.

    Outputs are ``OUT/run-NNNN.h5`` with the program's output in ``OUT/run-NNNN.log``. A run
    whose output is already complete with the same settings is skipped (``force`` runs it again,
    replacing it). The launcher is ``FIREFLIES_LAUNCHER``, else ``mpirun -np {ranks}``; a run of
    one rank with the default launcher starts the program alone.
    """
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    launcher = launcher or os.environ.get("FIREFLIES_LAUNCHER") or DEFAULT_LAUNCHER
    outcomes: list[Outcome] = []
    pending = list(runs)
    running: list[tuple[subprocess.Popen, Outcome, float, Any]] = []
    total = len(runs)

    def finish(proc, outcome, started, log_file):
        log_file.close()
        outcome.code = proc.returncode
        outcome.seconds = time.monotonic() - started
        outcomes.append(outcome)
        state = "ok" if proc.returncode == 0 else f"FAILED (exit {proc.returncode}, see {outcome.log})"
        report(f"[{len(outcomes)}/{total}] {outcome.run.name} "
               f"{' '.join(_option_args(outcome.run.options))}: {state}, {outcome.seconds:.1f} s")

    while pending or running:
        while pending and len(running) < max(1, jobs):
            run = pending.pop(0)
            output = out / f"{run.name}.h5"
            if not force and output_is_done(output, run.options):
                outcomes.append(Outcome(run, output, None))
                report(f"[{len(outcomes)}/{total}] {run.name}: already complete, skipped")
                continue
            args = program_args(run, output, base_config=base_config, extra=extra)
            if output.exists():
                args.append("--force")
            if run.ranks == 1 and launcher == DEFAULT_LAUNCHER:
                argv = [program] + args
            else:
                argv = launch_command(launcher, run.ranks) + [program] + args
            log = output.with_suffix(".log")
            log_file = open(log, "w")
            log_file.write("$ " + shlex.join(argv) + "\n")
            log_file.flush()
            proc = subprocess.Popen(argv, stdout=log_file, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL)
            running.append((proc, Outcome(run, output, None, log=log), time.monotonic(), log_file))
        still = []
        for item in running:
            if item[0].poll() is None:
                still.append(item)
            else:
                finish(*item)
        running = still
        if running:
            time.sleep(0.05)
    outcomes.sort(key=lambda o: o.run.index)
    return outcomes


def _sbatch(argv: list[str], env: dict[str, str], dry_run: bool, report) -> str:
    report("$ " + " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items()) + " " + shlex.join(argv))
    if dry_run:
        return "DRYRUN"
    done = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, **env})
    if done.returncode != 0:
        raise RuntimeError(f"sbatch failed (exit {done.returncode}): {done.stderr.strip()}")
    return done.stdout.strip().split(";")[0]


def repository_jobs_dir(program: Optional[str] = None) -> Optional[Path]:
    """Where ``sweep.sbatch`` and ``fireflies.sbatch`` are: ``FIREFLIES_JOBS_DIR``, else ``jobs/``
    of the source tree this package sits in, else ``share/fireflies/jobs`` of an installation
    (``cmake --install``) beside the program or Python."""
    here = Path(__file__).resolve().parent
    candidates = [Path(os.environ["FIREFLIES_JOBS_DIR"])] if os.environ.get("FIREFLIES_JOBS_DIR") else []
    candidates += [here.parent.parent / "jobs", here.parent / "jobs"]
    if program:
        candidates.append(Path(program).resolve().parent.parent / "share" / "fireflies" / "jobs")
    candidates.append(Path(sys.prefix) / "share" / "fireflies" / "jobs")
    for candidate in candidates:
        if (candidate / "sweep.sbatch").is_file():
            return candidate
    return None


#: Slurm's default MaxArraySize is 1001: arrays are cut into chunks of this many tasks.
ARRAY_CHUNK = 1000


def submit_slurm(
    runs: Sequence[Run],
    out_dir: str | os.PathLike,
    *,
    program: Optional[str] = None,
    mode: str = "array",
    jobs_dir: Optional[Path] = None,
    base_config: Optional[Path] = None,
    extra: Sequence[str] = (),
    sbatch_args: Sequence[str] = (),
    max_parallel: Optional[int] = None,
    dry_run: bool = False,
    report: Callable[[str], None] = print,
    env: Optional[dict[str, str]] = None,
) -> list[str]:
    """Submits the runs to Slurm; returns the job ids.

    ``mode="array"``: one job array of ``jobs/sweep.sbatch`` per rank count, over the table
    ``OUT/runs-RANKS.tsv`` (task k runs its row k; outputs ``OUT/sweep-JOBID-k.h5``), cut into
    arrays of at most 1000 tasks (``FIREFLIES_SWEEP_OFFSET``). A task that reaches its time
    limit stops with a valid, shorter output (status ``interrupted``).

    ``mode="long"``: each run its own ``jobs/fireflies.sbatch`` job, checkpointed and requeued
    until it finishes (for runs longer than one time limit): its settings are written as
    ``OUT/run-NNNN.toml`` by the program (``--print-config``), its output is
    ``OUT/run-NNNN.h5``. ``env`` is given to the jobs (sbatch passes its environment on).
    """
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    jobs_dir = Path(jobs_dir) if jobs_dir else repository_jobs_dir(program)
    if jobs_dir is None:
        raise FileNotFoundError("jobs/sweep.sbatch not found: give --jobs-dir (the repository's jobs/, "
                                "or PREFIX/share/fireflies/jobs) or set FIREFLIES_JOBS_DIR")
    env = dict(env or {})  # for the jobs: the caller's, then ours
    if program:
        env["FIREFLIES_BIN"] = program
    if extra:
        env["FIREFLIES_ARGS"] = " ".join(shlex.quote(a) for a in extra)
    ids = []
    if mode == "array":
        by_ranks: dict[int, list[Run]] = {}
        for run in runs:
            by_ranks.setdefault(run.ranks, []).append(run)
        for ranks, group in sorted(by_ranks.items()):
            table = write_runs_table(out / f"runs-{ranks}.tsv", group, with_ranks=False)
            for offset in range(0, len(group), ARRAY_CHUNK):
                count = min(ARRAY_CHUNK, len(group) - offset)
                array = f"1-{count}" + (f"%{max_parallel}" if max_parallel else "")
                argv = ["sbatch", "--parsable", f"--array={array}", f"--ntasks={ranks}",
                        f"--output={out}/sweep-%A-%a.log", *sbatch_args,
                        str(jobs_dir / "sweep.sbatch"), str(table)]
                if base_config:
                    argv.append(str(Path(base_config).resolve()))
                ids.append(_sbatch(argv, {**env, "FIREFLIES_SWEEP_DIR": str(out),
                                          "FIREFLIES_SWEEP_OFFSET": str(offset)}, dry_run, report))
    elif mode == "long":
        if not program:
            raise ValueError("mode long needs the program (to write each run's config)")
        for run in runs:
            config = out / f"{run.name}.toml"
            args = [program] + (["--config", str(base_config)] if base_config else [])
            args += _option_args(run.options) + list(extra) + ["--print-config"]
            done = subprocess.run(args, capture_output=True, text=True)
            if done.returncode != 0:
                raise ValueError(f"{run.name}: {done.stderr.strip()}")
            config.write_text(done.stdout)
            argv = ["sbatch", "--parsable", f"--ntasks={run.ranks}", f"--job-name=fireflies-{run.name}",
                    f"--output={out}/{run.name}-%j.log", *sbatch_args,
                    str(jobs_dir / "fireflies.sbatch"), str(config)]
            ids.append(_sbatch(argv, {**env, "FIREFLIES_OUTPUT": str(out / f"{run.name}.h5"),
                                      "FIREFLIES_CHECKPOINT": str(out / f"{run.name}.ckpt")},
                               dry_run, report))
    else:
        raise ValueError(f"Slurm mode must be array or long, not {mode!r}")
    return ids


# ---- collecting --------------------------------------------------------------------------

def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.ndarray):
        return _plain(value[()]) if value.shape == () else [_plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _settings(config_text: str, path: Path) -> dict[str, Any]:
    """The run's settings from its ``config`` attribute: the ``[fireflies]`` table, flat."""
    if not config_text:
        return {}
    try:
        parsed = tomllib.loads(config_text)
    except tomllib.TOMLDecodeError as error:
        raise NotAnOutputError(f"{path}: the config attribute is not TOML ({error})") from None
    table = parsed.get("fireflies", parsed)
    return {k: v for k, v in table.items() if not isinstance(v, dict)}


#: Columns of a collected row, after the settings (which come first, in the file's order).
OUTCOME_COLUMNS = (
    "fireflies", "status", "simulated_time_s", "wall_time_s", "samples", "mpi_size", "workers",
    "segments", "time_to_sync_s", "synced", "time_to_sync_source", "stopped_when_synced",
    "final_R", "final_R_state", "flashes_per_firefly_per_s", "invariants_hold",
    "fireflies_version", "git_revision", "created",
)


def _last(f: h5py.File, name: str) -> float:
    d = f.get(name)
    if not isinstance(d, h5py.Dataset) or d.shape[0] == 0:
        return math.nan
    return float(d[d.shape[0] - 1])


def read_run(path: str | os.PathLike) -> dict[str, Any]:
    """One run file as one row: ``file``, every setting (TOML keys), then
    :data:`OUTCOME_COLUMNS`. Reads the root attributes and the last sample only (the whole
    R_state series only for a file whose program predates the ``time_to_sync`` attribute).

    Raises :class:`NotAnOutputError` (one line naming the file) for anything that is not a
    fireflies output.
    """
    path = Path(path)
    try:
        f = h5py.File(path, "r")
    except OSError:
        if not path.exists():
            raise NotAnOutputError(f"{path}: no such file") from None
        try:  # a run still being written, or killed hard
            f = h5py.File(path, "r", libver="latest", swmr=True)
        except OSError:
            raise NotAnOutputError(f"{path}: not an HDF5 file (or one being written that "
                                   "cannot be read)") from None
    with f:
        attrs = f.attrs
        if "fireflies_version" not in attrs or not isinstance(f.get("timeseries"), h5py.Group):
            raise NotAnOutputError(f"{path}: not a fireflies output (no fireflies_version "
                                   "attribute or no /timeseries)")
        a = {name: _plain(attrs[name]) for name in attrs}
        settings = _settings(str(a.get("config", "")), path)
        row: dict[str, Any] = {"file": str(path)}
        row.update(settings)
        width = int(a.get("width", settings.get("width", 0)))
        height = int(a.get("height", settings.get("height", 0)))
        n = width * height
        row["fireflies"] = n
        status = str(a.get("status", ""))
        row["status"] = status
        simulated = a.get("simulated_time")
        if simulated is None:  # still running: the last sample
            simulated = _last(f, "timeseries/t")
        row["simulated_time_s"] = float(simulated)
        row["wall_time_s"] = float(a["wall_time"]) if "wall_time" in a else math.nan
        ts_t = f["timeseries"].get("t")
        row["samples"] = int(a["samples"]) if "samples" in a else (int(ts_t.shape[0]) if ts_t is not None else 0)
        for key in ("mpi_size", "workers", "segments"):
            row[key] = int(a[key]) if key in a else None
        if "time_to_sync" in a:
            tts, source = float(a["time_to_sync"]), "attribute"
        elif "sync-threshold" in settings:
            tts, source = math.nan, "attribute"  # the program looked and did not find it
        else:  # an output from before the attribute: the same rule on the stored series
            R_state = f.get("timeseries/R_state")
            value = None
            if isinstance(R_state, h5py.Dataset) and R_state.shape[0]:
                value = time_to_sync(R_state[()], sample_every=float(settings.get("sample-every", 0.5)),
                                     period=float(a.get("period", settings.get("period", 5.0))),
                                     threshold=0.99)
            tts, source = (math.nan if value is None else value), "series"
        row["time_to_sync_s"] = tts
        row["synced"] = bool(math.isfinite(tts))
        row["time_to_sync_source"] = source
        row["stopped_when_synced"] = bool(a.get("stopped_when_synced", 0))
        row["final_R"] = _last(f, "timeseries/R")
        row["final_R_state"] = _last(f, "timeseries/R_state")
        emitted = a.get("flashes_emitted")
        if emitted is not None and n > 0 and row["simulated_time_s"] > 0:
            rate = int(emitted) / (n * row["simulated_time_s"])
        else:  # running: flashes so far / N over the time covered
            pulse, t_last = _last(f, "timeseries/pulse"), _last(f, "timeseries/t")
            rate = pulse / t_last if t_last and t_last > 0 else math.nan
        row["flashes_per_firefly_per_s"] = rate
        row["invariants_hold"] = bool(a["invariants_hold"]) if "invariants_hold" in a else None
        for key in ("fireflies_version", "git_revision", "created"):
            row[key] = a.get(key)
    return row


def collect(paths: Iterable[str | os.PathLike], *, skip_invalid: bool = False,
            warn: Callable[[str], None] = lambda m: print(m, file=sys.stderr)) -> list[dict[str, Any]]:
    """One row per run file (:func:`read_run`), in the order given. A file that is not a
    fireflies output stops the collection with its one-line error, or with ``skip_invalid``
    is left out after a warning."""
    rows = []
    for path in paths:
        try:
            rows.append(read_run(path))
        except NotAnOutputError as error:
            if not skip_invalid:
                raise
            warn(f"skipped: {error}")
    return rows


def columns_of(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Every column of the rows: ``file``, the settings (first-seen order), the outcome."""
    names = ["file"]
    for row in rows:
        names.extend(k for k in row if k not in names and k not in OUTCOME_COLUMNS)
    return names + [c for c in OUTCOME_COLUMNS if any(c in row for row in rows)]


def parameter_columns(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The settings that differ between the rows and can change a result."""
    out = []
    for name in columns_of(rows):
        if name == "file" or name in OUTCOME_COLUMNS or name in NOT_PARAMETERS:
            continue
        if len({repr(row.get(name)) for row in rows}) > 1:
            out.append(name)
    return out


def counts_for_fraction(row: dict[str, Any]) -> bool:
    """Whether a run says whether it synchronised: it ran its whole course (``complete``), or
    synchronised before it was stopped."""
    return row.get("status") == "complete" or bool(row.get("synced"))


def summarise(rows: Sequence[dict[str, Any]], by: Optional[Sequence[str]] = None,
              confidence: float = 0.95) -> list[dict[str, Any]]:
    """Per parameter point (the distinct values of ``by``, default :func:`parameter_columns`):

    - ``runs``; ``counted``: the runs that say whether they synchronised (complete, or synced
      before a stop); ``synced``; ``fraction_synced`` with its Wilson interval
      (``fraction_synced_low``, ``_high``);
    - for ``time_to_sync_s`` (over the synchronised runs), ``final_R``, ``final_R_state``,
      ``flashes_per_firefly_per_s`` and ``wall_time_s``: ``_mean``, ``_low``, ``_high`` (the
      t-based interval of the mean, NaN for one run) and, for the time to synchrony,
      ``_median``, ``_min``, ``_max``.

    The time to synchrony is censored where some runs did not synchronise (its mean is over
    those that did, and so an underestimate): read it with ``fraction_synced``.
    """
    by = list(parameter_columns(rows) if by is None else by)
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(repr(row.get(c)) for c in by), []).append(row)
    points = []
    for members in groups.values():
        point: dict[str, Any] = {c: members[0].get(c) for c in by}
        counted = [r for r in members if counts_for_fraction(r)]
        synced = [r for r in counted if r.get("synced")]
        point["runs"] = len(members)
        point["counted"] = len(counted)
        point["synced"] = len(synced)
        point["fraction_synced"] = len(synced) / len(counted) if counted else math.nan
        point["fraction_synced_low"], point["fraction_synced_high"] = wilson_interval(
            len(synced), len(counted), confidence)
        tts = [float(r["time_to_sync_s"]) for r in synced]
        mean, low, high = mean_ci(tts, confidence)
        point.update(time_to_sync_s_mean=mean, time_to_sync_s_low=low, time_to_sync_s_high=high,
                     time_to_sync_s_median=float(np.median(tts)) if tts else math.nan,
                     time_to_sync_s_min=min(tts) if tts else math.nan,
                     time_to_sync_s_max=max(tts) if tts else math.nan)
        for name in ("final_R", "final_R_state", "flashes_per_firefly_per_s", "wall_time_s"):
            values = [float(r[name]) for r in members if r.get(name) is not None]
            mean, low, high = mean_ci(values, confidence)
            point.update({f"{name}_mean": mean, f"{name}_low": low, f"{name}_high": high})
        points.append(point)

    def order(point):
        return tuple((0, v) if isinstance(v, (int, float)) and not isinstance(v, bool) else (1, str(v))
                     for v in (point[c] for c in by))
    points.sort(key=order)
    return points


# ---- writing and reading tables ----------------------------------------------------------

def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    return str(value)


def write_csv(rows: Sequence[dict[str, Any]], path: str | os.PathLike,
              columns: Optional[Sequence[str]] = None) -> Path:
    """Rows as CSV (a header line; empty cells for missing values and NaN)."""
    path = Path(path)
    if columns is None:
        columns = columns_of(rows) if rows else []
    with open(path, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(c)) for c in columns])
    return path


def _column_array(values: list[Any]) -> np.ndarray:
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return np.array([int(v) if v is not None else -1 for v in values], dtype=np.int8)
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        if all(v is not None for v in values) and all(-2**63 <= v < 2**63 for v in values):
            return np.array(values, dtype=np.int64)
        if all(0 <= v < 2**64 for v in present) and all(v is not None for v in values):
            return np.array(values, dtype=np.uint64)
    if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return np.array([math.nan if v is None else float(v) for v in values], dtype=np.float64)
    return np.array(["" if v is None else _cell(v) for v in values], dtype=h5py.string_dtype())


def write_h5(tables: dict[str, Sequence[dict[str, Any]]], path: str | os.PathLike) -> Path:
    """Tables as HDF5: one group per table (``/runs``, ``/points``), one 1-D dataset per column
    in column order (attribute ``columns``): numbers as int64 / uint64 / float64 (NaN missing),
    flags as int8 (1, 0; -1 missing), text as UTF-8 strings. ``pandas.DataFrame({c: g[c][()]
    for c in g.attrs["columns"]})`` reads one back."""
    path = Path(path)
    with h5py.File(path, "w") as f:
        f.attrs["kind"] = "fireflies ensemble"
        for name, rows in tables.items():
            g = f.create_group(name)
            columns = columns_of(rows) if name == "runs" else (list(rows[0]) if rows else [])
            g.attrs["columns"] = np.array(columns, dtype=h5py.string_dtype())
            for c in columns:
                g.create_dataset(c, data=_column_array([r.get(c) for r in rows]))
    return path


def write_table(rows: Sequence[dict[str, Any]], points: Sequence[dict[str, Any]],
                path: str | os.PathLike) -> list[Path]:
    """``X.csv``: the runs, and the points as ``X.points.csv``; ``X.h5``: both as groups."""
    path = Path(path)
    if path.suffix.lower() in (".h5", ".hdf5"):
        return [write_h5({"runs": rows, "points": points}, path)]
    if path.suffix.lower() != ".csv":
        raise ValueError(f"{path}: the table is written as .csv or .h5")
    return [write_csv(rows, path),
            write_csv(points, path.with_name(path.stem + ".points.csv"),
                      list(points[0]) if points else [])]


def _parse_cell(text: str) -> Any:
    if text == "":
        return None
    if text in ("true", "false"):
        return text == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def read_csv(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Rows written by :func:`write_csv`, with numbers, flags and empty cells parsed back."""
    with open(path, newline="") as f:
        return [{k: _parse_cell(v) for k, v in row.items()} for row in csv.DictReader(f)]


def read_h5(path: str | os.PathLike, table: str = "runs") -> list[dict[str, Any]]:
    """A table written by :func:`write_h5` back as rows."""
    with h5py.File(path, "r") as f:
        if f.attrs.get("kind") not in ("fireflies ensemble", b"fireflies ensemble"):
            raise NotAnOutputError(f"{path}: not a collected fireflies ensemble table")
        g = f[table]
        columns = [_plain(c) for c in g.attrs["columns"]]
        data = {c: g[c][()] for c in columns}
    rows = []
    for i in range(len(data[columns[0]]) if columns else 0):
        row = {}
        for c in columns:
            v = _plain(data[c][i])
            if data[c].dtype == np.int8:
                v = None if v < 0 else bool(v)
            elif isinstance(v, float) and math.isnan(v):
                v = None
            elif v == "" and data[c].dtype.kind == "O":
                v = None
            row[c] = v
        rows.append(row)
    return rows


def load_rows(inputs: Sequence[str | os.PathLike], *, skip_invalid: bool = False) -> list[dict[str, Any]]:
    """Rows from run files (``.h5`` outputs), collected tables (``.csv``, or ``.h5`` written by
    :func:`write_h5`), in any mix."""
    rows: list[dict[str, Any]] = []
    for item in inputs:
        p = Path(item)
        if p.suffix.lower() == ".csv":
            rows.extend(read_csv(p))
            continue
        try:
            with h5py.File(p, "r") as f:
                is_table = _plain(f.attrs.get("kind")) == "fireflies ensemble"
        except OSError:
            is_table = False
        if is_table:
            rows.extend(read_h5(p))
        else:
            rows.extend(collect([p], skip_invalid=skip_invalid))
    return rows
