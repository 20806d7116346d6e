#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Latency benchmark (issue 11): ftpfs next to sshfs, rclone mount and raw
# curl over a link with a round-trip delay, as root:
#
#     bash tests/bench/bench_latency.sh
#     DELAYS="20 50" RUNS=3 bash tests/bench/bench_latency.sh   (the default,
#                   25-30 minutes)
#     QUICK=1 bash tests/bench/bench_latency.sh   (smoke run, ~3 min: 20 ms,
#                   1 run, 100 files in 5 dirs, 20 small, 32 MiB, all 7 clients)
#
# The kernel has no netem.  For each delay a network namespace gets a
# userspace relay that every TCP connection to 127.0.0.0/8 crosses
# (tests/lib/latns.sh, tests/lib/delay_relay.py: DELAY/2 each way, and the
# handshake's round trip); vsftpd, OpenSSH's sshd (internal-sftp) and every
# client run inside it on 127.0.0.1 (the script runs itself again there
# under nsenter --net, so that the mounts stay the host's).  The relay
# models latency only: no loss, no slow start; a connection moves at most
# 8 MiB per half round trip (its queue), and the relay's CPU (~250-400 MB/s
# in its self-test) bounds (d) before the delay does for FTP.
#
# Workloads, each on a fresh mount with the page cache dropped
# (echo 3 > /proc/sys/vm/drop_caches), the median of $RUNS runs in seconds:
#   (a) ls -lR of the 2,000-file/21-dir tree (tests/lib/fixture.sh)
#   (b) cat of $NSMALL (100) small files (2-20 KB, one directory), in name
#       order
#   (c) the files of $PAR_DIRS (3) of the tree's directories (300 files) by
#       find DIRS -type f | xargs -P 8 -n N cat, N = files/8, at most 50
#   (d) dd bs=1M of one $BIG_MIB (256) MiB file
# (b) and (c) cost round trips per file, so their time grows with the count
# (the tables give ms per file too): NSMALL=200 PAR_DIRS=20 (2,000 files)
# make the default run about 3 times longer.
# Clients ($CLIENTS):
#   ftpfs-ftp    ftpfs, ftp:// to vsftpd        ftpfs-sftp  ftpfs, sftp:// to sshd
#   sshfs        sshfs to sshd (its defaults)   rclone      rclone mount, FTP remote
#   rclone-sftp  rclone mount, SFTP remote      curl        curl to vsftpd
#   curl-sftp    curl sftp:// to sshd
# curl is the raw limit, one invocation per workload: (a) a listing of each
# of the 21 directories on one connection, (b) the URLs in one invocation
# (one connection), (c) the URLs with -Z --parallel-max 8, (d) -o /dev/null.
# Also per workload: the connections the relay saw opened (and the most
# open at once), the FTP commands vsftpd logged, and the peak RSS (VmHWM)
# of the FUSE daemon at the end of the workload.
#
# Environment:
#   DELAYS="20 50"   round trips in ms       RUNS=3
#   CLIENTS="ftpfs-ftp ftpfs-sftp sshfs rclone curl"   (also: rclone-sftp
#                    curl-sftp; each client adds ~5 minutes to the default run)
#   WORKLOADS="ls seq par big"               FTPFS=build/ftpfs
#   FTPFS_DESC=TEXT       what the binary is, for the header (default: the
#                         tree's commit, "+changes" when src/ differs)
#   FTPFS_OPTS="-o ..."   more ftpfs options
#   NSMALL=100  PAR_DIRS=3  BIG_MIB=256  TREE_DIRS=20  TREE_FILES=100
#   WORK_TIMEOUT=600      seconds per workload run ("timeout" in the table)
#   BENCH_OUT=DIR         where the tables, raw results, logs and the plot go
#                         (default /tmp/ftpfs-bench-latency-DATE)
#   REPORT=DIR            print the tables (and plot) of the run in DIR again
# The ftpfs binary is copied at the start (a rebuild meanwhile does not mix
# versions into one run).  A PNG plot is made with gnuplot when installed.
# One run at a time: a second one waits for the first (a lock in /run/lock).
# Everything started is stopped on exit, Ctrl-C included: mounts, servers,
# the relay, the namespace.  All traffic stays on the namespaces' loopback.
set -u
set -o pipefail
exec </dev/null

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/servers.sh
. "$repo/tests/lib/servers.sh"
# shellcheck source=../lib/fixture.sh
. "$repo/tests/lib/fixture.sh"
# shellcheck source=../lib/benchtls.sh
. "$repo/tests/lib/benchtls.sh"
# shellcheck source=../lib/latns.sh
. "$repo/tests/lib/latns.sh"

export LC_ALL=C.UTF-8
QUICK=${QUICK:-}
if [ -n "$QUICK" ]; then
	DELAYS=${DELAYS:-20}
	RUNS=${RUNS:-1}
	BIG_MIB=${BIG_MIB:-32}
	NSMALL=${NSMALL:-20}
	PAR_DIRS=${PAR_DIRS:-4}
	FIXTURE_TREE_DIRS=${TREE_DIRS:-4}
	FIXTURE_TREE_FILES=${TREE_FILES:-25}
else
	DELAYS=${DELAYS:-20 50}
	RUNS=${RUNS:-3}
	BIG_MIB=${BIG_MIB:-256}
	NSMALL=${NSMALL:-100}
	PAR_DIRS=${PAR_DIRS:-3}
	FIXTURE_TREE_DIRS=${TREE_DIRS:-20}
	FIXTURE_TREE_FILES=${TREE_FILES:-100}
fi
if [ -n "$QUICK" ]; then
	CLIENTS=${CLIENTS:-ftpfs-ftp ftpfs-sftp sshfs rclone rclone-sftp curl curl-sftp}
else
	CLIENTS=${CLIENTS:-ftpfs-ftp ftpfs-sftp sshfs rclone curl}
fi
WORKLOADS=${WORKLOADS:-ls seq par big}
WORK_TIMEOUT=${WORK_TIMEOUT:-600}
FTPFS=${FTPFS:-build/ftpfs}
case $FTPFS in /*) ;; *) FTPFS=$repo/$FTPFS ;; esac
read -r -a EXTRA_OPTS <<<"${FTPFS_OPTS:-}"
[ "$PAR_DIRS" -le "$FIXTURE_TREE_DIRS" ] || PAR_DIRS=$FIXTURE_TREE_DIRS
NTREE=$((FIXTURE_TREE_DIRS * FIXTURE_TREE_FILES))
NPAR=$((PAR_DIRS * FIXTURE_TREE_FILES))
# xargs -n: 8 cat processes at a time even for a few hundred files
PAR_N=$(((NPAR + 7) / 8))
[ "$PAR_N" -le 50 ] || PAR_N=50
BIG=big-${BIG_MIB}M.bin
export DELAYS RUNS BIG_MIB NSMALL PAR_DIRS FIXTURE_TREE_DIRS FIXTURE_TREE_FILES CLIENTS \
	WORKLOADS WORK_TIMEOUT FTPFS_OPTS QUICK

msg() { printf '# %s\n' "$*" >&2; }

# Seconds since the $EPOCHREALTIME value T0.
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'; }

drop_caches() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
}

# =============================================================================
# Inside the namespace (BENCH_INNER=1): servers, mounts, measurements.  Writes
# one line per measurement to $BENCH_RESULTS:
#   delay run workload client seconds mount_seconds conns peak rss_kb ftp_cmds
# =============================================================================
inner() {
	local delay=$BENCH_DELAY ns=$BENCH_NS data=$BENCH_DATA run w c
	srv_init
	MNT=$SRV_TMP/mnt
	mkdir -p "$MNT"
	srv_track_mount "$MNT"
	FTPFS_REAL=$(readlink -f "$BENCH_FTPFS")
	RCLONE_REAL=$(readlink -f "$(command -v rclone)")
	SSHFS_REAL=$(readlink -f "$(command -v sshfs)")
	export RCLONE_CONFIG=$SRV_TMP/rclone.conf
	: >"$RCLONE_CONFIG"
	srv_start vsftpd "$data" || return 1
	srv_start sshd "$data" || return 1
	SSH_PORT=$(srv_port sshd)
	KH=$(srv_known_hosts sshd)
	# curl (libssh2) gets the ECDSA host key; --hostpubsha256 wants the
	# base64 with its padding.
	HOSTPUB=$(srv_host_fpr sshd ecdsa)
	HOSTPUB=${HOSTPUB#SHA256:}=
	SMALL_BYTES=$(find "$data/small" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
	mapfile -t PAR_DIR_NAMES < <(cd "$data/tree" && find . -mindepth 1 -maxdepth 1 -type d -printf '%P\n' | sort | head -n "$PAR_DIRS")
	PAR_BYTES=$(cd "$data/tree" && find "${PAR_DIR_NAMES[@]}" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
	BIG_BYTES=$(stat -c %s "$data/$BIG")
	mapfile -t SMALL_NAMES < <(cd "$data/small" && find . -type f -printf '%P\n' | sort)
	mapfile -t PAR_NAMES < <(cd "$data/tree" && find "${PAR_DIR_NAMES[@]}" -type f | sort)
	mapfile -t TREE_DIRS < <(cd "$data/tree" && find . -mindepth 1 -type d -printf '%P/\n' | sort)

	for ((run = 1; run <= RUNS; run++)); do
		for w in $WORKLOADS; do
			for c in $CLIENTS; do
				measure "$delay" "$run" "$w" "$c" "$ns"
			done
		done
	done
	# The clients' logs and vsftpd's protocol log, for a look afterwards.
	mkdir -p "$BENCH_OUT/logs-$delay"
	cp "$SRV_TMP"/*.log "$SRV_TMP/work.err" "$BENCH_OUT/logs-$delay/" 2>/dev/null
	cp "$(srv_log vsftpd)" "$BENCH_OUT/logs-$delay/vsftpd-protocol.log"
	return 0
}

# The mount's folder for a workload (relative to the served folder).
work_dir() {
	case $1 in
	ls | par) printf tree ;;
	seq) printf small ;;
	big) printf '' ;;
	esac
}

is_mount_client() { case $1 in curl | curl-sftp) return 1 ;; esac; }

daemon_exe() {
	case $1 in
	ftpfs-*) printf '%s' "$FTPFS_REAL" ;;
	sshfs) printf '%s' "$SSHFS_REAL" ;;
	rclone*) printf '%s' "$RCLONE_REAL" ;;
	esac
}

rclone_sftp_remote() {
	printf ':sftp,host=127.0.0.1,port=%s,user=%s,key_file=%s,known_hosts_file=%s,shell_type=none:' \
		"$SSH_PORT" "$SRV_USER" "$SRV_SSH_KEY" "$KH"
}

# Wait until MNT is mounted (PID: the mounting command, may daemonize).
wait_mounted() {
	local i
	for ((i = 0; i < 600; i++)); do
		srv_is_mounted "$MNT" && return 0
		sleep 0.05
	done
	return 1
}

mount_client() { # CLIENT DIR
	local c=$1 dir=$2
	case $c in
	ftpfs-ftp)
		SRV_MOUNT_OPTS=()
		FTPFS_MOUNT_LOG=$SRV_TMP/ftpfs.log ftpfs_mount "$FTPFS_REAL" "$MNT" \
			"$(srv_url vsftpd "${dir:+$dir/}")" "${EXTRA_OPTS[@]}"
		;;
	ftpfs-sftp)
		# shellcheck disable=SC2034 # ftpfs_mount appends them
		read -r -a SRV_MOUNT_OPTS <<<"$(srv_opts sshd)"
		FTPFS_MOUNT_LOG=$SRV_TMP/ftpfs.log ftpfs_mount "$FTPFS_REAL" "$MNT" \
			"$(srv_url sshd "$dir")" "${EXTRA_OPTS[@]}"
		;;
	sshfs)
		FTPFS_TEST_TAG=$SRV_TMP timeout 60 sshfs -p "$SSH_PORT" \
			-o IdentityFile="$SRV_SSH_KEY" -o IdentitiesOnly=yes \
			-o UserKnownHostsFile="$KH" -o StrictHostKeyChecking=yes \
			-o BatchMode=yes "$SRV_USER@127.0.0.1:$BENCH_DATA/$dir" "$MNT" \
			>>"$SRV_TMP/sshfs.log" 2>&1 && wait_mounted
		;;
	rclone | rclone-sftp)
		local remote
		if [ "$c" = rclone ]; then
			remote="$(rclone_remote vsftpd)$dir"
		else
			remote="$(rclone_sftp_remote)$BENCH_DATA/$dir"
		fi
		FTPFS_TEST_TAG=$SRV_TMP setsid rclone mount "$remote" "$MNT" \
			--daemon --log-file "$SRV_TMP/rclone.log" >/dev/null 2>&1 &&
			wait_mounted
		;;
	esac
}

umount_client() { # CLIENT
	local exe i
	exe=$(daemon_exe "$1")
	if srv_is_mounted "$MNT"; then
		timeout 20 fusermount3 -u "$MNT" 2>/dev/null || srv_unmount "$MNT"
	fi
	for ((i = 0; i < 150; i++)); do
		[ -n "$(srv_tagged_pids "$exe")" ] || return 0
		sleep 0.1
	done
	msg "$1 still running 15 s after unmounting: killing it"
	for i in $(srv_tagged_pids "$exe"); do kill -KILL "$i" 2>/dev/null || true; done
}

curl_base() { # CLIENT: curl's common arguments
	CURL=(curl -s -S --connect-timeout 30)
	[ "$1" != curl-sftp ] ||
		CURL+=(--key "$SRV_SSH_KEY" --pubkey "$SRV_SSH_KEY.pub"
			--hostpubsha256 "$HOSTPUB")
}

curl_urls() { # CLIENT DIR NAMES...: one URL per name
	local c=$1 dir=${2:+$2/} n base
	shift 2
	if [ "$c" = curl ]; then
		base=$(srv_url vsftpd "$dir")
	else
		base="sftp://$SRV_USER@127.0.0.1:$SSH_PORT$BENCH_DATA/$dir"
	fi
	for n in "$@"; do printf '%s%s\n' "$base" "$n"; done
}

# Runs workload W for client C in the current mount (or by curl); prints
# "OK" or what went wrong.  Output counted, never kept.
workload() { # W C
	local w=$1 c=$2 n t=$WORK_TIMEOUT
	local -a urls
	if is_mount_client "$c"; then
		case $w in
		ls)
			n=$(timeout "$t" ls -lR "$MNT" 2>>"$SRV_TMP/work.err" | grep -c '^-')
			[ "$n" -eq "$NTREE" ] || { echo "saw $n of $NTREE files"; return; } ;;
		seq)
			n=$(cd "$MNT" && timeout "$t" cat -- "${SMALL_NAMES[@]}" 2>>"$SRV_TMP/work.err" | wc -c)
			[ "$n" -eq "$SMALL_BYTES" ] || { echo "read $n of $SMALL_BYTES bytes"; return; } ;;
		par)
			# shellcheck disable=SC2016 # sh's own $0 and $@
			n=$(cd "$MNT" && timeout "$t" sh -c 'find "$@" -type f | xargs -P 8 -n "$0" cat' "$PAR_N" "${PAR_DIR_NAMES[@]}" 2>>"$SRV_TMP/work.err" | wc -c)
			[ "$n" -eq "$PAR_BYTES" ] || { echo "read $n of $PAR_BYTES bytes"; return; } ;;
		big)
			n=$(timeout "$t" dd if="$MNT/$BIG" of=/dev/null bs=1M 2>&1 | awk '/bytes/ { print $1; exit }')
			[ "${n:-0}" -eq "$BIG_BYTES" ] || { echo "read ${n:-0} of $BIG_BYTES bytes"; return; } ;;
		esac
		echo OK
		return
	fi
	curl_base "$c"
	case $w in
	ls)
		mapfile -t urls < <(curl_urls "$c" tree "" "${TREE_DIRS[@]}")
		n=$(timeout "$t" "${CURL[@]}" "${urls[@]}" 2>>"$SRV_TMP/work.err" | grep -c '^-')
		[ "$n" -eq "$NTREE" ] || { echo "listed $n of $NTREE files"; return; } ;;
	seq)
		mapfile -t urls < <(curl_urls "$c" small "${SMALL_NAMES[@]}")
		n=$(timeout "$t" "${CURL[@]}" "${urls[@]}" 2>>"$SRV_TMP/work.err" | wc -c)
		[ "$n" -eq "$SMALL_BYTES" ] || { echo "read $n of $SMALL_BYTES bytes"; return; } ;;
	par)
		mapfile -t urls < <(curl_urls "$c" tree "${PAR_NAMES[@]}")
		n=$(timeout "$t" "${CURL[@]}" -Z --parallel-max 8 "${urls[@]}" 2>>"$SRV_TMP/work.err" | wc -c)
		[ "$n" -eq "$PAR_BYTES" ] || { echo "read $n of $PAR_BYTES bytes"; return; } ;;
	big)
		mapfile -t urls < <(curl_urls "$c" "" "$BIG")
		n=$(timeout "$t" "${CURL[@]}" -o /dev/null -w '%{size_download}' "${urls[0]}" 2>>"$SRV_TMP/work.err")
		[ "${n:-0}" -eq "$BIG_BYTES" ] || { echo "read ${n:-0} of $BIG_BYTES bytes"; return; } ;;
	esac
	echo OK
}

measure() { # DELAY RUN W C NS
	local delay=$1 run=$2 w=$3 c=$4 ns=$5 dir t0 secs mount_secs=- st
	local conns=- peak=- rss=- cmds=- mark=0 pid stats
	dir=$(work_dir "$w")
	drop_caches
	if is_mount_client "$c"; then
		t0=$EPOCHREALTIME
		if ! mount_client "$c" "$dir"; then
			msg "$delay ms, run $run, $w: $c did not mount"
			umount_client "$c"
			printf '%s\t%s\t%s\t%s\tfail\t-\t-\t-\t-\t-\n' "$delay" "$run" "$w" "$c" >>"$BENCH_RESULTS"
			return
		fi
		mount_secs=$(since "$t0")
	fi
	latns_stats "$ns" >/dev/null # restart the relay's counts
	mark=$(srv_log_lines vsftpd)
	t0=$EPOCHREALTIME
	st=$(workload "$w" "$c")
	secs=$(since "$t0")
	if is_mount_client "$c"; then
		pid=$(srv_tagged_pids "$(daemon_exe "$c")" | head -n 1)
		if [ -n "$pid" ]; then
			rss=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
		fi
	fi
	stats=$(latns_stats "$ns")
	conns=$(printf '%s' "$stats" | sed -n 's/.*total=\([0-9]*\).*/\1/p')
	peak=$(printf '%s' "$stats" | sed -n 's/.*peak=\([0-9]*\).*/\1/p')
	case $c in
	ftpfs-ftp | rclone | curl)
		sleep 0.3 # the last log lines
		cmds=$(srv_commands vsftpd "$mark" | wc -l) ;;
	esac
	if [ "$st" != OK ]; then
		msg "$delay ms, run $run, $w, $c: $st after $secs s; $(tail -n 2 "$SRV_TMP/work.err" 2>/dev/null | tr '\n' ' ')"
		secs=$(awk -v a="$secs" -v t="$WORK_TIMEOUT" 'BEGIN { print (a >= t - 1 ? "timeout" : "fail") }')
	fi
	is_mount_client "$c" && umount_client "$c"
	msg "$delay ms, run $run/$RUNS, $w, $c: $secs s (mount ${mount_secs} s, connections ${conns:--}/${peak:--}, rss ${rss:--} kB, ftp commands $cmds)"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$delay" "$run" "$w" "$c" \
		"$secs" "$mount_secs" "${conns:--}" "${peak:--}" "${rss:--}" "$cmds" >>"$BENCH_RESULTS"
}

if [ -n "${BENCH_INNER:-}" ]; then
	inner
	exit $?
fi

# Ctrl-C: the run in the namespace ignores SIGINT (it runs in the
# background, so that "wait" returns at once here).  Ask it to clean up
# (SIGTERM, which it handles once its current command ends), then unmount
# what it left (which ends a command blocked in a mount), stop everything
# in the namespaces, and remove the folders.
bench_cleanup() {
	local m d i
	trap '' INT
	if [ -n "$INNER_PID" ] && kill -0 "$INNER_PID" 2>/dev/null; then
		kill -TERM "$INNER_PID" 2>/dev/null
		for ((i = 0; i < 100; i++)); do
			kill -0 "$INNER_PID" 2>/dev/null || break
			sleep 0.1
		done
	fi
	for d in "${INNER_DIRS[@]}"; do
		# deepest first; a FUSE mount is aborted if unmounting hangs
		awk -v p="$d" '$5 == p || index($5, p "/") == 1 { print $5 }' /proc/self/mountinfo |
			sort -r | while read -r m; do
			srv_unmount "$m"
			umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
		done
	done
	latns_down_all
	for d in "${INNER_DIRS[@]}"; do
		if grep -qsE " $d(/| )" /proc/self/mountinfo; then
			msg "mounts remain under $d; not removing it"
		else
			rm -rf --one-file-system "$d"
		fi
	done
	INNER_DIRS=()
	srv_cleanup
}

# =============================================================================
# On the host: the data, a namespace per delay, then the tables.
# =============================================================================
run_all() {
	if [ "$(id -u)" != 0 ]; then
		echo "run as root (namespaces, servers, drop_caches)" >&2
		exit 1
	fi
	if [ ! -x "$FTPFS" ]; then
		echo "no ftpfs binary at $FTPFS (build it: meson setup build && ninja -C build)" >&2
		exit 1
	fi
	# One run at a time: two at once distort each other (CPU, the page
	# cache).  The lock is held on fd 9 by this shell only (what it
	# starts for long gets 9>&-).
	local lock=/run/lock/ftpfs-bench-latency.lock
	[ -d /run/lock ] || lock=/tmp/ftpfs-bench-latency.lock
	exec 9>>"$lock"
	if ! flock -n 9; then
		msg "another bench_latency.sh is running (two at once distort each other): waiting for it"
		flock 9
	fi
	for tool in vsftpd:/usr/sbin/vsftpd sshd:/usr/sbin/sshd sshfs:sshfs rclone:rclone \
		curl:curl nft:nft nsenter:nsenter fusermount3:fusermount3; do
		command -v "${tool#*:}" >/dev/null || {
			echo "${tool%%:*} missing: run tests/deps.sh (and apt-get install nftables)" >&2
			exit 1
		}
	done

	: >"$RESULTS"

	srv_init
	# The run in the namespace: its pid and its own SRV_TMP (outside ours).
	INNER_PID=
	declare -ga INNER_DIRS=()
	trap 'bench_cleanup' EXIT
	trap 'bench_cleanup; trap - INT; kill -INT $$' INT
	trap 'bench_cleanup; trap - TERM; kill -TERM $$' TERM

	cp "$FTPFS" "$SRV_TMP/ftpfs"
	BENCH_FTPFS=$SRV_TMP/ftpfs
	FTPFS_VERSION=$("$BENCH_FTPFS" -V 2>&1 | head -n 1)
	# The tree's commit, "+changes" when src/ differs from it, and when
	# the binary was built (it may predate the commit or the changes).
	# ($FTPFS_DESC instead, for a binary built elsewhere.)
	if [ -n "${FTPFS_DESC:-}" ]; then
		FTPFS_COMMIT=$FTPFS_DESC
	else
		FTPFS_COMMIT=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')
		if [ -n "$(git -C "$repo" status --porcelain -- src include meson.build 2>/dev/null)" ]; then
			FTPFS_COMMIT+="+changes"
		fi
	fi
	FTPFS_COMMIT+=", built $(date -u -r "$FTPFS" '+%F %H:%M')"

	DATA=$SRV_TMP/data
	msg "building the data in $DATA: the tree ($NTREE files; (c) reads $NPAR of them), $NSMALL small files, $BIG_MIB MiB"
	fixture_build "$DATA" || exit 1
	mkdir -p "$DATA/small"
	for ((i = 0; i < NSMALL; i++)); do
		# 2-20 KB, spread evenly, the same sizes every run
		head -c $((2048 + (i * 7919) % 18433)) /dev/urandom >"$(printf '%s/small/s%03d' "$DATA" "$i")"
	done
	fixture_big "$DATA/$BIG" "$BIG_MIB"
	chown -R "$SRV_USER": "$DATA"

	for delay in $DELAYS; do
		ns=ftpfs-lat$$-$delay
		latns_up "$ns" "$delay" 9>&- || exit 1
		if ! latns_selftest "$ns" | tee "$BENCH_OUT/selftest-$delay.txt" | sed 's/^/# /' >&2; then
			msg "the relay does not add $delay ms: stopping"
			exit 1
		fi
		inner_tmp=$(mktemp -d /tmp/ftpfs-test.XXXXXX)
		INNER_DIRS+=("$inner_tmp")
		latns_run "$ns" env BENCH_INNER=1 BENCH_DELAY="$delay" BENCH_NS="$ns" \
			BENCH_DATA="$DATA" BENCH_RESULTS="$RESULTS" BENCH_FTPFS="$BENCH_FTPFS" \
			BENCH_OUT="$BENCH_OUT" \
			SRV_TMP="$inner_tmp" bash "$here/bench_latency.sh" 9>&- &
		INNER_PID=$!
		wait "$INNER_PID" || msg "the run at $delay ms failed (exit $?)"
		INNER_PID=
		latns_down "$ns"
	done
	{
		for v in DELAYS RUNS CLIENTS WORKLOADS NSMALL NPAR NTREE PAR_DIRS \
			FIXTURE_TREE_DIRS BIG_MIB FTPFS_VERSION FTPFS_COMMIT; do
			printf '%s=%q\n' "$v" "${!v}"
		done
		printf 'RUN_DATE=%q\nRUN_LOAD=%q\n' "$(date -u +%F)" "$(cut -d' ' -f1-3 /proc/loadavg)"
	} >"$BENCH_OUT/config.sh"
}

# =============================================================================
# Tables: medians per delay, workload and client.
# =============================================================================
label() {
	case $1 in
	mount) printf 'mount (s)' ;;
	ls) printf '(a) ls -lR, %d files/%d dirs' "$NTREE" "$((FIXTURE_TREE_DIRS + 1))" ;;
	seq) printf '(b) cat %d small files' "$NSMALL" ;;
	par) printf '(c) xargs -P8 cat, %d files' "$NPAR" ;;
	big) printf '(d) dd %d MiB' "$BIG_MIB" ;;
	esac
}

# median COLUMN DELAY WORKLOAD CLIENT: median of the numbers in COLUMN of
# the results (failed runs count as slowest: "fail" when more than half
# failed); "-" when there is none.
median() {
	awk -F'\t' -v col="$1" -v d="$2" -v w="$3" -v c="$4" '
		BEGIN { n = k = 0 }
		$1 == d && $3 == w && $4 == c {
			n++
			if ($col ~ /^[0-9.]+$/) v[k++] = $col; else bad = $col
		}
		END {
			if (n == 0) { print "-"; exit }
			for (i = k; i < n; i++) v[i] = 1e18
			for (i = 1; i < n; i++)
				for (j = i; j > 0 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
			m = n % 2 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2
			if (m >= 1e18) print (bad == "" ? "fail" : bad)
			else if (col == 5 || col == 6) printf "%.2f\n", m
			else printf "%d\n", m
		}' "$RESULTS"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "-" }'; }

is_mount() { case $1 in curl | curl-sftp) return 1 ;; esac; }

tables() {
	local delay w c v cells
	printf '\nftpfs latency benchmark, %s, %s (%s), %s cores, load %s, median of %s run(s)\n' \
		"$RUN_DATE" "$FTPFS_VERSION" "$FTPFS_COMMIT" "$(nproc)" "$RUN_LOAD" "$RUNS"
	printf 'vsftpd and OpenSSH sshd (internal-sftp) on 127.0.0.1 behind a userspace relay adding the round trip (and the handshake'"'"'s);\n'
	printf 'each run on a fresh mount with the page cache dropped; mount time not included; seconds\n'
	for delay in $DELAYS; do
		printf '\n== %s ms round trip  (relay self-test: %s)\n' "$delay" \
			"$(sed -n 's/^selftest: connect+echo \([0-9.]*\) ms.*echo \([0-9.]*\) ms.*/connect+echo \1 ms, echo \2 ms/p' "$BENCH_OUT/selftest-$delay.txt" 2>/dev/null)"
		cells=$(printf '%-32s' workload)
		for c in $CLIENTS; do cells+=$(printf ' %11s' "$c"); done
		printf '%s\n' "$cells"
		for w in mount $WORKLOADS; do
			cells=$(printf '%-32s' "$(label "$w")")
			for c in $CLIENTS; do
				if [ "$w" = mount ]; then
					if is_mount "$c"; then
						v=$(awk -F'\t' -v d="$delay" -v c="$c" '$1 == d && $4 == c && $6 ~ /^[0-9.]+$/ { print $6 }' "$RESULTS" |
							sort -g | awk '{ v[n++] = $1 } END { if (n) printf "%.2f", n % 2 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2; else print "-" }')
					else
						v=-
					fi
				else
					v=$(median 5 "$delay" "$w" "$c")
				fi
				cells+=$(printf ' %11s' "$v")
			done
			printf '%s\n' "$cells"
		done
		if [[ " $WORKLOADS " == *" big "* ]]; then
			cells=$(printf '%-32s' "  (d) as MB/s")
			for c in $CLIENTS; do
				v=$(median 5 "$delay" big "$c")
				cells+=$(printf ' %11s' "$(awk -v s="$v" -v m="$BIG_MIB" 'BEGIN { if (s + 0 > 0) printf "%.0f", m * 1048576 / s / 1e6; else print "-" }')")
			done
			printf '%s\n' "$cells"
		fi
		for w in seq par; do
			[[ " $WORKLOADS " == *" $w "* ]] || continue
			cells=$(printf '%-32s' "  ($([ "$w" = seq ] && echo b || echo c)) per file, ms")
			for c in $CLIENTS; do
				v=$(median 5 "$delay" "$w" "$c")
				cells+=$(printf ' %11s' "$(awk -v s="$v" -v n="$([ "$w" = seq ] && echo "$NSMALL" || echo "$NPAR")" 'BEGIN { if (s + 0 > 0) printf "%.0f", s * 1000 / n; else print "-" }')")
			done
			printf '%s\n' "$cells"
		done
		if [[ " $CLIENTS " == *" sshfs "* ]]; then
			printf '%-32s %11s %11s   (time ratio: below 1 = ftpfs faster)\n' "ftpfs / sshfs" ftp sftp
			for w in $WORKLOADS; do
				v=$(median 5 "$delay" "$w" sshfs)
				printf '%-32s %11s %11s\n' "$(label "$w")" \
					"$(ratio "$(median 5 "$delay" "$w" ftpfs-ftp)" "$v")" \
					"$(ratio "$(median 5 "$delay" "$w" ftpfs-sftp)" "$v")"
			done
		fi
		printf '%s\n' "connections opened / most open at once (relay's count, median)"
		for w in $WORKLOADS; do
			cells=$(printf '%-32s' "$(label "$w")")
			for c in $CLIENTS; do
				cells+=$(printf ' %11s' "$(median 7 "$delay" "$w" "$c")/$(median 8 "$delay" "$w" "$c")")
			done
			printf '%s\n' "$cells"
		done
		printf '%s\n' "FTP commands vsftpd received (median)"
		for w in $WORKLOADS; do
			cells=$(printf '%-32s' "$(label "$w")")
			for c in $CLIENTS; do
				case $c in
				ftpfs-ftp | rclone | curl) v=$(median 10 "$delay" "$w" "$c") ;;
				*) v=- ;;
				esac
				cells+=$(printf ' %11s' "$v")
			done
			printf '%s\n' "$cells"
		done
		printf '%s\n' "peak RSS of the FUSE daemon, MB (VmHWM at the end, median)"
		for w in $WORKLOADS; do
			cells=$(printf '%-32s' "$(label "$w")")
			for c in $CLIENTS; do
				v=$(median 9 "$delay" "$w" "$c")
				case $v in *[!0-9]* | '') ;; *) v=$(awk -v k="$v" 'BEGIN { printf "%.1f", k / 1024 }') ;; esac
				cells+=$(printf ' %11s' "$v")
			done
			printf '%s\n' "$cells"
		done
	done
}

plot() {
	local delay w c f=$BENCH_OUT/plot.dat
	if ! command -v gnuplot >/dev/null; then
		echo "gnuplot not installed (apt-get install gnuplot-nox): no plot"
		return
	fi
	{
		printf 'workload'
		for c in $CLIENTS; do printf '\t%s' "$c"; done
		printf '\n'
		for delay in $DELAYS; do
			for w in $WORKLOADS; do
				printf '%s_%sms' "$w" "$delay"
				for c in $CLIENTS; do
					v=$(median 5 "$delay" "$w" "$c")
					case $v in [0-9]*) ;; *) v='?' ;; esac
					printf '\t%s' "$v"
				done
				printf '\n'
			done
		done
	} >"$f"
	if gnuplot <<EOF 2>"$BENCH_OUT/gnuplot.err"; then
set terminal pngcairo size 1200,600 noenhanced
set output "$BENCH_OUT/latency.png"
set title "ftpfs latency benchmark: seconds per workload (median of $RUNS), lower is better"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set logscale y
set ylabel "seconds (log scale)"
set datafile missing "?"
set key outside right top
set xtics rotate by -30
plot for [i=2:$(($(wc -w <<<"$CLIENTS") + 1))] "$f" using i:xtic(1) title columnheader(i)
EOF
		echo "plot: $BENCH_OUT/latency.png"
	else
		echo "gnuplot failed:"
		cat "$BENCH_OUT/gnuplot.err"
	fi
}

if [ -n "${REPORT:-}" ]; then
	# The tables of an earlier run again (and the plot).
	BENCH_OUT=$REPORT
	RESULTS=$BENCH_OUT/results.tsv
else
	BENCH_OUT=${BENCH_OUT:-/tmp/ftpfs-bench-latency-$(date -u +%Y%m%d-%H%M%S)}
	mkdir -p "$BENCH_OUT"
	RESULTS=$BENCH_OUT/results.tsv
	run_all
fi
# What the run was (written by run_all).
# shellcheck source=/dev/null
. "$BENCH_OUT/config.sh" || exit 1
tables | tee "$BENCH_OUT/tables.txt"
plot | tee -a "$BENCH_OUT/tables.txt"
echo "raw results, logs: $BENCH_OUT"
