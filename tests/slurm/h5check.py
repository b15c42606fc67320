"""HDF5 checks for tests/slurm/test_harness.sh (needs h5py and numpy).

  h5check.py valid OUT STATUS [SEGMENTS]   root attributes: status, segments, totals balance
  h5check.py same REF OUT GROUP...         every dataset under each GROUP bitwise equal
                                           (names, dtypes, shapes, bytes) and the same totals
  h5check.py checkpoint CKPT               opens it, reads every dataset (Fletcher32 checked),
                                           prints its epoch
  h5check.py attr FILE NAME                prints a root attribute

Exit 0 if the check holds; otherwise one line on stderr saying what differs, and exit 1.
"""
import sys

import h5py
import numpy as np

TOTALS = ("flashes_emitted", "flashes_received", "pulses_sent", "pulses_delivered", "pulses_in_flight")


def attrs(f):
    return {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}


def fail(msg):
    print("h5check: " + msg, file=sys.stderr)
    sys.exit(1)


def valid(out, status, segments=None):
    with h5py.File(out, "r") as f:
        a = attrs(f)
        n = f["timeseries/t"].shape[0]
    if a.get("status") != status:
        fail("%s: status %r, expected %r" % (out, a.get("status"), status))
    if segments is not None and int(a.get("segments", -1)) != int(segments):
        fail("%s: segments %s, expected %s" % (out, a.get("segments"), segments))
    if int(a["flashes_emitted"]) != int(a["flashes_received"]):
        fail("%s: flashes_emitted %s != flashes_received %s" % (out, a["flashes_emitted"], a["flashes_received"]))
    if int(a["pulses_sent"]) != int(a["pulses_delivered"]) + int(a["pulses_in_flight"]):
        fail("%s: pulses do not balance" % out)
    if int(a.get("invariants_hold", 0)) != 1:
        fail("%s: invariants_hold is not 1" % out)
    if n < 2:
        fail("%s: only %d samples" % (out, n))


def datasets(path, group):
    out = {}
    with h5py.File(path, "r") as f:
        if group in f:
            f[group].visititems(lambda name, obj: out.__setitem__(name, obj[()])
                                if isinstance(obj, h5py.Dataset) else None)
    return out


def same(ref, out, *groups):
    for group in groups:
        a, b = datasets(ref, group), datasets(out, group)
        if not a:
            fail("%s has no /%s" % (ref, group))
        if sorted(a) != sorted(b):
            fail("/%s: datasets %s in %s, %s in %s" % (group, sorted(a), ref, sorted(b), out))
        for name in a:
            x, y = a[name], b[name]
            if x.dtype != y.dtype or x.shape != y.shape:
                fail("/%s/%s: %s %s in %s, %s %s in %s" % (group, name, x.dtype, x.shape, ref, y.dtype,
                                                         y.shape, out))
            if x.tobytes() != y.tobytes():
                n = int(np.count_nonzero(x.reshape(-1).view(np.uint8) != y.reshape(-1).view(np.uint8)))
                fail("/%s/%s differs bitwise between %s and %s (%d bytes)" % (group, name, ref, out, n))
    with h5py.File(ref, "r") as f, h5py.File(out, "r") as g:
        a, b = attrs(f), attrs(g)
    for key in TOTALS:
        if int(a[key]) != int(b[key]):
            fail("root attribute %s: %s in %s, %s in %s" % (key, a[key], ref, b[key], out))


def checkpoint(path):
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: obj[()] if isinstance(obj, h5py.Dataset) else None)
        a = attrs(f)
    if a.get("format") != "fireflies checkpoint":
        fail("%s: format %r" % (path, a.get("format")))
    print(int(a["epoch"]))


def attr(path, name):
    with h5py.File(path, "r") as f:
        print(attrs(f)[name])


if __name__ == "__main__":
    if len(sys.argv) < 3:
        fail(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    try:
        {"valid": valid, "same": same, "checkpoint": checkpoint, "attr": attr}[cmd](*args)
    except (OSError, KeyError) as e:
        fail("%s %s: %s" % (cmd, " ".join(args), e))
