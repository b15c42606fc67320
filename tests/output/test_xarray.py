"""The output opened with xarray (engine="h5netcdf"), as netCDF users open it: every group a
Dataset whose axes are named dimensions with coordinates (HDF5 dimension scales in netCDF-4's
layout), never h5netcdf's made-up `phony_dim_N`.

For a finished run at P = 3 (--snapshot-every, --snapshot-max for a stride of 2,
--record-flashes), and for runs continued after a restart at the same and at another rank
count, each group opens strictly (without phony_dims, which fails on any unlabelled axis) and
with phony_dims="sort" without a phony dimension; the dimension names, coordinates and lengths
are the documented ones; `ds.sel(t=...)` picks the right sample; every variable equals what h5py
reads, bitwise; every variable has `units` and `long_name`.

Run through ctest (label output: tests/output/CMakeLists.txt passes FIREFLIES_BIN, MPIEXEC...
and puts tests/e2e, for e2e_common, on PYTHONPATH).
"""
import math
import unittest

import h5py
import numpy as np
import xarray as xr

from e2e_common import E2ETestCase

WIDTH, HEIGHT, MAX_SIDE = 40, 30, 20  # snapshot frames 20 x 15, stride 2
ARGS = ["--width", WIDTH, "--height", HEIGHT, "--seed", 5, "--snapshot-every", 2.5,
        "--snapshot-max", MAX_SIDE, "--record-flashes"]
STRIDE = math.ceil(max(WIDTH, HEIGHT) / MAX_SIDE)
NX, NY = math.ceil(WIDTH / STRIDE), math.ceil(HEIGHT / STRIDE)


def open_group(path, group, **kwargs):
    """The group as an xarray Dataset, read into memory (so the file closes at once)."""
    with xr.open_dataset(path, engine="h5netcdf", group=group, **kwargs) as ds:
        return ds.load()


def groups(path):
    """Every group of the file that holds datasets ("/" is none)."""
    found = []
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: found.append(name)
                     if isinstance(obj, h5py.Group)
                     and any(isinstance(v, h5py.Dataset) for v in obj.values()) else None)
    return found


class Xarray(E2ETestCase):

    def run_program(self, ranks, args, output):
        _, a = self.run_ok(ranks, ARGS + list(args), output, timeout=120)
        return a

    def assertLabelled(self, path):
        """Every group opens strictly and has no phony dimension; every variable has units and
        long_name and equals, bitwise, what h5py reads."""
        names = groups(path)
        for group in ("timeseries", "blocks", "flashes", "snapshots", "perf"):
            self.assertIn(group, names)
        with h5py.File(path, "r") as f:
            for group in names:
                ds = open_group(path, group)  # without phony_dims: raises on an unlabelled axis
                sorted_ds = open_group(path, group, phony_dims="sort")
                phony = [d for d in sorted_ds.dims if str(d).startswith("phony_dim")]
                self.assertEqual(phony, [], "/%s has unnamed dimensions" % group)
                for name, var in ds.variables.items():
                    where = "/%s/%s" % (group, name)
                    for key in ("units", "long_name"):
                        self.assertTrue(var.attrs.get(key), "%s has no %s" % (where, key))
                    stored = f[where][()]
                    self.assertEqual(var.dtype, stored.dtype, where)
                    self.assertEqual(var.shape, stored.shape, where)
                    self.assertEqual(var.values.tobytes(), stored.tobytes(), "%s differs from h5py's" % where)
                    if f[where].attrs.get("CLASS") != b"DIMENSION_SCALE":  # a coordinate is its own
                        for dim, scale in zip(var.dims, f[where].dims):
                            self.assertEqual(len(scale), 1, "%s: dimension %s has %d scales"
                                             % (where, dim, len(scale)))

    def check_run(self, path, first_sample=0):
        self.assertLabelled(path)
        with h5py.File(path, "r") as f:
            t = f["timeseries/t"][()]
            R = f["timeseries/R"][()]
            nb = f["blocks/geometry"].shape[0]
            flash_t = f["flashes/t"][()]
            snap_t = f["snapshots/t"][()]
            phase = f["snapshots/phase"][()]
            ranks = f["perf/rank"][()]

        ts = open_group(path, "timeseries")
        self.assertEqual(dict(ts.sizes), {"t": len(t)})
        self.assertEqual(list(ts.coords), ["t"])
        for name in ("R", "R_state", "flashes", "pulse"):
            self.assertEqual(ts[name].dims, ("t",), name)
        np.testing.assert_array_equal(ts.t.values, t)
        i = len(t) // 2
        picked = ts.sel(t=t[i])
        self.assertEqual(float(picked.t), t[i])
        self.assertEqual(float(picked.R), R[i])
        self.assertEqual(float(ts.R.sel(t=10.0)), R[int(np.flatnonzero(t == 10.0)[0])])
        self.assertEqual(ts.t.attrs["units"], "s")
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            pass
        else:
            lines = ts.R.plot()
            axes = lines[0].axes
            self.assertIn("[s]", axes.get_xlabel())  # xarray labels the axis long_name [units]
            self.assertIn("order parameter", axes.get_ylabel())
            plt.close("all")

        blocks = open_group(path, "blocks")
        self.assertEqual(dict(blocks.sizes), {"t": len(t) - first_sample, "block": nb, "geometry_field": 4})
        self.assertEqual(sorted(blocks.coords), ["block", "t"])
        np.testing.assert_array_equal(blocks.t.values, t[first_sample:])
        np.testing.assert_array_equal(blocks.block.values, np.arange(nb))
        for name in ("R", "R_state"):
            self.assertEqual(blocks[name].dims, ("t", "block"), name)
        self.assertEqual(blocks.geometry.dims, ("block", "geometry_field"))
        self.assertEqual(blocks["rank"].dims, ("block",))
        self.assertEqual(blocks.R.sel(t=t[-1]).shape, (nb,))

        flashes = open_group(path, "flashes")
        self.assertEqual(dict(flashes.sizes), {"flash": len(flash_t)})
        self.assertEqual(list(flashes.coords), [])  # a dimension without a coordinate variable
        self.assertGreater(len(flash_t), 0)
        for name in ("t", "agent"):
            self.assertEqual(flashes[name].dims, ("flash",), name)
        with h5py.File(path, "r") as f:
            self.assertEqual(f["flashes/flash"].shape, (len(flash_t),), "the flash dimension's own length")

        snapshots = open_group(path, "snapshots")
        self.assertEqual(dict(snapshots.sizes), {"t": len(snap_t), "y": NY, "x": NX})
        self.assertEqual(sorted(snapshots.coords), ["t", "x", "y"])
        self.assertEqual(snapshots.phase.dims, ("t", "y", "x"))
        np.testing.assert_array_equal(snapshots.t.values, snap_t)
        np.testing.assert_array_equal(snapshots.x.values, np.arange(NX) * STRIDE)
        np.testing.assert_array_equal(snapshots.y.values, np.arange(NY) * STRIDE)
        self.assertEqual(snapshots.x.attrs["units"], "cells")
        np.testing.assert_array_equal(snapshots.phase.sel(t=5.0).values, phase[int(np.flatnonzero(snap_t == 5.0)[0])])
        # The pixel sampling cell (x, y) = (2 * px, 2 * py), picked by its cell coordinates.
        self.assertEqual(float(snapshots.phase.sel(t=snap_t[-1], x=6, y=4)), phase[-1, 2, 3])

        perf = open_group(path, "perf")
        self.assertEqual(dict(perf.sizes), {"rank": len(ranks)})
        self.assertEqual(perf.simulate.dims, ("rank",))
        np.testing.assert_array_equal(perf["rank"].values, ranks)

    def test_finished_run(self):
        out = self.path("run.h5")
        self.run_program(3, ["--duration", 20], out)
        self.check_run(out)

    def test_restarted_runs(self):
        # Each run stops at t = 20 with checkpoints at t ~ 7 and 14; the restart continues from
        # t ~ 14 to 30, at the same rank count (/blocks continued) and at another (/blocks of
        # the first segment kept under /blocks_segment0, a new /blocks from the restart's sample).
        for first, second in ((1, 1), (1, 3)):
            with self.subTest(first=first, second=second):
                out, ck = self.path("run%d%d.h5" % (first, second)), self.path("run%d%d.ckpt" % (first, second))
                self.run_program(first, ["--duration", 20, "--checkpoint", ck, "--checkpoint-every", 7], out)
                self.run_program(second, ["--duration", 30, "--restart", ck], out)
                with h5py.File(out, "r") as f:
                    self.assertEqual(int(f.attrs["segments"]), 2)
                    first_sample = int(f["blocks"].attrs["first_sample"])
                    self.assertEqual(float(f["timeseries/t"][-1]), 30.0)
                    self.assertEqual(float(f["snapshots/t"][-1]), 30.0)
                if first == second:
                    self.assertEqual(first_sample, 0)
                else:
                    self.assertGreater(first_sample, 0)
                    self.assertIn("blocks_segment0", groups(out))
                self.check_run(out, first_sample)


if __name__ == "__main__":
    unittest.main(verbosity=2)
