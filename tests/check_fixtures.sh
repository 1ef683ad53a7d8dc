#!/usr/bin/env bash
# check_fixtures.sh FIXTURE_DIR: the committed fixtures stay what fixtures/README.md
# promises: every file listed in SHA256SUMS with its hash (and nothing unlisted),
# each at most 5 MB, 25 MB in all.
set -euo pipefail
cd "$1"
status=0
listed=$(awk '{print $2}' SHA256SUMS | sed 's#^\*##; s#^\./##' | sort)
present=$(find . -type f ! -name SHA256SUMS ! -name README.md | sed 's#^\./##' | sort)
if [ "$listed" != "$present" ]; then
  echo "fixtures: SHA256SUMS and the files differ (add a new file to SHA256SUMS and README.md):"
  diff <(echo "$listed") <(echo "$present") || true
  status=1
fi
sha256sum --quiet -c SHA256SUMS || status=1
total=0
while IFS= read -r f; do
  size=$(stat -c %s "$f")
  total=$((total + size))
  if [ "$size" -gt 5000000 ]; then echo "fixtures: $f is $size bytes, over 5 MB"; status=1; fi
done < <(find . -type f)
if [ "$total" -gt 25000000 ]; then echo "fixtures: $total bytes in all, over 25 MB"; status=1; fi
echo "fixtures: $(echo "$present" | wc -l) files, $total bytes"
exit $status
