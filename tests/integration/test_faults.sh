#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Fault suite of the write path ("writes that never lose data"): what
# ftpfs does when an upload cannot complete.  Run as root.
#
#   FTPFS=build/ftpfs            binary under test (default build/ftpfs)
#   SERVERS="vsftpd proftpd pureftpd pyftpdlib"   servers to run against
#   FTPFS_OPTS="-o ..."          extra mount arguments for every mount
#   SRV_KEEP=1                   keep the temp dir (logs) afterwards
#   FAULTS="kill diskfull perms quota"   scenarios to run (default all)
#
# Scenarios, per server:
#   kill      the server process serving the session is killed while cp
#             copies a big file (fed through a pipe that pauses, so the
#             kill lands mid-upload): cp must fail, or the server must hold
#             every byte; the partial file must not stay under the real
#             name; the mount goes on working.  vsftpd, proftpd and
#             pure-ftpd run a process per session (the one holding the file
#             open is killed); pyftpdlib serves all sessions in one process,
#             so the whole server is killed and started again: the partial
#             copy must be gone after the mount's next operation.
#   diskfull  the server's folder is a 1 MiB tmpfs: cp of 4 MiB fails with
#             ENOSPC or EIO and leaves nothing under the real name; a
#             spooled in-place edit that does not fit fails at close, keeps
#             the original intact, no temporary file on the server, and the
#             spool directory keeps the data with a log line naming it.
#   perms     a directory and a file the FTP user may not write: EACCES for
#             create, mkdir, rm, rename, truncate, append, in-place edit,
#             O_RDWR; nothing changes on the server.  A file anyone may
#             write inside the read-only directory can be edited in place
#             and truncated (no temporary file can be made beside it).
# And once, with pyftpdlib plus a quota handler (552 like a quota-limited
# server): 552 in the middle of a STOR, 552 after all the data (the file
# truncated), a lying "226" with a short file (SIZE must catch it), and no
# reply at all to a STOR (EIO at -o timeout; what the upload left is
# removed over another connection, within 3 s).
# And once, with the scripted fake server answering 502 to STOR, APPE and
# MKD (enosys): EIO each time, never ENOSYS, and every later create still
# reaches the server.  And once a frozen pyftpdlib (frozen, see there), and
# hostile fake servers (hostile): a listing with impossible names and
# values, a listing and a download that never end, a reply that never
# ends, a server answering only 150.
#
# Prints "ok - NAME" or "FAIL - NAME" per check and "N passed, N failed";
# exits non-zero on any failure.
set -u
set -o pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/servers.sh
. "$repo/tests/lib/servers.sh"

export LC_ALL=C.UTF-8
FTPFS=${FTPFS:-build/ftpfs}
case $FTPFS in /*) ;; *) FTPFS=$repo/$FTPFS ;; esac
SERVERS=${SERVERS:-$SRV_ALL}
FAULTS=${FAULTS:-kill diskfull perms quota enosys frozen hostile}
read -r -a EXTRA_OPTS <<<"${FTPFS_OPTS:-}"
T=${FTPFS_TEST_TIMEOUT:-60}
FTPFS_REAL=$(readlink -f "$FTPFS" 2>/dev/null || printf '%s' "$FTPFS")

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
	if [ $# -gt 0 ]; then
		printf '%s\n' "$@" | head -n 40 | sed 's/^/#   /'
	fi
}
note() { printf '# %s\n' "$*"; }
t() { timeout -k 5 "$T" "$@"; }
check_eq() { # NAME EXPECTED ACTUAL [DETAIL...]
	local name=$1 exp=$2 act=$3
	shift 3
	if [ "$exp" == "$act" ]; then
		ok "$name"
	else
		not_ok "$name" "expected: $exp" "actual:   $act" "$@"
	fi
}
sha() { sha256sum <"$1" 2>/dev/null | cut -c1-16; }

srv_init
# tmpfs mounts of the disk-full scenario live outside SRV_TMP and are
# unmounted after the servers and FUSE mounts are gone.
TMPFS_DIRS=()
faults_cleanup() {
	local d
	srv_cleanup
	for d in "${TMPFS_DIRS[@]}"; do
		umount "$d" 2>/dev/null || umount -l "$d" 2>/dev/null
		rmdir "$d" 2>/dev/null
	done
}
trap 'faults_cleanup' EXIT
trap 'faults_cleanup; trap - INT; kill -INT $$' INT
trap 'faults_cleanup; trap - TERM; kill -TERM $$' TERM

umask 022
MNT=$SRV_TMP/mnt
WORK=$SRV_TMP/work
mkdir -p "$WORK"
head -c $((64 * 1048576)) /dev/urandom >"$WORK/r64M"
head -c $((4 * 1048576)) /dev/urandom >"$WORK/r4M"
head -c 100000 /dev/urandom >"$WORK/r100K"

mount_it() { # NAME URL [ARGS...]: foreground mount at $MNT, log in $MLOG
	local name=$1 url=$2
	shift 2
	MLOG=$SRV_TMP/$cur-$RANDOM-mount.log
	: >"$MLOG"
	if FTPFS_MOUNT_LOG=$MLOG ftpfs_mount "$FTPFS" "$MNT" "$url" -f \
		-o "spool_dir=$SPOOL" "${EXTRA_OPTS[@]}" "$@"; then
		ok "$name"
		return 0
	fi
	not_ok "$name" "ftpfs exit status $FTPFS_MOUNT_RC" "$(tail -n 20 "$MLOG")"
	ftpfs_umount "$MNT" "$FTPFS_REAL" >/dev/null 2>&1
	return 1
}
# ftpfs threads' stacks, when it does not exit after unmounting.
stacks_of() { # PID
	if command -v gdb >/dev/null 2>&1; then
		timeout 30 gdb -p "$1" -batch -ex 'thread apply all bt' 2>/dev/null |
			grep -E '^(Thread|#)' | head -n 60
	else
		local t
		for t in /proc/"$1"/task/*; do
			printf '%s %s\n' "${t##*/}" "$(cat "$t/wchan" 2>/dev/null)"
			head -n 6 "$t/stack" 2>/dev/null
		done
	fi
}

umount_it() {
	local i left
	if srv_is_mounted "$MNT"; then
		timeout 20 fusermount3 -u "$MNT" 2>/dev/null
		for ((i = 0; i < 150; i++)); do
			left=$(srv_tagged_pids "$FTPFS_REAL")
			[ -n "$left" ] || break
			sleep 0.1
		done
		for i in $left; do
			note "ftpfs $i still running 15 s after fusermount3 -u; its threads:"
			stacks_of "$i" | sed 's/^/#     /'
		done
	fi
	if ftpfs_umount "$MNT" "$FTPFS_REAL" && [ -z "$left" ]; then
		ok "$1"
	else
		not_ok "$1" "fusermount3 -u failed or ftpfs did not exit"
	fi
}

# The mount still works: list, write, read back.
still_works() { # NAME
	local out
	out=$( (t ls "$MNT" >/dev/null && printf 'alive\n' >"$MNT/alive-$cur.txt" &&
		t cat "$MNT/alive-$cur.txt") 2>&1)
	check_eq "$1" "alive" "$out" "$(tail -n 5 "$MLOG")"
	rm -f "$MNT/alive-$cur.txt"
}

# A write error as cp/dd/close report it: ENOSPC, EDQUOT or EIO.
is_write_error() {
	case $1 in
	*"No space left on device"* | *"Disk quota exceeded"* | *"Input/output error"*) return 0 ;;
	esac
	return 1
}

# Python: open PATH O_RDWR, pwrite LEN random bytes (seed) at OFF, close;
# prints the errno name of the failing call (or "ok") and writes the
# expected content (the model) to MODEL.
inplace_edit() { # PATH OFF LEN MODEL
	t python3 - "$@" <<'EOF'
import errno, os, random, sys
path, off, n, model = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
with open(path, "rb") as f:
    data = bytearray(f.read())
buf = random.Random(7).randbytes(n)
if off > len(data):
    data.extend(b"\0" * (off - len(data)))
data[off:off + n] = buf
with open(model, "wb") as f:
    f.write(data)
step = "open"
try:
    fd = os.open(path, os.O_RDWR)
    step = "pwrite"
    os.pwrite(fd, buf, off)
    step = "close"
    os.close(fd)
    print("ok")
except OSError as e:
    print("%s at %s" % (errno.errorcode.get(e.errno), step))
EOF
}

# After a failed spooled upload: the log names a spool file that holds the
# expected content.
check_spool_kept() { # NAME REMOTE-NAME MODEL
	local name=$1 rname=$2 model=$3 line kept
	line=$(grep -F "upload of " "$MLOG" | grep -F "$rname" | grep -F "kept in" | tail -n 1)
	kept=${line##*kept in }
	kept=${kept%% *}
	if [ -z "$line" ]; then
		not_ok "$name: a log line names the spool file" \
			"no 'upload of ...$rname... kept in ...' in the ftpfs log" \
			"$(grep -v 'trace:' "$MLOG" | tail -n 8)" \
			"spool dir: $(ls -la "$SPOOL" 2>&1 | tail -n +2)"
		return
	fi
	ok "$name: a log line names the spool file ($line)"
	check_eq "$name: the spool file holds the data that could not be uploaded" \
		"$(sha "$model")" "$(sha "$kept")" "kept: $kept" "$(ls -la "$SPOOL" 2>&1)"
}

# A temporary copy that could not be removed at once (the upload timed out:
# the server counts as lost for a moment) goes when a login in the
# background gets in: allowed 3 s.
no_temp_left() { # NAME DIR
	local left n i
	for i in $(seq 30); do
		left=$(cd "$2" && find . -name '.*.ftpfs-*' 2>&1)
		[ -z "$left" ] && break
		sleep 0.1
	done
	if [ -z "$left" ]; then
		ok "$1"
		return
	fi
	# What ftpfs and the server did with each name left.
	n=$(printf '%s\n' "$left" | head -n 1)
	n=${n##*/}
	not_ok "$1" "left: $left" \
		"ftpfs log: $(grep -v 'trace:' "$MLOG" | grep -F -e "$n" -e 'upload' | tail -n 8)" \
		"ftpfs trace: $(grep -F "$n" "$MLOG" | tail -n 12)" \
		"server log: $(grep -F "$n" "$SRV_TMP/srv-$cur/protocol.log" 2>/dev/null | tail -n 12)"
}

# --- scenario: the server session is killed mid-upload --------------------------
# Pids below PID in the process tree (ProFTPD clears its environment, so
# the test tag does not reach its session processes).
descendants() {
	local c
	for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		printf '%s\n' "$c"
		descendants "$c"
	done
}

# The server process that holds FILE open: the session's.
holder_of() {
	local f=$1 p fd
	for p in $(descendants "${SRV_PIDS[$cur]}"); do
		for fd in /proc/"$p"/fd/*; do
			if [ "$(readlink "$fd" 2>/dev/null)" = "$f" ]; then
				printf '%s\n' "$p"
				break
			fi
		done
	done
}

# Start the scripted fake server on $FAKE_ROOT with ARGS; FAKE_PID, FAKE_URL.
fake_start() {
	local port
	port=$(srv_free_port)
	"$SRV_PY" "$repo/tests/fakeftp/fakeftp.py" --root "$FAKE_ROOT" \
		--port "$port" "$@" >>"$SRV_TMP/fake.out" 2>&1 &
	FAKE_PID=$!
	srv_track_pid "$FAKE_PID"
	FAKE_URL="ftp://127.0.0.1:$port/"
	srv_wait_listen "$port" "$FAKE_PID"
}

# alive NAME: the mount still answers (the root's attributes, a listing)
alive() {
	if t stat "$MNT" >/dev/null 2>&1 && t ls "$MNT" >/dev/null 2>&1; then
		ok "$1: the mount still works"
	else
		not_ok "$1: the mount still works" "$(tail -n 5 "$MLOG")"
	fi
}

# A hostile server (the scripted fake one): each case ends in a clear
# error or a sane answer, and the mount lives on.
suite_hostile() {
	cur=fakeftp
	local P="[hostile]" out rc t0 secs rss
	FAKE_ROOT=$SRV_TMP/hostile-root
	mkdir -p "$FAKE_ROOT"
	printf '0123456789' >"$FAKE_ROOT/data.bin"
	printf 'hello\n' >"$FAKE_ROOT/good.txt"
	SPOOL=$SRV_TMP/hostile-spool
	mkdir -p "$SPOOL"
	# 1. a listing with names no file may have, sizes and dates out of range
	printf '%b' \
		'type=file;size=6;modify=20240101000000; good.txt\r\n' \
		'type=file;size=5;modify=20240101000000; a/b\r\n' \
		'type=dir;modify=20240101000000; ..\r\n' \
		'type=dir;modify=20240101000000; .\r\n' \
		'type=file;size=99999999999999999999999999;modify=20240101000000; huge.bin\r\n' \
		'type=file;size=5;modify=99999999999999; future.txt\r\n' \
		'type=file;size=5;modify=00000000000000; zero.txt\r\n' \
		'type=file;size=5;modify=20240101000000; cr\rname\r\n' \
		'type=file;size=5;modify=20240101000000; nul\0name\r\n' \
		'type=file;size=-5;modify=20240101000000; neg.txt\r\n' \
		'garbage line without facts\r\n' >"$SRV_TMP/evil.mlsd"
	if fake_start --listing "$SRV_TMP/evil.mlsd" && mount_it "$P mount (evil listing)" "$FAKE_URL" -o cache_timeout=0; then
		out=$(t ls -A "$MNT" 2>&1)
		rc=$?
		if [ "$rc" -eq 0 ] && grep -qx "good.txt" <<<"$out" &&
			! grep -qE '(^|/)\.\.?$|/' <<<"$out"; then
			ok "$P names with '/', '.', '..', CR or NUL are left out: $(tr '\n' ' ' <<<"$out")"
		else
			not_ok "$P a hostile listing: ls works and shows no impossible name" "exit $rc: $out"
		fi
		check_eq "$P the sane entry reads" "hello" "$(t cat "$MNT/good.txt" 2>&1)"
		alive "$P evil listing"
		umount_it "$P unmount"
	fi
	srv_kill_group "$FAKE_PID"
	# 2. a listing that never ends: cut off, memory bounded
	if fake_start --endless listing && mount_it "$P mount (endless listing)" "$FAKE_URL" -o cache_timeout=0; then
		t0=$EPOCHREALTIME
		out=$(timeout 120 ls "$MNT" 2>&1 >/dev/null)
		rc=$?
		secs=$(srv_since "$t0")
		rss=$(awk '/VmHWM/ { print $2 }' "/proc/$FTPFS_MOUNT_PID/status" 2>/dev/null)
		if [ "$rc" -ne 0 ] && [ "$rc" -lt 124 ] && [ "${rss:-0}" -lt 600000 ]; then
			ok "$P an endless listing is refused in ${secs}s, peak RSS ${rss} KiB: $out"
		else
			not_ok "$P an endless listing is refused, memory bounded" "exit $rc after ${secs}s, peak RSS ${rss:-?} KiB: $out"
		fi
		if grep -q "entries: the listing is refused" "$MLOG"; then
			ok "$P the refusal is logged"
		else
			not_ok "$P the refusal is logged" "$(tail -n 5 "$MLOG")"
		fi
		if t stat "$MNT" >/dev/null 2>&1; then
			ok "$P the mount still answers stat"
		else
			not_ok "$P the mount still answers stat"
		fi
		umount_it "$P unmount"
	fi
	srv_kill_group "$FAKE_PID"
	# 3. a data connection that sends forever: the file's size is what counts
	if fake_start --endless data && mount_it "$P mount (endless data)" "$FAKE_URL" -o cache_timeout=0; then
		check_eq "$P a download that never ends reads the listed 10 bytes" \
			"0123456789" "$(timeout 30 cat "$MNT/data.bin" 2>&1)"
		alive "$P endless data"
		umount_it "$P unmount"
	fi
	srv_kill_group "$FAKE_PID"
	# 4. a reply that never ends: refused past the reply size cap
	if fake_start --endless reply=MLST && mount_it "$P mount (endless reply)" "$FAKE_URL" -o cache_timeout=0; then
		t0=$EPOCHREALTIME
		out=$(timeout 60 stat "$MNT/good.txt" 2>&1)
		rc=$?
		secs=$(srv_since "$t0")
		if [ "$rc" -ne 0 ] && [ "$rc" -lt 124 ] && grep -q "Input/output error" <<<"$out"; then
			ok "$P an endless reply: EIO in ${secs}s"
		else
			not_ok "$P an endless reply: EIO" "exit $rc after ${secs}s: $out"
		fi
		umount_it "$P unmount"
	fi
	srv_kill_group "$FAKE_PID"
	# 5. a server that answers every command with 150 and nothing more
	if fake_start --prelim-only; then
		t0=$EPOCHREALTIME
		out=$(FTPFS_TEST_TAG=$SRV_TMP timeout 60 "$FTPFS" "$FAKE_URL" "$MNT" -o connect_timeout=3 2>&1)
		rc=$?
		secs=$(srv_since "$t0")
		if srv_is_mounted "$MNT"; then
			not_ok "$P only 150 replies: the mount fails" "mounted"
			ftpfs_umount "$MNT" "$FTPFS_REAL" >/dev/null 2>&1
		elif [ "$rc" -eq 1 ] && awk -v s="$secs" 'BEGIN { exit !(s < 15) }' &&
			[ "$(wc -l <<<"$out")" -eq 1 ]; then
			ok "$P only 150 replies: the mount fails in ${secs}s: $out"
		else
			not_ok "$P only 150 replies: the mount fails within 15 s, one line" "exit $rc after ${secs}s: $out"
		fi
	fi
	srv_kill_group "$FAKE_PID"
	# 6. a download cut short by the server (426 after 1 MiB, at a read's
	#    boundary): the read goes on from there (REST), the bytes whole
	head -c $((3 * 1048576)) /dev/urandom >"$FAKE_ROOT/cut.bin"
	if fake_start --retr-cut 1048576 --log "$SRV_TMP/fake-cut.log" &&
		mount_it "$P mount (RETR cut after 1 MiB)" "$FAKE_URL" -o cache_timeout=0; then
		check_eq "$P a download cut short (426 after 1 MiB) resumes: every byte, no error" \
			"$(sha "$FAKE_ROOT/cut.bin")" "$(t python3 "$WT_SHA" "$MNT/cut.bin" 2>&1)"
		check_eq "$P ... from where it stopped (REST 1048576)" 1 \
			"$(grep -c '<- REST 1048576$' "$SRV_TMP/fake-cut.log" | awk '{ print ($1 > 0) }')"
		umount_it "$P unmount"
	fi
	srv_kill_group "$FAKE_PID"
	# 7. every byte, then a failure instead of 226: the bytes the listing
	#    announced all came, so the reader has them; the reply is read
	#    (and logged) by the connection's next command, whose own reply
	#    then comes through (one connection: the order is exercised)
	printf 'first file\n' >"$FAKE_ROOT/one.txt"
	printf 'second file\n' >"$FAKE_ROOT/two.txt"
	if fake_start --retr-final "451 Scripted failure after the end." \
		--log "$SRV_TMP/fake-final.log" &&
		mount_it "$P mount (451 after every byte)" "$FAKE_URL" -o connections=1; then
		check_eq "$P all bytes, then 451: the reader has them" \
			"first file" "$(t cat "$MNT/one.txt" 2>&1)"
		check_eq "$P ... and the next file on the same connection too" \
			"second file" "$(t cat "$MNT/two.txt" 2>&1)"
		check_eq "$P ... and a listing after it" \
			"$(ls "$FAKE_ROOT" | sort | tr '\n' ' ')" "$(t ls "$MNT" 2>&1 | sort | tr '\n' ' ')"
		check_eq "$P ... the 451s are logged" 1 \
			"$(grep -c 'ended with 451' "$MLOG" | awk '{ print ($1 > 0) }')"
		umount_it "$P unmount"
	fi
	srv_kill_group "$FAKE_PID"
	# 8. that owed final reply, late or the session's last word: it is
	#    not a blocked data channel, and a change sent after it is
	#    neither lost nor refused (mkdir is not retried: it must go on a
	#    live session)
	printf 'third file\n' >"$FAKE_ROOT/three.txt"
	if fake_start --final-delay 3 --log "$SRV_TMP/fake-late.log" &&
		mount_it "$P mount (226 3 s late, data_timeout=2)" "$FAKE_URL" \
			-o connections=1,data_timeout=2,data_mode=passive; then
		t ls "$MNT" >/dev/null 2>&1
		check_eq "$P a late 226 is not a blocked channel: three files read" \
			"first file second file third file" \
			"$(for f in one two three; do t cat "$MNT/$f.txt" 2>&1; done | tr '\n' ' ' | sed 's/ $//')"
		check_eq "$P ... and nothing said of firewalls" 0 \
			"$(grep -c -i 'blocked\|firewall\|no data connection' "$MLOG")"
		umount_it "$P unmount"
	fi
	srv_kill_group "$FAKE_PID"
	local how
	for how in "421" "500-end"; do
		rmdir "$FAKE_ROOT/new-$how" 2>/dev/null
		if [ "$how" = 421 ]; then
			fake_start --mkd --retr-final "421 Service closing control connection." \
				--log "$SRV_TMP/fake-$how.log"
		else
			fake_start --mkd --retr-final "500 OOPS: child died" --final-delay 0.02 \
				--final-ends --log "$SRV_TMP/fake-$how.log"
		fi &&
			mount_it "$P mount (a download's final reply: $how)" "$FAKE_URL" -o connections=1 ||
			continue
		t ls "$MNT" >/dev/null 2>&1
		t cat "$MNT/one.txt" >/dev/null 2>&1
		[ "$how" = 421 ] && sleep 0.5
		out=$(t mkdir "$MNT/new-$how" 2>&1) && [ -d "$FAKE_ROOT/new-$how" ] &&
			ok "$P after a download ended with $how, mkdir goes on a live session" ||
			not_ok "$P after a download ended with $how, mkdir goes on a live session" "$out"
		umount_it "$P unmount"
		srv_kill_group "$FAKE_PID"
	done
	hostile_replies
}

# 6. Replies real servers do not send, one command at a time: overflowing
# numbers, codes that are not three digits, addresses out of range, a
# multi-line reply that ends with another code.  MLST/MLSD are switched
# off so that SIZE, MDTM and LIST are used.  Each case ends in the right
# answer or a clear error (never a hang, never a crash), and the mount
# still answers afterwards.
hostile_replies() {
	local P="[hostile replies]" rule out rc secs t0 i=0
	local -a cases=(
		"SIZE=213 99999999999999999999999999"
		"SIZE=213 -5"
		"SIZE=213 12abc"
		"MDTM=213 99999999999999999999"
		"MDTM=213 2024"
		"MDTM=213 20241399256199"
		"EPSV=229 Entering Extended Passive Mode (|||99999|)"
		"PASV=227 Entering Passive Mode (127,0,0,1,300,999)"
		"RETR=99 two digits"
		"RETR=abc no code at all"
		"RETR=150-opening\\n226 but another code ends it"
		"CWD=2500 four digits"
		"TYPE=999999999999 huge"
		"LIST=150 here\\n550-a\\n226 mixed"
	)
	for rule in "${cases[@]}"; do
		i=$((i + 1))
		# PASV too, when EPSV is the one that lies (else ftpfs would
		# fall back to a sane PASV: fine, but not the case)
		if ! fake_start --no MLST --no MLSD --reply "$rule"; then
			not_ok "$P $i start the fake server"
			continue
		fi
		MLOG=$SRV_TMP/hostile-$i.log
		t0=$EPOCHREALTIME
		if ! FTPFS_MOUNT_LOG=$MLOG ftpfs_mount "$FTPFS" "$MNT" "$FAKE_URL" -f \
			-o "spool_dir=$SPOOL,cache_timeout=0,data_timeout=3,timeout=10,connect_timeout=5"; then
			# a command the mount itself needs: refused, clearly
			secs=$(srv_since "$t0")
			out=$(grep -v 'trace:' "$MLOG" | tail -n 1)
			if [ "$FTPFS_MOUNT_RC" = 1 ] && [ -n "$out" ] &&
				awk -v s="$secs" 'BEGIN { exit !(s < 30) }'; then
				ok "$P $i ${rule%%=*} answered '${rule#*=}': the mount is refused in ${secs}s: $out"
			else
				not_ok "$P $i ${rule%%=*} answered '${rule#*=}': mounted, or refused with a message" \
					"exit $FTPFS_MOUNT_RC after ${secs}s" "$(tail -n 5 "$MLOG")"
			fi
			ftpfs_umount "$MNT" "$FTPFS_REAL" >/dev/null 2>&1
			srv_kill_group "$FAKE_PID"
			continue
		fi
		t0=$EPOCHREALTIME
		out=$( (timeout 40 ls -l "$MNT"; timeout 40 cat "$MNT/data.bin"; echo) 2>&1)
		rc=$?
		secs=$(srv_since "$t0")
		if [ "$rc" -ge 124 ] || ! kill -0 "$FTPFS_MOUNT_PID" 2>/dev/null; then
			not_ok "$P $i ${rule%%=*} answered '${rule#*=}': an answer or an error, no hang, no crash" \
				"exit $rc after ${secs}s: $out" "$(grep -v 'trace:' "$MLOG" | tail -n 5)"
		elif grep -q 0123456789 <<<"$out" || grep -q "Input/output error" <<<"$out"; then
			ok "$P $i ${rule%%=*} answered '${rule#*=}': $(grep -q 0123456789 <<<"$out" && echo "read right" || echo "EIO") in ${secs}s"
		else
			not_ok "$P $i ${rule%%=*} answered '${rule#*=}': the right bytes or EIO" "$out"
		fi
		# (stat: SIZE and MDTM; a listing would meet LIST's lie again;
		# after a request that timed out, others fail at once for a
		# second: by design, see README "When the server goes away")
		sleep 1.2
		check_eq "$P $i: the mount still answers" "10" \
			"$(t stat -c %s "$MNT/data.bin" 2>&1)"
		umount_it "$P $i unmount"
		srv_kill_group "$FAKE_PID"
	done
}

# A frozen server (pyftpdlib, one process for every session, SIGSTOPped)
# under a reader in the middle of a file, a reader of a file never seen, a
# writer and an uncached ls, with -o timeout=5: each fails with EIO (not
# the socket's errno) within the deadline, the mount stays, and after
# SIGCONT the same mount works again without a remount.
suite_frozen() {
	cur=pyftpdlib
	local P="[frozen pyftpdlib, -o timeout=5]" dir=$SRV_TMP/frozen-data pid
	local out secs t0 lim=8 flag=$SRV_TMP/frozen.flag
	mkdir -p "$dir/d1" "$dir/d2"
	head -c $((48 * 1048576)) /dev/urandom >"$dir/stream.bin"
	head -c 100000 /dev/urandom >"$dir/unseen.bin"
	chown -R "$SRV_USER" "$dir"
	if ! srv_start pyftpdlib "$dir"; then
		not_ok "$P start pyftpdlib"
		return
	fi
	pid=${SRV_PIDS[pyftpdlib]}
	SPOOL=$SRV_TMP/frozen-spool
	mkdir -p "$SPOOL"
	if ! mount_it "$P mount" "$(srv_url pyftpdlib)" -o timeout=5,cache_timeout=0; then
		srv_stop pyftpdlib
		return
	fi
	ls "$MNT" >/dev/null 2>&1
	rm -f "$flag"
	# a reader that has begun: 1 MiB in, it waits for the freeze, then reads on
	(t python3 -c 'import os, sys, time
f = open(sys.argv[1], "rb", buffering=0)
f.read(1 << 20)
open(sys.argv[2] + ".reading", "w").close()
while not os.path.exists(sys.argv[2]):
    time.sleep(0.05)
t0 = time.time()
try:
    while f.read(1 << 20):
        pass
    print("read to the end in %.1fs" % (time.time() - t0))
except OSError as e:
    print("%s after %.1fs" % (os.strerror(e.errno), time.time() - t0))' \
		"$MNT/stream.bin" "$flag" >"$SRV_TMP/frozen-reader.out" 2>&1) &
	local rpid=$!
	for _ in $(seq 100); do [ -e "$flag.reading" ] && break; sleep 0.05; done
	kill -STOP "$pid"
	: >"$flag"
	# Ctrl-C on a process blocked in the mount (FUSE interrupt): it ends
	# at once, not at the deadline
	printf 'x\n' >"$dir/intr.txt"
	chown "$SRV_USER" "$dir/intr.txt"
	t0=$EPOCHREALTIME
	timeout 60 cat "$MNT/intr.txt" >/dev/null 2>&1 &
	local cpid=$!
	sleep 1
	local t1=$EPOCHREALTIME
	pkill -INT -P "$cpid" cat 2>/dev/null || kill -INT "$cpid" 2>/dev/null
	wait "$cpid" 2>/dev/null
	secs=$(srv_since "$t1")
	# Counted from the signal (not from the start of cat, whose own start
	# takes long on a loaded machine): under a second, as the issue asks,
	# with the deadline at 5 s.
	if awk -v s="$secs" 'BEGIN { exit !(s < 1) }'; then
		ok "$P Ctrl-C on a blocked cat ends it at once (${secs}s after the signal, deadline 5 s; cat started $(srv_since "$t0")s before)"
	else
		not_ok "$P Ctrl-C on a blocked cat ends it within 1 s of the signal" "after ${secs}s (cat started $(srv_since "$t0")s before)"
	fi
	wait "$rpid"
	out=$(cat "$SRV_TMP/frozen-reader.out")
	secs=$(printf '%s' "$out" | sed -n 's/.* after \([0-9.]*\)s$/\1/p')
	if printf '%s' "$out" | grep -q "^Input/output error after" &&
		awk -v s="$secs" -v l="$lim" 'BEGIN { exit !(s < l) }'; then
		ok "$P a reader in the middle of a file: $out"
	else
		not_ok "$P a reader in the middle of a file: EIO within ${lim}s" "$out"
	fi
	for what in "cat unseen.bin" "cp to new.txt" "ls d2"; do
		t0=$EPOCHREALTIME
		case $what in
		cat*) out=$(timeout 60 cat "$MNT/unseen.bin" 2>&1 >/dev/null) ;;
		cp*) out=$(timeout 60 cp "$WORK/r100K" "$MNT/new.txt" 2>&1) ;;
		ls*) out=$(timeout 60 ls "$MNT/d2" 2>&1) ;;
		esac
		secs=$(srv_since "$t0")
		if printf '%s' "$out" | grep -q "Input/output error" &&
			awk -v s="$secs" -v l="$lim" 'BEGIN { exit !(s < l) }'; then
			ok "$P $what: EIO in ${secs}s"
		else
			not_ok "$P $what: EIO within ${lim}s" "after ${secs}s: $out"
		fi
	done
	kill -CONT "$pid"
	sleep 1.2 # past the one second new connects fail at once after a loss
	check_eq "$P after SIGCONT: the same mount reads again" \
		"$(sha "$dir/unseen.bin")" "$(t cat "$MNT/unseen.bin" | sha256sum | cut -c1-16)"
	out=$(t cp "$WORK/r100K" "$MNT/after.bin" 2>&1)
	check_eq "$P after SIGCONT: and writes" "$(sha "$WORK/r100K")" "$(sha "$dir/after.bin")"
	if grep -q "lost the server" "$MLOG" && grep -q "the server answers again" "$MLOG"; then
		ok "$P lost and back: both logged"
	else
		not_ok "$P lost and back: both logged" "$(grep -E "lost|answers" "$MLOG")"
	fi
	umount_it "$P unmount"
	srv_stop pyftpdlib
}

# The first read from a server that froze while the mount was idle (its
# pooled connection open, nothing lost yet), -o timeout=4: cat fails with
# EIO within one deadline.  The kernel sends the failed READ again at once
# (its readahead failed, then it reads the page itself): without
# fs_read_refail, cat waited out the deadline twice (8 s).
suite_frozen_first() {
	cur=pyftpdlib
	local P="[frozen pyftpdlib, first read, -o timeout=4]" dir=$SRV_TMP/frozen1-data pid
	local out secs t0
	mkdir -p "$dir"
	printf 'small\n' >"$dir/small.txt"
	chown -R "$SRV_USER" "$dir"
	if ! srv_start pyftpdlib "$dir"; then
		not_ok "$P start pyftpdlib"
		return
	fi
	pid=${SRV_PIDS[pyftpdlib]}
	SPOOL=$SRV_TMP/frozen1-spool
	mkdir -p "$SPOOL"
	if ! mount_it "$P mount" "$(srv_url pyftpdlib)" -o timeout=4; then
		srv_stop pyftpdlib
		return
	fi
	ls -l "$MNT" >/dev/null 2>&1
	kill -STOP "$pid"
	t0=$EPOCHREALTIME
	out=$(timeout 60 cat "$MNT/small.txt" 2>&1 >/dev/null)
	secs=$(srv_since "$t0")
	kill -CONT "$pid"
	if printf '%s' "$out" | grep -q "Input/output error" &&
		awk -v s="$secs" 'BEGIN { exit !(s < 6.5) }'; then
		ok "$P cat: EIO in ${secs}s (one deadline, not two)"
	else
		not_ok "$P cat: EIO within one deadline (4 s, 6.5 allowed)" "after ${secs}s: $out"
	fi
	sleep 1.2
	check_eq "$P after SIGCONT: the file reads" "small" "$(t cat "$MNT/small.txt" 2>&1)"
	umount_it "$P unmount"
	srv_stop pyftpdlib
}

# A server that answers 502 where a write needs a command (the scripted
# fake server): each such call fails with EIO, never ENOSYS, which the
# kernel would take as "not implemented" and stop sending for the rest of
# the mount (create would become mknod, fsync a no-op).
suite_enosys() {
	cur=fakeftp
	local P="[fakeftp 502]" port dir=$SRV_TMP/fake-root out i pid
	mkdir -p "$dir"
	printf 'hello\n' >"$dir/hello.txt"
	port=$(srv_free_port)
	"$SRV_PY" "$repo/tests/fakeftp/fakeftp.py" --root "$dir" --port "$port" \
		--fail STOR=502 --fail APPE=502 --fail MKD=502 \
		--log "$SRV_TMP/fake.log" >"$SRV_TMP/fake.out" 2>&1 &
	pid=$!
	srv_track_pid "$pid"
	if ! srv_wait_listen "$port" "$pid"; then
		not_ok "$P start the fake server" "$(tail -n 5 "$SRV_TMP/fake.out")"
		return
	fi
	SPOOL=$SRV_TMP/fake-spool
	mkdir -p "$SPOOL"
	if mount_it "$P mount" "ftp://127.0.0.1:$port/"; then
		for i in 1 2; do
			out=$(t python3 -c 'import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, b"x" * 1000)
try:
    os.fsync(fd)
    print("fsync ok")
except OSError as e:
    print("fsync", os.strerror(e.errno))
try:
    os.close(fd)
    print("close ok")
except OSError as e:
    print("close", os.strerror(e.errno))' "$MNT/new$i.txt" 2>&1)
			if printf '%s' "$out" | grep -q "Function not implemented" ||
				! printf '%s' "$out" | grep -q "Input/output error"; then
				not_ok "$P upload $i refused by 502: EIO, not ENOSYS" "$out"
			else
				ok "$P upload $i refused by 502: EIO, not ENOSYS ($(printf '%s' "$out" | tr '\n' ' '))"
			fi
		done
		# the kernel still sends every create and fsync: a STOR each time
		check_eq "$P both uploads reached the server (no call skipped as unimplemented)" \
			"2" "$(grep -c '<- STOR /new[12].txt' "$SRV_TMP/fake.log")"
		out=$(mkdir "$MNT/newdir" 2>&1)
		if printf '%s' "$out" | grep -q "Function not implemented"; then
			not_ok "$P mkdir refused by 502 is not ENOSYS" "$out"
		else
			ok "$P mkdir refused by 502: $out"
		fi
		check_eq "$P the mount still reads" "hello" "$(t cat "$MNT/hello.txt" 2>&1)"
		umount_it "$P unmount"
	fi
	srv_kill_group "$pid"
}

suite_kill() {
	local P="[$cur] kill" data=$SRV_TMP/$cur-kill-data rc out f victim i size
	rm -rf "$data"
	mkdir -p "$data"
	chown "$SRV_USER": "$data"
	SPOOL=$SRV_TMP/$cur-kill-spool
	srv_start "$cur" "$data" || { not_ok "$P: start $cur"; return; }
	# log_level=info: kill_mid_read looks for the line of the resumed read
	mount_it "$P: mount" "$(srv_url "$cur")" -o log_level=info ||
		{ srv_stop "$cur"; return; }

	f=$data/big.bin
	# 16 MiB, a pause, then the other 48 MiB: the kill lands in the pause.
	(head -c $((16 * 1048576)) "$WORK/r64M"; sleep 3
		tail -c +$((16 * 1048576 + 1)) "$WORK/r64M") |
		t cp /dev/stdin "$MNT/big.bin" >"$SRV_TMP/$cur-cp.out" 2>&1 &
	local cp_pid=$!
	victim=""
	for ((i = 0; i < 200; i++)); do
		size=$(stat -c %s "$f" 2>/dev/null || echo 0)
		if [ "$size" -ge $((8 * 1048576)) ]; then
			if [ "$cur" = pyftpdlib ]; then
				victim=${SRV_PIDS[pyftpdlib]}
			else
				victim=$(holder_of "$f" | head -n 1)
			fi
			break
		fi
		sleep 0.02
	done
	if [ -z "$victim" ]; then
		not_ok "$P: found the server process writing big.bin" \
			"size on the server: $(stat -c %s "$f" 2>&1)"
		wait "$cp_pid"
	else
		note "$P: killing pid $victim ($(tr '\0' ' ' <"/proc/$victim/cmdline" | cut -c1-60)) at $size bytes on the server"
		if [ "$cur" = pyftpdlib ]; then
			srv_stop pyftpdlib
		else
			kill -KILL "$victim"
		fi
		rc=0
		wait "$cp_pid" || rc=$?
		out=$(cat "$SRV_TMP/$cur-cp.out")
		if [ "$rc" -ne 0 ]; then
			if is_write_error "$out"; then
				ok "$P: cp fails (exit $rc: $out)"
			else
				not_ok "$P: cp fails with EIO/ENOSPC" "exit $rc: $out"
			fi
			if [ "$cur" = pyftpdlib ]; then
				# The whole server died: the partial copy can only go
				# once it is back, at the mount's next operation.
				srv_restart pyftpdlib >/dev/null 2>&1
				t ls "$MNT" >/dev/null 2>&1
				for ((i = 0; i < 50; i++)); do
					[ -e "$f" ] || break
					sleep 0.1
				done
			fi
			if [ ! -e "$f" ]; then
				ok "$P: no partial file left under the real name"
			elif [ "$(sha "$f")" = "$(sha "$WORK/r64M")" ]; then
				ok "$P: the server holds every byte although cp failed"
			else
				not_ok "$P: no partial file left under the real name" \
					"the server has big.bin with $(stat -c %s "$f") of 67108864 bytes" \
					"ftpfs log: $(grep -v 'trace:' "$MLOG" | grep -i 'upload\|big' | tail -n 5)"
			fi
		else
			check_eq "$P: cp succeeded, so the server must hold every byte" \
				"67108864 $(sha "$WORK/r64M")" \
				"$(stat -c %s "$f" 2>&1) $(sha "$f")"
		fi
	fi
	if [ "$cur" = pyftpdlib ] && ! srv_port_busy "$(srv_port pyftpdlib)"; then
		srv_restart pyftpdlib >/dev/null 2>&1
	fi
	still_works "$P: the mount works after the kill"
	rc=0
	out=$(t cp "$WORK/r4M" "$MNT/after.bin" 2>&1) || rc=$?
	check_eq "$P: cp after the kill: the file arrives whole" \
		"rc 0 $(sha "$WORK/r4M")" "rc $rc $(sha "$data/after.bin")${out:+ $out}"
	kill_mid_read
	umount_it "$P: unmount"
	srv_stop "$cur"
}

# A reader stops halfway through a file; the server session sending it is
# killed (pyftpdlib: the whole server restarted); the reader goes on and
# must get every byte, without an error: an interrupted read resumes at
# its offset on a new connection.
kill_mid_read() {
	local f=$data/read.bin sync=$SRV_TMP/$cur-midread victim="" i out
	cp "$WORK/r64M" "$f"
	chown "$SRV_USER": "$f"
	rm -f "$sync".*
	t python3 - "$MNT/read.bin" "$sync" >"$sync.out" 2>&1 <<'EOF' &
import hashlib, os, sys, time
path, sync = sys.argv[1], sys.argv[2]
h = hashlib.sha256()
with open(path, "rb", buffering=0) as f:
    got = 0
    while got < 8 << 20:
        b = f.read(128 << 10)
        h.update(b)
        got += len(b)
    open(sync + ".paused", "w").close()
    for _ in range(600):
        if os.path.exists(sync + ".go"):
            break
        time.sleep(0.05)
    while True:
        try:
            b = f.read(128 << 10)
        except OSError as e:
            print("error after %d bytes: %s" % (got, e))
            sys.exit(1)
        if not b:
            break
        h.update(b)
        got += len(b)
print(got, h.hexdigest()[:16])
EOF
	local rpid=$!
	for ((i = 0; i < 300; i++)); do
		[ -e "$sync.paused" ] && break
		sleep 0.05
	done
	if [ "$cur" = pyftpdlib ]; then
		victim=${SRV_PIDS[pyftpdlib]}
		srv_restart pyftpdlib >/dev/null 2>&1
	else
		victim=$(holder_of "$f" | head -n 1)
		[ -z "$victim" ] || kill -KILL "$victim"
	fi
	touch "$sync.go"
	wait "$rpid"
	out=$(cat "$sync.out")
	if [ -z "$victim" ]; then
		not_ok "$P: found the server process sending read.bin to a paused reader" "$out"
		return
	fi
	check_eq "$P: a reader whose server session is killed mid-file gets every byte" \
		"67108864 $(sha "$WORK/r64M")" "$out"
	# (where it resumed is logged when the stream broke under the read;
	# a stream the pool took back while the reader paused restarts
	# without a word: either way the bytes above are what counts)
	note "$P: $(grep -c 'read of /read.bin interrupted.*restarting at' "$MLOG") resumed read(s) logged"
}

# --- scenario: the server's disk is full --------------------------------------------
suite_diskfull() {
	local P="[$cur] diskfull" data rc out model
	data=$(mktemp -d /tmp/ftpfs-faults-tmpfs.XXXXXX)
	TMPFS_DIRS+=("$data")
	if ! mount -t tmpfs -o size=1m,mode=755 tmpfs "$data"; then
		not_ok "$P: mount a 1 MiB tmpfs"
		return
	fi
	chown "$SRV_USER": "$data"
	SPOOL=$SRV_TMP/$cur-full-spool
	cp "$WORK/r100K" "$data/small.bin"
	chown "$SRV_USER": "$data/small.bin"
	srv_start "$cur" "$data" || { not_ok "$P: start $cur"; return; }
	if mount_it "$P: mount (server folder: 1 MiB tmpfs)" "$(srv_url "$cur")"; then
		# Streamed: cp of 4 MiB into 1 MiB.
		rc=0
		out=$(t cp "$WORK/r4M" "$MNT/big.bin" 2>&1) || rc=$?
		if [ "$rc" -ne 0 ] && is_write_error "$out"; then
			ok "$P: cp of 4 MiB fails (exit $rc: $out)"
		else
			not_ok "$P: cp of 4 MiB fails with ENOSPC or EIO" "exit $rc: $out"
		fi
		if [ -e "$data/big.bin" ]; then
			not_ok "$P: nothing left under the real name after the failed cp" \
				"big.bin on the server: $(stat -c %s "$data/big.bin") bytes" \
				"$(grep -v 'trace:' "$MLOG" | grep -i 'big' | tail -n 4)"
		else
			ok "$P: nothing left under the real name after the failed cp"
		fi
		check_eq "$P: ls no longer shows big.bin" "" "$(t ls "$MNT" 2>&1 | grep -x big.bin)"

		# Spooled: an in-place edit that makes small.bin 3 MiB.
		model=$SRV_TMP/$cur-full-model
		out=$(inplace_edit "$MNT/small.bin" 100000 $((3 * 1048576)) "$model")
		case $out in
		"ENOSPC at close" | "EIO at close" | "EDQUOT at close")
			ok "$P: in-place edit that does not fit: close fails ($out)" ;;
		*) not_ok "$P: in-place edit that does not fit: close fails with ENOSPC/EIO" "$out" ;;
		esac
		check_eq "$P: the original small.bin is intact on the server" \
			"$(sha "$WORK/r100K")" "$(sha "$data/small.bin")"
		no_temp_left "$P: no temporary .small.bin.ftpfs-* left on the server" "$data"
		check_spool_kept "$P" "small.bin" "$model"
		check_eq "$P: the mount shows the original small.bin" \
			"$(sha "$WORK/r100K")" "$(t python3 "$WT_SHA" "$MNT/small.bin" 2>&1)"
		rm -f "$data"/.*.ftpfs-* 2>/dev/null
		still_works "$P: the mount works once there is room again"
		umount_it "$P: unmount"
		# The release after the failed close does not upload again
		# behind the caller's back (it did: a second temporary file,
		# seen by the check above when it ran before that upload ended).
		local tries
		tries=$(grep -o '\.small\.bin\.ftpfs-[0-9a-f]\{6\}' \
			"$SRV_TMP/srv-$cur/protocol.log" 2>/dev/null | sort -u | wc -l)
		if [ "$tries" -eq 0 ]; then
			note "$P: the server's log names no temporary file (not checked: one upload only)"
		else
			check_eq "$P: one upload of the in-place edit, none after close(2) reported its failure" \
				1 "$tries"
		fi
	fi
	srv_stop "$cur"
	umount "$data" 2>/dev/null
}

# --- scenario: permission denied ------------------------------------------------------
suite_perms() {
	local P="[$cur] perms" data=$SRV_TMP/$cur-perm-data rc out model before
	rm -rf "$data"
	mkdir -p "$data/ro-dir/empty-sub"
	printf 'root owns me\n' >"$data/ro-dir/existing.txt"
	printf 'anyone may write me\n' >"$data/ro-dir/open.txt"
	printf 'read-only\n' >"$data/ro-file.txt"
	chmod 755 "$data/ro-dir" "$data/ro-dir/empty-sub"
	chmod 644 "$data/ro-dir/existing.txt" "$data/ro-file.txt"
	chmod 666 "$data/ro-dir/open.txt"
	chown "$SRV_USER": "$data"   # the folder itself is writable ...
	# ... ro-dir/ and ro-file.txt stay root's: the FTP user cannot write them.
	SPOOL=$SRV_TMP/$cur-perm-spool
	srv_start "$cur" "$data" || { not_ok "$P: start $cur"; return; }
	if ! mount_it "$P: mount" "$(srv_url "$cur")"; then
		srv_stop "$cur"
		return
	fi
	before=$(cd "$data" && find . ! -name open.txt -printf '%p %s %m\n' | sort; sha256sum ro-file.txt ro-dir/existing.txt)
	perm_case "$P: cp into a read-only dir" cp "$WORK/r100K" "$MNT/ro-dir/new.bin"
	perm_case "$P: mkdir in a read-only dir" mkdir "$MNT/ro-dir/sub"
	perm_case "$P: rm in a read-only dir" rm "$MNT/ro-dir/existing.txt"
	perm_case "$P: rmdir in a read-only dir" rmdir "$MNT/ro-dir/empty-sub"
	perm_case "$P: mv out of a read-only dir" mv "$MNT/ro-dir/existing.txt" "$MNT/moved.txt"
	perm_case "$P: > a file not writable (O_TRUNC)" bash -c "echo x > '$MNT/ro-file.txt'"
	perm_case "$P: >> a file not writable (APPE)" bash -c "echo x >> '$MNT/ro-file.txt'"
	perm_case "$P: truncate -s 3 of a file not writable" truncate -s 3 "$MNT/ro-file.txt"
	perm_case "$P: in-place edit of a file not writable (dd conv=notrunc)" \
		bash -c "printf ZZ | dd of='$MNT/ro-file.txt' bs=1 seek=2 conv=notrunc status=none"
	perm_case "$P: chmod of a file owned by someone else" chmod 600 "$MNT/ro-dir/existing.txt"
	perm_case "$P: touch -d of a file owned by someone else" touch -d '2001-01-01' "$MNT/ro-dir/existing.txt"
	perm_case "$P: rewrite (O_RDWR, no O_TRUNC) of a file not writable" \
		python3 -c "import os, sys; fd = os.open(sys.argv[1], os.O_RDWR); os.pwrite(fd, b'Q', 0); os.close(fd)" \
		"$MNT/ro-file.txt"
	check_eq "$P: nothing changed on the server" "$before" \
		"$(cd "$data" && find . ! -name open.txt -printf '%p %s %m\n' | sort; sha256sum ro-file.txt ro-dir/existing.txt)"
	# A file anyone may write, in a directory the FTP user may not: the
	# local copy cannot be uploaded beside it, so it is written in place.
	rc=0
	out=$(t bash -c "printf ZZ | dd of='$MNT/ro-dir/open.txt' bs=1 seek=2 conv=notrunc status=none" 2>&1) || rc=$?
	check_eq "$P: in-place edit of a writable file in a read-only dir" \
		"rc 0 anZZne may write me" "rc $rc$out $(cat "$data/ro-dir/open.txt")"
	rc=0
	out=$(t truncate -s 5 "$MNT/ro-dir/open.txt" 2>&1) || rc=$?
	check_eq "$P: truncate -s 5 of it (mode kept)" "rc 0 anZZn 666" \
		"rc $rc$out $(cat "$data/ro-dir/open.txt") $(stat -c %a "$data/ro-dir/open.txt")"
	check_eq "$P: spool dir is empty" "" "$(find "$SPOOL" -mindepth 1 2>/dev/null)"
	still_works "$P: the mount works after the refusals"
	umount_it "$P: unmount"
	srv_stop "$cur"
}

# perm_case NAME CMD...: fails with "Permission denied" (or EPERM for chmod/utime).
perm_case() {
	local name=$1 out rc=0
	shift
	out=$(t "$@" 2>&1) || rc=$?
	if [ "$rc" -ne 0 ] && printf '%s' "$out" | grep -q -e 'Permission denied' -e 'Operation not permitted'; then
		ok "$name: EACCES/EPERM"
	else
		not_ok "$name: EACCES/EPERM" "exit $rc: $out" \
			"$(grep -v 'trace:' "$MLOG" | tail -n 3)"
	fi
}

# --- scenario: 552 from a quota-limited server (pyftpdlib + handler) --------------
QUOTA=1048576
start_quota_server() { # DIR: sets QPORT, QLOG
	local dir=$1 wd=$SRV_TMP/srv-quota pid
	mkdir -p "$wd"
	chmod 755 "$wd"
	QPORT=$(srv_free_port)
	QLOG=$wd/protocol.log
	touch "$QLOG"
	chown "$SRV_USER" "$QLOG"
	cat >"$wd/quota.py" <<'EOF'
"""pyftpdlib with a quota: by name, for the ftpfs fault tests.
  q-*  552 as soon as the file exceeds QUOTA bytes (the data connection is
       closed, the file cut at QUOTA)
  e-*  all data accepted, then 552 and the file cut at QUOTA
  s-*  226, but the file on disk is cut to half (a server that lies)
  h-*  all data stored, then no reply at all on that control connection
       (pyftpdlib itself does this when closing a file on a full disk
       fails: the exception skips the reply); other sessions go on
Temporary names (".q-x.ftpfs-XXXXXX") behave like their file."""
import logging, os, sys
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import DTPHandler, FTPHandler
from pyftpdlib.servers import FTPServer

port, root, log, quota = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
logging.basicConfig(filename=log, level=logging.DEBUG,
                    format="[%(asctime)s] %(message)s")


def kind(dtp):
    f = getattr(dtp, "file_obj", None)
    if f is None or not dtp.receive:
        return None
    name = os.path.basename(f.name).lstrip(".")
    for k in ("q-", "e-", "s-", "h-"):
        if name.startswith(k):
            return k
    return None


class QuotaDTP(DTPHandler):
    # DTPHandler aliases handle_read_event to its own handle_read.
    def handle_read(self):
        DTPHandler.handle_read(self)
        if self._closed or kind(self) != "q-":
            return
        self.file_obj.flush()
        if os.fstat(self.file_obj.fileno()).st_size > quota:
            self.file_obj.truncate(quota)
            self._resp = ("552 Disk quota exceeded.", logging.warning)
            self.close()

    handle_read_event = handle_read

    def close(self):
        k = kind(self)
        if (not self._closed and k in ("e-", "s-") and self._resp and
                self._resp[0].startswith("226")):
            self.file_obj.flush()
            size = os.fstat(self.file_obj.fileno()).st_size
            if k == "e-" and size > quota:
                self.file_obj.truncate(quota)
                self._resp = ("552 Quota exceeded; file cut.", logging.warning)
            elif k == "s-":
                self.file_obj.truncate(size // 2)
        if not self._closed and k == "h-" and self.tot_bytes_received:
            self._resp = ()
        DTPHandler.close(self)


auth = DummyAuthorizer()
auth.add_user(os.environ["SRV_USER"], os.environ["SRV_PASS"], root,
              perm="elradfmwMT")
FTPHandler.authorizer = auth
FTPHandler.dtp_handler = QuotaDTP
FTPHandler.banner = "pyftpdlib with quotas (ftpfs fault tests)"
FTPServer(("127.0.0.1", port), FTPHandler).serve_forever()
EOF
	pid=$(srv_spawn "$wd/stderr.log" setpriv --reuid="$SRV_UID" --regid="$SRV_GID" \
		--clear-groups env SRV_USER="$SRV_USER" SRV_PASS="$SRV_PASS" \
		"$SRV_PY" "$wd/quota.py" "$QPORT" "$dir" "$QLOG" "$QUOTA")
	srv_track_pid "$pid"
	if ! srv_wait_listen "$QPORT" "$pid"; then
		sed 's/^/#   /' "$wd/stderr.log"
		return 1
	fi
	note "quota server (pyftpdlib + 552 handler) on 127.0.0.1:$QPORT, quota $QUOTA bytes"
}

suite_quota() {
	cur=quota
	local P="[pyftpdlib+quota]" data=$SRV_TMP/quota-data rc out model
	rm -rf "$data"
	mkdir -p "$data"
	cp "$WORK/r100K" "$data/q-edit.bin"
	cp "$WORK/r100K" "$data/e-edit.bin"
	chown -R "$SRV_USER": "$data"
	SPOOL=$SRV_TMP/quota-spool
	start_quota_server "$data" || { not_ok "$P: start the quota server"; return; }
	mount_it "$P: mount" "ftp://$SRV_USER:$SRV_PASS@127.0.0.1:$QPORT/" || return

	local k
	for k in q e; do
		local what
		[ "$k" = q ] && what="552 during the upload" || what="552 after all the data"
		rc=0
		out=$(t cp "$WORK/r4M" "$MNT/$k-big.bin" 2>&1) || rc=$?
		if [ "$rc" -ne 0 ] && is_write_error "$out"; then
			ok "$P $what: cp of 4 MiB fails (exit $rc: $out)"
		else
			not_ok "$P $what: cp of 4 MiB fails with EDQUOT/ENOSPC/EIO" "exit $rc: $out" \
				"$(grep -v 'trace:' "$MLOG" | tail -n 4)"
		fi
		if [ -e "$data/$k-big.bin" ]; then
			not_ok "$P $what: nothing left under the real name" \
				"$k-big.bin on the server: $(stat -c %s "$data/$k-big.bin") bytes"
		else
			ok "$P $what: nothing left under the real name"
		fi
		model=$SRV_TMP/quota-$k-model
		out=$(inplace_edit "$MNT/$k-edit.bin" 50000 $((2 * 1048576)) "$model")
		case $out in
		"EDQUOT at close" | "ENOSPC at close" | "EIO at close")
			ok "$P $what: in-place edit over quota: close fails ($out)" ;;
		*) not_ok "$P $what: in-place edit over quota: close fails with EDQUOT/ENOSPC/EIO" "$out" \
			"$(grep -v 'trace:' "$MLOG" | tail -n 4)" ;;
		esac
		check_eq "$P $what: the original $k-edit.bin is intact" \
			"$(sha "$WORK/r100K")" "$(sha "$data/$k-edit.bin")"
		no_temp_left "$P $what: no temporary file left on the server" "$data"
		check_spool_kept "$P $what" "$k-edit.bin" "$model"
	done
	# A server that answers 226 but keeps half the file: SIZE tells.
	rc=0
	out=$(t cp "$WORK/r4M" "$MNT/s-short.bin" 2>&1) || rc=$?
	if [ "$rc" -ne 0 ] && is_write_error "$out"; then
		ok "$P 226 with a short file: cp fails (exit $rc: $out)"
	else
		not_ok "$P 226 with a short file: cp fails with EIO (SIZE mismatch)" "exit $rc: $out" \
			"server has $(stat -c %s "$data/s-short.bin" 2>&1) bytes"
	fi
	if [ -e "$data/s-short.bin" ]; then
		not_ok "$P 226 with a short file: the short file is not left under the real name" \
			"s-short.bin on the server: $(stat -c %s "$data/s-short.bin") bytes"
	else
		ok "$P 226 with a short file: the short file is not left under the real name"
	fi
	still_works "$P: the mount works after the refusals"
	umount_it "$P: unmount"

	# A server that stores the data and never answers the STOR (h-*):
	# close fails with EIO at the request's deadline (-o timeout); the
	# new file's partial copy and the in-place edit's temporary copy are
	# ours and are removed over another connection; the spool keeps the
	# edit; the mount goes on.
	local H="[pyftpdlib+quota] no reply to STOR" t0 secs i
	cp "$WORK/r100K" "$data/h-edit.bin"
	chown "$SRV_USER": "$data/h-edit.bin"
	mount_it "$H: mount (-o timeout=4)" "ftp://$SRV_USER:$SRV_PASS@127.0.0.1:$QPORT/" \
		-o timeout=4 || return
	t0=$EPOCHREALTIME
	rc=0
	out=$(t cp "$WORK/r4M" "$MNT/h-big.bin" 2>&1) || rc=$?
	secs=$(srv_since "$t0")
	if [ "$rc" -ne 0 ] && is_write_error "$out" &&
		awk -v s="$secs" 'BEGIN { exit !(s < 15) }'; then
		ok "$H: cp of 4 MiB fails within 15 s (${secs}s, exit $rc: $out)"
	else
		not_ok "$H: cp of 4 MiB fails with EIO within 15 s" "${secs}s, exit $rc: $out" \
			"$(grep -v 'trace:' "$MLOG" | tail -n 6)"
	fi
	for i in $(seq 30); do
		[ -e "$data/h-big.bin" ] || break
		sleep 0.1
	done
	if [ -e "$data/h-big.bin" ]; then
		not_ok "$H: the partial new file is removed (within 3 s)" \
			"h-big.bin on the server: $(stat -c %s "$data/h-big.bin") bytes" \
			"$(grep -v 'trace:' "$MLOG" | grep -F 'h-big' | tail -n 6)"
	else
		ok "$H: the partial new file is removed (within 3 s)"
	fi
	model=$SRV_TMP/quota-h-model
	t0=$EPOCHREALTIME
	out=$(inplace_edit "$MNT/h-edit.bin" 50000 $((2 * 1048576)) "$model")
	secs=$(srv_since "$t0")
	case $out in
	"EIO at close") ok "$H: in-place edit: close fails ($out, ${secs}s)" ;;
	*) not_ok "$H: in-place edit: close fails with EIO" "$out" \
		"$(grep -v 'trace:' "$MLOG" | tail -n 6)" ;;
	esac
	check_eq "$H: the original h-edit.bin is intact" \
		"$(sha "$WORK/r100K")" "$(sha "$data/h-edit.bin")"
	no_temp_left "$H: no temporary file left on the server" "$data"
	check_spool_kept "$H" "h-edit.bin" "$model"
	still_works "$H: the mount works after the silent server"
	umount_it "$H: unmount"
}

# --- main -----------------------------------------------------------------------------
WT_SHA=$SRV_TMP/sha.py
cat >"$WT_SHA" <<'EOF'
import hashlib, sys
print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest()[:16])
EOF

mkdir -p "$SRV_TMP/asan"
# Sanitizer reports of an ASan/UBSan build go to files (a foreground mount's
# stderr is its log, which nobody reads); they are checked at the end.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$SRV_TMP/asan/asan:detect_leaks=1"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$SRV_TMP/asan/ubsan:print_stacktrace=1:halt_on_error=0"
# ThreadSanitizer (build-tsan/): every report, not only the first, and both
# stacks of a lock-order inversion.
export TSAN_OPTIONS="${TSAN_OPTIONS:+$TSAN_OPTIONS:}log_path=$SRV_TMP/asan/tsan:halt_on_error=0:second_deadlock_stack=1"
note "ftpfs under test: $FTPFS"
note "temp dir: $SRV_TMP"
t_start=$EPOCHREALTIME
for s in $SERVERS; do
	cur=$s
	t_srv=$EPOCHREALTIME
	for f in kill diskfull perms; do
		case " $FAULTS " in *" $f "*) "suite_$f" ;; esac
	done
	note "[$s] done in $(srv_since "$t_srv")s"
done
case " $FAULTS " in *" quota "*) suite_quota ;; esac
case " $FAULTS " in *" enosys "*) suite_enosys ;; esac
case " $FAULTS " in *" frozen "*) suite_frozen ;; esac
case " $FAULTS " in *" frozen "*) suite_frozen_first ;; esac
case " $FAULTS " in *" hostile "*) suite_hostile ;; esac

if compgen -G "$SRV_TMP/asan/*" >/dev/null; then
	not_ok "no ASan/UBSan/TSan reports" "$(head -n 40 "$SRV_TMP"/asan/*)"
else
	ok "no ASan/UBSan/TSan reports"
fi
left=$(awk -v p="$SRV_TMP/" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo)
if [ -z "$left" ]; then ok "no mounts left"; else not_ok "no mounts left" "$left"; fi
note "total $(srv_since "$t_start")s"
printf '%d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
