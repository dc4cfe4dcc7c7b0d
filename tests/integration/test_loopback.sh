#!/bin/sh
# test_loopback: netstackd's own loopback device.  Two programs under
# LD_PRELOAD exchange 100 MB of UDP over 127.0.0.1 through netstackd (an
# echo server and a client that checks every byte that comes back), and
# the same to the stack's own TAP address, which must go through lo too;
# then iperf3 moves 1 GB of TCP between two preloaded ends over 127.0.0.1.
# The kernel's lo in the namespace sees none of it while netstackd's lo
# counts it all.  netstackctl link shows lo; 127/8 arriving on the TAP is
# a counted martian; ping of 127.0.0.1 and of the own address works.
. "$(dirname "$0")/lib.sh"

setup
require_cmd ping
ECHO=$abs_top_builddir/tests/integration/udp_echo
[ -x "$ECHO" ] || fail "udp_echo not built at $ECHO"
INJECT=$IT_SRCDIR/inject_frames.py
[ -r "$INJECT" ] || fail "missing $INJECT"
require_libnetstack
# 10,000 datagrams of 10,000 bytes each way (LOOPBACK_COUNT to change).
N=${LOOPBACK_COUNT:-10000}
SIZE=10000
start_daemon --workers 2

# kernel_lo FIELD: the kernel's lo counter in the namespace (packets, bytes).
kernel_lo() {
	in_ns ip -s -j link show lo | jget 'j[0]["stats64"]["rx"]["'"$1"'"]'
}
# stack_lo DIR FIELD: netstackd's lo counter.
stack_lo() {
	ctl -j link | jget '[l for l in j if l["ifname"] == "lo"][0]["stats64"]["'"$1"'"]["'"$2"'"]'
}

link=$(ctl_json link) || fail "netstackctl -j link failed"
echo "link: $link"
jcheck "$link" '[l["ifname"] for l in j] == ["lo", "'"$TAP"'"]' "link: lo then $TAP"
jcheck "$link" 'j[0]["kind"] == "loopback" and j[0]["mtu"] == 65536 and j[0]["ifindex"] == 1' \
	"link: lo is a loopback device, MTU 65536, ifindex 1"
jcheck "$link" '[(a["local"], a["prefixlen"]) for a in j[0]["addr_info"]] == [("127.0.0.1", 8)]' \
	"link: lo has 127.0.0.1/8"
ctl link | grep -q '^1: lo: <LOOPBACK,UP>' || fail "netstackctl link does not show lo"

# exchange ADDR PORT: the echo server and the client, both on the stack.
exchange() {
	bg_preloaded "$ECHO" server "$1" "$2" >"$IT_TMP/server.out" 2>"$IT_TMP/server.err"
	srv=$BG_PID
	i=0
	while ! grep -q ready "$IT_TMP/server.err" 2>/dev/null && [ $i -lt 100 ]; do
		pid_alive "$srv" || break
		sleep 0.05
		i=$((i + 1))
	done
	grep -q ready "$IT_TMP/server.err" || fail "udp_echo server did not start: $(cat "$IT_TMP/server.err")"
	# A window of 8: 80 KB in flight stays under the default SO_RCVBUF (212992),
	# which the kernel would enforce too.
	out=$(run_preloaded timeout 120 "$ECHO" client "$1" "$2" "$N" $SIZE 8 2>&1)
	rc=$?
	echo "client: $out"
	bg_wait "$srv" 15
	echo "server: $(cat "$IT_TMP/server.out") $(cat "$IT_TMP/server.err")"
	[ $rc -eq 0 ] || fail "udp_echo to $1: not every datagram came back intact ($out)"
	echo "$out" | grep -q "received $N bad 0 bytes $((N * SIZE))" ||
		fail "udp_echo to $1: expected $N datagrams of $SIZE bytes back"
}

k0=$(kernel_lo packets) || fail "cannot read the kernel's lo counters"
s0=$(stack_lo rx packets) || fail "cannot read netstackd's lo counters"
t0=$(stack_lo tx bytes) || fail "cannot read netstackd's lo counters"
t_start=$(now_ms)
exchange 127.0.0.1 7000
t_ms=$(($(now_ms) - t_start))
info "$((2 * N * SIZE / 1000000)) MB over 127.0.0.1 in $t_ms ms"
exchange "$STACK_ADDR" 7001
k1=$(kernel_lo packets) || fail "cannot read the kernel's lo counters"
s1=$(stack_lo rx packets) || fail "cannot read netstackd's lo counters"
t1=$(stack_lo tx bytes) || fail "cannot read netstackd's lo counters"
info "kernel lo rx packets $k0 -> $k1; netstackd lo rx packets $s0 -> $s1, tx bytes $t0 -> $t1"
# Both exchanges: N datagrams each way, twice.
[ $((s1 - s0)) -ge $((4 * N)) ] || fail "netstackd's lo received $((s1 - s0)) packets, expected >= $((4 * N))"
[ $((t1 - t0)) -ge $((4 * N * SIZE)) ] || fail "netstackd's lo sent $((t1 - t0)) bytes, expected >= $((4 * N * SIZE))"
# The kernel's lo carried none of it (a few packets of its own at most).
[ $((k1 - k0)) -lt 10 ] || fail "the kernel's lo received $((k1 - k0)) packets: the traffic did not stay in netstackd"
# And the TAP carried none of it either: the own address is local.
tap_tx=$(ctl -j link | jget '[l for l in j if l["ifname"] == "'"$TAP"'"][0]["stats64"]["tx"]["bytes"]')
[ "$tap_tx" -lt 100000 ] || fail "the TAP sent $tap_tx bytes: traffic to $STACK_ADDR left through it"

# TCP, client and server both on the stack over 127.0.0.1: iperf3 moves
# LOOPBACK_TCP_BYTES (default 1G, about half a second in a plain build and
# one in an ASan build) and the kernel's lo stays silent.  A gigabyte also
# crosses the 2^32 sequence wrap one run in four.
if command -v iperf3 >/dev/null 2>&1; then
	BYTES=${LOOPBACK_TCP_BYTES:-1G}
	case ${PRELOAD:-} in *libtsan*) BYTES=${LOOPBACK_TCP_BYTES:-64M} ;; esac
	k0=$(kernel_lo packets) || fail "cannot read the kernel's lo counters"
	bg_preloaded timeout 120 iperf3 -s -1 -B 127.0.0.1 -p 5300
	srv=$BG_PID
	i=0
	while ! ctl ss -tl 2>/dev/null | grep -q ':5300 ' && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	t_start=$(now_ms)
	run_preloaded timeout 110 iperf3 -c 127.0.0.1 -p 5300 -n "$BYTES" >"$IT_TMP/iperf.out" 2>&1 ||
		{ cat "$IT_TMP/iperf.out"; fail "iperf3 over 127.0.0.1 through netstackd failed"; }
	t_ms=$(($(now_ms) - t_start))
	grep -E "sender|receiver" "$IT_TMP/iperf.out"
	grep -q "iperf Done" "$IT_TMP/iperf.out" || fail "iperf3 over 127.0.0.1 did not finish"
	bg_wait "$srv" 10 || fail "the iperf3 server over 127.0.0.1 did not finish"
	k1=$(kernel_lo packets) || fail "cannot read the kernel's lo counters"
	info "TCP: $BYTES over 127.0.0.1 in $t_ms ms; kernel lo rx packets $k0 -> $k1"
	[ $((k1 - k0)) -lt 10 ] || fail "the kernel's lo received $((k1 - k0)) packets during the TCP transfer"
else
	info "iperf3 not installed: the TCP part is not run"
fi

# ping, a raw socket under LD_PRELOAD (the test runs as root), to 127.0.0.1
# and to the stack's own address: the stack's lo answers.
for a in 127.0.0.1 127.1.2.3 "$STACK_ADDR"; do
	out=$(run_preloaded timeout 20 ping -c 2 -i 0.2 -w 10 "$a" 2>&1)
	echo "$out"
	echo "$out" | grep -q '^2 packets transmitted, 2 received' || fail "ping $a through netstackd failed"
done

# Martians: 127/8 arriving on the TAP is dropped and counted, as the kernel does.
mac=$(ctl -j link | jget '[l for l in j if l["ifname"] == "'"$TAP"'"][0]["address"]') ||
	fail "netstackctl -j link failed"
d0=$(ctl_json drops) || fail "netstackctl -j drops failed"
sent=$(in_ns "$PYTHON" "$INJECT" "$TAP" "$mac" "$HOST_ADDR" "$STACK_ADDR" 5 martian_dst martian_src) ||
	fail "inject_frames.py failed"
echo "$sent"
i=0
while [ $i -lt 50 ]; do
	d1=$(ctl_json drops) || fail "netstackctl -j drops failed"
	printf '%s\n%s\n' "$d0" "$d1" | "$PYTHON" -c '
import json, sys
b = json.loads(sys.stdin.readline()); a = json.loads(sys.stdin.readline())
d = lambda k: a.get(k, 0) - b.get(k, 0)
sys.exit(0 if d("IP_INVALID_DEST") == 5 and d("IP_BAD_SRC") == 5 else 1)' && break
	sleep 0.1
	i=$((i + 1))
done
echo "drops: $d1"
jcheck "$d1" 'j["IP_INVALID_DEST"] >= 5 and j["IP_BAD_SRC"] >= 5' \
	"martians from the TAP: IP_INVALID_DEST and IP_BAD_SRC not counted"
[ $i -lt 50 ] || fail "martian drops did not grow by exactly 5 each"

stop_daemon
pass
