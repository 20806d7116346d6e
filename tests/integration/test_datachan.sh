#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Data channels through firewalls: mounts FTP servers with ftpfs while nft
# rules drop the server's passive ports, the client's active ports, both, or
# a PASV address, and checks that ftpfs switches modes (EPSV, PASV, EPRT,
# PORT), remembers the verdict, fails quickly when nothing gets through and
# lists directories over the control connection then.  Run as root.
#
#   FTPFS=build/ftpfs tests/integration/test_datachan.sh
#
#   FTPFS=...               binary under test (default build/ftpfs)
#   SERVERS="vsftpd proftpd pureftpd pyftpdlib"   the real servers to use
#                           (each scenario uses those of its own it names;
#                           the scripted fake server always runs)
#   SRV_TLS=explicit SRV_TLS_DIR=DIR FTPFS_OPTS="-o cafile=DIR/ca.pem"
#                           everything over FTPS (ftpes://) on the servers
#                           with a TLS set-up (vsftpd, proftpd, pureftpd);
#                           the others (pyftpdlib, fakeftp) are left out
#   FTPFS_OPTS="-o ..."     extra mount arguments for every mount
#   DC_SCENARIOS="1 2 3 4 5 6"   which scenarios (6 = IPv6)
#   DC_DATA_TIMEOUT=3       -o data_timeout for most mounts (scenario 4 also
#                           runs one mount with the default, 10)
#   DC_KEEP=1               keep the logs (ftpfs -d traces, server logs)
#
# Every scenario runs in its own network namespace (ip netns add
# ftpfs-dc-PID-N) with only "lo" up: servers, ftpfs, the FUSE mount (in the
# private mount namespace "ip netns exec" makes) and the nft rules all live
# there, so nothing touches the host's network or mounts.  Cleanup (unmount,
# kill, ip netns del) also runs on failure and on interrupt.
#
# Output: "ok - ..." / "FAIL - ..." lines, a timing table (first operation
# after mounting, slowest later operation, data mode that ended up used, from
# the ftpfs -d trace), then "N passed, N failed"; exit status 1 on failures.
#
# Scenarios
#   1  server drops SYNs to its passive ports 40000-40100 (vsftpd, proftpd,
#      pureftpd, pyftpdlib): reads, listings and a write work through active
#      mode; the first operation costs about data_timeout, later ones are
#      fast
#   2  client drops SYNs to -o port_range=45000-45100: passive just works;
#      with -o data_mode=active the read fails within data_timeout + 5 s
#   3  no EPSV, PASV announces 127.0.0.9 where SYNs vanish (pyftpdlib,
#      fakeftp): works through PASV to the control peer; with
#      -o trust_pasv_address it falls over to active mode
#   4  both blocked (vsftpd with the default data_timeout, proftpd,
#      pureftpd, pyftpdlib): a read fails in < 30 s, listings come from
#      STAT, the next read fails at once, the mount stays usable
#   5  forced modes (passive: EPSV/PASV only, active: EPRT/PORT only) on
#      each real server, and the scripted fake server: 425 on EPSV/PASV,
#      425 on EPRT/PORT after a switch, 425 after the data connection,
#      malformed 227/229 replies
#   6  IPv6: servers on [::1] (EPSV, EPRT |2|, fallback without PASV/PORT)
# Conditions are passed to expect() in single quotes and evaluated there.
# shellcheck disable=SC2016,SC2034 source-path=SCRIPTDIR
set -u
set -o pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
self=$here/$(basename "${BASH_SOURCE[0]}")
# shellcheck source=../lib/servers.sh
. "$repo/tests/lib/servers.sh"
# shellcheck source=../lib/netns.sh
. "$repo/tests/lib/netns.sh"

export LC_ALL=C.UTF-8
FTPFS=${FTPFS:-build/ftpfs}
case $FTPFS in /*) ;; *) FTPFS=$repo/$FTPFS ;; esac
export FTPFS
DT=${DC_DATA_TIMEOUT:-3}
LATER_MAX=2     # seconds a later operation may take (unblocked: ~0.05 s)
PASV_RANGE=40000-40100
PORT_RANGE=45000-45100
read -r -a EXTRA_OPTS <<<"${FTPFS_OPTS:-}"

# ===========================================================================
# Inside a scenario's namespace: "test_datachan.sh --inner N OUTDIR"
# ===========================================================================

OUT=
ok() {
	printf 'P\n' >>"$OUT/results"
	printf 'ok - %s\n' "$1"
}
not_ok() {
	printf 'F\n' >>"$OUT/results"
	printf 'FAIL - %s\n' "$1"
	shift
	if [ $# -gt 0 ]; then
		printf '%s\n' "$@" | head -n 40 | sed 's/^/#   /'
	fi
}
note() { printf '# %s\n' "$*"; }
# expect NAME COND DETAILS...: ok when the shell condition string holds.
expect() {
	local name=$1 cond=$2
	shift 2
	if eval "$cond"; then ok "$name"; else not_ok "$name" "$@"; fi
}
# want KIND: does this run use server KIND (SERVERS, SRV_TLS)?
want() {
	if ! dc_tls_kind "$1"; then
		note "SKIP $1 in this scenario: no SRV_TLS=$SRV_TLS set-up"
		return 1
	fi
	[ "$1" != fakeftp ] || return 0
	case " ${SERVERS:-vsftpd proftpd pureftpd pyftpdlib} " in
	*" $1 "*) return 0 ;;
	esac
	return 1
}
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }
max() { awk -v a="$1" -v b="$2" 'BEGIN { print (a > b ? a : b) }'; }

# tm CMD...: run with a timeout of TM_LIMIT (default 60) seconds; sets
# TM_RC (124/137: timed out), TM_SECS, TM_OUT (both streams).
tm() {
	local t0=$EPOCHREALTIME
	TM_RC=0
	TM_OUT=$(timeout -k 5 "${TM_LIMIT:-60}" "$@" 2>&1) || TM_RC=$?
	TM_SECS=$(srv_since "$t0")
}

# A small tree; each later operation reads a file not read before, so the
# page cache and the listing cache cannot hide a transfer.
make_tree() {
	local d=$1
	rm -rf "$d"
	mkdir -p "$d/sub"
	printf 'hello data channels\n' >"$d/small.txt"
	head -c 1048576 /dev/urandom >"$d/r1.bin"
	head -c 262144 /dev/urandom >"$d/r2.bin"
	head -c 65536 /dev/urandom >"$d/r3.bin"
	head -c 307200 /dev/urandom >"$d/r4.bin"
	printf 'inner\n' >"$d/sub/inner.txt"
	head -c 102400 /dev/urandom >"$d/sub/r5.bin"
	head -c 4097 /dev/urandom >"$d/sub/r6.bin"
	chown -R "$SRV_USER:" "$d"
}

# --- mounts ----------------------------------------------------------------

LOG=
DATA=
MNT=
FTPFS_REAL=

# dc_mount LABEL URL [ARGS...]: mount at $MNT with -d (protocol trace in
# $OUT/LABEL.log, the file the mode and log checks read).
dc_mount() {
	local label=$1 url=$2
	shift 2
	LOG=$OUT/$label.log
	: >"$LOG"
	if FTPFS_MOUNT_LOG=$LOG ftpfs_mount "$FTPFS" "$MNT" "$url" -d "$@" \
		"${EXTRA_OPTS[@]}"; then
		note "$label: mounted ($*) in ${FTPFS_MOUNT_SECS}s"
		return 0
	fi
	not_ok "$label: mount with $*" \
		"ftpfs exit status $FTPFS_MOUNT_RC after ${FTPFS_MOUNT_SECS}s" \
		"$(tail -n 20 "$LOG")"
	ftpfs_umount "$MNT" "$FTPFS_REAL" >/dev/null 2>&1
	return 1
}

# dc_umount LABEL: ftpfs must still be running (no crash), then unmount.
dc_umount() {
	local label=$1 t0=$EPOCHREALTIME
	if kill -0 "$FTPFS_MOUNT_PID" 2>/dev/null; then
		ok "$label: ftpfs still running"
	else
		local rc=0
		wait "$FTPFS_MOUNT_PID" 2>/dev/null || rc=$?
		not_ok "$label: ftpfs still running" "it exited with status $rc" \
			"$(tail -n 15 "$LOG")"
	fi
	if ftpfs_umount "$MNT" "$FTPFS_REAL"; then
		ok "$label: unmounted ($(srv_since "$t0")s)"
	else
		not_ok "$label: unmount" "$(tail -n 10 "$LOG")"
	fi
	if ls "$OUT"/asan.* "$OUT"/ubsan.* >/dev/null 2>&1; then
		not_ok "$label: sanitizer reports" "$(cat "$OUT"/asan.* "$OUT"/ubsan.* 2>/dev/null)"
		mkdir -p "$OUT/sanitizer"
		mv "$OUT"/asan.* "$OUT"/ubsan.* "$OUT/sanitizer/" 2>/dev/null
	fi
}

# --- what the trace says ---------------------------------------------------

# The data mode of the last transfer that got its 1xx (or 2xx straight
# away) after a mode command, per control connection.
mode_used() {
	awk '
	match($0, /\[[0-9]+\] > (EPSV|PASV|EPRT|PORT)/) {
		s = substr($0, RSTART, RLENGTH); id = s; sub(/\].*/, "", id)
		n = split(s, w, " "); pend[id] = w[n]; next
	}
	match($0, /\[[0-9]+\] < 1[0-9][0-9] /) {
		s = substr($0, RSTART, RLENGTH); id = s; sub(/\].*/, "", id)
		if (id in pend) { used = pend[id]; delete pend[id] }
	}
	END { print (used == "" ? "none" : used) }' "$LOG"
}
sent() { grep -cE "\] > ($1)( |\$)" "$LOG"; } # how many commands matching ERE
logged() { grep -cE -- "$1" "$LOG"; }
# srv_sent NAME ERE [MARK]: commands the server got (after MARK) matching ERE.
srv_sent() { dc_srv_cmds "$1" | tail -n +"$((${3:-0} + 1))" | grep -ciE "^($2)( |\$)"; }
srv_mark() { dc_srv_cmds "$1" | wc -l; }

# --- checks through the mount ----------------------------------------------

# ls_check NAME [SUBDIR]: ls -la through the mount lists what is on disk.
ls_check() {
	local name=$1 sub=${2:-} want got
	tm ls -la "$MNT/$sub"
	want=$(find "$DATA/$sub" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort)
	got=$(printf '%s\n' "$TM_OUT" | awk 'NR > 1 && $NF != "." && $NF != ".." { print $NF }' | sort)
	if [ "$TM_RC" -eq 0 ] && [ "$want" = "$got" ]; then
		ok "$name (${TM_SECS}s)"
	else
		not_ok "$name (${TM_SECS}s)" "ls -la exit $TM_RC" "$TM_OUT" \
			"want: $(printf '%s' "$want" | tr '\n' ' ')"
	fi
}

# sha_check NAME FILE: the file read through the mount is the one on disk.
sha_check() {
	local name=$1 f=$2 want got
	tm sha256sum "$MNT/$f"
	want=$(sha256sum <"$DATA/$f" | cut -d' ' -f1)
	got=${TM_OUT%% *}
	if [ "$TM_RC" -eq 0 ] && [ "$want" = "$got" ]; then
		ok "$name (${TM_SECS}s)"
	else
		not_ok "$name (${TM_SECS}s)" "sha256sum exit $TM_RC: $TM_OUT" "want $want"
	fi
}

# write_check NAME: cp a new file in; the server's disk gets the same bytes.
write_check() {
	local name=$1 src=$SRV_TMP/upload.bin i
	head -c 200000 /dev/urandom >"$src"
	tm cp "$src" "$MNT/uploaded.bin"
	if [ "$TM_RC" -ne 0 ]; then
		case $TM_OUT in
		*"Read-only file system"* | *"Function not implemented"* | *"not supported"*)
			note "SKIP $name: this build does not write ($TM_OUT)"
			return
			;;
		esac
		not_ok "$name (${TM_SECS}s)" "cp exit $TM_RC: $TM_OUT"
		return
	fi
	for ((i = 0; i < 50; i++)); do
		cmp -s "$src" "$DATA/uploaded.bin" && break
		sleep 0.1
	done
	if cmp -s "$src" "$DATA/uploaded.bin"; then
		ok "$name (${TM_SECS}s)"
	else
		not_ok "$name" "the server's copy differs: $(ls -l "$DATA/uploaded.bin" 2>&1)"
	fi
}

# row SCENARIO SERVER FIRST LATER MODE: one line of the timing table.
row() { printf '%s|%s|%s|%s|%s\n' "$@" >>"$OUT/table"; }

# later_ops PREFIX: three more data operations; LATER = the slowest.
later_ops() {
	local p=$1
	LATER=0
	sha_check "$p: sha256 r1.bin (later op)" r1.bin
	LATER=$(max "$LATER" "$TM_SECS")
	ls_check "$p: ls -la sub (later op)" sub
	LATER=$(max "$LATER" "$TM_SECS")
	sha_check "$p: sha256 sub/r5.bin (later op)" sub/r5.bin
	LATER=$(max "$LATER" "$TM_SECS")
	expect "$p: later ops fast (slowest ${LATER}s < ${LATER_MAX}s)" \
		'lt "$LATER" "$LATER_MAX"'
}

start_or_fail() { # LABEL NAME KIND DIR OPTS...
	local label=$1
	shift
	if dc_srv_start "$@"; then return 0; fi
	not_ok "$label: start ${2}" "$(cat "$SRV_TMP/srv-$1/stderr.log" 2>/dev/null)"
	return 1
}

# ===========================================================================
# Scenario 1: the server's passive ports are firewalled
# ===========================================================================
s1_one() {
	local srv=$1 p="S1 $1" first mode
	want "$srv" || return 0
	DATA=$SRV_TMP/data-$srv
	make_tree "$DATA"
	start_or_fail "$p" "s1-$srv" "$srv" "$DATA" --pasv "$PASV_RANGE" || return
	dc_mount "s1-$srv" "$(dc_url "s1-$srv")" -o "data_timeout=$DT" || return
	ls_check "$p: ls -la / (first op) works through active mode"
	first=$TM_SECS
	expect "$p: first op costs about data_timeout ($first s, want $((DT - 1))-$((DT + 5)) s)" \
		'le "$((DT - 1))" "$first" && le "$first" "$((DT + 5))"'
	later_ops "$p"
	write_check "$p: cp a file in (write through active mode)"
	mode=$(mode_used)
	expect "$p: active mode used (EPRT/PORT; got $mode)" \
		'[ "$mode" = EPRT ] || [ "$mode" = PORT ]' "$(grep -E '> (EPSV|PASV|EPRT|PORT)' "$LOG" | tail -n 5)"
	expect "$p: the switch is logged once at warning level" \
		'[ "$(logged "warn.*data connections in passive mode .*; switched to active mode")" = 1 ]' \
		"$(grep -iE 'switch|warn' "$LOG" | head -n 10)"
	expect "$p: EPSV tried once, PASV skipped (same host and ports)" \
		'[ "$(sent EPSV)" = 1 ] && [ "$(sent PASV)" = 0 ]' \
		"EPSV sent $(sent EPSV) times, PASV $(sent PASV) times"
	row 1 "$srv" "$first" "$LATER" "$mode"
	dc_umount "$p"
	dc_srv_stop "s1-$srv"
}

scenario_1() {
	note "scenario 1: SYNs to the server's passive ports $PASV_RANGE dropped; data_timeout=$DT"
	netns_drop_syn "$PASV_RANGE" || { not_ok "S1: nft rule"; return; }
	for s in vsftpd proftpd pureftpd pyftpdlib; do
		s1_one "$s"
	done
}

# ===========================================================================
# Scenario 2: the client's active ports are firewalled
# ===========================================================================
s2_one() {
	local srv=$1 p="S2 $1" first mode ports bad mark
	want "$srv" || return 0
	DATA=$SRV_TMP/data-$srv
	make_tree "$DATA"
	start_or_fail "$p" "s2-$srv" "$srv" "$DATA" --pasv "$PASV_RANGE" || return
	if dc_mount "s2-$srv" "$(dc_url "s2-$srv")" \
		-o "data_timeout=$DT,port_range=$PORT_RANGE"; then
		ls_check "$p: ls -la / (first op)"
		first=$TM_SECS
		expect "$p: first op fast (${first}s < ${LATER_MAX}s)" 'lt "$first" "$LATER_MAX"'
		later_ops "$p"
		mode=$(mode_used)
		expect "$p: passive mode used (EPSV; got $mode)" '[ "$mode" = EPSV ]'
		expect "$p: no mode switch, no active attempt" \
			'[ "$(logged switched)" = 0 ] && [ "$(sent "EPRT|PORT")" = 0 ]' \
			"$(grep -E 'switched|> (EPRT|PORT)' "$LOG" | head)"
		row 2 "$srv" "$first" "$LATER" "$mode"
		dc_umount "$p"
	fi

	p="S2 $srv data_mode=active"
	mark=$(srv_mark "s2-$srv")
	dc_mount "s2-$srv-active" "$(dc_url "s2-$srv")" \
		-o "data_mode=active,data_timeout=$DT,port_range=$PORT_RANGE" || return
	TM_LIMIT=$((DT + 15)) tm cat "$MNT/r2.bin"
	first=$TM_SECS
	expect "$p: read fails (${first}s)" '[ "$TM_RC" -ne 0 ] && [ "$TM_RC" -lt 124 ]' \
		"exit $TM_RC (124/137: killed by timeout $((DT + 15)) s): $(printf '%s' "$TM_OUT" | head -c 200)"
	note "$p: cat said: $(printf '%s' "$TM_OUT" | head -c 200)"
	expect "$p: ... within data_timeout + 5 s (${first}s <= $((DT + 5))s)" \
		'le "$first" "$((DT + 5))"' \
		"$(grep -E '> (EPSV|PASV|EPRT|PORT)|< 4|switch|no data|warn|error' "$LOG" | head -n 20)"
	if [ "$TM_RC" -ge 124 ]; then
		note "$p: the read hung; further checks on this mount skipped"
		row "2 active" "$srv" "$first (hung)" "-" "none"
		dc_umount "$p"
		dc_srv_stop "s2-$srv"
		return
	fi
	ports=$(grep -oE '\] > (EPRT \|1\|127\.0\.0\.1\||PORT 127,0,0,1,)[0-9|,]+' "$LOG" |
		awk '{ a = $NF; if (a ~ /^\|/) { split(a, f, "|"); print f[4] }
			else { split(a, f, ","); print f[5] * 256 + f[6] } }')
	bad=$(printf '%s\n' "$ports" | awk -v r="$PORT_RANGE" 'NF {
		split(r, b, "-"); if ($1 < b[1] || $1 > b[2]) print }')
	expect "$p: EPRT/PORT ports within port_range ($(printf '%s' "$ports" | tr '\n' ' '))" \
		'[ -n "$ports" ] && [ -z "$bad" ]'
	expect "$p: no EPSV/PASV sent" '[ "$(sent "EPSV|PASV")" = 0 ]'
	expect "$p: server saw no EPSV/PASV" '[ "$(srv_sent "s2-$srv" "EPSV|PASV" "$mark")" = 0 ]'
	tm cat "$MNT/r3.bin"
	expect "$p: second read fails at once (${TM_SECS}s)" \
		'[ "$TM_RC" -ne 0 ] && lt "$TM_SECS" "$LATER_MAX"' "exit $TM_RC: $TM_OUT"
	row "2 active" "$srv" "$first (fails)" "$TM_SECS (fails)" "none"
	dc_umount "$p"
	dc_srv_stop "s2-$srv"
}

scenario_2() {
	note "scenario 2: SYNs to the client's ports $PORT_RANGE dropped; data_timeout=$DT"
	netns_drop_syn "$PORT_RANGE" || { not_ok "S2: nft rule"; return; }
	for s in vsftpd pyftpdlib; do
		s2_one "$s"
	done
}

# ===========================================================================
# Scenario 3: no EPSV, and PASV announces a black hole
# ===========================================================================
s3_one() {
	local label=$1 kind=$2 p="S3 $1" first mode
	want "$kind" || return 0
	shift 2
	DATA=$SRV_TMP/data-$label
	make_tree "$DATA"
	start_or_fail "$p" "s3-$label" "$kind" "$DATA" --pasv "$PASV_RANGE" \
		--masq 127.0.0.9 "$@" || return
	if dc_mount "s3-$label" "$(dc_url "s3-$label")" -o "data_timeout=$DT"; then
		ls_check "$p: ls -la / (first op)"
		first=$TM_SECS
		expect "$p: first op fast (${first}s < ${LATER_MAX}s)" 'lt "$first" "$LATER_MAX"'
		later_ops "$p"
		mode=$(mode_used)
		expect "$p: PASV used, to the control peer (got $mode)" '[ "$mode" = PASV ]' \
			"$(grep -E '> (EPSV|PASV|EPRT|PORT)|< (227|229|5)' "$LOG" | head)"
		expect "$p: the foreign PASV address is logged once" \
			'[ "$(logged "warn.*127\.0\.0\.9")" = 1 ]' "$(grep 127.0.0.9 "$LOG" | head)"
		row 3 "$label" "$first" "$LATER" "$mode"
		dc_umount "$p"
	fi

	p="S3 $label trust_pasv_address"
	dc_mount "s3-$label-trust" "$(dc_url "s3-$label")" \
		-o "trust_pasv_address,data_timeout=$DT" || return
	ls_check "$p: ls -la / (first op) works (active fallback)"
	first=$TM_SECS
	expect "$p: first op within data_timeout + 5 s (${first}s)" 'le "$first" "$((DT + 5))"'
	later_ops "$p"
	mode=$(mode_used)
	expect "$p: active mode used (got $mode)" '[ "$mode" = EPRT ] || [ "$mode" = PORT ]'
	expect "$p: the switch is logged once" \
		'[ "$(logged "switched to active mode")" = 1 ]' "$(grep -iE 'switch|warn' "$LOG" | head)"
	row "3 trust" "$label" "$first" "$LATER" "$mode"
	dc_umount "$p"
	dc_srv_stop "s3-$label"
}

scenario_3() {
	note "scenario 3: no EPSV; PASV names 127.0.0.9, whose SYNs are dropped; data_timeout=$DT"
	netns_blackhole 127.0.0.9 || { not_ok "S3: nft rule"; return; }
	tm timeout 3 bash -c 'exec 3<>/dev/tcp/127.0.0.9/21'
	expect "S3: 127.0.0.9 is a black hole (connect still pending after 3 s)" \
		'[ "$TM_RC" -eq 124 ]' "exit $TM_RC after $TM_SECS s: $TM_OUT"
	s3_one pyftpdlib pyftpdlib --no-epsv
	s3_one fakeftp fakeftp -- --no EPSV
}

# ===========================================================================
# Scenario 4: passive and active both firewalled
# ===========================================================================
s4_one() {
	local srv=$1 dt=$2 p="S4 $1" first second opts want got
	want "$srv" || return 0
	p="$p (data_timeout=${dt})"
	DATA=$SRV_TMP/data-$srv
	make_tree "$DATA"
	start_or_fail "$p" "s4-$srv" "$srv" "$DATA" --pasv "$PASV_RANGE" || return
	opts=port_range=$PORT_RANGE
	[ "$dt" = default ] || opts=$opts,data_timeout=$dt
	dc_mount "s4-$srv" "$(dc_url "s4-$srv")" -o "$opts" || return
	TM_LIMIT=45 tm cat "$MNT/small.txt"
	first=$TM_SECS
	note "$p: cat said: $(printf '%s' "$TM_OUT" | head -c 200)"
	expect "$p: first read fails (exit $TM_RC)" '[ "$TM_RC" -ne 0 ] && [ "$TM_RC" -lt 124 ]' \
		"exit $TM_RC (124/137: killed after 45 s): $(printf '%s' "$TM_OUT" | head -c 300)"
	expect "$p: ... within 30 s, no hang (${first}s)" 'lt "$first" 30' \
		"$(grep -E '> (EPSV|PASV|EPRT|PORT)|< 4[0-9][0-9]|switch|no data|warn|error' "$LOG" | head -n 20)"
	expect "$p: 'no data connection possible' logged" \
		'[ "$(logged "no data connection possible")" -ge 1 ]'
	if [ "$TM_RC" -ge 124 ]; then
		note "$p: the read hung; further checks on this mount skipped"
		row 4 "$srv dt=$dt" "$first (hung)" "-" "none"
		dc_umount "$p"
		dc_srv_stop "s4-$srv"
		return
	fi
	tm cat "$MNT/r3.bin"
	second=$TM_SECS
	expect "$p: second read fails at once (${second}s)" \
		'[ "$TM_RC" -ne 0 ] && lt "$second" "$LATER_MAX"' "exit $TM_RC: $TM_OUT"
	ls_check "$p: ls -la / still works (STAT over the control connection)"
	ls_check "$p: ls -la sub still works" sub
	expect "$p: listed with STAT" \
		'[ "$(sent STAT)" -ge 1 ] && [ "$(logged "over the control connection")" -ge 1 ]' \
		"STAT sent $(sent STAT) times" "$(grep -E '> STAT|< 21[123]' "$LOG" | head)"
	tm stat -c %s "$MNT/r4.bin"
	want=$(stat -c %s "$DATA/r4.bin")
	got=$TM_OUT
	expect "$p: stat r4.bin still works (size $got)" '[ "$TM_RC" -eq 0 ] && [ "$got" = "$want" ]'
	row 4 "$srv dt=$dt" "$first (fails)" "$second (fails)" "none; STAT listing"
	dc_umount "$p"
	dc_srv_stop "s4-$srv"
}

scenario_4() {
	note "scenario 4: server passive ports $PASV_RANGE and client ports $PORT_RANGE both dropped"
	if ! netns_drop_syn "$PASV_RANGE" || ! netns_drop_syn "$PORT_RANGE"; then
		not_ok "S4: nft rules"
		return
	fi
	s4_one vsftpd default
	s4_one proftpd "$DT"
	s4_one pureftpd "$DT"
	s4_one pyftpdlib "$DT"
}

# ===========================================================================
# Scenario 5: forced modes; scripted faults
# ===========================================================================
s5_forced() {
	local srv=$1 p first mode mark
	want "$srv" || return 0
	DATA=$SRV_TMP/data-$srv
	make_tree "$DATA"
	start_or_fail "S5 $srv" "s5-$srv" "$srv" "$DATA" || return

	p="S5 $srv data_mode=passive"
	if dc_mount "s5-$srv-passive" "$(dc_url "s5-$srv")" -o "data_mode=passive,data_timeout=$DT"; then
		ls_check "$p: ls -la /"
		first=$TM_SECS
		sha_check "$p: sha256 r1.bin" r1.bin
		mode=$(mode_used)
		expect "$p: EPSV used (got $mode)" '[ "$mode" = EPSV ]'
		expect "$p: no EPRT/PORT in the trace" '[ "$(sent "EPRT|PORT")" = 0 ]'
		row "5 passive" "$srv" "$first" "$TM_SECS" "$mode"
		dc_umount "$p"
	fi
	expect "$p: server saw EPSV and no EPRT/PORT" \
		'[ "$(srv_sent "s5-$srv" EPSV)" -ge 1 ] && [ "$(srv_sent "s5-$srv" "EPRT|PORT")" = 0 ]'

	p="S5 $srv data_mode=active"
	mark=$(srv_mark "s5-$srv")
	if dc_mount "s5-$srv-active" "$(dc_url "s5-$srv")" -o "data_mode=active,data_timeout=$DT"; then
		ls_check "$p: ls -la /"
		first=$TM_SECS
		sha_check "$p: sha256 r2.bin" r2.bin
		mode=$(mode_used)
		expect "$p: EPRT used (got $mode)" '[ "$mode" = EPRT ]'
		expect "$p: no EPSV/PASV in the trace" '[ "$(sent "EPSV|PASV")" = 0 ]'
		row "5 active" "$srv" "$first" "$TM_SECS" "$mode"
		dc_umount "$p"
	fi
	expect "$p: server saw EPRT and no EPSV/PASV" \
		'[ "$(srv_sent "s5-$srv" EPRT "$mark")" -ge 1 ] && [ "$(srv_sent "s5-$srv" "EPSV|PASV" "$mark")" = 0 ]'
	dc_srv_stop "s5-$srv"
}

# s5_fake LABEL EXPECTED-MODE SWITCH-RE MOUNT-OPTS -- FAKEFTP-ARGS...
# Mount the fake server with the given faults; everything must still work.
s5_fake() {
	local label=$1 want=$2 sw=$3 mopts=$4 p="S5 fakeftp $1" first mode
	want fakeftp || return 0
	shift 5
	DATA=$SRV_TMP/data-fake
	[ -d "$DATA" ] || make_tree "$DATA"
	start_or_fail "$p" "s5-$label" fakeftp "$DATA" -- "$@" || return
	dc_mount "s5-$label" "$(dc_url "s5-$label")" -o "$mopts" || { dc_srv_stop "s5-$label"; return; }
	ls_check "$p: ls -la / (first op)"
	first=$TM_SECS
	expect "$p: first op within data_timeout + 5 s (${first}s)" 'le "$first" "$((DT + 5))"' \
		"$(grep -E '> (EPSV|PASV|EPRT|PORT)|< (227|229|4|5)|reading reply|warn' "$LOG" | head -n 12)"
	if [ "$TM_RC" -ne 0 ]; then
		# Each further operation would hang as long: skip them.
		note "$p: first op failed; later ops skipped"
		row "5 fake" "$label" "$first (fails)" "-" "$(mode_used)"
		dc_umount "$p"
		dc_srv_stop "s5-$label"
		return
	fi
	later_ops "$p"
	mode=$(mode_used)
	expect "$p: $want used (got $mode)" '[ "$mode" = "$want" ]' \
		"$(grep -E '> (EPSV|PASV|EPRT|PORT)|< (227|229|4|5)' "$LOG" | head -n 12)"
	if [ -n "$sw" ]; then
		expect "$p: '$sw' logged once" '[ "$(logged "$sw")" = 1 ]' \
			"$(grep -iE 'switch|warn' "$LOG" | head)"
	fi
	row "5 fake" "$label" "$first" "$LATER" "$mode"
	dc_umount "$p"
	dc_srv_stop "s5-$label"
}

scenario_5() {
	local script p first mode v
	note "scenario 5: forced modes on unblocked servers; scripted faults (fakeftp)"
	s5_forced pyftpdlib
	s5_forced vsftpd
	s5_forced proftpd
	s5_forced pureftpd
	want fakeftp || return 0

	s5_fake no-epsv-passive PASV "" "data_mode=passive,data_timeout=$DT" -- --no EPSV
	s5_fake 425-epsv-pasv EPRT "switched to active mode" "data_timeout=$DT" -- \
		--fail EPSV=425 --fail PASV=425
	s5_fake epsv-port-refused EPRT "data connections in passive mode refused; switched to active mode" \
		"data_timeout=$DT" -- --reply "EPSV=229 Entering Extended Passive Mode (|||1|)"
	s5_fake 425-after-connect EPRT "switched to active mode" "data_timeout=$DT" -- \
		--xfer-fail passive=425

	# Active first (EPSV/PASV answered 425), then the faults move to
	# EPRT/PORT: the remembered active verdict must give way to passive.
	p="S5 fakeftp 425 moves from passive to active"
	DATA=$SRV_TMP/data-fake
	[ -d "$DATA" ] || make_tree "$DATA"
	script=$SRV_TMP/fake-rules
	printf 'fail EPSV=425\nfail PASV=425\n' >"$script"
	chmod 644 "$script"
	if start_or_fail "$p" s5-moving fakeftp "$DATA" -- --script "$script" &&
		dc_mount s5-moving "$(dc_url s5-moving)" -o "data_timeout=$DT"; then
		ls_check "$p: phase 1 (EPSV/PASV 425): ls -la /"
		first=$TM_SECS
		mode=$(mode_used)
		expect "$p: phase 1 uses EPRT (got $mode)" '[ "$mode" = EPRT ]'
		sha_check "$p: phase 1: sha256 r2.bin" r2.bin
		printf 'fail EPRT=425\nfail PORT=425\n' >"$script.new"
		chmod 644 "$script.new"
		mv "$script.new" "$script"
		sha_check "$p: phase 2 (EPRT/PORT 425): sha256 r1.bin" r1.bin
		mode=$(mode_used)
		expect "$p: phase 2 uses EPSV (got $mode)" '[ "$mode" = EPSV ]' \
			"$(grep -E '> (EPSV|PASV|EPRT|PORT)|< 4' "$LOG" | tail -n 8)"
		expect "$p: 'switched to passive mode' logged once" \
			'[ "$(logged "data connections in active mode.*switched to passive mode")" = 1 ]' \
			"$(grep -iE 'switch|warn' "$LOG" | head)"
		row "5 fake" "425 passive, then active" "$first" "$TM_SECS" "$mode"
		dc_umount "$p"
	fi
	dc_srv_stop s5-moving

	# Forced active against EPRT/PORT answered 425: fails fast, no hang.
	p="S5 fakeftp data_mode=active, EPRT/PORT 425"
	if start_or_fail "$p" s5-active425 fakeftp "$DATA" -- --fail EPRT=425 --fail PORT=425 &&
		dc_mount s5-active425 "$(dc_url s5-active425)" -o "data_mode=active,data_timeout=$DT"; then
		tm cat "$MNT/r3.bin"
		expect "$p: read fails quickly (${TM_SECS}s, exit $TM_RC)" \
			'[ "$TM_RC" -ne 0 ] && [ "$TM_RC" -ne 124 ] && lt "$TM_SECS" 3' "$TM_OUT"
		row "5 fake" "active forced, EPRT/PORT 425" "$TM_SECS (fails)" "-" "none"
		dc_umount "$p"
	fi
	dc_srv_stop s5-active425

	# Malformed 229/227: must not crash; the modes are dropped, EPRT works.
	v=0
	while IFS='#' read -r epsv pasv; do
		v=$((v + 1))
		note "malformed variant $v: EPSV -> '$epsv', PASV -> '$pasv'"
		s5_fake "malformed-$v" EPRT "" "data_timeout=$DT" -- \
			--reply "EPSV=$epsv" --reply "PASV=$pasv"
	done <<'EOF'
229 Entering Extended Passive Mode (|||garbage|)#227 Entering Passive Mode (h1,h2,h3,h4,p1,p2).
229 Entering Extended Passive Mode (|||99999|)#227 Entering Passive Mode (300,0,0,1,4,1).
229 Entering Extended Passive Mode (|||0|)#227 Entering Passive Mode (127,0,0,1,0,0).
229 #227 
229 Entering Extended Passive Mode (|||-5|)#227 Entering Passive Mode (127,0,0,1,-1,80).
229 Entering Extended Passive Mode (||||||||||||||||||||||||||||||||||||||||||#227 Entering Passive Mode (127,0,0,1,99999999999999999999,1)
229 Entering Extended Passive Mode (|||4294967297|)#227 Entering Passive Mode (4294967423,0,0,1,1,1).
229#227
EOF
}

# ===========================================================================
# Scenario 6: IPv6
# ===========================================================================
scenario_6() {
	local p first mode
	note "scenario 6: servers on [::1]"
	DATA=$SRV_TMP/data-v6
	make_tree "$DATA"
	if want pyftpdlib && start_or_fail "S6 pyftpdlib" s6-py pyftpdlib "$DATA" --v6; then
		p="S6 pyftpdlib [::1]"
		if dc_mount s6-py "$(dc_url s6-py)" -o "data_timeout=$DT"; then
			ls_check "$p: ls -la / (first op)"
			first=$TM_SECS
			later_ops "$p"
			mode=$(mode_used)
			expect "$p: EPSV used (got $mode), no PASV/PORT" \
				'[ "$mode" = EPSV ] && [ "$(sent "PASV|PORT")" = 0 ]'
			row 6 "pyftpdlib [::1]" "$first" "$LATER" "$mode"
			dc_umount "$p"
		fi
		p="S6 pyftpdlib [::1] data_mode=active"
		if dc_mount s6-py-active "$(dc_url s6-py)" -o "data_mode=active,data_timeout=$DT"; then
			ls_check "$p: ls -la / (first op)"
			first=$TM_SECS
			sha_check "$p: sha256 r4.bin" r4.bin
			mode=$(mode_used)
			expect "$p: EPRT |2|::1| used, no PORT" \
				'[ "$mode" = EPRT ] && [ "$(logged "> EPRT \|2\|::1\|[0-9]+\|")" -ge 1 ] && [ "$(sent PORT)" = 0 ]' \
				"$(grep -E '> (EPSV|PASV|EPRT|PORT)' "$LOG" | head)"
			row "6 active" "pyftpdlib [::1]" "$first" "$TM_SECS" "$mode"
			dc_umount "$p"
		fi
		dc_srv_stop s6-py
	fi
	if want vsftpd && start_or_fail "S6 vsftpd" s6-vs vsftpd "$DATA" --v6; then
		p="S6 vsftpd [::1]"
		if dc_mount s6-vs "$(dc_url s6-vs)" -o "data_timeout=$DT"; then
			ls_check "$p: ls -la / (first op)"
			first=$TM_SECS
			later_ops "$p"
			mode=$(mode_used)
			expect "$p: EPSV used (got $mode)" '[ "$mode" = EPSV ]'
			row 6 "vsftpd [::1]" "$first" "$LATER" "$mode"
			dc_umount "$p"
		fi
		dc_srv_stop s6-vs
	fi
	if want fakeftp && start_or_fail "S6 fakeftp" s6-fake fakeftp "$DATA" --v6 -- --fail EPSV=425; then
		p="S6 fakeftp [::1] EPSV 425"
		if dc_mount s6-fake "$(dc_url s6-fake)" -o "data_timeout=$DT"; then
			ls_check "$p: ls -la / (first op)"
			first=$TM_SECS
			later_ops "$p"
			mode=$(mode_used)
			expect "$p: falls back to EPRT |2| (got $mode), never PASV/PORT" \
				'[ "$mode" = EPRT ] && [ "$(sent "PASV|PORT")" = 0 ] && [ "$(logged "> EPRT \|2\|::1\|")" -ge 1 ]' \
				"$(grep -E '> (EPSV|PASV|EPRT|PORT)' "$LOG" | head)"
			row 6 "fakeftp [::1] EPSV 425" "$first" "$LATER" "$mode"
			dc_umount "$p"
		fi
		dc_srv_stop s6-fake
	fi
}

inner() {
	local n=$1
	OUT=$2
	netns_assert_private
	SRV_TMP=$OUT/tmp
	SRV_KEEP=1 # the outer run removes $OUT
	mkdir -p "$SRV_TMP"
	srv_init
	chmod 755 "$OUT"
	MNT=$SRV_TMP/mnt
	FTPFS_REAL=$(readlink -f "$FTPFS" 2>/dev/null || printf '%s' "$FTPFS")
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$OUT/asan:detect_leaks=1"
	export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$OUT/ubsan:print_stacktrace=1:halt_on_error=0"
	"scenario_$n"
	printf 'done\n' >"$OUT/finished"
}

if [ "${1:-}" = --inner ]; then
	inner "$2" "$3"
	exit 0
fi

# ===========================================================================
# On the host: one namespace per scenario, then the table and the count
# ===========================================================================
if [ "$(id -u)" -ne 0 ]; then
	echo "test_datachan.sh must run as root (namespaces, nft, FUSE)" >&2
	exit 1
fi
RES=$(mktemp -d /tmp/ftpfs-datachan.XXXXXX)
chmod 755 "$RES"
outer_cleanup() {
	netns_destroy_all
	if [ -z "${DC_KEEP:-}${SRV_KEEP:-}" ]; then
		rm -rf --one-file-system "$RES"
	else
		printf '# logs kept in %s\n' "$RES"
	fi
}
trap outer_cleanup EXIT
trap 'outer_cleanup; trap - INT; kill -INT $$' INT
trap 'outer_cleanup; trap - TERM; kill -TERM $$' TERM

printf '# ftpfs under test: %s\n' "$FTPFS"
if [ ! -x "$FTPFS" ]; then
	printf '# WARNING: %s is not an executable; every mount will fail\n' "$FTPFS"
fi
for opt in data_mode port_range; do
	"$FTPFS" --help 2>&1 | grep -q "$opt" ||
		printf '# WARNING: %s --help does not mention -o %s\n' "$FTPFS" "$opt"
done

extra_pass=0
extra_fail=0
t_all=$EPOCHREALTIME
for n in ${DC_SCENARIOS:-1 2 3 4 5 6}; do
	ns=ftpfs-dc-$$-$n
	out=$RES/s$n
	mkdir -p "$out"
	if ! netns_create "$ns"; then
		printf 'FAIL - scenario %s: cannot create network namespace %s\n' "$n" "$ns"
		extra_fail=$((extra_fail + 1))
		continue
	fi
	t0=$EPOCHREALTIME
	# In the background: a trap runs only once "wait" returns, at once.
	timeout -k 10 600 ip netns exec "$ns" bash "$self" --inner "$n" "$out" &
	wait "$!"
	rc=$?
	if [ ! -f "$out/finished" ]; then
		printf 'FAIL - scenario %s did not finish (exit %s after %ss)\n' \
			"$n" "$rc" "$(srv_since "$t0")"
		extra_fail=$((extra_fail + 1))
	fi
	printf '# scenario %s: %ss\n' "$n" "$(srv_since "$t0")"
	netns_destroy "$ns"
	if ip netns list | awk '{ print $1 }' | grep -qxF "$ns"; then
		printf 'FAIL - scenario %s: namespace %s left behind\n' "$n" "$ns"
		extra_fail=$((extra_fail + 1))
	fi
done

printf '\n# Timing (seconds; data_timeout=%s unless the server column says otherwise)\n' "$DT"
printf '# %-16s %-30s %-14s %-14s %s\n' scenario server first-op later-op "mode used"
cat "$RES"/s*/table 2>/dev/null | while IFS='|' read -r sc sv f l m; do
	printf '# %-16s %-30s %-14s %-14s %s\n' "$sc" "$sv" "$f" "$l" "$m"
done
printf '# total %ss\n' "$(srv_since "$t_all")"

passed=$(cat "$RES"/s*/results 2>/dev/null | grep -c '^P')
failed=$(cat "$RES"/s*/results 2>/dev/null | grep -c '^F')
passed=$((passed + extra_pass))
failed=$((failed + extra_fail))
printf '%d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
