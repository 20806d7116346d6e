#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Try ftpfs in one command (as root, on Debian 12):
#
#     bash contrib/demo.sh
#
# Installs the dependencies (tests/deps.sh), builds ftpfs (build/), starts a
# pyftpdlib FTP server on 127.0.0.1 serving a small demo tree, mounts it at
# $DEMO_MNT (default /tmp/ftpfs-demo), shows it with ls and cat and writes
# to it (cp, sed -i, mv), showing the server's folder.  With a
# terminal it keeps the mount until you press Enter (or Ctrl-C); without
# one (or with DEMO_KEEP=0) it cleans up at once.  DEMO_KEEP=SECONDS keeps
# the mount that long.  Everything stays on 127.0.0.1 and is removed at the
# end: the mount, the server, the temp dir.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
DEMO_MNT=${DEMO_MNT:-/tmp/ftpfs-demo}
FTPFS=${FTPFS:-$repo/build/ftpfs}

if [ -t 1 ]; then
	say() { printf '\n\033[1m%s\033[0m\n' "$*"; }
else
	say() { printf '\n== %s\n' "$*"; }
fi
show() { # print a command, then run it
	printf '$ %s\n' "$*"
	"$@"
}

if [ "$(id -u)" -ne 0 ]; then
	echo "Run the demo as root: it installs packages and starts a local FTP server." >&2
	exit 1
fi

say "1. Dependencies (tests/deps.sh)"
bash tests/deps.sh

say "2. Build (meson, ninja: build/ftpfs)"
if [ ! -f build/build.ninja ]; then
	meson setup build >/dev/null
fi
ninja -C build ftpfs | tail -n 1

# shellcheck source=../tests/lib/servers.sh
. tests/lib/servers.sh
srv_init

say "3. A demo tree, served by pyftpdlib on 127.0.0.1"
data=$SRV_TMP/demo-data
mkdir -p "$data/docs" "$data/photos 2024" "$data/.config"
printf 'Hello from an FTP server, mounted with ftpfs.\n' >"$data/README.txt"
printf 'Files with spaces and ünïcødé names work too.\n' >"$data/docs/notes – ünïcødé.txt"
seq 1 1000 >"$data/docs/numbers.txt"
head -c 3000000 /dev/urandom >"$data/photos 2024/beach.jpg"
printf 'answer=42\n' >"$data/.config/settings"
ln -s README.txt "$data/LINK-TO-README"
chown -R "$SRV_USER": "$data"
srv_start pyftpdlib "$data"
port=$(srv_port pyftpdlib)

say "4. Mount it at $DEMO_MNT"
if srv_is_mounted "$DEMO_MNT"; then
	echo "$DEMO_MNT is already a mount point; set DEMO_MNT to another folder." >&2
	exit 1
fi
mkdir -p "$DEMO_MNT"
printf '$ echo PASSWORD | %s -o password_stdin %s %s\n' \
	"${FTPFS#"$repo"/}" "$(srv_url_nopass pyftpdlib)" "$DEMO_MNT"
(umask 077 && printf '%s\n' "$SRV_PASS" >"$SRV_TMP/password")
if ! FTPFS_MOUNT_STDIN=$SRV_TMP/password FTPFS_MOUNT_LOG=$SRV_TMP/ftpfs.log \
	ftpfs_mount "$FTPFS" "$DEMO_MNT" "$(srv_url_nopass pyftpdlib)" -o password_stdin; then
	echo "mount failed (exit $FTPFS_MOUNT_RC):" >&2
	cat "$SRV_TMP/ftpfs.log" >&2
	exit 1
fi

say "5. Use it like any folder"
show ls -la "$DEMO_MNT"
show cat "$DEMO_MNT/README.txt"
show ls -la "$DEMO_MNT/docs"
show head -n 3 "$DEMO_MNT/docs/numbers.txt"
show sha256sum "$DEMO_MNT/photos 2024/beach.jpg" "$data/photos 2024/beach.jpg"
show df -h "$DEMO_MNT"
echo "Writes go to the server (the server's own folder is $data):"
show cp "$DEMO_MNT/docs/numbers.txt" "$DEMO_MNT/docs/copy.txt"
show sed -i 's/^1$/one/' "$DEMO_MNT/docs/copy.txt"
show head -n 2 "$data/docs/copy.txt"
show mv "$DEMO_MNT/docs/copy.txt" "$DEMO_MNT/copy moved.txt"
show ls -l "$data"

say "6. Unmounting"
echo "To unmount an ftpfs mount yourself: fusermount3 -u $DEMO_MNT"
keep=${DEMO_KEEP:-}
if [ -z "$keep" ] && [ -t 0 ] && [ -z "${CI:-}" ]; then
	echo "The mount and the server ($port on 127.0.0.1) stay until you press Enter (or Ctrl-C)."
	read -r _ || true
elif [ -n "$keep" ] && [ "$keep" -gt 0 ]; then
	echo "Keeping the mount for $keep s (Ctrl-C ends it earlier)."
	sleep "$keep" || true
fi
show fusermount3 -u "$DEMO_MNT"
rmdir "$DEMO_MNT" 2>/dev/null || true
echo "Done: the mount, the server and the temp files are gone."
