"""What the benchmark smoke tests (test_bench_smoke.py, test_scaling_smoke.py) share."""
import os
import subprocess


def fresh_output(workdir, name):
    """workdir/name, with workdir made and any old file of that name removed."""
    os.makedirs(workdir, exist_ok=True)
    out = os.path.join(workdir, name)
    if os.path.exists(out):
        os.remove(out)
    return out


def run_script(cmd, name, timeout=110):
    """Runs the benchmark script and prints its table; its stdout, or None (and why) if it failed."""
    print("+", " ".join(cmd), flush=True)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    print(p.stdout)
    if p.returncode != 0:
        print(p.stderr[-4000:])
        print(f"{name}: {os.path.basename(cmd[1])} exited {p.returncode}")
        return None
    return p.stdout


def verdict(name, problems, ok_text="OK"):
    """Prints the test's verdict and every problem found; returns the exit status."""
    if problems:
        print(f"{name}: FAILED")
        for p in problems:
            print("  " + p)
        return 1
    print(f"{name}: {ok_text}")
    return 0
