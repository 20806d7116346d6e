#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Design (a) libssh2's SFTP API vs (b) ftpfs's own codec on a raw channel
# (issue 9): 256 MiB read and written through the harness sshd, 3 rounds,
# interleaved.  Run as root after building (build/sftp_design).
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
. tests/lib/servers.sh
srv_init
D=$SRV_TMP/data; mkdir -p $D; head -c $((256*1048576)) /dev/urandom > $D/big.bin; chown -R $SRV_USER: $D
srv_start sshd $D >/dev/null 2>&1 || exit 1
P=$(srv_port sshd); KH=$(srv_known_hosts sshd)
B=build/sftp_design
for rep in 1 2 3; do
for cfg in "api read . 0 1048576" "api read . 0 262144" "own read . 0 65536 32" "own read . 0 131072 16" "api write . W 1048576" "own write . W 65536 8" "own write . W 131072 8"; do
  set -- $cfg
  mode=$1 dir=$2; shift 4
  if [ $dir = read ]; then p=$D/big.bin; else p=$D/up-$mode.bin; fi
  $B $mode $dir 127.0.0.1 $P $SRV_USER $SRV_SSH_KEY $KH $p $((256*1048576)) "$@" 2>&1
  [ $dir = write ] && { cmp -s $p <(head -c $((256*1048576)) /dev/zero | tr '\0' x) || echo "  MISMATCH $p"; }
done
done
