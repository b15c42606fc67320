"""Checks a run's XDMF sidecar with ParaView's own reader, as a user opening it would see it.

    xvfb-run -a pvbatch tests/paraview/check_xdmf.py OUTPUT.xmf OUTPUT.h5 SCREENSHOT.png

Opens OUTPUT.xmf with the reader ParaView picks for it (OpenDataFile: an Xdmf3 reader) and checks
  - one time step per snapshot, at the times /snapshots/t of OUTPUT.h5 holds;
  - the grid: an image in the X-Y plane (z flat), one cell per pixel of /snapshots/phase
    (nx x ny cells, (nx+1) x (ny+1) x 1 points), spaced by the attributes stride_x and stride_y,
    from the origin;
  - the cell array `phase` of the first, a middle and the last frame equals /snapshots/phase;
  - rendered in the default view (camera reset, as the GUI does on first show), coloured by phase,
    it is seen face on: the screenshot, saved to SCREENSHOT.png, is not blank (at least 16 colours,
    at least 2% of it off the background, which a grid seen edge on does not reach).
Prints one line per failed check and exits 1 if any failed, 0 with "check_xdmf: OK ..." if none.

OUTPUT.h5 is read with h5py when pvbatch's Python has it; otherwise a python3 that has it
($FIREFLIES_PYTHON, else /usr/bin/python3) reads it and hands the values over as JSON.
"""
import json
import os
import subprocess
import sys

import numpy as np
from paraview import servermanager
from paraview import simple
from vtkmodules.util.numpy_support import vtk_to_numpy
from vtkmodules.vtkIOImage import vtkPNGReader

VIEW_SIZE = (800, 600)

# Run by a python3 with h5py when pvbatch's has none: what the checks need from OUTPUT.h5.
READ_EXPECTED = r"""
import json, sys
import h5py
with h5py.File(sys.argv[1], "r") as f:
    phase = f["snapshots/phase"]
    n = phase.shape[0]
    frames = sorted({0, n // 2, n - 1}) if n else []
    json.dump({"t": f["snapshots/t"][()].tolist(),
               "shape": list(phase.shape),
               "stride_x": int(phase.attrs["stride_x"]),
               "stride_y": int(phase.attrs["stride_y"]),
               "frames": {str(i): phase[i].tolist() for i in frames}}, sys.stdout)
"""


def read_expected(h5):
    """(times, (frames, ny, nx), (stride_x, stride_y), {frame index: float32 [ny, nx]})."""
    try:
        import h5py  # noqa: F401  (Debian's pvbatch runs the system Python, which usually has it)
    except ImportError:
        python = os.environ.get("FIREFLIES_PYTHON", "/usr/bin/python3")
        text = subprocess.run([python, "-c", READ_EXPECTED, h5], check=True, capture_output=True,
                              text=True).stdout
        e = json.loads(text)
        frames = {int(i): np.asarray(v, dtype=np.float32) for i, v in e["frames"].items()}
        return (np.asarray(e["t"], dtype=np.float64), tuple(e["shape"]),
                (e["stride_x"], e["stride_y"]), frames)
    import h5py
    with h5py.File(h5, "r") as f:
        phase = f["snapshots/phase"]
        n = phase.shape[0]
        frames = {i: phase[i] for i in sorted({0, n // 2, n - 1})} if n else {}
        return (f["snapshots/t"][()], phase.shape,
                (int(phase.attrs["stride_x"]), int(phase.attrs["stride_y"])), frames)


def as_list(values):
    """TimestepValues: a list, or a bare number for a single step."""
    if values is None:
        return []
    return list(values) if hasattr(values, "__len__") else [values]


def leaf(data):
    """The dataset of one time step (readers may wrap it in a multiblock)."""
    while data is not None and data.IsA("vtkMultiBlockDataSet"):
        data = data.GetBlock(0) if data.GetNumberOfBlocks() else None
    return data


def read_png(path):
    reader = vtkPNGReader()
    reader.SetFileName(path)
    reader.Update()
    image = reader.GetOutput()
    width, height, _ = image.GetDimensions()
    pixels = vtk_to_numpy(image.GetPointData().GetScalars())
    return pixels.reshape(height, width, -1)[:, :, :3]


def main(argv):
    if len(argv) != 4:
        print("usage: pvbatch check_xdmf.py OUTPUT.xmf OUTPUT.h5 SCREENSHOT.png", file=sys.stderr)
        return 2
    # Absolute: ParaView 5.11's Xdmf3 reader resolves the .h5 named in the file against the path
    # it was given, and a bare "run.xmf" gives it "run.xmfrun.h5".
    xmf, h5, png = (os.path.abspath(a) for a in argv[1:])
    times, shape, (sx, sy), frames = read_expected(h5)
    _, ny, nx = shape
    if len(times) == 0:
        print("check_xdmf: FAIL: %s has no snapshots (run with --snapshot-every)" % h5)
        return 1
    failures = []

    def check(ok, message):
        if not ok:  # printed at once: should ParaView crash later, what failed is already said
            failures.append(message)
            print("check_xdmf: FAIL: %s" % message, flush=True)
        return ok

    reader = simple.OpenDataFile(xmf)
    if reader is None:
        print("check_xdmf: FAIL: ParaView has no reader for %s" % xmf)
        return 1
    name = reader.GetXMLName()

    steps = as_list(reader.TimestepValues)
    if check(len(steps) == len(times), "%d time steps, /snapshots/t has %d" % (len(steps), len(times))):
        check(np.array_equal(np.asarray(steps, dtype=np.float64), times),
              "time steps %s differ from /snapshots/t %s" % (steps, list(times)))

    shown = 0  # the first frame: random phases, the most colourful (later ones synchronise)
    for i in sorted(frames):
        reader.UpdatePipeline(float(times[i]))
        data = leaf(servermanager.Fetch(reader))
        where = "frame %d (t = %g)" % (i, times[i])
        if not check(data is not None and data.IsA("vtkImageData"),
                     "%s: not an image (%s)" % (where, data.GetClassName() if data else None)):
            continue
        check(tuple(data.GetDimensions()) == (nx + 1, ny + 1, 1),
              "%s: %s points, want (%d, %d, 1): one cell per pixel, X-Y plane"
              % (where, data.GetDimensions(), nx + 1, ny + 1))
        bounds = tuple(data.GetBounds())
        want = (0.0, float(nx * sx), 0.0, float(ny * sy), 0.0, 0.0)
        check(np.allclose(bounds, want), "%s: bounds %s, want %s (X-Y plane, z flat, spacing %d x %d)"
              % (where, bounds, want, sx, sy))
        array = data.GetCellData().GetArray("phase")
        if check(array is not None, "%s: no cell array 'phase' (cell data: %s, point data: %s)"
                 % (where, [data.GetCellData().GetArrayName(k)
                            for k in range(data.GetCellData().GetNumberOfArrays())],
                    [data.GetPointData().GetArrayName(k)
                     for k in range(data.GetPointData().GetNumberOfArrays())])):
            values = vtk_to_numpy(array)
            expected = np.asarray(frames[i], dtype=np.float32).reshape(-1)
            check(values.shape == expected.shape and np.array_equal(values.astype(np.float32), expected),
                  "%s: cell values differ from /snapshots/phase[%d] (%s values vs %s)"
                  % (where, i, values.shape, expected.shape))

    # The default view, as the GUI shows a file it opens: camera reset to the data, looking
    # down -z. The colour legend and the orientation axes stay off, so that only the data can
    # make the picture non-blank.
    view = simple.GetActiveViewOrCreate("RenderView")
    view.ViewSize = list(VIEW_SIZE)
    view.OrientationAxesVisibility = 0
    view.ViewTime = float(times[shown])
    display = simple.Show(reader, view)
    simple.ColorBy(display, ("CELLS", "phase"))
    lut = simple.GetColorTransferFunction("phase")
    lut.RescaleTransferFunction(0.0, 1.0)
    display.SetScalarBarVisibility(view, False)
    view.ResetCamera()
    simple.Render(view)
    simple.SaveScreenshot(png, view, ImageResolution=list(VIEW_SIZE))

    pixels = read_png(png)
    flat = pixels.reshape(-1, 3)
    colours, counts = np.unique(flat, axis=0, return_counts=True)
    background = colours[np.argmax(counts)]
    corner = pixels[0, 0]
    covered = float(np.mean(np.any(flat != corner, axis=1)))
    check(len(colours) >= 16, "screenshot %s is blank: %d distinct colours" % (png, len(colours)))
    check(covered >= 0.02, "screenshot %s is blank: %.1f%% of it differs from the corner colour %s "
          "(most common colour %s)" % (png, 100 * covered, list(corner), list(background)))

    if failures:
        print("check_xdmf: %d check(s) failed for %s (reader %s)" % (len(failures), xmf, name))
        return 1
    print("check_xdmf: OK %s: reader %s, %d time steps from t = %g to %g, %d x %d cells spaced %d x %d, "
          "frames %s equal /snapshots/phase; screenshot %s: %d colours, %.0f%% of it data"
          % (xmf, name, len(times), times[0], times[-1], nx, ny, sx, sy, sorted(frames), png,
             len(colours), 100 * covered))
    return 0


if __name__ == "__main__":
    code = main(sys.argv)
    sys.stdout.flush()
    sys.stderr.flush()
    # Straight out: pvbatch's own teardown under Xvfb can fail (GLXBadContext) and turn the exit
    # status into 1 after every check passed and the screenshot was saved.
    os._exit(code)
