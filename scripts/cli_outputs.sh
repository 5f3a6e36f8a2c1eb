#!/usr/bin/env bash
# scripts/cli_outputs.sh CHECKOUT OUTDIR: every CLI output on the sample (about 50 commands'
# stdout, stderr and exit codes, the PDFs' text, the HTML report, the export, the emails),
# for a byte-for-byte comparison before and after a refactor that must not change behaviour:
#   bash scripts/cli_outputs.sh /path/to/old-checkout /tmp/before
#   bash scripts/cli_outputs.sh . /tmp/after && diff -r /tmp/before /tmp/after && echo SAME
# Each checkout needs its .venv (./run test makes it). Timings and temp paths are masked.
set -uo pipefail
CO=$(cd "$1" && pwd); OUT=$(mkdir -p "$2" && cd "$2" && pwd)
rm -rf "$OUT"/*; W=$(mktemp -d); cp -r "$CO/samples" "$W/s"; cd "$W/s"
rm -rf .sheetsync
export PATH="$CO/.venv/bin:$PATH" COLUMNS=100 TZ=UTC
n=0
run() { n=$((n+1)); local f; f=$(printf "%s/%02d" "$OUT" $n); echo "\$ $*" | sed "s#$W#<W>#g" > "$f.cmd"; "$@" > "$f.out" 2> "$f.err"; echo "rc=$?" >> "$f.cmd"; sed -i -E 's/[0-9]+(\.[0-9]+)? ?(s|ms)\b/<T>/g; s#/tmp/tmp[.A-Za-z0-9]+#<W>#g' "$f.out" "$f.err"; }
AS=2026-11-30
run sheetsync --help
for c in baseline changes diff explain export history init log pull push report run send status sync validate; do run sheetsync $c --help; done
run sheetsync pull --as-of 2026-11-23 sales_plan_2026-11-23.xlsx
run sheetsync pull --as-of $AS sales_plan.xlsx
run sheetsync status --as-of $AS
run sheetsync status --as-of $AS --json
run sheetsync push
run sheetsync diff
run sheetsync validate
for mt in attainment period-attainment pace projection gap required rag milestones budget spend-to-revenue; do run sheetsync explain $mt --as-of $AS; done
run sheetsync explain attainment --team Enterprise --as-of $AS --json
run sheetsync changes
run sheetsync log milestones
run sheetsync log --help
run sheetsync history
run sheetsync baseline --help
run sheetsync report --as-of $AS --report weekly -o "$W/weekly.pdf"
run sheetsync report --as-of $AS --report executive -o "$W/executive.pdf"
run sheetsync report --as-of $AS --report weekly --html -o "$W/weekly.html"
run sheetsync export --as-of $AS --format xmind -o "$W/plan.xmind"
run sheetsync export --format json -o "$W/plan.json"
run sheetsync --config goals/sheetsync.toml validate
run sheetsync send --as-of $AS --dry-run --outbox "$W/outbox"
run sheetsync pull nosuchsource
cp sales_plan.xlsx before.xlsx
"$CO/.venv/bin/python" - <<'PY'
import openpyxl
wb = openpyxl.load_workbook("sales_plan.xlsx"); ws = wb[wb.sheetnames[1]]
for row in ws.iter_rows(min_row=2, max_row=4):
    for c in row:
        if isinstance(c.value, (int, float)) and not isinstance(c.value, bool):
            c.value = "lots"; break
wb.save("sales_plan.xlsx")
PY
run sheetsync validate
run sheetsync pull
run sheetsync diff
cp before.xlsx sales_plan.xlsx
run sheetsync report --as-of 1999-01-01
run sheetsync status --as-of notadate
for p in weekly executive; do pdftotext -layout "$W/$p.pdf" "$OUT/$p.txt" 2>/dev/null; done
cp "$W/weekly.html" "$OUT/" 2>/dev/null; cp "$W/plan.json" "$OUT/" 2>/dev/null
(cd "$W" && unzip -p plan.xmind content.json > "$OUT/plan.xmind.json" 2>/dev/null)
for e in "$W"/outbox/*/*.eml "$W"/outbox/*.eml; do [ -f "$e" ] || continue
  grep -v -E '^(Message-ID|Date|X-Sheetsync-Run):' "$e" | sed -E 's/boundary="?[^";]+"?/boundary=B/; s/=+[0-9]{8,}==/B/g' > "$OUT/eml_$(basename "$e")"; done
(cd "$W/outbox" && ls -R) > "$OUT/outbox.ls" 2>/dev/null
cmp -s "$W/s/sales_plan.xlsx" "$CO/samples/sales_plan.xlsx"; echo "workbook unchanged: $?" > "$OUT/workbook.cmp"
rm -rf "$W"
