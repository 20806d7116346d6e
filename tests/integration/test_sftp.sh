#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# What only SFTP has (issue 9), against the harness's OpenSSH sshd (and
# ProFTPD's mod_sftp where it applies): host keys (unknown refused with
# the SHA256 fingerprint, changed refused, accept-new adds, hashed
# entries), logins (ssh-agent, encrypted key with password_stdin, a
# refusal naming what was tried), ~/.ssh/config Host aliases (HostName,
# Port, User, IdentityFile, HostKeyAlias; -F FILE), the sshfs form
# user@host:path, fsync (fsync@openssh.com), dropped and frozen sessions
# (sshd), rename over an existing file atomically
# (posix-rename), df with the server's numbers, ln (hardlink), symlink,
# and pjdfstest-style spot checks (posix_spot.py).
# Run as root.  Same conventions as test_read.sh: FTPFS, SERVERS (default
# "sshd proftpd_sftp"), "ok"/"FAIL" lines, "N passed, N failed".
set -u
set -o pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/servers.sh
. "$repo/tests/lib/servers.sh"

export LC_ALL=C.UTF-8
FTPFS=${FTPFS:-build/ftpfs}
case $FTPFS in /*) ;; *) FTPFS=$repo/$FTPFS ;; esac
FTPFS_REAL=$(readlink -f "$FTPFS")
SERVERS=${SERVERS:-$SRV_SFTP_ALL}
T=${FTPFS_TEST_TIMEOUT:-60}

passed=0
failed=0
ok() {
	passed=$((passed + 1))
	printf 'ok - %s\n' "$1"
}
not_ok() {
	failed=$((failed + 1))
	printf 'FAIL - %s\n' "$1"
	shift
	[ $# -eq 0 ] || printf '%s\n' "$@" | head -n 30 | sed 's/^/#   /'
}
note() { printf '# %s\n' "$*"; }
t() { timeout -k 5 "$T" "$@"; }
check_eq() { # NAME EXPECTED ACTUAL
	if [ "$2" == "$3" ]; then ok "$1"; else not_ok "$1" "expected: $2" "actual:   $3"; fi
}

srv_init
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$SRV_TMP/asan/asan:detect_leaks=1"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$SRV_TMP/asan/ubsan:print_stacktrace=1:halt_on_error=0"
# ThreadSanitizer (build-tsan/): every report, not only the first, and both
# stacks of a lock-order inversion.
export TSAN_OPTIONS="${TSAN_OPTIONS:+$TSAN_OPTIONS:}log_path=$SRV_TMP/asan/tsan:halt_on_error=0:second_deadlock_stack=1"
mkdir -p "$SRV_TMP/asan"
MNT=$SRV_TMP/mnt
seq=0

# mount_try NAME URL [ARGS...]: mount (no harness options); 0 when mounted.
# The output is in $LOG.
mount_try() {
	local url=$2
	shift 2
	seq=$((seq + 1))
	LOG=$SRV_TMP/$cur-mount-$seq.log
	FTPFS_MOUNT_LOG=$LOG ftpfs_mount "$FTPFS" "$MNT" "$url" "$@"
}
# mount_srv NAME [ARGS...]: mount $cur's folder with the harness's key
# login; 0 when mounted, else NAME fails with the log's tail.
mount_srv() {
	local name=$1 rc=0
	shift
	read -r -a SRV_MOUNT_OPTS <<<"$(srv_opts "$cur")"
	mount_try "$name" "$(srv_url "$cur")" "$@" || rc=$?
	SRV_MOUNT_OPTS=()
	[ "$rc" -eq 0 ] || not_ok "$name" "$(tail -n 5 "$LOG")"
	return "$rc"
}
umount_ok() {
	if ftpfs_umount "$MNT" "$FTPFS_REAL"; then ok "$1"; else not_ok "$1"; fi
}
# refused NAME PATTERN URL [ARGS...]: the mount fails, fast, saying PATTERN.
refused() {
	local name=$1 pat=$2 url=$3
	shift 3
	if mount_try "$name" "$url" "$@"; then
		not_ok "$name: refused" "it mounted"
		ftpfs_umount "$MNT" "$FTPFS_REAL" >/dev/null 2>&1
	elif grep -qE -- "$pat" "$LOG"; then
		ok "$name: refused in ${FTPFS_MOUNT_SECS}s: $(grep -m1 -oE -- "$pat" "$LOG")"
	else
		not_ok "$name: refused with a message matching '$pat'" \
			"exit $FTPFS_MOUNT_RC" "$(tail -n 5 "$LOG")"
	fi
}

# mounted_reads NAME FILE: the mount is up and FILE in it reads "one".
mounted_reads() {
	check_eq "$1" "one" "$(t cat "$MNT/$2" 2>&1)"
	umount_ok "$1: unmount"
}

# ~/.ssh/config (HOME is a directory of this test), -F, the sshfs form.
sshconf_checks() {
	local data=$1 P="[$cur]" home=$SRV_TMP/$cur-home port dir rel kh conf hk
	port=$(srv_port "$cur")
	dir=${SRV_DIRS[$cur]}
	rel=${dir#/} # the test account's login directory is /
	kh=$(srv_known_hosts "$cur")
	hk=$(cut -d' ' -f1,2 "$SRV_TMP/srv-$cur/ssh_host_ed25519_key.pub")
	mkdir -p "$home/.ssh"
	chmod 700 "$home/.ssh"
	cp "$SRV_SSH_KEY" "$home/.ssh/id_test"
	chmod 600 "$home/.ssh/id_test"
	# the catch-all comes last: the first value found wins
	cat >"$home/.ssh/config" <<-CONF
		# written by test_sftp.sh
		Host unrelated
		    Port 1
		Match host *
		    User matched-must-be-skipped
		Host nothing-here !ftpfs-alias-$cur-* ftpfs-alias-* ftpfs-wrong-$cur ftpfs-other-* ftpfs-f?nly-*
		    HostName 127.0.0.1
		Host ftpfs-alias-$cur ftpfs-other-$cur
		    Port $port
		    User $SRV_USER
		    IdentityFile %d/.ssh/id_test
		    UserKnownHostsFile $kh
		Host ftpfs-wrong-$cur
		    Port 1
		    User nobody
		    IdentityFile ~/.ssh/id_test
		    UserKnownHostsFile $kh
		Host ftpfs-alias-$cur-keyalias
		    HostName 127.0.0.1
		    Port $port
		    User $SRV_USER
		    IdentityFile ~/.ssh/id_test
		    HostKeyAlias the-test-server
		    UserKnownHostsFile $SRV_TMP/$cur-kh-alias
		Host ftpfs-alias-$cur-aliaskh
		    HostName 127.0.0.1
		    Port $port
		    User $SRV_USER
		    IdentityFile ~/.ssh/id_test
		    UserKnownHostsFile $SRV_TMP/$cur-kh-aliasname
		Host *
		    User not-this-one
		    Port 9
	CONF
	if HOME=$home mount_try "$P" "sftp://ftpfs-alias-$cur$dir" -d; then
		if grep -q "authenticated with the key $home/.ssh/id_test" "$LOG"; then
			ok "$P ~/.ssh/config alias: HostName, Port, User, IdentityFile %d"
		else
			not_ok "$P ~/.ssh/config alias: HostName, Port, User, IdentityFile %d" \
				"$(grep -E 'authenticated|mounted' "$LOG")"
		fi
		mounted_reads "$P ~/.ssh/config alias: reads" a.txt
	else
		not_ok "$P ~/.ssh/config alias mounts" "$(tail -n 5 "$LOG")"
	fi
	# the URL's user and port win over the file's (Port 1, User nobody)
	if HOME=$home mount_try "$P" "sftp://$SRV_USER@ftpfs-wrong-$cur:$port$dir"; then
		mounted_reads "$P URL user and port win over ~/.ssh/config" a.txt
	else
		not_ok "$P URL user and port win over ~/.ssh/config" "$(tail -n 5 "$LOG")"
	fi
	# host keys are looked up under the real name and port, not the alias
	printf 'ftpfs-alias-%s-aliaskh %s\n' "$cur" "$hk" >"$SRV_TMP/$cur-kh-aliasname"
	HOME=$home refused "$P known_hosts: a key under the alias name does not vouch for HostName" \
		"authenticity of host '\[127\.0\.0\.1\]:$port'" "sftp://ftpfs-alias-$cur-aliaskh$dir"
	# ... unless HostKeyAlias says so (then the alias, without the port)
	printf 'the-test-server %s\n' "$hk" >"$SRV_TMP/$cur-kh-alias"
	if HOME=$home mount_try "$P" "sftp://ftpfs-alias-$cur-keyalias$dir"; then
		mounted_reads "$P HostKeyAlias: the key recorded under the alias" a.txt
	else
		not_ok "$P HostKeyAlias: the key recorded under the alias" "$(tail -n 5 "$LOG")"
	fi
	# -F FILE and -o ssh_config=FILE: another file than ~/.ssh/config
	conf=$SRV_TMP/$cur-ssh-config
	sed "s/ftpfs-alias-$cur /ftpfs-fonly-$cur /" "$home/.ssh/config" >"$conf"
	if HOME=$home mount_try "$P" "sftp://ftpfs-fonly-$cur$dir" -F "$conf"; then
		mounted_reads "$P -F FILE" a.txt
	else
		not_ok "$P -F FILE" "$(tail -n 5 "$LOG")"
	fi
	if HOME=$home mount_try "$P" "ftpfs-fonly-$cur:$rel" -o "ssh_config=$conf"; then
		mounted_reads "$P -o ssh_config=FILE, host:path" a.txt
	else
		not_ok "$P -o ssh_config=FILE, host:path" "$(tail -n 5 "$LOG")"
	fi
	HOME=$home refused "$P -F of a missing file" "ssh config $SRV_TMP/none: No such file" \
		"sftp://ftpfs-alias-$cur$dir" -F "$SRV_TMP/none"
	# the sshfs form: relative to the login directory (/ for this account)
	if HOME=$home mount_try "$P" "$SRV_USER@ftpfs-other-$cur:$rel"; then
		mounted_reads "$P user@host:path, relative to the login directory" a.txt
	else
		not_ok "$P user@host:path, relative to the login directory" "$(tail -n 5 "$LOG")"
	fi
	if HOME=$home mount_try "$P" "ftpfs-alias-$cur:"; then
		mounted_reads "$P host: (empty path) is the login directory" "$rel/a.txt"
	else
		not_ok "$P host: (empty path) is the login directory" "$(tail -n 5 "$LOG")"
	fi
	if HOME=$home mount_try "$P" "ftpfs-alias-$cur:$dir"; then
		mounted_reads "$P host:/abs is absolute" a.txt
	else
		not_ok "$P host:/abs is absolute" "$(tail -n 5 "$LOG")"
	fi
	refused "$P a local path is no mount source" "not a URL .* nor an SFTP" "$data"
}

# fsync(2) on a written file: fsync@openssh.com where the server offers it.
fsync_checks() {
	local data=$1 P="[$cur]" out
	mount_srv "$P mount for fsync" -d || return
	out=$(t python3 -c '
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, b"synced\n")
os.fsync(fd)
os.write(fd, b"more\n")
os.fdatasync(fd)
os.close(fd)
print("ok")' "$MNT/synced.txt" 2>&1)
	check_eq "$P fsync and fdatasync of a written file succeed" "ok" "$out"
	check_eq "$P fsync: the server has the bytes" "synced more" \
		"$(tr '\n' ' ' <"$data/synced.txt" | sed 's/ $//')"
	t dd if=/dev/zero of="$MNT/dd.bin" bs=64k count=16 conv=fsync status=none 2>"$SRV_TMP/dd.err"
	check_eq "$P dd conv=fsync" "1048576" "$(stat -c %s "$data/dd.bin" 2>&1)$(cat "$SRV_TMP/dd.err")"
	if grep -q 'mounted sftp .*, fsync' "$LOG"; then
		out=$(grep -cE -- '-> EXTENDED [0-9]+ fsync@openssh.com' "$LOG")
		if [ "${out:-0}" -ge 3 ]; then
			ok "$P fsync@openssh.com sent ($out requests in the -d trace)"
		else
			not_ok "$P fsync@openssh.com sent" "$(grep -E 'EXTENDED|fsync' "$LOG" | tail -n 5)"
		fi
	else
		note "$cur does not offer fsync@openssh.com: fsync is the flush only"
		if grep -qE -- '-> EXTENDED [0-9]+ fsync@openssh.com' "$LOG"; then
			not_ok "$P fsync@openssh.com not sent to a server without it"
		else
			ok "$P fsync@openssh.com not sent to a server without it"
		fi
	fi
	umount_ok "$P unmount (fsync)"
}

# A dropped and a frozen session (sshd only: its sessions are the children
# of the sshd the harness started, whose pid file we have).  Dropped: the
# next operation reconnects and succeeds.  Frozen (SIGSTOP of sshd and
# every session, so new connections stall too): the operation
# fails within the command deadline (30 s), never hangs, and once the
# server runs again the same mount works.
descendants() { # PID: its children, theirs, ... (sshd: [priv], notty, sftp)
	local c
	for c in $(pgrep -P "$1"); do
		printf '%s ' "$c"
		descendants "$c"
	done
}
session_checks() {
	local data=$1 P="[$cur]" sshd_pid t0 secs out
	sshd_pid=$(cat "$SRV_TMP/srv-$cur/sshd.pid" 2>/dev/null) || return 0
	mount_srv "$P mount for the session checks" -o cache_timeout=0 || return
	check_eq "$P read before the session drops" "one" "$(t cat "$MNT/a.txt" 2>&1)"
	# shellcheck disable=SC2046
	kill -KILL $(descendants "$sshd_pid")
	sleep 0.5
	check_eq "$P session killed on the server: the next read reconnects" \
		"one" "$(t cat "$MNT/a.txt" 2>&1)"
	printf 'after\n' >"$MNT/after.txt" 2>"$SRV_TMP/after.err"
	check_eq "$P ... and a write after it arrives" "after" \
		"$(cat "$data/after.txt" 2>&1)$(cat "$SRV_TMP/after.err")"
	# A file unlinked while open keeps its data on the server under
	# libfuse's hidden name: after its session dies, the descriptor opens
	# it again there and still reads it; the last close removes it.
	local fd left
	printf 'kept\n' >"$data/gone.txt"
	chown "$SRV_USER": "$data/gone.txt"
	exec {fd}<"$MNT/gone.txt"
	rm "$MNT/gone.txt"
	# shellcheck disable=SC2046
	kill -KILL $(descendants "$sshd_pid")
	sleep 0.5
	check_eq "$P unlinked while open, session killed: the descriptor still reads" \
		"kept" "$(t cat <&"$fd" 2>&1)"
	exec {fd}<&-
	sleep 0.3
	left=$(cd "$data" && ls -A | grep -c '^\.fuse_hidden' || true)
	check_eq "$P ... and its close leaves no hidden name on the server" "0" "$left"
	# frozen: every session process stopped, a file the mount has never
	# seen read (nothing cached can answer)
	printf 'fresh\n' >"$data/fresh.txt"
	chown "$SRV_USER": "$data/fresh.txt"
	# shellcheck disable=SC2046 # a list of pids
	kill -STOP "$sshd_pid" $(descendants "$sshd_pid")
	t0=$EPOCHREALTIME
	out=$(timeout -k 5 90 cat "$MNT/fresh.txt" 2>&1)
	secs=$(srv_since "$t0")
	# shellcheck disable=SC2046
	kill -CONT "$sshd_pid" $(descendants "$sshd_pid")
	if [ "$out" != fresh ] && awk -v s="$secs" 'BEGIN { exit !(s < 45) }'; then
		ok "$P frozen server: the read fails in ${secs}s, no hang ($out)"
	else
		not_ok "$P frozen server: the read fails within 45 s" "after ${secs}s: $out"
	fi
	check_eq "$P the server runs again: the same mount reads" "fresh" \
		"$(t cat "$MNT/fresh.txt" 2>&1)"
	umount_ok "$P unmount (session checks)"

	# A later login of a mount offers the key that got the first one in
	# without asking for the server's methods first; a key no longer
	# accepted then, it asks them and goes on to the password.
	local keys=$SRV_TMP/srv-$cur/authorized_keys/$SRV_USER n_none
	(umask 077 && printf '%s\n' "$SRV_PASS" >"$SRV_TMP/pass")
	[ -f "$keys" ] || {
		not_ok "$P later logins: no authorized_keys at $keys"
		return
	}
	if FTPFS_MOUNT_STDIN=$SRV_TMP/pass mount_srv "$P mount, key and password" \
		-o cache_timeout=0 -o password_stdin -d; then
		check_eq "$P key login: read" "one" "$(t cat "$MNT/a.txt" 2>&1)"
		# shellcheck disable=SC2046
		kill -KILL $(descendants "$sshd_pid")
		sleep 0.5
		check_eq "$P session killed: the key logs in again" "one" \
			"$(t cat "$MNT/a.txt" 2>&1)"
		n_none=$(grep -c 'server offers' "$LOG")
		check_eq "$P ... without asking for the methods again" "1" "$n_none"
		mv "$keys" "$keys.off"
		# shellcheck disable=SC2046
		kill -KILL $(descendants "$sshd_pid")
		sleep 0.5
		check_eq "$P key no longer accepted: the next login uses the password" \
			"one" "$(t cat "$MNT/a.txt" 2>&1)"
		if grep -q 'authenticated with a password' "$LOG"; then
			ok "$P ... and says so"
		else
			not_ok "$P ... and says so" "$(grep -E 'auth|offers' "$LOG" | tail -n 5)"
		fi
		mv "$keys.off" "$keys"
		umount_ok "$P unmount (later logins)"
	fi
	[ ! -f "$keys.off" ] || mv "$keys.off" "$keys"

	# A file another client makes where the mount saw the name missing
	# (cached) keeps its own mode when this mount then opens it O_CREAT
	# (POSIX: the mode applies only to a file the call creates).
	if mount_srv "$P mount (cached listings)"; then
		t ls "$MNT/theirs" >/dev/null 2>&1
		printf 'secret\n' >"$data/theirs"
		chown "$SRV_USER": "$data/theirs" && chmod 600 "$data/theirs"
		(umask 022 && printf 'mine\n' >"$MNT/theirs") 2>/dev/null
		check_eq "$P O_CREAT of a file another client just made keeps its mode (600)" \
			"600" "$(stat -c %a "$data/theirs" 2>&1)"
		rm -f "$data/theirs"
		umount_ok "$P unmount (cached listings)"
	fi
}

# Writes go behind the writer (write(2) returns once its bytes are queued
# for the file's thread): an error the server gives later is still
# reported, by a write or by close, never lost; a frozen server fails the
# writer within -o timeout (sshd only, as session_checks), and the mount
# writes again when it runs; cp -p keeps its times (a SETSTAT waits for the
# queued writes, whose arrival would move the mtime again).
WB_PY='
import os, sys, time
p, n = sys.argv[1], int(sys.argv[2])
fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
err = None
t_err = None
chunk = b"w" * 1048576
try:
    for i in range(n):
        os.write(fd, chunk)
        if i == 0 and len(sys.argv) > 3:
            sys.stdout.write("first\n")
            sys.stdout.flush()
            time.sleep(float(sys.argv[3]))
except OSError as e:
    err, t_err = "write %d: %s" % (i, os.strerror(e.errno)), time.time()
try:
    os.close(fd)
except OSError as e:
    if err is None:
        err, t_err = "close: %s" % os.strerror(e.errno), time.time()
print(err if err else "no error", "%.3f" % (t_err or 0))
'
wb_checks() {
	local data=$1 P="[$cur] write-behind:" out rc sshd_pid t0 secs pid ref
	mount_srv "$P mount" -o timeout=10 || return
	# a disk that fills up under the writer: 8 MiB onto 2 MiB
	mkdir -p "$data/small"
	if mount -t tmpfs -o size=2m,mode=0755 ftpfs-test-small "$data/small"; then
		chown "$SRV_USER": "$data/small"
		rc=0
		out=$(t dd if=/dev/zero of="$MNT/small/dd.bin" bs=1M count=8 2>&1) || rc=$?
		if [ "$rc" -ne 0 ]; then
			ok "$P dd of 8 MiB onto a 2 MiB disk fails (exit $rc: $(printf '%s' "$out" | head -n 1))"
		else
			not_ok "$P dd of 8 MiB onto a 2 MiB disk fails" "exit 0: $out"
		fi
		rm -f "$data/small/dd.bin"
		out=$(t python3 -c "$WB_PY" "$MNT/small/py.bin" 8 2>&1)
		if [[ $out == "no error"* ]]; then
			not_ok "$P 8 x 1 MiB write(2) onto a 2 MiB disk: a write or close reports it" "$out"
		else
			ok "$P 8 x 1 MiB write(2) onto a 2 MiB disk: reported (${out% *})"
		fi
		umount "$data/small" 2>/dev/null || umount -l "$data/small"
	else
		note "$P no tmpfs here: the full-disk check is skipped"
	fi
	# cp -p of a file large enough to be queued
	head -c $((4 * 1048576 + 5)) /dev/urandom >"$SRV_TMP/cpp.bin"
	touch -d '2001-01-01 00:00:00 UTC' "$SRV_TMP/cpp.bin"
	t cp -p "$SRV_TMP/cpp.bin" "$MNT/cpp.bin" 2>"$SRV_TMP/cpp.err"
	check_eq "$P cp -p of 4 MiB: bytes and mtime kept" \
		"$(sha256sum <"$SRV_TMP/cpp.bin" | cut -c1-64) 978307200" \
		"$(sha256sum <"$data/cpp.bin" | cut -c1-64) $(stat -c %Y "$data/cpp.bin" 2>&1)$(cat "$SRV_TMP/cpp.err")"
	# a reader of the file while its writer still has it open sees every
	# byte written before (another handle's open waits for the queue)
	out=$(t python3 -c '
import os, sys, hashlib
p = sys.argv[1]
fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
data = os.urandom(3 * 1048576 + 7)
for i in range(0, len(data), 131072):
    os.write(fd, data[i:i + 131072])
with open(p, "rb") as r:
    got = r.read()
os.close(fd)
print("same" if got == data else "differs: %d of %d bytes" % (len(got), len(data)))' "$MNT/rsw.bin" 2>&1)
	check_eq "$P another descriptor reads what the open writer wrote" "same" "$out"
	# Requests of other sessions come after the writes that returned
	# before them: truncate(path) while the writer still has the file
	# open (logrotate's copytruncate), a second descriptor's write at the
	# same offset, and the size the writers see after truncate(path).
	out=$(t python3 -c '
import os, sys
m, d = sys.argv[1], sys.argv[2]
bad = []
for wsz in (16384, 131072):
    for i in range(8):
        p, s = "%s/tr%d.bin" % (m, i), "%s/tr%d.bin" % (d, i)
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        for k in range(1048576 // wsz):
            os.write(fd, b"x" * wsz)
        os.truncate(p, 0)
        os.close(fd)
        if os.path.getsize(s) != 0:
            bad.append("truncate %d/%d: %d bytes" % (wsz, i, os.path.getsize(s)))
    for i in range(8):
        p, s = "%s/ord%d.bin" % (m, i), "%s/ord%d.bin" % (d, i)
        fd1 = os.open(p, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        os.pwrite(fd1, b"A" * wsz, 0)
        fd2 = os.open(p, os.O_WRONLY)
        os.pwrite(fd2, b"B" * wsz, 0)
        os.close(fd2)
        os.close(fd1)
        with open(s, "rb") as f:
            got = f.read()
        if got != b"B" * wsz:
            bad.append("order %d/%d: %r..." % (wsz, i, got[:1]))
p, s = m + "/tsz.bin", d + "/tsz.bin"
fd0 = os.open(p, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
fd2 = os.open(p, os.O_WRONLY)
os.ftruncate(fd2, 91812)
os.truncate(p, 2257815)
st, rd = os.fstat(fd0).st_size, len(os.pread(fd0, 4096, 1781318))
if sys.argv[3] != "sshd":
    rd = 4096  # ProFTPD: EOF past the size the handle was opened with
os.close(fd2)
os.close(fd0)
if (st, rd, os.path.getsize(p)) != (2257815, 4096, 2257815):
    bad.append("size after truncate(path): fstat %d, pread %d, stat %d" %
               (st, rd, os.path.getsize(p)))
print(" ".join(bad) if bad else "in order")' "$MNT" "$data" "$cur" 2>&1)
	check_eq "$P truncate(path), a second writer, fstat after truncate: in order" "in order" "$out"
	sshd_pid=$(cat "$SRV_TMP/srv-$cur/sshd.pid" 2>/dev/null)
	if [ -n "$sshd_pid" ]; then
		# frozen after the first MiB: the writer gets an error within
		# -o timeout=10 (16 s with the slack of a loaded machine)
		coproc WB { timeout -k 5 90 python3 -c "$WB_PY" "$MNT/frozen.bin" 64 0.5 2>&1; }
		pid=$WB_PID
		read -r -t 30 ref <&"${WB[0]}"
		# shellcheck disable=SC2046 # a list of pids
		kill -STOP "$sshd_pid" $(descendants "$sshd_pid")
		t0=$EPOCHREALTIME
		out=$(cat <&"${WB[0]}")
		wait "$pid" 2>/dev/null
		secs=$(srv_since "$t0")
		# shellcheck disable=SC2046
		kill -CONT "$sshd_pid" $(descendants "$sshd_pid")
		if [ "$ref" = first ] && [[ $out != "no error"* ]] &&
			awk -v s="$secs" 'BEGIN { exit !(s < 16) }'; then
			ok "$P frozen server under a writer: ${out% *} after ${secs}s"
		else
			not_ok "$P frozen server under a writer: an error within 16 s" \
				"after ${secs}s: ${ref:-(no first write)} / $out"
		fi
		printf 'again\n' >"$MNT/again.txt" 2>"$SRV_TMP/again.err"
		check_eq "$P the server runs again: the same mount writes" "again" \
			"$(cat "$data/again.txt" 2>&1)$(cat "$SRV_TMP/again.err")"
	fi
	umount_ok "$P unmount"
}

suite_server() {
	cur=$1
	local P="[$cur]" data=$SRV_TMP/$1-data url kh fpr out i pid
	mkdir -p "$data"
	printf 'one\n' >"$data/a.txt"
	chown -R "$SRV_USER": "$data"
	if ! srv_start "$cur" "$data"; then
		not_ok "$P start $cur"
		return
	fi
	url=$(srv_url "$cur")
	fpr=$(srv_host_fpr "$cur" ed25519)
	local fre # the fingerprint as a regular expression
	fre=$(printf '%s' "$fpr" | sed 's/[+./]/\\&/g')
	kh=$SRV_TMP/$cur-kh

	# auto:// on the SSH port: sftp://, the path as in ftp:// ("//" absolute)
	read -r -a SRV_MOUNT_OPTS <<<"$(srv_opts "$cur")"
	if mount_try "$P auto://" "auto://$SRV_USER@127.0.0.1:$(srv_port "$cur")/$data"; then
		if grep -q "auto://127.0.0.1: sftp://127.0.0.1:$(srv_port "$cur")/ (an SSH banner" "$LOG"; then
			ok "$P auto:// picks sftp:// on an SSH port and says why"
		else
			not_ok "$P auto:// picks sftp:// and says why" "$(head -n 5 "$LOG")"
		fi
		mounted_reads "$P auto:// (sftp): the mount reads" a.txt
	else
		not_ok "$P auto:// on an SSH server: mount" "$(tail -n 5 "$LOG")"
	fi
	SRV_MOUNT_OPTS=()

	# An ftp:// URL on the SSH port: said at once, with the URL to use.
	refused "$P ftp:// to an SSH port names sftp://" "is an SSH server.*sftp://127.0.0.1:$(srv_port "$cur")/" \
		"ftp://$SRV_USER:$SRV_PASS@127.0.0.1:$(srv_port "$cur")/"
	if awk -v s="${FTPFS_MOUNT_SECS:-99}" 'BEGIN { exit !(s < 3) }'; then
		ok "$P ... within 3 s (${FTPFS_MOUNT_SECS}s)"
	else
		not_ok "$P ... within 3 s" "${FTPFS_MOUNT_SECS:-?}s"
	fi

	# --- host keys ---------------------------------------------------
	: >"$kh"
	refused "$P unknown host key (empty known_hosts)" \
		"can't be established: ED25519 key fingerprint is $fre" \
		"$url" -o "known_hosts=$kh" -o "identity_file=$SRV_SSH_KEY"
	check_eq "$P unknown host key: known_hosts left alone" "0" "$(wc -c <"$kh")"
	# changed: another ed25519 key recorded for [127.0.0.1]:port
	ssh-keygen -q -t ed25519 -N '' -f "$SRV_TMP/$cur-other" <<<y >/dev/null 2>&1
	printf '[127.0.0.1]:%s %s\n' "$(srv_port "$cur")" \
		"$(cut -d' ' -f1,2 "$SRV_TMP/$cur-other.pub")" >"$kh"
	refused "$P changed host key" "IDENTIFICATION HAS CHANGED.*$fre" \
		"$url" -o "known_hosts=$kh" -o "identity_file=$SRV_SSH_KEY"
	refused "$P changed host key, even with accept-new" \
		"IDENTIFICATION HAS CHANGED" "$url" -o "known_hosts=$kh" \
		-o "identity_file=$SRV_SSH_KEY" -o StrictHostKeyChecking=accept-new
	# the bare host name must not vouch for a non-22 port
	printf '127.0.0.1 %s\n' "$(cut -d' ' -f1,2 "$SRV_TMP/srv-$cur/ssh_host_ed25519_key.pub")" >"$kh"
	refused "$P a key recorded for the bare host only (port 22)" \
		"can't be established" "$url" -o "known_hosts=$kh" \
		-o "identity_file=$SRV_SSH_KEY"
	# accept-new: appended in OpenSSH's format, then trusted
	: >"$kh"
	if mount_try "$P" "$url" -o "known_hosts=$kh" -o "identity_file=$SRV_SSH_KEY" \
		-o StrictHostKeyChecking=accept-new; then
		ok "$P accept-new mounts an unknown host"
		check_eq "$P accept-new: read through the mount" "one" "$(t cat "$MNT/a.txt" 2>&1)"
		umount_ok "$P unmount (accept-new)"
		out=$(ssh-keygen -F "[127.0.0.1]:$(srv_port "$cur")" -f "$kh" 2>&1 |
			grep -v '^#' | ssh-keygen -l -E sha256 -f - 2>&1 |
			grep -oE 'SHA256:[^ ]+' | head -n1)
		check_eq "$P accept-new: ssh-keygen -F finds the added key" "$fpr" "$out"
		grep -q 'Permanently added' "$LOG" && ok "$P accept-new: says it added the key" ||
			not_ok "$P accept-new: says it added the key" "$(tail -n 3 "$LOG")"
	else
		not_ok "$P accept-new mounts an unknown host" "$(tail -n 5 "$LOG")"
	fi
	# hashed entries (ssh-keygen -H), strict checking
	if [ -s "$kh" ]; then
		ssh-keygen -q -H -f "$kh" >/dev/null 2>&1
		rm -f "$kh.old"
		if grep -q '^|1|' "$kh" && mount_try "$P" "$url" -o "known_hosts=$kh" \
			-o "identity_file=$SRV_SSH_KEY"; then
			ok "$P hashed known_hosts entry accepted"
			umount_ok "$P unmount (hashed)"
		else
			not_ok "$P hashed known_hosts entry accepted" "$(head -c 300 "$kh")" "$(tail -n 3 "$LOG")"
		fi
	fi
	kh=$(srv_known_hosts "$cur")

	# --- logins ------------------------------------------------------
	# encrypted key, passphrase from stdin
	(umask 077 && printf '%s\n' "$SRV_SSH_KEY_PASS" >"$SRV_TMP/pass")
	if FTPFS_MOUNT_STDIN=$SRV_TMP/pass mount_try "$P" "$url" -o "known_hosts=$kh" \
		-o "IdentityFile=$SRV_SSH_KEY_ENC" -o password_stdin -d; then
		if grep -q "authenticated with the key $SRV_SSH_KEY_ENC" "$LOG"; then
			ok "$P encrypted key, passphrase from password_stdin"
		else
			not_ok "$P encrypted key, passphrase from password_stdin" "$(grep authenticated "$LOG")"
		fi
		umount_ok "$P unmount (encrypted key)"
	else
		not_ok "$P encrypted key, passphrase from password_stdin" "$(tail -n 5 "$LOG")"
	fi
	printf 'not-the-passphrase\n' >"$SRV_TMP/pass"
	FTPFS_MOUNT_STDIN=$SRV_TMP/pass refused "$P encrypted key, wrong passphrase (names the key and the methods)" \
		"tried: .*id_ed25519_enc \(cannot load it: wrong passphrase\?\).*the server offers: [a-z,-]*publickey" \
		"$url" -o "known_hosts=$kh" -o "identity_file=$SRV_SSH_KEY_ENC" -o password_stdin
	# ssh-agent holding the key, no identity_file
	out=$(ssh-agent -s) || out=
	eval "$out" >/dev/null
	if [ -n "${SSH_AGENT_PID:-}" ]; then
		srv_track_pid "$SSH_AGENT_PID"
		ssh-add -q "$SRV_SSH_KEY" 2>/dev/null
		if mount_try "$P" "$url" -o "known_hosts=$kh" -d; then
			if grep -q 'authenticated with the agent key' "$LOG"; then
				ok "$P ssh-agent login (SSH_AUTH_SOCK)"
			else
				not_ok "$P ssh-agent login (SSH_AUTH_SOCK)" "$(grep -i auth "$LOG" | tail -n 3)"
			fi
			umount_ok "$P unmount (agent)"
		else
			not_ok "$P ssh-agent login (SSH_AUTH_SOCK)" "$(tail -n 5 "$LOG")"
		fi
		kill "$SSH_AGENT_PID" 2>/dev/null
		unset SSH_AUTH_SOCK SSH_AGENT_PID
	else
		not_ok "$P ssh-agent login: could not start ssh-agent"
	fi

	sshconf_checks "$data"
	fsync_checks "$data"
	wb_checks "$data"
	[ "$cur" != sshd ] || session_checks "$data"

	# --- semantics -----------------------------------------------------
	read -r -a SRV_MOUNT_OPTS <<<"$(srv_opts "$cur")"
	seq=$((seq + 1))
	LOG=$SRV_TMP/$cur-mount-$seq.log
	if ! FTPFS_MOUNT_LOG=$LOG ftpfs_mount "$FTPFS" "$MNT" "$url" -o cache_timeout=0 -f -o log_level=info; then
		not_ok "$P mount for the semantics checks" "$(tail -n 5 "$LOG")"
		SRV_MOUNT_OPTS=()
		srv_stop "$cur"
		return
	fi
	# rename over an existing file, while the server's side reads it: a
	# remove+rename would leave moments with no file at all.
	printf 'v0\n' >"$MNT/target.txt"
	(
		for ((i = 0; i < 400; i++)); do
			cat "$data/target.txt" >/dev/null 2>>"$SRV_TMP/$cur-missing" || true
		done
	) &
	pid=$!
	for ((i = 1; i <= 40; i++)); do
		printf 'v%d\n' "$i" >"$MNT/tmp.txt"
		mv "$MNT/tmp.txt" "$MNT/target.txt" 2>>"$SRV_TMP/$cur-mv.err"
	done
	wait "$pid"
	check_eq "$P rename over an existing file: last version wins" "v40" "$(cat "$data/target.txt")"
	if [ -s "$SRV_TMP/$cur-missing" ] || [ -s "$SRV_TMP/$cur-mv.err" ]; then
		not_ok "$P rename over an existing file is atomic (a reader never sees it missing)" \
			"$(head -n 3 "$SRV_TMP/$cur-missing" "$SRV_TMP/$cur-mv.err")"
	else
		ok "$P rename over an existing file is atomic (400 reads during 40 renames)"
	fi
	# mv -n style: RENAME_NOREPLACE
	printf 'keep\n' >"$MNT/keep.txt"
	printf 'new\n' >"$MNT/new.txt"
	out=$(python3 -c '
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
r = libc.renameat2(-100, sys.argv[1].encode(), -100, sys.argv[2].encode(), 1)
print(os.strerror(ctypes.get_errno()) if r else "ok")' "$MNT/new.txt" "$MNT/keep.txt" 2>&1)
	check_eq "$P renameat2(RENAME_NOREPLACE) onto an existing file: EEXIST, target kept" \
		"File exists keep" "$out $(cat "$data/keep.txt")"
	# df: the server's filesystem
	local want got
	want=$(df -B1 --output=size "$data" | tail -n1 | tr -d ' ')
	got=$(t df -B1 --output=size "$MNT" | tail -n1 | tr -d ' ')
	check_eq "$P df shows the server's filesystem size (statvfs@openssh.com)" "$want" "$got"
	want=$(df --output=iavail "$data" | tail -n1 | tr -d ' ')
	got=$(t df --output=iavail "$MNT" | tail -n1 | tr -d ' ')
	if [ "${got:-0}" -gt 0 ] && [ $((want - got)) -lt 1000 ] && [ $((got - want)) -lt 1000 ]; then
		ok "$P df -i: free inodes as on the server ($got)"
	else
		not_ok "$P df -i: free inodes as on the server" "server $want, mount $got"
	fi
	# statfs answers come along with listings (find asks per folder):
	# each for its own folder (a folder on another filesystem of the
	# server has its own numbers), none kept past a change through the
	# mount.
	local small=$data/small before after
	mkdir -p "$small"
	if mount -t tmpfs -o size=4m tmpfs "$small" 2>/dev/null; then
		srv_track_mount "$small"
		chown "$SRV_USER": "$small"
		t ls "$MNT" "$MNT/small" >/dev/null
		want=$(df -B1 --output=size "$small" | tail -n1 | tr -d ' ')
		got=$(t df -B1 --output=size "$MNT/small" | tail -n1 | tr -d ' ')
		check_eq "$P df of a folder on another filesystem, both just listed: its own size" "$want" "$got"
		want=$(df -B1 --output=size "$data" | tail -n1 | tr -d ' ')
		got=$(t df -B1 --output=size "$MNT" | tail -n1 | tr -d ' ')
		check_eq "$P ... and the root's its own" "$want" "$got"
		t ls "$MNT/small" >/dev/null
		before=$(t df -B1 --output=used "$MNT/small" | tail -n1 | tr -d ' ')
		t dd if=/dev/zero of="$MNT/small/fill" bs=1M count=2 2>/dev/null
		after=$(t df -B1 --output=used "$MNT/small" | tail -n1 | tr -d ' ')
		if [ $((${after:-0} - ${before:-0})) -ge 2000000 ]; then
			ok "$P df right after a write through the mount shows it ($before -> $after bytes used)"
		else
			not_ok "$P df right after a write through the mount shows it" "$before -> $after"
		fi
		rm -f "$MNT/small/fill"
		umount "$small" 2>/dev/null || umount -l "$small"
	else
		note "$P no tmpfs for the statfs-per-folder checks"
	fi
	rmdir "$small" 2>/dev/null
	# ln: a hard link
	printf 'linked\n' >"$MNT/orig.txt"
	if t ln "$MNT/orig.txt" "$MNT/hard.txt" 2>"$SRV_TMP/ln.err"; then
		check_eq "$P ln: same inode on the server" \
			"$(stat -c %i "$data/orig.txt")" "$(stat -c %i "$data/hard.txt" 2>&1)"
		check_eq "$P ln: the new name reads the same" "linked" "$(t cat "$MNT/hard.txt" 2>&1)"
	else
		not_ok "$P ln (hardlink@openssh.com)" "$(cat "$SRV_TMP/ln.err")"
	fi
	out=$(t ln "$MNT/orig.txt" "$MNT/hard.txt" 2>&1)
	case $out in *"File exists"*) ok "$P ln onto an existing name: EEXIST" ;;
	*) not_ok "$P ln onto an existing name: EEXIST" "$out" ;; esac
	mkdir "$MNT/adir"
	# (ln(1) refuses directories itself: call link(2) directly)
	out=$(t python3 -c 'import os, sys
try:
    os.link(sys.argv[1], sys.argv[2]); print("linked")
except OSError as e:
    print(e.strerror)' "$MNT/adir" "$MNT/adir2" 2>&1)
	check_eq "$P link(2) of a directory: EPERM" "Operation not permitted" "$out"
	# symlink: OpenSSH's argument order gives link -> target
	t ln -s a.txt "$MNT/sym"
	check_eq "$P ln -s: the server's link points where asked" "a.txt" "$(readlink "$data/sym")"
	# modes asked for at creation, not masked again by the server's umask
	# (sshd's 022): a group-writable umask's files and folders stay so
	(umask 002 && mkdir "$MNT/g775" && printf 'g\n' >"$MNT/g664" &&
		umask 0 && mkdir -m 1777 "$MNT/t1777" &&
		python3 -c 'import os, sys; os.close(os.open(sys.argv[1], os.O_CREAT | os.O_WRONLY, 0o666))' "$MNT/o666")
	check_eq "$P modes at creation: the caller's umask only (775 664 1777 666)" \
		"775 664 1777 666" "$(stat -c %a "$data/g775" "$data/g664" "$data/t1777" "$data/o666" 2>&1 | tr '\n' ' ' | sed 's/ $//')"
	rm -rf "$MNT/g775" "$MNT/g664" "$MNT/t1777" "$MNT/o666"
	# ... but a folder keeps the setgid bit its parent gives it
	mkdir -p "$data/sg" && chown "$SRV_USER": "$data/sg" && chmod 2775 "$data/sg"
	(umask 022 && mkdir "$MNT/sg/sub")
	check_eq "$P mkdir in a setgid folder: the bit is inherited (2755)" \
		"2755" "$(stat -c %a "$data/sg/sub" 2>&1)"
	rm -rf "$data/sg"
	# touch -h (utimensat AT_SYMLINK_NOFOLLOW, rsync's lutimes): the
	# link's own times (lsetstat@openssh.com), never its target's
	local tgt_before link_rc=0
	tgt_before=$(stat -c %Y "$data/a.txt")
	out=$(t touch -h -d @1500000000 "$MNT/sym" 2>&1) || link_rc=$?
	check_eq "$P touch -h on a symlink leaves its target's mtime" "$tgt_before" "$(stat -c %Y "$data/a.txt")"
	if [ "$link_rc" -eq 0 ]; then
		check_eq "$P ... and sets the link's own" "1500000000" "$(stat -c %Y "$data/sym")"
	else
		case $out in *"not supported"*) ok "$P ... which this server cannot set: EOPNOTSUPP" ;;
		*) not_ok "$P ... and sets the link's own (or says it cannot)" "$out" ;; esac
	fi
	# errno the server folds into FAILURE
	out=$(t mkdir "$MNT/adir" 2>&1)
	case $out in *"File exists"*) ok "$P mkdir of an existing dir: EEXIST" ;;
	*) not_ok "$P mkdir of an existing dir: EEXIST" "$out" ;; esac
	printf 'x\n' >"$MNT/adir/f"
	out=$(t rmdir "$MNT/adir" 2>&1)
	case $out in *"not empty"*) ok "$P rmdir of a non-empty dir: ENOTEMPTY" ;;
	*) not_ok "$P rmdir of a non-empty dir: ENOTEMPTY" "$out" ;; esac
	# pwrite in place, no spool: dd conv=notrunc into a 4 MiB file
	head -c 4194304 /dev/urandom >"$SRV_TMP/big"
	cp "$SRV_TMP/big" "$MNT/big"
	printf 'PATCH' | dd of="$MNT/big" bs=1 seek=3000000 conv=notrunc status=none
	printf 'PATCH' | dd of="$SRV_TMP/big" bs=1 seek=3000000 conv=notrunc status=none
	check_eq "$P pwrite in place (dd conv=notrunc into 4 MiB)" \
		"$(sha256sum <"$SRV_TMP/big")" "$(sha256sum <"$data/big")"
	# utimensat: mtime set, atime kept
	touch -a -d '2011-01-01 00:00:00' "$data/a.txt"
	t touch -m -d '2012-02-02 02:02:02' "$MNT/a.txt"
	check_eq "$P touch -m: mtime set, atime kept" \
		"$(date -d '2011-01-01 00:00:00' +%s) $(date -d '2012-02-02 02:02:02' +%s)" \
		"$(stat -c '%X %Y' "$data/a.txt")"
	# files renamed while open: their handles follow (a handle whose
	# session was lent out reopens under the new name)
	SRV_UID=$SRV_UID SRV_GID=$SRV_GID python3 "$here/shared_ops.py" prepare "$data" >/dev/null 2>&1
	for out in many-files many-fds; do
		if SRV_UID=$SRV_UID SRV_GID=$SRV_GID t python3 "$here/shared_ops.py" \
			"$out" "$MNT" "$data" 20 >"$SRV_TMP/$cur-$out.out" 2>&1; then
			ok "$P 20 handles renamed while open ($out): writes land under the new names"
		else
			not_ok "$P 20 handles renamed while open ($out)" "$(grep -m5 -E 'problem|setup' "$SRV_TMP/$cur-$out.out")"
		fi
	done
	# pjdfstest-style spot checks (chmod, utimensat, truncate, link,
	# rename, unlink, mkdir): each of its lines is one check here
	t python3 "$here/posix_spot.py" "$MNT" "$data" >"$SRV_TMP/$cur-posix.out" 2>&1
	while IFS= read -r line; do
		case $line in
		"ok - "*) ok "$P posix: ${line#ok - }" ;;
		"FAIL - "*) not_ok "$P posix: ${line#FAIL - }" ;;
		"#   "*) printf '%s\n' "$line" ;;
		esac
	done <"$SRV_TMP/$cur-posix.out"
	grep -qE '^[0-9]+ passed, 0 failed$' "$SRV_TMP/$cur-posix.out" ||
		not_ok "$P posix_spot.py ran to the end" "$(tail -n 5 "$SRV_TMP/$cur-posix.out")"
	[ "$cur" = sshd ] && parallel_reads "$P" "$data"
	umount_ok "$P unmount"
	SRV_MOUNT_OPTS=()
	srv_stop "$cur"
}

# The parallel read-ahead of a large file read sequentially (sftp_prefetch.c):
# the bytes, a write through another handle in the range it has fetched,
# and its sessions killed mid-read (no hang; the reader should go on).
parallel_reads() {
	local P=$1 data=$2 big=$SRV_TMP/large.bin want out rc pid p
	head -c $((48 * 1048576)) /dev/urandom >"$big"
	# a file each: none is in the page cache from the check before
	for p in large.bin large2.bin large3.bin; do cp "$big" "$data/$p"; done
	chown "$SRV_USER": "$data"/large*.bin
	want=$(sha256sum <"$big")
	check_eq "$P 48 MiB read sequentially (parallel read-ahead)" \
		"$want" "$(t sha256sum <"$MNT/large.bin" 2>&1)"
	# 20 MiB read, then 4 KiB written 3 MiB ahead of the reader through
	# another handle: the reader must see them (fetched ahead before).
	out=$(t python3 - "$MNT/large2.bin" "$data/large2.bin" <<'PY' 2>&1
import os, sys
m, d = sys.argv[1], sys.argv[2]
r = os.open(m, os.O_RDONLY)
pos = 0
while pos < 20 << 20:
    pos += len(os.pread(r, 1 << 20, pos))
w = os.open(m, os.O_WRONLY)
os.pwrite(w, b"X" * 4096, (23 << 20) + 5)
os.close(w)
got = b""
while True:
    b = os.pread(r, 1 << 20, pos + len(got))
    if not b:
        break
    got += b
with open(d, "rb") as f:
    f.seek(pos)
    exp = f.read()
print("same" if got == exp else "differs (%d vs %d bytes)" % (len(got), len(exp)))
PY
)
	check_eq "$P a write through another handle ahead of a sequential reader is read back" "same" "$out"
	# A slow sequential reader; its server sessions killed after 1 s.
	t python3 - "$MNT/large3.bin" >"$SRV_TMP/killed.out" 2>&1 <<'PY' &
import hashlib, os, sys, time
h = hashlib.sha256()
try:
    with open(sys.argv[1], "rb", buffering=0) as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
            time.sleep(0.05)
    print(h.hexdigest() + "  -")
except OSError as e:
    print("error", e.strerror)
PY
	pid=$!
	sleep 1
	# Twice: the second time the sessions made again meanwhile (some in
	# their handshake or login) die too.
	for p in $(ps -o pid= --ppid "${SRV_PIDS[$cur]}"); do kill "$p" 2>/dev/null; done
	sleep 0.3
	for p in $(ps -o pid= --ppid "${SRV_PIDS[$cur]}"); do kill "$p" 2>/dev/null; done
	rc=0
	wait "$pid" || rc=$?
	out=$(cat "$SRV_TMP/killed.out")
	# The read resumes at its offset on new sessions (sb_read): every byte.
	case $rc:$out in
	"0:$want") ok "$P sessions killed during a parallel read: the reader gets every byte" ;;
	*) not_ok "$P sessions killed during a parallel read: the reader gets every byte" "exit $rc" "$out" \
		"log: $(grep -v trace "$LOG" | tail -n 8 | tr '\n' '|')" ;;
	esac
	check_eq "$P ... and the next read is whole" \
		"$want" "$(t sha256sum <"$MNT/large3.bin" 2>&1)"
	rm -f "$data"/large*.bin
}

for s in $SERVERS; do
	suite_server "$s"
done
if compgen -G "$SRV_TMP/asan/*" >/dev/null; then
	not_ok "no ASan/UBSan/TSan reports" "$(head -n 40 "$SRV_TMP"/asan/*)"
else
	ok "no ASan/UBSan/TSan reports"
fi
left=$(awk -v p="$SRV_TMP/" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo)
if [ -z "$left" ]; then ok "no mounts left"; else not_ok "no mounts left" "$left"; fi
printf '%d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
