#!/usr/bin/env bash
# cli_explain_agrees.sh CHORUS MODEL LAST_LAYER PROMPT: `chorus explain --json` on
# MODEL explaining layers 0 and LAST_LAYER. Its most likely next token after the
# prompt is the token greedy `chorus generate` produces; the last layer's logit
# lens equals the next-token distribution; every list is sorted and each
# head's attention entropy is within [0, log2(position + 1)] bits.
set -euo pipefail
chorus=$1 model=$2 last=$3 prompt=$4
explain=$("$chorus" explain --model "$model" --prompt "$prompt" --layers "0,$last" --top-k 4 --json)
generated=$("$chorus" generate --model "$model" --prompt "$prompt" --temperature 0 --max-tokens 1 --json)
python3 - "$explain" "$generated" <<'PY'
import json, math, sys
e, g = json.loads(sys.argv[1]), json.loads(sys.argv[2])
n = len(e["tokens"])
assert len(e["next"]) == n and n > 1, "one next-token list per prompt token"
best = e["next"][-1][0]
assert g["tokens"][:1] == [best["token"]], f"explain's top token {best} is not generate's {g['tokens'][:1]}"
for top in e["next"]:
    probs = [c["prob"] for c in top]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-6, probs
first, last = e["layers"]
assert first["layer"] == 0 and last["layer"] == e["model"]["layers"] - 1, "layers 0 and the last"
for p in range(n):
    for a, b in zip(last["lens"][p], e["next"][p]):
        assert a["token"] == b["token"] and abs(a["prob"] - b["prob"]) < 1e-4, (p, a, b)
for layer in e["layers"]:
    assert len(layer["heads"]) == e["model"]["heads"] and len(layer["resid_norm"]) == n
    for head in layer["heads"]:
        for p, h in enumerate(head["entropy_bits"]):
            assert -1e-6 <= h <= math.log2(p + 1) + 1e-4, (layer["layer"], head["head"], p, h)
print(f"{e['model']['architecture']}: {n} tokens, next {best['piece']!r} {best['prob']:.3f}; lens at layer 0: "
      f"{first['lens'][-1][0]['piece']!r}")
PY
