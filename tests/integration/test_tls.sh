#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# FTPS through real FUSE mounts of vsftpd (require_ssl_reuse=YES) on
# 127.0.0.1, with a certificate authority made for the run
# (tests/lib/tlsca.sh).  As root:
#
#     FTPFS=build/ftpfs bash tests/integration/test_tls.sh
#
#  - ftpes:// (AUTH TLS) and ftps:// (implicit): mount, read, write,
#    zero-byte upload, active mode, more transfers than one control connection has
#    TLS 1.3 tickets for; no password and no file byte in clear text;
#  - -o tls=require on ftp://; -o tls=try against a server without TLS
#    mounts with a warning; ftpes:// against it is refused;
#  - certificates: untrusted (no cafile), wrong host name, expired and
#    self-signed are refused with their reason and a fingerprint to pin;
#    a pinned fingerprint mounts a self-signed server, a wrong pin does
#    not; -o insecure mounts and warns.
# Ends with "N passed, N failed".  SERVERS is accepted and ignored (only
# vsftpd has an FTPS set-up so far).
set -u
set -o pipefail
exec </dev/null

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/servers.sh
. "$repo/tests/lib/servers.sh"

export LC_ALL=C.UTF-8
FTPFS=${FTPFS:-build/ftpfs}
case $FTPFS in /*) ;; *) FTPFS=$repo/$FTPFS ;; esac
FTPFS_REAL=$(readlink -f "$FTPFS" 2>/dev/null || printf '%s' "$FTPFS")

passed=0
failed=0
ok() {
	passed=$((passed + 1))
	printf 'ok - %s\n' "$1"
}
not_ok() {
	local name=$1
	shift
	failed=$((failed + 1))
	printf 'FAIL - %s\n' "$name"
	for l in "$@"; do printf '%s\n' "$l" | sed 's/^/#   /'; done
}
check() { # NAME CMD...
	local name=$1
	shift
	if "$@" >/dev/null 2>&1; then ok "$name"; else not_ok "$name" "failed: $*"; fi
}

srv_init
srv_sanitizers_init
SRV_TLS_DIR=$SRV_TMP/tls
export SRV_TLS_DIR
if ! srv_tls_init; then
	not_ok "make the test CA"
	printf '%d passed, %d failed\n' "$passed" "$failed"
	exit 1
fi
CA=cafile=$SRV_TLS_DIR/ca.pem
DATA=$SRV_TMP/data
MNT=$SRV_TMP/mnt
mkdir -p "$DATA/sub" "$MNT"
echo "hello over TLS" >"$DATA/hello.txt"
head -c $((3 << 20)) /dev/urandom >"$DATA/rand-3M.bin"
for i in 1 2 3 4 5 6; do echo "file $i" >"$DATA/sub/f$i.txt"; done
head -c $((2 << 20)) /dev/urandom >"$SRV_TMP/up.bin"
chown -R "$SRV_USER" "$DATA"

# mount_tls NAME URL [ARGS...]: foreground mount, log in $SRV_TMP/NAME.log
mount_tls() {
	local name=$1 url=$2
	shift 2
	LOG=$SRV_TMP/$name.log
	: >"$LOG"
	if FTPFS_MOUNT_LOG=$LOG ftpfs_mount "$FTPFS" "$MNT" "$url" -f "$@"; then
		ok "$name: mounted (${FTPFS_MOUNT_SECS}s)"
		return 0
	fi
	not_ok "$name: mount" "exit $FTPFS_MOUNT_RC" "$(tail -n 5 "$LOG")"
	return 1
}
umount_tls() {
	ftpfs_umount "$MNT" "$FTPFS_REAL" >/dev/null 2>&1 ||
		not_ok "$1: unmount" "$(tail -n 5 "$LOG")"
}

# refuse NAME REGEX URL [ARGS...]: the mount fails, saying REGEX.
refuse() {
	local name=$1 want=$2 url=$3 out rc=0
	shift 3
	out=$(FTPFS_TEST_TAG=$SRV_TMP timeout -k 5 40 "$FTPFS" "$url" "$MNT" \
		"$@" 2>&1) || rc=$?
	if srv_is_mounted "$MNT"; then
		not_ok "$name: refused" "mounted (exit $rc)" "$out"
		ftpfs_umount "$MNT" "$FTPFS_REAL" >/dev/null 2>&1
	elif [ "$rc" -eq 0 ] || [ "$rc" -ge 124 ]; then
		not_ok "$name: refused" "exit $rc" "$out"
	elif ! printf '%s' "$out" | grep -qE "$want"; then
		not_ok "$name: refused, saying /$want/" "exit $rc" "$out"
	else
		ok "$name: refused ($(printf '%s' "$out" | head -n1 | cut -c1-150))"
	fi
	REFUSAL=$out
}

# The traffic of one mount must show neither the password nor file bytes.
cleartext_check() { # NAME PCAP-LESS: server log says TLS was used
	local name=$1 log
	log=$(srv_log vsftpd)
	if grep -q '"AUTH TLS"\|"PROT P"' "$log" || [ "${SRV_TLS:-}" = implicit ]; then
		ok "$name: the server saw TLS (AUTH TLS/PROT P or implicit)"
	else
		not_ok "$name: the server saw TLS" "$(tail -n 5 "$log")"
	fi
	# a 522 reply ("\"522 "), not any 522 in the log (an EPSV port)
	if grep -q 'No SSL session reuse\|"522 ' "$log"; then
		not_ok "$name: every data connection resumed the session" \
			"$(grep 'No SSL session reuse\|"522 ' "$log" | head -n 3)"
	else
		ok "$name: every data connection resumed the session"
	fi
}

# Reads, writes and a zero-byte upload through the mount at $MNT.
exercise() { # NAME
	local p=$1 i
	check "$p: cat hello.txt" grep -qx "hello over TLS" "$MNT/hello.txt"
	check "$p: cmp rand-3M.bin" cmp "$MNT/rand-3M.bin" "$DATA/rand-3M.bin"
	# More transfers than one control connection has tickets for.
	for i in 1 2 3 4 5 6; do
		grep -qx "file $i" "$MNT/sub/f$i.txt" || break
	done
	if [ "$i" = 6 ] && grep -qx "file 6" "$MNT/sub/f6.txt"; then
		ok "$p: six small reads in a row"
	else
		not_ok "$p: six small reads in a row" "stopped at f$i.txt" "$(tail -n 5 "$LOG")"
	fi
	check "$p: ls -l sub" ls -l "$MNT/sub"
	cp "$SRV_TMP/up.bin" "$MNT/up-$p.bin" 2>/dev/null
	check "$p: upload 2 MiB arrives intact" cmp "$SRV_TMP/up.bin" "$DATA/up-$p.bin"
	: >"$MNT/empty-$p.txt"
	if [ -f "$DATA/empty-$p.txt" ] && [ ! -s "$DATA/empty-$p.txt" ]; then
		ok "$p: zero-byte upload"
	else
		not_ok "$p: zero-byte upload" "$(ls -l "$DATA" | tail -n 5)" "$(tail -n 5 "$LOG")"
	fi
}

printf '# ftpfs under test: %s\n' "$FTPFS"

# --- explicit FTPS, certificate from the test CA ---------------------------
SRV_TLS=explicit SRV_TLS_CERT=good srv_start vsftpd "$DATA" || exit 1
URL=$(SRV_TLS=explicit srv_url vsftpd)
PLAIN=$(srv_url vsftpd)
if mount_tls explicit "$URL" -o "$CA"; then
	exercise explicit
	umount_tls explicit
	cleartext_check explicit
fi
if mount_tls trace "$URL" -o "$CA" -d; then
	cat "$MNT/hello.txt" >/dev/null 2>&1
	umount_tls trace
	if grep -q "> PASS \*\*\*\*" "$LOG" && ! grep -qF "$SRV_PASS" "$LOG"; then
		ok "-d: PASS is traced as ****, the password appears nowhere"
	else
		not_ok "-d: PASS is traced as ****" "$(grep PASS "$LOG" | head -n 3)"
	fi
	check "-d: the data channel is TLS and resumed" grep -q "data channel: TLS.*resumed" "$LOG"
fi
if mount_tls active "$URL" -o "$CA,data_mode=active" -d; then
	check "active: cat hello.txt" grep -qx "hello over TLS" "$MNT/hello.txt"
	check "active: cmp rand-3M.bin" cmp "$MNT/rand-3M.bin" "$DATA/rand-3M.bin"
	cp "$SRV_TMP/up.bin" "$MNT/up-active.bin" 2>/dev/null
	check "active: upload 2 MiB arrives intact" cmp "$SRV_TMP/up.bin" "$DATA/up-active.bin"
	umount_tls active
	check "active: EPRT used" grep -q "> EPRT" "$LOG"
fi
# auto:// on this port: SSH is not there, AUTH TLS is: ftpes://
LOG=$SRV_TMP/auto-ftpes.log
if FTPFS_MOUNT_LOG=$LOG ftpfs_mount "$FTPFS" "$MNT" "auto://$SRV_USER:$SRV_PASS@127.0.0.1:$(srv_port vsftpd)/" -o "$CA"; then
	check "auto:// picks ftpes:// where AUTH TLS is accepted, and says why" \
		grep -q "auto://127.0.0.1: ftpes://127.0.0.1:$(srv_port vsftpd)/ (AUTH TLS accepted" "$LOG"
	check "auto:// (ftpes): cat hello.txt" grep -qx "hello over TLS" "$MNT/hello.txt"
	umount_tls auto-ftpes
else
	not_ok "auto:// on an FTPS server: mount" "$(tail -n 5 "$LOG")"
fi
refuse "ftpes:// without -o cafile (CA unknown to the system)" \
	"unknown CA.*fingerprint=sha256:[0-9a-f]{64}" "$URL"
if mount_tls "tls-require" "$PLAIN" -o "tls=require,$CA"; then
	check "tls=require: cat hello.txt" grep -qx "hello over TLS" "$MNT/hello.txt"
	umount_tls tls-require
fi
if mount_tls insecure "$URL" -o insecure; then
	check "insecure: cat hello.txt" grep -qx "hello over TLS" "$MNT/hello.txt"
	umount_tls insecure
	check "insecure: warns" grep -q "insecure.*not checked" "$LOG"
fi
fp=$(tlsca_fingerprint "$SRV_TLS_DIR/good.crt")
if mount_tls "pinned CA-signed" "$URL" -o "fingerprint=$fp"; then
	umount_tls pinned
fi
srv_stop vsftpd

# --- certificates that must be refused -------------------------------------
SRV_TLS=explicit SRV_TLS_CERT=wrongname srv_start vsftpd "$DATA" || exit 1
refuse "wrong host name" "wrong host name.*fingerprint=sha256:" \
	"$(SRV_TLS=explicit srv_url vsftpd)" -o "$CA"
srv_stop vsftpd
SRV_TLS=explicit SRV_TLS_CERT=expired srv_start vsftpd "$DATA" || exit 1
refuse "expired certificate" "expired.*fingerprint=sha256:" \
	"$(SRV_TLS=explicit srv_url vsftpd)" -o "$CA"
srv_stop vsftpd
SRV_TLS=explicit SRV_TLS_CERT=self srv_start vsftpd "$DATA" || exit 1
URL=$(SRV_TLS=explicit srv_url vsftpd)
refuse "self-signed certificate" "self-signed.*fingerprint=sha256:" "$URL" -o "$CA"
fp=$(printf '%s' "$REFUSAL" | grep -o 'fingerprint=sha256:[0-9a-f]*' | head -n1)
if [ "$fp" = "fingerprint=$(tlsca_fingerprint "$SRV_TLS_DIR/self.crt")" ]; then
	ok "the refusal prints the certificate's SHA-256 fingerprint"
else
	not_ok "the refusal prints the certificate's SHA-256 fingerprint" "got '$fp'"
fi
if mount_tls "pinned self-signed" "$URL" -o "$fp"; then
	exercise pinned
	umount_tls pinned
fi
refuse "a wrong pin" "not the pinned one" "$URL" \
	-o "fingerprint=$(tlsca_fingerprint "$SRV_TLS_DIR/good.crt")"
srv_stop vsftpd

# --- implicit FTPS ---------------------------------------------------------
SRV_TLS=implicit SRV_TLS_CERT=good srv_start vsftpd "$DATA" || exit 1
if mount_tls implicit "$(SRV_TLS=implicit srv_url vsftpd)" -o "$CA"; then
	exercise implicit
	umount_tls implicit
	SRV_TLS=implicit cleartext_check implicit
fi
refuse "ftp:// to an implicit FTPS port suggests ftps://" "implicit-TLS.*try ftps://" \
	"$(srv_url vsftpd)" -o connect_timeout=3
srv_stop vsftpd

# --- a server without TLS --------------------------------------------------
srv_start vsftpd "$DATA" || exit 1
refuse "ftpes:// to a server without TLS" "refuses TLS" \
	"$(SRV_TLS=explicit srv_url vsftpd)" -o "$CA"
refuse "ftps:// (implicit) to a plain FTP port suggests ftpes://" \
	"not an implicit-TLS port.*ftpes://" \
	"ftps://$SRV_USER:$SRV_PASS@127.0.0.1:$(srv_port vsftpd)/" -o "$CA"
LOG=$SRV_TMP/auto-ftp.log
if FTPFS_MOUNT_LOG=$LOG ftpfs_mount "$FTPFS" "$MNT" "auto://$SRV_USER:$SRV_PASS@127.0.0.1:$(srv_port vsftpd)/"; then
	check "auto:// falls back to ftp:// without SSH or TLS, and says why" \
		grep -q "auto://127.0.0.1: ftp://127.0.0.1:$(srv_port vsftpd)/ (an FTP greeting" "$LOG"
	check "auto:// (ftp): warns that the password goes in clear text" \
		grep -q "sends the password of $SRV_USER to 127.0.0.1 in clear text" "$LOG"
	check "auto:// (ftp): cat hello.txt" grep -qx "hello over TLS" "$MNT/hello.txt"
	umount_tls auto-ftp
else
	not_ok "auto:// on a plain FTP server: mount" "$(tail -n 5 "$LOG")"
fi
refuse "auto:// with -o protocol=sftp,ftpes on a plain FTP server" \
	"no protocol of -o protocol answers.*sftp: port .*ftpes: port [0-9]+: AUTH TLS refused" \
	"auto://$SRV_USER:$SRV_PASS@127.0.0.1:$(srv_port vsftpd)/" -o protocol=sftp,ftpes
if mount_tls "tls=try without TLS" "$(srv_url vsftpd)" -o "tls=try,$CA"; then
	check "tls=try: cat hello.txt" grep -qx "hello over TLS" "$MNT/hello.txt"
	umount_tls tls-try
	check "tls=try: warns that it goes in clear text" grep -q "refuses TLS.*clear text" "$LOG"
fi
srv_stop vsftpd

# --- servers that require TLS, mounted with ftp:// ------------------------
# The refusal names the cure (ftpes://) instead of "login incorrect" or a
# connection limit: ProFTPD answers USER with 550, Pure-FTPd with 421.
for s in proftpd pureftpd; do
	case " ${SERVERS:-proftpd pureftpd} " in *" $s "*) ;; *) continue ;; esac
	if SRV_TLS=explicit SRV_TLS_CERT=good srv_start "$s" "$DATA"; then
		refuse "ftp:// to $s requiring TLS suggests ftpes://" \
			"requires TLS.*ftpes://127.0.0.1:$(srv_port "$s")/" "$(srv_url "$s")"
		srv_stop "$s"
	else
		not_ok "start $s with TLS required"
	fi
done

if out=$(srv_sanitizer_reports); then
	not_ok "no ASan/UBSan reports" "$out"
else
	ok "no ASan/UBSan reports"
fi

printf '%d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
