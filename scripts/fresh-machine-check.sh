#!/usr/bin/env bash
# Does a fresh Debian machine pass `make test` with nothing done by hand?
#
# Builds a clean chroot of this machine's Debian release from the distribution's own packages
# (mmdebstrap, or debootstrap), copies the checkout in (tracked and new files, no .venv), installs
# only `make`, and runs `make test` there as root: the Makefile must install everything else.
# Not part of `make test` (it downloads ~1 GB and takes a long time). Run as root:
#
#   scripts/fresh-machine-check.sh [--keep] [--dir DIR] [-- PYTEST_ARGS...]
#
#   --keep     keep the chroot afterwards (for a look inside); otherwise it is removed
#   --dir DIR  build the chroot in DIR (default: a new directory under /var/tmp)
#   PYTEST_ARGS are passed to `make test PYTEST_ARGS=...` (e.g. -- -x -q tests/test_broker.py)
#
# The mirror is taken from this machine's apt sources (deb822 *.sources and one-line *.list), so the
# chroot uses the same Debian mirror as the host. Exit status: that of `make test`.
set -euo pipefail

keep=0
dir=""
pytest_args=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --keep) keep=1; shift ;;
    --dir) dir="$2"; shift 2 ;;
    --) shift; pytest_args="$*"; break ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "fresh-machine-check: unknown argument $1" >&2; exit 2 ;;
  esac
done

if [[ $(id -u) -ne 0 ]]; then
  echo "fresh-machine-check: run as root (it builds a chroot)" >&2
  exit 2
fi

checkout=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck disable=SC1091
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
if [[ -z "$codename" ]]; then
  echo "fresh-machine-check: /etc/os-release names no release codename" >&2
  exit 2
fi

# The host's Debian sources for this release (codename, -updates, -security), as one-line entries.
debian_sources() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f "$f" ]] || continue
    awk -v c="$codename" '$1 == "deb" {
        i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
        if ($(i+1) == c || index($(i+1), c "-") == 1) { line = "deb " $i; for (j = i+1; j <= NF; j++) line = line " " $j; print line }
      }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f "$f" ]] || continue
    # deb822 stanzas: Types, URIs, Suites, Components (blank line separates stanzas).
    awk -v c="$codename" '
      function flush() {
        if (types ~ /(^| )deb( |$)/ && uris != "") {
          n = split(uris, u, " "); m = split(suites, s, " ")
          for (a = 1; a <= n; a++) for (b = 1; b <= m; b++)
            if (s[b] == c || index(s[b], c "-") == 1) print "deb " u[a] " " s[b] " " comps
        }
        types = uris = suites = comps = ""
      }
      /^[[:space:]]*$/ { flush(); next }
      /^#/ { next }
      tolower($1) == "types:" { $1 = ""; types = substr($0, 2) }
      tolower($1) == "uris:" { $1 = ""; uris = substr($0, 2) }
      tolower($1) == "suites:" { $1 = ""; suites = substr($0, 2) }
      tolower($1) == "components:" { $1 = ""; comps = substr($0, 2) }
      END { flush() }' "$f"
  done
}
mapfile -t sources < <(debian_sources | awk '!seen[$0]++')
if [[ ${#sources[@]} -eq 0 ]]; then
  echo "fresh-machine-check: no Debian '$codename' entry in /etc/apt/sources.list*" >&2
  exit 2
fi

[[ -n "$dir" ]] || dir=$(mktemp -d /var/tmp/motcua-fresh.XXXXXX)
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
echo "fresh-machine-check: $codename chroot in $dir from:"
printf '  %s\n' "${sources[@]}"

mounted=()
cleanup() {
  local status=$? pid root i
  # Anything still running inside (a broker a test left, a daemon) would hold the mounts.
  for pid in /proc/[0-9]*; do
    root=$(readlink "$pid/root" 2>/dev/null || true)
    if [[ "$root" == "$dir" ]]; then kill -9 "${pid#/proc/}" 2>/dev/null || true; fi
  done
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount -R "${mounted[i]}" 2>/dev/null || umount -lR "${mounted[i]}" 2>/dev/null || true
  done
  if [[ $keep -eq 0 ]]; then
    # Never delete through a mount point that is still there (it would reach the host's /dev).
    if findmnt -rn -o TARGET | grep -q "^$dir/"; then
      echo "fresh-machine-check: mounts remain under $dir; not removing it" >&2
    else
      rm -rf --one-file-system "$dir"
    fi
  else
    echo "fresh-machine-check: chroot kept in $dir"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if command -v mmdebstrap >/dev/null; then
  # minbase: essential + apt, like the smallest Debian install; `make` is the one thing we add.
  mmdebstrap --mode=root --variant=minbase --include=make "$codename" "$dir" "${sources[@]}"
elif command -v debootstrap >/dev/null; then
  read -r _ mirror _ <<<"${sources[0]}"
  debootstrap --variant=minbase --include=make "$codename" "$dir" "$mirror"
  printf '%s\n' "${sources[@]}" >"$dir/etc/apt/sources.list"
else
  echo "fresh-machine-check: needs mmdebstrap or debootstrap (apt-get install mmdebstrap)" >&2
  exit 2
fi

cp /etc/resolv.conf "$dir/etc/resolv.conf"
# What the Debian installer writes and a bootstrap does not: without it "localhost" does not resolve
# (mosquitto_rr's default host, chromedriver's address).
if [[ ! -s "$dir/etc/hosts" ]]; then
  printf '127.0.0.1\tlocalhost\n127.0.1.1\tmotcua-fresh\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$dir/etc/hosts"
  echo motcua-fresh >"$dir/etc/hostname"
fi
# This network's own settings, as any machine on it would have them: certificate authorities the
# site added (a TLS-inspecting proxy), pip's site-wide config, proxy and CA-bundle variables. Nothing
# of the project: `make test` must install that itself.
if compgen -G "/usr/local/share/ca-certificates/*" >/dev/null; then
  mkdir -p "$dir/usr/local/share/ca-certificates"
  cp -r /usr/local/share/ca-certificates/. "$dir/usr/local/share/ca-certificates/"
fi
[[ -f /etc/pip.conf ]] && cp /etc/pip.conf "$dir/etc/pip.conf"
site_env=()
for name in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY \
            PIP_CERT REQUESTS_CA_BUNDLE SSL_CERT_FILE SSL_CERT_DIR; do
  [[ -n "${!name:-}" ]] && site_env+=("$name=${!name}")
done
# A package's maintainer script must not start its service (a second mosquitto on :1883) inside.
printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
chmod +x "$dir/usr/sbin/policy-rc.d"

for m in proc sys dev; do
  mkdir -p "$dir/$m"
done
mount -t proc proc "$dir/proc"; mounted+=("$dir/proc")
mount --rbind /sys "$dir/sys"; mount --make-rslave "$dir/sys"; mounted+=("$dir/sys")
mount --rbind /dev "$dir/dev"; mount --make-rslave "$dir/dev"; mounted+=("$dir/dev")
mkdir -p "$dir/tmp" && chmod 1777 "$dir/tmp"

# The checkout as a newcomer's clone would have it plus uncommitted work: tracked and new files.
mkdir -p "$dir/root/motcua"
(cd "$checkout" && git ls-files -z --cached --others --exclude-standard \
  | while IFS= read -r -d '' f; do [[ -e "$f" ]] && printf '%s\0' "$f"; done \
  | tar --null -T - -cf -) | tar -C "$dir/root/motcua" -xf -

echo "fresh-machine-check: make test in the chroot ($(date -u +%H:%M:%S) UTC)"
set +e
chroot "$dir" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "${site_env[@]}" \
  /bin/bash -c 'cd /root/motcua && make test PYTEST_ARGS="$1"' _ "$pytest_args"
status=$?
set -e
echo "fresh-machine-check: make test exited $status ($(date -u +%H:%M:%S) UTC)"
exit "$status"
