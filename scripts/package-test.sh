#!/usr/bin/env bash
# Builds the Debian package (scripts/package.sh) and installs it into scratch roots, never into
# this system, then checks what a user gets:
#
#   bash scripts/package-test.sh       (as root: also dpkg --root with the maintainer scripts)
#
# 1. the package's control data: dependencies, conffiles, maintainer scripts;
# 2. `dpkg -x` into a scratch root: every file where it belongs with its mode, the installed
#    binary runs (--version, `config --check` on the installed configuration), the man pages
#    render without warnings, the bash completion completes a subcommand;
# 3. as root, `dpkg --root` into a second scratch root with its own dpkg database (the maintainer
#    scripts run chrootless against that root, DPKG_ROOT): installed, the conffiles recorded,
#    the postinst's `egress-ids` user in that root's /etc/passwd (once, after a second install);
#    a changed conffile survives `dpkg -r`, `dpkg -P` removes it. This system's /etc/passwd and
#    dpkg database are unchanged.
# 4. lintian (scripts/install-deps.sh installs it; it takes a few seconds): no error, no warning.
#
# Prints each check; exits 1 at the first that fails. Scratch roots are removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=$(mktemp -d /tmp/egress-ids-package.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
checks=0
ok() { checks=$((checks + 1)); echo "package-test: ok: $*"; }
fail() { echo "package-test: FAIL: $*" >&2; exit 1; }

deb=$(bash scripts/package.sh | tail -1)
[ -f "$deb" ] || fail "scripts/package.sh made no package"
ok "built $deb ($(du -k "$deb" | cut -f1) KiB)"

# 1. Control data.
depends=$(dpkg-deb -f "$deb" Depends)
for dep in libc6 libpcap0.8 passwd; do
  case ", $depends," in *", $dep "*|*", $dep,"*) ;; *) fail "Depends lacks $dep: $depends" ;; esac
done
ok "Depends: $depends"
dpkg-deb -e "$deb" "$scratch/control"
conffiles=$(cat "$scratch/control/conffiles")
for f in /etc/egress-ids/egress-ids.toml /etc/logrotate.d/egress-ids; do
  grep -qx "$f" <<<"$conffiles" || fail "$f is not a conffile: $conffiles"
done
ok "conffiles: $(tr '\n' ' ' <<<"$conffiles")"
for s in postinst prerm postrm; do
  [ -x "$scratch/control/$s" ] || fail "no executable $s"
  sh -n "$scratch/control/$s" || fail "$s is not valid sh"
done
ok "maintainer scripts postinst, prerm, postrm (sh -n)"

# 2. dpkg -x.
x=$scratch/x
dpkg -x "$deb" "$x"
expect_file() { # PATH MODE
  [ -f "$x$1" ] || fail "$1 is missing"
  mode=$(stat -c %a "$x$1")
  [ "$mode" = "$2" ] || fail "$1 has mode $mode, not $2"
}
expect_file /usr/bin/egress-ids 755
expect_file /lib/systemd/system/egress-ids.service 644
expect_file /etc/logrotate.d/egress-ids 644
expect_file /etc/egress-ids/egress-ids.toml 640
for sig in ioc-domains ioc-ips allow-domains allow-ips doh-endpoints; do
  expect_file "/usr/share/egress-ids/signatures/$sig.txt" 644
done
expect_file /usr/share/bash-completion/completions/egress-ids 644
expect_file /usr/share/zsh/vendor-completions/_egress-ids 644
expect_file /usr/share/fish/vendor_completions.d/egress-ids.fish 644
expect_file /usr/share/doc/egress-ids/copyright 644
expect_file /usr/share/doc/egress-ids/changelog.Debian.gz 644
expect_file /usr/share/lintian/overrides/egress-ids 644
expect_file /usr/share/doc/egress-ids/examples/shipping/vector.toml 644
expect_file /usr/share/doc/egress-ids/examples/shipping/filebeat.yml 644
bin=$x/usr/bin/egress-ids
subcommands=$("$bin" --help | awk '/^Commands:/ {on=1; next} on && /^  [a-z]/ {print $1} on && /^$/ {exit}' | grep -vx help)
[ "$(wc -l <<<"$subcommands")" -ge 5 ] || fail "no subcommands in --help: $subcommands"
expect_file /usr/share/man/man1/egress-ids.1.gz 644
for sub in $subcommands; do expect_file "/usr/share/man/man1/egress-ids-$sub.1.gz" 644; done
ok "dpkg -x: $(find "$x" -type f | wc -l) files in place with their modes"
unit=$x/lib/systemd/system/egress-ids.service
grep -qx 'ExecStart=/usr/bin/egress-ids daemon --config /etc/egress-ids/egress-ids.toml' "$unit" ||
  fail "the unit's ExecStart is not the packaged binary and configuration"
ok "the unit starts /usr/bin/egress-ids with /etc/egress-ids/egress-ids.toml"
version=$("$bin" --version)
[ "$version" = "egress-ids $(dpkg-deb -f "$deb" Version | sed 's/-[^-]*$//')" ] || fail "--version says '$version'"
ok "the installed binary runs: $version"
check=$("$bin" config --check "$x/etc/egress-ids/egress-ids.toml" 2>"$scratch/check.err") ||
  fail "config --check on the installed configuration: $(cat "$scratch/check.err")"
grep -qx 'user = "egress-ids"' "$x/etc/egress-ids/egress-ids.toml" || fail "the configuration does not run as egress-ids"
ok "config --check on the installed configuration: $check (stderr: $(tr '\n' ' ' <"$scratch/check.err"))"
for page in "$x"/usr/share/man/man1/*.1.gz; do
  warnings=$(LC_ALL=C.UTF-8 MANPAGER=cat MANWIDTH=100 man --warnings -l "$page" 2>&1 >/dev/null)
  [ -z "$warnings" ] || fail "$(basename "$page"): $warnings"
done
main_page=$(LC_ALL=C.UTF-8 MANPAGER=cat MANWIDTH=100 man -l "$x/usr/share/man/man1/egress-ids.1.gz")
for sub in $subcommands; do
  grep -q "egress-ids-$sub(1)" <<<"$main_page" || fail "egress-ids(1) does not name $sub"
done
ok "man: $(ls "$x"/usr/share/man/man1 | wc -l) pages render without warnings; egress-ids(1) names $(tr '\n' ' ' <<<"$subcommands")"
reply=$(bash --norc -c '
  source "$1"
  COMP_WORDS=(egress-ids re); COMP_CWORD=1
  _egress__ids egress-ids re egress-ids
  echo "${COMPREPLY[*]}"' _ "$x/usr/share/bash-completion/completions/egress-ids")
[ "$reply" = replay ] || fail "bash completes 'egress-ids re' to '$reply'"
ok "bash completion: 'egress-ids re' completes to replay"

# 3. dpkg --root, as root only (dpkg wants to own what it installs).
if [ "$(id -u)" -ne 0 ]; then
  [ "${CI:-}" != true ] || fail "CI runs as root: the dpkg --root install must run"
  echo "package-test: NOTE: not root: dpkg --root skipped" >&2
else
  r=$scratch/root
  mkdir -p "$r/var/lib/dpkg/info" "$r/var/lib/dpkg/updates" "$r/var/log" "$r/etc"
  touch "$r/var/lib/dpkg/status"
  # The accounts files useradd --prefix edits (the postinst), as a fresh system has them.
  printf 'root:x:0:0:root:/root:/bin/sh\n' >"$r/etc/passwd"
  printf 'root:x:0:\n' >"$r/etc/group"
  printf 'root:*:19000:0:99999:7:::\n' >"$r/etc/shadow"
  printf 'root:*::\n' >"$r/etc/gshadow"
  chmod 640 "$r/etc/shadow" "$r/etc/gshadow"
  before=$(md5sum /etc/passwd /etc/group /var/lib/dpkg/status)
  # --force-depends: the scratch database knows no libc6 or libpcap0.8 (this system has them).
  dpkg_root() { dpkg --root="$r" --force-script-chrootless --force-depends --log=/dev/null "$@"; }
  dpkg_root -i "$deb" >"$scratch/dpkg-i.log" 2>&1 || fail "dpkg --root -i: $(cat "$scratch/dpkg-i.log")"
  status=$(dpkg --root="$r" -s egress-ids)
  grep -qx 'Status: install ok installed' <<<"$status" || fail "not installed: $status"
  for f in /etc/egress-ids/egress-ids.toml /etc/logrotate.d/egress-ids; do
    grep -q "^ $f [0-9a-f]\{32\}$" <<<"$status" || fail "dpkg did not record $f as a conffile"
  done
  ok "dpkg --root -i: installed, both conffiles recorded with their checksums"
  grep -q '^egress-ids:x:[0-9]*:[0-9]*::/nonexistent:/usr/sbin/nologin$' "$r/etc/passwd" ||
    fail "the postinst made no egress-ids user in the scratch root: $(cat "$r/etc/passwd")"
  grep -q '^egress-ids:x:' "$r/etc/group" || fail "no egress-ids group in the scratch root"
  ok "postinst: system user $(grep '^egress-ids:' "$r/etc/passwd") in the scratch root"
  [ -x "$r/usr/bin/egress-ids" ] && [ "$(dpkg --root="$r" -L egress-ids | grep -c .)" -gt 30 ] ||
    fail "dpkg -L lists too little"
  # Installed again (as an upgrade would): the postinst finds the user and makes no second one.
  dpkg_root -i "$deb" >"$scratch/dpkg-i2.log" 2>&1 || fail "dpkg --root -i, again: $(cat "$scratch/dpkg-i2.log")"
  [ "$(grep -c '^egress-ids:' "$r/etc/passwd")" -eq 1 ] || fail "a second egress-ids user"
  ok "dpkg --root -i again: configured, still one egress-ids user"
  echo '# changed by the admin' >>"$r/etc/egress-ids/egress-ids.toml"
  dpkg_root -r egress-ids >"$scratch/dpkg-r.log" 2>&1 || fail "dpkg -r: $(cat "$scratch/dpkg-r.log")"
  [ ! -e "$r/usr/bin/egress-ids" ] || fail "dpkg -r left the binary"
  tail -1 "$r/etc/egress-ids/egress-ids.toml" | grep -q 'changed by the admin' ||
    fail "dpkg -r did not keep the changed conffile"
  ok "dpkg --root -r: binary gone, the changed configuration kept"
  dpkg_root -P egress-ids >"$scratch/dpkg-p.log" 2>&1 || fail "dpkg -P: $(cat "$scratch/dpkg-p.log")"
  [ ! -e "$r/etc/egress-ids/egress-ids.toml" ] || fail "dpkg -P left the configuration"
  ok "dpkg --root -P: the configuration purged"
  after=$(md5sum /etc/passwd /etc/group /var/lib/dpkg/status)
  [ "$before" = "$after" ] || fail "this system's accounts or dpkg database changed"
  ok "this system's /etc/passwd, /etc/group and dpkg database unchanged"
fi

# 4. lintian. Root is fine for it here (a scratch copy of a package we built).
if command -v lintian >/dev/null; then
  lintian --tag-display-limit 0 "$deb" 2>&1 | grep -v '^running with root privileges' >"$scratch/lintian.log" || true
  tags=$(grep -c '^[EW]:' "$scratch/lintian.log" || true)
  sed 's/^/  lintian: /' "$scratch/lintian.log"
  [ "$tags" -eq 0 ] || fail "lintian: $tags errors or warnings"
  ok "lintian $(lintian --print-version): no error, no warning ($(grep -c '' contrib/debian/lintian-overrides) lines of overrides)"
else
  [ "${CI:-}" != true ] || fail "lintian is missing (scripts/install-deps.sh installs it)"
  echo "package-test: NOTE: lintian is not installed: skipped"
fi
echo "package-test: $checks checks passed"
