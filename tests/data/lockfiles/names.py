#!/usr/bin/env python3
"""An independent reading of the package names of a yarn.lock or pnpm-lock.yaml, for
tests/inventory.rs to compare with `egress-ids inventory build`: PyYAML for the YAML formats
(another parser than egress-ids' yaml-rust2), and for yarn 1 the registry tarball URLs
(`resolved "https://registry.yarnpkg.com/NAME/-/FILE.tgz"`), not the entry headers egress-ids
reads. Prints the names, sorted, one per line."""
import re, sys, yaml

path = sys.argv[1]
text = open(path, encoding="utf-8").read()
names = set()
if path.endswith("yarn.lock") and "__metadata:" not in text:
    for url in re.findall(r'^  resolved "https?://[^/]+/(.+?)/-/', text, re.M):
        names.add(url)
elif path.endswith("yarn.lock"):
    for key, entry in yaml.safe_load(text).items():
        if key == "__metadata":
            continue
        res = entry["resolution"]
        at = res.index("@", 1)
        if not res[at + 1:].startswith(("workspace:", "link:", "portal:", "file:")):
            names.add(res[:at])
else:
    doc = yaml.safe_load(text)
    v5 = str(doc["lockfileVersion"]).startswith("5")
    for key, entry in (doc.get("packages") or {}).items():
        if entry and "name" in entry:
            names.add(entry["name"])
            continue
        key = key.lstrip("/").split("(")[0]
        if v5:
            parts = key.split("/")
            names.add("/".join(parts[:2]) if key.startswith("@") else parts[0])
        else:
            names.add(key[: key.index("@", 1)])
print("\n".join(sorted(names)))
