#!/usr/bin/env bash
# Trains and evaluates the routers whose validation figures are in
# docs/router.md, and writes them to docs/bench/router_val.json.
#   CHORUS_MMLU_DIR=DIR CHORUS_USE_LITE_DIR=DIR tools/router/reproduce.sh [BUILD_DIR] [OUT_DIR]
# CLINC150 comes from fixtures/data/clinc150; the MMLU CSVs with
# subject_categories.json and use-lite (28 MB) are not in the repository:
# name their folders with CHORUS_MMLU_DIR and CHORUS_USE_LITE_DIR.
# Takes a few minutes per router on one free core (longer on a busy machine).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BUILD="${1:-$ROOT/build}"
OUT="${2:-$ROOT/build/router-runs}"
MMLU="${CHORUS_MMLU_DIR:?set CHORUS_MMLU_DIR to the folder of the MMLU CSVs and subject_categories.json}"
USE_LITE="${CHORUS_USE_LITE_DIR:?set CHORUS_USE_LITE_DIR to the use-lite folder}"
CHORUS="$BUILD/chorus"
CLINC="$ROOT/fixtures/data/clinc150/data_dev.json"
mkdir -p "$OUT" "$ROOT/docs/bench"

python3 "$ROOT/tools/router/mmlu_to_router.py" --mmlu "$MMLU" --labels domain --out "$OUT/mmlu_domain.jsonl"
python3 "$ROOT/tools/router/mmlu_to_router.py" --mmlu "$MMLU" --labels category --out "$OUT/mmlu_category.jsonl"
# Short general-knowledge questions (MMLU train split, <= 15 words) as extra out-of-domain training text for CLINC.
python3 "$ROOT/tools/router/mmlu_to_router.py" --mmlu "$MMLU" --labels category --max-words 15 \
    --out "$OUT/general_questions.jsonl"
XOOD="--extra-ood $OUT/general_questions.jsonl"
USE="--embeddings $USE_LITE"

# name | train-router arguments (the eval uses the same --format/--labels)
RUNS=(
  "clinc_domain_widemlp|--data $CLINC --format clinc --labels domain --model widemlp $XOOD"
  "clinc_domain_widemlp_use_mean_max|--data $CLINC --format clinc --labels domain --model widemlp $XOOD $USE --pooling mean_max"
  "clinc_domain_widemlp_use_mean_max_ens5_r86|--data $CLINC --format clinc --labels domain --model widemlp $XOOD $USE --pooling mean_max --members 5 --min-ood-recall 0.86"
  "clinc_domain_widemlp_use_mean|--data $CLINC --format clinc --labels domain --model widemlp $XOOD $USE --pooling mean"
  "clinc_domain_widemlp_r85|--data $CLINC --format clinc --labels domain --model widemlp $XOOD --min-ood-recall 0.85"
  "clinc_domain_widemlp_ens3|--data $CLINC --format clinc --labels domain --model widemlp $XOOD --members 3"
  "clinc_domain_widemlp_no_extra_ood|--data $CLINC --format clinc --labels domain --model widemlp"
  "clinc_domain_widemlp_ens3_no_extra_ood|--data $CLINC --format clinc --labels domain --model widemlp --members 3"
  "clinc_domain_linear|--data $CLINC --format clinc --labels domain --model linear"
  "clinc_intent_widemlp|--data $CLINC --format clinc --labels intent --model widemlp $XOOD"
  "clinc_intent_widemlp_ens3|--data $CLINC --format clinc --labels intent --model widemlp $XOOD --members 3"
  "clinc_intent_linear|--data $CLINC --format clinc --labels intent --model linear"
  "mmlu_domain_widemlp|--data $OUT/mmlu_domain.jsonl --format jsonl --model widemlp"
  "mmlu_category_widemlp|--data $OUT/mmlu_category.jsonl --format jsonl --model widemlp"
)
EXTRA="${ROUTER_TRAIN_ARGS:-}"
echo "{" > "$OUT/results.json.part"
first=1
for run in "${RUNS[@]}"; do
  name="${run%%|*}"
  args="${run#*|}"
  echo "== $name"
  # shellcheck disable=SC2086
  "$CHORUS" train-router $args $EXTRA --seed 1 --out "$OUT/$name.router"
  data=$(echo "$args" | sed -E 's/.*--data ([^ ]+).*/\1/')
  fmt=$(echo "$args" | sed -E 's/.*--format ([^ ]+).*/\1/')
  labels=$(echo "$args" | grep -oE -- '--labels [a-z]+' || true)
  # Validation figures: the CLINC dev file has no test split; the MMLU files do, so ask for val.
  # shellcheck disable=SC2086
  "$CHORUS" route --router "$OUT/$name.router" --eval "$data" --format "$fmt" $labels --split val --json --curve 21 \
    > "$OUT/$name.eval.json"
  [ $first -eq 1 ] || echo "," >> "$OUT/results.json.part"
  first=0
  printf '"%s": ' "$name" >> "$OUT/results.json.part"
  cat "$OUT/$name.eval.json" >> "$OUT/results.json.part"
done
echo "}" >> "$OUT/results.json.part"
COMMIT="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)" python3 - "$OUT/results.json.part" \
    "$ROOT/docs/bench/router_val.json" <<'PY'
import json, os, sys
results = json.load(open(sys.argv[1]))
doc = {"what": "chorus router validation figures (tuned on these splits: optimistic for held-out test)",
       "machine": "2-core shared x86-64 VM, one thread per query; latency = fastest of 3 runs per query",
       "commit": os.environ["COMMIT"], "results": results}
with open(sys.argv[2], "w") as f:
    json.dump(doc, f, indent=1)
    f.write("\n")
PY
echo "wrote $ROOT/docs/bench/router_val.json"
