#!/bin/sh
# backapp installer: puts the binary for this OS/CPU on the PATH and, with --service, sets up a
# systemd unit (Linux) or a launchd agent (macOS) serving the web UI on 127.0.0.1:8080.
#
#   sh install.sh --url https://example.org/backapp/v0.1.0     (downloads backapp-<os>-<arch> + SHA256SUMS)
#   sh install.sh --binary ./dist/backapp-linux-x64             (installs a local file)
#
# Options:
#   --url BASE        where backapp-<os>-<arch> and SHA256SUMS can be downloaded (or env BACKAPP_URL)
#   --binary FILE     install this file instead of downloading
#   --prefix DIR      install directory (default /usr/local/bin as root, ~/.local/bin otherwise)
#   --service         also install and start a service (systemd or launchd)
#   --listen H:P      listen address for the service (default 127.0.0.1:8080)
#   --data-dir DIR    data directory for the service (default: backapp's platform default)
#   --dry-run         print what would be done
set -eu

url="${BACKAPP_URL:-}"
binary=""
prefix=""
service=0
listen="127.0.0.1:8080"
data_dir=""
dry_run=0

die() { echo "install.sh: $*" >&2; exit 1; }
run() { if [ "$dry_run" = 1 ]; then echo "+ $*"; else "$@"; fi; }

while [ $# -gt 0 ]; do
  case "$1" in
    --url) url="${2:?--url needs a value}"; shift 2 ;;
    --binary) binary="${2:?--binary needs a value}"; shift 2 ;;
    --prefix) prefix="${2:?--prefix needs a value}"; shift 2 ;;
    --service) service=1; shift ;;
    --listen) listen="${2:?--listen needs a value}"; shift 2 ;;
    --data-dir) data_dir="${2:?--data-dir needs a value}"; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

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

if [ -z "$prefix" ]; then
  if [ "$(id -u)" = 0 ]; then prefix=/usr/local/bin; else prefix="$HOME/.local/bin"; fi
fi

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1; else shasum -a 256 "$1" | cut -d' ' -f1; fi
}

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT INT TERM

if [ -n "$binary" ]; then
  [ -f "$binary" ] || die "no such file: $binary"
  cp "$binary" "$tmp/backapp"
  sums="$(dirname "$binary")/SHA256SUMS"
  if [ -f "$sums" ]; then
    expected="$(awk -v n="$(basename "$binary")" '$2 == n { print $1 }' "$sums")"
    [ -z "$expected" ] || [ "$expected" = "$(sha256 "$tmp/backapp")" ] || die "checksum mismatch for $binary"
  fi
else
  [ -n "$url" ] || die "give --url BASE (or BACKAPP_URL) to download, or --binary FILE"
  command -v curl >/dev/null 2>&1 || die "curl is needed to download"
  curl -fsSL "$url/$name" -o "$tmp/backapp" || die "download of $url/$name failed"
  curl -fsSL "$url/SHA256SUMS" -o "$tmp/SHA256SUMS" || die "download of $url/SHA256SUMS failed"
  expected="$(awk -v n="$name" '$2 == n { print $1 }' "$tmp/SHA256SUMS")"
  [ -n "$expected" ] || die "SHA256SUMS has no entry for $name"
  [ "$expected" = "$(sha256 "$tmp/backapp")" ] || die "checksum mismatch for $name: refusing to install"
fi

chmod 0755 "$tmp/backapp"
"$tmp/backapp" --version >/dev/null 2>&1 || die "the binary does not run on this machine"
run mkdir -p "$prefix"
run mv "$tmp/backapp" "$prefix/backapp"
echo "installed $("$prefix/backapp" --version 2>/dev/null || echo backapp) to $prefix/backapp"

[ "$service" = 1 ] || exit 0

data_flag=""
[ -z "$data_dir" ] || data_flag=" --data-dir $data_dir"
if [ "$os" = linux ]; then
  command -v systemctl >/dev/null 2>&1 || die "systemctl not found: start '$prefix/backapp serve' another way"
  if [ "$(id -u)" = 0 ]; then unit_dir=/etc/systemd/system; scope=""; else unit_dir="$HOME/.config/systemd/user"; scope="--user"; fi
  run mkdir -p "$unit_dir"
  unit="[Unit]
Description=backapp backup server
After=network-online.target

[Service]
ExecStart=$prefix/backapp serve --listen $listen$data_flag
Restart=on-failure
KillSignal=SIGTERM
TimeoutStopSec=60

[Install]
WantedBy=$([ -z "$scope" ] && echo multi-user.target || echo default.target)
"
  if [ "$dry_run" = 1 ]; then echo "+ write $unit_dir/backapp.service"; echo "$unit"; else printf '%s' "$unit" >"$unit_dir/backapp.service"; fi
  run systemctl $scope daemon-reload
  run systemctl $scope enable --now backapp.service
else
  agent_dir="$HOME/Library/LaunchAgents"
  plist="$agent_dir/org.backapp.server.plist"
  run mkdir -p "$agent_dir"
  args="<string>$prefix/backapp</string><string>serve</string><string>--listen</string><string>$listen</string>"
  [ -z "$data_dir" ] || args="$args<string>--data-dir</string><string>$data_dir</string>"
  content="<?xml version=\"1.0\" encoding=\"UTF-8\"?>
<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">
<plist version=\"1.0\"><dict>
<key>Label</key><string>org.backapp.server</string>
<key>ProgramArguments</key><array>$args</array>
<key>RunAtLoad</key><true/>
<key>KeepAlive</key><true/>
</dict></plist>
"
  if [ "$dry_run" = 1 ]; then echo "+ write $plist"; echo "$content"; else printf '%s' "$content" >"$plist"; fi
  run launchctl load -w "$plist"
fi
echo "service installed: open http://$listen"
