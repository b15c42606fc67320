"""How the Python tests start the real `fireflies` program: one convention for every suite.

`ranks` is the number of MPI ranks. 1 runs the program alone, without mpiexec, as a user runs it
on a laptop (the hub and one worker in one process); N > 1 runs `mpiexec -n N`. MPIEXEC_1 runs
`mpiexec -n 1` (the same single process, started the way a job script starts it).

CTest passes, in the environment:
  FIREFLIES_BIN         the fireflies executable
  MPIEXEC               mpiexec / mpirun
  MPIEXEC_NUMPROC_FLAG  usually -n or -np
  MPIEXEC_PREFLAGS      extra flags before the program (optional, ';'-separated as CMake lists)
"""
import os
import unittest

MPIEXEC_1 = "mpiexec -n 1"

FIREFLIES = os.environ.get("FIREFLIES_BIN", "")
MPIEXEC = os.environ.get("MPIEXEC", "mpiexec")
NP_FLAG = os.environ.get("MPIEXEC_NUMPROC_FLAG", "-n") or "-n"
PREFLAGS = [v for v in os.environ.get("MPIEXEC_PREFLAGS", "").replace(";", " ").split() if v]


def processes(ranks):
    """How many processes `ranks` starts."""
    return 1 if ranks == MPIEXEC_1 else int(ranks)


def direct(ranks):
    """Whether `ranks` runs the program without mpiexec."""
    return ranks == 1


def command(ranks, args):
    """argv for `fireflies args` on `ranks` ranks (see the module's docstring)."""
    if not FIREFLIES:
        raise unittest.SkipTest("FIREFLIES_BIN is not set (run these tests through ctest)")
    args = [str(a) for a in args]
    if direct(ranks):
        return [FIREFLIES] + args
    if processes(ranks) < 1:
        raise ValueError("ranks must be >= 1 or MPIEXEC_1, not %r" % (ranks,))
    return [MPIEXEC, NP_FLAG, str(processes(ranks))] + PREFLAGS + [FIREFLIES] + args
