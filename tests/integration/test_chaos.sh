#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Chaos suite (issue 12): ftpfs mounts a real server through a TCP proxy
# (tests/lib/chaos_proxy.py) that resets a random live connection, control
# or data, every few seconds, while worker processes run mixed parallel
# reads, writes, renames and listings (tests/integration/chaos_ops.py);
# every byte is checked on the server's disk.  Run as root.
#
#   FTPFS=build/ftpfs            binary under test (default build/ftpfs)
#   SERVERS="vsftpd sshd"        servers (FTP: vsftpd proftpd pureftpd
#                                pyftpdlib; SFTP: sshd proftpd_sftp; not
#                                FTPS: the proxy rewrites PASV/EPSV replies)
#   FTPFS_OPTS="-o ..."          extra mount arguments
#   CHAOS_OPS=2400               operations per server, over all workers
#                                (about a minute per server)
#   CHAOS_SECONDS=0              or: run for this long (e.g. 600; then
#                                CHAOS_OPS=0 for no count limit)
#   CHAOS_WORKERS=4              worker processes
#   CHAOS_SEED=N                 the workers' and the proxy's seed (printed;
#                                the interleaving is up to the scheduler)
#   CHAOS_RESET_EVERY=2-5        seconds between two resets (uniform)
#   CHAOS_MAX_SIZE=3145728       largest file written
#   CHAOS_TIMEOUT=10             ftpfs -o timeout
#   CHAOS_FD_SLACK=2             fds other than sockets and pipes (files,
#                                spool copies) the daemon may hold at the
#                                end beyond those after mounting; sockets
#                                may be at most -o connections (8) + this,
#                                pipes at most 4 per thread (two pairs per
#                                FUSE thread: ftpfs's and libfuse's)
#   CHAOS_RSS_SLACK_KB=49152     VmRSS growth allowed from mount to end
#                                (SFTP read-ahead: 10 MiB per reader; the
#                                cache: up to 16384 attributes and 4096
#                                listings), and 16 MiB from the middle of
#                                the run to its end
#   CHAOS_MALLOC_ARENA_MAX=      MALLOC_ARENA_MAX for the daemon (default:
#                                none, ftpfs's own mallopt of 4 arenas).
#                                glibc's default of 8 per core let each of
#                                the ~25 threads keep freed 1 MiB read-ahead
#                                buffers (SFTP, 100 s: 71.5 MB without
#                                resets, 76 MB with 73; 10 minutes: 96 MB);
#                                ftpfs's 4 arenas: 47.7 MB after 1500 ops
#   SRV_KEEP=1                   keep the temp dir (logs) afterwards
#
# Per server: the mount through the proxy; chaos_ops.py finds no problem
# (a success that is not exactly on the disk, a wrong byte read, a failed
# operation that left anything but the outcomes it allows, an errno other
# than EIO/ETIMEDOUT, a hang); the proxy did reset connections; the
# daemon's open fds and VmRSS at the end within the slack of their values
# after mounting; the mount still works (list, write, read back) and
# unmounts, the daemon exits.  FTP also: "cut", the 150 to a spooled
# edit's temporary STOR lost to a reset leaves no temporary file.  Read failures (an interrupted read is not
# resumed yet) and writes cut short where the contract allows it are
# figures, printed, not failures.
#
# Prints "ok - NAME" or "FAIL - NAME" per check, then "N passed, N failed";
# exits non-zero on any failure.  Mounts, servers and proxies are stopped
# by traps, also after a failure or ^C.
set -u
set -o pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/servers.sh
. "$repo/tests/lib/servers.sh"

export LC_ALL=C.UTF-8
FTPFS=${FTPFS:-build/ftpfs}
case $FTPFS in /*) ;; *) FTPFS=$repo/$FTPFS ;; esac
FTPFS_REAL=$(readlink -f "$FTPFS" 2>/dev/null || printf '%s' "$FTPFS")
SERVERS=${SERVERS:-vsftpd sshd}
read -r -a EXTRA_OPTS <<<"${FTPFS_OPTS:-}"
CHAOS_OPS=${CHAOS_OPS:-2400}
CHAOS_SECONDS=${CHAOS_SECONDS:-0}
CHAOS_WORKERS=${CHAOS_WORKERS:-4}
CHAOS_SEED=${CHAOS_SEED:-$((RANDOM * 32768 + RANDOM))}
CHAOS_RESET_EVERY=${CHAOS_RESET_EVERY:-2-5}
CHAOS_MAX_SIZE=${CHAOS_MAX_SIZE:-3145728}
CHAOS_TIMEOUT=${CHAOS_TIMEOUT:-10}
CHAOS_FD_SLACK=${CHAOS_FD_SLACK:-2}
CHAOS_RSS_SLACK_KB=${CHAOS_RSS_SLACK_KB:-49152}
CHAOS_MALLOC_ARENA_MAX=${CHAOS_MALLOC_ARENA_MAX-}
PY=/usr/bin/python3
PROXY=$repo/tests/lib/chaos_proxy.py
OPS=$here/chaos_ops.py
T=60

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
		printf '%s\n' "$@" | head -n 60 | sed 's/^/#   /'
	fi
}
note() { printf '# %s\n' "$*"; }
t() { timeout -k 5 "$T" "$@"; }

srv_init
umask 022
mkdir -p "$SRV_TMP/asan"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$SRV_TMP/asan/asan:detect_leaks=1"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$SRV_TMP/asan/ubsan:print_stacktrace=1:halt_on_error=0"

# The daemon's VmRSS (kB), open fds, threads, and of the fds: sockets,
# pipes (each FUSE thread has two pairs: ftpfs's read pipe and libfuse's
# splice pipe, freed when the thread ends) and the others (files):
# "RSS FDS THREADS SOCKETS PIPES OTHERS".
usage_of() { # PID
	local rss
	rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null)
	find "/proc/$1/fd" -mindepth 1 -maxdepth 1 -printf '%l\n' 2>/dev/null |
		awk -v rss="${rss:-0}" -v thr="$(find "/proc/$1/task" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)" '
			/^socket:/ { s++; next }
			/^pipe:/ { p++; next }
			{ o++ }
			END { printf "%d %d %d %d %d %d", rss, s + p + o, thr, s, p, o }'
}

# Samples "SECONDS RSS FDS THREADS SOCKETS PIPES OTHERS" every 5 s into FILE while PID lives.
sampler() { # PID FILE
	local t0=$EPOCHREALTIME
	while kill -0 "$1" 2>/dev/null; do
		printf '%s %s\n' "$(srv_since "$t0")" "$(usage_of "$1")" >>"$2"
		sleep 5
	done
}

start_proxy() { # NAME MODE: sets PROXY_PORT, PROXY_PID, PROXY_LOG
	local name=$1 mode=$2 try
	PROXY_LOG=$SRV_TMP/$name-proxy.log
	for try in 1 2 3; do
		PROXY_PORT=$(srv_free_port)
		PROXY_PID=$(srv_spawn "$SRV_TMP/$name-proxy.err" "$PY" "$PROXY" \
			--port "$PROXY_PORT" --target "$(srv_port "$name")" \
			--mode "$mode" --reset-every "$CHAOS_RESET_EVERY" \
			--seed "$CHAOS_SEED" --log "$PROXY_LOG" --paused)
		srv_track_pid "$PROXY_PID"
		srv_wait_listen "$PROXY_PORT" "$PROXY_PID" && return 0
		srv_kill_group "$PROXY_PID"
		note "[$name] proxy start $try of 3 failed: $(tail -n 3 "$SRV_TMP/$name-proxy.err")"
	done
	return 1
}

# The mount's URL and options through the proxy's port.
proxy_url() { # NAME
	if srv_is_sftp "$1"; then
		printf 'sftp://%s@127.0.0.1:%s%s/' "$SRV_USER" "$PROXY_PORT" "${SRV_DIRS[$1]}"
	else
		printf 'ftp://%s:%s@127.0.0.1:%s/' "$SRV_USER" "$SRV_PASS" "$PROXY_PORT"
	fi
}
proxy_opts() { # NAME: SFTP: the host keys under the proxy's port, the key
	local kh=$SRV_TMP/known_hosts-$1-proxy
	srv_is_sftp "$1" || return 0
	sed "s/^\[127.0.0.1\]:[0-9]*/[127.0.0.1]:$PROXY_PORT/" \
		"$(srv_known_hosts "$1")" >"$kh"
	printf -- '-o known_hosts=%s -o identity_file=%s' "$kh" "$SRV_SSH_KEY"
}

suite_server() {
	cur=$1
	local P="[$cur]" data=$SRV_TMP/$cur-data mnt=$SRV_TMP/$cur-mnt
	local spool=$SRV_TMP/$cur-spool log=$SRV_TMP/$cur-ftpfs.log
	local mode=ftp inplace=() opts pid u0 u1 rss0 fds0 rss1 fds1 out rc
	local thr0 sock0 pipe0 oth0 thr1 sock1 pipe1 oth1 rssm
	local samples=$SRV_TMP/$cur-usage.txt stats resets sampler_pid tlimit
	srv_is_sftp "$cur" && { mode=tcp; inplace=(--inplace); }
	mkdir -p "$data" "$spool"
	chown "$SRV_USER": "$data"
	if ! srv_start "$cur" "$data"; then
		not_ok "$P start $cur on 127.0.0.1" "see $SRV_TMP/srv-$cur/stderr.log"
		return
	fi
	if ! start_proxy "$cur" "$mode"; then
		not_ok "$P start the chaos proxy in front of $cur"
		srv_stop "$cur"
		return
	fi
	read -r -a opts <<<"$(proxy_opts "$cur")"
	# (an empty MALLOC_ARENA_MAX changes nothing)
	if ! MALLOC_ARENA_MAX=$CHAOS_MALLOC_ARENA_MAX FTPFS_MOUNT_LOG=$log \
		ftpfs_mount "$FTPFS" "$mnt" "$(proxy_url "$cur")" \
		-f -o "timeout=$CHAOS_TIMEOUT" -o "spool_dir=$spool" "${opts[@]}" \
		"${EXTRA_OPTS[@]}"; then
		not_ok "$P mount through the proxy (127.0.0.1:$PROXY_PORT -> $(srv_port "$cur"))" \
			"ftpfs exit status $FTPFS_MOUNT_RC" "$(tail -n 20 "$log")"
		srv_unmount "$mnt"
		srv_stop "$cur"
		return
	fi
	pid=$FTPFS_MOUNT_PID
	ok "$P mount through the proxy (127.0.0.1:$PROXY_PORT -> $(srv_port "$cur"), $mode)"
	t ls "$mnt" >/dev/null
	u0=$(usage_of "$pid")
	read -r rss0 fds0 thr0 sock0 pipe0 oth0 <<<"$u0"
	note "$P daemon $pid after mounting: VmRSS $rss0 kB, $fds0 open fds ($sock0 sockets, $pipe0 pipes, $oth0 others), $thr0 threads"
	sampler "$pid" "$samples" &
	sampler_pid=$!
	srv_track_pid "$sampler_pid"

	kill -USR2 "$PROXY_PID" # the resets begin
	tlimit=$((CHAOS_SECONDS + 300 + CHAOS_OPS * 3))
	# In the background, tagged: a signal to this script runs its traps at
	# once (not after the workers end), and the cleanup stops them.
	rc=0
	FTPFS_TEST_TAG=$SRV_TMP timeout -k 10 "$tlimit" "$PY" "$OPS" --mount "$mnt" \
		--disk "$data" --workers "$CHAOS_WORKERS" --ops "$CHAOS_OPS" \
		--seconds "$CHAOS_SECONDS" --seed "$CHAOS_SEED" \
		--max-size "$CHAOS_MAX_SIZE" "${inplace[@]}" --proxy-pid "$PROXY_PID" \
		--op-timeout $((CHAOS_TIMEOUT * 6)) --json "$SRV_TMP/$cur-chaos.json" \
		>"$SRV_TMP/$cur-chaos.out" 2>&1 &
	wait "$!" || rc=$?
	out=$(cat "$SRV_TMP/$cur-chaos.out")
	kill -USR1 "$PROXY_PID" 2>/dev/null # (chaos_ops.py paused them already)
	stats=$(cat "$PROXY_LOG.stats" 2>/dev/null)
	resets=$(sed -n 's/^resets=\([0-9]*\).*/\1/p' <<<"$stats")
	printf '%s\n' "$out" | sed "s/^/# $P /"
	note "$P proxy: $stats"
	if [ "$rc" -eq 0 ]; then
		ok "$P chaos_ops.py: every success exact on the disk, every failure left an allowed outcome, no wrong byte read"
	else
		not_ok "$P chaos_ops.py: every success exact on the disk, every failure left an allowed outcome, no wrong byte read (exit $rc)" \
			"$(printf '%s\n' "$out" | sed -n '/^problems:/,$p')" \
			"ftpfs log: $(grep -ciE 'error|warn' "$log") error/warning lines; $log"
	fi
	if [ "${resets:-0}" -gt 0 ]; then
		ok "$P the proxy reset $resets connections"
	else
		not_ok "$P the proxy reset connections" "$stats" "$(tail -n 5 "$PROXY_LOG")"
	fi

	# the mount answers after the storm
	out=$( (t ls "$mnt" >/dev/null && printf 'alive\n' >"$mnt/alive.txt" &&
		t cat "$mnt/alive.txt" && rm -f "$mnt/alive.txt") 2>&1)
	if [ "$out" = alive ] && [ ! -e "$data/alive.txt" ]; then
		ok "$P the mount still works (ls, write, read back, rm)"
	else
		not_ok "$P the mount still works (ls, write, read back, rm)" "$out" "$(tail -n 10 "$log")"
	fi

	sleep 2
	u1=$(usage_of "$pid")
	read -r rss1 fds1 thr1 sock1 pipe1 oth1 <<<"$u1"
	kill "$sampler_pid" 2>/dev/null
	wait "$sampler_pid" 2>/dev/null
	note "$P daemon $pid at the end: VmRSS $rss1 kB, $fds1 open fds ($sock1 sockets, $pipe1 pipes, $oth1 others), $thr1 threads"
	note "$P samples (s: VmRSS kB/fds/threads): $(awk 'NR % 6 == 1 { printf "%s:%s/%s/%s ", int($1), $2, $3, $4 }' "$samples" | cut -c1-900)"
	if [ "$oth1" -le $((oth0 + CHAOS_FD_SLACK)) ] && [ "$sock1" -le $((8 + CHAOS_FD_SLACK)) ] &&
		[ "$pipe1" -le $((4 * thr1)) ]; then
		ok "$P open fds $fds0 -> $fds1: sockets $sock0 -> $sock1 (at most 8 + $CHAOS_FD_SLACK), pipes $pipe0 -> $pipe1 (at most 4 x $thr1 threads), others $oth0 -> $oth1 (slack $CHAOS_FD_SLACK)"
	else
		not_ok "$P open fds $fds0 -> $fds1: sockets $sock0 -> $sock1 (at most 8 + $CHAOS_FD_SLACK), pipes $pipe0 -> $pipe1 (at most 4 x $thr1 threads), others $oth0 -> $oth1 (slack $CHAOS_FD_SLACK)" \
			"$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 -printf '%l\n' 2>/dev/null | sed 's/:\[.*//' | sort | uniq -c | sort -rn | head -n 15)"
	fi
	# the sample in the middle of the run: growth after it is what a leak
	# would show (the buffers and the cache have filled by then)
	rssm=$(awk '{ t[NR] = $1; r[NR] = $2 } END { for (i = 1; i <= NR; i++) if (t[i] >= t[NR] / 2) { print r[i]; exit } }' "$samples")
	if [ "$(wc -l <"$samples")" -ge 8 ]; then
		if [ "$rss1" -le $((rssm + 16384)) ]; then
			ok "$P VmRSS in the second half of the run: $rssm -> $rss1 kB (slack 16384 kB)"
		else
			not_ok "$P VmRSS in the second half of the run: $rssm -> $rss1 kB (slack 16384 kB)" "$(tail -n 12 "$samples")"
		fi
	fi
	if [ "$rss1" -le $((rss0 + CHAOS_RSS_SLACK_KB)) ]; then
		ok "$P VmRSS $rss0 -> $rss1 kB (slack $CHAOS_RSS_SLACK_KB kB)"
	else
		not_ok "$P VmRSS $rss0 -> $rss1 kB (slack $CHAOS_RSS_SLACK_KB kB)" "$(tail -n 12 "$samples")"
	fi

	if ftpfs_umount "$mnt" "$FTPFS_REAL"; then
		ok "$P unmount; the daemon exits"
	else
		not_ok "$P unmount; the daemon exits" "$(tail -n 10 "$log")"
	fi
	out=$(grep -hE 'segfault|Segmentation|AddressSanitizer|runtime error|Aborted' "$log" | head -n 5)
	[ -z "$out" ] || not_ok "$P ftpfs crashed" "$out"
	note "$P ftpfs log: $(wc -l <"$log") lines; most frequent: $(sed -E 's/^[^:]*: //; s/[0-9]+/N/g' "$log" |
		sort | uniq -c | sort -rn | head -n 4 | awk '{ $1 = $1 "x"; print }' | tr '\n' ';' | cut -c1-400)"
	srv_kill_group "$PROXY_PID"
	cut_temp_stor "$cur"
	srv_stop "$cur"
}

# A targeted fault (FTP): the control connection is reset in place of the
# 150 that answers the STOR of a spooled edit's temporary file (the server
# has created it; ftpfs's open of it fails).  close gives EIO, the file
# keeps its old bytes, and the temporary file does not stay on the server.
cut_temp_stor() {
	cur=$1
	local P="[$cur] cut" data=$SRV_TMP/$cur-data out rc=0 left
	srv_is_sftp "$cur" && return 0
	mkdir -p "$data/cut"
	head -c 200000 /dev/urandom >"$data/cut/edit.bin"
	chown -R "$SRV_USER": "$data/cut"
	cp "$data/cut/edit.bin" "$SRV_TMP/cut-before.bin"
	cut_mount 'STOR .*/[.][^/]*[.]ftpfs-[0-9a-f]+' || return
	out=$(t "$PY" -c '
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
os.pwrite(fd, b"EDITED", 1000)
try:
    os.close(fd)
    print("close: ok")
except OSError as e:
    print("close: " + (os.strerror(e.errno)))
' "$CUT_MNT/cut/edit.bin" 2>&1) || rc=$?
	sleep 1
	left=$(find "$data/cut" -name '.*.ftpfs-*' -printf '%f (%s bytes) ')
	if [ "$out" = "close: Input/output error" ] && cmp -s "$SRV_TMP/cut-before.bin" "$data/cut/edit.bin" &&
		[ -z "$left" ]; then
		ok "$P 150 to the temporary STOR of an in-place edit lost (connection reset): close EIO, old bytes kept, no temporary file left"
	else
		not_ok "$P 150 to the temporary STOR of an in-place edit lost (connection reset): close EIO, old bytes kept, no temporary file left" \
			"$out (exit $rc)" "the file: $(cmp "$SRV_TMP/cut-before.bin" "$data/cut/edit.bin" 2>&1 || true)" \
			"left on the server: ${left:-nothing}" "proxy: $(grep cut "$CUT_PROXY_LOG" | tail -n 1)" \
			"$(tail -n 6 "$CUT_LOG")"
	fi
	cut_unmount
	# The same lost 150, to the STOR of a file being created (open with
	# O_CREAT|O_EXCL): EIO, and no empty file left under its name.
	rc=0
	cut_mount 'STOR .*/cut/new[.]bin' || return
	out=$(t "$PY" -c '
import os, sys
try:
    fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.write(fd, b"x" * 1000)
    os.close(fd)
    print("create: ok")
except OSError as e:
    print("create: " + (os.strerror(e.errno)))
' "$CUT_MNT/cut/new.bin" 2>&1) || rc=$?
	sleep 1
	if [ "$out" = "create: Input/output error" ] && [ ! -e "$data/cut/new.bin" ]; then
		ok "$P 150 to the STOR of a new file lost (connection reset): EIO, no empty file left"
	elif [ "$out" = "create: ok" ] && [ "$(stat -c %s "$data/cut/new.bin" 2>&1)" = 1000 ]; then
		ok "$P 150 to the STOR of a new file lost (connection reset): created on a second try, whole"
	else
		not_ok "$P 150 to the STOR of a new file lost (connection reset): EIO and nothing left, or the whole file" \
			"$out (exit $rc)" "on the server: $(ls -l "$data/cut/new.bin" 2>&1)" \
			"proxy: $(grep cut "$CUT_PROXY_LOG" | tail -n 1)" "$(tail -n 6 "$CUT_LOG")"
	fi
	cut_unmount
}

# A mount of $cur through a proxy that resets the control connection in
# place of the 150 answering the first command matching REGEX: CUT_MNT,
# CUT_LOG, CUT_PROXY_LOG, CUT_PROXY_PID.
cut_mount() { # REGEX
	local pp
	CUT_MNT=$SRV_TMP/$cur-mnt-cut
	CUT_LOG=$SRV_TMP/$cur-ftpfs-cut-$RANDOM.log
	CUT_PROXY_LOG=$SRV_TMP/$cur-proxy-cut-$RANDOM.log
	pp=$(srv_free_port)
	CUT_PROXY_PID=$(srv_spawn "$SRV_TMP/$cur-proxy-cut.err" "$PY" "$PROXY" --port "$pp" \
		--target "$(srv_port "$cur")" --mode ftp --paused \
		--cut-after "$1" --log "$CUT_PROXY_LOG")
	srv_track_pid "$CUT_PROXY_PID"
	if ! srv_wait_listen "$pp" "$CUT_PROXY_PID" || ! FTPFS_MOUNT_LOG=$CUT_LOG ftpfs_mount "$FTPFS" "$CUT_MNT" \
		"ftp://$SRV_USER:$SRV_PASS@127.0.0.1:$pp/" -f -o "timeout=$CHAOS_TIMEOUT" \
		-o "spool_dir=$SRV_TMP/$cur-spool" "${EXTRA_OPTS[@]}"; then
		not_ok "$P mount through a proxy with --cut-after" "$(tail -n 5 "$CUT_LOG")"
		srv_kill_group "$CUT_PROXY_PID"
		return 1
	fi
}

cut_unmount() {
	ftpfs_umount "$CUT_MNT" "$FTPFS_REAL" || not_ok "$P unmount"
	srv_kill_group "$CUT_PROXY_PID"
}

note "ftpfs under test: $FTPFS"
note "temp dir: $SRV_TMP"
note "seed $CHAOS_SEED (CHAOS_SEED=$CHAOS_SEED reproduces the sequences), $CHAOS_WORKERS workers, ops $CHAOS_OPS, seconds $CHAOS_SECONDS, a reset every $CHAOS_RESET_EVERY s"
t_start=$EPOCHREALTIME
for s in $SERVERS; do
	t_srv=$EPOCHREALTIME
	suite_server "$s"
	note "[$s] done in $(srv_since "$t_srv")s"
done

if compgen -G "$SRV_TMP/asan/*" >/dev/null; then
	not_ok "no ASan/UBSan reports" "$(head -n 40 "$SRV_TMP"/asan/*)"
else
	ok "no ASan/UBSan reports"
fi
left=$(awk -v p="$SRV_TMP/" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo)
if [ -z "$left" ]; then ok "no mounts left"; else not_ok "no mounts left" "$left"; fi
note "total $(srv_since "$t_start")s"
printf '%d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
