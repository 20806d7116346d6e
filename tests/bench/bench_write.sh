#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Write benchmark, all on 127.0.0.1 (as root):
#
#     bash tests/bench/bench_write.sh          (FTPFS=build/ftpfs by default)
#
# Sequential upload of one random file of BENCH_MIB (128) MiB to each
# server, median of RUNS (5) runs, MB/s = 10^6 bytes/s, each timed from the
# start of the command until it exits (curl's login and ftpfs's and
# rclone's close, which waits for the server's final reply, included):
#   ftpfs cp        cp FILE MNT/         on a fresh ftpfs mount
#   ftpfs dd        dd bs=1M of=MNT/...  on a fresh ftpfs mount
#   curl -T         curl -T FILE ftp://.../  (the reference)
#   rclone cp       cp FILE MNT/         on rclone mount :ftp,... (vfs
#                                        cache off: streamed, like ftpfs)
# Every upload is checked on the server's disk (size every run, sha256 of
# each tool's last one).  Prints ONE table with MB/s (median, and the best
# run in brackets) and ftpfs/curl of the medians (target >= 0.5), ok/FAIL lines for the checks and the target, and "N passed, N
# failed"; exits non-zero if an upload was wrong or the target missed.
# The source file stays in the page cache and the servers write into a
# tmpfs, so the numbers compare the clients, not the disk.
#
#   RUNS=5  BENCH_MIB=128  BENCH_SERVERS="vsftpd proftpd pureftpd pyftpdlib"
#   FTPFS_OPTS="-o ..."    extra ftpfs mount arguments
#   SRV_TLS=explicit|implicit   the same over FTPS: a test CA is made,
#                          ftpfs gets -o cafile, curl --cacert (and
#                          --ssl-reqd); no rclone (it does not resume
#                          TLS sessions, which the servers require)
set -u
set -o pipefail
exec </dev/null

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/servers.sh
. "$repo/tests/lib/servers.sh"
# shellcheck source=../lib/benchtls.sh
. "$repo/tests/lib/benchtls.sh"

export LC_ALL=C.UTF-8
FTPFS=${FTPFS:-build/ftpfs}
case $FTPFS in /*) ;; *) FTPFS=$repo/$FTPFS ;; esac
FTPFS_REAL=$(readlink -f "$FTPFS")
RUNS=${RUNS:-5}
BENCH_MIB=${BENCH_MIB:-128}
BENCH_SERVERS=${BENCH_SERVERS:-$SRV_ALL}
read -r -a EXTRA_OPTS <<<"${FTPFS_OPTS:-}"
TARGET=0.5

if [ ! -x "$FTPFS" ]; then
	echo "no ftpfs binary at $FTPFS (build it: meson setup build && ninja -C build)" >&2
	exit 1
fi
command -v rclone >/dev/null || { echo "rclone missing: run tests/deps.sh" >&2; exit 1; }
command -v curl >/dev/null || { echo "curl missing: run tests/deps.sh" >&2; exit 1; }

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
	[ $# -eq 0 ] || printf '%s\n' "$@" | head -n 20 | sed 's/^/#   /'
}
msg() { printf '# %s\n' "$*" >&2; }

srv_init
# The servers write into a tmpfs: no disk writeback in the timings.  It is
# unmounted after the servers are gone (srv_cleanup runs first).
DATA=$(mktemp -d /tmp/ftpfs-bench-tmpfs.XXXXXX)
bench_cleanup() {
	srv_cleanup
	umount "$DATA" 2>/dev/null || umount -l "$DATA" 2>/dev/null
	rmdir "$DATA" 2>/dev/null
}
trap 'bench_cleanup' EXIT
trap 'bench_cleanup; trap - INT; kill -INT $$' INT
trap 'bench_cleanup; trap - TERM; kill -TERM $$' TERM
MNT=$SRV_TMP/mnt
SRC=$SRV_TMP/src-${BENCH_MIB}M.bin
BYTES=$((BENCH_MIB * 1048576))
export RCLONE_CONFIG=$SRV_TMP/rclone.conf
: >"$RCLONE_CONFIG"
mount -t tmpfs -o size=$((BENCH_MIB * 3 + 64))m,mode=755 tmpfs "$DATA" || exit 1
chown "$SRV_USER": "$DATA"
msg "making a $BENCH_MIB MiB random file"
head -c "$BYTES" /dev/urandom >"$SRC"
SRC_SHA=$(sha256sum <"$SRC" | cut -c1-64)
cat "$SRC" >/dev/null
bench_tls_setup || exit 1

mount_ftpfs() { # SERVER
	FTPFS_MOUNT_LOG=$SRV_TMP/ftpfs.log ftpfs_mount "$FTPFS" "$MNT" \
		"$(srv_url "$1")" "${EXTRA_OPTS[@]}"
}

mount_rclone() { # SERVER
	local i
	mkdir -p "$MNT"
	srv_track_mount "$MNT"
	FTPFS_TEST_TAG=$SRV_TMP setsid rclone mount "$(rclone_remote "$1")" "$MNT" \
		--vfs-cache-mode off --daemon --log-file "$SRV_TMP/rclone.log" \
		>/dev/null 2>&1
	for ((i = 0; i < 200; i++)); do
		srv_is_mounted "$MNT" && return 0
		sleep 0.05
	done
	return 1
}

umount_any() {
	ftpfs_umount "$MNT" >/dev/null 2>&1
	local i
	for ((i = 0; i < 100; i++)); do
		[ -z "$(srv_tagged_pids "$FTPFS_REAL")$(srv_tagged_pids "$(readlink -f "$(command -v rclone)")")" ] && return 0
		sleep 0.1
	done
}

# timed CMD...: runs CMD, prints MB/s for BYTES, or "fail".
timed() {
	local t0 secs rc=0
	t0=$EPOCHREALTIME
	timeout 300 "$@" >"$SRV_TMP/cmd.out" 2>&1 || rc=$?
	secs=$(srv_since "$t0")
	if [ "$rc" -ne 0 ]; then
		msg "failed (exit $rc): $* : $(head -c 300 "$SRV_TMP/cmd.out")"
		echo fail
		return
	fi
	awk -v b="$BYTES" -v s="$secs" 'BEGIN { printf "%.1f", b / s / 1e6 }'
}

# The upload on the server's disk: size (and sha256 with "full").
arrived() { # NAME FILE [full]
	local size
	size=$(stat -c %s "$2" 2>/dev/null || echo missing)
	if [ "$size" != "$BYTES" ]; then
		not_ok "$1: the server has all $BYTES bytes" "it has: $size"
		return 1
	fi
	if [ "${3:-}" = full ]; then
		if [ "$(sha256sum <"$2" | cut -c1-64)" = "$SRC_SHA" ]; then
			ok "$1: the server's copy has the right size and sha256"
		else
			not_ok "$1: the server's copy has the right sha256"
			return 1
		fi
	fi
	return 0
}

# The median of the numbers among the values (a failed run counts as 0),
# or "fail" if none.  Loopback uploads of 128 MiB take a tenth of a second
# or so, and single runs vary by 2x on a small machine: the median is
# steadier than the best.
median() {
	printf '%s\n' "$@" | sed -E 's/^[^0-9.].*$/0/; s/^$/0/' | sort -g |
		awk '{ v[NR] = $1 } END {
			if (NR == 0) { print "fail"; exit }
			m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			if (m + 0 > 0) printf "%.1f\n", m; else print "fail" }'
}
best() { # values...: the largest number, or "-"
	printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -g | tail -n 1 | grep . || echo -
}

declare -A R B
for s in $BENCH_SERVERS; do
	if ! srv_start "$s" "$DATA"; then
		not_ok "[$s] start the server"
		continue
	fi
	r_cp=() r_dd=() r_curl=() r_rclone=()
	for ((run = 1; run <= RUNS; run++)); do
		last=""
		[ "$run" -eq "$RUNS" ] && last=full
		msg "[$s] run $run/$RUNS: ftpfs cp, ftpfs dd, curl -T, rclone cp"
		if mount_ftpfs "$s"; then
			r_cp+=("$(timed cp "$SRC" "$MNT/ftpfs-cp.bin")")
			arrived "[$s] ftpfs cp, run $run" "$DATA/ftpfs-cp.bin" $last || r_cp[-1]=fail
			r_dd+=("$(timed dd if="$SRC" of="$MNT/ftpfs-dd.bin" bs=1M status=none)")
			arrived "[$s] ftpfs dd bs=1M, run $run" "$DATA/ftpfs-dd.bin" $last || r_dd[-1]=fail
		else
			not_ok "[$s] ftpfs mount, run $run" "$(tail -n 5 "$SRV_TMP/ftpfs.log")"
		fi
		umount_any
		rm -f "$DATA"/ftpfs-*.bin
		r_curl+=("$(timed curl -s -S "${CURL_TLS[@]}" -T "$SRC" "$(curl_url "$s" curl.bin)")")
		arrived "[$s] curl -T, run $run" "$DATA/curl.bin" $last || r_curl[-1]=fail
		rm -f "$DATA/curl.bin"
		if [ -n "${SRV_TLS:-}" ]; then
			# rclone does not resume the control connection's TLS
			# session on data connections, which the servers here
			# require: left out over FTPS.
			r_rclone+=(-)
		elif mount_rclone "$s"; then
			r_rclone+=("$(timed cp "$SRC" "$MNT/rclone-cp.bin")")
			arrived "[$s] rclone mount cp, run $run" "$DATA/rclone-cp.bin" $last || r_rclone[-1]=fail
		else
			msg "[$s] rclone mount failed: $(tail -n 3 "$SRV_TMP/rclone.log")"
			r_rclone+=(fail)
		fi
		umount_any
		rm -f "$DATA"/rclone-*.bin
	done
	msg "[$s] runs (MB/s): ftpfs cp ${r_cp[*]:-} | ftpfs dd ${r_dd[*]:-} | curl ${r_curl[*]:-} | rclone ${r_rclone[*]:-}"
	for k in cp dd curl rclone; do
		declare -n vals="r_$k"
		R[$s,$k]=$(median "${vals[@]:-}")
		B[$s,$k]=$(best "${vals[@]:-}")
		unset -n vals
	done
	[ -z "${SRV_TLS:-}" ] || R[$s,rclone]=-
	srv_stop "$s"
done

ratio() { # A B: A/B or "-"
	awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "-" }'
}

fmt='%-10s %11s %11s %11s %11s %13s %13s %8s\n'
{
	printf '\nftpfs write benchmark, %s, 127.0.0.1, %s cores, %s MiB, median of %s runs (best in brackets); %s\n' \
		"$(date -u +%F)" "$(nproc)" "$BENCH_MIB" "$RUNS" "$("$FTPFS" -V 2>&1 | head -n 1)"
	# shellcheck disable=SC2059
	printf "$fmt" "server" "ftpfs cp" "ftpfs dd" "curl -T" "rclone cp" "ftpfs/curl" "rclone/curl" "target"
	# shellcheck disable=SC2059
	printf "$fmt" "" "MB/s" "MB/s" "MB/s" "MB/s" "cp / dd" "" ">= $TARGET"
	for s in $BENCH_SERVERS; do
		c=${R[$s,curl]:-fail}
		verdict=$(awk -v r="$(ratio "${R[$s,cp]:-fail}" "$c")" -v t="$TARGET" \
			'BEGIN { print (r != "-" && r + 0 >= t ? "met" : "MISSED") }')
		# shellcheck disable=SC2059
		printf "$fmt" "$s" "${R[$s,cp]:-fail}" "${R[$s,dd]:-fail}" "$c" "${R[$s,rclone]:-fail}" \
			"$(ratio "${R[$s,cp]:-fail}" "$c") / $(ratio "${R[$s,dd]:-fail}" "$c")" \
			"$(ratio "${R[$s,rclone]:-fail}" "$c")" "$verdict"
		# shellcheck disable=SC2059
		printf "$fmt" "" "(${B[$s,cp]:--})" "(${B[$s,dd]:--})" "(${B[$s,curl]:--})" \
			"(${B[$s,rclone]:--})" "" "" ""
	done
	printf '\n'
}
for s in $BENCH_SERVERS; do
	r=$(ratio "${R[$s,cp]:-fail}" "${R[$s,curl]:-fail}")
	if [ "$r" != "-" ] && awk -v r="$r" -v t="$TARGET" 'BEGIN { exit !(r >= t) }'; then
		ok "[$s] ftpfs cp reaches $r of curl -T (target >= $TARGET)"
	else
		not_ok "[$s] ftpfs cp reaches >= $TARGET of curl -T" \
			"ftpfs cp ${R[$s,cp]:-fail} MB/s, curl ${R[$s,curl]:-fail} MB/s"
	fi
done
printf '%d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
