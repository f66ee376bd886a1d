#!/usr/bin/env bash
# Compares two snapshots written by scripts/eve-snapshot.sh, capture by capture and line by line:
#
#   bash scripts/eve-diff.sh BEFORE_DIR AFTER_DIR
#
# Prints every line that differs, and for each changed line says whether the only change is a
# `flow` event's `alerted` value (then it names the flow and the detections alerted on it).
# Exit 0 when the snapshots are identical, 1 when they differ (the listing says how).
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: bash scripts/eve-diff.sh BEFORE_DIR AFTER_DIR" >&2
  exit 2
fi
python3 - "$1" "$2" <<'PY'
import json, os, sys
before, after = sys.argv[1], sys.argv[2]
def files(root):
    return sorted(os.path.relpath(os.path.join(d, f), root)
                  for d, _, fs in os.walk(root) for f in fs)
a, b = files(before), files(after)
if a != b:
    print(f"different file sets: only before {sorted(set(a) - set(b))}, only after {sorted(set(b) - set(a))}")
    sys.exit(1)
changed = other = 0
for rel in a:
    x = open(os.path.join(before, rel)).read().splitlines()
    y = open(os.path.join(after, rel)).read().splitlines()
    if x == y:
        continue
    if not rel.endswith(".json") or len(x) != len(y):
        print(f"{rel}: differs ({len(x)} lines before, {len(y)} after)")
        other += 1
        continue
    events = [json.loads(l) for l in y]
    for old, new in zip(x, y):
        if old == new:
            continue
        o, n = json.loads(old), json.loads(new)
        only_alerted = (o.get("event_type") == "flow"
                        and {**o, "flow": {**o["flow"], "alerted": None}}
                        == {**n, "flow": {**n["flow"], "alerted": None}})
        if only_alerted:
            dets = [e["alert"]["metadata"]["detection"][0] for e in events
                    if e.get("event_type") == "alert" and e.get("flow_id") == n["flow_id"]]
            print(f"{rel}: flow {n['flow_id']} ({n['proto']} {n.get('app_proto', '-')}): "
                  f"alerted {json.dumps(o['flow']['alerted'])} -> {json.dumps(n['flow']['alerted'])}; alerts on the flow: {dets}")
            changed += 1
        else:
            print(f"{rel}: line differs\n  - {old}\n  + {new}")
            other += 1
print(f"eve-diff: {len(a)} files, {changed} lines differ only in flow.alerted, {other} other differences")
sys.exit(1 if changed or other else 0)
PY
