#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Write-path integration suite ("writes that never lose data"): mounts real
# FTP servers on 127.0.0.1 with ftpfs and runs shell tools on the mount.
# Run as root.
#
#   FTPFS=build/ftpfs            binary under test (default build/ftpfs)
#   SERVERS="vsftpd proftpd pureftpd pyftpdlib"   servers to run against
#   FTPFS_OPTS="-o ..."          extra mount arguments for every mount
#   FSX_OPS=4000 FSX_SEED=N      tests/integration/fsx.py run per server
#                                (FSX_OPS=0 skips it; the seed is printed)
#   SRV_KEEP=1                   keep the temp dir (logs, trees) afterwards
#
# How it checks: every step (a shell snippet) runs twice, once in a local
# directory (the model: what a local filesystem does) and once in the
# mount.  After each step the exit status and output must be the same, and
# the server's disk (the folder it serves, read directly) and the mount's
# view must both equal the model: names, types, sizes and sha256 of every
# file.  Steps about modes or times compare those too (disk = model).
#
# What the servers cannot do, asserted as such (see server_caps):
#   vsftpd     no MFMT/MFF/SITE UTIME; "MDTM time path" (2 arguments) sets
#              the mtime of files but not of directories
#   proftpd    MFMT on files and directories
#   pureftpd   MFMT on files and directories
#   pyftpdlib  MFMT on files only ("550 /d is not retrievable" for a dir)
#   all four   no symlinks in this configuration (no SITE SYMLINK in FEAT)
#   sshd, proftpd_sftp   SFTP: writes in place (no spool), SETSTAT times on
#              files and directories, chmod, symlinks
# Where directory mtimes cannot be set, ftpfs accepts the time and logs it
# once: cp -a / tar x / rsync -a exit 0 with every byte, mode and file
# mtime; with -o strict_times touch on a directory fails (ENOTSUP/EPERM).
#
# Prints "ok - NAME" or "FAIL - NAME" per check, details of failures
# indented with "#", and finally "N passed, N failed"; exits non-zero on
# any failure.
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
FSX_OPS=${FSX_OPS:-4000}
FSX_SEED=${FSX_SEED:-$((RANDOM * 32768 + RANDOM))}
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
# python3 -c "$HOLD_READ_PY" FILE NEW: read FILE's start past the page
# cache (a transfer stays open) and, meanwhile, write NEW.
HOLD_READ_PY='import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
os.read(fd, 4096)
with open(sys.argv[2], "w") as f:
    f.write("second\n")
os.close(fd)'

check_eq() { # NAME EXPECTED ACTUAL
	if [ "$2" == "$3" ]; then
		ok "$1"
	else
		not_ok "$1" "$(diff <(printf '%s\n' "$2") <(printf '%s\n' "$3") |
			sed 's/^</expected:/; s/^>/actual:  /' | grep -v '^---' | head -n 30)"
	fi
}

# rsync and git are needed here; tests/deps.sh may not list them yet.
ensure_tools() {
	local missing=() p
	for p in rsync git tar; do
		command -v "$p" >/dev/null 2>&1 || missing+=("$p")
	done
	command -v vim >/dev/null 2>&1 || command -v vim.tiny >/dev/null 2>&1 ||
		missing+=(vim-tiny)
	[ "${#missing[@]}" -eq 0 ] && return 0
	note "installing ${missing[*]} (not installed by tests/deps.sh)"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
		{ apt-get update -qq >/dev/null 2>&1 &&
			apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; }
}
ensure_tools
VIM=$(command -v vim || command -v vim.tiny)
export VIM

srv_init
umask 022
WORK=$SRV_TMP/work # local sources: random files, trees, tarball, git repo
MNT=$SRV_TMP/mnt
WT=$SRV_TMP/wt.py
export WORK WT
mkdir -p "$WORK"

# --- the helper: file operations with errno names, tree states -------------
cat >"$WT" <<'PYEOF'
"""wt.py: helper of test_write.sh.

  wt.py ops 'STMT; STMT; ...'   run file operations, print "STMT: result"
                                 per statement (errno names on failure)
  wt.py state DIR [--modes] [--mtimes] [--sub REL [--top]] [--exclude REL]...
                                 one line per entry below DIR (or REL, or
                                 just REL with --top): path, type, size
                                 and sha256 (files), mode, mtime
  wt.py dropcache DIR            drop the kernel's cached pages of the
                                 files below DIR (posix_fadvise)
Statements (paths relative to the current directory; DATA is "t:TEXT" or
"sSEED:LEN", LEN random bytes from SEED):
  open FD PATH FLAGS[,FLAGS] [MODE]   flags rdonly wronly rdwr creat excl
                                      trunc append
  write FD DATA | pwrite FD OFF DATA | seek FD OFF | ftrunc FD LEN
  read FD OFF LEN | fsync FD | close FD
  readall PATH     a fresh open/read/close: length and sha256
  disk PATH        the same, directly from $WT_DISK (the server's folder)
  dmtime PATH      the mtime of $WT_DISK/PATH
  stat PATH | mkdir PATH [MODE] | rmdir PATH | unlink PATH
  rename A B | truncate PATH LEN | chmod PATH MODE | utime PATH EPOCH
  symlink TARGET PATH | mknod PATH fifo|reg|sock | sleep SECONDS
"""
import errno, hashlib, os, random, stat, sys, time

FLAGS = {"rdonly": os.O_RDONLY, "wronly": os.O_WRONLY, "rdwr": os.O_RDWR,
         "creat": os.O_CREAT, "excl": os.O_EXCL, "trunc": os.O_TRUNC,
         "append": os.O_APPEND}


def data(spec):
    if spec.startswith("t:"):
        return spec[2:].encode()
    seed, n = spec[1:].split(":")
    return random.Random(int(seed)).randbytes(int(n))


def digest(b):
    return "%d bytes sha256 %s" % (len(b), hashlib.sha256(b).hexdigest()[:16])


def readall(path):
    with open(path, "rb") as f:
        return f.read()


def run(w, fds):
    op = w[0]
    if op == "open":
        fl = 0
        for x in w[3].split(","):
            fl |= FLAGS[x]
        mode = int(w[4], 8) if len(w) > 4 else 0o666
        fds[w[1]] = os.open(w[2], fl, mode)
        return "ok"
    if op == "write":
        return "wrote %d" % os.write(fds[w[1]], data(w[2]))
    if op == "pwrite":
        return "wrote %d" % os.pwrite(fds[w[1]], data(w[3]), int(w[2]))
    if op == "seek":
        return "at %d" % os.lseek(fds[w[1]], int(w[2]), os.SEEK_SET)
    if op == "ftrunc":
        os.ftruncate(fds[w[1]], int(w[2]))
        return "ok"
    if op == "read":
        return digest(os.pread(fds[w[1]], int(w[3]), int(w[2])))
    if op == "fsync":
        os.fsync(fds[w[1]])
        return "ok"
    if op == "close":
        fd = fds.pop(w[1])
        os.close(fd)
        return "ok"
    if op == "readall":
        return digest(readall(w[1]))
    if op == "disk":
        return digest(readall(os.path.join(os.environ["WT_DISK"], w[1])))
    if op == "dmtime":
        st = os.stat(os.path.join(os.environ["WT_DISK"], w[1]))
        return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(int(st.st_mtime)))
    if op == "stat":
        st = os.stat(w[1])
        kind = "dir" if stat.S_ISDIR(st.st_mode) else "file"
        return "%s size %d" % (kind, st.st_size if kind == "file" else 0)
    if op == "mkdir":
        os.mkdir(w[1], int(w[2], 8) if len(w) > 2 else 0o777)
        return "ok"
    if op == "rmdir":
        os.rmdir(w[1])
        return "ok"
    if op == "unlink":
        os.unlink(w[1])
        return "ok"
    if op == "rename":
        os.rename(w[1], w[2])
        return "ok"
    if op == "truncate":
        os.truncate(w[1], int(w[2]))
        return "ok"
    if op == "chmod":
        os.chmod(w[1], int(w[2], 8))
        return "ok"
    if op == "utime":
        os.utime(w[1], (int(w[2]), int(w[2])))
        return "ok"
    if op == "symlink":
        os.symlink(w[1], w[2])
        return "ok"
    if op == "mknod":
        kinds = {"fifo": stat.S_IFIFO, "reg": stat.S_IFREG,
                 "sock": stat.S_IFSOCK}
        os.mknod(w[1], kinds[w[2]] | 0o644)
        return "ok"
    if op == "sleep":
        time.sleep(float(w[1]))
        return "ok"
    raise SystemExit("wt.py: unknown statement " + " ".join(w))


def ops(script):
    fds = {}
    for stmt in (s.strip() for s in script.split(";")):
        if not stmt:
            continue
        try:
            out = run(stmt.split(), fds)
        except OSError as e:
            out = errno.errorcode.get(e.errno, str(e.errno))
        print("%s: %s" % (stmt, out), flush=True)
    for name, fd in fds.items():
        try:
            os.close(fd)
        except OSError as e:
            print("close %s at exit: %s" % (name, errno.errorcode.get(e.errno)))


def dropcache(root):
    """Drop the kernel's cached pages of every file below root."""
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            try:
                fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
            except OSError:
                continue
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            except OSError:
                pass
            os.close(fd)


def state(argv):
    root, modes, mtimes, sub, excl, top = argv[0], False, False, ".", [], False
    i = 1
    while i < len(argv):
        a = argv[i]
        if a == "--top":
            top = True
        elif a == "--modes":
            modes = True
        elif a == "--mtimes":
            mtimes = True
        elif a == "--sub":
            i += 1
            sub = argv[i]
        elif a == "--exclude":
            i += 1
            excl.append(os.path.normpath(argv[i]))
        i += 1
    out = []
    base = os.path.join(root, sub)
    if not os.path.lexists(base):
        print("(%s does not exist)" % sub)
        return
    walk = os.walk(base)
    if not os.path.isdir(base) or os.path.islink(base) or top:
        walk = [(os.path.dirname(base), [], [os.path.basename(base)])]
    for dirpath, dirnames, filenames in walk:
        rel_dir = os.path.relpath(dirpath, root)
        dirnames[:] = [d for d in dirnames
                       if os.path.normpath(os.path.join(rel_dir, d)) not in excl]
        for name in sorted(dirnames + filenames):
            rel = os.path.normpath(os.path.join(rel_dir, name))
            if rel in excl:
                continue
            p = os.path.join(root, rel)
            try:
                st = os.lstat(p)
                if stat.S_ISLNK(st.st_mode):
                    line = "%s link -> %s" % (rel, os.readlink(p))
                elif stat.S_ISDIR(st.st_mode):
                    line = "%s dir" % rel
                elif stat.S_ISREG(st.st_mode):
                    line = "%s file %s" % (rel, digest(readall(p)))
                else:
                    line = "%s other" % rel
                if modes:
                    line += " mode %o" % stat.S_IMODE(st.st_mode)
                if mtimes:
                    line += " mtime %s" % time.strftime(
                        "%Y-%m-%d %H:%M:%S", time.gmtime(int(st.st_mtime)))
            except OSError as e:
                line = "%s error %s" % (rel, errno.errorcode.get(e.errno))
            out.append(line)
    print("\n".join(sorted(out)))


if __name__ == "__main__":
    if sys.argv[1] == "ops":
        ops(" ".join(sys.argv[2:]))
    elif sys.argv[1] == "state":
        state(sys.argv[2:])
    elif sys.argv[1] == "dropcache":
        dropcache(sys.argv[2])
    else:
        raise SystemExit(__doc__)
PYEOF

# --- local sources ---------------------------------------------------------------
make_sources() {
	(
		set -e
		cd "$WORK"
		head -c 1048576 /dev/urandom >r1M
		head -c $((20 * 1048576)) /dev/urandom >r20M
		touch -d '2003-03-03 03:03:03' r20M
		head -c 4096 /dev/urandom >r4K
		head -c 10000 /dev/urandom >r10K
		# A small tree with modes and old mtimes (no symlinks: no server
		# here can make them).
		mkdir -p tree/sub/deeper 'tree/with space' tree/empty
		printf 'hello tree\n' >tree/a.txt
		seq 1 5000 >tree/numbers.txt
		head -c 300000 /dev/urandom >tree/sub/blob.bin
		printf '#!/bin/sh\necho hi\n' >tree/sub/run.sh
		chmod 755 tree/sub/run.sh
		printf 'secret\n' >tree/sub/deeper/private.txt
		chmod 600 tree/sub/deeper/private.txt
		printf 'spaced\n' >'tree/with space/file name.txt'
		: >tree/empty.txt
		chmod 700 tree/sub/deeper
		find tree -exec touch -d '2015-06-07 08:09:10' {} +
		touch -d '2012-01-02 03:04:05' tree/a.txt
		touch -d '2013-03-04 05:06:07' tree/sub
		tar cf tree.tar tree
		# tree2: tree with one file changed in the middle, one added,
		# one removed (for rsync's delta transfer and --delete).
		cp -a tree tree2
		printf 'PATCHED' | dd of=tree2/sub/blob.bin bs=1 seek=150000 \
			conv=notrunc status=none
		touch -d '2016-01-01 00:00:01' tree2/sub/blob.bin
		printf 'new\n' >tree2/new.txt
		rm tree2/numbers.txt
		touch -d '2015-06-07 08:09:10' tree2
		# A git repository with a few commits.
		git init -q repo
		cd repo
		git config user.email t@example.org
		git config user.name tester
		for i in 1 2 3 4; do
			seq "$i" 2000 >"file$i.txt"
			mkdir -p "dir$i"
			head -c 20000 /dev/urandom >"dir$i/bin$i"
			git add -A
			git commit -q -m "commit $i"
		done
	)
}
if ! make_sources; then
	not_ok "prepare local sources in $WORK"
	printf '%d passed, %d failed\n' "$passed" "$failed"
	exit 1
fi

# --- what each server can do ----------------------------------------------------
server_caps() {
	case $cur in
	vsftpd)
		DIR_MTIME=0
		CAPS="utimens: 2-arg MDTM (files only); chmod: SITE CHMOD"
		;;
	proftpd)
		DIR_MTIME=1
		CAPS="utimens: MFMT (files, dirs); chmod: SITE CHMOD"
		;;
	pureftpd)
		DIR_MTIME=1
		CAPS="utimens: MFMT (files, dirs); chmod: SITE CHMOD"
		;;
	pyftpdlib)
		DIR_MTIME=0
		CAPS="utimens: MFMT (files only); chmod: SITE CHMOD"
		;;
	sshd | proftpd_sftp)
		DIR_MTIME=1
		CAPS="SFTP: pwrite in place; utimens, chmod: SETSTAT; symlinks"
		return
		;;
	esac
	CAPS="$CAPS; no symlinks"
}

# Precision of the mtimes the mount shows: vsftpd lists with LIST
# ("Mon DD HH:MM"), the others with MLSD (seconds).
mtime_tol() { if [ "$cur" = vsftpd ]; then echo 60; else echo 1; fi; }

# --- mounting ----------------------------------------------------------------------
mount_it() { # NAME [ARGS...]   (URL: $MOUNT_URL, default srv_url $cur)
	local name=$1
	shift
	FTPFS_MOUNT_LOG=$SRV_TMP/$cur-mount.log
	if FTPFS_MOUNT_LOG=$FTPFS_MOUNT_LOG ftpfs_mount "$FTPFS" "$MNT" \
		"${MOUNT_URL:-$(srv_url "$cur")}" -f -o "spool_dir=$SPOOL" "${EXTRA_OPTS[@]}" "$@"; then
		ok "$name"
		return 0
	fi
	not_ok "$name" "ftpfs exit status $FTPFS_MOUNT_RC" "$(tail -n 20 "$FTPFS_MOUNT_LOG")"
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

# --- a step: the same snippet on a local dir (the model) and on the mount ----
# step [--modes] [--mtimes] [--sub REL] [--rc-any] NAME SNIPPET
#   --modes/--mtimes  also compare modes/mtimes (of --sub REL, default all)
# The git clone (gitclone/) is left out of the comparison.
state() { python3 "$WT" state "$@" --exclude gitclone; }

step() {
	local modes=() mt=() subs=() name cmd sub top=() filemt=0
	while :; do
		case $1 in
		--modes) modes=(--modes) ;;
		--mtimes) mt=(--mtimes) ;;
		--sub) subs+=("$2"); shift ;;
		--top) top=(--top) ;;
		--file-mtimes) filemt=1 ;; # directories: the time they were made
		*) break ;;
		esac
		shift
	done
	name="[$cur] $1"
	cmd=$2
	local out_r out_m rc_r=0 rc_m=0 problems=() s_ref s_disk s_mnt d
	[ ${#subs[@]} -gt 0 ] || subs=(.)
	local t0=$EPOCHREALTIME
	out_r=$(cd "$REF" && WT_DISK=$REF timeout -k 5 "$T" bash -c "$cmd" 2>&1) || rc_r=$?
	out_m=$(cd "$MNT" && WT_DISK=$DATA timeout -k 5 "$T" bash -c "$cmd" 2>&1) || rc_m=$?
	# (where the server cannot set a directory's time, ftpfs accepts it:
	# cp -a, tar x and rsync -a must exit 0 with every mode right)
	if [ "$rc_r" != "$rc_m" ] || [ "$out_r" != "$out_m" ]; then
		problems+=("the command behaves differently from a local filesystem:"
			"  local: exit $rc_r, output:" "$(printf '%s\n' "$out_r" | head -n 12 | sed 's/^/    /')"
			"  mount: exit $rc_m, output:" "$(printf '%s\n' "$out_m" | head -n 12 | sed 's/^/    /')")
	fi
	s_ref=$(state "$REF")
	s_disk=$(state "$DATA")
	if [ "$s_ref" != "$s_disk" ]; then
		d=$(diff <(printf '%s\n' "$s_ref") <(printf '%s\n' "$s_disk") | grep '^[<>]' | head -n 12)
		problems+=("server disk differs from the model (< model, > disk):" "$d")
	fi
	s_mnt=$(t python3 "$WT" state "$MNT" --exclude gitclone 2>&1)
	if [ "$s_ref" != "$s_mnt" ]; then
		d=$(diff <(printf '%s\n' "$s_ref") <(printf '%s\n' "$s_mnt") | grep '^[<>]' | head -n 12)
		problems+=("the mount shows something else than the model (< model, > mount):" "$d")
	fi
	if [ ${#modes[@]} -gt 0 ] || [ ${#mt[@]} -gt 0 ]; then
		local extra_r="" extra_d=""
		for sub in "${subs[@]}"; do
			extra_r+=$(state "$REF" --sub "$sub" "${top[@]}" "${modes[@]}" "${mt[@]}")$'\n'
			extra_d+=$(state "$DATA" --sub "$sub" "${top[@]}" "${modes[@]}" "${mt[@]}")$'\n'
		done
		if { [ "$DIR_MTIME" = 0 ] || [ "$filemt" = 1 ]; } && [ ${#mt[@]} -gt 0 ]; then
			# Directories keep the server's time here: compare files only.
			extra_r=$(printf '%s\n' "$extra_r" | sed -E 's/^(.* dir( mode [0-7]+)?) mtime .*/\1/')
			extra_d=$(printf '%s\n' "$extra_d" | sed -E 's/^(.* dir( mode [0-7]+)?) mtime .*/\1/')
		fi
		if [ "$extra_r" != "$extra_d" ]; then
			d=$(diff <(printf '%s\n' "$extra_r") <(printf '%s\n' "$extra_d") | grep '^[<>]' | head -n 12)
			problems+=("${modes[*]} ${mt[*]} on the server's disk differ from the model (< model, > disk):" "$d")
		fi
	fi
	if [ ${#problems[@]} -eq 0 ]; then
		ok "$name ($(srv_since "$t0")s)"
	else
		not_ok "$name" "command: $cmd" "${problems[@]}"
		resync_model
	fi
}

# After a failed step the model follows the server's disk again, and the
# kernel forgets the pages it cached from the mount, so that one failure
# is reported once, not by every later step.
resync_model() {
	rsync -a -I --delete --exclude /gitclone "$DATA/" "$REF/" 2>&1 | head -n 5
	t python3 "$WT" dropcache "$MNT"
	note "[$cur] model re-synced from the server's disk; kernel page cache of the mount dropped"
}

# errno_is NAME WANTED... -- CMD: the mount's wt.py ops output names one of
# the WANTED errnos (or "ok").
ops_m() { (cd "$MNT" && WT_DISK=$DATA t python3 "$WT" ops "$@" 2>&1); }

# --- the per-server suite ------------------------------------------------------------
suite_server() {
	cur=$1
	local P="[$cur]" out rc exp act i
	DATA=$SRV_TMP/$cur-data
	REF=$SRV_TMP/$cur-ref
	SPOOL=$SRV_TMP/$cur-spool
	rm -rf "$DATA" "$REF"
	mkdir -p "$DATA" "$REF"
	chown "$SRV_USER": "$DATA"
	server_caps
	note "$P $CAPS"
	if ! srv_start "$cur" "$DATA"; then
		not_ok "$P start $cur on 127.0.0.1" "see $SRV_TMP/srv-$cur/stderr.log"
		return
	fi
	read -r -a SRV_MOUNT_OPTS <<<"$(srv_opts "$cur")"
	if mount_it "$P mount (-f, spool_dir=$SPOOL)"; then
		suite_steps
		suite_changed_names
		umount_it "$P unmount after the steps"
	fi
	# A fresh mount (cold caches) sees exactly what the disk has.
	# (with -o strict_times: a directory time the server cannot set fails)
	if mount_it "$P mount again (cold cache, -o strict_times)" -o strict_times; then
		check_eq "$P cold mount shows the server's disk" "$(state "$DATA")" \
			"$(t python3 "$WT" state "$MNT" --exclude gitclone 2>&1)"
		suite_fresh_utimens
		if [ "$FSX_OPS" -gt 0 ]; then
			run_fsx fsx
			run_fsx fsx-synced --sync-before-verify
		fi
		umount_it "$P unmount after fsx"
	fi
	SRV_MOUNT_OPTS=()
	srv_stop "$cur"
}

# run_fsx DIR [ARGS...]: fsx.py in DIR of the mount; --sync-before-verify
# separates other bugs from what readers see of a file being written.
run_fsx() {
	local P="[$cur]" dir=$1 out rc=0 log=$SRV_TMP/$cur-$1.log
	shift
	mkdir -p "$MNT/$dir" 2>/dev/null
	t python3 "$here/fsx.py" --mount "$MNT/$dir" --disk "$DATA/$dir" \
		--seed "$FSX_SEED" --ops "$FSX_OPS" --log "$SRV_TMP/$cur-$dir-ops.log" \
		"$@" >"$log" 2>&1 || rc=$?
	if [ "$rc" -eq 0 ]; then
		ok "$P fsx.py --seed $FSX_SEED --ops $FSX_OPS $*: $(tail -n 1 "$log")"
	else
		not_ok "$P fsx.py --seed $FSX_SEED --ops $FSX_OPS $* (exit $rc; log $log)" \
			"$(sed -n '/^FAILED/,/^last operations/p' "$log" | head -n 8)" \
			"$(grep -A 100 '^last operations' "$log" | tail -n 25)"
	fi
}

# On a fresh mount, the first utimens goes to a directory: where that fails
# (vsftpd, pyftpdlib) files must still get their times afterwards.
suite_fresh_utimens() {
	local P="[$cur]" out rc=0
	mkdir "$MNT/fresh-utime-dir" && echo x >"$MNT/fresh-utime-dir/f"
	out=$(t touch -d '2009-08-07 06:05:04' "$MNT/fresh-utime-dir" 2>&1) || rc=$?
	if [ "$DIR_MTIME" = 1 ]; then
		check_eq "$P fresh mount: touch -d on a directory first (disk mtime)" \
			"rc 0 2009-08-07 06:05:04" \
			"rc $rc $(date -u -r "$DATA/fresh-utime-dir" '+%F %T')"
	else
		case $out in
		*"Operation not supported"* | *"Operation not permitted"*)
			ok "$P strict_times: touch -d on a directory fails ($out)" ;;
		*) not_ok "$P strict_times: touch -d on a directory fails with ENOTSUP or EPERM" \
			"exit $rc: $out" ;;
		esac
	fi
	rc=0
	out=$(t touch -d '2008-07-06 05:04:03' "$MNT/fresh-utime-dir/f" 2>&1) || rc=$?
	check_eq "$P fresh mount: touch -d on a file after that still sets its mtime (disk)" \
		"rc 0 2008-07-06 05:04:03" \
		"rc $rc $(date -u -r "$DATA/fresh-utime-dir/f" '+%F %T')${out:+ $out}"
	rm -rf "$MNT/fresh-utime-dir"
}

# A name with a trailing blank or a tab: stored as written, or (Pure-FTPd
# turns them into '_') close() fails with EIO: never a success that leaves
# a file no one can find under the name that was written.
suite_changed_names() {
	local P="[$cur]" name out rc disk
	for name in "trail " $'tab\there'; do
		rc=0
		out=$(t python3 -c 'import sys
f = open(sys.argv[1], "w"); f.write("x\n"); f.close()' "$MNT/$name" 2>&1) || rc=$?
		if [ "$rc" -eq 0 ] && [ "$(cat "$DATA/$name" 2>/dev/null)" = x ]; then
			ok "$P create '${name//$'\t'/\\t}': stored under that very name"
		elif [ "$rc" -ne 0 ] && printf '%s' "$out" | grep -q "Input/output error" &&
			[ ! -e "$DATA/$name" ]; then
			disk=$(cd "$DATA" && ls -A | grep -E '^(trail|tab)' | tr '\n' ' ')
			ok "$P create '${name//$'\t'/\\t}': the server changed the name ($disk): close() fails with EIO"
		else
			not_ok "$P create '${name//$'\t'/\\t}': stored as written, or EIO" "exit $rc: $out" \
				"disk: $(cd "$DATA" && ls -A | grep -E '^(trail|tab)' | cat -A)"
		fi
		rm -f "$MNT/$name" 2>/dev/null
	done
	# what a server made of them, so that later checks see the model
	rm -f "$DATA/trail_" "$DATA/tab_here"
}

suite_steps() {
	local P="[$cur]" out rc exp act

	# --- create, write, cp -----------------------------------------------
	step "create an empty file (: > empty.txt)" ': > empty.txt'
	step "echo > new file" 'echo hello > hello.txt; cat hello.txt'
	step "overwrite with shorter content (O_TRUNC)" 'echo hi > hello.txt; cat hello.txt'
	step "many small writes in one open (seq > seq.txt)" 'seq 1 20000 > seq.txt'
	step "cp 1 MiB random file" 'cp "$WORK/r1M" r1M.bin && sha256sum r1M.bin'
	step "cp 20 MiB random file" 'cp "$WORK/r20M" r20M.bin && sha256sum r20M.bin'
	step "cat mount file > another mount file" 'cat r1M.bin > copy.bin; cmp r1M.bin copy.bin'
	step "cp a smaller file over a bigger one" 'cp r1M.bin r20M.bin && ls -l r20M.bin | cut -d" " -f5'
	step "dd bs=1M of 20 MiB, then rm" 'dd if="$WORK/r20M" of=dd20.bin bs=1M status=none && cmp dd20.bin "$WORK/r20M" && rm dd20.bin'
	step "unlink (rm)" 'rm copy.bin r20M.bin; ls'
	step "rm of a missing file: ENOENT" 'rm no-such-file'

	# --- truncate ----------------------------------------------------------------
	step "truncate -s grows (3 MiB, zeros at the end)" 'truncate -s 3M r1M.bin && ls -l r1M.bin | cut -d" " -f5'
	step "truncate -s shrinks (1000 bytes)" 'truncate -s 1000 r1M.bin'
	step "truncate -s 1000 again (no change)" 'truncate -s 1000 r1M.bin'
	step "truncate -s 0" 'truncate -s 0 r1M.bin; ls -l r1M.bin | cut -d" " -f5'
	step "truncate -s creates a missing file" 'truncate -s 5000 by-truncate.bin'
	step "O_RDWR: ftruncate grow, pwrite, ftruncate shrink" \
		'cp "$WORK/r10K" ft.bin && python3 "$WT" ops "open A ft.bin rdwr; ftrunc A 50000; pwrite A 100 s1:3000; read A 0 4000; ftrunc A 300; close A; disk ft.bin"'
	step "O_WRONLY|O_TRUNC stream, then ftruncate, then write on" \
		'python3 "$WT" ops "open A ft2.bin wronly,creat,trunc; write A s2:10000; ftrunc A 4096; write A s3:2048; close A; readall ft2.bin; disk ft2.bin"'
	step "stream, then ftruncate to grow (sparse tail)" \
		'python3 "$WT" ops "open A ft3.bin wronly,creat,trunc; write A s4:100; ftrunc A 1048576; close A; disk ft3.bin"'
	step "ftruncate to 0 on O_RDWR, write again" \
		'python3 "$WT" ops "open A ft3.bin rdwr; ftrunc A 0; write A t:fresh; close A; disk ft3.bin"'
	step "O_WRONLY without O_TRUNC: overwrite the start only" \
		'python3 "$WT" ops "open A ft2.bin wronly; write A t:HEAD; close A; disk ft2.bin"'

	# --- append --------------------------------------------------------------------
	step ": >> creates an empty file (O_APPEND|O_CREAT, nothing written)" ': >> created-by-append.txt; ls -l created-by-append.txt | cut -d" " -f5'
	step ">> appends" 'echo one > log.txt; echo two >> log.txt; echo three >> log.txt; cat log.txt'
	step "cat 1 MiB >> file" 'cat "$WORK/r1M" >> log.txt'
	step "O_APPEND: pwrite goes to the end (Linux)" \
		'python3 "$WT" ops "open A log.txt wronly,append; write A t:tail; pwrite A 0 t:AT0; close A; disk log.txt"'
	step "O_RDWR|O_APPEND: read, append" \
		'python3 "$WT" ops "open A log.txt rdwr,append; read A 0 10; write A t:more; read A 0 100; close A; disk log.txt"'

	# --- dd conv=notrunc seek= ------------------------------------------------------
	step "dd conv=notrunc seek= into the middle" \
		'cp "$WORK/r1M" dd.bin && dd if="$WORK/r4K" of=dd.bin bs=4096 seek=100 conv=notrunc status=none'
	step "dd conv=notrunc at an odd offset" \
		'dd if="$WORK/r10K" of=dd.bin bs=1 seek=777777 count=333 conv=notrunc status=none'
	step "dd conv=notrunc past the end (hole)" \
		'dd if="$WORK/r4K" of=dd.bin bs=4096 seek=300 conv=notrunc status=none; ls -l dd.bin | cut -d" " -f5'
	step "dd conv=notrunc across the 1 MiB spool block edge, past the end" \
		'head -c 1053576 "$WORK/r20M" > edge.bin && dd if="$WORK/r1M" of=edge.bin bs=200000 count=1 seek=1000000 oflag=seek_bytes conv=notrunc status=none'
	step "dd seek= without notrunc (cuts after the write)" \
		'dd if="$WORK/r4K" of=dd.bin bs=4096 seek=2 status=none; ls -l dd.bin | cut -d" " -f5'

	# --- editors -----------------------------------------------------------------------
	step "vim-style save: write .x.swp, rename over x" \
		'printf "v1\n" > x.txt; printf "v2\n" > .x.txt.swp; mv .x.txt.swp x.txt; cat x.txt'
	step "vim (backupcopy=no: rename the original away, write anew)" \
		'"$VIM" -N -u NONE -i NONE -es -c "set backupcopy=no writebackup" -c "%s/v2/v3/" -c wq x.txt; cat x.txt'
	step "vim (backupcopy=yes: rewrite in place)" \
		'"$VIM" -N -u NONE -i NONE -es -c "set backupcopy=yes" -c "%s/v3/v4/" -c "\$s/\$/\\radded/" -c wq x.txt; cat x.txt'
	step --modes --sub seq.txt "sed -i (temp file, rename over; keeps mode)" \
		'chmod 640 seq.txt && sed -i "s/^1/one/" seq.txt && grep -c one seq.txt'

	# --- directories ----------------------------------------------------------------
	step "mkdir, mkdir -p, file inside" 'mkdir d1 && mkdir -p d1/a/b/c && echo x > d1/a/b/c/f'
	step "mkdir of an existing dir: EEXIST" 'mkdir d1'
	step "rmdir of a non-empty dir: ENOTEMPTY" 'rmdir d1/a/b/c'
	step "rm the file, rmdir the empty dir" 'rm d1/a/b/c/f && rmdir d1/a/b/c && ls d1/a/b'
	step "rmdir of a file: ENOTDIR" 'rmdir hello.txt'
	step "rm -r of a dir with contents" 'mkdir -p gone/x/y && echo 1 > gone/x/y/z && echo 2 > gone/w && rm -r gone && ls'
	step --modes --sub private --sub pub "mkdir -m 700, chmod dir 711" \
		'mkdir -m 700 private && mkdir pub && chmod 711 pub'
	step --modes --sub cm "new files get the mode they are created with (umask 022, umask 077, open 0600, 0755)" \
		'mkdir cm && echo a > cm/umask022 && (umask 077 && echo b > cm/umask077) && python3 "$WT" ops "open A cm/open600 wronly,creat,excl 600; write A t:c; close A; open A cm/rdwr600 rdwr,creat,excl 600; write A t:d; close A; open A cm/open755 wronly,creat,excl 755; close A"'
	# 0000 is a mode, not "none": such a file must not end up 0644
	step "files created with mode 0000 (umask 0) are 0000 on the server" \
		'mkdir cz && (umask 0 && python3 "$WT" ops "open A cz/w000 wronly,creat,excl 0; write A t:c; close A; open A cz/rw000 rdwr,creat,excl 0; write A t:d; close A; open A cz/t000 wronly,creat,trunc 0; close A") && stat -c "%n %a" "$WT_DISK"/cz/* | sed "s|.*/||" && rm -r cz'
	# a name near the 255-byte limit: the spool's local file and the
	# server-side temporary names must still fit
	local long
	long=$(printf 'n%.0s' $(seq 1 250))
	step "a 250-byte name: create, write in place, append, rename, unlink while open" \
		"printf 'one\n' > $long && python3 \"\$WT\" ops \"open A $long rdwr; pwrite A 1 t:NE; close A\" && printf 'two\n' >> $long && cat $long && mv $long ${long}x && exec 3<${long}x && rm ${long}x && exec 3<&- && sleep 0.2 && (ls -a | grep -c nnnnn || true)"
	# ftruncate through a descriptor of a file it created read-only: the
	# descriptor may (the name's mode does not let anyone else)
	step "ftruncate of a file created 0444 through its own descriptor" \
		'python3 "$WT" ops "open A ro444 rdwr,creat,excl 444; write A t:abcdef; ftrunc A 3; write A t:XY; close A; readall ro444" && rm -f ro444'
	# names over 255 bytes, FIFOs and sockets: a local filesystem's errno
	# (ENAMETOOLONG, EPERM), not what each server makes of them
	out=$(ops_m "open A ${long}123456 wronly,creat 644; mkdir ${long}123456; rename hello.txt ${long}123456; stat ${long}123456")
	check_eq "$P a 256-byte name: ENAMETOOLONG (create, mkdir, rename, stat)" \
		"ENAMETOOLONG ENAMETOOLONG ENAMETOOLONG ENAMETOOLONG" "$(printf '%s\n' "$out" | sed 's/.*: //' | tr '\n' ' ' | sed 's/ $//')"
	out=$(ops_m "mknod nod.fifo fifo; mknod nod.sock sock; mknod nod.reg reg; stat nod.reg; unlink nod.reg")
	check_eq "$P mkfifo, mknod of a socket: EPERM; mknod of a regular file makes it" \
		"EPERM EPERM ok file size 0 ok" "$(printf '%s\n' "$out" | sed 's/.*: //' | tr '\n' ' ' | sed 's/ $//')"

	# --- rename ----------------------------------------------------------------------
	step "rename a file" 'mv hello.txt renamed.txt && cat renamed.txt'
	step "rename a dir with contents" 'echo in > d1/a/inner && mv d1 d2 && find d2 | sort'
	step "rename over an existing file (replaces it)" \
		'echo new > src.txt; echo old-old-old > dst.txt; mv src.txt dst.txt && cat dst.txt'
	step "rename into a subdir" 'mv renamed.txt d2/a/ && ls d2/a'
	step "rename a dir over an empty dir (mv -T)" 'mkdir emptyd && mkdir fulld && echo f > fulld/f && mv -T fulld emptyd && ls emptyd'
	step "rename a dir over a non-empty dir: ENOTEMPTY/EEXIST" \
		'mkdir e3 && python3 "$WT" ops "rename e3 emptyd" | sed "s/EEXIST/ENOTEMPTY/"; rmdir e3'
	step "rename a file over a dir: EISDIR" 'python3 "$WT" ops "rename dst.txt emptyd"'
	step "rename a dir over a file: ENOTDIR" 'python3 "$WT" ops "rename pub dst.txt"'
	step "rename of a missing file: ENOENT" 'python3 "$WT" ops "rename no-such x"'
	step "rename a file being written, keep writing" \
		'python3 "$WT" ops "open A w1.txt wronly,creat,trunc; write A t:first-; rename w1.txt w2.txt; write A t:second; close A; readall w2.txt; disk w2.txt"'
	step "rename a file open O_RDWR (spooled), keep writing" \
		'cp "$WORK/r10K" w3.bin; python3 "$WT" ops "open A w3.bin rdwr; pwrite A 5 t:XX; rename w3.bin w4.bin; pwrite A 9000 t:YY; close A; readall w4.bin; disk w4.bin"'

	# --- chmod, utimens ---------------------------------------------------------------
	step --modes --top --sub dst.txt --sub log.txt --sub d2 "chmod 600 / 755 / 700 (SITE CHMOD)" 'chmod 600 dst.txt && chmod 755 log.txt && chmod 700 d2'
	step --mtimes --sub seq.txt "touch -d sets the server's mtime (file)" \
		'touch -d "2010-01-02 03:04:05" seq.txt'
	local dir_out dir_rc=0
	dir_out=$(t touch -d '2011-02-03 04:05:06' "$MNT/d2" 2>&1) || dir_rc=$?
	if [ "$DIR_MTIME" = 1 ]; then
		check_eq "$P touch -d on a directory sets the server's mtime" \
			"rc 0 2011-02-03 04:05:06" "rc $dir_rc $(date -u -r "$DATA/d2" '+%F %T')${dir_out:+ $dir_out}"
	else
		check_eq "$P touch -d on a directory the server cannot stamp: accepted" \
			"rc 0" "rc $dir_rc${dir_out:+ $dir_out}"
		if [ "$(grep -c "cannot set directory times" "$FTPFS_MOUNT_LOG")" = 1 ]; then
			ok "$P ... and logged once"
		else
			not_ok "$P ... and logged once" "$(grep "directory times" "$FTPFS_MOUNT_LOG" | head -n 3)"
		fi
	fi
	step "futimens on a file being written (cp -p, tar x), then close" \
		'python3 "$WT" ops "open A ut.bin wronly,creat,trunc; write A s9:1000; utime ut.bin 1000000000; close A; dmtime ut.bin"'
	step "utimens on a file open O_RDWR (spooled), then close" \
		'python3 "$WT" ops "open A ut.bin rdwr; pwrite A 10 t:x; utime ut.bin 1100000000; close A; dmtime ut.bin"'
	step "cp -p of a 20 MiB file keeps its mtime" \
		'cp -p "$WORK/r20M" old20.bin && python3 "$WT" ops "dmtime old20.bin" && rm old20.bin'
	# A directory's mtime moves when an entry is added; the mount must
	# not keep showing an older one (rsync decides from it whether to set
	# the directory's time again).
	mkdir "$MNT/dm" && t touch -d '2010-01-01 00:00:00' "$MNT/dm" 2>/dev/null
	t stat "$MNT/dm" >/dev/null
	sleep 1.1
	echo x >"$MNT/dm/f"
	act=$(t stat -c %Y "$MNT/dm")
	exp=$(stat -c %Y "$DATA/dm")
	if [ $((act > exp ? act - exp : exp - act)) -le "$(mtime_tol)" ]; then
		ok "$P a directory's mtime after creating a file in it (mount = disk +-$(mtime_tol)s)"
	else
		not_ok "$P a directory's mtime after creating a file in it (mount = disk +-$(mtime_tol)s)" \
			"disk:  $(date -u -d "@$exp" '+%F %T')" "mount: $(date -u -d "@$act" '+%F %T')"
	fi
	rm -r "$MNT/dm"
	step "touch creates a file" 'touch by-touch.txt && ls by-touch.txt'
	out=$(t touch "$MNT/seq.txt" 2>&1)
	act=$(($(date +%s) - $(stat -c %Y "$DATA/seq.txt")))
	if [ "$act" -ge -5 ] && [ "$act" -le 120 ]; then
		ok "$P touch of an existing file: the server's mtime is now (${act}s ago)"
	else
		not_ok "$P touch of an existing file: the server's mtime is now" \
			"$out" "the server's mtime is $(date -u -r "$DATA/seq.txt" '+%F %T')"
	fi

	# --- cp -a, tar, rsync ------------------------------------------------------------
	step --modes --mtimes --sub cp-a "cp -a of a tree (modes, mtimes)" \
		'cp -a "$WORK/tree" cp-a'
	step --modes --mtimes --sub tar-x "tar x of a tarball (modes, mtimes)" \
		'mkdir tar-x && tar xf "$WORK/tree.tar" -C tar-x'
	step --modes --mtimes --sub rs "rsync -a of a tree" \
		'rsync -a "$WORK/tree/" rs/'
	step --modes --mtimes --sub rs "rsync -a --delete of a changed tree (delta, temp file + rename)" \
		'rsync -a --delete --no-whole-file "$WORK/tree2/" rs/'
	step --modes --mtimes --file-mtimes --sub rs-omit "rsync -a --omit-dir-times" \
		'rsync -a --omit-dir-times "$WORK/tree/" rs-omit/'
	step --modes --mtimes --sub rs-in "rsync -a --inplace of a tree" \
		'rsync -a --inplace "$WORK/tree/" rs-in/'
	step --modes --mtimes --sub rs-in "rsync -a --inplace --no-whole-file of a changed tree (in-place delta)" \
		'rsync -a --inplace --no-whole-file --delete "$WORK/tree2/" rs-in/'

	# --- cache: what was just written is visible at once ---------------------------
	step "ls shows a new file at once (listing cached before)" \
		'ls > /dev/null; ls d2 > /dev/null; echo x > brand-new.txt; echo y > d2/brand-new2.txt; ls; ls d2'
	step "ls no longer shows a removed file" 'ls > /dev/null; rm brand-new.txt; ls'
	step "stat sees the new size at once" 'stat -c %s log.txt > /dev/null; echo more >> log.txt; stat -c %s log.txt'
	step "a reader sees what another fd is writing (stream)" \
		'python3 "$WT" ops "open A live.bin wronly,creat,trunc; write A s5:100000; readall live.bin; stat live.bin; write A s6:5000; readall live.bin; close A; readall live.bin; disk live.bin"'
	step "a reader sees what another fd is writing (O_RDWR, spooled)" \
		'python3 "$WT" ops "open A live.bin rdwr; pwrite A 50000 t:MIDDLE; readall live.bin; pwrite A 104990 t:ENDEND; readall live.bin; close A; disk live.bin"'
	step "an open reader sees later writes through another fd (POSIX)" \
		'python3 "$WT" ops "open A live.bin rdwr; open B live.bin rdonly; read B 0 70000; pwrite A 100 t:NEWDATA; read B 90 30; pwrite A 60000 t:MORE; read B 59990 30; close B; close A; disk live.bin"'
	step "fsync: the server has the data before close" \
		'python3 "$WT" ops "open A fs.bin wronly,creat,trunc; write A s7:300000; fsync A; disk fs.bin; write A s8:1000; fsync A; disk fs.bin; close A"'
	step "fsync on O_RDWR (spooled)" \
		'python3 "$WT" ops "open A fs.bin rdwr; pwrite A 10 t:abc; fsync A; disk fs.bin; close A"'
	step "unlink a file that is open for writing" \
		'python3 "$WT" ops "open A ul.bin wronly,creat,trunc; write A t:abc; unlink ul.bin; write A t:def; close A; stat ul.bin"'

	# --- errors ---------------------------------------------------------------------------
	step "ENOENT / EEXIST / EISDIR / ENOTDIR" \
		'python3 "$WT" ops "open A no-such-dir/x wronly,creat; open A dst.txt wronly,creat,excl; open A d2 wronly; open A d2 rdwr; open A dst.txt/x rdonly; open A dst.txt/x wronly,creat; mkdir d2; mkdir no-such-dir/x; mkdir dst.txt/x; rmdir no-such-dir; rmdir dst.txt; unlink d2; unlink no-such; truncate no-such 5; truncate d2 5; chmod no-such 644; stat dst.txt/x; rename d2 d2/a/inside"'
	step "echo > a directory: EISDIR" 'echo x > d2'
	out=$(cd "$MNT" && t python3 "$WT" ops "symlink dst.txt lnk" 2>&1)
	if srv_is_sftp "$cur"; then
		# SFTP has symlinks: the server's link points where asked.
		check_eq "$P symlink through the mount (SFTP)" "ok dst.txt" \
			"${out##*: } $(readlink "$DATA/lnk" 2>&1)"
		rm -f "$MNT/lnk"
	else
	case $out in
	*": ok") not_ok "$P symlink: documented as unsupported, but it worked" "$out" ;;
	*) if [ -e "$DATA/lnk" ] || [ -L "$DATA/lnk" ]; then
		not_ok "$P symlink fails and creates nothing" "$out" "$(ls -l "$DATA/lnk")"
	else
		ok "$P symlink fails and creates nothing (${out##*: })"
	fi ;;
	esac
	fi

	# --- git ---------------------------------------------------------------------------------
	out=$(cd "$MNT" && t git clone -q "$WORK/repo" gitclone 2>&1) && rc=0 || rc=$?
	check_eq "$P git clone of a local repo onto the mount" "rc 0" "rc $rc${out:+ $out}"
	out=$(t git -C "$MNT/gitclone" fsck --full --strict 2>&1) && rc=0 || rc=$?
	check_eq "$P git fsck --full of the clone (through the mount)" "rc 0" "rc $rc${out:+ $out}"
	out=$(t git -C "$DATA/gitclone" -c safe.directory='*' fsck --full --strict 2>&1) && rc=0 || rc=$?
	check_eq "$P git fsck --full of the clone on the server's disk" "rc 0" "rc $rc${out:+ $out}"
	check_eq "$P git log of the clone" "$(git -C "$WORK/repo" log --format=%H)" \
		"$(t git -C "$MNT/gitclone" log --format=%H 2>&1)"
	check_eq "$P git status of the clone is clean" "" "$(t git -C "$MNT/gitclone" status --porcelain 2>&1)"
	check_eq "$P checked-out files on the server's disk = the repository's" \
		"$(cd "$WORK/repo" && git ls-files -s | awk '{ print $2, $4 }')" \
		"$(cd "$DATA/gitclone" && for f in $(git -c safe.directory='*' ls-files); do printf '%s %s\n' "$(git hash-object "$f")" "$f"; done)"
	out=$( (cd "$MNT/gitclone" && echo change >>file1.txt && t git commit -q -am 'on the mount' &&
		t git gc -q && t git fsck --full --strict) 2>&1) && rc=0 || rc=$?
	check_eq "$P git commit + gc + fsck in the clone" "rc 0" "rc $rc${out:+ $out}"
	check_eq "$P git log after the commit (server's disk)" "on the mount" \
		"$(git -C "$DATA/gitclone" -c safe.directory='*' log -1 --format=%s 2>&1)"

	# --- leftovers --------------------------------------------------------------------------
	check_eq "$P no temporary upload files (.NAME.ftpfs-*) left on the server" "" \
		"$(cd "$DATA" && find . -name '.*.ftpfs-*')"
	check_eq "$P spool dir has nothing left after successful uploads" "" \
		"$(find "$SPOOL" -mindepth 1 2>/dev/null)"
	out=$(t df -P "$MNT" 2>&1) && rc=0 || rc=$?
	check_eq "$P df (statfs) on the mount" "rc 0 $MNT" "rc $rc $(printf '%s' "$out" | awk 'NR == 2 { print $6 }')"
	out=$(grep -E 'error|warn' "$SRV_TMP/$cur-mount.log" | grep -v 'trace:' | head -n 20)
	[ -z "$out" ] || note "$P ftpfs logged: $out"
}

# --- ProFTPD with "AllowOverwrite off": RNTO and STOR onto an existing file
# are refused (550), like IIS and FileZilla Server 0.9 refuse RNTO.
# rename(2) must still replace (DELE + retry); an upload over an existing
# file either works or fails with EACCES, and never loses the original.
suite_noover() {
	cur=proftpd-noover
	local P="[$cur]" port out rc
	DATA=$SRV_TMP/$cur-data
	REF=$SRV_TMP/$cur-ref
	SPOOL=$SRV_TMP/$cur-spool
	DIR_MTIME=1
	rm -rf "$DATA" "$REF"
	mkdir -p "$DATA" "$REF"
	chown "$SRV_USER": "$DATA"
	# servers.sh writes the configuration with this one change; no stop and
	# restart on the same port (a restart raced the old listener under load).
	if ! SRV_PROFTPD_OVERWRITE=off srv_start proftpd "$DATA" >/dev/null 2>&1; then
		not_ok "$P start proftpd with AllowOverwrite off" \
			"$(tail -n 5 "$SRV_TMP/srv-proftpd/stderr.log" "$SRV_TMP/srv-proftpd/system.log" 2>&1)"
		return
	fi
	port=$(srv_port proftpd)
	note "$P proftpd with AllowOverwrite off on 127.0.0.1:$port"
	MOUNT_URL=$(srv_url proftpd)
	if mount_it "$P mount"; then
		step "create files" 'echo old > a.txt; echo new > b.txt; seq 1 3000 > c.txt; cp "$WORK/r1M" d.bin'
		step "rename over an existing file (RNTO refused: DELE + retry)" 'mv b.txt a.txt && cat a.txt'
		step "in-place edit: spooled upload renamed over the original" \
			'dd if="$WORK/r4K" of=d.bin bs=4096 seek=10 conv=notrunc status=none'
		step "sed -i (temp file renamed over the original)" 'sed -i "s/^1/one/" c.txt'
		step "vim-style save: write .x.swp, rename over x" \
			'printf "v1\n" > x.txt; printf "v2\n" > .x.txt.swp; mv .x.txt.swp x.txt; cat x.txt'
		local f
		for f in a.txt d.bin; do
			rc=0
			out=$(t cp "$WORK/r10K" "$MNT/$f" 2>&1) || rc=$?
			if [ "$rc" -eq 0 ] && [ "$(sha256sum <"$DATA/$f")" = "$(sha256sum <"$WORK/r10K")" ]; then
				ok "$P cp over an existing $f (STOR refused): replaced"
			elif [ "$rc" -ne 0 ] && [ "$(sha256sum <"$DATA/$f")" = "$(sha256sum <"$REF/$f")" ] &&
				printf '%s' "$out" | grep -q 'Permission denied'; then
				ok "$P cp over an existing $f (STOR refused): EACCES, the original is intact"
			else
				not_ok "$P cp over an existing $f: replaced, or EACCES with the original intact" \
					"exit $rc: $out" "server: $(stat -c %s "$DATA/$f" 2>&1) bytes, sha $(sha256sum <"$DATA/$f" | cut -c1-16)" \
					"original: $(stat -c %s "$REF/$f") bytes, sha $(sha256sum <"$REF/$f" | cut -c1-16)"
			fi
		done
		check_eq "$P no temporary upload files left" "" "$(cd "$DATA" && find . -name '.*.ftpfs-*')"
		umount_it "$P unmount"
	fi
	MOUNT_URL=
	srv_stop proftpd
}

# --- vsftpd with max_per_ip=1: the pool shrinks to one connection, which an
# upload holds until it ends.  Everything around the upload (the stat after
# create, fchmod/futimens on the open file, cp -a, ls) must neither wait for
# a second connection nor fail: each step must finish in seconds.
suite_oneconn() {
	cur=vsftpd
	local P="[vsftpd max_per_ip=1]" T=20
	DATA=$SRV_TMP/oneconn-data
	REF=$SRV_TMP/oneconn-ref
	SPOOL=$SRV_TMP/oneconn-spool
	server_caps
	rm -rf "$DATA" "$REF"
	mkdir -p "$DATA" "$REF"
	chown "$SRV_USER": "$DATA"
	if ! SRV_VSFTPD_EXTRA="max_per_ip=1" srv_start vsftpd "$DATA"; then
		not_ok "$P start vsftpd"
		return
	fi
	if mount_it "$P mount (-o connections=4)" -o connections=4; then
		step "touch, echo >, : > of new files (one connection)" \
			'touch t1 && echo hi > t2 && : > t3 && ls -l t1 t2 t3 >/dev/null'
		step --modes --mtimes --sub cpp "cp -p of a file (one connection)" \
			'mkdir cpp && cp -p "$WORK/r1M" cpp/p1.bin'
		step --modes --mtimes --sub cp-a "cp -a of a tree (one connection)" \
			'cp -a "$WORK/tree" cp-a'
		step "append, sed -i, in-place dd (one connection)" \
			'echo more >> t2 && sed -i "s/hi/HI/" t2 && printf ZZ | dd of=cpp/p1.bin bs=1 seek=9 conv=notrunc status=none'
		step "mv, rm, ls -lR (one connection)" 'mv t1 t1.moved && rm t3 && ls -lR . >/dev/null'
		# The steps above may all fit on one connection; make sure the
		# pool asks for a second: a reader holds a transfer open (its
		# pages dropped first, so the read reaches ftpfs) while the same
		# process writes a new file.
		step "echo > a new file while a read is under way (one connection)" \
			"python3 -c '$HOLD_READ_PY' cpp/p1.bin second.txt"
		if grep -q "server limits connections: pool shrunk to 1" "$FTPFS_MOUNT_LOG"; then
			ok "$P the pool met the server's limit (logged) and shrank"
		else
			not_ok "$P the pool met the server's limit" "$(grep -v trace: "$FTPFS_MOUNT_LOG" | tail -n 5)"
		fi
		umount_it "$P unmount"
	fi
	srv_stop vsftpd
}

# --- main -------------------------------------------------------------------------------------
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
note "fsx seed: $FSX_SEED (FSX_SEED=$FSX_SEED reproduces it)"
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
case " $SERVERS " in *" proftpd "*) suite_noover ;; esac
case " $SERVERS " in *" vsftpd "*) suite_oneconn ;; esac

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
