"""What building a record class costs at start-up: frozen dataclass, dataclass, NamedTuple.

    .venv-test/bin/python benchmarks/record_cost.py     # needs valgrind (apt-get install valgrind)

``pixyproxy list --json`` builds 24 dataclasses on its way (23 frozen), the largest part of
what it adds to a bare Typer command. Each figure here is the instructions (callgrind's
count, which repeats to within 0.1% on a busy machine) that 24 classes of 6 fields add to an
interpreter that builds none, in the same run: the cost of each kind of record, per class.
"""

from __future__ import annotations

import os
import sys

from run import instructions  # this folder is first on sys.path when a script here runs

CLASSES = 24
FIELDS = 6
CHILD = f"""
import dataclasses, sys, typing
kind = sys.argv[1]
for number in range({CLASSES}):
    fields = {{f"f{{n}}": int for n in range({FIELDS})}}
    if kind == "namedtuple":
        typing.NamedTuple(f"R{{number}}", list(fields.items()))
    elif kind != "none":
        cls = type(f"R{{number}}", (), {{"__annotations__": fields, "__module__": "records"}})
        dataclasses.dataclass(frozen=kind == "frozen dataclass")(cls)
"""
KINDS = ("none", "frozen dataclass", "dataclass", "namedtuple")


def main() -> None:
    # run.py's callgrind count, for an interpreter building CLASSES records of each kind.
    counts = {
        kind: instructions([sys.executable, "-c", CHILD, kind], dict(os.environ)) for kind in KINDS
    }
    base = counts["none"]
    frozen = (counts["frozen dataclass"] - base) / CLASSES
    print(f"{CLASSES} classes of {FIELDS} fields; instructions added per class (callgrind):")
    for kind in KINDS[1:]:
        each = (counts[kind] - base) / CLASSES
        print(f"  {kind:<17} {each / 1e6:5.2f} M  ({each / frozen:.2f} of a frozen dataclass)")


if __name__ == "__main__":
    main()
