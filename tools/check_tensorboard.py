#!/usr/bin/env python3
"""Read a TensorBoard event file (or a log folder) with the real `tensorboard` package and print
every scalar, to check that asr-adapt's hand-encoded event files are what TensorBoard expects.

    .venv-tb/bin/python tools/check_tensorboard.py RUN/tensorboard [--require TAG ...]

Prints one "tag<TAB>step<TAB>value<TAB>wall_time" line per scalar, in step order per tag, then a
summary line. Exits 1 when no scalar is found or a --require'd tag is missing, so it can gate a
script. Needs `pip install tensorboard` (see tools/README.md); nothing else.
"""
import argparse
import os
import sys


def load_scalars(path):
    # EventAccumulator is TensorBoard's own reader: TFRecord framing with CRC checks and Event
    # protobuf parsing. size_guidance 0 keeps every point instead of reservoir-sampling them.
    from tensorboard.backend.event_processing import event_accumulator

    acc = event_accumulator.EventAccumulator(path, size_guidance={event_accumulator.SCALARS: 0})
    acc.Reload()
    return acc.file_version, {tag: acc.Scalars(tag) for tag in acc.Tags()["scalars"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", help="an events.out.tfevents.* file or the folder holding it")
    parser.add_argument("--require", action="append", default=[], metavar="TAG",
                        help="fail unless this scalar tag is present (repeatable)")
    args = parser.parse_args()
    if not os.path.exists(args.path):
        sys.exit(f"{args.path}: no such file or folder")
    try:
        file_version, scalars = load_scalars(args.path)
    except ImportError:
        sys.exit("the tensorboard package is missing: pip install tensorboard (see tools/README.md)")

    points = 0
    for tag in sorted(scalars):
        for e in scalars[tag]:
            print(f"{tag}\t{e.step}\t{e.value!r}\t{e.wall_time:.3f}")
            points += 1
    print(f"# file_version {file_version!r}, {len(scalars)} tags, {points} points", file=sys.stderr)
    missing = [t for t in args.require if t not in scalars]
    if points == 0 or missing:
        sys.exit(f"{args.path}: " + (f"missing tags {missing}" if missing else "no scalars found"))


if __name__ == "__main__":
    main()
