"""Regenerate every table and plot under benchmarks/results/:  python -m benchmarks"""

import argparse
import importlib

from .plots import PLOTS

SUITES = ("evaluation", "derivation", "verification", "windows")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", help="comma-separated suites (default: all)")
    args = parser.parse_args()
    for suite in args.only.split(",") if args.only else SUITES:
        print(f"== {suite}", flush=True)
        importlib.import_module(f"benchmarks.{suite}").main([])
        if suite in PLOTS:
            print(f"wrote {PLOTS[suite]()}", flush=True)


if __name__ == "__main__":
    main()
