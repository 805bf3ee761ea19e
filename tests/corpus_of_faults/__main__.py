"""``python -m tests.corpus_of_faults --table`` prints the corpus as markdown;
``python -m tests.corpus_of_faults --out FOLDER`` writes it (to try ``resonance data prepare`` on)."""

from __future__ import annotations

import argparse
import sys

try:
    from tests.corpus_of_faults import FAULTS, generate, markdown_table
except ImportError:  # run from inside tests/
    from corpus_of_faults import FAULTS, generate, markdown_table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.corpus_of_faults", description=__doc__)
    parser.add_argument("--table", action="store_true", help="print the kinds and outcomes as markdown")
    parser.add_argument("--out", help="write the corpus under this folder (audio/ and image/ trees)")
    args = parser.parse_args(argv)
    if not args.table and not args.out:
        parser.print_help()
        return 2
    if args.table:
        print(markdown_table())
        print(f"\n{len(FAULTS)} kinds ({sum(f.modality == 'audio' for f in FAULTS)} audio, "
              f"{sum(f.modality == 'image' for f in FAULTS)} image).")
    if args.out:
        made = generate(args.out)
        print(f"wrote {len(made)} kinds under {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
