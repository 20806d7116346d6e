#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# What `meson install` and contrib/ give a user, checked without a server:
#  - meson install (DESTDIR) installs ftpfs, the man page and the bash
#    completion;
#  - the man page renders without groff warnings and names every -o option
#    that ftpfs --help lists;
#  - contrib/systemd units pass systemd-analyze verify with no message;
#  - every line of contrib/fstab.example is well formed and its options are
#    accepted by ftpfs (mounted against a closed port on 127.0.0.1: the
#    mount must fail connecting, never on an option);
#  - the bash completion offers the schemes and every option --help lists.
#
#   FTPFS=build/ftpfs
# Prints "ok - NAME" / "FAIL - NAME" and finally "N passed, N failed".
set -u
set -o pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/servers.sh
. "$repo/tests/lib/servers.sh"

export LC_ALL=C.UTF-8
FTPFS=${FTPFS:-build/ftpfs}
case $FTPFS in /*) ;; *) FTPFS=$repo/$FTPFS ;; esac
BUILD=$(dirname "$FTPFS")
passed=0
failed=0
ok() {
	passed=$((passed + 1))
	printf 'ok - %s\n' "$1"
}
not_ok() {
	failed=$((failed + 1))
	printf 'FAIL - %s\n' "$1"
	[ -z "${2:-}" ] || printf '%s\n' "$2" | head -n 20 | sed 's/^/#   /'
}

srv_init
srv_sanitizers_init
MNT=$SRV_TMP/mnt
mkdir -p "$MNT"
# every -o name --help shows ("netrc[=FILE]" as netrc)
HELP_OPTS=$("$FTPFS" --help 2>&1 | grep -o -E -- '-o [A-Za-z_]+' | sed 's/^-o //' | sort -u)

# --- --help -------------------------------------------------------------------
help=$("$FTPFS" --help 2>&1)
if printf '%s\n' "$help" | grep -q -- "-o \[no\]auto_cache .*(on in ftpfs)" &&
	! printf '%s\n' "$help" | grep -q -- "auto_cache .*(off)" &&
	printf '%s\n' "$help" | grep -q -- "-o attr_timeout=T .*(0 in ftpfs)" &&
	printf '%s\n' "$help" | grep -q -- "-o entry_timeout=T .*(cache_timeout in ftpfs)"; then
	ok "--help: libfuse's option list shows ftpfs's defaults (auto_cache on, timeouts)"
else
	not_ok "--help: libfuse's option list shows ftpfs's defaults" \
		"$(printf '%s\n' "$help" | grep -E "auto_cache|_timeout=")"
fi

# --- meson install ------------------------------------------------------------
DEST=$SRV_TMP/dest
if out=$(DESTDIR=$DEST meson install -C "$BUILD" --quiet 2>&1); then
	missing=""
	for f in bin/ftpfs share/man/man1/ftpfs.1 share/bash-completion/completions/ftpfs; do
		[ -e "$DEST/usr/local/$f" ] || missing+=" $f"
	done
	if [ -z "$missing" ]; then
		ok "meson install: ftpfs, its man page and bash completion"
	else
		not_ok "meson install: missing$missing" "$(cd "$DEST" && find . -type f)"
	fi
else
	not_ok "meson install (DESTDIR)" "$out"
fi

# --- man page -----------------------------------------------------------------
MAN=$repo/contrib/ftpfs.1
out=$(groff -man -Tutf8 -ww -z "$MAN" 2>&1)
if [ -z "$out" ]; then
	ok "man page: groff -ww renders it without a warning"
else
	not_ok "man page: groff warnings" "$out"
fi
text=$(groff -man -Tascii "$MAN" 2>/dev/null | sed 's/.\x08//g' | tr -s ' \n\t' '   ')
missing=""
for o in $HELP_OPTS; do
	printf '%s' "$text" | grep -q -- "-o $o" || missing+=" $o"
done
# libfuse's own options (--help prints them after ours) need not be there
for o in $missing; do
	case " allow_other allow_root auto_unmount ac_attr_timeout attr_timeout entry_timeout negative_timeout gid uid umask kernel_cache modules subdir from_code to_code remember noforget no_rofd_flush options fuse_debug " in
	*" $o "*) missing=${missing/ $o/} ;;
	esac
done
if [ -z "$missing" ]; then
	ok "man page: every -o option of ftpfs --help is described"
else
	not_ok "man page: options --help lists and the man page does not:$missing"
fi

# --- systemd units ------------------------------------------------------------
if command -v systemd-analyze >/dev/null; then
	out=$(cd "$repo/contrib/systemd" && systemd-analyze verify ./*.mount ./*.automount 2>&1)
	rc=$?
	if [ "$rc" -eq 0 ] && [ -z "$out" ]; then
		ok "contrib/systemd: systemd-analyze verify passes without a message"
	else
		not_ok "contrib/systemd: systemd-analyze verify (exit $rc)" "$out"
	fi
else
	not_ok "systemd-analyze missing (tests/deps.sh installs systemd)"
fi

# --- fstab example ------------------------------------------------------------
CRED=$SRV_TMP/example.cred
printf 'username=alice\npassword=s3cret\n' >"$CRED"
chmod 600 "$CRED"
n=0
while read -r src target type opts dump pass rest; do
	case $src in '' | '#'*) continue ;; esac
	n=$((n + 1))
	if [ -z "$pass" ] || [ -n "$rest" ] || [ "$type" != fuse.ftpfs ] ||
		[ "${target#/}" = "$target" ] || [ "$dump$pass" != 00 ]; then
		not_ok "fstab.example line $n: six fields, type fuse.ftpfs" "$src $target $type $opts $dump $pass $rest"
		continue
	fi
	# the same scheme on a closed loopback port: options are parsed first
	# (a credentials file of our own in place of the example's)
	scheme=${src%%://*}
	opts=$(printf '%s' "$opts" | sed "s|credentials=[^,]*|credentials=$CRED|")
	out=$(timeout 20 "$FTPFS" "$scheme://127.0.0.1:1/" "$MNT" -o "$opts" </dev/null 2>&1)
	rc=$?
	srv_is_mounted "$MNT" && ftpfs_umount "$MNT" "$FTPFS" >/dev/null 2>&1
	if [ "$rc" -ne 0 ] && printf '%s' "$out" | grep -q -i "refused\|connect" &&
		! printf '%s' "$out" | grep -q -i "unknown option\|invalid\|not supported"; then
		ok "fstab.example line $n ($scheme): its options are accepted"
	else
		not_ok "fstab.example line $n ($scheme): options accepted, the mount fails connecting" "exit $rc: $out"
	fi
done <"$repo/contrib/fstab.example"
[ "$n" -ge 3 ] || not_ok "fstab.example: at least 3 lines (got $n)"

# --- bash completion ----------------------------------------------------------
out=$(bash -c '
	. "$1/contrib/bash-completion/ftpfs"
	comp() { COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=(); _ftpfs; printf "%s\n" "${COMPREPLY[@]}"; }
	echo "schemes: $(comp "$2" "" | tr "\n" " ")"
	echo "options: $(comp "$2" -o "" | tr "\n" " ")"
	echo "list: $(comp "$2" -o "ro,cred" | tr "\n" " ")"
' _ "$repo" "$FTPFS" 2>&1)
schemes=$(printf '%s\n' "$out" | sed -n 's/^schemes: //p')
opts=$(printf '%s\n' "$out" | sed -n 's/^options: //p')
if [ "$schemes" = "ftp:// ftpes:// ftps:// sftp:// auto:// " ]; then
	ok "bash completion: the first word offers the schemes"
else
	not_ok "bash completion: schemes" "$out"
fi
missing=""
for o in $HELP_OPTS; do
	case " $opts " in *" $o "* | *" $o= "*) ;; *) missing+=" $o" ;; esac
done
if [ -z "$missing" ]; then
	ok "bash completion: -o offers every option of --help"
else
	not_ok "bash completion: -o misses$missing" "$out"
fi
if printf '%s\n' "$out" | grep -q "^list: ro,credentials= $"; then
	ok "bash completion: -o ro,cred completes to ro,credentials="
else
	not_ok "bash completion: -o ro,cred" "$out"
fi

if out=$(srv_sanitizer_reports); then
	not_ok "no ASan/UBSan reports" "$out"
else
	ok "no ASan/UBSan reports"
fi

printf '%d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
