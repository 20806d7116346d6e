# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# A network namespace whose loopback has a round-trip delay, for the latency
# benchmark (tests/bench/bench_latency.sh).  Source from bash, after
# tests/lib/servers.sh; run as root.  The kernel has no netem: the delay is
# made by tests/lib/delay_relay.py, a userspace TCP relay inside the
# namespace, to which nftables redirects every TCP connection to 127.0.0.0/8.
#
#   latns_up NAME DELAY_MS     ip netns add NAME (lo up, ephemeral ports
#                              50000-60999: netns_create of netns.sh), start
#                              the relay in it, load the redirect rules
#   latns_down NAME            kill what runs in NAME (the relay first; by
#                              pid), delete the namespace and its state.
#                              Unmount FUSE mounts served from NAME before:
#                              a killed daemon leaves a dead mount
#   latns_down_all             every namespace latns_up made (for traps)
#   latns_run NAME CMD...      CMD in NAME's network namespace only
#                              (nsenter --net): mounts it makes are the
#                              host's, unlike under "ip netns exec"
#   latns_selftest NAME        time echoes through the relay (delay_relay.py
#                              --selftest); fails when the delay is wrong
#   latns_stats NAME           "total=N peak=M active=K": the connections the
#                              relay accepted since the last call, the most
#                              open at once, those open now; then restarts
#                              the counts (SIGUSR1 to the relay)
#   latns_rules NAME           the namespace's nft ruleset
#
# Servers and clients both run in the namespace on 127.0.0.1, so every
# connection (FTP control and data, SSH) crosses the relay: the nat output
# chain redirects a new connection to 127.0.0.0/8 to the relay's port
# $LATNS_PORT, except connections to that port and the relay's own upstream
# connections, which carry SO_MARK $LATNS_MARK.  The relay delays each
# direction by DELAY_MS/2 and models the TCP handshake's round trip (see
# delay_relay.py).  Nothing leaves the namespace's lo; no interface or
# address is created.
#
# State of a namespace (so that a process started by latns_run can call
# latns_stats too): /run/ftpfs-latns/NAME/{relay.pid,relay.log,stats,port,
# delay}.

LATNS_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=netns.sh
. "$LATNS_LIB_DIR/netns.sh"
LATNS_RELAY=$LATNS_LIB_DIR/delay_relay.py
LATNS_PY=/usr/bin/python3
LATNS_PORT=${LATNS_PORT:-40999} # below the namespace's ephemeral ports
LATNS_MARK=${LATNS_MARK:-0x4c54}
LATNS_MAX_QUEUE=${LATNS_MAX_QUEUE:-8388608}
LATNS_STATE=/run/ftpfs-latns
LATNS_TABLE=ftpfs_latns

declare -ga LATNS_MADE=()

latns_msg() { printf '# %s\n' "$*" >&2; }

latns_run() {
	local ns=$1
	shift
	nsenter --net="/run/netns/$ns" -- "$@"
}

latns_rules() { latns_run "$1" nft list ruleset 2>&1; }

latns_up() {
	local ns=$1 delay=$2 st i pid
	st=$LATNS_STATE/$ns
	if [ -e "/run/netns/$ns" ]; then
		latns_msg "latns_up: namespace $ns exists already"
		return 1
	fi
	netns_create "$ns" || { netns_destroy "$ns"; return 1; }
	LATNS_MADE+=("$ns")
	rm -rf "$st"
	mkdir -p "$st"
	printf '%s\n' "$LATNS_PORT" >"$st/port"
	printf '%s\n' "$delay" >"$st/delay"
	: >"$st/stats"
	# The nat output hook sees the first packet of each locally made
	# connection, loopback ones included; "redirect" sends it to the
	# relay on 127.0.0.1, which reads the original address back with
	# SO_ORIGINAL_DST.
	if ! latns_run "$ns" nft -f - <<EOF; then
table ip $LATNS_TABLE {
	chain out {
		type nat hook output priority -100; policy accept;
		meta mark $LATNS_MARK return
		tcp dport $LATNS_PORT return
		ip daddr 127.0.0.0/8 tcp flags & (syn | ack) == syn redirect to :$LATNS_PORT
	}
}
EOF
		latns_msg "latns_up: nft rules refused in $ns"
		latns_down "$ns"
		return 1
	fi
	# Its own session: a Ctrl-C at the terminal does not stop it before
	# the mounts that use it are gone.  nsenter, not "ip netns exec": no
	# private mount namespace pinning the host's FUSE mounts.
	# shellcheck disable=SC2086 # LATNS_RELAY_ARGS: words
	setsid nsenter --net="/run/netns/$ns" -- "$LATNS_PY" "$LATNS_RELAY" \
		--port "$LATNS_PORT" --delay-ms "$delay" --mark "$LATNS_MARK" \
		--max-queue "$LATNS_MAX_QUEUE" --stats "$st/stats" \
		--pidfile "$st/relay.pid" ${LATNS_RELAY_ARGS:-} \
		</dev/null >>"$st/relay.log" 2>&1 &
	# It writes its pid once it listens.
	for ((i = 0; i < 100; i++)); do
		if [ -s "$st/relay.pid" ]; then
			pid=$(cat "$st/relay.pid")
			if kill -0 "$pid" 2>/dev/null; then
				latns_msg "namespace $ns: ${delay} ms round trip on 127.0.0.0/8 (relay pid $pid, port $LATNS_PORT)"
				return 0
			fi
			break
		fi
		sleep 0.05
	done
	latns_msg "latns_up: the relay did not start:"
	sed 's/^/#   /' "$st/relay.log" >&2
	latns_down "$ns"
	return 1
}

latns_relay_pid() { cat "$LATNS_STATE/$1/relay.pid" 2>/dev/null; }

latns_selftest() {
	local ns=$1 st=$LATNS_STATE/$1
	# shellcheck disable=SC2086 # LATNS_RELAY_ARGS: words
	latns_run "$ns" "$LATNS_PY" "$LATNS_RELAY" --selftest \
		--port "$(cat "$st/port")" --delay-ms "$(cat "$st/delay")" \
		${LATNS_RELAY_ARGS:-}
}

latns_stats() {
	local st=$LATNS_STATE/$1 pid n i
	pid=$(latns_relay_pid "$1") || return 1
	n=$(wc -l <"$st/stats")
	kill -USR1 "$pid" 2>/dev/null || return 1
	for ((i = 0; i < 100; i++)); do
		if [ "$(wc -l <"$st/stats")" -gt "$n" ]; then
			tail -n 1 "$st/stats"
			return 0
		fi
		sleep 0.02
	done
	return 1
}

latns_down() {
	local ns=$1 st=$LATNS_STATE/$1 pid i
	pid=$(latns_relay_pid "$ns")
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < 30; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	# Everything else still running in it (by pid), then the namespace.
	netns_destroy "$ns" || true
	[ -n "$ns" ] && rm -rf "${st:?}"
	local -a keep=()
	for i in "${LATNS_MADE[@]}"; do
		[ "$i" = "$ns" ] || keep+=("$i")
	done
	LATNS_MADE=("${keep[@]}")
}

latns_down_all() {
	local ns
	for ns in "${LATNS_MADE[@]}"; do
		latns_down "$ns"
	done
	LATNS_MADE=()
}
