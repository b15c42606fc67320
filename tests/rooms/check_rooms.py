"""The rooms of src/ keep to themselves: outside libraries are included only where the build links
them (src/CMakeLists.txt gives each room its own library). Fails naming every file that breaks
the rule:
  <mpi.h>, Boost.MPI          only src/comm (and src/output/mpio.cpp, which hands the
                              communicator src/comm made to HDF5's MPI-IO driver)
  a call of an MPI function   only src/comm (MPI_Xxx(...): src/output names MPI_Comm and
                              MPI_INFO_NULL for HDF5, and calls nothing of MPI's)
  <hdf5.h>, <hdf5_hl.h>       only src/output
  toml++                      only src/config/toml.cpp
  CLI11                       only src/config
and no public header in include/fireflies/ includes any of them.
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
RULES = [
    (re.compile(r'#\s*include\s*[<"](mpi\.h|boost/mpi[^>"]*)[>"]'), ("src/comm/", "src/output/mpio.cpp")),
    (re.compile(r'\b(MPI_[A-Z][a-z0-9_]*)\s*\('), ("src/comm/",)),
    (re.compile(r'#\s*include\s*[<"](hdf5[^>"]*\.h)[>"]'), ("src/output/",)),
    (re.compile(r'#\s*include\s*[<"](toml\+\+/[^>"]*)[>"]'), ("src/config/toml.cpp",)),
    (re.compile(r'#\s*include\s*[<"](CLI/[^>"]*)[>"]'), ("src/config/",)),
]


def main():
    files = sorted(p for d in ("src", "include") for p in (ROOT / d).rglob("*")
                   if p.suffix in (".cpp", ".hpp", ".inc", ".h"))
    if len(files) < 20:
        print("check_rooms: only %d sources found under %s" % (len(files), ROOT))
        return 1
    broken = []
    for path in files:
        rel = path.relative_to(ROOT).as_posix()
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            for pattern, allowed in RULES:
                m = pattern.search(line)
                if m and not rel.startswith(allowed):
                    what = "calls" if m.group(1).startswith("MPI_") else "includes"
                    broken.append("%s:%d %s %s (allowed only in %s)" % (rel, number, what, m.group(1),
                                                                        ", ".join(allowed)))
    for b in broken:
        print(b)
    print("check_rooms: %d files, %d broken includes" % (len(files), len(broken)))
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
