# SPDX-License-Identifier: GPL-2.0-or-later
#
# What the benchmarks share for FTPS, sourced after servers.sh: with
# SRV_TLS=explicit|implicit in the environment, bench_tls_setup makes the
# test CA and sets
#   EXTRA_OPTS   (appended) -o cafile=... for ftpfs
#   CURL_TLS     curl's arguments: --cacert, and --ssl-reqd for explicit
#                TLS (curl's URL for it stays ftp://: see curl_url)
#   RCLONE_TLS   rclone's remote options for the same
# Without SRV_TLS all three stay empty and the URLs are plain.

CURL_TLS=()
RCLONE_TLS=""

bench_tls_setup() {
	[ -n "${SRV_TLS:-}" ] || return 0
	srv_tls_init || return 1
	EXTRA_OPTS+=(-o "cafile=$SRV_TLS_DIR/ca.pem")
	CURL_TLS=(--cacert "$SRV_TLS_DIR/ca.pem")
	case $SRV_TLS in
	explicit)
		CURL_TLS+=(--ssl-reqd)
		RCLONE_TLS=",explicit_tls=true,no_check_certificate=true"
		;;
	implicit) RCLONE_TLS=",tls=true,no_check_certificate=true" ;;
	esac
}

# curl's URL for SERVER and PATH: explicit TLS is ftp:// with --ssl-reqd.
curl_url() { # SERVER [PATH]
	case ${SRV_TLS:-} in
	explicit) SRV_TLS='' srv_url "$1" "${2:-}" ;;
	*) srv_url "$1" "${2:-}" ;;
	esac
}

# An on-the-fly rclone remote for SERVER (":ftp,...:"), TLS as above.
rclone_remote() { # SERVER
	printf ':ftp,host=127.0.0.1,port=%s,user=%s,pass=%s%s:' \
		"$(srv_port "$1")" "$SRV_USER" "$(rclone obscure "$SRV_PASS")" \
		"$RCLONE_TLS"
}
