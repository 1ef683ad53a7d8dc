#!/usr/bin/python3
"""Checks llama_ref.py's output against stories260K/expected_greedy_ids_and_logits.json.

That file (an independent fp32 forward pass, logits rounded to 6 decimals)
holds the greedy ids from BOS and the logits of the first 4 positions. This
keeps the reference itself honest: it must reproduce those logits within
--rtol, relative to the largest logit magnitude of each position.

Usage: check_expected.py REF.json EXPECTED.json [--rtol 1e-4]
"""

import argparse
import json
import sys

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ref")
    ap.add_argument("expected")
    ap.add_argument("--rtol", type=float, default=1e-4)
    args = ap.parse_args()
    with open(args.ref) as f:
        ref = json.load(f)
    with open(args.expected) as f:
        expected = json.load(f)

    want = np.array(expected["logits_first4"])
    n = len(want)
    if ref["positions"][:n] != list(range(n)) or ref["tokens"][:n] != expected["ids"][:n]:
        sys.exit(f"reference must cover positions 0..{n - 1} with tokens {expected['ids'][:n]}")
    got = np.array(ref["logits"][:n])
    rel = np.abs(got - want).max(axis=1) / np.abs(want).max(axis=1)
    print("max relative error per position:", " ".join(f"{r:.2e}" for r in rel))
    if (rel > args.rtol).any():
        sys.exit(f"FAIL: exceeds {args.rtol}")


if __name__ == "__main__":
    main()
