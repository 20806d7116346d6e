#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Read-path integration suite: mounts real FTP servers on 127.0.0.1 with
# ftpfs through FUSE and compares what the mount shows with the server's disk.
# Run as root.
#
#   FTPFS=build/ftpfs            binary under test (default build/ftpfs)
#   SERVERS="vsftpd proftpd pureftpd pyftpdlib"   servers to run against
#                                (also the SFTP servers sshd, proftpd_sftp:
#                                the same checks through sftp:// mounts)
#   FTPFS_OPTS="-o ..."          extra mount arguments for every mount
#   SRV_KEEP=1                   keep the temp dir (logs, fixture) afterwards
#
# Prints "ok - NAME" or "FAIL - NAME" per check, details of failures indented
# with "#", and finally "N passed, N failed"; exits non-zero on any failure.
#
# What each server shows (asserted below, see servers_* functions):
#   vsftpd     LIST only (no MLSD): symlinks shown with targets; mtimes to the
#              minute (the year only, for files older than 6 months); dotfiles
#              only with LIST -a
#   proftpd    MLSD: symlinks typed OS.unix=symlink without target, dangling
#              links omitted; exact mtimes
#   pureftpd   MLSD: symlinks typed OS.unix=slink: without target; exact mtimes
#   pyftpdlib  MLSD follows symlinks (a link to a dir is a dir) and omits
#              dangling links; exact mtimes
#   sshd, proftpd_sftp   SFTP: READDIR shows every link as a link (readlink
#              gives its target); exact mtimes
set -u
set -o pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/servers.sh
. "$repo/tests/lib/servers.sh"
# shellcheck source=../lib/fixture.sh
. "$repo/tests/lib/fixture.sh"

export LC_ALL=C.UTF-8
FTPFS=${FTPFS:-build/ftpfs}
case $FTPFS in /*) ;; *) FTPFS=$repo/$FTPFS ;; esac
SERVERS=${SERVERS:-$SRV_ALL}
read -r -a EXTRA_OPTS <<<"${FTPFS_OPTS:-}"
T=${FTPFS_TEST_TIMEOUT:-60} # seconds for one command through the mount

passed=0
failed=0
mount_seq=0
# Checks that took long (since the previous one) get their time noted.
last_check=$EPOCHREALTIME
slow() { # sets $took to " [N.Ns]" for a check that took 4 s or more
	took=$(awk -v a="$last_check" -v b="$EPOCHREALTIME" \
		'BEGIN { d = b - a; if (d >= 4) printf " [%.1fs]", d }')
	last_check=$EPOCHREALTIME
}
ok() {
	passed=$((passed + 1))
	slow
	printf 'ok - %s%s\n' "$1" "$took"
}
not_ok() {
	failed=$((failed + 1))
	slow
	printf 'FAIL - %s%s\n' "$1" "$took"
	shift
	if [ $# -gt 0 ]; then
		printf '%s\n' "$@" | head -n 30 | sed 's/^/#   /'
	fi
}
note() { printf '# %s\n' "$*"; }

# check NAME CMD...: passes when CMD exits 0 within $T seconds.
check() {
	local name=$1 out rc=0
	shift
	out=$(timeout -k 5 "$T" "$@" 2>&1) || rc=$?
	if [ "$rc" -eq 0 ]; then
		ok "$name"
	else
		not_ok "$name" "exit $rc: $*" "$out"
	fi
}

# check_eq NAME EXPECTED ACTUAL
check_eq() {
	if [ "$2" == "$3" ]; then
		ok "$1"
	else
		not_ok "$1" "$(diff <(printf '%s\n' "$2") <(printf '%s\n' "$3") |
			sed 's/^</expected:/; s/^>/actual:  /' | grep -v '^---' | head -n 20)"
	fi
}

# Run CMD with the per-command timeout; stdout only.
t() { timeout -k 5 "$T" "$@"; }

FTPFS_REAL=$(readlink -f "$FTPFS" 2>/dev/null || printf '%s' "$FTPFS")

srv_init
DATA=$SRV_TMP/data
MNT=$SRV_TMP/mnt
mkdir -p "$SRV_TMP/asan"
# Sanitizer reports of an ASan/UBSan build go to files (the daemon has no
# stderr once it is in the background); they are checked at the end.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$SRV_TMP/asan/asan:detect_leaks=1"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$SRV_TMP/asan/ubsan:print_stacktrace=1:halt_on_error=0"
# ThreadSanitizer (build-tsan/): every report, not only the first, and both
# stacks of a lock-order inversion.
export TSAN_OPTIONS="${TSAN_OPTIONS:+$TSAN_OPTIONS:}log_path=$SRV_TMP/asan/tsan:halt_on_error=0:second_deadlock_stack=1"

note "ftpfs under test: $FTPFS"
note "temp dir: $SRV_TMP"
if ! fixture_build "$DATA" "$SRV_USER"; then
	not_ok "fixture: build the test tree"
	printf '%d passed, %d failed\n' "$passed" "$failed"
	exit 1
fi
if [ ! -x "$FTPFS" ]; then
	note "WARNING: $FTPFS is not an executable; every mount will fail"
fi

# --- helpers over the mount ------------------------------------------------

mount_ok() { # NAME URL [ARGS...]: mount at $MNT, record the result
	local name=$1 url=$2
	shift 2
	mount_seq=$((mount_seq + 1))
	FTPFS_MOUNT_LOG=$SRV_TMP/$cur-mount-$mount_seq.log
	: >"$FTPFS_MOUNT_LOG"
	if FTPFS_MOUNT_LOG=$FTPFS_MOUNT_LOG ftpfs_mount "$FTPFS" "$MNT" "$url" \
		"${EXTRA_OPTS[@]}" "$@"; then
		ok "$name (${FTPFS_MOUNT_SECS}s)"
		return 0
	fi
	not_ok "$name" "ftpfs exit status: $FTPFS_MOUNT_RC after ${FTPFS_MOUNT_SECS}s" \
		"output:" "$(tail -n 20 "$FTPFS_MOUNT_LOG")"
	ftpfs_umount "$MNT" "$FTPFS_REAL" >/dev/null 2>&1
	return 1
}

umount_ok() { # NAME
	if ftpfs_umount "$MNT" "$FTPFS_REAL"; then
		ok "$1"
	else
		not_ok "$1" "fusermount3 -u failed or ftpfs did not exit"
	fi
}

# Sorted `ls -A` of DIR (names as bytes, one a line).
lsa() { t ls -A -- "$1" | LC_ALL=C sort; }

# The type of PATH without following links: file, dir, link, missing, other.
ftype() {
	if [ -L "$1" ]; then echo link
	elif [ -f "$1" ]; then echo file
	elif [ -d "$1" ]; then echo dir
	elif [ -e "$1" ]; then echo other
	else echo missing
	fi
}

# The MLSD of pyftpdlib and ProFTPD omits dangling symlinks entirely (ProFTPD
# shows them in LIST, but a client preferring MLSD does not see them).
drops_dangling() {
	case $cur in pyftpdlib | proftpd) return 0 ;; *) return 1 ;; esac
}

# mtime tolerance in seconds for PATH (relative) on server $cur.
mtime_tol() {
	case $cur in
	vsftpd)
		# LIST: "Mon DD HH:MM" (minute) or "Mon DD  YYYY" (day).
		if [ "$1" = old.txt ]; then echo 86400; else echo 60; fi
		;;
	*) echo 0 ;; # MLSD modify= is exact to the second
	esac
}

# --- the per-server suite -----------------------------------------------------

suite_server() {
	cur=$1
	local P="[$cur]" url f d exp act out rc i

	if ! srv_start "$cur" "$DATA"; then
		not_ok "$P start $cur on 127.0.0.1" "see $SRV_TMP/srv-$cur/stderr.log"
		return
	fi
	url=$(srv_url "$cur")
	read -r -a SRV_MOUNT_OPTS <<<"$(srv_opts "$cur")"

	# ---------------------------------------------------------------
	# Mount 1: password in the URL, default options.
	if ! mount_ok "$P mount ${url%%://*}://user@127.0.0.1:port/ (password or key)" "$url"; then
		not_ok "$P read-path checks not run (no mount)"
	else
		suite_mounted
		umount_ok "$P unmount; ftpfs exits"
	fi

	# ---------------------------------------------------------------
	# Mount 2: a fresh mount (cold caches), four concurrent readers.
	if mount_ok "$P mount again (cold cache)" "$url"; then
		local mark t0 n
		mark=$(srv_log_lines "$cur")
		t0=$EPOCHREALTIME
		n=$(t ls -lR "$MNT/tree" 2>&1 | grep -c '^-')
		check_eq "$P cold ls -lR tree/ shows all $((FIXTURE_TREE_DIRS * FIXTURE_TREE_FILES)) files" \
			"$((FIXTURE_TREE_DIRS * FIXTURE_TREE_FILES))" "$n"
		note "$P cold ls -lR tree/ (21 dirs): $(srv_since "$t0")s, $(srv_count "$cur" "$mark") listing commands (LIST/NLST/MLSD/STAT), $(srv_count "$cur" "$mark" MLST SIZE MDTM) MLST/SIZE/MDTM"
		local sums=$SRV_TMP/$cur-par
		mkdir -p "$sums"
		local files=(big-20M.bin rand-1M7.bin big-20M.bin rand-4096.bin)
		local jobs=()
		for i in 0 1 2 3; do
			(t sha256sum 2>"$sums/$i.err" >"$sums/$i" <"$MNT/${files[$i]}"
			 echo $? >"$sums/$i.rc") &
			jobs+=($!)
		done
		wait "${jobs[@]}"
		for i in 0 1 2 3; do
			exp=$(sha256sum <"$DATA/${files[$i]}")
			act=$(cat "$sums/$i" 2>/dev/null)
			if [ "$(cat "$sums/$i.rc")" = 0 ] && [ "$exp" = "$act" ]; then
				ok "$P parallel reader $i: sha256 ${files[$i]}"
			else
				not_ok "$P parallel reader $i: sha256 ${files[$i]}" \
					"exit $(cat "$sums/$i.rc")" "expected $exp" "actual   $act" \
					"$(cat "$sums/$i.err")"
			fi
		done
		umount_ok "$P unmount after parallel reads"
	fi

	# ---------------------------------------------------------------
	# Mount 2b: a fresh mount, everything at once (what a ThreadSanitizer
	# build is run on): 8 readers, a writer, ls -lR of the cold tree (the
	# walk's background listings) and a folder read file after file (the
	# small files read ahead).  In the foreground with debug logs, for
	# what the background workers did; 12 connections, so that they find
	# some to spare next to the 11 processes.
	if mount_ok "$P mount again (readers, a writer, ls -lR at once)" "$url" \
		-f -o log_level=debug -o connections=12; then
		suite_all_at_once
		umount_ok "$P unmount after readers, a writer, ls -lR at once"
		note "$P all at once, background workers: $(grep -hoE \
			'(walks|small files read ahead): .*' "$FTPFS_MOUNT_LOG" | tr '\n' ';')"
	fi

	# ---------------------------------------------------------------
	# Mount 3: -o password_stdin, no password in the URL.
	# (SFTP: a password login, no key offered.)
	(umask 077 && printf '%s\n' "$SRV_PASS" >"$SRV_TMP/password")
	read -r -a SRV_MOUNT_OPTS <<<"$(srv_opts "$cur" password)"
	if FTPFS_MOUNT_STDIN=$SRV_TMP/password \
		mount_ok "$P mount with -o password_stdin" "$(srv_url_nopass "$cur")" \
		-o password_stdin; then
		check_eq "$P password_stdin: read plain.txt" \
			"$(cat "$DATA/plain.txt")" "$(t cat "$MNT/plain.txt" 2>&1)"
		umount_ok "$P unmount (password_stdin)"
	fi
	read -r -a SRV_MOUNT_OPTS <<<"$(srv_opts "$cur")"

	# ---------------------------------------------------------------
	# Mount 3b: symlinks read by path before their folder is listed.
	if mount_ok "$P mount again (links by path before any listing)" "$url"; then
		suite_links_by_path
		umount_ok "$P unmount (links by path)"
	fi

	# ---------------------------------------------------------------
	# Mount 4: -d protocol trace; the password must never appear in it.
	# (SFTP: with the password login of mount 3.)
	read -r -a SRV_MOUNT_OPTS <<<"$(srv_opts "$cur" password)"
	local trace=$SRV_TMP/$cur-trace.log durl=$url
	: >"$trace"
	if srv_is_sftp "$cur"; then
		durl=$(srv_url_nopass "$cur")
		set -- -o password_stdin
	else
		set --
	fi
	if FTPFS_MOUNT_STDIN=$SRV_TMP/password FTPFS_MOUNT_LOG=$trace \
		ftpfs_mount "$FTPFS" "$MNT" "$durl" "${EXTRA_OPTS[@]}" -d "$@"; then
		ok "$P mount with -d (foreground, trace)"
		t ls -la "$MNT" >/dev/null 2>&1
		t cat "$MNT/plain.txt" >/dev/null 2>&1
		umount_ok "$P unmount (-d)"
		if grep -qF -- "$SRV_PASS" "$trace"; then
			not_ok "$P -d trace never shows the password" \
				"$(grep -nF -- "$SRV_PASS" "$trace" | sed "s/$SRV_PASS/<THE PASSWORD>/g" | head -n 5)"
		else
			ok "$P -d trace never shows the password"
		fi
		if srv_is_sftp "$cur"; then
			if grep -q 'authenticated with a password' "$trace"; then
				ok "$P -d trace says how it logged in (password)"
			else
				not_ok "$P -d trace says how it logged in (password)" \
					"$(head -n 15 "$trace")"
			fi
		elif grep -qE 'PASS +[^ ]' "$trace"; then
			ok "$P -d trace shows a redacted PASS ($(grep -oE 'PASS +[^ ]+' "$trace" | head -n1))"
		else
			not_ok "$P -d trace shows a redacted PASS" \
				"no 'PASS <redacted>' line in $(wc -l <"$trace") lines of trace" \
				"$(head -n 15 "$trace")"
		fi
	else
		not_ok "$P mount with -d (foreground, trace)" \
			"exit $FTPFS_MOUNT_RC" "$(tail -n 15 "$trace")"
		ftpfs_umount "$MNT" "$FTPFS_REAL" >/dev/null 2>&1
	fi

	read -r -a SRV_MOUNT_OPTS <<<"$(srv_opts "$cur")"

	# ---------------------------------------------------------------
	# Mount 5: a sub-directory, percent-encoded in the URL.
	if mount_ok "$P mount a sub-directory: .../dir%20with%20space" \
		"$(srv_url "$cur" 'dir%20with%20space')"; then
		check_eq "$P sub-directory mount: ls -A" "$(lsa "$DATA/dir with space")" \
			"$(lsa "$MNT" 2>&1)"
		check_eq "$P sub-directory mount: cat needle.txt" \
			"$(cat "$DATA/dir with space/needle.txt")" "$(t cat "$MNT/needle.txt" 2>&1)"
		umount_ok "$P unmount (sub-directory)"
	fi
	if mount_ok "$P mount a nested sub-directory: .../a/b" "$(srv_url "$cur" a/b)"; then
		check_eq "$P nested sub-directory mount: find" \
			"$(cd "$DATA/a/b" && find . | LC_ALL=C sort)" \
			"$(cd "$MNT" && t find . 2>&1 | LC_ALL=C sort)"
		umount_ok "$P unmount (nested sub-directory)"
	fi

	# ---------------------------------------------------------------
	# Mount 6: one connection, short cache: concurrency must not deadlock,
	# and changes made on the server show up once the cache expires.
	if mount_ok "$P mount with -o connections=1,cache_timeout=1" "$url" \
		-o connections=1,cache_timeout=1; then
		suite_one_connection
		umount_ok "$P unmount (connections=1)"
	fi

	# ---------------------------------------------------------------
	# Mount 7: the server restarts (every session dropped) under a mount.
	if mount_ok "$P mount before a server restart" "$url"; then
		t cat "$MNT/plain.txt" >/dev/null 2>&1
		t ls "$MNT/a" >/dev/null 2>&1
		if srv_restart "$cur"; then
			check_eq "$P after a server restart: cat plain.txt" \
				"$(cat "$DATA/plain.txt")" "$(t cat "$MNT/plain.txt" 2>&1)"
			check_eq "$P after a server restart: sha256 rand-1M7.bin" \
				"$(sha256sum <"$DATA/rand-1M7.bin")" "$(t sha256sum 2>&1 <"$MNT/rand-1M7.bin")"
			check_eq "$P after a server restart: ls -A tree/d03" \
				"$(lsa "$DATA/tree/d03")" "$(lsa "$MNT/tree/d03" 2>&1)"
		else
			not_ok "$P restart $cur on port $(srv_port "$cur")"
		fi
		umount_ok "$P unmount (after server restart)"
	fi

	# ---------------------------------------------------------------
	# Failing mounts: must fail fast, with a non-zero exit and no mount.
	read -r -a SRV_MOUNT_OPTS <<<"$(srv_opts "$cur" password)"
	fail_fast "$P wrong password" 20 "$(srv_url_badpass "$cur")"
	read -r -a SRV_MOUNT_OPTS <<<"$(srv_opts "$cur")"
	fail_fast "$P missing remote directory" 20 "$(srv_url "$cur" no/such/dir)"
	FAIL_SAYS="plain.txt is a file, not a directory" \
		fail_fast "$P a URL path that is a file" 20 "$(srv_url "$cur" plain.txt)"
	SRV_MOUNT_OPTS=()

	srv_stop "$cur"
}

# fail_fast NAME SECONDS URL [ARGS...]; $FAIL_SAYS: a regex the message matches
fail_fast() {
	local name=$1 limit=$2 url=$3 t0 rc=0 secs
	shift 3
	mkdir -p "$MNT"
	t0=$EPOCHREALTIME
	out=$(FTPFS_TEST_TAG=$SRV_TMP timeout -k 5 60 "$FTPFS" "$url" "$MNT" \
		"${EXTRA_OPTS[@]}" "$@" "${SRV_MOUNT_OPTS[@]}" </dev/null 2>&1) || rc=$?
	secs=$(srv_since "$t0")
	if srv_is_mounted "$MNT"; then
		not_ok "$name: fails fast, no mount left" "exit $rc after ${secs}s but $MNT is mounted" "$out"
		ftpfs_umount "$MNT" "$FTPFS_REAL" >/dev/null 2>&1
	elif [ "$rc" -eq 0 ] || [ "$rc" -ge 124 ]; then
		not_ok "$name: fails fast, no mount left" "exit $rc after ${secs}s" "$out"
	elif awk -v s="$secs" -v l="$limit" 'BEGIN { exit !(s > l) }'; then
		not_ok "$name: fails fast, no mount left" "took ${secs}s (limit ${limit}s), exit $rc" "$out"
	elif [ -n "${FAIL_SAYS:-}" ] && ! printf '%s' "$out" | grep -qE -- "$FAIL_SAYS"; then
		not_ok "$name: fails saying /$FAIL_SAYS/" "exit $rc after ${secs}s" "$out"
	else
		ok "$name: fails fast, no mount left (exit $rc, ${secs}s: $(printf '%s' "$out" | head -n1 | cut -c1-100))"
	fi
}

# Mounted at $MNT (cold caches, default connections): 8 readers, a writer
# (into a folder of its own, removed afterwards), ls -lR tree/ and one
# folder of tree/ read file by file, all started together.
suite_all_at_once() {
	local P="[$cur]" d=$SRV_TMP/$cur-all i files exp act w=par-$cur
	local jobs=() seq=tree/d07
	mkdir -p "$d"
	files=(big-20M.bin rand-1M7.bin rand-4096.bin rand-4095.bin
		big-20M.bin rand-1M7.bin rand-1.bin plain.txt)
	if ! t mkdir "$MNT/$w" 2>"$d/mkdir.err"; then
		not_ok "$P all at once: mkdir $w" "$(cat "$d/mkdir.err")"
		return
	fi
	for i in "${!files[@]}"; do
		(t sha256sum 2>"$d/$i.err" >"$d/$i" <"$MNT/${files[$i]}"
		 echo $? >"$d/$i.rc") &
		jobs+=($!)
	done
	(t cp "$DATA/rand-1M7.bin" "$MNT/$w/copy.bin" 2>"$d/w.err"
	 echo $? >"$d/w.rc") &
	jobs+=($!)
	(t ls -lR "$MNT/tree" 2>"$d/ls.err" | grep -c '^-' >"$d/ls"
	 echo $? >"$d/ls.rc") &
	jobs+=($!)
	(for f in "$MNT/$seq"/f*; do t cat "$f" || exit; done >"$d/seq" 2>"$d/seq.err"
	 echo $? >"$d/seq.rc") &
	jobs+=($!)
	wait "${jobs[@]}"
	exp=""
	act=""
	for i in "${!files[@]}"; do
		exp+="${files[$i]} 0 $(sha256sum <"$DATA/${files[$i]}")"$'\n'
		act+="${files[$i]} $(cat "$d/$i.rc") $(cat "$d/$i")"$'\n'
	done
	exp+="writer 0 $(sha256sum <"$DATA/rand-1M7.bin")"$'\n'
	act+="writer $(cat "$d/w.rc") $(sha256sum <"$DATA/$w/copy.bin" 2>&1)"$'\n'
	exp+="ls -lR 0 $((FIXTURE_TREE_DIRS * FIXTURE_TREE_FILES))"$'\n'
	act+="ls -lR $(cat "$d/ls.rc") $(cat "$d/ls")"$'\n'
	exp+="$seq/f* 0 $(cat "$DATA/$seq"/f* | sha256sum)"
	act+="$seq/f* $(cat "$d/seq.rc") $(sha256sum <"$d/seq")"
	check_eq "$P all at once: 8 readers, a writer, ls -lR, $seq read file by file" \
		"$exp" "$act"
	for i in "${!files[@]}" w ls seq; do
		[ ! -s "$d/$i.err" ] || note "$P all at once: $i: $(head -n 3 "$d/$i.err")"
	done
	check "$P all at once: rm -r $w" rm -r "$MNT/$w"
}

# With -o connections=1,cache_timeout=1 mounted at $MNT.
suite_one_connection() {
	local P="[$cur]" d=$SRV_TMP/$cur-one i f files rc exp act
	mkdir -p "$d"
	files=(big-20M.bin rand-1M7.bin big-20M.bin)
	local jobs=()
	for i in 0 1 2; do
		(t sha256sum 2>"$d/$i.err" >"$d/$i" <"$MNT/${files[$i]}"
		 echo $? >"$d/$i.rc") &
		jobs+=($!)
	done
	(t ls -lR "$MNT/tree" 2>"$d/ls.err" | grep -c '^-' >"$d/ls"
	 echo $? >"$d/ls.rc") &
	jobs+=($!)
	wait "${jobs[@]}"
	act=""
	exp=""
	for i in 0 1 2; do
		exp+="${files[$i]} 0 $(sha256sum <"$DATA/${files[$i]}")"$'\n'
		act+="${files[$i]} $(cat "$d/$i.rc") $(cat "$d/$i")"$'\n'
	done
	exp+="ls -lR $((FIXTURE_TREE_DIRS * FIXTURE_TREE_FILES))"
	act+="ls -lR $(cat "$d/ls")"
	check_eq "$P connections=1: 3 readers and ls -lR at once" "$exp" "$act"

	# Changes on the server's disk, seen through the mount.
	f=empty-dir/new-$cur.txt
	t ls "$MNT/empty-dir" >/dev/null 2>&1 # cache the empty listing
	printf 'first version\n' >"$DATA/$f"
	chown "$SRV_USER": "$DATA/$f"
	sleep 2.5
	check_eq "$P cache_timeout=1: a file created on the server shows up" \
		"new-$cur.txt" "$(lsa "$MNT/empty-dir" 2>&1)"
	check_eq "$P cache_timeout=1: its content" "first version" "$(t cat "$MNT/$f" 2>&1)"
	printf 'second, longer version of the file\n' >"$DATA/$f"
	touch -d '+2 minutes' "$DATA/$f" # a different mtime even for LIST
	sleep 2.5
	check_eq "$P cache_timeout=1: a file changed on the server is read anew" \
		"second, longer version of the file" "$(t cat "$MNT/$f" 2>&1)"
	rm -f "$DATA/$f"
	sleep 2.5
	enoent "$P cache_timeout=1: a file deleted on the server: stat" stat "$MNT/$f"
	check_eq "$P cache_timeout=1: ... and gone from the listing" "" "$(lsa "$MNT/empty-dir" 2>&1)"
}

# Checks over the mount at $MNT of server $cur (mounted from $DATA).
suite_mounted() {
	local P="[$cur]" f d exp act out rc i pids tol n

	# --- the password in the URL is scrubbed from the process's argv
	pids=$(srv_tagged_pids "$FTPFS_REAL")
	if [ -z "$pids" ]; then
		not_ok "$P password scrubbed from /proc/PID/cmdline" \
			"no running ftpfs process of this run found"
	else
		out=""
		for i in $pids; do
			if tr '\0' ' ' <"/proc/$i/cmdline" | grep -qF -- "$SRV_PASS"; then
				out="$out pid $i"
			fi
		done
		if [ -z "$out" ]; then
			ok "$P password scrubbed from /proc/PID/cmdline (pid $(echo $pids))"
		else
			not_ok "$P password scrubbed from /proc/PID/cmdline" \
				"the password is in the command line of$out"
		fi
	fi

	# --- the root and the directories list the disk's names exactly
	check_eq "$P mount root is a directory" directory "$(t stat -c %F "$MNT" 2>&1)"
	exp=$(lsa "$DATA")
	if drops_dangling; then
		exp=$(printf '%s\n' "$exp" | grep -vx dangling)
	fi
	check_eq "$P ls -A / (spaces, unicode, dashes, dotfiles, links)" \
		"$exp" "$(lsa "$MNT" 2>&1)"
	for d in 'dir with space' .config .config/dir -a 'dir 日本' a a/b a/b/c \
		empty-dir tree/d07; do
		check_eq "$P ls -A '$d'" "$(lsa "$DATA/$d")" "$(lsa "$MNT/$d" 2>&1)"
	done

	# --- types of all top-level entries (links: see link checks)
	exp=""
	act=""
	for f in "$DATA"/* "$DATA"/.[!.]*; do
		f=${f##*/}
		[ "$(ftype "$DATA/$f")" = link ] && continue
		exp+="$f: $(ftype "$DATA/$f")"$'\n'
		act+="$f: $(ftype "$MNT/$f")"$'\n'
	done
	check_eq "$P file types of top-level entries" "$exp" "$act"

	# --- permission bits of files and dirs (links excluded)
	exp=""
	act=""
	for f in "$DATA"/* "$DATA"/.[!.]* "$DATA"/a/b/c/deep.txt; do
		f=${f#"$DATA"/}
		[ "$(ftype "$DATA/$f")" = link ] && continue
		exp+="$f $(stat -c %a "$DATA/$f")"$'\n'
		act+="$f $(t stat -c %a "$MNT/$f" 2>&1)"$'\n'
	done
	check_eq "$P permission bits match the server's (0600, 0644, 0700, 0755)" "$exp" "$act"
	check_eq "$P default idmap=user: files belong to the mounting user" \
		"$(id -u):$(id -g)" "$(t stat -c %u:%g "$MNT/plain.txt" 2>&1)"

	suite_links

	# --- sizes and mtimes of files and dirs (links excluded)
	exp=""
	act=""
	local tmex="" tmac=""
	while IFS= read -r -d '' f; do
		f=${f#./}
		if [ -f "$DATA/$f" ]; then
			exp+="$f $(stat -c %s "$DATA/$f")"$'\n'
			act+="$f $(t stat -c %s "$MNT/$f" 2>&1)"$'\n'
		fi
		local dm mm
		dm=$(stat -c %Y "$DATA/$f")
		mm=$(t stat -c %Y "$MNT/$f" 2>/dev/null || echo missing)
		tol=$(mtime_tol "$f")
		if [ "$mm" = missing ] || [ $((mm > dm ? mm - dm : dm - mm)) -gt "$tol" ]; then
			tmex+="$f $(date -u -d "@$dm" '+%F %T') (±${tol}s)"$'\n'
			if [ "$mm" = missing ]; then
				tmac+="$f stat failed"$'\n'
			else
				tmac+="$f $(date -u -d "@$mm" '+%F %T')"$'\n'
			fi
		fi
	done < <(cd "$DATA" && find . -mindepth 1 -not -type l -not -path './tree/*' -print0 | sort -z)
	check_eq "$P sizes of all regular files (outside tree/)" "$exp" "$act"
	check_eq "$P mtimes of files and dirs (UTC; exact for MLSD, LIST minute/day)" \
		"$tmex" "$tmac"

	# --- content: sha256 of every regular file outside tree/, per file
	while IFS= read -r -d '' f; do
		f=${f#./}
		exp=$(sha256sum <"$DATA/$f")
		act=$(t sha256sum 2>&1 <"$MNT/$f")
		check_eq "$P sha256 '$f' ($(stat -c %s "$DATA/$f") bytes)" "$exp" "$act"
	done < <(cd "$DATA" && find . -type f -not -path './tree/*' -print0 | sort -z)
	# ... and two directories of the 2,000-file tree, as one check each
	for d in tree/d00 tree/d19; do
		exp=$(cd "$DATA/$d" && sha256sum -- * 2>&1)
		act=$(cd "$MNT/$d" && t sha256sum -- * 2>&1)
		check_eq "$P sha256 of the $FIXTURE_TREE_FILES files in $d" "$exp" "$act"
	done

	# --- reads at offsets: dd skip=, head -c, tail -c
	local off len bad
	for f in rand-1M7.bin big-20M.bin; do
		local size
		size=$(stat -c %s "$DATA/$f")
		bad=""
		for off in 0 1 4095 4096 65535 131072 1048575 $((size / 2 + 3)) \
			$((size - 4097)) $((size - 1)) "$size" $((size + 1)) $((size + 1000000)); do
			for len in 1 4097 200000; do
				exp=$(ddr "$DATA/$f" "$off" "$len" | sha256sum)
				act=$(ddr "$MNT/$f" "$off" "$len" 2>&1 | sha256sum)
				if [ "$exp" != "$act" ]; then
					bad+="skip=$off count=$len: expected $(ddr "$DATA/$f" "$off" "$len" | wc -c) bytes, got $(ddr "$MNT/$f" "$off" "$len" 2>/dev/null | wc -c) (or other bytes): $(ddr "$MNT/$f" "$off" "$len" 2>&1 >/dev/null | head -n1)"$'\n'
				fi
			done
		done
		if [ -z "$bad" ]; then
			ok "$P dd skip= reads of $f at 13 offsets x 3 lengths (incl. last byte, EOF, past EOF)"
		else
			not_ok "$P dd skip= reads of $f at 13 offsets x 3 lengths" "$bad"
		fi
	done
	# Backwards: the last MiB first, then the start (a non-sequential pattern).
	exp=$( (dd if="$DATA/big-20M.bin" bs=1M skip=19 status=none
		dd if="$DATA/big-20M.bin" bs=1M count=1 status=none) | sha256sum)
	act=$( (t dd if="$MNT/big-20M.bin" bs=1M skip=19 status=none
		t dd if="$MNT/big-20M.bin" bs=1M count=1 status=none) 2>&1 | sha256sum)
	check_eq "$P read the last MiB, then the first (backwards seek)" "$exp" "$act"
	check_eq "$P head -c 4097 rand-1M7.bin" \
		"$(head -c 4097 "$DATA/rand-1M7.bin" | sha256sum)" \
		"$(t head -c 4097 "$MNT/rand-1M7.bin" 2>&1 | sha256sum)"
	check_eq "$P tail -c 100 big-20M.bin" \
		"$(tail -c 100 "$DATA/big-20M.bin" | sha256sum)" \
		"$(t tail -c 100 "$MNT/big-20M.bin" 2>&1 | sha256sum)"
	check_eq "$P tail -c 1 rand-1.bin" \
		"$(tail -c 1 "$DATA/rand-1.bin" | od -An -tx1)" \
		"$(t tail -c 1 "$MNT/rand-1.bin" 2>&1 | od -An -tx1)"
	check_eq "$P cat empty.txt (0 bytes)" "0" "$(t cat "$MNT/empty.txt" 2>&1 | wc -c)"

	# --- grep -r finds the needle in exactly the right files
	exp=$( (cd "$DATA" && grep -rl --exclude-dir=tree "$FIXTURE_NEEDLE" . | LC_ALL=C sort))
	# Where links are shown as what they point to, grep sees them too.
	[ "$(ftype "$MNT/link-to-file")" = file ] && exp+=$'\n'./link-to-file
	[ "$(ftype "$MNT/link-to-dir")" = dir ] && exp+=$'\n'./link-to-dir/needle.txt
	exp=$(printf '%s\n' "$exp" | LC_ALL=C sort)
	check_eq "$P grep -rl finds the needle in the right files" "$exp" \
		"$(cd "$MNT" && t grep -rl --exclude-dir=tree "$FIXTURE_NEEDLE" . 2>&1 | LC_ALL=C sort)"

	# --- find equals the server's tree
	exp=$(cd "$DATA" && find . | LC_ALL=C sort)
	if drops_dangling; then
		exp=$(printf '%s\n' "$exp" | grep -vx ./dangling)
	fi
	act=$(cd "$MNT" && t find . 2>&1 | grep -v '^\./link-to-dir/' | LC_ALL=C sort)
	check_eq "$P find . lists the server's tree ($(printf '%s\n' "$exp" | wc -l) entries)" \
		"$exp" "$act"

	# --- ls -lR of the 2,000-file tree, and how many listings it cost
	local mark t0 secs
	mark=$(srv_log_lines "$cur")
	t0=$EPOCHREALTIME
	n=$(t ls -lR "$MNT/tree" 2>&1 | grep -c '^-')
	secs=$(srv_since "$t0")
	check_eq "$P ls -lR tree/ shows all $((FIXTURE_TREE_DIRS * FIXTURE_TREE_FILES)) files" \
		"$((FIXTURE_TREE_DIRS * FIXTURE_TREE_FILES))" "$n"
	note "$P ls -lR tree/ (21 dirs, listed before by find): ${secs}s, $(srv_count "$cur" "$mark") listing commands, $(srv_count "$cur" "$mark" MLST SIZE MDTM) MLST/SIZE/MDTM"

	# --- du, df
	local want_k
	want_k=$(cd "$DATA" && find . -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%d", s / 1024 * 0.9 }')
	out=$(t du -sk "$MNT" 2>&1)
	rc=$?
	if [ "$rc" -eq 0 ] && [ "${out%%[^0-9]*}" -ge "$want_k" ] 2>/dev/null; then
		ok "$P du -sk (${out%%[^0-9]*} KiB, files hold $((want_k * 10 / 9)) KiB)"
	else
		not_ok "$P du -sk >= 90% of the files' bytes ($want_k KiB)" "exit $rc" "$out"
	fi
	out=$(t df -P "$MNT" 2>&1)
	rc=$?
	if [ "$rc" -eq 0 ] && printf '%s\n' "$out" | grep -q " $MNT\$"; then
		ok "$P df -P on the mountpoint"
	else
		not_ok "$P df -P on the mountpoint" "exit $rc" "$out"
	fi

	# --- errors
	enoent "$P stat of a missing file" stat "$MNT/no-such-file"
	enoent "$P ls of a missing dir" ls "$MNT/no-such-dir/"
	enoent "$P cat of a missing file in a subdir" cat "$MNT/a/b/no-such"
	out=$(t stat "$MNT/plain.txt/x" 2>&1)
	if printf '%s' "$out" | grep -q 'Not a directory'; then
		ok "$P stat file/x gives ENOTDIR"
	else
		not_ok "$P stat file/x gives ENOTDIR" "$out"
	fi
	out=$(t cat "$MNT/empty-dir" 2>&1)
	if printf '%s' "$out" | grep -q 'Is a directory'; then
		ok "$P cat of a dir gives EISDIR"
	else
		not_ok "$P cat of a dir gives EISDIR" "$out"
	fi
}

# ddr FILE OFFSET LENGTH: LENGTH bytes from OFFSET (fewer at EOF).
ddr() {
	t dd if="$1" bs=65536 iflag=skip_bytes,count_bytes skip="$2" count="$3" status=none
}

enoent() { # NAME CMD...
	local name=$1 out rc=0
	shift
	out=$(t "$@" 2>&1) || rc=$?
	if [ "$rc" -ne 0 ] && printf '%s' "$out" | grep -q 'No such file or directory'; then
		ok "$name gives ENOENT"
	else
		not_ok "$name gives ENOENT" "exit $rc: $*" "$out"
	fi
}

# Symlinks: what the server's listing can show.
#   vsftpd: LIST shows "name -> target": must be symlinks with the right target.
#   proftpd, pureftpd: MLSD marks links but gives no target: either a symlink
#     with the right target, or the link followed (same content as the target).
#     ProFTPD's MLSD omits dangling links.
#   pyftpdlib: MLSD follows links, so they are the targets; dangling is absent.
suite_links() {
	local P="[$cur]" l tgt kind want
	for l in link-to-file link-to-dir dangling; do
		tgt=$(readlink "$DATA/$l")
		kind=$(ftype "$MNT/$l")
		case $cur in
		vsftpd | sshd | proftpd_sftp) want='link' ;;
		pyftpdlib)
			case $l in
			link-to-file) want='file' ;;
			link-to-dir) want='dir' ;;
			dangling) want='missing' ;;
			esac
			;;
		*) want='any' ;;
		esac
		if [ "$kind" = link ]; then
			if [ "$want" != link ] && [ "$want" != any ]; then
				not_ok "$P $l is shown as a $want" "it is a symlink to '$(readlink "$MNT/$l")'"
			elif [ "$(t readlink "$MNT/$l")" = "$tgt" ]; then
				ok "$P $l is a symlink, readlink = '$tgt'"
			elif [ "$cur" = proftpd_sftp ] &&
				[ "$(t readlink "$MNT/$l")" = "$DATA/$tgt" ]; then
				# mod_sftp's READLINK answers with the target
				# made absolute; ftpfs passes it on as it is.
				ok "$P $l is a symlink, readlink = '$DATA/$tgt' (mod_sftp makes targets absolute)"
			else
				not_ok "$P $l: readlink" "expected '$tgt'" "actual   '$(t readlink "$MNT/$l" 2>&1)'"
			fi
			continue
		fi
		if [ "$want" = link ]; then
			not_ok "$P $l is a symlink to '$tgt'" "it is: $kind ($(t stat -c %F "$MNT/$l" 2>&1))"
			continue
		fi
		# Shown as what it points to (followed) or absent.
		case $l:$kind in
		link-to-file:file)
			check_eq "$P $l shown as the file it points to (same content)" \
				"$(sha256sum <"$DATA/$tgt")" "$(t sha256sum 2>&1 <"$MNT/$l")"
			;;
		link-to-dir:dir)
			check_eq "$P $l shown as the dir it points to (same names)" \
				"$(lsa "$DATA/$tgt")" "$(lsa "$MNT/$l" 2>&1)"
			;;
		dangling:missing)
			ok "$P $l (dangling) is not shown"
			;;
		*)
			not_ok "$P $l: a symlink, the followed target, or (dangling) absent" \
				"it is: $kind ($(t stat -c %F "$MNT/$l" 2>&1))"
			;;
		esac
	done
	note "[$cur] links seen as: link-to-file=$(ftype "$MNT/link-to-file") link-to-dir=$(ftype "$MNT/link-to-dir") dangling=$(ftype "$MNT/dangling")"
}

# --- server-independent failures -------------------------------------------------

# Issue 8: on a fresh mount, what a stat of a link's own path reports (MLST
# on the servers that have it) must be what the listing of its folder shows
# later: the same type and size, readlink giving the target, and ls -la
# without "l?????????" (the kernel answers EIO when the type of a name
# changes).  ProFTPD's MLST types a link by its target, its MLSD does not.
suite_links_by_path() {
	local P="[$cur]" l tgt before after out rc
	local -A seen=()

	for l in link-to-file link-to-dir dangling; do
		tgt=$(readlink "$DATA/$l")
		# mod_sftp's READLINK makes targets absolute (see suite_links)
		[ "$cur" != proftpd_sftp ] || tgt=$DATA/$tgt
		before=$(t stat -c '%F %s' -- "$MNT/$l" 2>/dev/null) || before=missing
		seen[$l]=$before
		case $before in
		'symbolic link'*)
			check_eq "$P $l by path: readlink before any listing" \
				"$tgt" "$(t readlink -- "$MNT/$l" 2>&1)" ;;
		esac
		if [ "$l" = link-to-file ] && [ "$before" != missing ]; then
			check_eq "$P $l by path: content before any listing" \
				"$(cat "$DATA/plain.txt")" "$(t cat -- "$MNT/$l" 2>&1)"
		fi
	done
	rc=0
	out=$(t ls -la -- "$MNT" 2>&1) || rc=$?
	if [ "$rc" -eq 0 ] && ! grep -qE '^.\?{9}' <<<"$out"; then
		ok "$P ls -la after stat by path: no '?' entries, exit 0"
	else
		not_ok "$P ls -la after stat by path: no '?' entries, exit 0" \
			"exit $rc" "$(grep -E '^.\?{9}|cannot|error' <<<"$out")"
	fi
	# What the listing showed of each name, in stat's words.
	for l in link-to-file link-to-dir dangling; do
		after=$(awk -v n="$l" '{
			for (i = 2; i <= NF; i++) if ($i == n) break
			if (i > NF) next
			t = substr($1, 1, 1)
			t = t == "l" ? "symbolic link" : t == "d" ? "directory" : \
			    t == "-" ? "regular file" : t
			print t, ($1 ~ /\?/ ? "?" : $5)
		}' <<<"$out")
		check_eq "$P $l: stat by path before listing = ls -la (type, size)" \
			"${seen[$l]}" "${after:-missing}"
	done
	note "[$cur] links by path: link-to-file=${seen[link-to-file]} link-to-dir=${seen[link-to-dir]} dangling=${seen[dangling]}"
}

suite_general() {
	cur=general
	local port
	port=$(srv_free_port)
	fail_fast "[any] unreachable 127.0.0.1:$port (nothing listening)" 10 \
		"ftp://$SRV_USER:x@127.0.0.1:$port/"
	fail_fast "[any] bad URL 'not-a-url'" 5 "not-a-url"
	fail_fast "[any] bad URL 'http://127.0.0.1:$port/'" 5 "http://127.0.0.1:$port/"
	fail_fast "[any] bad URL 'ftp://' (no host)" 5 "ftp://"
	fail_fast "[any] bad URL 'ftp://127.0.0.1:99999/' (port)" 5 "ftp://127.0.0.1:99999/"
	fail_fast "[any] bad URL 'ftp://[::1' (bracket)" 5 "ftp://[::1"
	fail_fast "[any] bad option -o no_such_option" 5 "ftp://127.0.0.1:$port/" \
		-o no_such_option
	local saved=$MNT
	MNT=$SRV_TMP/no-such-mountpoint/x
	local out rc=0
	out=$(FTPFS_TEST_TAG=$SRV_TMP timeout -k 5 20 "$FTPFS" "ftp://127.0.0.1:$port/" "$MNT" 2>&1) || rc=$?
	if [ "$rc" -ne 0 ] && [ "$rc" -lt 124 ]; then
		ok "[any] missing mountpoint: non-zero exit ($rc)"
	else
		not_ok "[any] missing mountpoint: non-zero exit" "exit $rc" "$out"
	fi
	MNT=$saved
	rmdir "$SRV_TMP/no-such-mountpoint" 2>/dev/null
}

# --- main ---------------------------------------------------------------------------

# A hung mount must not hang the suite: after SUITE_LIMIT seconds per
# server, abort every FUSE connection of this run (pending and later
# operations then fail with ENOTCONN, and the checks report failures).
SUITE_LIMIT=${SUITE_LIMIT:-600}
watchdog() { # SECONDS FLAGFILE
	local i m
	for ((i = 0; i < $1; i++)); do
		[ -e "$2" ] || exit 0
		sleep 1
	done
	note "WATCHDOG: the suite took more than $1 s; aborting this run's FUSE connections"
	for m in $(awk -v p="$SRV_TMP/" 'index($5, p) == 1 { print $3 }' /proc/self/mountinfo); do
		echo 1 2>/dev/null >"/sys/fs/fuse/connections/${m#*:}/abort"
	done
}

t_start=$EPOCHREALTIME
suite_general
for s in $SERVERS; do
	t_srv=$EPOCHREALTIME
	touch "$SRV_TMP/watchdog"
	watchdog "$SUITE_LIMIT" "$SRV_TMP/watchdog" &
	wd_pid=$!
	suite_server "$s"
	rm -f "$SRV_TMP/watchdog"
	wait "$wd_pid" 2>/dev/null
	note "[$s] done in $(srv_since "$t_srv")s"
done

# Sanitizer reports written by an ASan/UBSan build.
if compgen -G "$SRV_TMP/asan/*" >/dev/null; then
	not_ok "no ASan/UBSan/TSan reports" "$(head -n 40 "$SRV_TMP"/asan/*)"
else
	ok "no ASan/UBSan/TSan reports"
fi

# Nothing of ours may be left mounted or running.
left=$(awk -v p="$SRV_TMP/" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo)
if [ -z "$left" ]; then ok "no mounts left"; else not_ok "no mounts left" "$left"; fi

note "total $(srv_since "$t_start")s"
printf '%d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
