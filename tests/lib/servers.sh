# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# Start and stop real FTP servers on loopback for the integration tests, the
# benchmark and the demo.  Source this file from bash; run as root.
#
#   srv_init                     temp dir, test user, cleanup traps
#   srv_start NAME DIR           NAME = vsftpd | proftpd | pureftpd | pyftpdlib
#                                (SFTP: sshd | proftpd_sftp, see sshd.sh)
#                                ($SRV_VSFTPD_EXTRA: lines added to vsftpd.conf)
#                                serves DIR (chrooted: DIR is "/" for the client)
#                                on 127.0.0.1:$(srv_port NAME), user $SRV_USER,
#                                password $SRV_PASS
#   srv_stop NAME
#   srv_restart NAME             stop and start again on the same port
#   srv_port NAME / srv_log NAME / srv_url NAME [PATH] / srv_url_nopass NAME [PATH]
#   srv_log_lines NAME           current length of the protocol log (a mark)
#   srv_count NAME [MARK] [VERB...]
#                                commands the server received after MARK
#                                (default: all) whose verb is one of VERB
#                                (default: the listing commands LIST NLST MLSD
#                                and STAT with an argument)
#   srv_track_mount DIR          unmount DIR on exit
#   srv_track_pid PID            kill PID (its process group if it leads one)
#   ftpfs_mount BIN MNT URL [ARGS...] / ftpfs_umount MNT [BIN]
#                                mount with ftpfs and wait; unmount and wait
#                                for the daemon to exit
#   srv_free_port                a TCP port nothing listens on now
#   srv_cleanup                  what the traps run; safe to call twice
#
# FTPS (vsftpd, proftpd, pureftpd): with SRV_TLS=explicit (AUTH TLS;
# srv_url says ftpes://) or SRV_TLS=implicit (TLS from the first byte;
# ftps://; vsftpd and proftpd) in the environment of srv_start, the server
# requires TLS for the login and the data connections (pure-ftpd -Y 3,
# ProFTPD TLSRequired on), and vsftpd (require_ssl_reuse) and ProFTPD
# (mod_tls's default) refuse a data connection that does not resume the
# control connection's TLS session.  The certificate is $SRV_TLS_CERT (good,
# wrongname, expired or self; see tests/lib/tlsca.sh) of the test CA in
# $SRV_TLS_DIR, made by srv_start when the folder has none (default
# $SRV_TMP/tls).  Mounts then need -o cafile=$SRV_TLS_DIR/ca.pem (or a pin)
# to trust it.
#
# Every server runs in the foreground in its own session (setsid), so the
# cleanup kills exactly the process groups it started, never by name.
# All traffic stays on 127.0.0.1.
#
# Protocol logs (one line per command the client sent):
#   vsftpd     log_ftp_protocol=YES into vsftpd.log   ... FTP command: Client "127.0.0.1", "MLSD"
#   proftpd    ExtendedLog with LogFormat "%m %r"      CMD MLSD /
#   pureftpd   syslog (-d) caught by a private /dev/log in a mount namespace
#   pyftpdlib  DEBUG log                               ... <- MLSD /

SRV_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tlsca.sh
. "$SRV_LIB_DIR/tlsca.sh"
SRV_REPO=$(cd "$SRV_LIB_DIR/../.." && pwd)
SRV_ROOT=${FTPFS_SERVERS_DIR:-$SRV_REPO/tests/.servers}/root
SRV_USER=ftpfs-test
SRV_PY=/usr/bin/python3   # Debian's, which has pyftpdlib (not a pyenv one)
# The suites' helpers run python3 thousands of times: Debian's, directly,
# not through a version manager's shim (pyenv's costs ~0.1 s of CPU each).
case $(command -v python3 2>/dev/null) in /usr/bin/python3) ;; *) PATH=/usr/bin:$PATH ;; esac
SRV_PASSFILE=/var/lib/ftpfs-test/password
# shellcheck disable=SC2034 # used by the scripts that source this file
SRV_ALL="vsftpd proftpd pureftpd pyftpdlib"
# shellcheck disable=SC2034
SRV_SFTP_ALL="sshd proftpd_sftp"

declare -gA SRV_PORTS=() SRV_PIDS=() SRV_LOGS=() SRV_DIRS=()
declare -ga SRV_MOUNTS=() SRV_EXTRA_PIDS=()
SRV_TMP=${SRV_TMP:-}
SRV_CLEANED=0
SRV_BOUND=

srv_msg() { printf '# %s\n' "$*" >&2; }

# An ASan/UBSan build of ftpfs writes its reports to files under
# $SRV_TMP/asan (a detached daemon has no stderr); srv_sanitizer_reports
# prints them (nothing, and status 1, when there are none).
srv_sanitizers_init() {
	mkdir -p "$SRV_TMP/asan"
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$SRV_TMP/asan/asan:detect_leaks=1"
	export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$SRV_TMP/asan/ubsan:print_stacktrace=1:halt_on_error=0"
}
srv_sanitizer_reports() {
	compgen -G "$SRV_TMP/asan/*" >/dev/null || return 1
	head -n 40 "$SRV_TMP"/asan/*
}

# A port that nothing listens on right now.  Picked at random below the
# kernel's ephemeral range (ip_local_port_range), not by bind(port 0): a port
# the kernel hands out is in that range, and by the time the server binds it
# any outgoing connection of a suite running in parallel (a data channel, a
# client) may have been given it as its local port ("Address already in use",
# seen in CI), and outside the ranges test_datachan reserves (a control port
# among the ports whose SYNs it drops would hang its scenario 2: the likely
# cause of a 600 s timeout there in CI, not reproduced in a rerun).
# srv_start also retries on a fresh port if the bind still loses.
srv_free_port() {
	"$SRV_PY" - <<'EOF'
import random, socket
try:
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        lo = int(f.read().split()[0])
except (OSError, ValueError, IndexError):
    lo = 32768
# 20000-39999 and below the ephemeral range: test_datachan keeps
# 40000-40100 (passive) and 45000-45100 (active, SYNs dropped) for itself
top = min(lo - 1, 39999)
for _ in range(200 if top > 20000 else 0):
    port = random.randint(20000, top)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    break
else:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
    s.close()
EOF
}

# The test user: a system account without a login shell and without a home,
# used by vsftpd (PAM, through our own PAM service file) and as the owner of
# the served files for the other three servers (which use virtual users).
# The password is random, made once per machine, and kept root-only in
# $SRV_PASSFILE so that concurrent test runs agree on it.
srv_ensure_user() {
	if [ ! -s "$SRV_PASSFILE" ]; then
		mkdir -p "$(dirname "$SRV_PASSFILE")"
		chmod 700 "$(dirname "$SRV_PASSFILE")"
		(umask 077 && printf 'pw%s\n' \
			"$(head -c 64 /dev/urandom | tr -dc 'A-Za-z0-9' | head -c 14)" \
			>"$SRV_PASSFILE.$$" && mv "$SRV_PASSFILE.$$" "$SRV_PASSFILE")
	fi
	SRV_PASS=$(cat "$SRV_PASSFILE")
	if ! id "$SRV_USER" >/dev/null 2>&1; then
		# vsftpd changes into the home before local_root: use "/".
		useradd --system --no-create-home --home-dir / \
			--shell /usr/sbin/nologin --user-group "$SRV_USER" 2>/dev/null ||
			id "$SRV_USER" >/dev/null
	fi
	if [ "$(getent passwd "$SRV_USER" | cut -d: -f6)" != / ]; then
		usermod --home / "$SRV_USER"
	fi
	SRV_UID=$(id -u "$SRV_USER")
	SRV_GID=$(id -g "$SRV_USER")
	# Set the password only when it does not verify (chpasswd locks
	# /etc/shadow; concurrent runs would otherwise collide).
	local hash salt
	hash=$(getent shadow "$SRV_USER" | cut -d: -f2)
	salt=$(printf '%s' "$hash" | cut -d'$' -f3)
	if [ "${hash#\$6\$}" = "$hash" ] ||
		[ "$(openssl passwd -6 -salt "$salt" "$SRV_PASS")" != "$hash" ]; then
		printf '%s:%s\n' "$SRV_USER" "$SRV_PASS" | chpasswd -c SHA512
	fi
	# vsftpd authenticates through PAM. Debian's "vsftpd" service also
	# wants a shell from /etc/shells; ours needs only the password.
	if [ ! -f /etc/pam.d/ftpfs-test ]; then
		cat >/etc/pam.d/ftpfs-test <<'EOF'
# PAM service of the ftpfs integration tests (tests/lib/servers.sh):
# password check only, for the vsftpd instances they start on loopback.
auth	required	pam_unix.so
account	required	pam_unix.so
session	required	pam_permit.so
EOF
	fi
	export SRV_USER SRV_PASS SRV_UID SRV_GID
}

srv_init() {
	if [ -z "$SRV_TMP" ]; then
		SRV_TMP=$(mktemp -d /tmp/ftpfs-test.XXXXXX)
	fi
	# The servers' users must be able to walk into the served folders.
	chmod 755 "$SRV_TMP"
	# Mounts made below SRV_TMP are shared: a copy of one in a mount
	# namespace made meanwhile (pure-ftpd's, "ip netns exec" of a suite
	# running in parallel) is then a slave, which our unmount reaches.
	# Where / is private, such a copy would otherwise keep the FUSE
	# connection, and the daemon, alive after fusermount -u.
	if [ -z "$SRV_BOUND" ] && mount --bind "$SRV_TMP" "$SRV_TMP" 2>/dev/null; then
		SRV_BOUND=$SRV_TMP
		mount --make-shared "$SRV_TMP" 2>/dev/null || true
	fi
	srv_ensure_user
	trap 'srv_cleanup' EXIT
	trap 'srv_cleanup; trap - INT; kill -INT $$' INT
	trap 'srv_cleanup; trap - TERM; kill -TERM $$' TERM
	export SRV_TMP
}

srv_track_mount() { SRV_MOUNTS+=("$1"); }
srv_track_pid() { SRV_EXTRA_PIDS+=("$1"); }

srv_port() { printf '%s' "${SRV_PORTS[$1]}"; }
srv_log() { printf '%s' "${SRV_LOGS[$1]}"; }
srv_scheme() {
	case ${SRV_TLS:-} in
	explicit) printf ftpes ;;
	implicit) printf ftps ;;
	*) printf ftp ;;
	esac
}
srv_is_sftp() { case $1 in sshd | proftpd_sftp) return 0 ;; *) return 1 ;; esac; }
# URLs of NAME's served folder (+ PATH).  SFTP: sftp://user@host:port/DIR/PATH,
# the login by key (srv_opts); FTP: the password in the URL (or not), over
# FTPS with SRV_TLS.
srv_url() {
	if srv_is_sftp "$1"; then
		srv_sftp_url "$@"
	else
		printf '%s://%s:%s@127.0.0.1:%s/%s' "$(srv_scheme)" "$SRV_USER" "$SRV_PASS" "${SRV_PORTS[$1]}" "${2:-}"
	fi
}
srv_url_nopass() {
	if srv_is_sftp "$1"; then
		srv_sftp_url "$@"
	else
		printf '%s://%s@127.0.0.1:%s/%s' "$(srv_scheme)" "$SRV_USER" "${SRV_PORTS[$1]}" "${2:-}"
	fi
}
# A URL with a wrong password (with srv_opts NAME password for SFTP).
srv_url_badpass() {
	local pw=wrong-$RANDOM
	if srv_is_sftp "$1"; then
		printf 'sftp://%s:%s@127.0.0.1:%s%s/' "$SRV_USER" "$pw" "${SRV_PORTS[$1]}" "${SRV_DIRS[$1]}"
	else
		printf '%s://%s:%s@127.0.0.1:%s/' "$(srv_scheme)" "$SRV_USER" "$pw" "${SRV_PORTS[$1]}"
	fi
}
# Mount options NAME's login needs: none for FTP; for SFTP the harness's
# known_hosts and, unless the second argument is "password" (a password
# login: known_hosts only), its key.
srv_opts() {
	srv_is_sftp "$1" || return 0
	if [ "${2:-}" = password ]; then
		printf -- '-o known_hosts=%s' "$(srv_known_hosts "$1")"
	else
		srv_sftp_opts "$1"
	fi
}
# ftpfs_mount appends these to every mount (a suite sets them per server:
# read -r -a SRV_MOUNT_OPTS <<<"$(srv_opts NAME)").
declare -ga SRV_MOUNT_OPTS=()

# The test CA and server certificates for SRV_TLS (see the top).
srv_tls_init() {
	SRV_TLS_DIR=${SRV_TLS_DIR:-$SRV_TMP/tls}
	export SRV_TLS_DIR
	[ -f "$SRV_TLS_DIR/ca.pem" ] && return 0
	tlsca_make "$SRV_TLS_DIR" || {
		srv_msg "cannot make the test CA in $SRV_TLS_DIR:"
		sed 's/^/#   /' "$SRV_TLS_DIR/make.log" >&2
		return 1
	}
}

# Wait until something answers "220" (FTP) or "SSH-2.0-" on the port (or
# the process died); over TLS with SRV_TLS=implicit.
srv_wait_listen() {
	local port=$1 pid=$2 i line
	for ((i = 0; i < 100; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			return 1
		fi
		if [ "${SRV_TLS:-}" = implicit ]; then
			line=$(timeout 5 "$SRV_PY" -c '
import socket, ssl, sys
c = ssl.create_default_context()
c.check_hostname = False
c.verify_mode = ssl.CERT_NONE
with socket.create_connection(("127.0.0.1", int(sys.argv[1])), 2) as s:
    with c.wrap_socket(s) as t:
        print(t.recv(100).decode(errors="replace").splitlines()[0])
' "$port" 2>/dev/null) || true
			case $line in 220*) return 0 ;; esac
			sleep 0.1
			continue
		fi
		line=$( (exec 9<>"/dev/tcp/127.0.0.1/$port" &&
			read -r -t 5 l <&9 && printf '%s' "$l") 2>/dev/null) || true
		case $line in 220* | SSH-2.0-*) return 0 ;; esac
		sleep 0.1
	done
	return 1
}

# Start CMD... in its own session with output to LOG; prints the pid.
# Everything started here carries FTPFS_TEST_TAG=$SRV_TMP in its
# environment, inherited by daemonized children, so that the cleanup finds
# exactly the processes this run started (srv_tagged_pids).
srv_spawn() {
	local log=$1
	shift
	FTPFS_TEST_TAG=$SRV_TMP setsid "$@" </dev/null >>"$log" 2>&1 &
	printf '%s' "$!"
}

# Pids of live processes started by this run (optionally only those whose
# executable is EXE).
srv_tagged_pids() {
	local exe=${1:-} p
	[ -n "$SRV_TMP" ] || return 0
	# One grep over every environment: a grep per process costs seconds
	# on a busy machine, and callers poll this.
	for p in $(grep -lszx "FTPFS_TEST_TAG=$SRV_TMP" /proc/[0-9]*/environ 2>/dev/null); do
		p=${p%/environ}
		[ "${p#/proc/}" != "$$" ] || continue
		if [ -n "$exe" ] && [ "$(readlink "$p/exe" 2>/dev/null)" != "$exe" ]; then
			continue
		fi
		printf '%s\n' "${p#/proc/}"
	done
}

srv_is_mounted() {
	awk -v m="$1" '$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo
}

# ftpfs_mount FTPFS MNT URL [ARGS...]   (then "${SRV_MOUNT_OPTS[@]}")
# Runs ftpfs (which normally daemonizes once mounted; a foreground -f/-d run
# is left running) and waits until MNT is mounted, the program failed, or
# FTPFS_MOUNT_WAIT seconds passed.  Stdin from FTPFS_MOUNT_STDIN (default
# /dev/null), output appended to FTPFS_MOUNT_LOG.  Sets FTPFS_MOUNT_RC (the
# exit status, or "running"), FTPFS_MOUNT_SECS and FTPFS_MOUNT_PID.
# Returns 0 when mounted.
ftpfs_mount() {
	local bin=$1 mnt=$2 url=$3 t0 i rc
	shift 3
	local log=${FTPFS_MOUNT_LOG:-$SRV_TMP/ftpfs-mount.log}
	local in=${FTPFS_MOUNT_STDIN:-/dev/null}
	local wait=${FTPFS_MOUNT_WAIT:-30}
	mkdir -p "$mnt"
	srv_track_mount "$mnt"
	t0=$EPOCHREALTIME
	FTPFS_TEST_TAG=$SRV_TMP setsid "$bin" "$url" "$mnt" "$@" \
		"${SRV_MOUNT_OPTS[@]}" <"$in" >>"$log" 2>&1 &
	FTPFS_MOUNT_PID=$!
	FTPFS_MOUNT_RC=running
	for ((i = 0; i < wait * 20; i++)); do
		if ! kill -0 "$FTPFS_MOUNT_PID" 2>/dev/null; then
			rc=0
			wait "$FTPFS_MOUNT_PID" 2>/dev/null || rc=$?
			FTPFS_MOUNT_RC=$rc
			break
		fi
		srv_is_mounted "$mnt" && break
		sleep 0.05
	done
	# shellcheck disable=SC2034 # read by the caller
	FTPFS_MOUNT_SECS=$(srv_since "$t0")
	if [ "$FTPFS_MOUNT_RC" = 0 ] && ! srv_is_mounted "$mnt"; then
		sleep 0.5 # a daemon that reports success just before mounting
	fi
	srv_is_mounted "$mnt"
}

# Unmount MNT and wait (up to 15 s) for the ftpfs processes of this run
# that serve it to exit.  Returns non-zero if unmounting failed or a
# process lingered (which is then killed).
ftpfs_umount() {
	local mnt=$1 bin=${2:-} i rc=0 left dev pinned
	dev=$(awk -v m="$mnt" '$5 == m { print $3 }' /proc/self/mountinfo | head -n1)
	if srv_is_mounted "$mnt"; then
		timeout 20 fusermount3 -u "$mnt" || { rc=1; srv_unmount "$mnt"; }
	fi
	[ -n "$bin" ] || return "$rc"
	for ((i = 0; i < 150; i++)); do
		left=$(srv_tagged_pids "$bin")
		[ -n "$left" ] || return "$rc"
		sleep 0.1
	done
	# A copy of the mount in another mount namespace (made by unshare or
	# "ip netns exec" while it was mounted, where / is not shared) keeps
	# the FUSE connection open: then the daemon cannot know.  Abort the
	# connection in that case and do not blame ftpfs.
	pinned=$(srv_mount_copies "$mnt")
	if [ -n "$pinned" ] && [ -n "$dev" ] &&
		echo 1 2>/dev/null >"/sys/fs/fuse/connections/${dev#*:}/abort"; then
		srv_msg "unmounted, but a copy of $mnt lives in another mount namespace ($pinned); aborted the FUSE connection"
		for ((i = 0; i < 100; i++)); do
			left=$(srv_tagged_pids "$bin")
			[ -n "$left" ] || return "$rc"
			sleep 0.1
		done
	fi
	srv_msg "ftpfs still running 15 s after unmounting: $left; killing it"
	for i in $left; do kill -KILL "$i" 2>/dev/null || true; done
	return 1
}

# Other mount namespaces that still hold a mount at MNT: "pid (command)".
srv_mount_copies() {
	local mnt=$1 p ns seen
	seen=" $(readlink /proc/self/ns/mnt) "
	for p in /proc/[0-9]*; do
		ns=$(readlink "$p/ns/mnt" 2>/dev/null) || continue
		case $seen in *" $ns "*) continue ;; esac
		seen="$seen$ns "
		if awk -v m="$mnt" '$5 == m { f = 1 } END { exit !f }' "$p/mountinfo" 2>/dev/null; then
			printf '%s (%s) ' "${p#/proc/}" "$(tr '\0' ' ' <"$p/cmdline" | cut -c1-80)"
		fi
	done
}

# Seconds (with milliseconds) since the $EPOCHREALTIME value T0.
srv_since() {
	awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }'
}

srv_start_vsftpd() {
	local dir=$1 port=$2 wd=$3
	mkdir -p "$wd/empty"
	chmod 755 "$wd/empty"
	cat >"$wd/vsftpd.conf" <<EOF
listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
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
secure_chroot_dir=$wd/empty
xferlog_enable=YES
xferlog_std_format=NO
log_ftp_protocol=YES
vsftpd_log_file=$wd/protocol.log
syslog_enable=NO
dirmessage_enable=NO
idle_session_timeout=600
data_connection_timeout=300
max_clients=0
max_per_ip=0
seccomp_sandbox=NO
EOF
	if [ -n "${SRV_TLS:-}" ]; then
		srv_tls_init || return 1
		srv_vsftpd_tls >>"$wd/vsftpd.conf"
	fi
	# Lines added by a test (later settings win in vsftpd.conf).
	[ -z "${SRV_VSFTPD_EXTRA:-}" ] ||
		printf '%s\n' "$SRV_VSFTPD_EXTRA" >>"$wd/vsftpd.conf"
	touch "$wd/protocol.log"
	srv_spawn "$wd/stderr.log" /usr/sbin/vsftpd "$wd/vsftpd.conf"
}

# vsftpd.conf lines for SRV_TLS (also used by tests/lib/netns.sh).
srv_vsftpd_tls() {
	cat <<EOF
ssl_enable=YES
rsa_cert_file=$SRV_TLS_DIR/${SRV_TLS_CERT:-good}.crt
rsa_private_key_file=$SRV_TLS_DIR/${SRV_TLS_CERT:-good}.key
force_local_logins_ssl=NO
force_local_data_ssl=NO
require_ssl_reuse=YES
ssl_request_cert=NO
EOF
	[ "$SRV_TLS" != implicit ] || echo implicit_ssl=YES
}

srv_start_proftpd() {
	local dir=$1 port=$2 wd=$3 hash
	hash=$(openssl passwd -6 "$SRV_PASS")
	printf '%s:%s:%s:%s::%s:/bin/sh\n' "$SRV_USER" "$hash" \
		"$SRV_UID" "$SRV_GID" "$dir" >"$wd/ftpd.passwd"
	printf '%s:x:%s:\n' "$SRV_USER" "$SRV_GID" >"$wd/ftpd.group"
	chmod 600 "$wd/ftpd.passwd"
	cat >"$wd/proftpd.conf" <<EOF
ServerName		"ftpfs-test"
ServerType		standalone
DefaultServer		on
Port			$port
DefaultAddress		127.0.0.1
SocketBindTight		on
UseIPv6			off
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
AllowOverwrite		${SRV_PROFTPD_OVERWRITE:-on}
TimeoutIdle		600
TimeoutNoTransfer	600
SystemLog		$wd/system.log
TransferLog		$wd/xfer.log
LogFormat		cmds "CMD %m %r"
ExtendedLog		$wd/protocol.log ALL cmds
EOF
	if [ -n "${SRV_TLS:-}" ]; then
		srv_tls_init || return 1
		srv_proftpd_tls "$wd" >>"$wd/proftpd.conf" || return 1
	fi
	touch "$wd/protocol.log"
	srv_spawn "$wd/stderr.log" "$SRV_ROOT/usr/sbin/proftpd" -n -q -c "$wd/proftpd.conf"
}

# mod_tls lines of proftpd.conf for SRV_TLS (WD: where its log goes); also
# used by tests/lib/netns.sh.  TLSRequired on: no login and no transfer in
# clear text.  TLSOptions leaves out NoSessionReuseRequired: data
# connections must resume the control connection's session, as in real
# deployments.
srv_proftpd_tls() {
	local wd=$1 mods=$SRV_ROOT/usr/lib/proftpd cert=${SRV_TLS_CERT:-good}
	[ -f "$mods/mod_tls.so" ] || {
		srv_msg "proftpd: $mods/mod_tls.so missing (tests/deps.sh unpacks proftpd-mod-crypto)"
		return 1
	}
	cat <<EOF
ModulePath		$mods
LoadModule		mod_tls.c
TLSEngine		on
TLSLog			$wd/tls.log
TLSProtocol		TLSv1.2 TLSv1.3
TLSRSACertificateFile	$SRV_TLS_DIR/$cert.crt
TLSRSACertificateKeyFile $SRV_TLS_DIR/$cert.key
TLSVerifyClient		off
TLSRequired		on
TLSRenegotiate		none
EOF
	if [ "$SRV_TLS" = implicit ]; then
		printf 'TLSOptions\t\tUseImplicitSSL\n'
	fi
}

# Pure-FTPd logs commands only to syslog (-d).  It runs in a private mount
# namespace whose /dev has a log socket of our own (served by a small Python
# receiver writing protocol.log); the machine's /dev is not touched.
# $SRV_PUREFTPD_EXTRA: more arguments (tests/lib/netns.sh: -p LO:HI);
# $SRV_PUREFTPD_BIND: the address (default 127.0.0.1).
srv_start_pureftpd() {
	local dir=$1 port=$2 wd=$3 hash tls=
	if [ -n "${SRV_TLS:-}" ]; then
		srv_tls_init || return 1
		tls=$(srv_pureftpd_tls) || return 1
	fi
	hash=$(openssl passwd -6 "$SRV_PASS")
	printf '%s:%s:%s:%s::%s/./::::::::::::\n' "$SRV_USER" "$hash" \
		"$SRV_UID" "$SRV_GID" "$dir" >"$wd/pureftpd.passwd"
	chmod 600 "$wd/pureftpd.passwd"
	"$SRV_ROOT/usr/bin/pure-pw" mkdb "$wd/pureftpd.pdb" \
		-f "$wd/pureftpd.passwd" >>"$wd/stderr.log" 2>&1 || return 1
	touch "$wd/protocol.log"
	cat >"$wd/syslogd.py" <<'EOF'
import os, socket, sys
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)
with open(out, "ab", buffering=0) as f:
    while True:
        data = s.recv(65536)
        f.write(data.rstrip(b"\0\n") + b"\n")
EOF
	cat >"$wd/run-pureftpd.sh" <<EOF
#!/bin/bash
# Runs inside "unshare --mount --propagation slave": replace /dev by a copy
# whose "log" is ours.  Slave, not private: where / is shared, unmounting a
# FUSE mount outside then reaches this namespace too.
set -e
mkdir -p "$wd/dev"
mount -t tmpfs -o mode=755 tmpfs "$wd/dev"
for n in null zero full random urandom tty; do
	touch "$wd/dev/\$n"
	mount --bind "/dev/\$n" "$wd/dev/\$n"
done
$SRV_PY "$wd/syslogd.py" "$wd/dev/log" "$wd/protocol.log" &
for i in \$(seq 50); do [ -S "$wd/dev/log" ] && break; sleep 0.1; done
mount --move "$wd/dev" /dev
# Drop this namespace's copies of FUSE mounts and namespace handles (where /
# is not a shared mount, unmounting outside does not reach in here, and a
# copy would keep an ftpfs daemon - anyone's - alive after its unmount).
awk '{ for (i = 7; i < NF; i++) if (\$i == "-") break;
	if (\$(i + 1) ~ /^fuse/ || \$(i + 1) == "nsfs") print \$5 }' /proc/self/mountinfo |
	while read -r m; do umount -l "\$(printf '%b' "\$m")" 2>/dev/null || true; done
exec "$SRV_ROOT/usr/sbin/pure-ftpd" -S ${SRV_PUREFTPD_BIND:-127.0.0.1},$port -l puredb:$wd/pureftpd.pdb \\
	-E -A -H -d -d -u 1 -U 022:022 -c 50 -f ftp -O clf:$wd/xfer.log $tls ${SRV_PUREFTPD_EXTRA:-}
EOF
	chmod 755 "$wd/run-pureftpd.sh"
	srv_spawn "$wd/stderr.log" unshare --mount --propagation slave \
		"$wd/run-pureftpd.sh"
}

# pure-ftpd's TLS arguments for SRV_TLS: -Y 3 refuses logins and data
# connections in clear text (-Y 2 would still allow PROT C); -2 names one
# file with the key and the certificate.  It has no implicit TLS.
srv_pureftpd_tls() {
	if [ "$SRV_TLS" != explicit ]; then
		srv_msg "pureftpd: no implicit TLS (SRV_TLS=$SRV_TLS)"
		return 1
	fi
	printf -- '-Y 3 -2 %s' "$SRV_TLS_DIR/${SRV_TLS_CERT:-good}.pem"
}

srv_start_pyftpdlib() {
	local dir=$1 port=$2 wd=$3
	cat >"$wd/pyftpd.py" <<'EOF'
import logging, os, sys
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer
port, root, log = int(sys.argv[1]), sys.argv[2], sys.argv[3]
logging.basicConfig(filename=log, level=logging.DEBUG,
                    format="[%(asctime)s] %(message)s")
auth = DummyAuthorizer()
auth.add_user(os.environ["SRV_USER"], os.environ["SRV_PASS"], root,
              perm="elradfmwMT")
FTPHandler.authorizer = auth
FTPHandler.banner = "pyftpdlib ready (ftpfs tests)"
server = FTPServer(("127.0.0.1", port), FTPHandler)
server.serve_forever()
EOF
	touch "$wd/protocol.log"
	chown "$SRV_USER" "$wd/protocol.log"
	srv_spawn "$wd/stderr.log" setpriv --reuid="$SRV_UID" --regid="$SRV_GID" \
		--clear-groups env SRV_USER="$SRV_USER" SRV_PASS="$SRV_PASS" \
		"$SRV_PY" "$wd/pyftpd.py" "$port" "$dir" "$wd/protocol.log"
}

# Start NAME serving DIR on PORT, or on a free port, tried up to three times
# (a port found free can be taken before the server binds it).
srv_start() {
	local try
	if [ -n "${3:-}" ]; then
		srv_start_once "$1" "$2" "$3"
		return
	fi
	for try in 1 2 3; do
		srv_start_once "$1" "$2" "$(srv_free_port)" fresh && return 0
		srv_msg "$1: start $try of 3 failed"
	done
	return 1
}

srv_start_once() {
	local name=$1 dir=$2 port=$3 wd pid
	[ -n "$SRV_TMP" ] || srv_init
	dir=$(cd "$dir" && pwd)
	wd=$SRV_TMP/srv-$name
	[ "${4:-}" != fresh ] || rm -rf "$wd"
	mkdir -p "$wd"
	chmod 755 "$wd"
	if [ -n "${SRV_TLS:-}" ] && [ "$name" = pyftpdlib ]; then
		srv_msg "$name: no FTPS set-up in tests/lib/servers.sh yet (SRV_TLS=$SRV_TLS)"
		return 1
	fi
	# Here, not in the subshell below: the caller sees SRV_TLS_DIR.
	if [ -n "${SRV_TLS:-}" ]; then
		srv_tls_init || return 1
	fi
	case $name in
	vsftpd | proftpd | pureftpd | pyftpdlib | sshd | proftpd_sftp)
		# The client keys are made here, not in the subshell below.
		case $name in sshd | proftpd_sftp) srv_ssh_client_init || return 1 ;; esac
		pid=$("srv_start_$name" "$dir" "$port" "$wd") || {
			srv_msg "$name: could not be prepared (see $wd/stderr.log)"
			return 1
		}
		;;
	*)
		srv_msg "unknown server $name"
		return 1
		;;
	esac
	SRV_PIDS[$name]=$pid
	SRV_PORTS[$name]=$port
	SRV_LOGS[$name]=$wd/protocol.log
	SRV_DIRS[$name]=$dir
	if ! srv_wait_listen "$port" "$pid"; then
		srv_msg "$name did not start on 127.0.0.1:$port; its output:"
		sed 's/^/#   /' "$wd/stderr.log" >&2 || true
		srv_stop "$name"
		return 1
	fi
	srv_msg "$name serving $dir on 127.0.0.1:$port (log $wd/protocol.log)"
}

# Stop NAME (dropping every session) and start it again on the same port,
# serving the same folder, appending to the same log.
srv_restart() {
	local name=$1 port=${SRV_PORTS[$1]} dir=${SRV_DIRS[$1]} i
	srv_stop "$name"
	for ((i = 0; i < 50; i++)); do
		srv_port_busy "$port" || break
		sleep 0.1
	done
	srv_start "$name" "$dir" "$port"
}

srv_port_busy() {
	ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
}

# Kill the process group PID leads (or PID alone), TERM then KILL.
srv_kill_group() {
	local pid=$1 target i
	kill -0 "$pid" 2>/dev/null || return 0
	if [ "$(ps -o pgid= -p "$pid" | tr -d ' ')" = "$pid" ]; then
		target=-$pid
	else
		target=$pid
	fi
	kill -TERM -- "$target" 2>/dev/null || true
	for ((i = 0; i < 30; i++)); do
		kill -0 -- "$target" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL -- "$target" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

srv_stop() {
	local name=$1
	[ -n "${SRV_PIDS[$name]:-}" ] || return 0
	srv_kill_group "${SRV_PIDS[$name]}"
	unset "SRV_PIDS[$name]"
}

srv_log_lines() {
	wc -l <"${SRV_LOGS[$1]}" | tr -d ' '
}

# Print the commands (verb and argument, one a line) that the server NAME
# received, after line MARK of its log.
srv_commands() {
	local name=$1 mark=${2:-0}
	tail -n +"$((mark + 1))" "${SRV_LOGS[$name]}" | case $name in
	vsftpd) sed -n 's/.*FTP command: Client "[^"]*", "\(.*\)"$/\1/p' ;;
	proftpd) sed -n 's/^CMD [^ ]* //p' ;;
	# pure-ftpd -d: "... [DEBUG] Command [mlsd] [/]"
	pureftpd) sed -n 's/.*\[DEBUG\] Command \[\([^]]*\)\] \[\(.*\)\]$/\1 \2/p' |
		awk '{ $1 = toupper($1); print }' ;;
	pyftpdlib) sed -n 's/.*\] <- //p' ;;
	esac
}

srv_count() {
	local name=$1 mark=${2:-0}
	shift $(($# >= 2 ? 2 : $#))
	local verbs="${*:-LIST NLST MLSD STAT}"
	srv_commands "$name" "$mark" | awk -v verbs="$verbs" '
		BEGIN { n = split(verbs, v, " "); for (i = 1; i <= n; i++) want[v[i]] = 1 }
		{
			verb = toupper($1)
			if (!(verb in want)) next
			# STAT without an argument is server status, not a listing.
			if (verb == "STAT" && NF < 2) next
			c++
		}
		END { print c + 0 }'
}

# Abort and lazily detach a FUSE mount that may be hung, then unmount.
srv_unmount() {
	local m=$1 dev minor
	srv_is_mounted "$m" || return 0
	if timeout 10 fusermount3 -u "$m" 2>/dev/null; then
		return 0
	fi
	dev=$(awk -v m="$m" '$5 == m { print $3 }' /proc/self/mountinfo | head -n1)
	minor=${dev#*:}
	if [ -n "$minor" ] && [ -w "/sys/fs/fuse/connections/$minor/abort" ]; then
		echo 1 >"/sys/fs/fuse/connections/$minor/abort" 2>/dev/null || true
	fi
	umount -l "$m" 2>/dev/null || fusermount3 -uz "$m" 2>/dev/null || true
}

srv_cleanup() {
	local m p name
	[ "$SRV_CLEANED" -eq 0 ] || return 0
	SRV_CLEANED=1
	for m in "${SRV_MOUNTS[@]}"; do
		srv_unmount "$m"
	done
	for p in "${SRV_EXTRA_PIDS[@]}"; do
		srv_kill_group "$p"
	done
	for name in "${!SRV_PIDS[@]}"; do
		srv_stop "$name"
	done
	# Daemonized ftpfs processes and anything else this run started.
	for p in $(srv_tagged_pids); do
		kill -TERM "$p" 2>/dev/null || true
	done
	sleep 0.2
	for p in $(srv_tagged_pids); do
		kill -KILL "$p" 2>/dev/null || true
	done
	# A mount whose daemon was killed just now.
	for m in "${SRV_MOUNTS[@]}"; do
		srv_unmount "$m"
	done
	if [ -n "$SRV_BOUND" ] && ! grep -qsF " $SRV_BOUND/" /proc/self/mountinfo; then
		umount "$SRV_BOUND" 2>/dev/null || umount -l "$SRV_BOUND" 2>/dev/null || true
		SRV_BOUND=
	fi
	if [ -n "$SRV_TMP" ] && [ -d "$SRV_TMP" ] && [ -z "${SRV_KEEP:-}" ]; then
		# Never descend into a mount that is still there.
		if grep -qsF " $SRV_TMP/" /proc/self/mountinfo; then
			srv_msg "mounts remain under $SRV_TMP; not removing it"
		else
			rm -rf --one-file-system "$SRV_TMP"
		fi
	fi
}

# shellcheck source=sshd.sh
. "$SRV_LIB_DIR/sshd.sh"
