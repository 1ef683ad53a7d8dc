#!/usr/bin/env bash
# chorus generate under the plan grammar: SmolLM2's greedy output ends because the
# grammar is complete, and it is JSON of a plan's shape. Args: CHORUS MODEL GRAMMAR
set -euo pipefail
prompt='Write the plan as JSON. Example: {"nodes": [{"id": "answer", "prompt": "{{question}}", "category": "general", "deps": []}]}. Question: what is the capital of France?'
"$1" generate --model "$2" --chat --temperature 0 --max-tokens 200 --grammar "$3" --json --prompt "$prompt" | python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["stop_reason"] == "grammar", r
plan = json.loads(r["text"])
assert plan["nodes"] and all(set(n) >= {"id", "prompt", "deps"} for n in plan["nodes"]), plan
'
