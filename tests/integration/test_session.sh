#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Sessions and credentials through real mounts on 127.0.0.1 (run as root):
#  - a server that caps connections per address (vsftpd max_per_ip=2, which
#    answers 421 at connect) shrinks the pool: 4 parallel readers on a mount
#    with -o connections=4 all succeed, and the shrink is logged;
#  - -o netrc=FILE supplies login and password (no entry: a warning);
#  - -o credentials=FILE (mode 600; 644 refused), an fstab line through
#    mount -T and mount -t fuse.ftpfs, umount; the password nowhere in
#    /proc/mounts or a command line;
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
check_eq() { # NAME EXPECTED ACTUAL
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "expected: $2
actual:   $3"; fi
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
srv_sanitizers_init
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

# --- -o keepalive: a NOOP keeps the last idle connection logged in --------
# vsftpd ends a session idle for 3 s.  With keepalive=1 the mount's
# connection outlives 6 s of idleness (one login in the server's log, NOOPs);
# without, the next request finds it closed and logs in again.
SRV_VSFTPD_EXTRA="idle_session_timeout=3" srv_start vsftpd "$DATA" || exit 1
for ka in 1 0; do
	LOG=$SRV_TMP/keepalive-$ka.log
	from=$(($(wc -l <"${SRV_LOGS[vsftpd]}") + 1))
	if fg_mount "$LOG" "$(srv_url vsftpd)" -o keepalive=$ka,cache_timeout=0; then
		ls "$MNT" >/dev/null 2>&1
		sleep 6.5
		out=$(cat "$MNT/hello.txt" 2>&1)
		logins=$(tail -n +"$from" "${SRV_LOGS[vsftpd]}" | grep -c '"USER ')
		noops=$(tail -n +"$from" "${SRV_LOGS[vsftpd]}" | grep -c '"NOOP"')
		if [ "$ka" = 1 ]; then
			check_eq "keepalive=1: after 6.5 s idle (server timeout 3 s) the file reads on the first login, with NOOPs" \
				"hello from ftpfs, 1 login, NOOPs" \
				"$out, $logins login$([ "$logins" = 1 ] || echo s), $([ "$noops" -ge 4 ] && echo NOOPs || echo "$noops NOOPs")"
		else
			check_eq "keepalive=0: no NOOP, the closed connection is replaced (2 logins)" \
				"hello from ftpfs, 2 logins, 0 NOOPs" "$out, $logins logins, $noops NOOPs"
		fi
		ftpfs_umount "$MNT" "$FTPFS" >/dev/null 2>&1
	else
		not_ok "keepalive=$ka: mount" "$(tail -n 20 "$LOG")"
	fi
done
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

# --- credentials file, fstab and mount(8) ----------------------------------
# No password in argv, /proc/mounts or the mount's output: only the file has it.
pw_nowhere() { # NAME
	local where=""
	grep -qF "$SRV_PASS" /proc/mounts && where+=" /proc/mounts"
	for p in $(srv_tagged_pids); do
		tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF "$SRV_PASS" &&
			where+=" /proc/$p/cmdline"
	done
	if [ -z "$where" ]; then
		ok "$1: the password is nowhere in /proc/mounts or any command line"
	else
		not_ok "$1: the password shows in$where"
	fi
}
CRED=$SRV_TMP/ftp.cred
printf '# test account\nusername=%s\npassword=%s\n' "$SRV_USER" "$SRV_PASS" >"$CRED"
chmod 600 "$CRED"
if ftpfs_mount "$FTPFS" "$MNT" "$URL_BARE" -o "credentials=$CRED"; then
	ok "-o credentials=FILE: mounts with the file's user and password"
	check "-o credentials=FILE: read a file" grep -q "hello from ftpfs" "$MNT/hello.txt"
	pw_nowhere "-o credentials=FILE"
	ftpfs_umount "$MNT" "$FTPFS" >/dev/null 2>&1
else
	not_ok "-o credentials=FILE: mount" "$(tail -n 5 "$SRV_TMP/ftpfs-mount.log")"
fi
chmod 644 "$CRED"
t0=$EPOCHREALTIME
out=$(timeout 20 "$FTPFS" "$URL_BARE" "$MNT" -o "credentials=$CRED" 2>&1)
rc=$?
if [ "$rc" -ne 0 ] && ! srv_is_mounted "$MNT" && printf '%s' "$out" | grep -q "chmod 600" &&
	! printf '%s' "$out" | grep -qF "$SRV_PASS"; then
	ok "a credentials file with mode 644 is refused in $(srv_since "$t0")s: $out"
else
	not_ok "a credentials file with mode 644 is refused with a clear line" "exit $rc: $out"
	ftpfs_umount "$MNT" "$FTPFS" >/dev/null 2>&1
fi
chmod 600 "$CRED"
cp -p "$CRED" "$SRV_TMP/other.cred"
chown nobody "$SRV_TMP/other.cred"
out=$(timeout 20 "$FTPFS" "$URL_BARE" "$MNT" -o "credentials=$SRV_TMP/other.cred" 2>&1)
rc=$?
if [ "$rc" -ne 0 ] && ! srv_is_mounted "$MNT" && grep -q "belongs to another user" <<<"$out"; then
	ok "a credentials file of another user is refused: $out"
else
	not_ok "a credentials file of another user is refused" "exit $rc: $out"
	srv_is_mounted "$MNT" && ftpfs_umount "$MNT" "$FTPFS" >/dev/null 2>&1
fi
printf 'username=%s\npasswd=%s\n' "$SRV_USER" "$SRV_PASS" >"$SRV_TMP/bad.cred"
chmod 600 "$SRV_TMP/bad.cred"
out=$(timeout 20 "$FTPFS" "$URL_BARE" "$MNT" -o "credentials=$SRV_TMP/bad.cred" 2>&1)
rc=$?
if [ "$rc" -ne 0 ] && printf '%s' "$out" | grep -q "line 2" &&
	! printf '%s' "$out" | grep -qF "$SRV_PASS"; then
	ok "a malformed credentials file names the line, not the password: $out"
else
	not_ok "a malformed credentials file: refused naming the line" "exit $rc: $out"
	ftpfs_umount "$MNT" "$FTPFS" >/dev/null 2>&1
fi
for o in log_level=loud credentials; do
	out=$(timeout 20 "$FTPFS" "$URL_BARE" "$MNT" -o "$o" 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ] && [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ]; then
		ok "-o $o refused in one line: $out"
	else
		not_ok "-o $o refused in one line" "exit $rc: $out"
		ftpfs_umount "$MNT" "$FTPFS" >/dev/null 2>&1
	fi
done
# mount(8) with a fuse.ftpfs line: libmount runs mount.fuse3 with PATH
# set to the standard one, and mount.fuse3 runs "ftpfs" from it, which
# finds an installed /usr/local/bin/ftpfs.  The test gives it ours the
# same way, in a private mount namespace where $SRV_TMP/bin is bind-mounted
# over /usr/local/bin; the checks run in there and report back (the mount
# exists only in that namespace, and goes with it).
mkdir -p "$SRV_TMP/bin"
ln -sf "$FTPFS" "$SRV_TMP/bin/ftpfs"
FSTAB=$SRV_TMP/fstab
printf '%s %s fuse.ftpfs %s 0 0\n' "$URL_BARE" "$MNT" \
	"credentials=$CRED,_netdev,nofail,noauto,users,x-systemd.automount,x-systemd.mount-timeout=30,x-gvfs-show,comment=test,cache_timeout=0,log_level=info" \
	>"$FSTAB"
RES=$SRV_TMP/fstab.results
: >"$RES"
# (the password goes in through the environment: an argument would show)
FTPFS_TEST_TAG=$SRV_TMP PW=$SRV_PASS timeout 60 unshare -m --propagation private bash -s \
	"$SRV_TMP/bin" "$FSTAB" "$MNT" "$URL_BARE" "$CRED" "$RES" <<'INNER' >"$SRV_TMP/fstab.log" 2>&1
bin=$1 fstab=$2 mnt=$3 url=$4 cred=$5 res=$6 pw=$PW
unset PW
say() { printf '%s\t%s\n' "$1" "$2" >>"$res"; }
mounted() { grep -q " $mnt fuse.ftpfs " /proc/mounts; }
pw_seen() {
	grep -qF "$pw" /proc/mounts && return 0
	for p in /proc/[0-9]*; do
		tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -qF "$pw" && return 0
	done
	return 1
}
mount --bind "$bin" /usr/local/bin || { say FAIL "bind $bin over /usr/local/bin"; exit 0; }
out=$(timeout 30 mount -T "$fstab" "$mnt" 2>&1); rc=$?
if [ "$rc" -eq 0 ] && mounted; then
	say ok "mount -T FSTAB DIR: a fuse.ftpfs line with credentials= and fstab-only options mounts"
	grep -q "hello from ftpfs" "$mnt/hello.txt" && say ok "mount -T: read a file" ||
		say FAIL "mount -T: read a file"
	pw_seen && say FAIL "mount -T: the password shows in /proc" ||
		say ok "mount -T: the password is nowhere in /proc/mounts or any command line"
	out=$(timeout 30 umount "$mnt" 2>&1); rc=$?
	for _ in $(seq 40); do mounted || break; sleep 0.05; done
	if [ "$rc" -eq 0 ] && ! mounted; then say ok "umount DIR unmounts it"
	else say FAIL "umount DIR unmounts it: exit $rc: $out"; fi
else
	say FAIL "mount -T FSTAB DIR with a fuse.ftpfs line: exit $rc: $out"
fi
mounted && { timeout 10 umount -l "$mnt"; }
out=$(timeout 30 mount -t fuse.ftpfs "$url" "$mnt" -o "credentials=$cred,nofail" 2>&1); rc=$?
if [ "$rc" -eq 0 ] && mounted; then
	say ok "mount -t fuse.ftpfs URL DIR -o credentials=FILE mounts"
	timeout 30 umount "$mnt" || timeout 10 umount -l "$mnt"
else
	say FAIL "mount -t fuse.ftpfs URL DIR -o credentials=FILE: exit $rc: $out"
fi
INNER
if [ -s "$RES" ]; then
	while IFS=$'\t' read -r verdict text; do
		if [ "$verdict" = ok ]; then ok "$text"; else not_ok "$text"; fi
	done <"$RES"
else
	not_ok "mount(8) checks in a private mount namespace" "$(tail -n 10 "$SRV_TMP/fstab.log")"
fi
# A user with no password anywhere and no terminal: say how to give one
# (an empty password used to be sent).
out=$(timeout 20 "$FTPFS" "$(srv_url_nopass vsftpd)" "$MNT" </dev/null 2>&1)
rc=$?
if [ "$rc" -ne 0 ] && ! srv_is_mounted "$MNT" &&
	printf '%s' "$out" | grep -q "no password for $SRV_USER.*password_stdin.*credentials"; then
	ok "no password and no terminal: refused, saying how to give one: $out"
else
	not_ok "no password and no terminal: refused, saying how to give one" "exit $rc: $out"
	srv_is_mounted "$MNT" && ftpfs_umount "$MNT" "$FTPFS" >/dev/null 2>&1
fi
# -o netrc with no entry for the host: a warning, not a silent anonymous login
printf 'machine other.host.test login nobody password nothing\n' >"$NETRC"
chmod 600 "$NETRC"
out=$(timeout 20 "$FTPFS" "$URL_BARE" "$MNT" -o "netrc=$NETRC" 2>&1)
rc=$?
if printf '%s' "$out" | grep -q "no entry for 127.0.0.1"; then
	ok "-o netrc with no entry for the host says so (exit $rc)"
else
	not_ok "-o netrc with no entry for the host says so" "exit $rc: $out"
fi
srv_is_mounted "$MNT" && ftpfs_umount "$MNT" "$FTPFS" >/dev/null 2>&1

# --- bad input: each fails within seconds, exit 1, one clear line ----------
# (wrong password and a missing remote directory: test_read, every server)
bad() { # NAME REGEX ARGS...: no mount, exit 1 within 15 s, one line matching REGEX
	local name=$1 want=$2 out rc t0 secs
	shift 2
	t0=$EPOCHREALTIME
	out=$(FTPFS_TEST_TAG=$SRV_TMP timeout -k 5 30 "$@" </dev/null 2>&1)
	rc=$?
	secs=$(srv_since "$t0")
	if srv_is_mounted "$MNT"; then
		not_ok "$name: refused" "mounted: $out"
		ftpfs_umount "$MNT" "$FTPFS" >/dev/null 2>&1
	elif [ "$rc" -eq 1 ] && [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] &&
		printf '%s' "$out" | grep -qE -- "$want" &&
		awk -v s="$secs" 'BEGIN { exit !(s < 15) }'; then
		ok "$name: exit 1 in ${secs}s: $out"
	else
		not_ok "$name: exit 1, one line matching /$want/, within 15 s" \
			"exit $rc after ${secs}s: $out"
	fi
}
mkdir -p "$SRV_TMP/notdir-parent"
: >"$SRV_TMP/a-file"
bad "malformed URL" "invalid URL: ftp://" "$FTPFS" "ftp://" "$MNT"
bad "unknown scheme" "http:// is not a protocol ftpfs speaks" "$FTPFS" "http://127.0.0.1/" "$MNT"
bad "port out of range" "invalid URL" "$FTPFS" "ftp://127.0.0.1:99999/" "$MNT"
bad "connection refused" "cannot connect to 127.0.0.1 port 1: Connection refused" \
	"$FTPFS" "ftp://127.0.0.1:1/" "$MNT"
# no network at all (a namespace of our own): the name cannot be resolved
bad "unknown host (no name server reachable)" "cannot resolve host name no-such-host.invalid" \
	unshare -n "$FTPFS" "ftp://no-such-host.invalid/" "$MNT"
# a server that accepts and says nothing
SILENT_PORT=$(srv_free_port)
"$SRV_PY" -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
' "$SILENT_PORT" &
srv_track_pid $!
for _ in $(seq 100); do # python's start takes over 0.3 s on a loaded machine
	srv_port_busy "$SILENT_PORT" && break
	sleep 0.05
done
bad "silent server (-o connect_timeout=3)" "no FTP greeting from 127.0.0.1 port $SILENT_PORT: timed out" \
	"$FTPFS" "ftp://127.0.0.1:$SILENT_PORT/" "$MNT" -o connect_timeout=3
bad "-o spool_dir in a folder that does not exist" "spool_dir=$SRV_TMP/no/such: No such file or directory" \
	"$FTPFS" "$URL_BARE" "$MNT" -o "credentials=$CRED,spool_dir=$SRV_TMP/no/such"
bad "-o spool_dir naming a file" "spool_dir=$SRV_TMP/a-file: Not a directory" \
	"$FTPFS" "$URL_BARE" "$MNT" -o "credentials=$CRED,spool_dir=$SRV_TMP/a-file"
bad "mountpoint missing" "mountpoint $SRV_TMP/no-such-dir: No such file or directory" \
	"$FTPFS" "$URL_BARE" "$SRV_TMP/no-such-dir"
bad "mountpoint is a file" "mountpoint $SRV_TMP/a-file: Not a directory" \
	"$FTPFS" "$URL_BARE" "$SRV_TMP/a-file"
if ftpfs_mount "$FTPFS" "$MNT" "$URL_BARE" -o "credentials=$CRED"; then
	out=$(timeout 30 "$FTPFS" "$URL_BARE" "$MNT" -o "credentials=$CRED" 2>&1)
	rc=$?
	n=$(grep -c " $MNT fuse.ftpfs " /proc/mounts)
	if [ "$rc" -eq 1 ] && [ "$n" -eq 1 ] && printf '%s' "$out" | grep -q "is already an ftpfs mount"; then
		ok "mountpoint busy (already an ftpfs mount): exit 1: $out"
	else
		not_ok "mountpoint busy: refused, one mount left" "exit $rc, $n mounts: $out"
	fi
	ftpfs_umount "$MNT" "$FTPFS" >/dev/null 2>&1
	srv_is_mounted "$MNT" && ftpfs_umount "$MNT" "$FTPFS" >/dev/null 2>&1
else
	not_ok "mount for the busy-mountpoint check" "$(tail -n 5 "$SRV_TMP/ftpfs-mount.log")"
fi

# --- the FUSE options fstab users write: ro, uid/gid/umask, allow_other ------
printf 'mine\n' >"$DATA/private.txt"
chown "$SRV_USER" "$DATA/private.txt"
chmod 600 "$DATA/private.txt"
if ftpfs_mount "$FTPFS" "$MNT" "$URL_BARE" -o "credentials=$CRED,ro"; then
	out=$( (echo x >"$MNT/ro-new.txt") 2>&1)
	if [ ! -e "$DATA/ro-new.txt" ] && printf '%s' "$out" | grep -q "Read-only file system"; then
		ok "-o ro: a create fails with EROFS and nothing reaches the server"
	else
		not_ok "-o ro: a create fails with EROFS" "$out"
	fi
	ftpfs_umount "$MNT" "$FTPFS" >/dev/null 2>&1
else
	not_ok "-o ro: mount"
fi
if ftpfs_mount "$FTPFS" "$MNT" "$URL_BARE" -o "credentials=$CRED,uid=1234,gid=2345,umask=027"; then
	check_eq "-o uid=,gid=,umask=: owner, group and mode as asked" \
		"1234 2345 750" "$(stat -c '%u %g %a' "$MNT/private.txt" 2>&1)"
	ftpfs_umount "$MNT" "$FTPFS" >/dev/null 2>&1
else
	not_ok "-o uid=,gid=,umask=: mount"
fi
if ftpfs_mount "$FTPFS" "$MNT" "$URL_BARE" -o "credentials=$CRED,allow_other,default_permissions"; then
	listed=$(su -s /bin/sh nobody -c "ls '$MNT'" 2>&1)
	read_out=$(su -s /bin/sh nobody -c "cat '$MNT/private.txt'" 2>&1)
	if printf '%s' "$listed" | grep -q "hello.txt" && printf '%s' "$read_out" | grep -q "Permission denied"; then
		ok "-o allow_other,default_permissions: another user lists, and a 0600 file is refused to them"
	else
		not_ok "-o allow_other,default_permissions" "ls: $listed" "cat: $read_out"
	fi
	ftpfs_umount "$MNT" "$FTPFS" >/dev/null 2>&1
else
	not_ok "-o allow_other,default_permissions: mount"
fi
if ftpfs_mount "$FTPFS" "$MNT" "$URL_BARE" -o "credentials=$CRED"; then
	out=$(su -s /bin/sh nobody -c "ls '$MNT'" 2>&1)
	if printf '%s' "$out" | grep -q "Permission denied"; then
		ok "without allow_other another user cannot enter the mount"
	else
		not_ok "without allow_other another user cannot enter the mount" "$out"
	fi
	ftpfs_umount "$MNT" "$FTPFS" >/dev/null 2>&1
fi

# --- versions and log levels ------------------------------------------------
out=$("$FTPFS" --version 2>&1)
# (here-strings: "printf | grep -q" under pipefail fails when grep quits
# before printf has written everything)
if grep -q "^ftpfs version" <<<"$out" && grep -q "^FUSE library version" <<<"$out" &&
	grep -q "^OpenSSL library version [0-9]" <<<"$out" &&
	grep -q "^libssh2 library version [0-9]" <<<"$out"; then
	ok "--version names ftpfs, libfuse, OpenSSL and libssh2 with their versions"
else
	not_ok "--version names ftpfs, libfuse, OpenSSL and libssh2" "$out"
fi
LOG=$SRV_TMP/level.log
if fg_mount "$LOG" "$URL_BARE" -o "credentials=$CRED,log_level=info"; then
	ls "$MNT" >/dev/null 2>&1
	ftpfs_umount "$MNT" "$FTPFS" >/dev/null 2>&1
	sleep 0.2
	if grep -q "mounted ftp://" "$LOG" && ! grep -q "> USER" "$LOG"; then
		ok "-o log_level=info: the mount is logged, the protocol is not"
	else
		not_ok "-o log_level=info: the mount is logged, the protocol is not" "$(head -n 10 "$LOG")"
	fi
else
	not_ok "-o log_level=info: mount" "$(tail -n 10 "$LOG")"
fi

# --- a detached daemon logs to syslog as ftpfs[PID], by level --------------
# In a private mount namespace whose /dev/log is a socket of this test (the
# machine's syslog is not touched): mount without -f, list, unmount, and
# read what arrived.
SYSLOG=$SRV_TMP/syslog.txt
: >"$SYSLOG"
cat >"$SRV_TMP/syslogd.py" <<'PYEOF'
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)
with open(sys.argv[2], "ab", buffering=0) as f:
    while True:
        f.write(s.recv(65536).rstrip(b"\0\n") + b"\n")
PYEOF
FTPFS_TEST_TAG=$SRV_TMP timeout 60 unshare --mount --propagation private bash -s \
	"$SRV_TMP" "$FTPFS" "$URL_BARE" "$MNT" "$CRED" "$SYSLOG" "$SRV_PY" <<'INNER' >"$SRV_TMP/syslog-run.log" 2>&1
tmp=$1 ftpfs=$2 url=$3 mnt=$4 cred=$5 out=$6 py=$7
mkdir -p "$tmp/dev"
mount -t tmpfs -o mode=755 tmpfs "$tmp/dev"
for n in null zero full random urandom tty fuse; do
	touch "$tmp/dev/$n"
	mount --bind "/dev/$n" "$tmp/dev/$n"
done
"$py" "$tmp/syslogd.py" "$tmp/dev/log" "$out" &
for _ in $(seq 50); do [ -S "$tmp/dev/log" ] && break; sleep 0.1; done
mount --move "$tmp/dev" /dev
"$ftpfs" "$url" "$mnt" -o "credentials=$cred,log_level=info" || exit 1
ls "$mnt" >/dev/null
fusermount3 -u "$mnt"
sleep 0.5
INNER
if grep -qE "ftpfs\[[0-9]+\]: .*mounted ftp://" "$SYSLOG"; then
	ok "detached: logs to syslog as ftpfs[PID] at -o log_level=info ($(grep -m1 -oE 'ftpfs\[[0-9]+\]: .*mounted ftp://[^ ]*' "$SYSLOG"))"
else
	not_ok "detached: logs to syslog as ftpfs[PID]" "syslog: $(head -n 5 "$SYSLOG")" "$(tail -n 5 "$SRV_TMP/syslog-run.log")"
fi
if grep -qF "$SRV_PASS" "$SYSLOG"; then
	not_ok "detached: the password is not in syslog"
else
	ok "detached: the password is not in syslog"
fi

# --- a server that lists local time (vsftpd use_localtime, UTC+5:30) -------
srv_stop vsftpd
printf 'x\n' >"$DATA/tz-old.txt"
touch -d '2024-03-04 05:06:07 UTC' "$DATA/tz-old.txt"
chown "$SRV_USER" "$DATA/tz-old.txt"
TZ=IST-5:30 SRV_VSFTPD_EXTRA="use_localtime=YES" srv_start vsftpd "$DATA" >/dev/null ||
	not_ok "start vsftpd with use_localtime=YES"
URL_TZ="ftp://127.0.0.1:$(srv_port vsftpd)/"
mtime_of() { TZ=UTC stat -c %y "$1" 2>&1 | cut -c1-19; }
if ftpfs_mount "$FTPFS" "$MNT" "$URL_TZ" -o "credentials=$CRED,cache_timeout=0"; then
	check_eq "local-time server, no option: times are 5:30 off (as listed)" \
		"2024-03-04 10:36:07" "$(mtime_of "$MNT/tz-old.txt")"
	ftpfs_umount "$MNT" "$FTPFS" >/dev/null 2>&1
fi
if ftpfs_mount "$FTPFS" "$MNT" "$URL_TZ" -o "credentials=$CRED,cache_timeout=0,time_offset=+5:30"; then
	check_eq "-o time_offset=+5:30: the listed time is UTC again" \
		"2024-03-04 05:06:07" "$(mtime_of "$MNT/tz-old.txt")"
	touch -d '2020-01-02 03:04:05 UTC' "$MNT/tz-old.txt"
	check_eq "-o time_offset=+5:30: touch -d sets that UTC time on the server" \
		"2020-01-02 03:04:05" "$(date -u -r "$DATA/tz-old.txt" '+%F %T')"
	ftpfs_umount "$MNT" "$FTPFS" >/dev/null 2>&1
fi
LOG=$SRV_TMP/tz-auto.log
if fg_mount "$LOG" "$URL_TZ" -o "credentials=$CRED,cache_timeout=0,time_offset=auto"; then
	echo new >"$MNT/tz-new.txt"
	check_eq "-o time_offset=auto: after the first upload, listed times are UTC" \
		"2020-01-02 03:04:05" "$(mtime_of "$MNT/tz-old.txt")"
	check "-o time_offset=auto: the offset it learnt is logged" \
		grep -q "reports local time, UTC+5:30" "$LOG"
	ftpfs_umount "$MNT" "$FTPFS" >/dev/null 2>&1
else
	not_ok "-o time_offset=auto: mount" "$(tail -n 5 "$LOG")"
fi
out=$(timeout 20 "$FTPFS" "$URL_TZ" "$MNT" -o "credentials=$CRED,time_offset=5h" 2>&1)
check_eq "-o time_offset=5h is refused in one line" "1" "$(printf '%s\n' "$out" | grep -c "time_offset=5h: expected auto or hours")"
srv_stop vsftpd
srv_start vsftpd "$DATA" >/dev/null || not_ok "restart vsftpd"
URL_BARE="ftp://127.0.0.1:$(srv_port vsftpd)/"

# --- the server goes away and comes back: said once each way ---------------
LOG=$SRV_TMP/lost.log
if fg_mount "$LOG" "$URL_BARE" -o "credentials=$CRED,cache_timeout=0"; then
	ls "$MNT" >/dev/null 2>&1
	srv_stop vsftpd
	# its sessions too (vsftpd's session processes outlive the listener)
	# shellcheck disable=SC2046
	kill $(srv_tagged_pids "$(readlink -f "$(command -v vsftpd)")") 2>/dev/null
	sleep 0.3
	out=$(timeout 30 ls "$MNT" 2>&1 >/dev/null)
	if printf '%s' "$out" | grep -q "Input/output error"; then
		ok "server gone: ls fails with EIO, not the socket's error ($out)"
	else
		not_ok "server gone: ls fails with EIO" "$out"
	fi
	for _ in 1 2; do timeout 30 ls "$MNT" >/dev/null 2>&1; done
	port=$(srv_port vsftpd)
	for _ in $(seq 50); do srv_port_busy "$port" || break; sleep 0.1; done
	srv_start vsftpd "$DATA" "$port" >/dev/null || not_ok "restart vsftpd on port $port"
	check "server back: ls works again on the same mount" timeout 30 ls "$MNT/hello.txt"
	ftpfs_umount "$MNT" "$FTPFS" >/dev/null 2>&1
	sleep 0.2
	lost=$(grep -c "lost the server" "$LOG")
	back=$(grep -c "the server answers again" "$LOG")
	tries=$(grep -c "cannot connect" "$LOG")
	if [ "$lost" = 1 ] && [ "$back" = 1 ] && [ "$tries" -le 1 ]; then
		ok "server lost and back: logged once each ($(grep -m1 "lost the server" "$LOG" | cut -c1-90))"
	else
		not_ok "server lost and back: logged once each (lost $lost, back $back, connect failures $tries)" "$(tail -n 12 "$LOG")"
	fi
else
	not_ok "mount for the lost-server check" "$(tail -n 10 "$LOG")"
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

if out=$(srv_sanitizer_reports); then
	not_ok "no ASan/UBSan reports" "$out"
else
	ok "no ASan/UBSan reports"
fi

printf '%d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
