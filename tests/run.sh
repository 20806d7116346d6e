#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The one test command: on a fresh Debian 12 machine, as root,
#
#     bash tests/run.sh
#
# installs what is needed (tests/deps.sh), builds ftpfs (build/, -Dwerror),
# an ASan+UBSan build (build-asan/), a ThreadSanitizer build (build-tsan/)
# and the libFuzzer targets (build-fuzz/),
# runs the unit tests, each fuzz target for a while, and the integration
# suites through real FUSE mounts of four FTP servers on 127.0.0.1 (reads,
# sessions, data channels, writes, write faults, other writers on the same
# files), over FTPS and SFTP too; plus the ASan binary on every suite
# against one server, and the TSan binary on the read, write, fault and
# shared-writer suites.  Ends with "N passed, N failed" and exits non-zero
# on any failure.  Needs no terminal (CI=true is fine).
#
# Logs of every step, and fuzzer crash inputs (build-logs/fuzz_*-crash-*; rerun
# one with build-fuzz/tests/fuzz/fuzz_NAME FILE), are in build-logs/.
#
# Knobs (environment):
#   FUZZ_SECONDS=20          per fuzz target (0 skips fuzzing)
#   SERVERS="vsftpd proftpd pureftpd pyftpdlib"   integration servers
#   SFTP_SERVERS="sshd proftpd_sftp"   servers of the test_sftp job ("" skips)
#   SFTP_RW_SERVERS=sshd     SFTP servers of the SFTP_RW_SUITES jobs ("" skips;
#                            ProFTPD's mod_sftp is left out: its READDIR
#                            shows a link's target while LSTAT shows the
#                            link, which 3 read checks see)
#   SFTP_RW_SUITES="test_read test_write test_shared"   suites run again over SFTP
#   ASAN_SERVERS=vsftpd      servers the ASan binary is run against ("" skips)
#   ASAN_SFTP_SERVERS=sshd   SFTP servers of the ASan test_sftp job ("" skips)
#   INTEGRATION_SUITES="test_write test_read test_datachan test_shared test_faults test_tls test_session test_install"
#                            suites of tests/integration/ to run
#   ASAN_SUITES="test_read test_write test_faults test_shared test_datachan test_tls test_session test_install"
#                            of those, run with the ASan binary (all)
#   TSAN_SERVERS=vsftpd      servers the TSan binary is run against ("" skips)
#   TSAN_SUITES="test_read test_write test_faults test_shared"
#                            suites run with the TSan binary
#   TSAN_FSX_OPS=1000        fsx operations of test_write under TSan
#   TSAN_SFTP_SERVERS=sshd   SFTP servers of the TSan SFTP jobs ("" skips)
#   TSAN_SFTP_SUITES="test_sftp test_read test_shared"   suites run with it there
#   INTEGRATION_JOBS=2       integration jobs run at a time (one queue)
#   SPLIT_SUITES="test_write test_read"   run as one job per server
#   TLS_SUITES="test_write test_read test_datachan"   run again over ftpes://
#   TLS_SERVERS="vsftpd proftpd pureftpd"   (TLS, with a test CA) on these
#                                        servers ("" skips)
#   CHAOS_SERVERS="vsftpd sshd"   servers of the chaos job ("" skips):
#                            test_chaos.sh, connections reset at random by a
#                            proxy under parallel operations (CHAOS_OPS,
#                            CHAOS_SEED: see the suite)
#   SKIP_DEPS=1              do not call tests/deps.sh
set -u
set -o pipefail
exec </dev/null

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo" || exit 1
export LC_ALL=C.UTF-8
export DEBIAN_FRONTEND=noninteractive
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
SERVERS=${SERVERS:-vsftpd proftpd pureftpd pyftpdlib}
SFTP_SERVERS=${SFTP_SERVERS-sshd proftpd_sftp}
SFTP_RW_SERVERS=${SFTP_RW_SERVERS-sshd}
SFTP_RW_SUITES=${SFTP_RW_SUITES-test_read test_write test_shared}
CHAOS_SERVERS=${CHAOS_SERVERS-vsftpd sshd}
ASAN_SERVERS=${ASAN_SERVERS-vsftpd}
ASAN_SFTP_SERVERS=${ASAN_SFTP_SERVERS-sshd}
# The ThreadSanitizer binary (data races, lock-order inversions) on the
# suites with the most threads at once: test_read (readers, a writer,
# walks and small files read ahead on one mount), test_faults (connections
# lost mid-transfer, frozen servers, interrupts), test_shared (parallel
# appenders, 20 spooled writers, two mounts), test_read over SFTP (its
# read-ahead threads) and test_shared over SFTP (writes behind the writer,
# a thread per file; 20 s).  Under TSan, on an idle 2-core machine, these took
# 1.5, 3, 2 and ~2.5 min.  Left out for CI's time, run by hand (no reports
# either): test_write (7.6 min; its processes run one at a time, its
# writer threads are those of test_shared) and test_sftp (6.7 min).
TSAN_SERVERS=${TSAN_SERVERS-vsftpd}
TSAN_SUITES=${TSAN_SUITES-test_read test_write test_faults test_shared}
TSAN_FSX_OPS=${TSAN_FSX_OPS:-1000}
TSAN_SFTP_SERVERS=${TSAN_SFTP_SERVERS-sshd}
TSAN_SFTP_SUITES=${TSAN_SFTP_SUITES-test_sftp test_read test_shared}
# Suites in tests/integration/ (NAME.sh; each takes FTPFS and SERVERS and
# ends with "N passed, N failed").
INTEGRATION_SUITES=${INTEGRATION_SUITES:-test_write test_read test_datachan test_shared test_faults test_tls test_session test_install}
# Suites run again with the ASan+UBSan binary on $ASAN_SERVERS.
ASAN_SUITES=${ASAN_SUITES:-test_read test_write test_faults test_shared test_datachan test_tls test_session test_install}
# Integration jobs (suite x binary) run this many at a time.
INTEGRATION_JOBS=${INTEGRATION_JOBS:-2}
# Suites run again over explicit FTPS on $TLS_SERVERS (tests/lib/servers.sh).
TLS_SUITES=${TLS_SUITES-test_write test_read test_datachan}
TLS_SERVERS=${TLS_SERVERS-vsftpd proftpd pureftpd}
logs=$repo/build-logs
mkdir -p "$logs"

passed=0
failed=0
failures=()
t_all=$EPOCHREALTIME

since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }'; }
banner() { printf '\n=== %s\n' "$*"; }
step_ok() {
	passed=$((passed + ${2:-1}))
	printf 'ok - %s\n' "$1"
}
step_fail() {
	failed=$((failed + ${2:-1}))
	failures+=("$1")
	printf 'FAIL - %s\n' "$1"
}

# run_step NAME LOG CMD...: one pass/fail; output to LOG, its tail on failure.
run_step() {
	local name=$1 log=$2 t0 rc=0
	shift 2
	t0=$EPOCHREALTIME
	"$@" >"$log" 2>&1 || rc=$?
	if [ "$rc" -eq 0 ]; then
		step_ok "$name ($(since "$t0")s)"
	else
		step_fail "$name (exit $rc, $(since "$t0")s; log: ${log#"$repo"/})"
		tail -n 40 "$log" | sed 's/^/#   /'
	fi
	return "$rc"
}

# Sum "N passed, N failed" from a sub-suite's last such line.
add_counts() { # NAME LOG RC
	local line p f
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$2" | tail -n 1)
	if [ -z "$line" ]; then
		step_fail "$1: no summary line (exit $3)"
		return
	fi
	p=${line%% passed*}
	f=${line#*passed, }
	f=${f%% failed*}
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" -gt 0 ] || [ "$3" -ne 0 ]; then
		failures+=("$1: $line")
		[ "$f" -gt 0 ] || step_fail "$1: exit $3 with $line"
	fi
	printf '# %s: %s\n' "$1" "$line"
}

# ---------------------------------------------------------------------------
banner "dependencies"
if [ "$(id -u)" -ne 0 ]; then
	echo "tests/run.sh must run as root (packages, FTP servers, FUSE mounts)" >&2
	exit 1
fi
if [ -z "${SKIP_DEPS:-}" ]; then
	run_step "tests/deps.sh" "$logs/deps.log" bash tests/deps.sh
fi

# ---------------------------------------------------------------------------
banner "style (clang-format, the root .clang-format)"
run_step "clang-format --dry-run --Werror" "$logs/format.log" \
	clang-format --dry-run --Werror src/*.c src/ftp/*.c src/sftp/*.c include/*.h \
	tests/unit/*.c tests/fuzz/*.c

banner "build (build/, -Dwerror=true)"
setup() { # DIR ARGS...: configure (again) with these options
	local dir=$1
	shift
	if [ -f "$dir/build.ninja" ]; then
		meson configure "$dir" "$@" && return 0
		rm -rf "$dir"
	fi
	meson setup "$dir" "$@"
}
build_ok=0
if run_step "meson setup + ninja: build" "$logs/build.log" \
	bash -c "$(declare -f setup); setup build -Dwerror=true && ninja -C build"; then
	build_ok=1
fi

banner "ASan+UBSan build (build-asan/)"
asan_ok=0
if run_step "meson setup + ninja: build-asan" "$logs/build-asan.log" \
	bash -c "$(declare -f setup); setup build-asan -Dwerror=true \
		-Db_sanitize=address,undefined -Dbuildtype=debug && ninja -C build-asan"; then
	asan_ok=1
fi

banner "ThreadSanitizer build (build-tsan/)"
tsan_ok=0
if [ -n "$TSAN_SERVERS$TSAN_SFTP_SERVERS" ] &&
	run_step "meson setup + ninja: build-tsan" "$logs/build-tsan.log" \
		bash -c "$(declare -f setup); setup build-tsan -Dwerror=true \
		-Db_sanitize=thread -Dbuildtype=debug && ninja -C build-tsan"; then
	tsan_ok=1
fi

# ---------------------------------------------------------------------------
banner "unit tests"
unit() { # DIR NAME
	local log=$logs/unit-$2.log rc=0 ok fl
	meson test -C "$1" --suite unit --print-errorlogs >"$log" 2>&1 || rc=$?
	ok=$(awk '/^Ok:/ { print $2 }' "$log")
	fl=$(awk '/^(Fail|Unexpected Pass|Timeout):/ { s += $NF } END { print s + 0 }' "$log")
	grep -E '^ *[0-9]+/[0-9]+ ' "$log" | sed 's/^/# /'
	if [ -z "$ok" ]; then
		step_fail "unit tests ($2): meson test gave no summary (exit $rc)"
		tail -n 30 "$log" | sed 's/^/#   /'
		return
	fi
	passed=$((passed + ok))
	failed=$((failed + fl))
	if [ "$fl" -gt 0 ] || [ "$rc" -ne 0 ]; then
		failures+=("unit tests ($2): $fl failed")
		[ "$fl" -gt 0 ] || step_fail "unit tests ($2): exit $rc"
		grep -A 30 -E 'FAILED|ERROR' "$log" | head -n 60 | sed 's/^/#   /'
	fi
	printf '# unit tests (%s): %s passed, %s failed\n' "$2" "$ok" "$fl"
}
if [ "$build_ok" -eq 1 ]; then unit build build; else step_fail "unit tests not run (no build)"; fi
if [ "$asan_ok" -eq 1 ]; then unit build-asan asan; fi
if [ "$tsan_ok" -eq 1 ]; then unit build-tsan tsan; fi

# ---------------------------------------------------------------------------
banner "fuzzing (${FUZZ_SECONDS}s per target)"
fuzz_targets=(fuzz_reply fuzz_parse fuzz_list fuzz_url fuzz_netrc fuzz_credfile fuzz_sftp fuzz_ssh_config
	fuzz_options fuzz_mountinfo)
if [ "$FUZZ_SECONDS" -gt 0 ]; then
	if run_step "meson setup + ninja: build-fuzz (clang, -Dfuzz=true)" \
		"$logs/build-fuzz.log" bash -c "$(declare -f setup); \
		export CC=clang; setup build-fuzz -Dfuzz=true && ninja -C build-fuzz"; then
		for f in "${fuzz_targets[@]}"; do
			bin=$(find build-fuzz -type f -name "$f" -perm -u+x | head -n 1)
			if [ -z "$bin" ]; then
				step_fail "$f: not built"
				continue
			fi
			corpus=tests/fuzz/corpus-run/$f
			mkdir -p "$corpus"
			seeds=()
			[ "$f" != fuzz_list ] || [ ! -d tests/unit/fixtures/list ] ||
				seeds+=(tests/unit/fixtures/list)
			[ ! -d "tests/fuzz/corpus/$f" ] || seeds+=("tests/fuzz/corpus/$f")
			run_step "$f for ${FUZZ_SECONDS}s" "$logs/$f.log" \
				"$bin" -max_total_time="$FUZZ_SECONDS" -timeout=10 \
				-rss_limit_mb=2048 -print_final_stats=1 \
				-artifact_prefix="$logs/$f-" "$corpus" "${seeds[@]}" &&
				grep -E '^(stat::number_of_executed_units|#[0-9]+.*DONE)' "$logs/$f.log" |
				tail -n 1 | sed 's/^/#   /'
		done
	fi
fi

# ---------------------------------------------------------------------------
banner "integration: real servers through FUSE mounts ($SERVERS; $INTEGRATION_JOBS at a time)"
# Each job is one suite run with one binary: "NAME BINARY SUITE SERVERS...".
# The jobs share nothing (each suite starts its own servers on free ports
# and mounts in its own temp dir), so they run INTEGRATION_JOBS at a time;
# their output goes to build-logs/integration-SUITE-NAME.log and the
# failures are shown below once every job is done.
jobs=()
# The longest suites run as one job per server, so that the lanes stay
# evenly loaded; the others as one job for all servers.
SPLIT_SUITES=${SPLIT_SUITES-test_write test_read}
add_jobs() { # NAME BINARY SUITE SERVERS...
	local name=$1 bin=$2 suite=$3 srv
	shift 3
	if [[ " $SPLIT_SUITES " == *" $suite "* ]]; then
		for srv in "$@"; do
			jobs+=("$name $bin $suite $srv")
		done
	else
		jobs+=("$name $bin $suite $*")
	fi
}
if [ "$build_ok" -eq 1 ]; then
	for suite in $INTEGRATION_SUITES; do
		add_jobs build build/ftpfs "$suite" $SERVERS
	done
	# The same suites over explicit FTPS, with a test CA made here (the
	# long ones early: the lanes share one queue).
	tls_dir=$logs/tls-ca
	if [ -n "$TLS_SERVERS" ] && [ -n "$TLS_SUITES" ]; then
		# shellcheck source=lib/tlsca.sh
		. tests/lib/tlsca.sh
		rm -rf "$tls_dir"
		if tlsca_make "$tls_dir"; then
			for suite in $TLS_SUITES; do
				add_jobs ftpes build/ftpfs "$suite" $TLS_SERVERS
			done
		else
			step_fail "test CA for the FTPS runs (log: ${tls_dir#"$repo"/}/make.log)"
		fi
	fi
	# The chaos suite (about 1.5 min per server), FTP and SFTP in one job.
	[ -z "${CHAOS_SERVERS// /}" ] ||
		jobs+=("chaos build/ftpfs test_chaos $CHAOS_SERVERS")
	# SFTP: its own suite, and the read/write suites again over SFTP.
	[ -z "${SFTP_SERVERS// /}" ] ||
		jobs+=("sftp build/ftpfs test_sftp $SFTP_SERVERS")
	if [ -n "${SFTP_RW_SERVERS// /}" ]; then
		for suite in $SFTP_RW_SUITES; do
			jobs+=("sftp build/ftpfs $suite $SFTP_RW_SERVERS")
		done
	fi
else
	step_fail "integration not run (no build)"
fi
if [ "$asan_ok" -eq 1 ] && [ -n "$ASAN_SERVERS" ]; then
	for suite in $ASAN_SUITES; do
		jobs+=("asan build-asan/ftpfs $suite $ASAN_SERVERS")
	done
	# SFTP's own code (codec, sessions, read-ahead threads) under ASan too
	[ -z "${ASAN_SFTP_SERVERS// /}" ] ||
		jobs+=("asan build-asan/ftpfs test_sftp $ASAN_SFTP_SERVERS")
fi
# Data races and lock-order inversions (reports in each suite's sanitizer
# folder, failing its "no ASan/UBSan/TSan reports" check).  First in the
# queue: each TSan job is one of the longest (the queue goes longest first).
if [ "$tsan_ok" -eq 1 ]; then
	tsan_jobs=()
	if [ -n "${TSAN_SERVERS// /}" ]; then
		for suite in $TSAN_SUITES; do
			tsan_jobs+=("tsan build-tsan/ftpfs $suite $TSAN_SERVERS")
		done
	fi
	if [ -n "${TSAN_SFTP_SERVERS// /}" ]; then
		for suite in $TSAN_SFTP_SUITES; do
			tsan_jobs+=("tsan build-tsan/ftpfs $suite $TSAN_SFTP_SERVERS")
		done
	fi
	jobs=("${tsan_jobs[@]}" "${jobs[@]}")
fi
# A job's log: build-logs/integration-SUITE-NAME[-SERVER].log (the server
# when a split suite runs one job per server).
job_log() { # NAME SUITE SERVERS...
	local name=$1 suite=$2
	shift 2
	if [ $# -eq 1 ] && [[ " $SPLIT_SUITES " == *" $suite "* ]]; then
		printf '%s' "$logs/integration-$suite-$name-$1"
	else
		printf '%s' "$logs/integration-$suite-$name"
	fi
}
run_job() { # NAME BINARY SUITE SERVERS...
	local name=$1 bin=$2 suite=$3 t0=$EPOCHREALTIME rc=0 log
	local -a env=()
	shift 3
	log=$(job_log "$name" "$suite" "$@")
	[ "$name" != ftpes ] || env=(SRV_TLS=explicit SRV_TLS_DIR="$tls_dir"
		FTPFS_OPTS="-o cafile=$tls_dir/ca.pem")
	# fsx under TSan: fewer operations (4000 outlast the suite's 120 s
	# per command at TSan's speed; the threads are the same)
	[ "$name" != tsan ] || env=(FSX_OPS="$TSAN_FSX_OPS")
	env "${env[@]}" FTPFS="$bin" SERVERS="$*" bash "tests/integration/$suite.sh" \
		>"$log.log" 2>&1 || rc=$?
	printf '%s %s\n' "$rc" "$(since "$t0")" >"$log.rc"
	printf '# finished: %s (%s; %s) in %ss, exit %s: %s\n' "$suite" "$name" "$*" \
		"$(since "$t0")" "$rc" \
		"$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log.log" | tail -n 1)"
}
# The lanes take the next job from one queue (a counter under flock), so
# a long job in one lane does not leave the other idle; the jobs are
# listed longest first (test_write, then test_read).
echo 0 >"$logs/.next-job"
next_job() {
	local n
	{
		flock 9
		n=$(cat "$logs/.next-job")
		echo $((n + 1)) >"$logs/.next-job"
	} 9>"$logs/.next-job.lock"
	printf '%s' "$n"
}
lane() {
	local k
	while k=$(next_job) && [ "$k" -lt "${#jobs[@]}" ]; do
		# shellcheck disable=SC2086 # the job is split into its words
		run_job ${jobs[$k]}
	done
}
lane_pids=()
for ((l = 0; l < INTEGRATION_JOBS && l < ${#jobs[@]}; l++)); do
	lane &
	lane_pids+=($!)
done
for pid in "${lane_pids[@]}"; do
	wait "$pid"
done
for job in "${jobs[@]}"; do
	read -r name bin suite servers <<<"$job"
	# shellcheck disable=SC2086 # the servers are words
	base=$(job_log "$name" "$suite" $servers)
	log=$base.log
	read -r rc secs <"$base.rc" 2>/dev/null || { rc=1; secs=?; }
	grep -E '^FAIL' -A 12 "$log" | head -n 80 | sed 's/^/#   /'
	add_counts "integration $suite ($name, $servers; ${secs}s)" "$log" "$rc"
done

# ---------------------------------------------------------------------------
banner "summary ($(since "$t_all")s)"
for f in "${failures[@]}"; do
	printf 'failed: %s\n' "$f"
done
printf '%d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
