"""Read `mutmut results --all true` on stdin; print the score per module.

Usage: mutmut results --all true | python scripts/mutation_score.py docs/mutation.md

The equivalent mutants are the `sheetsync.<module>.x_<function>__mutmut_<n>` names in
backticks at the start of a list item in the given markdown file (under any heading but
"Deferred"). Functions listed under the "## Deferred" heading (code being rewritten
elsewhere; none at present) are scored apart: each module's line gives the score with and
without them. A mutant that makes the tests hang (timeout) counts as killed. Exit status 1
when a module is below 90 % of its non-equivalent mutants killed (deferred ones left out).
"""

from __future__ import annotations

import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

TARGET = 0.90


def main() -> int:
    doc = Path(sys.argv[1]).read_text(encoding="utf-8") if len(sys.argv) > 1 else ""
    main_part, _, deferred_part = doc.partition("## Deferred")
    equivalent = set(re.findall(r"^\s*[-*] `([\w.ǁ]+__mutmut_\d+)`", main_part, flags=re.M))
    deferred = tuple(re.findall(r"^\s*[-*] `([\w.ǁ]+)`", deferred_part, flags=re.M))
    status: dict[str, Counter] = defaultdict(Counter)
    survivors: dict[str, list[str]] = defaultdict(list)
    for line in sys.stdin:
        name, _, state = line.strip().rpartition(": ")
        if not name.startswith("sheetsync."):
            continue
        module = name.split(".x")[0]
        if name in equivalent:
            state = "equivalent"
        elif state == "timeout":
            state = "killed"  # the tests did not pass
        later = bool(deferred) and name.startswith(deferred)
        status[module][state] += 1
        status[module + " (deferred)"][state] += later
        if state in ("survived", "no tests", "not checked"):
            survivors[module].append(f"{name} ({state}{', deferred' if later else ''})")
    worst = 0
    for module, counts in sorted(status.items()):
        if module.endswith("(deferred)"):
            continue
        later = status[module + " (deferred)"]
        counted = sum(counts.values()) - counts["equivalent"]
        killed = counts["killed"]
        score = killed / counted if counted else 1.0
        own = counted - (sum(later.values()) - later["equivalent"])
        own_killed = killed - later["killed"]
        own_score = own_killed / own if own else 1.0
        detail = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()) if v)
        print(f"{module}: {killed}/{counted} non-equivalent mutants killed = {score:.1%} ({detail})")
        if own != counted:
            print(f"    without the deferred functions: {own_killed}/{own} = {own_score:.1%}")
        for s in survivors[module]:
            print(f"    {s}")
        worst = worst or int(own_score < TARGET)
    if not status:
        print("no mutmut results: run bash scripts/mutation.sh first")
        return 1
    return worst


if __name__ == "__main__":
    sys.exit(main())
