#!/usr/bin/env bash
# Makes the npm lockfiles of tests/data/lockfiles/npm-* with a real `npm install` against a
# local registry (../registry/serve.py on 127.0.0.1, the packages made here by `npm pack`): nothing is
# fetched from any other registry. Run by hand when they need remaking; tests/inventory.rs
# reads the committed results. Needs node, npm and python3.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'kill "${reg_pid:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/tgz"

# pkg NAME VERSION [DEPS-JSON]: a package packed into $work/tgz.
pkg() {
  local dir="$work/src/$1-$2"
  mkdir -p "$dir"
  printf '{"name":"%s","version":"%s","license":"MIT","dependencies":%s}\n' "$1" "$2" "${3:-{\}}" >"$dir/package.json"
  echo "module.exports = '$1@$2';" >"$dir/index.js"
  (cd "$dir" && npm pack --silent --pack-destination "$work/tgz" >/dev/null)
}
pkg shared 1.0.0
pkg shared 2.0.0
pkg a 1.0.0 '{"shared":"^2.0.0"}'
pkg b 1.0.0 '{"shared":"^1.0.0"}'
pkg @org/util 1.0.0
pkg form-data 4.0.0
pkg axios 1.14.0 '{"form-data":"^4.0.0"}'
# The compromised release pulls a package no organisation lockfile names.
pkg plain-crypto-js 4.2.1
pkg axios 1.14.1 '{"form-data":"^4.0.0","plain-crypto-js":"^4.2.1"}'

python3 "$here/../registry/serve.py" --dir "$work/tgz" --host 127.0.0.1 --port 0 \
  --port-file "$work/port" >"$work/registry.log" & reg_pid=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
registry="http://127.0.0.1:$(cat "$work/port")/"

# install DIR LOCKFILE-VERSION DEPS...: a real npm install; keeps package.json and the lockfile.
install() {
  local dir=$1 version=$2
  shift 2
  (cd "$dir" && HOME="$work/home" npm install --registry "$registry" --cache "$work/cache" \
      --no-audit --no-fund --no-update-notifier --lockfile-version "$version" "$@" >/dev/null)
  rm -rf "$dir/node_modules"
}

# The organisation's app: a workspace, a nested package (b's shared@1 under b), an npm: alias
# and a scoped package; lockfile v3 (npm 7+) and the same project as lockfile v1 (npm 5/6).
for version in 3 1; do
  dir="$here/npm-v$version-app"
  rm -rf "$dir" && mkdir -p "$dir/packages/w"
  printf '{"name":"app","version":"1.0.0","private":true,"workspaces":["packages/*"]}\n' >"$dir/package.json"
  printf '{"name":"w","version":"1.0.0","dependencies":{"@org/util":"^1.0.0"}}\n' >"$dir/packages/w/package.json"
  [ "$version" = 1 ] && printf '{"name":"app","version":"1.0.0","private":true}\n' >"$dir/package.json" && rm -rf "$dir/packages"
  install "$dir" "$version" a@1.0.0 b@1.0.0 my-shared@npm:shared@1.0.0 @org/util@1.0.0 axios@1.14.0
done

# A build whose lockfile names the compromised axios (lockfile v2: packages and dependencies).
dir="$here/npm-v2-compromised"
rm -rf "$dir" && mkdir -p "$dir"
printf '{"name":"victim","version":"1.0.0","private":true}\n' >"$dir/package.json"
install "$dir" 2 a@1.0.0 axios@1.14.1
sed -i "s#$registry#http://registry.invalid/#g" "$here"/npm-*/package-lock.json
echo "made: $(ls "$here"/npm-*/package-lock.json | tr '\n' ' ')"
