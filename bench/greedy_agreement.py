#!/usr/bin/env python3
"""Greedy agreement of an activation mode with the exact f32 mode over long generations.

For each model and prompt, `chorus generate` runs greedily (temperature 0) in f32
and in each other mode; the report gives, per mode, the tokens generated before
the first difference and the positions equal up to the end. Writes one JSON
object (accuracy, not speed: nothing here is timed).

  bench/greedy_agreement.py --chorus build/chorus --tokens 256 \
      --model .models/SmolLM2-135M-Instruct.Q4_1.gguf --model .models/gemma-3-270m-q4_k_m.gguf
"""
import argparse
import json
import subprocess
import sys

PROMPTS = [
    "The history of the Roman Empire",
    "def quicksort(xs):",
    "Once upon a time, in a village by the sea,",
    "The three laws of thermodynamics are",
]


def generate(chorus, model, prompt, tokens, activations, chat):
    cmd = [chorus, "generate", "--model", model, "--prompt", prompt, "--max-tokens", str(tokens),
           "--temperature", "0", "--activations", activations, "--json"]
    if chat:
        cmd.append("--chat")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)["tokens"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chorus", default="build/chorus")
    ap.add_argument("--model", action="append", required=True)
    ap.add_argument("--tokens", type=int, default=256)
    ap.add_argument("--modes", default="int16,int8")
    ap.add_argument("--chat", action="store_true", help="render each prompt through the chat template")
    args = ap.parse_args()
    report = {"tokens": args.tokens, "prompts": PROMPTS, "models": {}}
    for model in args.model:
        per_mode = {}
        for mode in args.modes.split(","):
            per_mode[mode] = []
        for prompt in PROMPTS:
            exact = generate(args.chorus, model, prompt, args.tokens, "f32", args.chat)
            for mode in per_mode:
                got = generate(args.chorus, model, prompt, args.tokens, mode, args.chat)
                first = next((i for i, (a, b) in enumerate(zip(exact, got)) if a != b), min(len(exact), len(got)))
                same = sum(a == b for a, b in zip(exact, got))
                per_mode[mode].append({"prompt": prompt, "exact_tokens": len(exact), "tokens": len(got),
                                       "equal_prefix": first, "equal_positions": same,
                                       "identical": exact == got})
                print(f"{model} {mode:5} {prompt[:30]!r:34} equal prefix {first}/{len(exact)}", file=sys.stderr)
        report["models"][model] = per_mode
    json.dump(report, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
