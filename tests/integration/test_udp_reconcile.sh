#!/bin/sh
# Every datagram accounted for: RECONCILE_COUNT (default 1,000,000)
# datagrams of 64 bytes from a sender under LD_PRELOAD to a kernel
# receiver, and the same from a kernel sender to a receiver under
# LD_PRELOAD.  Each datagram the sending program handed over must either
# reach the receiving program or appear in a named drop counter on the way:
# netstackd's drop reasons, the kernel's Udp SndbufErrors/InErrors and the
# kernel side of the TAP's dropped counters.  The totals must match exactly.
. "$(dirname "$0")/lib.sh"

setup
require_cmd ip python3
BLAST=$abs_top_builddir/tests/integration/udp_blast
[ -x "$BLAST" ] || fail "udp_blast not built at $BLAST"
N=${RECONCILE_COUNT:-1000000}

require_libnetstack

# snapshot FILE: every counter that can account for a lost datagram, as
# "name value" lines: the stack's drop reasons (all but those that frames
# of other protocols from the kernel's side land in), the kernel's Udp MIB
# in the namespace, and the kernel-side TAP's RX/TX drops.
snapshot() {
	{
		ctl -j drops | python3 -c '
import json, sys
for k, v in json.load(sys.stdin).items():
    if k not in ("UNHANDLED_PROTO", "OTHERHOST"):
        print("stack." + k, v)'
		in_ns cat /proc/net/snmp | awk '
			$1 == "Udp:" && !h { for (i = 2; i <= NF; i++) n[i] = $i; h = 1; next }
			$1 == "Udp:" { for (i = 2; i <= NF; i++) print "kernel.Udp." n[i], $i }'
		in_ns ip -s -j link show "$TAP" | python3 -c '
import json, sys
s = json.load(sys.stdin)[0]["stats64"]
print("tap.rx_dropped", s["rx"]["dropped"])
print("tap.tx_dropped", s["tx"]["dropped"])'
	} >"$1"
}

# delta A B NAME...: the sum over NAMEs of B - A.
delta() {
	awk -v names="$3" '
		BEGIN { k = split(names, want, " ") }
		FNR == NR { a[$1] = $2; next }
		{ b[$1] = $2 }
		END {
			s = 0
			for (i = 1; i <= k; i++) {
				if (want[i] == "stack.*") {
					for (n in b) if (n ~ /^stack\./) s += b[n] - a[n]
				} else {
					s += b[want[i]] - a[want[i]]
				}
			}
			print s
		}' "$1" "$2"
}

# changed A B: the counters that moved, for the log.
changed() {
	awk 'FNR == NR { a[$1] = $2; next } $2 != a[$1] { print "  " $1, $2 - a[$1] }' "$1" "$2"
}

# reconcile NAME RX_WRAP RX_ADDR TX_WRAP PORT COUNTERS: run a receiver
# (RX_WRAP: bg_in_ns or bg_preloaded) on RX_ADDR:PORT and a sender (TX_WRAP:
# in_ns or run_preloaded) to it; then sent == received + the sum of the
# COUNTERS' deltas, exactly.  Runs in the test's shell (fail exits).
reconcile() {
	_name=$1 _rx=$2 _addr=$3 _tx=$4 _port=$5 _counters=$6
	$_rx "$BLAST" recv "$_addr" "$_port" "$N" 3000 >"$IT_TMP/$_port.r" 2>"$IT_TMP/$_port.e"
	_rpid=$BG_PID
	_i=0
	until grep -q ready "$IT_TMP/$_port.e" 2>/dev/null; do
		_i=$((_i + 1))
		[ $_i -lt 100 ] || fail "$_name: the receiver did not start"
		sleep 0.05
	done
	snapshot "$IT_TMP/$_port.a"
	_t0=$(now_ms)
	$_tx "$BLAST" send "$_addr" "$_port" "$N" 64 >"$IT_TMP/$_port.s" 2>&1 ||
		{ cat "$IT_TMP/$_port.s"; fail "$_name: the sender failed"; }
	_t1=$(now_ms)
	bg_wait "$_rpid" 600 || fail "$_name: the receiver failed or hung"
	snapshot "$IT_TMP/$_port.b"
	sent=$(awk '/^sent/ { print $2 }' "$IT_TMP/$_port.s")
	rcvd=$(awk '/^received/ { print $2 }' "$IT_TMP/$_port.r")
	bad=$(awk '/^received/ { print $4 }' "$IT_TMP/$_port.r")
	lost=$(delta "$IT_TMP/$_port.a" "$IT_TMP/$_port.b" "$_counters")
	info "$_name: handed over $sent of $N in $((_t1 - _t0)) ms, received $rcvd, counted drops $lost"
	cat "$IT_TMP/$_port.s"
	changed "$IT_TMP/$_port.a" "$IT_TMP/$_port.b"
	[ "$bad" = 0 ] || fail "$_name: the receiver got $bad corrupt datagrams"
	[ "$sent" -gt 0 ] || fail "$_name: nothing was sent"
	[ $((rcvd + lost)) -eq "$sent" ] ||
		fail "$_name does not reconcile: sent $sent != received $rcvd + drops $lost"
}

start_daemon
# tap.tx_dropped counts every frame the kernel could not queue to us, not
# only the test's datagrams: no IPv6 on the kernel's side (router
# solicitations, MLD), and the kernel's neighbour entry for the stack
# pinned, so that no ARP probe of its own joins them under load.
in_ns sysctl -qw "net.ipv6.conf.$TAP.disable_ipv6=1" 2>/dev/null || true
in_ns ping -c 1 -W 2 "$STACK_ADDR" >/dev/null || fail "the stack does not answer ping"
mac=$(in_ns ip -j neigh show "$STACK_ADDR" dev "$TAP" |
	python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["lladdr"])') ||
	fail "no neighbour entry for $STACK_ADDR"
in_ns ip neigh replace "$STACK_ADDR" lladdr "$mac" nud permanent dev "$TAP" ||
	fail "cannot pin the neighbour entry"
# The kernel receives: its socket's drops and what the TAP could not take.
reconcile "stack -> kernel" bg_in_ns "$HOST_ADDR" run_preloaded 9001 \
	"stack.* kernel.Udp.InErrors tap.rx_dropped"
# The stack receives: the kernel's send-side drops, the TAP queue the stack
# did not read in time, and every drop reason of the stack.
reconcile "kernel -> stack" bg_preloaded "$STACK_ADDR" in_ns 9002 \
	"stack.* kernel.Udp.SndbufErrors tap.tx_dropped"
stop_daemon
pass
