# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# The read-path test tree, built on the server's disk.  Source from bash.
#
#   fixture_build DIR [OWNER]    (re)create the tree in DIR, owned by OWNER
#   fixture_big FILE MIB [OWNER] a file of MIB MiB of random bytes
#
# What is in it and why:
#   plain.txt, "dir with space/needle.txt", a/b/c/deep.txt
#                       contain $FIXTURE_NEEDLE (grep -r must find exactly these)
#   "with space.txt", "  leading spaces.txt", "trailing space.txt "
#                       spaces are significant (never trimmed)
#   café.txt, 日本語.txt, "emoji 😀.txt", "dir 日本"/
#                       UTF-8 names, passed through as bytes
#   -rf (file), -a/ (dir with a file), -l (file)
#                       leading dashes: a client that passes names to LIST
#                       gets options instead (proftpd lists the dir "-a")
#   .hidden, .config/dir/settings.conf
#                       dotfiles: vsftpd/proftpd/pure-ftpd show them only with
#                       LIST -a, pyftpdlib always; MLSD always
#   link-to-file -> plain.txt, link-to-dir -> "dir with space",
#   dangling -> no-such-target
#   "arrow -> name.txt" a regular file whose name looks like a LIST symlink
#   "semi;colon=x.txt"  looks like MLSD facts
#   "Jan 01  2000 trap.txt"  looks like a LIST date
#   a/b/c/deep.txt, empty-dir/, empty.txt
#   rand-1.bin rand-4095.bin rand-4096.bin rand-1M7.bin (1 MiB + 7)
#   big-20M.bin         random bytes, for sha256 and offset reads
#   old.txt             mtime 2001-02-03 04:05:06 UTC (LIST shows a year)
#   private.txt (0600), script.sh (0755), locked-dir/ (0700)
#                       permission bits other than 0644/0755
#   tree/d00..d19/f000..f099
#                       2,000 files in 20 directories (21 with tree/) for
#                       counting listing commands during ls -lR
# Other mtimes are recent, distinct per top-level entry, with non-zero
# seconds, so that minute precision (vsftpd's LIST) is visible.

FIXTURE_NEEDLE=ftpfs-needle-6b1d9e
FIXTURE_OLD_EPOCH=981173106 # 2001-02-03 04:05:06 UTC
FIXTURE_TREE_DIRS=20
FIXTURE_TREE_FILES=100

fixture_rand() { # FILE BYTES
	head -c "$2" /dev/urandom >"$1"
}

fixture_big() {
	local f=$1 mib=$2 owner=${3:-}
	if [ ! -f "$f" ] || [ "$(stat -c %s "$f")" -ne $((mib * 1048576)) ]; then
		head -c "$((mib * 1048576))" /dev/urandom >"$f.tmp"
		mv "$f.tmp" "$f"
	fi
	chmod 644 "$f"
	[ -z "$owner" ] || chown "$owner": "$f"
}

fixture_build() {
	local d=$1 owner=${2:-} i j now
	rm -rf --one-file-system "$d"
	mkdir -p "$d"
	(
		set -e
		cd "$d"
		umask 022
		printf 'hello ftpfs\n%s\n' "$FIXTURE_NEEDLE" >plain.txt
		printf 'with space\n' >'with space.txt'
		printf 'lead!\n' >'  leading spaces.txt'
		printf 'trail!\n' >'trailing space.txt '
		printf 'café\n' >'café.txt'
		printf 'nihongo\n' >'日本語.txt'
		printf 'emoji\n' >'emoji 😀.txt'
		mkdir 'dir 日本'
		printf 'inner\n' >'dir 日本/inner file.txt'
		printf 'dash rf\n' >-rf
		printf 'dash l\n' >-l
		mkdir -- -a
		printf 'inside -a\n' >./-a/inside.txt
		printf 'hidden\n' >.hidden
		mkdir -p .config/dir
		printf 'key=value\n' >.config/dir/settings.conf
		mkdir 'dir with space'
		printf 'needle in a dir with a space\n%s\n' "$FIXTURE_NEEDLE" \
			>'dir with space/needle.txt'
		printf 'other\n' >'dir with space/other.txt'
		ln -s plain.txt link-to-file
		ln -s 'dir with space' link-to-dir
		ln -s no-such-target dangling
		printf 'not a link\n' >'arrow -> name.txt'
		printf 'semi\n' >'semi;colon=x.txt'
		printf 'trap\n' >'Jan 01  2000 trap.txt'
		mkdir -p a/b/c
		printf 'deep\n%s\n' "$FIXTURE_NEEDLE" >a/b/c/deep.txt
		mkdir empty-dir
		: >empty.txt
		fixture_rand rand-1.bin 1
		fixture_rand rand-4095.bin 4095
		fixture_rand rand-4096.bin 4096
		fixture_rand rand-1M7.bin $((1048576 + 7))
		fixture_rand big-20M.bin $((20 * 1048576))
		printf 'old\n' >old.txt
		printf 'private\n' >private.txt
		chmod 600 private.txt
		printf '#!/bin/sh\necho hi\n' >script.sh
		chmod 755 script.sh
		mkdir locked-dir
		printf 'x\n' >locked-dir/x.txt
		chmod 700 locked-dir
		mkdir tree
		for ((i = 0; i < FIXTURE_TREE_DIRS; i++)); do
			printf -v sub 'tree/d%02d' "$i"
			mkdir "$sub"
			for ((j = 0; j < FIXTURE_TREE_FILES; j++)); do
				printf '%s/f%03d\n' "$sub" "$j" >"$(printf '%s/f%03d' "$sub" "$j")"
			done
		done
		# One fixed recent time (yesterday, seconds = 37) for everything
		# but old.txt, links included (-h).
		now=$(date -u -d 'yesterday 13:21:37' +%s)
		find . -depth -exec touch -h -d "@$now" {} +
		# Distinct times for the top-level entries (61 min + 7 s
		# apart, all within the last 180 days), so that a client that
		# mixes up entries or time zones is caught.
		i=0
		for f in * .[!.]*; do
			i=$((i + 1))
			touch -h -d "@$((now - i * 3667))" -- "$f"
		done
		touch -d @"$FIXTURE_OLD_EPOCH" old.txt
	) || return 1
	if [ -n "$owner" ]; then
		chown -hR "$owner": "$d"
	fi
}
