#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Install everything the build, the tests, the benchmark and the demo need on
# Debian 12 (run as root).  Idempotent: when everything is present it only
# runs dpkg-query and returns in well under a second.
#
# ProFTPD and Pure-FTPd conflict with vsftpd as packages ("ftp-server"), so
# they are not installed: their .debs are fetched with `apt-get download` and
# unpacked with `dpkg -x` into tests/.servers/root (see tests/lib/servers.sh).
# Their shared-library dependencies are ordinary packages and are installed.
#
# Environment: FTPFS_SERVERS_DIR overrides the unpack folder.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
servers_dir=${FTPFS_SERVERS_DIR:-$here/.servers}

pkgs=(
	# build
	build-essential pkg-config meson ninja-build
	libfuse3-dev fuse3 libcmocka-dev libssh2-1-dev libssl-dev
	clang libclang-rt-14-dev llvm clang-format
	# test harness
	vsftpd python3 python3-pyftpdlib curl util-linux procps psmisc
	rsync git vim-tiny gdb
	# checks of contrib/ (units, man page)
	systemd groff-base
	iproute2 nftables openssl passwd coreutils findutils
	# comparisons in the benchmark (and, later, SFTP tests)
	rclone sshfs openssh-server
	# libraries of the unpacked proftpd-core and pure-ftpd
	libhiredis0.14 libmemcached11 libmemcachedutil2 libsodium23
	libpcre2-posix3 libidn2-0 libcap2 libacl1
)
# Fetched and unpacked, never installed.
extract_pkgs=(proftpd-core proftpd-mod-crypto pure-ftpd pure-ftpd-common)

log() { printf 'deps: %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
	log "must run as root (installs packages, starts FTP servers, mounts FUSE)"
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt_updated=0
apt_update() {
	if [ "$apt_updated" -eq 0 ]; then
		log "apt-get update"
		apt-get update -qq
		apt_updated=1
	fi
}

# An empty package list (fresh image) means nothing can be found yet.
if ! ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1; then
	apt_update
fi

missing=()
for p in "${pkgs[@]}"; do
	case $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) in
	installed) ;;
	*) missing+=("$p") ;;
	esac
done

if [ "${#missing[@]}" -gt 0 ]; then
	log "installing: ${missing[*]}"
	# Keep package scripts from starting daemons (vsftpd, sshd) on this
	# machine: the tests start their own instances on loopback.
	policy=/usr/sbin/policy-rc.d
	made_policy=0
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		made_policy=1
	fi
	inst() {
		apt-get install -y -qq --no-install-recommends \
			-o Dpkg::Options::=--force-confdef \
			-o Dpkg::Options::=--force-confold "${missing[@]}"
	}
	if ! inst; then
		apt_update
		inst
	fi
	if [ "$made_policy" -eq 1 ]; then
		rm -f "$policy"
	fi
fi

# Unpack the servers that cannot be installed next to vsftpd (and
# proftpd-mod-crypto: mod_sftp, the second SFTP server, and mod_tls, FTPS).
mkdir -p "$servers_dir/debs" "$servers_dir/root"
stamp=$servers_dir/root/.unpacked
want=""
for p in "${extract_pkgs[@]}"; do
	v=$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ {print $2}')
	if [ -z "$v" ] || [ "$v" = "(none)" ]; then
		apt_update
		v=$(apt-cache policy "$p" | awk '/Candidate:/ {print $2}')
	fi
	want="$want$p=$v "
done
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
	log "fetching and unpacking: $want"
	rm -rf "${servers_dir:?}/debs"/* "${servers_dir:?}/root"
	mkdir -p "$servers_dir/root"
	(
		cd "$servers_dir/debs"
		# _apt cannot write into root-only folders; fetch as root.
		if ! apt-get download -qq -o APT::Sandbox::User=root \
			"${extract_pkgs[@]}"; then
			apt_update
			apt-get download -qq -o APT::Sandbox::User=root \
				"${extract_pkgs[@]}"
		fi
	)
	for deb in "$servers_dir"/debs/*.deb; do
		dpkg -x "$deb" "$servers_dir/root"
	done
	printf '%s' "$want" >"$stamp"
fi

for bin in usr/sbin/proftpd usr/sbin/pure-ftpd usr/bin/pure-pw \
	usr/lib/proftpd/mod_sftp.so usr/lib/proftpd/mod_tls.so; do
	if [ ! -e "$servers_dir/root/$bin" ]; then
		log "missing $servers_dir/root/$bin after unpacking"
		exit 1
	fi
done

# FUSE needs the device; in containers it may have to be created.
if [ ! -e /dev/fuse ]; then
	mknod -m 666 /dev/fuse c 10 229 || true
fi
modprobe fuse 2>/dev/null || true
exit 0
