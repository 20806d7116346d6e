#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Sessions and credentials through real mounts on 127.0.0.1 (run as root):
#  - a server that caps connections per address (vsftpd max_per_ip=2, which
#    answers 421 at connect) shrinks the pool: 4 parallel readers on a mount
#    with -o connections=4 all succeed, and the shrink is logged;
#  - -o netrc=FILE supplies login and password;
#  - the password prompt on a terminal (script(1) gives ftpfs a tty);
#  - -d traces the protocol with PASS redacted and the password nowhere.
#
#   FTPFS=build/ftpfs
# Prints "ok - NAME" / "FAIL - NAME" and finally "N passed, N failed".
set -u
set -o pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/servers.sh
. "$repo/tests/lib/servers.sh"

export LC_ALL=C.UTF-8
FTPFS=${FTPFS:-build/ftpfs}
case $FTPFS in /*) ;; *) FTPFS=$repo/$FTPFS ;; esac
passed=0
failed=0
ok() {
	passed=$((passed + 1))
	printf 'ok - %s\n' "$1"
}
not_ok() {
	failed=$((failed + 1))
	printf 'FAIL - %s\n' "$1"
	[ -z "${2:-}" ] || printf '%s\n' "$2" | head -n 20 | sed 's/^/#   /'
}
check() { # NAME CMD...
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then ok "$name"; else not_ok "$name" "$out"; fi
}
# Start ftpfs in the foreground (its log in $1), wait for the mount.
fg_mount() { # LOG URL [ARGS...]
	local log=$1 url=$2
	shift 2
	FTPFS_TEST_TAG=$SRV_TMP setsid "$FTPFS" "$url" "$MNT" -f "$@" \
		</dev/null >"$log" 2>&1 &
	srv_track_pid $!
	srv_track_mount "$MNT"
	for _ in $(seq 200); do
		srv_is_mounted "$MNT" && return 0
		sleep 0.05
	done
	return 1
}

srv_init
DATA=$SRV_TMP/data
MNT=$SRV_TMP/mnt
mkdir -p "$DATA" "$MNT"
for i in 1 2 3 4; do
	head -c $((12 << 20)) /dev/urandom >"$DATA/big$i.bin"
done
echo "hello from ftpfs" >"$DATA/hello.txt"
chown -R "$SRV_USER" "$DATA"

# --- connection limits ---------------------------------------------------
SRV_VSFTPD_EXTRA="max_per_ip=2" srv_start vsftpd "$DATA" || exit 1
LOG=$SRV_TMP/limit.log
if fg_mount "$LOG" "$(srv_url vsftpd)" -o connections=4,cache_timeout=0; then
	ok "max_per_ip=2: mount with -o connections=4"
	pids=()
	for i in 1 2 3 4; do
		(timeout 60 cmp "$MNT/big$i.bin" "$DATA/big$i.bin") &
		pids+=($!)
	done
	bad=0
	for p in "${pids[@]}"; do wait "$p" || bad=$((bad + 1)); done
	if [ "$bad" -eq 0 ]; then
		ok "max_per_ip=2: 4 parallel readers all read the right bytes"
	else
		not_ok "max_per_ip=2: 4 parallel readers ($bad failed)" \
			"$(tail -n 20 "$LOG")"
	fi
	check "max_per_ip=2: ls still works" ls -l "$MNT"
	if [ "$(grep -c "pool shrunk to 2" "$LOG")" = 1 ]; then
		ok "max_per_ip=2: the pool shrank to 2 (logged once)"
	else
		not_ok "max_per_ip=2: pool shrink logged once" \
			"$(grep -i -E 'limit|421|shr' "$LOG" | head)"
	fi
	ftpfs_umount "$MNT" "$FTPFS" >/dev/null 2>&1
else
	not_ok "max_per_ip=2: mount with -o connections=4" "$(tail -n 20 "$LOG")"
fi
srv_stop vsftpd
unset SRV_VSFTPD_EXTRA
srv_start vsftpd "$DATA" || exit 1

# --- netrc -----------------------------------------------------------------
NETRC=$SRV_TMP/netrc
{
	printf 'machine other.host.test login nobody password nothing\n'
	printf 'machine 127.0.0.1\n  login %s\n  password %s\n' \
		"$SRV_USER" "$SRV_PASS"
} >"$NETRC"
chmod 600 "$NETRC"
URL_BARE="ftp://127.0.0.1:$(srv_port vsftpd)/"
if ftpfs_mount "$FTPFS" "$MNT" "$URL_BARE" -o "netrc=$NETRC"; then
	ok "-o netrc=FILE: mounts with login and password from the file"
	check "-o netrc=FILE: read a file" grep -q "hello from ftpfs" "$MNT/hello.txt"
	ftpfs_umount "$MNT" "$FTPFS" >/dev/null 2>&1
else
	not_ok "-o netrc=FILE: mount" "$(tail -n 5 "$SRV_TMP/ftpfs-mount.log")"
fi
printf 'machine 127.0.0.1 login %s password wrong-%s\n' "$SRV_USER" \
	"$SRV_PASS" >"$NETRC"
if ftpfs_mount "$FTPFS" "$MNT" "$URL_BARE" -o "netrc=$NETRC"; then
	not_ok "-o netrc with a wrong password must fail"
	ftpfs_umount "$MNT" "$FTPFS" >/dev/null 2>&1
else
	ok "-o netrc with a wrong password fails (exit $FTPFS_MOUNT_RC)"
fi

# --- password prompt on a terminal -----------------------------------------
if command -v script >/dev/null; then
	srv_track_mount "$MNT"
	out=$( (sleep 1; printf '%s\n' "$SRV_PASS"; sleep 2) |
		FTPFS_TEST_TAG=$SRV_TMP timeout 30 script -qec \
			"$FTPFS $(srv_url_nopass vsftpd) $MNT" /dev/null 2>&1)
	for _ in $(seq 40); do srv_is_mounted "$MNT" && break; sleep 0.05; done
	if srv_is_mounted "$MNT"; then
		ok "password prompt on a terminal: mounted"
		check "password prompt: read a file" \
			grep -q "hello from ftpfs" "$MNT/hello.txt"
		if printf '%s' "$out" | grep -qF "$SRV_PASS"; then
			not_ok "password prompt: the password is not echoed" "$out"
		else
			ok "password prompt: the password is not echoed"
		fi
		if printf '%s' "$out" | grep -qi "password"; then
			ok "password prompt: asks for the password"
		else
			not_ok "password prompt: asks for the password" "$out"
		fi
		ftpfs_umount "$MNT" "$FTPFS" >/dev/null 2>&1
	else
		not_ok "password prompt on a terminal: mounted" "$out"
	fi
else
	not_ok "script(1) missing (util-linux): cannot test the prompt"
fi

# --- trace redaction -------------------------------------------------------
TRACE=$SRV_TMP/trace.log
if fg_mount "$TRACE" "$(srv_url vsftpd)" -d; then
	cat "$MNT/hello.txt" >/dev/null 2>&1
	ftpfs_umount "$MNT" "$FTPFS" >/dev/null 2>&1
	sleep 0.2
	if grep -q "> PASS \*\*\*\*" "$TRACE"; then
		ok "-d: the trace shows PASS ****"
	else
		not_ok "-d: the trace shows PASS ****" "$(head -n 20 "$TRACE")"
	fi
	if grep -qF "$SRV_PASS" "$TRACE"; then
		not_ok "-d: the password appears nowhere in the trace"
	else
		ok "-d: the password appears nowhere in the trace"
	fi
	if grep -q "> RETR" "$TRACE" && grep -q "< 226" "$TRACE"; then
		ok "-d: commands and replies are traced"
	else
		not_ok "-d: commands and replies are traced" "$(tail -n 20 "$TRACE")"
	fi
else
	not_ok "-d: mount" "$(tail -n 20 "$TRACE")"
fi

printf '%d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
