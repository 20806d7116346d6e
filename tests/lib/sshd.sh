# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# SFTP servers for the tests, started like the FTP servers of servers.sh
# (which sources this file): srv_start sshd DIR / srv_start proftpd_sftp DIR.
#
#   sshd          OpenSSH's sshd with "Subsystem sftp internal-sftp" and
#                 its own ed25519 and ECDSA host keys, on 127.0.0.1:PORT
#   proftpd_sftp  ProFTPD's mod_sftp (unpacked from proftpd-mod-crypto),
#                 a second, independent SFTP implementation
#
# Users.  The same account $SRV_USER as for FTP (it owns the fixtures):
#   key login       $SRV_SSH_KEY (ed25519, no passphrase) and
#                   $SRV_SSH_KEY_ENC (ed25519, passphrase $SRV_SSH_KEY_PASS),
#                   both in the server's authorized_keys
#   password login  $SRV_PASS (sshd checks /etc/shadow; mod_sftp its
#                   AuthUserFile); keyboard-interactive is on for sshd only
#                   (mod_sftp has no driver for it without PAM)
# A test picks the method with ftpfs's options (identity_file, password_stdin).
#
# Host keys: srv_known_hosts NAME prints a known_hosts file made by the
# harness ("[127.0.0.1]:PORT type key" for each host key); $SRV_SSH_DIR holds
# the client side (keys, known_hosts files), never ~/.ssh.
#
#   srv_sftp_url NAME [PATH]     sftp://user@127.0.0.1:PORT/<served dir>/PATH
#   srv_sftp_opts NAME           mount options for a key login with the
#                                harness's known_hosts: -o known_hosts=...
#                                -o identity_file=...
#   srv_host_fpr NAME TYPE       SHA256:... fingerprint of a host key
#                                (TYPE ed25519 | ecdsa), as ssh-keygen -l
#
# Log ($(srv_log NAME)): sshd's own, at VERBOSE (logins; internal-sftp's
# request log does not reach it: ftpfs -d traces every request instead).
# SRV_SSHD_ROOT_KEY=1: root may log in with $SRV_SSH_KEY too (the
# benchmark's "ssh cat"; the test account has no shell).

SRV_SSH_DIR=
SRV_SSH_KEY_PASS=ftpfs-key-passphrase

# Client keys, made once per run.
srv_ssh_client_init() {
	[ -z "$SRV_SSH_DIR" ] || return 0
	SRV_SSH_DIR=$SRV_TMP/ssh-client
	mkdir -p "$SRV_SSH_DIR"
	chmod 700 "$SRV_SSH_DIR"
	ssh-keygen -q -t ed25519 -N '' -C ftpfs-test-key \
		-f "$SRV_SSH_DIR/id_ed25519" || return 1
	ssh-keygen -q -t ed25519 -N "$SRV_SSH_KEY_PASS" -C ftpfs-test-enc \
		-f "$SRV_SSH_DIR/id_ed25519_enc" || return 1
	SRV_SSH_KEY=$SRV_SSH_DIR/id_ed25519
	SRV_SSH_KEY_ENC=$SRV_SSH_DIR/id_ed25519_enc
	export SRV_SSH_DIR SRV_SSH_KEY SRV_SSH_KEY_ENC SRV_SSH_KEY_PASS
}

srv_ssh_hostkeys() { # WD
	local wd=$1
	[ -f "$wd/ssh_host_ed25519_key" ] ||
		ssh-keygen -q -t ed25519 -N '' -f "$wd/ssh_host_ed25519_key" || return 1
	[ -f "$wd/ssh_host_ecdsa_key" ] ||
		ssh-keygen -q -t ecdsa -b 256 -N '' -f "$wd/ssh_host_ecdsa_key" || return 1
}

srv_start_sshd() {
	local dir=$1 port=$2 wd=$3
	srv_ssh_client_init || return 1
	srv_ssh_hostkeys "$wd" || return 1
	mkdir -p "$wd/authorized_keys" /run/sshd
	cat "$SRV_SSH_KEY.pub" "$SRV_SSH_KEY_ENC.pub" \
		>"$wd/authorized_keys/$SRV_USER"
	# The benchmark's "ssh cat" needs a shell; the test account has none.
	local root_login=no
	if [ -n "${SRV_SSHD_ROOT_KEY:-}" ]; then
		cp "$SRV_SSH_KEY.pub" "$wd/authorized_keys/root"
		root_login=prohibit-password
	fi
	chmod 755 "$wd/authorized_keys"
	chmod 644 "$wd/authorized_keys/$SRV_USER"
	cat >"$wd/sshd_config" <<EOF
ListenAddress 127.0.0.1:$port
HostKey $wd/ssh_host_ed25519_key
HostKey $wd/ssh_host_ecdsa_key
PidFile $wd/sshd.pid
AuthorizedKeysFile $wd/authorized_keys/%u
AllowUsers $SRV_USER${SRV_SSHD_ROOT_KEY:+ root}
StrictModes no
UsePAM no
PermitRootLogin $root_login
PasswordAuthentication yes
KbdInteractiveAuthentication yes
PubkeyAuthentication yes
MaxStartups 100:30:200
MaxSessions 50
LogLevel VERBOSE
UseDNS no
Subsystem sftp internal-sftp -l VERBOSE
EOF
	touch "$wd/protocol.log"
	srv_spawn "$wd/stderr.log" /usr/sbin/sshd -D -f "$wd/sshd_config" \
		-E "$wd/protocol.log"
}

srv_start_proftpd_sftp() {
	local dir=$1 port=$2 wd=$3 hash mods=$SRV_ROOT/usr/lib/proftpd
	[ -f "$mods/mod_sftp.so" ] || {
		srv_msg "proftpd_sftp: $mods/mod_sftp.so missing (tests/deps.sh unpacks proftpd-mod-crypto)"
		return 1
	}
	srv_ssh_client_init || return 1
	srv_ssh_hostkeys "$wd" || return 1
	hash=$(openssl passwd -6 "$SRV_PASS")
	printf '%s:%s:%s:%s::%s:/bin/sh\n' "$SRV_USER" "$hash" \
		"$SRV_UID" "$SRV_GID" / >"$wd/ftpd.passwd"
	printf '%s:x:%s:\n' "$SRV_USER" "$SRV_GID" >"$wd/ftpd.group"
	chmod 600 "$wd/ftpd.passwd"
	mkdir -p "$wd/authorized_keys"
	# mod_sftp reads RFC 4716 public keys.
	{
		ssh-keygen -e -f "$SRV_SSH_KEY.pub"
		ssh-keygen -e -f "$SRV_SSH_KEY_ENC.pub"
	} >"$wd/authorized_keys/$SRV_USER"
	cat >"$wd/proftpd.conf" <<EOF
ModulePath		$mods
LoadModule		mod_sftp.c
ServerName		"ftpfs-test-sftp"
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
AllowOverwrite		on
SystemLog		$wd/system.log
<IfModule mod_sftp.c>
SFTPEngine		on
SFTPHostKey		$wd/ssh_host_ed25519_key
SFTPHostKey		$wd/ssh_host_ecdsa_key
SFTPAuthorizedUserKeys	file:$wd/authorized_keys/%u
SFTPAuthMethods		publickey password
SFTPLog			$wd/protocol.log
SFTPCompression		off
</IfModule>
EOF
	touch "$wd/protocol.log"
	srv_spawn "$wd/stderr.log" "$SRV_ROOT/usr/sbin/proftpd" -n -q -c "$wd/proftpd.conf"
}

srv_known_hosts() { # NAME: path of a known_hosts file for NAME's host keys
	local name=$1 wd=$SRV_TMP/srv-$1 f t
	f=$SRV_SSH_DIR/known_hosts-$name
	if [ ! -s "$f" ]; then
		for t in ed25519 ecdsa; do
			printf '[127.0.0.1]:%s %s\n' "${SRV_PORTS[$name]}" \
				"$(cut -d' ' -f1,2 "$wd/ssh_host_${t}_key.pub")"
		done >"$f"
	fi
	printf '%s' "$f"
}

srv_host_fpr() { # NAME TYPE
	ssh-keygen -l -E sha256 -f "$SRV_TMP/srv-$1/ssh_host_$2_key.pub" |
		awk '{ print $2 }'
}

srv_sftp_url() {
	printf 'sftp://%s@127.0.0.1:%s%s/%s' "$SRV_USER" "${SRV_PORTS[$1]}" \
		"${SRV_DIRS[$1]}" "${2:-}"
}

srv_sftp_opts() {
	printf -- '-o known_hosts=%s -o identity_file=%s' \
		"$(srv_known_hosts "$1")" "$SRV_SSH_KEY"
}
