#!/bin/sh
# backapp installer: installs or upgrades the backapp binary and runs it as a service.
#
#   curl -fsSL https://RELEASE-BASE/install.sh | sh                       (with BACKAPP_URL=RELEASE-BASE)
#   curl -fsSL https://RELEASE-BASE/install.sh | sh -s -- --url https://RELEASE-BASE
#   sh install.sh --binary dist/backapp-linux-x64                         (from a checkout)
#
# A re-run upgrades in place: the service is stopped, the old binary kept as backapp.previous, the
# new one swapped in atomically and started; if it does not answer /healthz in time, the old one is
# put back and started again. The service definition comes from the binary (`backapp service`).
set -eu

usage() {
  cat <<'EOF'
Usage: sh install.sh [--url BASE | --binary FILE] [OPTIONS]
       sh install.sh --uninstall [--purge] [--system|--user] [--prefix DIR] [--dry-run]

  --url BASE       download backapp-<os>-<arch> and SHA256SUMS from BASE, verify the checksum
                   (or env BACKAPP_URL)
  --binary FILE    install this file (checked against a SHA256SUMS beside it, if there is one)
  --prefix DIR     install directory (default /usr/local/bin as root, ~/.local/bin otherwise)
  --system         system service started at boot, data in /var/lib/backapp (default as root)
  --user           this user's service, data in the user's data dir (default otherwise)
  --listen H:P     address of the web UI (default 127.0.0.1:8080, or what the installed service uses)
  --data-dir DIR   the service's data dir (default: as above, or what the installed service uses)
  --no-start       install (or upgrade) without starting the service
  --timeout SECS   how long the new server gets to answer /healthz (default 30; env BACKAPP_HEALTH_TIMEOUT)
  --dry-run        print every action and change nothing
  --uninstall      stop and remove the service and the binary; keep the data
  --purge          with --uninstall: delete the data dir too
  -h, --help       this help
EOF
}

url="${BACKAPP_URL:-}"
binary=""
prefix=""
scope=""
listen=""
data_dir=""
start=1
dry_run=0
uninstall=0
purge=0
timeout="${BACKAPP_HEALTH_TIMEOUT:-30}"

say() { echo "backapp install: $*"; }
die() { echo "backapp install: $*" >&2; exit 1; }
need_value() {
  if [ $# -lt 2 ] || [ -z "$2" ]; then echo "backapp install: $1 needs a value" >&2; exit 2; fi
}

while [ $# -gt 0 ]; do
  case "$1" in
    --url) need_value "$@"; url="$2"; shift 2 ;;
    --binary) need_value "$@"; binary="$2"; shift 2 ;;
    --prefix) need_value "$@"; prefix="$2"; shift 2 ;;
    --listen) need_value "$@"; listen="$2"; shift 2 ;;
    --data-dir) need_value "$@"; data_dir="$2"; shift 2 ;;
    --timeout) need_value "$@"; timeout="$2"; shift 2 ;;
    --system) scope=system; shift ;;
    --user) scope=user; shift ;;
    --no-start) start=0; shift ;;
    --dry-run) dry_run=1; shift ;;
    --uninstall) uninstall=1; shift ;;
    --purge) purge=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "backapp install: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done
[ "$purge" = 0 ] || [ "$uninstall" = 1 ] || { echo "backapp install: --purge goes with --uninstall" >&2; exit 2; }
case "$timeout" in ''|*[!0-9]*) echo "backapp install: --timeout needs whole seconds" >&2; exit 2 ;; esac

# Every change goes through act: --dry-run prints it instead.
act() {
  if [ "$dry_run" = 1 ]; then echo "would run: $*"; else "$@"; fi
}

if [ "$(id -u)" = 0 ]; then
  : "${scope:=system}"; : "${prefix:=/usr/local/bin}"
else
  : "${scope:=user}"; : "${prefix:=$HOME/.local/bin}"
fi
target="$prefix/backapp"
previous="$prefix/backapp.previous"

# One line of `backapp service status`, e.g. field "data dir".
status_field() {
  "$1" service status "--$scope" 2>/dev/null | sed -n "s/^$2: //p" | head -n 1
}

do_uninstall() {
  [ -x "$target" ] || die "backapp is not installed at $target (give --prefix)"
  [ -n "$data_dir" ] || data_dir="$(status_field "$target" "data dir")"
  if [ "$dry_run" = 1 ]; then
    "$target" service uninstall "--$scope" --dry-run
  else
    "$target" service uninstall "--$scope" >/dev/null
  fi
  act rm -f "$target" "$previous"
  if [ "$dry_run" = 1 ]; then
    [ "$purge" = 0 ] || echo "would run: rm -rf $data_dir"
    say "dry run: nothing was changed"
  elif [ "$purge" = 1 ]; then
    case "$data_dir" in ''|/|"$HOME") die "refusing to delete data dir '$data_dir'" ;; esac
    rm -rf "$data_dir"
    say "removed backapp, its service and its data ($data_dir)"
  else
    say "removed backapp and its service; your data stays in $data_dir (delete it with --uninstall --purge)"
  fi
}

if [ "$uninstall" = 1 ]; then do_uninstall; exit 0; fi

case "$(uname -s)" in
  Linux) os=linux ;;
  Darwin) os=darwin ;;
  *) die "unsupported OS $(uname -s): backapp runs on Linux and macOS" ;;
esac
case "$(uname -m)" in
  x86_64|amd64) arch=x64 ;;
  aarch64|arm64) arch=arm64 ;;
  *) die "unsupported CPU $(uname -m): backapp is built for x64 and arm64" ;;
esac
name="backapp-$os-$arch"

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1; else shasum -a 256 "$1" | cut -d' ' -f1; fi
}

# The checksum listed for $2 in SHA256SUMS file $1, or nothing.
listed_sum() { awk -v n="$2" '$2 == n || $2 == "*" n { print $1 }' "$1"; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT INT TERM
new="$tmp/backapp"

if [ -n "$binary" ]; then
  [ -f "$binary" ] || die "no such file: $binary"
  cp "$binary" "$new"
  sums="$(dirname "$binary")/SHA256SUMS"
  if [ -f "$sums" ]; then
    expected="$(listed_sum "$sums" "$(basename "$binary")")"
    [ -z "$expected" ] || [ "$expected" = "$(sha256 "$new")" ] ||
      die "checksum mismatch for $binary (SHA256SUMS says $expected): refusing to install"
  fi
else
  [ -n "$url" ] || die "give --url BASE (or BACKAPP_URL) to download, or --binary FILE"
  command -v curl >/dev/null 2>&1 || die "curl is needed to download (or give --binary FILE)"
  url="${url%/}"
  curl -fsSL "$url/$name" -o "$new" || die "download of $url/$name failed"
  curl -fsSL "$url/SHA256SUMS" -o "$tmp/SHA256SUMS" || die "download of $url/SHA256SUMS failed"
  expected="$(listed_sum "$tmp/SHA256SUMS" "$name")"
  [ -n "$expected" ] || die "$url/SHA256SUMS has no entry for $name"
  actual="$(sha256 "$new")"
  [ "$expected" = "$actual" ] ||
    die "checksum mismatch for $name: SHA256SUMS says $expected, the download is $actual; refusing to install"
fi

chmod 0755 "$new"
new_version="$("$new" --version 2>/dev/null)" || die "the new binary does not run on this machine ($name)"

# Copies $1 over $2 atomically: a copy beside $2, then a rename (same file system).
swap_in() {
  act cp -p "$1" "$2.new.$$"
  act mv -f "$2.new.$$" "$2"
}

service_flags() {
  set -- "--$scope" --exec "$target"
  [ -z "$listen" ] || set -- "$@" --listen "$listen"
  [ -z "$data_dir" ] || set -- "$@" --data-dir "$data_dir"
  echo "$@"
}

# The server answers /healthz as the expected version within the timeout.
healthy() {
  "$target" service status "--$scope" --wait "$timeout" 2>/dev/null | grep -qF "healthz: ok ${1#backapp }"
}

manager_up() { ! "$1" service status "--$scope" 2>/dev/null | grep -q "not running here"; }

act mkdir -p "$prefix"
case ":$PATH:" in
  *":$prefix:"*) ;;
  *) say "note: $prefix is not on your PATH; add it (e.g. in ~/.profile: export PATH=\"$prefix:\$PATH\")" ;;
esac
upgrade=0
old_version=""
if [ -x "$target" ]; then
  upgrade=1
  old_version="$("$target" --version 2>/dev/null || echo "an unknown version")"
  if "$target" service status "--$scope" >/dev/null 2>&1; then
    say "stopping the running $old_version"
    act "$target" service stop "--$scope"
  fi
  if [ "$old_version" = "$new_version" ]; then change="reinstalling $new_version"; else change="upgrading $old_version to $new_version"; fi
  say "$change; the old binary is kept as $previous"
  swap_in "$target" "$previous"
else
  say "installing $new_version to $target"
fi
swap_in "$new" "$target"

# shellcheck disable=SC2046 # service_flags is a list of words without spaces in them
if [ "$dry_run" = 1 ]; then
  "$new" service install --dry-run $(service_flags)
  say "dry run: nothing was changed"
  exit 0
fi
# shellcheck disable=SC2046
"$target" service install $(service_flags) >/dev/null || die "could not install the service"

if ! manager_up "$target"; then
  say "the service manager is not running here, so the service is installed but not started;"
  say "start the server with: $target serve --listen $(status_field "$target" listen) --data-dir $(status_field "$target" "data dir")"
  exit 0
fi
if [ "$start" = 0 ]; then
  say "installed without starting (--no-start); start it with: $target service start --$scope"
  exit 0
fi

"$target" service start "--$scope" || true
if ! healthy "$new_version"; then
  logs="$(status_field "$target" logs)"
  if [ "$upgrade" = 0 ]; then
    die "$new_version did not answer on /healthz within ${timeout}s; see: $logs"
  fi
  say "$new_version did not answer on /healthz within ${timeout}s: rolling back to $old_version"
  "$target" service stop "--$scope" || true
  swap_in "$previous" "$target"
  # shellcheck disable=SC2046
  "$target" service install $(service_flags) >/dev/null || true
  "$target" service start "--$scope" || true
  if healthy "$old_version"; then
    die "rolled back: $old_version is running again; $new_version failed its health check (see: $logs)"
  fi
  die "rolled back to $old_version, but it does not answer either; see: $logs"
fi

url_now="$(status_field "$target" url)"
say "$new_version is running at $url_now"
if token="$("$target" setup-token --data-dir "$(status_field "$target" "data dir")" 2>/dev/null)"; then
  say "first run: open $url_now/setup and enter the setup token $token"
else
  say "sign in at $url_now"
fi
if [ "$scope" = user ] && [ "$os" = linux ]; then
  say "to keep it running at boot without logging in: loginctl enable-linger $(id -un)"
fi
