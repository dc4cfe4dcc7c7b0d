#!/bin/sh
# The transmit qdisc seen from outside: netstackctl qdisc shows a
# pfifo_fast per TX queue of the TAP (lo: noqueue) whose Sent counters
# rise with traffic (pings answered, a UDP flood from a sender under
# LD_PRELOAD); netstackctl link set DEV txqueuelen N changes the limit
# shown by qdisc and link; bad values and lo are refused.  A flood with
# txqueuelen 10: the TAP takes every write at once in practice (its
# socket buffer is released as soon as the kernel has the frame), so
# the queue stays empty and frames bypass it; whatever the qdisc drops
# must equal the QDISC_DROP drop reason.  The drops themselves are tested
# with a busy fake device in tests/unit/core/test_sch_generic.c.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tcp_lib.sh"

setup
require_libnetstack
BLAST=$abs_top_builddir/tests/integration/udp_blast
[ -x "$BLAST" ] || fail "udp_blast not built at $BLAST"
N=${QDISC_COUNT:-100000}
tsan_runtime && N=${QDISC_COUNT:-20000}
start_daemon --workers 2 --queues 2

# qd FIELD: the sum of FIELD over the TAP's qdiscs (netstackctl qdisc -j).
qd() {
	ctl qdisc dev "$TAP" -j | "$PYTHON" -c '
import json, sys
q = json.load(sys.stdin)
assert len(q) == 2 and all(x["kind"] == "pfifo_fast" for x in q), q
print(sum(x[sys.argv[1]] for x in q))' "$1"
}

ctl qdisc
ctl qdisc dev lo -j | grep -q '"kind": *"noqueue"' || fail "lo should be noqueue"
[ "$(qd limit)" -eq 2000 ] || fail "default txqueuelen should be 1000 per queue"

p0=$(qd packets)
in_ns ping -c 5 -i 0.2 -W 2 "$STACK_ADDR" >/dev/null || fail "the stack does not answer ping"
p1=$(qd packets)
info "qdisc sent $p0 -> $p1 packets over 5 pings"
[ $((p1 - p0)) -ge 5 ] || fail "the qdiscs' Sent packets did not count the 5 echo replies"

ctl link set "$TAP" txqueuelen 10 || fail "link set txqueuelen 10 failed"
[ "$(qd limit)" -eq 20 ] || fail "txqueuelen 10 not shown by qdisc"
ctl link -j | "$PYTHON" -c '
import json, sys
l = [x for x in json.load(sys.stdin) if x["ifname"] == sys.argv[1]][0]
sys.exit(0 if l["txqlen"] == 10 and l["qdisc"] == "pfifo_fast" else "link: %s" % l)' "$TAP" ||
	fail "link -j does not show txqlen 10"
ctl link set "$TAP" txqueuelen 0 2>/dev/null && fail "txqueuelen 0 accepted"
ctl link set lo txqueuelen 10 2>/dev/null && fail "lo (noqueue) accepted a txqueuelen"
ctl link set nosuchdev txqueuelen 10 2>/dev/null && fail "an unknown device accepted"

d0=$(qd drops)
r0=$(ctl drops -j | "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin).get("QDISC_DROP", 0))')
s0=$(qd packets)
info "flood: $N datagrams from the stack to the kernel with txqueuelen 10"
bg_in_ns "$BLAST" recv "$HOST_ADDR" 9005 "$N" 1000 >"$IT_TMP/r" 2>"$IT_TMP/e"
rpid=$BG_PID
i=0
until grep -q ready "$IT_TMP/e" 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 100 ] || fail "the receiver did not start"
	sleep 0.05
done
run_preloaded timeout 60 "$BLAST" send "$HOST_ADDR" 9005 "$N" 64 >"$IT_TMP/s" 2>&1 ||
	fail "the sender failed: $(cat "$IT_TMP/s")"
bg_wait "$rpid" 60 || fail "the receiver failed or hung"
daemon_alive || fail "netstackd died"
d1=$(qd drops)
r1=$(ctl drops -j | "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin).get("QDISC_DROP", 0))')
s1=$(qd packets)
info "$(cat "$IT_TMP/s" | head -1); $(cat "$IT_TMP/r"); qdisc sent $((s1 - s0)), dropped $((d1 - d0)), requeues $(qd requeues)"
ctl qdisc dev "$TAP"
[ $((s1 - s0)) -ge $(($(awk '/^received/ { print $2 }' "$IT_TMP/r"))) ] ||
	fail "the qdiscs sent fewer frames than the kernel received"
[ $((d1 - d0)) -eq $((r1 - r0)) ] || fail "qdisc drops ($((d1 - d0))) != QDISC_DROP ($((r1 - r0)))"
[ "$(qd qlen)" -eq 0 ] || fail "frames still queued after the flood"
stop_daemon
pass
