#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Shared-writer integration suite (issue 8, "never lose a byte when others
# write too"): ftpfs mounts of real FTP servers on 127.0.0.1 while other
# clients write the same files: the server's folder written directly (it is
# on local disk) and a second ftpfs mount of the same server.  Run as root.
#
#   FTPFS=build/ftpfs            binary under test (default build/ftpfs)
#   SERVERS="vsftpd proftpd pureftpd pyftpdlib"   servers to run against
#   FTPFS_OPTS="-o ..."          extra mount arguments for every mount
#   MW_OPS=300 MW_SEED=N         tests/integration/multiwriter.py per server
#                                (MW_OPS=0 skips it; the seed is printed)
#   SHARED_ITEMS="1 2 3 4 5 6 7" which of the checks below to run
#   SRV_KEEP=1                   keep the temp dir (logs, trees) afterwards
#
# Per server:
#   1. append after another client appended (the server's folder, then a
#      second mount): abc + the other line + ours, in that order; 1b. >> to
#      a file another client made after the mount listed its folder; 1c.
#      files another client removed after the mount listed them: cat says
#      ENOENT (and ls stops showing them), "> f" and dd of=f make them again
#   2. four processes x 20 appends through one mount: 80 intact lines
#   3. a symlink stat'ed, readlink'ed, read on a fresh mount before any
#      listing agrees with the listing made afterwards
#   4. files unlinked while open (pjdfstest unlink/14): pread, fstat, close
#      work; the name is not uploaded again; the mount survives; the name
#      created again while its old file's removal is under way
#      (open(O_CREAT) gave ENOENT, or the new file was deleted); gone
#      from the server when unlink returns, so that a file another client
#      makes under the name next stays; a failed rename over an open file
#      leaves it under its name
#   5. a create whose STOR is refused sends one STOR and leaves no file;
#      rename while a spooled writer writes; more than 16 writers
#   6. a spooled (O_RDWR) write to a file changed on the server meanwhile:
#      close gives EIO, the other client's bytes stay, ours stay in the spool;
#      6b. changed after the mount's stat but before the open: their tail kept
#   7. multiwriter.py: two mounts + direct writes, every byte explained
# ProFTPD refuses APPE here (AllowStoreRestart is off by default), so ftpfs
# appends through a local copy: there an append may also fail (non-zero
# exit) as long as nobody's data is lost.
#
# Prints "ok - NAME" or "FAIL - NAME" per check, details indented with "#",
# finally "N passed, N failed"; exits non-zero on any failure.  Both mounts
# are unmounted and the servers stopped on exit, also after a failure or ^C.
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
read -r -a EXTRA_OPTS <<<"${FTPFS_OPTS:-}"
T=${FTPFS_TEST_TIMEOUT:-120} # seconds for one command through the mount
MW_OPS=${MW_OPS:-300}
MW_SEED=${MW_SEED:-$((RANDOM * 32768 + RANDOM))}
SHARED_ITEMS=${SHARED_ITEMS:-1 2 3 4 5 6 7}
FTPFS_REAL=$(readlink -f "$FTPFS" 2>/dev/null || printf '%s' "$FTPFS")
PY=/usr/bin/python3
OPS=$here/shared_ops.py
MWX=$here/multiwriter.py

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

item() { case " $SHARED_ITEMS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

check_eq() { # NAME EXPECTED ACTUAL
	if [ "$2" == "$3" ]; then
		ok "$1"
	else
		not_ok "$1" "$(diff <(printf '%s\n' "$2") <(printf '%s\n' "$3") |
			sed 's/^</expected:/; s/^>/actual:  /' | grep -v '^---' | head -n 30)"
	fi
}

# A file's bytes, shown (for failure details).
show() { # FILE
	if [ -e "$1" ]; then
		printf '%s: %s bytes: %s' "${1#"$SRV_TMP"/}" "$(stat -c %s "$1")" \
			"$(head -c 300 "$1" | od -An -c | tr -s ' ' | tr '\n' ' ' | cut -c1-300)"
	else
		printf '%s: no such file' "${1#"$SRV_TMP"/}"
	fi
}

srv_init
umask 022
MNT1=$SRV_TMP/mnt1
MNT2=$SRV_TMP/mnt2
MNT3=$SRV_TMP/mnt3 # a short cache_timeout (5g)
# shared_ops.py and multiwriter.py give what they make on the disk to the
# FTP user.
export SRV_UID SRV_GID

# --- mounting: two mounts of one server ---------------------------------------
mount_at() { # MNT SPOOL
	local log=$SRV_TMP/$cur-$(basename "$1").log
	mkdir -p "$2"
	if FTPFS_MOUNT_LOG=$log ftpfs_mount "$FTPFS" "$1" "$(srv_url "$cur")" \
		-f -o "spool_dir=$2" "${EXTRA_OPTS[@]}"; then
		return 0
	fi
	not_ok "[$cur] mount $(basename "$1")" "ftpfs exit status $FTPFS_MOUNT_RC" \
		"$(tail -n 20 "$log")"
	srv_unmount "$1"
	return 1
}

# The mount answers (a crashed ftpfs leaves "Transport endpoint is not
# connected"; a stat of the root may still be answered by the kernel's
# cache, a listing is not).
alive() { srv_is_mounted "$1" && timeout 10 ls -a "$1" >/dev/null 2>&1; }

# Before each check: both mounts answer, or are mounted again (the check
# that killed one has already failed).
ensure_mounts() {
	local m s
	for m in "$MNT1" "$MNT2"; do
		alive "$m" && continue
		s=$SPOOL1
		[ "$m" = "$MNT1" ] || s=$SPOOL2
		note "[$cur] $(basename "$m") is dead (a previous check killed it); mounting it again"
		srv_unmount "$m"
		wait_daemons "$m"
		mount_at "$m" "$s" || return 1
	done
}

# Wait until no ftpfs of this run serves MNT any more (the daemons of
# other mounts stay).
wait_daemons() { # MNT...
	local i p m busy
	for ((i = 0; i < 150; i++)); do
		busy=0
		for p in $(srv_tagged_pids "$FTPFS_REAL"); do
			for m in "$@"; do
				if tr '\0' '\n' <"/proc/$p/cmdline" 2>/dev/null | grep -qxF "$m"; then
					busy=1
				fi
			done
		done
		[ "$busy" = 1 ] || return 0
		sleep 0.1
	done
	return 1
}

umount_all() {
	local m rc=0
	for m in "$@"; do
		if srv_is_mounted "$m"; then
			timeout 20 fusermount3 -u "$m" 2>/dev/null || { rc=1; srv_unmount "$m"; }
		fi
	done
	wait_daemons "$@" || rc=1
	return "$rc"
}

# --- the server's tree ---------------------------------------------------------
# data/big.bin and "data/odd names/link-to-big" -> ../big.bin (a relative
# link whose length, 10, is not the target's size).
build_tree() {
	rm -rf --one-file-system "$DATA"
	mkdir -p "$DATA/data/odd names" "$DATA/mw" "$DATA/a-disk" "$DATA/a-mount2" \
		"$DATA/neg" "$DATA/ro" "$DATA/gone"
	printf 'a\n' >"$DATA/gone/a.txt"
	head -c 5000 /dev/urandom >"$DATA/gone/b.bin"
	head -c 70000 /dev/urandom >"$DATA/gone/c.bin"
	head -c $((3 * 1048576 + 13)) /dev/urandom >"$DATA/data/big.bin"
	ln -s ../big.bin "$DATA/data/odd names/link-to-big"
	printf 'plain\n' >"$DATA/data/odd names/plain.txt"
	chown -hR "$SRV_USER": "$DATA"
	# The existing files of checks 4-6, made before the mounts list
	# anything (a mount does not see files added on the disk to a folder
	# it has listed until its cache expires, which is not a bug).
	"$PY" "$OPS" prepare "$DATA"
}

# --- 3. symlinks: stat/readlink/read by path before any listing --------------
# The listing's view, per server (what test_read.sh accepts):
#   vsftpd (LIST "name -> target"), proftpd, pureftpd (MLSD: a link; the
#   target from LIST): a symbolic link to ../big.bin;
#   pyftpdlib (MLSD follows links): a regular file with the target's bytes.
# Whatever the listing says, a single stat or readlink of the path on a
# fresh mount must say the same.
link_kind() { case $cur in pyftpdlib) echo file ;; *) echo link ;; esac; }

check_link() { # ORDER: readlink|stat|cat first, on a fresh mount
	local order=$1 P="[$cur] 3. symlink, $1 first on a fresh mount:"
	local L="$MNT1/data/odd names/link-to-big" want kind rl ty sz sum lsl rc=0 got=() c
	local big_sum
	big_sum=$(sha256sum <"$DATA/data/big.bin" | cut -c1-64)
	want=$(link_kind)
	mount_at "$MNT1" "$SPOOL1" || return
	case $order in
	readlink) set -- readlink stat cat ;;
	stat) set -- stat readlink cat ;;
	cat) set -- cat stat readlink ;;
	esac
	for c in "$@"; do
		case $c in
		readlink) rl=$(t readlink "$L" 2>&1) || rl="(exit $?) $rl" ;;
		stat) ty=$(t stat -c '%F' "$L" 2>&1) || ty="(exit $?) $ty"
			sz=$(t stat -L -c '%s' "$L" 2>&1) || sz="(exit $?) $sz" ;;
		cat) sum=$(t cat "$L" 2>/dev/null | sha256sum | cut -c1-64) ;;
		esac
	done
	lsl=$(t ls -la "$MNT1/data/odd names" 2>&1) || rc=$?
	if [ "$want" = link ]; then
		check_eq "$P readlink prints the target" "../big.bin" "$rl"
		check_eq "$P stat -c %F says symbolic link" "symbolic link" "$ty"
	else
		check_eq "$P readlink fails (listed as the target file)" "(exit 1) " "$rl"
		check_eq "$P stat -c %F says regular file (as its listing)" "regular file" "$ty"
	fi
	check_eq "$P stat -L size is the target's" "$(stat -c %s "$DATA/data/big.bin")" "$sz"
	check_eq "$P cat gives the target's bytes" "$big_sum" "$sum"
	local line
	line=$(printf '%s\n' "$lsl" | grep 'link-to-big')
	if [ "$rc" -eq 0 ] && ! printf '%s' "$line" | grep -q '?' &&
		{ { [ "$want" = link ] && [[ $line == l* ]] && [[ $line == *"link-to-big -> ../big.bin" ]]; } ||
			{ [ "$want" = file ] && [[ $line == -* ]]; }; }; then
		ok "$P ls -la afterwards shows the same ($want, no '?')"
	else
		not_ok "$P ls -la afterwards shows the same ($want, no '?')" "exit $rc" "$lsl"
	fi
	umount_all "$MNT1" || not_ok "[$cur] unmount after the symlink check"
}

# --- 1. append after another client appended ----------------------------------
# In a folder of its own (a-disk/, a-mount2/: made before mounting), so that
# the second mount lists it only when it first looks, after f exists.
append_ok() { # RC FILE EXPECTED: the append worked, or (proftpd) failed cleanly
	local rc=$1 f=$2 exp=$3 before=$4
	if [ "$rc" -eq 0 ] && printf '%s' "$exp" | cmp -s - "$f"; then
		return 0
	fi
	[ "$rc" -ne 0 ] && [ "$cur" = proftpd ] && printf '%s' "$before" | cmp -s - "$f"
}

check_append_other() { # disk | mount2
	local how=$1 rel=a-$1/f.txt P="[$cur] 1. append after another client appended ($1)"
	local out rc round exp other
	out=$(t bash -c 'echo abc > "$1" && cat "$1"' _ "$MNT1/$rel" 2>&1)
	if [ "$out" != abc ]; then
		not_ok "$P" "setup: echo abc > f; cat f gave: $out"
		return
	fi
	exp=$'abc\n'
	for round in 1 2; do
		other="other client line $round"
		if [ "$how" = disk ]; then
			printf '%s\n' "$other" >>"$DATA/$rel"
		else
			rc=0
			out=$(t bash -c 'echo "$2" >> "$1"' _ "$MNT2/$rel" "$other" 2>&1) || rc=$?
			if ! append_ok "$rc" "$DATA/$rel" "$exp$other"$'\n' "$exp"; then
				not_ok "$P, round $round: the second mount's echo >> f: exit 0 and the server has every line in order" \
					"exit $rc${out:+: $out}" "expected: $(printf '%s%s\n' "$exp" "$other" | od -An -c | tr -s ' ' | tr '\n' ' ')" \
					"$(show "$DATA/$rel")"
				return
			elif [ "$rc" -ne 0 ]; then
				ok "$P, round $round: the second mount's append failed (exit $rc: $out), nothing lost"
				return
			fi
		fi
		rc=0
		out=$(t bash -c 'echo "$2" >> "$1"' _ "$MNT1/$rel" "mine $round" 2>&1) || rc=$?
		if append_ok "$rc" "$DATA/$rel" "$exp$other"$'\n'"mine $round"$'\n' "$exp$other"$'\n'; then
			if [ "$rc" -eq 0 ]; then
				ok "$P, round $round: echo mine >> f: the server has every line in order"
				exp+="$other"$'\n'"mine $round"$'\n'
			else
				ok "$P, round $round: echo mine >> f failed (exit $rc: $out); the other client's data is intact"
				exp+="$other"$'\n'
			fi
		else
			not_ok "$P, round $round: echo mine >> f: exit 0 and the server has every line in order" \
				"exit $rc${out:+: $out}" "expected: $(printf '%s%s\nmine %s\n' "$exp" "$other" "$round" | od -An -c | tr -s ' ' | tr '\n' ' ')" \
				"$(show "$DATA/$rel")"
			return
		fi
	done
}

# 1b. The mount listed the folder before another client created the file:
# ">>" (open O_CREAT without O_TRUNC) must append to the server's file, not
# create an empty one over it.
check_append_unseen() {
	local P="[$cur] 1b. echo mine >> f, f made by another client after the mount listed its folder"
	local rc=0 out
	out=$(t ls -la "$MNT1/neg" 2>&1) || { not_ok "$P" "setup: ls neg: $out"; return; }
	printf 'theirs\n' >"$DATA/neg/f.txt"
	chown "$SRV_USER": "$DATA/neg/f.txt"
	out=$(t bash -c 'echo mine >> "$1"' _ "$MNT1/neg/f.txt" 2>&1) || rc=$?
	if append_ok "$rc" "$DATA/neg/f.txt" $'theirs\nmine\n' $'theirs\n'; then
		ok "$P: the other client's line is kept (exit $rc)"
	else
		not_ok "$P: the other client's line is kept" "exit $rc${out:+: $out}" "$(show "$DATA/neg/f.txt")"
	fi
}

# 1c. The mount listed a folder; then another client removed its files.
# The mount's listing is out of date, and what goes to the server must say
# so: reading the name fails with ENOENT, and writing it makes a new file
# ("> f" and dd of=f, which open without O_CREAT when the kernel still has
# the name: the open finds the file gone and the kernel looks it up again).
check_gone() {
	local P="[$cur] 1c. files another client removed while the mount still had them"
	local rc=0 out sum
	out=$(t ls -la "$MNT1/gone" 2>&1) || { not_ok "$P" "setup: ls gone: $out"; return; }
	t stat "$MNT1/gone/a.txt" "$MNT1/gone/b.bin" "$MNT1/gone/c.bin" >/dev/null 2>&1
	rm -f "$DATA/gone/a.txt" "$DATA/gone/b.bin" "$DATA/gone/c.bin"
	out=$(t cat "$MNT1/gone/a.txt" 2>&1) || rc=$?
	if [ "$rc" -ne 0 ] && [[ $out == *"No such file or directory"* ]]; then
		ok "$P: cat f says No such file or directory"
	else
		not_ok "$P: cat f says No such file or directory" "exit $rc: $out"
	fi
	out=$(t ls "$MNT1/gone" 2>&1)
	if [[ $out != *a.txt* ]]; then
		ok "$P: after the failed cat, ls no longer shows f"
	else
		not_ok "$P: after the failed cat, ls no longer shows f" "$out"
	fi
	rc=0
	out=$(t bash -c 'echo mine > "$1"' _ "$MNT1/gone/b.bin" 2>&1) || rc=$?
	if [ "$rc" -eq 0 ] && [ "$(cat "$DATA/gone/b.bin" 2>&1)" = mine ]; then
		ok "$P: echo mine > f makes it again"
	else
		not_ok "$P: echo mine > f makes it again" "exit $rc${out:+: $out}" "$(show "$DATA/gone/b.bin")"
	fi
	rc=0
	out=$(t dd if=/dev/zero of="$MNT1/gone/c.bin" bs=1M count=4 2>&1) || rc=$?
	sum=$(sha256sum <"$DATA/gone/c.bin" 2>/dev/null | cut -c1-64)
	if [ "$rc" -eq 0 ] && [ "$sum" = "$(head -c 4194304 /dev/zero | sha256sum | cut -c1-64)" ]; then
		ok "$P: dd of=f (4 MiB) makes it again, whole"
	else
		not_ok "$P: dd of=f (4 MiB) makes it again, whole" "exit $rc: $out" "$(show "$DATA/gone/c.bin")"
	fi
}

# --- 2. four processes appending to one file ------------------------------------
check_parallel_appends() {
	local P="[$cur] 2. 4 processes x 20 appends through one mount" p out rc pids=()
	rm -f "$DATA/par.txt" "$SRV_TMP"/par-*.rc
	if ! t bash -c ': > "$1"' _ "$MNT1/par.txt"; then
		not_ok "$P" "setup: : > par.txt failed"
		return
	fi
	for p in 0 1 2 3; do
		timeout -k 5 "$T" bash -c '
			for i in $(seq -w 1 20); do
				rc=0
				echo "LINE-$1-$i" >> "$2" 2>/dev/null || rc=$?
				echo "$1 $i $rc"
			done' _ "$p" "$MNT1/par.txt" >"$SRV_TMP/par-$p.rc" &
		pids+=($!)
	done
	wait "${pids[@]}"
	rc=0
	out=$("$PY" - "$DATA/par.txt" "$cur" "$SRV_TMP"/par-*.rc <<'EOF'
import re, sys
path, cur, rcs = sys.argv[1], sys.argv[2], sys.argv[3:]
try:
    lines = open(path, "rb").read().split(b"\n")
except FileNotFoundError:
    lines = None
status = {}
for f in rcs:
    for ln in open(f):
        p, i, rc = ln.split()
        status["LINE-%s-%s" % (p, i)] = int(rc)
probs = []
if lines is None:
    print("the file is gone from the server")
    sys.exit(1)
if lines and lines[-1] == b"":
    lines.pop()
else:
    probs.append("the file does not end with a newline")
pos = {}
for n, ln in enumerate(lines):
    s = ln.decode(errors="replace")
    if not re.fullmatch(r"LINE-[0-3]-[0-2][0-9]", s):
        probs.append("line %d is not an intact line: %r" % (n + 1, s[:60]))
        continue
    pos.setdefault(s, []).append(n)
lost = failed = 0
for p in range(4):
    last = -1
    for i in range(1, 21):
        k = "LINE-%d-%02d" % (p, i)
        rc = status.get(k)
        at = pos.get(k, [])
        if rc is None:
            probs.append("%s: its echo never ran (timeout?)" % k)
            continue
        if rc != 0:
            failed += 1
            if cur != "proftpd":
                probs.append("%s: echo failed (exit %d)" % (k, rc))
        if len(at) > 1:
            probs.append("%s is on the server %d times" % (k, len(at)))
        if not at and rc == 0:
            lost += 1
            probs.append("%s: echo succeeded, the line is not on the server" % k)
        if at and rc == 0:
            if at[0] < last:
                probs.append("%s comes before the previous line of process %d" % (k, p))
            last = at[0]
print("%d lines on the server, %d echos succeeded and lost their line, %d echos failed" %
      (len(lines), lost, failed))
for x in probs[:25]:
    print(x)
sys.exit(1 if probs else 0)
EOF
) || rc=$?
	if [ "$rc" -eq 0 ]; then
		ok "$P: every line once and intact (${out%%$'\n'*})"
	else
		local alt=""
		[ "$cur" != proftpd ] || alt=" (or its echo failed)"
		not_ok "$P: every line once and intact$alt" "$out"
	fi
}

# --- 5a. a create whose STOR is refused -------------------------------------
check_refused_create() {
	local P="[$cur] 5a. create refused by the server (STOR 550)" mark rc=0 out n
	# The mount lists the folder (made before mounting) while it is
	# writable; then it becomes read-only on the server only, so that the
	# STOR is what fails.
	out=$(t ls -la "$MNT1/ro" 2>&1) || { not_ok "$P" "setup: ls ro: $out"; return; }
	chmod 555 "$DATA/ro"
	mark=$(srv_log_lines "$cur")
	out=$(t bash -c 'echo data > "$1"' _ "$MNT1/ro/new.txt" 2>&1) || rc=$?
	sleep 1.5 # the release of the file comes after close returns
	n=$(srv_count "$cur" "$mark" STOR APPE)
	if [ "$rc" -ne 0 ]; then
		ok "$P: the create fails (exit $rc: $out)"
	else
		not_ok "$P: the create fails" "exit 0"
	fi
	if [ -e "$DATA/ro/new.txt" ]; then
		not_ok "$P: no file appears" "$(show "$DATA/ro/new.txt")"
	else
		ok "$P: no file appears"
	fi
	check_eq "$P: exactly one STOR sent (the refused one)" 1 "$n"
	[ "$n" = 1 ] || srv_commands "$cur" "$mark" | sed 's/^/#     /' | head -n 12
	chmod 755 "$DATA/ro"
}

# --- the descriptor-level checks (shared_ops.py) ------------------------------------
ops() { # NAME CMD ARGS...
	local name=$1 out rc=0
	shift
	out=$(t "$PY" "$OPS" "$@" 2>&1) || rc=$?
	if [ "$rc" -eq 0 ]; then
		ok "$name"
	elif [ "$rc" -eq 2 ]; then
		not_ok "$name (could not be set up)" "$out"
	else
		not_ok "$name" "$(printf '%s\n' "$out" | grep -v '^[^p].*: ok' | head -n 30)"
	fi
}

# --- the per-server suite -----------------------------------------------------
suite_server() {
	cur=$1
	local P="[$cur]" rc out
	DATA=$SRV_TMP/$cur-data
	SPOOL1=$SRV_TMP/$cur-spool1
	SPOOL2=$SRV_TMP/$cur-spool2
	build_tree
	if ! srv_start "$cur" "$DATA"; then
		not_ok "$P start $cur on 127.0.0.1" "see $SRV_TMP/srv-$cur/stderr.log"
		return
	fi
	# SFTP servers: the login by key and the host key file
	read -r -a SRV_MOUNT_OPTS <<<"$(srv_opts "$cur")"

	# 3 first: each order on a mount that has listed nothing yet.
	if item 3; then
		check_link readlink
		check_link stat
		check_link cat
	fi

	if ! mount_at "$MNT1" "$SPOOL1" || ! mount_at "$MNT2" "$SPOOL2"; then
		umount_all "$MNT1" "$MNT2"
		srv_stop "$cur"
		return
	fi
	ok "$P two mounts of the same server"

	if item 1; then
		ensure_mounts && check_append_other disk
		ensure_mounts && check_append_other mount2
		ensure_mounts && check_append_unseen
		ensure_mounts && check_gone
	fi
	if item 2; then
		ensure_mounts && check_parallel_appends
	fi
	if item 5; then
		# (a refused STOR is FTP's: SFTP's OPEN either creates or not)
		srv_is_sftp "$cur" || { ensure_mounts && check_refused_create; }
		ensure_mounts && ops "$P 5b. rename while a spooled writer pwrites (5 rounds)" \
			rename-writing "$MNT1" "$DATA" -
		ensure_mounts && ops "$P 5b. 20 spooled writers on 20 files, renamed while open" \
			many-files "$MNT1" "$DATA" 20
		ensure_mounts && ops "$P 5b. 20 O_RDWR descriptors on one file, renamed while open" \
			many-fds "$MNT1" "$DATA" 20
		ensure_mounts && ops "$P 5c. an open writer with nothing unflushed does not hide a truncate or an append (stat, read)" \
			idle-writer "$MNT1" "$DATA" iw/iw.bin
		ensure_mounts && ops "$P 5d. small files read ahead of a reader: rewritten, renamed over, unlinked meanwhile, each read shows it" \
			read-ahead "$MNT1" "$DATA" ra
		ensure_mounts && ops "$P 5f. files another client replaced, grew or cut after the mount listed them read whole (not cut at the listed size); fstat and stat agree" \
			replaced-theirs "$MNT1" "$DATA" rt
		if mkdir -p "$MNT3" && FTPFS_MOUNT_LOG=$SRV_TMP/$cur-mnt3.log \
			ftpfs_mount "$FTPFS" "$MNT3" "$(srv_url "$cur")" -f \
			-o cache_timeout=1 "${EXTRA_OPTS[@]}"; then
			ops "$P 5g. cache_timeout=1: a descriptor following a log another client appends to gets each append; files listed at a whole number of pages, replaced by longer ones, read whole" \
				grown-theirs "$MNT3" "$DATA" gt 1
			srv_unmount "$MNT3"
		else
			not_ok "$P 5g. mount with cache_timeout=1" "$(tail -n 5 "$SRV_TMP/$cur-mnt3.log")"
		fi
		ensure_mounts && check_eq "$P 5e. fsync of a reader's descriptor puts what an open writer wrote on the server (a local disk's fsync is the file's)" \
			"300000 300000" "$(t python3 -c '
import os, sys
p, s = sys.argv[1], sys.argv[2]
w = os.open(p, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
r = os.open(p, os.O_RDONLY)
for i in (2, 0, 1):
    os.pwrite(w, os.urandom(100000), i * 100000)
os.fsync(r)
n = os.path.getsize(s)
os.close(r)
os.close(w)
print(n, os.path.getsize(s))' "$MNT1/fsync-r.bin" "$DATA/fsync-r.bin" 2>&1)"
	fi
	local how
	if item 6 && srv_is_sftp "$cur"; then
		note "$P 6. not on SFTP: its writes go in place, with no local copy to hold back; another writer's bytes and ours meet as on a local file"
	elif item 6; then
		for how in size mtime mount2; do
			ensure_mounts && ops "$P 6. spooled write, file changed on the server meanwhile ($how): close EIO, theirs kept, ours in the spool" \
				spool-conflict "$MNT1" "$DATA" "$SPOOL1" "sc-$how/sc.bin" "$how" "$MNT2"
		done
		ensure_mounts && t stat "$MNT1/sc-before/sc.bin" >/dev/null &&
			ops "$P 6b. O_RDWR pwrite to a file another client appended to after the mount's stat: their tail kept" \
				spool-conflict "$MNT1" "$DATA" "$SPOOL1" sc-before/sc.bin before
	fi
	if item 4; then
		# SFTP handles outlive names: reading an unlinked file must work there.
		srv_is_sftp "$cur" && export SHARED_HANDLES=1 || unset SHARED_HANDLES
		ensure_mounts && ops "$P 4. open O_RDWR|O_CREAT, write, unlink, pread, fstat, close (pjdfstest unlink/14)" \
			unlinked-rdwr "$MNT1" "$DATA" ul/ul-rdwr.bin
		ensure_mounts && ops "$P 4. open O_WRONLY|O_CREAT|O_TRUNC, write, unlink, write, close" \
			unlinked-stream "$MNT1" "$DATA" ul/ul-stream.bin
		ensure_mounts && ops "$P 4. existing file open O_RDONLY, unlinked, fstat" \
			unlinked-rdonly "$MNT1" "$DATA" ul/ul-rdonly.bin
		ensure_mounts && ops "$P 4. every descriptor operation after unlink (O_RDWR, O_TRUNC, O_APPEND)" \
			unlinked-ops "$MNT1" "$DATA" ul/ul-ops.bin
		ensure_mounts && ops "$P 4. open, unlink, create the name again as ftpfs removes the old one (40 rounds)" \
			unlinked-recreate "$MNT1" "$DATA" ul/ul-recreate.txt 40
		ensure_mounts && ops "$P 4. rename over a file open for reading: the descriptor keeps the old file" \
			replaced-open "$MNT1" "$DATA" ul/ul-replaced.bin
		ensure_mounts && ops "$P 4. a reader of a small file sees a write made through another descriptor" \
			reader-sees-write "$MNT1" "$DATA" ul/ul-rsw.bin
		ensure_mounts && ops "$P 4. unlink of an open file is on the server when it returns; another client's new file under the name stays" \
			unlinked-theirs "$MNT1" "$DATA" ul/ul-theirs.txt
		ensure_mounts && ops "$P 4. a rename over an open file that fails leaves the file under its name" \
			replace-open-fails "$MNT1" "$DATA" ul/ul-refail.bin
	fi

	if item 7 && [ "$MW_OPS" -gt 0 ] && ensure_mounts; then
		rc=0
		out=$(t "$PY" "$MWX" --disk "$DATA" --mount "$MNT1" --mount "$MNT2" \
			--ops "$MW_OPS" --seed "$MW_SEED" --log "$SRV_TMP/$cur-multiwriter.jsonl" 2>&1) || rc=$?
		if [ "$rc" -eq 0 ]; then
			ok "$P 7. multiwriter.py: $MW_OPS ops, two mounts + the server's folder, every byte explained"
		else
			not_ok "$P 7. multiwriter.py: $MW_OPS ops, two mounts + the server's folder, every byte explained (exit $rc)" \
				"$out" "log: $SRV_TMP/$cur-multiwriter.jsonl"
		fi
		printf '%s\n' "$out" | grep -E '^(multiwriter:|records:|ops by|[0-9]+ operations)' | sed 's/^/# /'
	fi

	if alive "$MNT1" && alive "$MNT2"; then
		ok "$P both mounts still answer"
	else
		not_ok "$P both mounts still answer"
	fi
	if umount_all "$MNT1" "$MNT2"; then
		ok "$P unmount both"
	else
		not_ok "$P unmount both" "fusermount3 -u failed or ftpfs did not exit"
	fi
	out=$(grep -hE 'segfault|Segmentation|AddressSanitizer|ThreadSanitizer|runtime error' \
		"$SRV_TMP/$cur"-mnt*.log 2>/dev/null | head -n 5)
	[ -z "$out" ] || note "$P ftpfs logged: $out"
	srv_stop "$cur"
}

# --- main ------------------------------------------------------------------------
SUITE_LIMIT=${SUITE_LIMIT:-900}
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

mkdir -p "$SRV_TMP/asan"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$SRV_TMP/asan/asan:detect_leaks=1"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$SRV_TMP/asan/ubsan:print_stacktrace=1:halt_on_error=0"
# ThreadSanitizer (build-tsan/): every report, not only the first, and both
# stacks of a lock-order inversion.
export TSAN_OPTIONS="${TSAN_OPTIONS:+$TSAN_OPTIONS:}log_path=$SRV_TMP/asan/tsan:halt_on_error=0:second_deadlock_stack=1"
note "ftpfs under test: $FTPFS"
note "temp dir: $SRV_TMP"
note "multiwriter seed: $MW_SEED (MW_SEED=$MW_SEED reproduces it), $MW_OPS ops per server"
t_start=$EPOCHREALTIME
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
