#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Benchmark ftpfs against curl and rclone mount, all on 127.0.0.1 (as root):
#
#     bash tests/bench/bench.sh            (FTPFS=build/ftpfs by default)
#
# Prints one table:
#  (1) sequential read of a 256 MiB file from vsftpd: ftpfs (dd bs=1M of=/dev/null, a
#      fresh mount), curl -o /dev/null, rclone mount (fresh mount), runs
#      interleaved; MB/s = 10^6 bytes/s, the median of $RUNS runs (a short
#      loopback transfer is noisy, curl's most of all: the median resists
#      one lucky run where the best of a few does not); target ftpfs/curl
#      >= 0.5.  The slowest and fastest run are printed too.
#  (2) ls -lR of the 2,000-file/20-dir tree on a fresh mount of
#      ftp://.../tree (so the mount's root is tree/), for each server: listing commands (LIST/NLST/MLSD/STAT with an argument) the
#      server logged, target <= 21 (one per directory incl. tree/), and
#      wall time; the same for rclone mount.
# The server's copy of the file stays in the page cache (it is read once
# before measuring), so the numbers compare the clients, not the disk.
#
#   RUNS=5  BENCH_MIB=256  BENCH_SERVERS="vsftpd proftpd pureftpd pyftpdlib"
#   FTPFS_OPTS="-o ..."    extra ftpfs mount arguments
#   SRV_TLS=explicit|implicit   the same over FTPS (a test CA
#                          is made, ftpfs gets -o cafile, curl --ssl-reqd
#                          --cacert; no rclone read: it cannot resume TLS
#                          sessions as vsftpd requires)
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

export LC_ALL=C.UTF-8
FTPFS=${FTPFS:-build/ftpfs}
case $FTPFS in /*) ;; *) FTPFS=$repo/$FTPFS ;; esac
FTPFS_REAL=$(readlink -f "$FTPFS")
RUNS=${RUNS:-5}
BENCH_MIB=${BENCH_MIB:-256}
BENCH_SERVERS=${BENCH_SERVERS:-$SRV_ALL}
read -r -a EXTRA_OPTS <<<"${FTPFS_OPTS:-}"
LS_TARGET=$((FIXTURE_TREE_DIRS + 1))

if [ ! -x "$FTPFS" ]; then
	echo "no ftpfs binary at $FTPFS (build it: meson setup build && ninja -C build)" >&2
	exit 1
fi
command -v rclone >/dev/null || { echo "rclone missing: run tests/deps.sh" >&2; exit 1; }

msg() { printf '# %s\n' "$*" >&2; }

srv_init
DATA=$SRV_TMP/data
MNT=$SRV_TMP/mnt
BIG=big-${BENCH_MIB}M.bin
export RCLONE_CONFIG=$SRV_TMP/rclone.conf
: >"$RCLONE_CONFIG"

msg "building the test tree and a $BENCH_MIB MiB file in $DATA"
fixture_build "$DATA" "$SRV_USER" || exit 1
fixture_big "$DATA/$BIG" "$BENCH_MIB" "$SRV_USER"
cat "$DATA/$BIG" >/dev/null # into the page cache
BYTES=$(stat -c %s "$DATA/$BIG")

bench_tls_setup || exit 1

mount_ftpfs() { # SERVER [PATH]
	FTPFS_MOUNT_LOG=$SRV_TMP/ftpfs.log ftpfs_mount "$FTPFS" "$MNT" \
		"$(srv_url "$1" "${2:-}")" "${EXTRA_OPTS[@]}"
}

mount_rclone() { # SERVER [PATH]
	local i
	mkdir -p "$MNT"
	srv_track_mount "$MNT"
	FTPFS_TEST_TAG=$SRV_TMP setsid rclone mount "$(rclone_remote "$1")${2:-}" "$MNT" \
		--daemon --log-file "$SRV_TMP/rclone.log" >/dev/null 2>&1
	for ((i = 0; i < 200; i++)); do
		srv_is_mounted "$MNT" && return 0
		sleep 0.05
	done
	return 1
}

umount_any() {
	ftpfs_umount "$MNT" >/dev/null 2>&1
	# wait for the daemons of this run that served the mount to go
	local i
	for ((i = 0; i < 100; i++)); do
		[ -z "$(srv_tagged_pids "$FTPFS_REAL")$(srv_tagged_pids "$(readlink -f "$(command -v rclone)")")" ] && return 0
		sleep 0.1
	done
}

# MB/s of reading FILE with dd bs=1M into /dev/null (as curl -o /dev/null:
# no pipe to count through, which would cost a reader two more copies), or
# "fail".  dd's own summary line gives the byte count.
dd_rate() {
	local t0 n secs
	t0=$EPOCHREALTIME
	n=$(timeout 300 dd if="$1" of=/dev/null bs=1M 2>&1 | awk '/bytes/ { print $1; exit }')
	secs=$(srv_since "$t0")
	n=${n:-0}
	if [ "$n" -ne "$BYTES" ]; then
		msg "read $n of $BYTES bytes from $1"
		echo fail
		return
	fi
	awk -v b="$n" -v s="$secs" 'BEGIN { printf "%.1f", b / s / 1e6 }'
}

# values...: the median of the numbers (a failed run counts as slowest),
# or "fail" if more than half failed
median() {
	printf '%s\n' "$@" | awk '/^[0-9.]+$/ { v[n++] = $1; next } { v[n++] = -1 }
		END {
			for (i = 1; i < n; i++)
				for (j = i; j > 0 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
			m = n % 2 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2
			if (n == 0 || m < 0) print "fail"; else printf "%.1f\n", m
		}'
}

spread() { # values...: "min-max" of the numbers
	printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -g | sed -n '1h;${H;x;s/\n/-/;p}'
}

# ---------------------------------------------------------------------------
# (1) sequential read, vsftpd
srv_start vsftpd "$DATA" || exit 1
r_ftpfs=() r_curl=() r_rclone=()
for ((run = 1; run <= RUNS; run++)); do
	msg "sequential read, run $run/$RUNS: ftpfs"
	if mount_ftpfs vsftpd; then
		r_ftpfs+=("$(dd_rate "$MNT/$BIG")")
	else
		msg "ftpfs mount failed: $(tail -n 3 "$SRV_TMP/ftpfs.log")"
	fi
	umount_any
	msg "sequential read, run $run/$RUNS: curl"
	r_curl+=("$(timeout 300 curl -s "${CURL_TLS[@]}" -o /dev/null \
		-w '%{speed_download}' "$(curl_url vsftpd "$BIG")" |
		awk '{ printf "%.1f", $1 / 1e6 }')")
	# rclone's FTPS data connections do not resume the control
	# connection's TLS session, which vsftpd here requires.
	[ -z "${SRV_TLS:-}" ] || continue
	msg "sequential read, run $run/$RUNS: rclone mount"
	if mount_rclone vsftpd; then
		r_rclone+=("$(dd_rate "$MNT/$BIG")")
	fi
	umount_any
done
msg "runs (MB/s): ftpfs ${r_ftpfs[*]:-} | curl ${r_curl[*]:-} | rclone ${r_rclone[*]:-}"
b_ftpfs=$(median "${r_ftpfs[@]:-}")
b_curl=$(median "${r_curl[@]:-}")
b_rclone=$(median "${r_rclone[@]:-}")
ratio=$(awk -v a="$b_ftpfs" -v b="$b_curl" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "fail" }')
ratio_rclone=$(awk -v a="$b_rclone" -v b="$b_curl" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "-" }')
seq_verdict=$(awk -v r="$ratio" 'BEGIN { print (r + 0 >= 0.5 ? "met" : "MISSED") }')
srv_stop vsftpd

# ---------------------------------------------------------------------------
# (2) ls -lR of tree/ on a fresh mount, per server
declare -A ls_n ls_t rc_n rc_t
for s in $BENCH_SERVERS; do
	srv_start "$s" "$DATA" || continue
	tools=(ftpfs rclone)
	[ -z "${SRV_TLS:-}" ] || tools=(ftpfs)
	for tool in "${tools[@]}"; do
		msg "ls -lR tree/ on $s: $tool"
		# The mount's root is tree/ itself: 21 directories in all.
		if ! "mount_$tool" "$s" tree; then
			if [ "$tool" = ftpfs ]; then ls_n[$s]=fail; else rc_n[$s]=fail; fi
			umount_any
			continue
		fi
		mark=$(srv_log_lines "$s")
		t0=$EPOCHREALTIME
		files=$(timeout 300 ls -lR "$MNT" 2>/dev/null | grep -c '^-')
		secs=$(srv_since "$t0")
		sleep 0.3 # let the last log lines land
		n=$(srv_count "$s" "$mark")
		[ "$files" -eq $((FIXTURE_TREE_DIRS * FIXTURE_TREE_FILES)) ] ||
			n="$n (saw $files files)"
		if [ "$tool" = ftpfs ]; then
			ls_n[$s]=$n ls_t[$s]=$secs
		else
			rc_n[$s]=$n rc_t[$s]=$secs
		fi
		umount_any
	done
	srv_stop "$s"
done

# ---------------------------------------------------------------------------
verdict_ls() {
	case $1 in
	'' | fail | *saw*) echo MISSED ;;
	*) [ "$1" -le "$LS_TARGET" ] && echo met || echo MISSED ;;
	esac
}
{
	printf '\nftpfs benchmark, %s, 127.0.0.1, %s cores, median of %s runs; %s\n' \
		"$(date -u +%F)" "$(nproc)" "$RUNS" "$("$FTPFS" -V 2>&1 | head -n 1)"
	fmt='%-44s %14s %14s %14s %8s %7s\n'
	# shellcheck disable=SC2059
	printf "$fmt" "measure" "ftpfs" "curl" "rclone" "target" "ftpfs"
	printf "$fmt" "seq read ${BENCH_MIB} MiB, vsftpd$([ -z "${SRV_TLS:-}" ] || printf " %s" "$(srv_scheme)") (MB/s)" "$b_ftpfs" "$b_curl" "$b_rclone" "" ""
	printf "$fmt" "  slowest-fastest run" "$(spread "${r_ftpfs[@]:-}")" \
		"$(spread "${r_curl[@]:-}")" "$(spread "${r_rclone[@]:-}")" "" ""
	printf "$fmt" "  ratio to curl" "$ratio" "1.00" "$ratio_rclone" ">= 0.5" "$seq_verdict"
	for s in $BENCH_SERVERS; do
		printf "$fmt" "ls -lR tree/ ($((FIXTURE_TREE_DIRS + 1)) dirs), $s: listings" \
			"${ls_n[$s]:-fail}" "-" "${rc_n[$s]:-fail}" "<= $LS_TARGET" "$(verdict_ls "${ls_n[$s]:-}")"
		printf "$fmt" "  wall time (s)" "${ls_t[$s]:-}" "-" "${rc_t[$s]:-}" "" ""
	done
}
