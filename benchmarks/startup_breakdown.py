"""What ``pixyproxy list --json`` adds to the bare Typer app, measured inside one process.

    .venv-test/bin/python benchmarks/startup_breakdown.py [RUNS]

Each run is a fresh interpreter that first runs the bare app of ``baselines.py`` (so Typer,
Click and pydantic are loaded and paid for), then runs ``pixyproxy list --json`` in the same
process, timing only that. It counts the modules this loads and the dataclasses it builds
(and their time). The wall clock of whole processes (``run.py --only list-small``) swings by
20% on a shared machine; the minimum of these in-process figures moves by a few ms.
``PIXYPROXY_DATA_DIR`` is a fresh folder with 10 images (made by the placeholder), as in
``run.py``'s ``list-small``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHILD = """
import contextlib, dataclasses, io, json, runpy, sys, time
sys.argv = ["baselines.py", "typer", "list", "--json"]
with contextlib.redirect_stdout(io.StringIO()):
    try:
        runpy.run_path(sys.argv_baseline, run_name="__main__")
    except SystemExit:
        pass
before = set(sys.modules)
built = []
process_class = dataclasses._process_class
def counted(cls, *args, **kwargs):
    started = time.perf_counter()
    result = process_class(cls, *args, **kwargs)
    built.append(time.perf_counter() - started)
    return result
dataclasses._process_class = counted
sys.argv = ["pixyproxy", "list", "--json"]
started = time.perf_counter()
from pixyproxy_cli.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    try:
        main()
    except SystemExit:
        pass
elapsed = time.perf_counter() - started
new = set(sys.modules) - before
print(json.dumps({
    "ms": elapsed * 1000,
    "modules": len(new),
    "ours": len([name for name in new if name.startswith("pixyproxy_cli")]),
    "dataclasses": len(built),
    "dataclass_ms": sum(built) * 1000,
}))
"""


def main(runs: int = 15) -> None:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: from compiled bytecode
    env.pop("DB_HOST", None)
    with tempfile.TemporaryDirectory(prefix="pixyproxy-startup-") as tmp:
        env.update(PIXYPROXY_DATA_DIR=str(Path(tmp) / "data"), DB_BACKEND="sqlite")
        executable = Path(sys.executable).parent / "pixyproxy"
        for number in range(10):
            subprocess.run(
                [str(executable), "generate", f"image {number}", "-q"],
                env=env,
                check=True,
                capture_output=True,
            )
        script = CHILD.replace("sys.argv_baseline", repr(str(HERE / "baselines.py")))
        samples = []
        for _ in range(runs):
            # Run in the data folder: with -c, the current folder comes first on sys.path,
            # and a checkout's own pixyproxy_cli would shadow the installed one.
            completed = subprocess.run(
                [sys.executable, "-c", script],
                env=env,
                cwd=tmp,
                check=True,
                capture_output=True,
                text=True,
            )
            samples.append(json.loads(completed.stdout.strip().splitlines()[-1]))
    best = min(samples, key=lambda sample: sample["ms"])
    print(
        f"list --json after the bare app: {best['ms']:.1f} ms (min of {runs}); "
        f"{best['modules']} modules loaded, {best['ours']} of them pixyproxy's; "
        f"{best['dataclasses']} dataclasses built in {best['dataclass_ms']:.1f} ms"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 15)
