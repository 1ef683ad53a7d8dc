#!/usr/bin/env python3
"""Greedy text of `chorus generate` against what an established runtime printed
for the same GGUF file and prompt (the .expected files here; see README.md).

    check_greedy.py CHORUS MODEL PROMPT_FILE N EXPECTED_FILE [--chat USER_TEXT]

Without --chat the prompt file's text is the raw prompt (control tokens such as
<|im_start|> read as such) and the expected file holds prompt + continuation.
With --chat, chorus renders USER_TEXT through the model's chat template itself,
and its answer must equal the expected continuation of the prompt file (which
holds the rendered template). Exits 77 (skipped) when the model is absent."""
import os
import subprocess
import sys

chorus, model, prompt_file, n, expected_file = sys.argv[1:6]
chat = sys.argv[7] if len(sys.argv) > 7 and sys.argv[6] == "--chat" else None
if not os.path.exists(model):
    print(f"SKIPPED: {model} is absent (scripts/setup.sh fetches it)")
    sys.exit(77)
prompt = open(prompt_file, encoding="utf-8").read()
expected = open(expected_file, encoding="utf-8").read()
args = [chorus, "generate", "--model", model, "--temperature", "0", "--max-tokens", n]
if chat is None:
    args += ["--prompt", prompt, "--special-in-prompt"]
else:
    args += ["--chat", "--prompt", chat]
    assert expected.startswith(prompt), "the expected file starts with the rendered prompt"
    expected = expected[len(prompt):]
got = subprocess.run(args, capture_output=True, check=True).stdout.decode("utf-8")
got = got[:-1] if got.endswith("\n") and not expected.endswith("\n") else got
if got != expected:
    k = next((i for i, (a, b) in enumerate(zip(got, expected)) if a != b), min(len(got), len(expected)))
    print(f"differs at character {k}:\n  chorus:   {got[k:k + 80]!r}\n  expected: {expected[k:k + 80]!r}")
    sys.exit(1)
print(f"identical: {len(expected)} characters")
