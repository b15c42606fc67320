"""A stand-in for the program's hub that writes a run file while readers watch (SWMR).

    python3 swmr_writer.py OUT.h5 SAMPLES DELAY_S [--ready READY_FILE] [--finish reopen|swmr]

Creates the file in the program's layout (time series only, plus /blocks), switches to SWMR
mode, touches READY_FILE, then appends one sample every DELAY_S seconds (wall time), flushing
after each. At the end it writes the attributes ``status`` (``complete``) and the totals,
either as the program does (close, reopen plainly, write: the reopen is retried, as it fails
with a file-locking error while a reader holds the file open) or, with ``--finish swmr``, by
rewriting them while still in SWMR mode.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import h5py
import numpy as np

from synthetic import UNITS, config_toml

WIDTH, HEIGHT, PERIOD, SAMPLE_EVERY = 4, 3, 5.0, 0.5
BLOCKS = np.array([[0, 0, 2, 3], [2, 0, 2, 3]], np.int64)


def series_value(name: str, i: int) -> float:
    """The value written for sample i: tests recompute it to check what they read."""
    t = i * SAMPLE_EVERY
    return {"t": t, "R": min(1.0, t / 10.0), "R_state": min(1.0, t / 9.0),
            "flashes": i % 3, "pulse": sum(k % 3 for k in range(i + 1)) / (WIDTH * HEIGHT)}[name]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("samples", type=int)
    parser.add_argument("delay", type=float)
    parser.add_argument("--ready")
    parser.add_argument("--finish", choices=("reopen", "swmr"), default="reopen",
                        help="write the final attributes after reopening the file (as the "
                             "program does) or while still in SWMR mode")
    args = parser.parse_args()

    f = h5py.File(args.out, "w", libver="latest")
    f.attrs["fireflies_version"] = "0.1.0"
    f.attrs["git_revision"] = "swmr-writer"
    f.attrs["config"] = config_toml(WIDTH, HEIGHT, PERIOD, args.samples * SAMPLE_EVERY,
                                    SAMPLE_EVERY)
    for key, value in dict(mpi_size=3, workers=2, process_grid="2x1", seed=7,
                           created="2025-01-01T00:00:00Z", width=WIDTH, height=HEIGHT,
                           period=PERIOD, status="running", flashes_emitted=0,
                           flashes_received=0, wall_time=0.0).items():
        f.attrs[key] = value
    series = {}
    for name in ("t", "R", "R_state", "flashes", "pulse"):
        dtype = np.int64 if name == "flashes" else np.float64
        d = f.create_dataset(f"timeseries/{name}", shape=(0,), maxshape=(None,), chunks=(64,),
                             dtype=dtype)
        d.attrs["units"], d.attrs["description"] = UNITS[f"timeseries/{name}"]
        series[name] = d
    block_R = f.create_dataset("blocks/R", shape=(0, 2), maxshape=(None, 2), chunks=(64, 2))
    f.create_dataset("blocks/geometry", data=BLOCKS)
    f.create_dataset("blocks/rank", data=np.array([1, 2], np.int64))
    f.swmr_mode = True
    if args.ready:
        Path(args.ready).touch()

    total = 0
    for i in range(args.samples):
        for name, d in series.items():
            d.resize((i + 1,))
            d[i] = series_value(name, i)
            d.flush()
        total += i % 3
        block_R.resize((i + 1, 2))
        block_R[i] = (series_value("R", i), series_value("R_state", i))
        block_R.flush()
        time.sleep(args.delay)
    finals = dict(status="complete", flashes_emitted=total, flashes_received=8 * total,
                  wall_time=1.0)
    if args.finish == "swmr":
        # Existing attributes may be rewritten under SWMR; readers see them when they reopen.
        for key, value in finals.items():
            f.attrs[key] = value
        f.close()
        return
    # As the program does: close, reopen plainly, write the final attributes. The reopen
    # fails (file lock) while a reader holds the file open, so retry for a while.
    f.close()
    deadline = time.monotonic() + 20
    while True:
        try:
            f = h5py.File(args.out, "r+", libver="latest")
            break
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)
    with f:
        for key, value in finals.items():
            f.attrs[key] = value

if __name__ == "__main__":
    main()
