#!/usr/bin/env bash
# cli_explain_html.sh CHORUS CHROMIUM MODEL OUTDIR: `chorus explain --html` on MODEL
# writes a page that headless Chromium renders with no console message or
# error (the page marks <body data-status="rendered"> when its script is
# done), and whose screenshot is not blank.
set -euo pipefail
chorus=$1 chromium=$2 model=$3 out=$4
here=$(dirname "$0")
rm -rf "$out" && mkdir -p "$out"
"$chorus" explain --model "$model" --prompt "Once upon a time, there was a little" --top-k 5 --html "$out/page.html"
grep -q '<script src\|<link ' "$out/page.html" && { echo "the page loads something from outside"; exit 1; }
flags=(--headless --no-sandbox --disable-gpu --no-first-run --user-data-dir="$out/profile" --enable-logging=stderr --v=0)
timeout 120 "$chromium" "${flags[@]}" --dump-dom "file://$out/page.html" > "$out/dom.html" 2> "$out/console.log" || true
if ! grep -q 'data-status="rendered"' "$out/dom.html"; then
  echo "the page did not render:"; grep -o 'data-status="[^"]*"' "$out/dom.html" || true; cat "$out/console.log"; exit 1
fi
if grep -E 'CONSOLE|Uncaught' "$out/console.log"; then echo "console messages (above)"; exit 1; fi
timeout 120 "$chromium" "${flags[@]}" --hide-scrollbars --window-size=1280,1400 --screenshot="$out/page.png" \
  "file://$out/page.html" 2>> "$out/console.log" || true
test -s "$out/page.png" || { echo "no screenshot"; cat "$out/console.log"; exit 1; }
python3 "$here/png_not_blank.py" "$out/page.png"
