"""Read `mutmut results --all true` on stdin; print the score per module.

Usage: mutmut results --all true | python scripts/mutation_score.py docs/mutation.md

The equivalent mutants are the `sheetsync.<module>.x_<function>__mutmut_<n>` names in
backticks at the start of a list item in the given markdown file. Exit status 1 when a
module is below 90 % of its non-equivalent mutants killed.
"""

from __future__ import annotations

import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

TARGET = 0.90


def main() -> int:
    doc = Path(sys.argv[1]).read_text(encoding="utf-8") if len(sys.argv) > 1 else ""
    equivalent = set(re.findall(r"^\s*[-*] `([\w.ǁ]+__mutmut_\d+)`", doc, flags=re.M))
    status: dict[str, Counter] = defaultdict(Counter)
    survivors: dict[str, list[str]] = defaultdict(list)
    for line in sys.stdin:
        name, _, state = line.strip().rpartition(": ")
        if not name.startswith("sheetsync."):
            continue
        module = name.split(".x")[0]
        if name in equivalent:
            state = "equivalent"
        status[module][state] += 1
        if state in ("survived", "no tests", "not checked", "timeout"):
            survivors[module].append(f"{name} ({state})")
    worst = 0
    for module, counts in sorted(status.items()):
        counted = sum(counts.values()) - counts["equivalent"]
        killed = counts["killed"]
        score = killed / counted if counted else 1.0
        detail = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        print(f"{module}: {killed}/{counted} non-equivalent mutants killed = {score:.1%} ({detail})")
        for s in survivors[module]:
            print(f"    {s}")
        worst = worst or int(score < TARGET)
    if not status:
        print("no mutmut results: run bash scripts/mutation.sh first")
        return 1
    return worst


if __name__ == "__main__":
    sys.exit(main())
