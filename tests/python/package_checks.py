"""The analysis package installs like a Python package (ctest: python_install_cmake,
python_install_venv; label python).

  CMakeInstall  `cmake --install BUILD --prefix TMP` puts fireflies_analysis into the directory
                that Debian's /usr/bin/python3 uses for that prefix (asked here, independently
                of CMake: its default scheme's purelib relative to its data root); for the
                prefix /usr/local that directory is on python3's default sys.path; the installed
                copy imports with nothing but that directory added (from another directory, no
                PYTHONPATH=scripts) and runs `python3 -m fireflies_analysis --help`; an install
                into Python's user base (~/.local, run.sh's prefix without root) imports with
                no PYTHONPATH at all.
  VenvPip       the documented route on Debian 12 (PEP 668), nothing downloaded:
                  python3 -m venv --system-site-packages V
                  V/bin/pip install --no-build-isolation ./scripts
                then, from another directory without PYTHONPATH, `import fireflies_analysis`
                finds the venv's copy, `python -m fireflies_analysis --help` and the console
                script `fireflies-analysis --help` work, and a real summary of a synthetic run
                file is printed.

Environment (ctest sets it): FIREFLIES_BUILD_DIR (a configured and built tree),
FIREFLIES_SOURCE_DIR, CMAKE_COMMAND, FIREFLIES_PYTHON_SITEDIR (what CMake computed),
DEBIAN_PYTHON (default /usr/bin/python3). This file's name does not start with "test" on
purpose: `unittest discover` in python_analysis must not pick it up.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = Path(os.environ.get("FIREFLIES_SOURCE_DIR", HERE.parents[1]))
BUILD = os.environ.get("FIREFLIES_BUILD_DIR")
CMAKE = os.environ.get("CMAKE_COMMAND", "cmake")
PYTHON = os.environ.get("DEBIAN_PYTHON", "/usr/bin/python3")
SITEDIR_QUERY = ("import os, sysconfig; "
                 "print(os.path.relpath(sysconfig.get_path('purelib'), sysconfig.get_path('data')))")


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without PYTHONPATH (and without a venv's or pyenv's hints)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")}
    env.update(MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1", PIP_NO_INDEX="1",
               PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", **extra)
    return env


def run(cmd, cwd, env=None, timeout=300) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env or clean_env(),
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} exited {proc.returncode}\n"
                             f"stdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}")
    return proc


def write_synthetic_run(path: Path) -> None:
    sys.path.insert(0, str(HERE))
    try:
        import synthetic  # tests/python/synthetic.py: a run file in the program's layout
    finally:
        sys.path.remove(str(HERE))
    synthetic.write_run(path)


class CMakeInstall(unittest.TestCase):
    def setUp(self):
        if not BUILD:
            self.skipTest("FIREFLIES_BUILD_DIR not set (ctest sets it)")
        self.tmp = Path(tempfile.mkdtemp(prefix="fireflies-install-"))
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)

    def test_install_where_debian_python_looks(self):
        # Where Debian's python3 installs for a prefix, asked here without CMake.
        sitedir = run([PYTHON, "-c", SITEDIR_QUERY], cwd=self.tmp).stdout.strip()
        self.assertTrue(sitedir.startswith("lib"), sitedir)
        configured = os.environ.get("FIREFLIES_PYTHON_SITEDIR")
        if configured:
            self.assertEqual(configured, sitedir,
                             "CMake's FIREFLIES_PYTHON_SITEDIR differs from what python3 says")

        # For /usr/local that directory is on python3's default sys.path (no PYTHONPATH, no
        # user site): a notebook anywhere imports what `cmake --install` put there.
        path = run([PYTHON, "-s", "-c", "import sys; print('\\n'.join(sys.path))"],
                   cwd=self.tmp).stdout.splitlines()
        self.assertIn(f"/usr/local/{sitedir}", path,
                      f"/usr/local/{sitedir} is not on {PYTHON}'s default sys.path: {path}")

        prefix = self.tmp / "prefix"
        run([CMAKE, "--install", BUILD, "--prefix", prefix], cwd=self.tmp)
        installed = prefix / sitedir / "fireflies_analysis"
        self.assertTrue((installed / "__init__.py").is_file(),
                        f"cmake --install did not put fireflies_analysis into {installed}; "
                        f"found: {sorted(str(p.relative_to(prefix)) for p in prefix.rglob('__init__.py'))}")
        for module in ("__main__", "load", "convergence", "plots", "report"):
            self.assertTrue((installed / f"{module}.py").is_file(), module)

        # Import it from elsewhere with only that directory added, as Debian's site.py adds
        # /usr/local/lib/python3.X/dist-packages for /usr/local; it must be the installed copy
        # (not one in /usr/local from an earlier install, nor the checkout's scripts/).
        elsewhere = self.tmp / "elsewhere"
        elsewhere.mkdir()
        env = clean_env(PYTHONPATH=str(prefix / sitedir))
        where = run([PYTHON, "-c", "import fireflies_analysis; print(fireflies_analysis.__file__)"],
                    cwd=elsewhere, env=env).stdout.strip()
        self.assertEqual(Path(where).resolve(), (installed / "__init__.py").resolve())
        usage = run([PYTHON, "-m", "fireflies_analysis", "--help"], cwd=elsewhere, env=env).stdout
        self.assertIn("summary", usage)
        # The run file loads through the installed copy.
        h5 = elsewhere / "run.h5"
        write_synthetic_run(h5)
        out = run([PYTHON, "-m", "fireflies_analysis", "summary", h5], cwd=elsewhere, env=env).stdout
        self.assertIn("R", out)


    def test_install_into_user_base(self):
        # run.sh without root installs into ~/.local, Python's user base, whose user site
        # directory (Debian: lib/python3.X/site-packages) differs from the one above: the
        # package must land there too. A fresh configure with PYTHONUSERBASE pointing into
        # the temporary directory stands for ~/.local (only the python component is installed:
        # nothing is built).
        userbase = self.tmp / "dot-local"
        build = self.tmp / "build"
        env = clean_env(PYTHONUSERBASE=str(userbase))
        run([CMAKE, "-S", SOURCE, "-B", build, "-DFIREFLIES_BUILD_TESTS=OFF",
             f"-DFIREFLIES_INSTALL_PYTHON={PYTHON}"], cwd=self.tmp, env=env)
        run([CMAKE, "--install", build, "--component", "python", "--prefix", userbase],
            cwd=self.tmp, env=env)
        elsewhere = self.tmp / "elsewhere"
        elsewhere.mkdir()
        where = run([PYTHON, "-c", "import fireflies_analysis; print(fireflies_analysis.__file__)"],
                    cwd=elsewhere, env=env).stdout.strip()
        self.assertTrue(Path(where).resolve().is_relative_to(userbase.resolve()),
                        f"imported {where}, not the copy in the user base {userbase}")


class VenvPip(unittest.TestCase):
    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="fireflies-venv-"))
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)

    def test_venv_pip_install(self):
        # A copy of scripts/ (pip builds in place, leaving build/ and *.egg-info beside
        # pyproject.toml): the checkout stays as it is.
        checkout = self.tmp / "checkout"
        checkout.mkdir()
        shutil.copytree(SOURCE / "scripts", checkout / "scripts",
                        ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
        venv = self.tmp / "V"
        run([PYTHON, "-m", "venv", "--system-site-packages", venv], cwd=checkout)
        run([venv / "bin" / "pip", "install", "--no-build-isolation", "./scripts"], cwd=checkout)

        elsewhere = self.tmp / "elsewhere"
        elsewhere.mkdir()
        py = venv / "bin" / "python"
        where = run([py, "-c", "import fireflies_analysis; print(fireflies_analysis.__file__)"],
                    cwd=elsewhere).stdout.strip()
        self.assertTrue(Path(where).resolve().is_relative_to(venv.resolve()),
                        f"imported {where}, not the venv's copy")
        self.assertIn("summary", run([py, "-m", "fireflies_analysis", "--help"], cwd=elsewhere).stdout)
        self.assertIn("summary", run([venv / "bin" / "fireflies-analysis", "--help"], cwd=elsewhere).stdout)
        h5 = elsewhere / "run.h5"
        write_synthetic_run(h5)
        out = run([venv / "bin" / "fireflies-analysis", "summary", h5], cwd=elsewhere).stdout
        self.assertIn("R", out)


if __name__ == "__main__":
    unittest.main()
