#!/usr/bin/env python3
"""Golden digests of the results: three small runs, the sha256 of each of their datasets.

    scripts/golden.py [--fireflies BIN] [--write] [--file tests/golden/timeseries.txt]

Runs `fireflies` (BIN, default build/release/src/fireflies) for each run of RUNS below (one
process, a few seconds of simulated time), reads every dataset of /timeseries (and /flashes,
where the run records them) with h5py, and hashes the bytes the file holds (sha256 of the
dataset's dtype, shape and raw little-endian data). Without --write it compares the digests with
the committed file and exits 1, naming each dataset that differs; with --write it (re)writes the
file.

When the file may be rewritten: only by a commit that deliberately changes results (a model fix,
a new default), which says so in its message. A refactoring, a new option or an output-layout
change that leaves the series alone must pass against the committed digests unchanged.
The ctest label e2e runs the check (tests/golden/CMakeLists.txt).
"""
import argparse
import hashlib
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# name: arguments. Small grids, a few periods: the default model, the seed's queue mode, and a
# model family (a spread of natural periods and the Mirollo-Strogatz response), with flashes.
COMMON = ["--width", "24", "--height", "20", "--duration", "12", "--sample-every", "0.5", "--seed", "7"]
RUNS = {
    "default": COMMON,
    "queue": COMMON + ["--refractory-mode", "queue", "--record-flashes"],
    "family": COMMON + ["--period-spread", "0.05", "--prc-dissipation", "2", "--record-flashes"],
}
GROUPS = ("timeseries", "flashes")


def digest(dataset):
    data = np.ascontiguousarray(dataset[()])
    h = hashlib.sha256()
    h.update(("%s %s\n" % (data.dtype.str, list(data.shape))).encode())
    h.update(data.tobytes())
    return h.hexdigest()


def digests(fireflies, workdir):
    """{"run /group/name": sha256} for every run of RUNS."""
    out = {}
    for name, args in RUNS.items():
        path = os.path.join(workdir, name + ".h5")
        r = subprocess.run([fireflies] + args + ["-o", path], capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=300)
        if r.returncode != 0:
            sys.exit("golden: run %s failed (exit %d):\n%s%s" % (name, r.returncode, r.stdout, r.stderr))
        with h5py.File(path, "r") as f:
            for group in GROUPS:
                if group in f:
                    for key in sorted(f[group]):
                        if isinstance(f[group][key], h5py.Dataset) and f[group][key].shape is not None:
                            out["%s /%s/%s" % (name, group, key)] = digest(f[group][key])
    return out


def read(file):
    table = {}
    with open(file) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                *key, value = line.split()
                table[" ".join(key)] = value
    return table


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--fireflies", default=os.path.join(ROOT, "build", "release", "src", "fireflies"))
    p.add_argument("--file", default=os.path.join(ROOT, "tests", "golden", "timeseries.txt"))
    p.add_argument("--write", action="store_true", help="rewrite the digests (a deliberate change of results)")
    a = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="fireflies-golden-") as d:
        got = digests(a.fireflies, d)
    if a.write:
        with open(a.file, "w") as f:
            f.write("# sha256 of each dataset (dtype, shape, bytes) of scripts/golden.py's runs.\n"
                    "# Regenerate (scripts/golden.py --write) only in a commit that deliberately changes\n"
                    "# results and says so in its message.\n")
            for key in sorted(got):
                f.write("%s %s\n" % (key, got[key]))
        print("golden: wrote %d digests to %s" % (len(got), a.file))
        return 0
    want = read(a.file)
    bad = sorted(k for k in set(want) | set(got) if want.get(k) != got.get(k))
    for k in bad:
        print("golden: %s: expected %s, got %s" % (k, want.get(k, "(absent)"), got.get(k, "(absent)")))
    if bad:
        print("golden: %d of %d datasets differ from %s" % (len(bad), len(want), a.file))
        return 1
    print("golden: %d datasets match %s" % (len(got), a.file))
    return 0


if __name__ == "__main__":
    sys.exit(main())
