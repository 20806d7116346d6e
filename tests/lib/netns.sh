# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# Private network namespaces with firewall rules, and FTP servers with the
# settings the data-channel tests need (a known passive port range, IPv6, a
# masqueraded PASV address, no EPSV), for tests/integration/test_datachan.sh.
# Source from bash, after tests/lib/servers.sh; run as root.
#
# On the host (outside any test namespace):
#   netns_create NAME        ip netns add NAME; bring up its lo; ephemeral
#                            ports 50000-60999 there (so that the kernel never
#                            picks a port inside the ranges the rules drop)
#   netns_destroy NAME       kill what runs in NAME (by pid), ip netns del
#   netns_destroy_all        every namespace netns_create made (for traps)
#
# Inside a namespace (everything below refuses to run in the host's):
#   netns_assert_private     exit unless this is not the host's namespace
#   netns_drop_syn LO-HI     drop incoming TCP SYNs to ports LO-HI (a
#                            firewall: the connection times out, no RST)
#   netns_blackhole ADDR     drop incoming TCP SYNs to ADDR (127.x or ::1)
#   netns_rules              print the ruleset (for failure reports)
#
#   dc_srv_start NAME KIND DIR [OPTIONS...]
#                            KIND: vsftpd | proftpd | pureftpd | pyftpdlib
#                            | fakeftp
#                            serves DIR as user $SRV_USER / $SRV_PASS; with
#                            SRV_TLS=explicit (vsftpd, proftpd, pureftpd)
#                            over FTPS as tests/lib/servers.sh sets it up.
#                            OPTIONS: --pasv LO-HI   passive port range
#                                     --v6           listen on ::1 only
#                                     --masq ADDR    announce ADDR in 227
#                                                    (pyftpdlib, fakeftp)
#                                     --no-epsv      pyftpdlib without EPSV
#                                     -- ARGS...     more fakeftp.py args
#   dc_srv_stop NAME
#   dc_url NAME [PATH]       ftp://user:pass@127.0.0.1:PORT/PATH (or [::1];
#                            ftpes:// under SRV_TLS)
#   dc_tls_kind KIND         can KIND serve $SRV_TLS (always, without it)?
#   dc_srv_log NAME          its protocol log
#   dc_srv_cmds NAME         the commands it received, one a line
#
# All traffic stays on the namespace's lo (127.0.0.1 and ::1); nothing here
# creates interfaces or addresses, and nft rules only ever go into a test
# namespace's own ruleset.

NETNS_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NETNS_REPO=$(cd "$NETNS_LIB_DIR/../.." && pwd)
NETNS_FAKEFTP=$NETNS_REPO/tests/fakeftp/fakeftp.py
NETNS_PY=/usr/bin/python3
NETNS_TABLE=ftpfs_dc

declare -ga NETNS_MADE=()
declare -gA DC_SRV_PORT=() DC_SRV_PID=() DC_SRV_LOG=() DC_SRV_HOST=() DC_SRV_KIND=()

netns_msg() { printf '# %s\n' "$*" >&2; }

# --- host side ---------------------------------------------------------------

netns_create() {
	local ns=$1
	ip netns add "$ns" || return 1
	NETNS_MADE+=("$ns")
	ip -n "$ns" link set lo up || return 1
	ip netns exec "$ns" sysctl -q -w net.ipv4.ip_local_port_range="50000 60999" ||
		return 1
}

netns_destroy() {
	local ns=$1 p i left
	ip netns list 2>/dev/null | awk '{ print $1 }' | grep -qxF "$ns" || return 0
	# Only processes inside our own namespace: all of them were started
	# by this test (servers, ftpfs, the scenario shell).
	for p in $(ip netns pids "$ns" 2>/dev/null); do
		kill -TERM "$p" 2>/dev/null || true
	done
	for ((i = 0; i < 30; i++)); do
		left=$(ip netns pids "$ns" 2>/dev/null)
		[ -n "$left" ] || break
		sleep 0.1
	done
	for p in $(ip netns pids "$ns" 2>/dev/null); do
		kill -KILL "$p" 2>/dev/null || true
	done
	ip netns del "$ns" 2>/dev/null || {
		sleep 0.5
		ip netns del "$ns"
	}
}

netns_destroy_all() {
	local ns
	for ns in "${NETNS_MADE[@]}"; do
		netns_destroy "$ns"
	done
	NETNS_MADE=()
}

# --- inside a namespace --------------------------------------------------------

netns_assert_private() {
	if [ "$(readlink /proc/self/ns/net)" = "$(readlink /proc/1/ns/net)" ]; then
		netns_msg "refusing to touch the host's network namespace"
		exit 2
	fi
}

netns_table() {
	netns_assert_private
	nft list table inet "$NETNS_TABLE" >/dev/null 2>&1 && return 0
	nft -f - <<EOF
table inet $NETNS_TABLE {
	chain input {
		type filter hook input priority 0; policy accept;
	}
}
EOF
}

# A SYN alone (no ACK) is a new connection; replies are left alone.
netns_drop_syn() {
	netns_table || return 1
	nft add rule inet "$NETNS_TABLE" input \
		tcp dport "$1" tcp flags \& \(syn \| ack\) == syn counter drop
}

netns_blackhole() {
	local fam=ip
	case $1 in *:*) fam=ip6 ;; esac
	netns_table || return 1
	nft add rule inet "$NETNS_TABLE" input \
		"$fam" daddr "$1" tcp flags \& \(syn \| ack\) == syn counter drop
}

netns_rules() { nft list ruleset 2>&1; }

# Wait until something answers 220 on HOST PORT (or PID died).
dc_wait_listen() {
	local host=$1 port=$2 pid=$3 i line
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || return 1
		line=$( (exec 9<>"/dev/tcp/$host/$port" &&
			read -r -t 5 l <&9 && printf '%s' "$l") 2>/dev/null) || true
		case $line in 220*) return 0 ;; esac
		sleep 0.1
	done
	return 1
}

# Start CMD... in its own session (process group) logging to LOG; the
# servers.sh cleanup kills the group (srv_track_pid).
dc_spawn() {
	local log=$1
	shift
	FTPFS_TEST_TAG=$SRV_TMP setsid "$@" </dev/null >>"$log" 2>&1 &
	DC_SPAWNED=$!
	srv_track_pid "$DC_SPAWNED"
}

dc_vsftpd_conf() { # DIR PORT WD HOST PASV_LO PASV_HI
	local dir=$1 port=$2 wd=$3 host=$4 lo=$5 hi=$6
	mkdir -p "$wd/empty"
	chmod 755 "$wd/empty"
	if [ "$host" = ::1 ]; then
		printf 'listen=NO\nlisten_ipv6=YES\nlisten_address6=::1\n'
	else
		printf 'listen=YES\nlisten_ipv6=NO\nlisten_address=127.0.0.1\n'
	fi
	[ -z "$lo" ] || printf 'pasv_min_port=%s\npasv_max_port=%s\n' "$lo" "$hi"
	cat <<EOF
listen_port=$port
background=NO
anonymous_enable=NO
local_enable=YES
write_enable=YES
local_umask=022
local_root=$dir
chroot_local_user=YES
allow_writeable_chroot=YES
pam_service_name=ftpfs-test
userlist_enable=NO
use_localtime=NO
connect_from_port_20=NO
port_enable=YES
pasv_enable=YES
secure_chroot_dir=$wd/empty
xferlog_enable=YES
xferlog_std_format=NO
log_ftp_protocol=YES
vsftpd_log_file=$wd/protocol.log
syslog_enable=NO
dirmessage_enable=NO
idle_session_timeout=600
data_connection_timeout=300
accept_timeout=60
connect_timeout=60
max_clients=0
max_per_ip=0
seccomp_sandbox=NO
EOF
}

dc_proftpd_conf() { # DIR PORT WD HOST PASV_LO PASV_HI
	local dir=$1 port=$2 wd=$3 host=$4 lo=$5 hi=$6 hash
	hash=$(openssl passwd -6 "$SRV_PASS")
	printf '%s:%s:%s:%s::%s:/bin/sh\n' "$SRV_USER" "$hash" \
		"$SRV_UID" "$SRV_GID" "$dir" >"$wd/ftpd.passwd"
	printf '%s:x:%s:\n' "$SRV_USER" "$SRV_GID" >"$wd/ftpd.group"
	chmod 600 "$wd/ftpd.passwd"
	[ -z "$lo" ] || printf 'PassivePorts\t\t%s %s\n' "$lo" "$hi"
	if [ "$host" = ::1 ]; then
		printf 'UseIPv6\t\t\ton\nDefaultAddress\t\t::1\n'
	else
		printf 'UseIPv6\t\t\toff\nDefaultAddress\t\t127.0.0.1\n'
	fi
	cat <<EOF
ServerName		"ftpfs-datachan-test"
ServerType		standalone
DefaultServer		on
Port			$port
SocketBindTight		on
UseReverseDNS		off
User			nobody
Group			nogroup
Umask			022
MaxInstances		30
PidFile			$wd/proftpd.pid
ScoreboardFile		$wd/proftpd.scoreboard
DelayTable		$wd/proftpd.delay
ControlsEngine		off
WtmpLog			off
AuthPAM			off
AuthOrder		mod_auth_file.c
AuthUserFile		$wd/ftpd.passwd
AuthGroupFile		$wd/ftpd.group
RequireValidShell	off
DefaultRoot		~
AllowOverwrite		on
TimeoutIdle		600
TimeoutNoTransfer	600
SystemLog		$wd/system.log
TransferLog		$wd/xfer.log
LogFormat		cmds "CMD %m %r"
ExtendedLog		$wd/protocol.log ALL cmds
EOF
}

dc_pyftpdlib_script() {
	cat <<'EOF'
import logging, os, sys
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer
port, root, log, host, prange, masq, noepsv = sys.argv[1:8]
logging.basicConfig(filename=log, level=logging.DEBUG,
                    format="[%(asctime)s] %(message)s")
auth = DummyAuthorizer()
auth.add_user(os.environ["SRV_USER"], os.environ["SRV_PASS"], root,
              perm="elradfmwMT")


class Handler(FTPHandler):
    authorizer = auth
    banner = "pyftpdlib ready (ftpfs datachan tests)"


if noepsv == "1":
    # Commands missing from proto_cmds are answered 500 and left out of FEAT.
    Handler.proto_cmds = {k: v for k, v in FTPHandler.proto_cmds.items()
                          if k != "EPSV"}
if prange:
    lo, hi = (int(x) for x in prange.split("-"))
    Handler.passive_ports = list(range(lo, hi + 1))
if masq:
    Handler.masquerade_address = masq
FTPServer((host, int(port)), Handler).serve_forever()
EOF
}

# dc_srv_start NAME KIND DIR [--pasv LO-HI] [--v6] [--masq ADDR] [--no-epsv]
#              [-- FAKEFTP-ARGS...]
dc_srv_start() {
	local name=$1 kind=$2 dir=$3 host=127.0.0.1 lo='' hi='' masq='' noepsv=0
	local wd port
	local -a fake=()
	shift 3
	while [ $# -gt 0 ]; do
		case $1 in
		--pasv) lo=${2%-*} hi=${2#*-}; shift ;;
		--v6) host=::1 ;;
		--masq) masq=$2; shift ;;
		--no-epsv) noepsv=1 ;;
		--) shift; fake=("$@"); break ;;
		*) netns_msg "dc_srv_start: unknown option $1"; return 1 ;;
		esac
		shift
	done
	netns_assert_private
	[ -n "$SRV_TMP" ] || srv_init
	if ! dc_tls_kind "$kind"; then
		netns_msg "dc_srv_start: $kind cannot serve SRV_TLS=$SRV_TLS here"
		return 1
	fi
	if [ -n "${SRV_TLS:-}" ]; then
		srv_tls_init || return 1
	fi
	dir=$(cd "$dir" && pwd)
	wd=$SRV_TMP/srv-$name
	rm -rf "$wd"
	mkdir -p "$wd"
	chmod 755 "$wd"
	: >"$wd/protocol.log"
	port=$(srv_free_port)
	case $kind in
	vsftpd)
		dc_vsftpd_conf "$dir" "$port" "$wd" "$host" "$lo" "$hi" >"$wd/vsftpd.conf"
		[ -z "${SRV_TLS:-}" ] || srv_vsftpd_tls >>"$wd/vsftpd.conf"
		dc_spawn "$wd/stderr.log" /usr/sbin/vsftpd "$wd/vsftpd.conf"
		;;
	proftpd)
		dc_proftpd_conf "$dir" "$port" "$wd" "$host" "$lo" "$hi" >"$wd/proftpd.conf"
		if [ -n "${SRV_TLS:-}" ]; then
			srv_proftpd_tls "$wd" >>"$wd/proftpd.conf" || return 1
		fi
		dc_spawn "$wd/stderr.log" "$SRV_ROOT/usr/sbin/proftpd" -n -q \
			-c "$wd/proftpd.conf"
		;;
	pureftpd)
		# servers.sh starts it (its syslog catcher, TLS); -p: passive
		# ports, -P: the address PASV announces.
		DC_SPAWNED=$(SRV_PUREFTPD_BIND=$host \
			SRV_PUREFTPD_EXTRA="${lo:+-p $lo:$hi}${masq:+ -P $masq}" \
			srv_start_pureftpd "$dir" "$port" "$wd") || return 1
		srv_track_pid "$DC_SPAWNED"
		;;
	pyftpdlib)
		dc_pyftpdlib_script >"$wd/pyftpd.py"
		chown "$SRV_USER" "$wd/protocol.log"
		dc_spawn "$wd/stderr.log" setpriv --reuid="$SRV_UID" \
			--regid="$SRV_GID" --clear-groups \
			env SRV_USER="$SRV_USER" SRV_PASS="$SRV_PASS" \
			"$NETNS_PY" "$wd/pyftpd.py" "$port" "$dir" \
			"$wd/protocol.log" "$host" "${lo:+$lo-$hi}" "$masq" "$noepsv"
		;;
	fakeftp)
		chown "$SRV_USER" "$wd/protocol.log"
		dc_spawn "$wd/stderr.log" setpriv --reuid="$SRV_UID" \
			--regid="$SRV_GID" --clear-groups \
			env FAKEFTP_PASS="$SRV_PASS" "$NETNS_PY" "$NETNS_FAKEFTP" \
			--root "$dir" --port "$port" --bind "$host" \
			--user "$SRV_USER" --log "$wd/protocol.log" \
			${lo:+--pasv-range "$lo-$hi"} ${masq:+--pasv-address "$masq"} \
			"${fake[@]}"
		;;
	*)
		netns_msg "dc_srv_start: unknown server kind $kind"
		return 1
		;;
	esac
	DC_SRV_PID[$name]=$DC_SPAWNED
	DC_SRV_PORT[$name]=$port
	DC_SRV_LOG[$name]=$wd/protocol.log
	DC_SRV_HOST[$name]=$host
	DC_SRV_KIND[$name]=$kind
	if ! dc_wait_listen "$host" "$port" "$DC_SPAWNED"; then
		netns_msg "$name ($kind) did not start on $host port $port; its output:"
		sed 's/^/#   /' "$wd/stderr.log" >&2 || true
		dc_srv_stop "$name"
		return 1
	fi
	netns_msg "$name: $kind serving $dir on $host port $port${lo:+, passive ports $lo-$hi}"
}

dc_srv_stop() {
	local name=$1 pid
	pid=${DC_SRV_PID[$name]:-}
	[ -n "$pid" ] || return 0
	kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL -- "-$pid" 2>/dev/null || true
	unset "DC_SRV_PID[$name]"
}

dc_url() {
	local name=$1 host=${DC_SRV_HOST[$1]}
	[ "$host" != ::1 ] || host='[::1]'
	printf '%s://%s:%s@%s:%s/%s' "$(srv_scheme)" "$SRV_USER" "$SRV_PASS" \
		"$host" "${DC_SRV_PORT[$name]}" "${2:-}"
}

dc_tls_kind() {
	case ${SRV_TLS:-} in
	'') return 0 ;;
	explicit) case $1 in vsftpd | proftpd | pureftpd) return 0 ;; esac ;;
	esac
	return 1
}

dc_srv_log() { printf '%s' "${DC_SRV_LOG[$1]}"; }

dc_srv_cmds() {
	local name=$1
	case ${DC_SRV_KIND[$name]} in
	vsftpd) sed -n 's/.*FTP command: Client "[^"]*", "\(.*\)"$/\1/p' ;;
	proftpd) sed -n 's/^CMD [^ ]* //p' ;;
	pureftpd) sed -n 's/.*\[DEBUG\] Command \[\([^]]*\)\] \[\(.*\)\]$/\1 \2/p' |
		awk '{ $1 = toupper($1); print }' ;;
	pyftpdlib | fakeftp) sed -n 's/.*\] <- //p' ;;
	esac <"${DC_SRV_LOG[$name]}"
}
