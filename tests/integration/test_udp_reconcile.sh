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

start_daemon

# ---- netstackd -> kernel -------------------------------------------------------
bg_in_ns "$BLAST" recv "$HOST_ADDR" 9001 "$N" 3000 >"$IT_TMP/k.out" 2>"$IT_TMP/k.err"
rpid=$BG_PID
i=0
until grep -q ready "$IT_TMP/k.err" 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 100 ] || fail "kernel receiver did not start"
	sleep 0.05
done
snapshot "$IT_TMP/a1"
t0=$(now_ms)
run_preloaded "$BLAST" send "$HOST_ADDR" 9001 "$N" 64 >"$IT_TMP/s.out" 2>&1 ||
	{ cat "$IT_TMP/s.out"; fail "sender under LD_PRELOAD failed"; }
t1=$(now_ms)
bg_wait $rpid 600 || fail "kernel receiver failed or hung"
snapshot "$IT_TMP/b1"
sent=$(awk '/^sent/ { print $2 }' "$IT_TMP/s.out")
rcvd=$(awk '/^received/ { print $2 }' "$IT_TMP/k.out")
bad=$(awk '/^received/ { print $4 }' "$IT_TMP/k.out")
lost=$(delta "$IT_TMP/a1" "$IT_TMP/b1" "stack.* kernel.Udp.InErrors tap.rx_dropped")
info "stack -> kernel: handed over $sent of $N in $((t1 - t0)) ms, received $rcvd, counted drops $lost"
cat "$IT_TMP/s.out"
changed "$IT_TMP/a1" "$IT_TMP/b1"
[ "$bad" = 0 ] || fail "the kernel receiver got $bad corrupt datagrams"
[ "$sent" -gt 0 ] || fail "nothing was sent"
[ $((rcvd + lost)) -eq "$sent" ] ||
	fail "stack -> kernel does not reconcile: sent $sent != received $rcvd + drops $lost"

# ---- kernel -> netstackd -------------------------------------------------------
bg_preloaded "$BLAST" recv "$STACK_ADDR" 9002 "$N" 3000 >"$IT_TMP/r.out" 2>"$IT_TMP/r.err"
rpid=$BG_PID
i=0
until grep -q ready "$IT_TMP/r.err" 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 100 ] || fail "receiver under LD_PRELOAD did not start"
	sleep 0.05
done
snapshot "$IT_TMP/a2"
t0=$(now_ms)
in_ns "$BLAST" send "$STACK_ADDR" 9002 "$N" 64 >"$IT_TMP/ks.out" 2>&1 ||
	{ cat "$IT_TMP/ks.out"; fail "kernel sender failed"; }
t1=$(now_ms)
bg_wait $rpid 600 || fail "receiver under LD_PRELOAD failed or hung"
snapshot "$IT_TMP/b2"
sent=$(awk '/^sent/ { print $2 }' "$IT_TMP/ks.out")
rcvd=$(awk '/^received/ { print $2 }' "$IT_TMP/r.out")
bad=$(awk '/^received/ { print $4 }' "$IT_TMP/r.out")
lost=$(delta "$IT_TMP/a2" "$IT_TMP/b2" "stack.* kernel.Udp.SndbufErrors tap.tx_dropped")
info "kernel -> stack: handed over $sent of $N in $((t1 - t0)) ms, received $rcvd, counted drops $lost"
cat "$IT_TMP/ks.out"
changed "$IT_TMP/a2" "$IT_TMP/b2"
[ "$bad" = 0 ] || fail "the receiver under LD_PRELOAD got $bad corrupt datagrams"
[ "$sent" -gt 0 ] || fail "nothing was sent"
[ $((rcvd + lost)) -eq "$sent" ] ||
	fail "kernel -> stack does not reconcile: sent $sent != received $rcvd + drops $lost"

stop_daemon
pass
