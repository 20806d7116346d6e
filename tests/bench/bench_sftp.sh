#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# SFTP benchmark (issue 9), all on 127.0.0.1 against the harness's OpenSSH
# sshd (internal-sftp), as root:
#
#     bash tests/bench/bench_sftp.sh       (FTPFS=build/ftpfs by default)
#
# Sequential read and write of one $BENCH_MIB MiB file of random bytes,
# runs interleaved, each on a fresh mount:
#   ftpfs    dd bs=1M from / into the mount (sftp://, key login)
#   sshfs    the same through sshfs 3.7 (its defaults; it runs ssh)
#   ssh cat  ssh ... cat FILE > /dev/null, and cat FILE | ssh ... 'cat > F'
# MB/s = 10^6 bytes/s, the median of $RUNS runs.  Targets (issue 9): read
# >= 1.2x sshfs, write >= sshfs.  The server's file is in the page cache.
# Every written file is compared with its source (cmp) once per tool.
#
#   RUNS=5  BENCH_MIB=256
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
FTPFS_REAL=$(readlink -f "$FTPFS")
RUNS=${RUNS:-5}
BENCH_MIB=${BENCH_MIB:-256}
command -v sshfs >/dev/null || { echo "sshfs missing: run tests/deps.sh" >&2; exit 1; }

msg() { printf '# %s\n' "$*" >&2; }

srv_init
DATA=$SRV_TMP/data
MNT=$SRV_TMP/mnt
SRC=$SRV_TMP/src.bin
mkdir -p "$DATA" "$MNT"
head -c $((BENCH_MIB * 1048576)) /dev/urandom >"$SRC"
cp "$SRC" "$DATA/big.bin"
chown -R "$SRV_USER": "$DATA"
cat "$DATA/big.bin" >/dev/null
SRV_SSHD_ROOT_KEY=1 srv_start sshd "$DATA" || exit 1
PORT=$(srv_port sshd)
KH=$(srv_known_hosts sshd)
SSH=(ssh -p "$PORT" -i "$SRV_SSH_KEY" -o IdentitiesOnly=yes -o BatchMode=yes
	-o UserKnownHostsFile="$KH" -o StrictHostKeyChecking=yes
	root@127.0.0.1) # the test account has no shell
BYTES=$((BENCH_MIB * 1048576))

# MB/s of CMD... (which moves $BYTES), or 0 when it fails
rate() {
	local t0 t1
	t0=$EPOCHREALTIME
	if ! timeout 600 "$@" >/dev/null 2>>"$SRV_TMP/bench.err"; then
		echo 0
		return
	fi
	t1=$EPOCHREALTIME
	awk -v b="$BYTES" -v a="$t0" -v c="$t1" 'BEGIN { printf "%.0f", b / (c - a) / 1e6 }'
}

median() {
	printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

mount_ftpfs() {
	FTPFS_MOUNT_LOG=$SRV_TMP/ftpfs.log ftpfs_mount "$FTPFS" "$MNT" \
		"$(srv_url sshd)" $(srv_opts sshd)
}
mount_sshfs() {
	srv_track_mount "$MNT"
	sshfs -p "$PORT" -o IdentityFile="$SRV_SSH_KEY" -o IdentitiesOnly=yes \
		-o UserKnownHostsFile="$KH" -o StrictHostKeyChecking=yes \
		-o BatchMode=yes "$SRV_USER@127.0.0.1:$DATA" "$MNT"
}
umount_any() {
	if [ "$1" = ftpfs ]; then
		ftpfs_umount "$MNT" "$FTPFS_REAL"
	else
		fusermount3 -u "$MNT"
	fi
}

declare -A R W
for ((run = 1; run <= RUNS; run++)); do
	for tool in ftpfs sshfs; do
		"mount_$tool" || { msg "$tool: mount failed"; continue; }
		R[$tool]+=" $(rate dd if="$MNT/big.bin" of=/dev/null bs=1M)"
		rm -f "$DATA/up-$tool.bin"
		W[$tool]+=" $(rate dd if="$SRC" of="$MNT/up-$tool.bin" bs=1M)"
		umount_any "$tool"
		if [ "$run" = 1 ] && ! cmp -s "$SRC" "$DATA/up-$tool.bin"; then
			msg "$tool: the uploaded file differs from its source"
			W[$tool]=" 0"
		fi
	done
	R[ssh]+=" $(rate "${SSH[@]}" cat "$DATA/big.bin")"
	W[ssh]+=" $(rate sh -c 'f=$1; shift; cat "$f" | "$@"' sh "$SRC" "${SSH[@]}" "cat > $DATA/up-ssh.bin")"
	msg "run $run: read ${R[ftpfs]##* } / ${R[sshfs]##* } / ${R[ssh]##* }, write ${W[ftpfs]##* } / ${W[sshfs]##* } / ${W[ssh]##* } (ftpfs / sshfs / ssh cat)"
done

# shellcheck disable=SC2086
{
	rf=$(median ${R[ftpfs]}) rs=$(median ${R[sshfs]}) rc=$(median ${R[ssh]})
	wf=$(median ${W[ftpfs]}) ws=$(median ${W[sshfs]}) wc=$(median ${W[ssh]})
}
printf '\nSFTP benchmark, %s MiB, 127.0.0.1, %s cores, load %s, median of %s runs (MB/s)\n' \
	"$BENCH_MIB" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$RUNS"
printf '%-8s %8s %8s %8s   %s\n' "" ftpfs sshfs "ssh cat" "ftpfs/sshfs (target)"
printf '%-8s %8s %8s %8s   %s (>= 1.2)   runs: %s | %s | %s\n' read "$rf" "$rs" "$rc" \
	"$(awk -v a="$rf" -v b="$rs" 'BEGIN { printf "%.2f", b ? a / b : 0 }')" \
	"${R[ftpfs]# }" "${R[sshfs]# }" "${R[ssh]# }"
printf '%-8s %8s %8s %8s   %s (>= 1.0)   runs: %s | %s | %s\n' write "$wf" "$ws" "$wc" \
	"$(awk -v a="$wf" -v b="$ws" 'BEGIN { printf "%.2f", b ? a / b : 0 }')" \
	"${W[ftpfs]# }" "${W[sshfs]# }" "${W[ssh]# }"
