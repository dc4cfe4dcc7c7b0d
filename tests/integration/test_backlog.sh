#!/bin/sh
# The RPS backlog under pressure: netstackd with 2 workers and a TAP with
# one queue (its irq on worker 0) and rps_cpus = 2, so every frame is
# handed to worker 1's input_pkt_queue (enqueue_to_backlog + IPI,
# process_backlog there).  With net.core.netdev_max_backlog lowered to 10,
# a UDP flood from the kernel side (BACKLOG_COUNT datagrams, default
# 200,000) overflows it: worker 1's softnet "dropped" and the CPU_BACKLOG
# drop reason rise, and netstackd keeps running.  With the limit back at
# 1000, a paced burst of 1000 datagrams reaches a receiver under
# LD_PRELOAD (at least 95%).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tcp_lib.sh"

setup
require_libnetstack
BLAST=$abs_top_builddir/tests/integration/udp_blast
[ -x "$BLAST" ] || fail "udp_blast not built at $BLAST"
N=${BACKLOG_COUNT:-200000}
tsan_runtime && N=${BACKLOG_COUNT:-50000}

cat >"$IT_TMP/backlog.conf" <<EOF
[daemon]
workers = 2

[interface $TAP]
address = $STACK_ADDR/24
host_address = $HOST_ADDR/24
queues = 1
irq_affinity = 0
rps_cpus = 2
EOF
start_daemon_args -c "$IT_TMP/backlog.conf"
in_ns sysctl -qw "net.ipv6.conf.$TAP.disable_ipv6=1" 2>/dev/null || true
in_ns ping -c 1 -W 2 "$STACK_ADDR" >/dev/null || fail "the stack does not answer ping"

# softnet FIELD CPU: one worker's counter from netstackctl softnet -j.
softnet() {
	ctl softnet -j | "$PYTHON" -c '
import json, sys
print([s for s in json.load(sys.stdin) if s["cpu"] == int(sys.argv[2])][0][sys.argv[1]])' "$1" "$2"
}

# receive PORT COUNT IDLE_MS: a receiver under LD_PRELOAD; waits until bound.
receive() {
	bg_preloaded "$BLAST" recv "$STACK_ADDR" "$1" "$2" "$3" 4194304 \
		>"$IT_TMP/$1.r" 2>"$IT_TMP/$1.e"
	RX_PID=$BG_PID
	_i=0
	until grep -q ready "$IT_TMP/$1.e" 2>/dev/null; do
		_i=$((_i + 1))
		[ $_i -lt 100 ] || fail "the receiver on port $1 did not start"
		sleep 0.05
	done
}

ctl link -s
ctl sysctl -w net.core.netdev_max_backlog=10 || fail "cannot lower netdev_max_backlog"
drop0=$(softnet dropped 1)
rps0=$(softnet received_rps 1)
reason0=$(ctl drops -j | "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin).get("CPU_BACKLOG", 0))')

info "flood: $N datagrams of 64 bytes with netdev_max_backlog = 10"
receive 9003 "$N" 2000
t0=$(now_ms)
in_ns timeout 60 "$BLAST" send "$STACK_ADDR" 9003 "$N" 64 >"$IT_TMP/flood.s" 2>&1 ||
	fail "the flood's sender failed: $(cat "$IT_TMP/flood.s")"
t1=$(now_ms)
bg_wait "$RX_PID" 60 || fail "the flood's receiver failed or hung"
daemon_alive || fail "netstackd died under the flood"
drop1=$(softnet dropped 1)
rps1=$(softnet received_rps 1)
reason1=$(ctl drops -j | "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin).get("CPU_BACKLOG", 0))')
info "sent: $(cat "$IT_TMP/flood.s") in $((t1 - t0)) ms; $(cat "$IT_TMP/9003.r")"
info "worker 1: dropped $drop0 -> $drop1, received_rps $rps0 -> $rps1; CPU_BACKLOG $reason0 -> $reason1"
ctl softnet
[ "$drop1" -gt "$drop0" ] || fail "worker 1's backlog dropped nothing with netdev_max_backlog = 10"
[ $((reason1 - reason0)) -eq $((drop1 - drop0)) ] ||
	fail "CPU_BACKLOG drops ($((reason1 - reason0))) differ from softnet dropped ($((drop1 - drop0)))"
[ "$rps1" -gt "$rps0" ] || fail "worker 1 never ran its backlog (received_rps)"

ctl sysctl -w net.core.netdev_max_backlog=1000 || fail "cannot restore netdev_max_backlog"
drop2=$(softnet dropped 1)
info "paced burst: 1000 datagrams with netdev_max_backlog = 1000"
receive 9004 1000 2000
in_ns "$PYTHON" - "$STACK_ADDR" 9004 <<'PY' || fail "the paced sender failed"
import socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(1000):
    s.sendto(struct.pack("<Q", i) + b"\x5a" * 56, (sys.argv[1], int(sys.argv[2])))
    time.sleep(0.0002)
PY
bg_wait "$RX_PID" 30 || fail "the burst's receiver failed or hung"
got=$(awk '/^received/ { print $2 }' "$IT_TMP/9004.r")
bad=$(awk '/^received/ { print $4 }' "$IT_TMP/9004.r")
info "burst: received $got of 1000 (bad $bad); worker 1 dropped $((($(softnet dropped 1)) - drop2)) more"
[ "$bad" = 0 ] || fail "corrupt datagrams in the burst"
[ "$got" -ge 950 ] || fail "only $got of 1000 datagrams arrived after restoring the backlog"
stop_daemon
pass
