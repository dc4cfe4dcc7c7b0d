#!/bin/sh
# test_ip_frag: IPv4 fragmentation, reassembly and path MTU through a real
# TAP, with the kernel's stack as the peer and two workers (RPS: every
# fragment of a datagram must reach the worker that holds its queue).
#   - ping -s 60000 and ping -R (record route option) are answered;
#   - a 60,000-byte UDP datagram goes kernel -> stack -> kernel and
#     stack -> kernel -> stack intact (both sides fragment and reassemble);
#   - IP_PMTUDISC_DO refuses an over-MTU datagram with EMSGSIZE;
#   - a flood of first fragments that never complete keeps reassembly
#     memory at or below net.ipv4.ipfrag_high_thresh (evicting), the queues
#     time out after net.ipv4.ipfrag_time, and ping and UDP keep working;
#   - an ICMP "fragmentation needed" (MTU 1000) quoting the stack's
#     datagram lowers the path MTU: IP_MTU says 1000 and the next 1400-byte
#     datagram reaches the kernel's side of the TAP in fragments of at most
#     1000 bytes (seen with an AF_PACKET socket).
. "$(dirname "$0")/lib.sh"

setup
require_cmd ping python3
TOOL=$IT_SRCDIR/frag_tool.py
UF=$abs_top_builddir/tests/integration/udp_frag
[ -x "$UF" ] || fail "udp_frag not built at $UF"
require_libnetstack

# stat GROUP NAME: one counter of `netstackctl -j stats`.
stat() {
	ctl -j stats | jget "j[\"$1\"][\"$2\"]"
}

# dropped REASON: one drop counter.
dropped() {
	ctl -j drops | jget "j.get(\"$1\", 0)"
}

# wait_ready FILE: wait (at most 5 s) for "ready" in a helper's stderr.
wait_ready() {
	_i=0
	until grep -q ready "$1" 2>/dev/null; do
		_i=$((_i + 1))
		[ $_i -lt 100 ] || fail "helper did not start: $(cat "$1")"
		sleep 0.05
	done
}

start_daemon --workers 2

# ---- ICMP: a 60,000-byte echo, and an option ------------------------------
out=$(in_ns ping -c 3 -i 0.2 -s 60000 -w 10 "$STACK_ADDR" 2>&1)
echo "$out"
echo "$out" | grep -q '^3 packets transmitted, 3 received' ||
	fail "ping -s 60000: not 3/3 replies"
[ "$(echo "$out" | grep -c "^60008 bytes from $STACK_ADDR")" -eq 3 ] ||
	fail "ping -s 60000: expected three 60008-byte replies"
out=$(in_ns ping -c 2 -i 0.2 -R -w 10 "$STACK_ADDR" 2>&1)
echo "$out"
echo "$out" | grep -q '^2 packets transmitted, 2 received' ||
	fail "ping -R (record route option): not 2/2 replies"

# ---- 60,000-byte UDP datagrams both ways --------------------------------------
bg_preloaded "$UF" echo "$STACK_ADDR" 9301 1 10000 >"$IT_TMP/e1.out" 2>"$IT_TMP/e1.err"
e1=$BG_PID
wait_ready "$IT_TMP/e1.err"
in_ns "$UF" roundtrip "$STACK_ADDR" 9301 60000 1 || fail "kernel -> stack -> kernel: 60000 bytes not intact"
bg_wait "$e1" 5 || fail "the stack's echo server failed: $(cat "$IT_TMP/e1.out" "$IT_TMP/e1.err")"
grep -q '^echo 60000 ok' "$IT_TMP/e1.out" || fail "the stack received $(cat "$IT_TMP/e1.out")"

bg_in_ns "$UF" echo "$HOST_ADDR" 9302 1 10000 >"$IT_TMP/e2.out" 2>"$IT_TMP/e2.err"
e2=$BG_PID
wait_ready "$IT_TMP/e2.err"
run_preloaded "$UF" roundtrip "$HOST_ADDR" 9302 60000 1 ||
	fail "stack -> kernel -> stack: 60000 bytes not intact"
bg_wait "$e2" 5 || fail "the kernel's echo server failed: $(cat "$IT_TMP/e2.out")"
grep -q '^echo 60000 ok' "$IT_TMP/e2.out" || fail "the kernel received $(cat "$IT_TMP/e2.out")"
info "60000-byte datagrams intact both ways"

# ---- IP_PMTUDISC_DO over the MTU ----------------------------------------------
out=$(run_preloaded "$UF" emsgsize "$HOST_ADDR" 9303 2000) || fail "IP_PMTUDISC_DO, 2000 bytes: $out"
info "IP_PMTUDISC_DO, 2000 bytes: $out"

# ---- a flood of fragments that never complete --------------------------------
HIGH=1048576
ctl sysctl -w net.ipv4.ipfrag_high_thresh=$HIGH >/dev/null || fail "cannot set ipfrag_high_thresh"
ctl sysctl -w net.ipv4.ipfrag_low_thresh=524288 >/dev/null || fail "cannot set ipfrag_low_thresh"
ctl sysctl -w net.ipv4.ipfrag_time=3 >/dev/null || fail "cannot set ipfrag_time"
# frag_drops: every drop a flood fragment can end in, summed.
frag_drops() {
	ctl -j drops | jget 'sum(j.get(k, 0) for k in ("FRAG_EVICTED", "FRAG_REASM_TIMEOUT",
		"DUP_FRAG", "FRAG_OVERLAP", "FRAG_MEM_LIMIT", "NOMEM"))'
}

# tap_tx_dropped: frames the kernel could not queue to the stack.
tap_tx_dropped() {
	in_ns ip -s -j link show "$TAP" | jget 'j[0]["stats64"]["tx"]["dropped"]'
}

fails0=$(stat Ip ReasmFails)
tmo0=$(stat Ip ReasmTimeout)
ev0=$(dropped FRAG_EVICTED)
fd0=$(frag_drops)
td0=$(tap_tx_dropped)

bg_in_ns python3 "$TOOL" flood "$HOST_ADDR" "$STACK_ADDR" 4000 3 >"$IT_TMP/flood.out" 2>&1
flood=$BG_PID
# Meanwhile: ping, a big datagram, and the memory gauge sampled.
bg_in_ns ping -c 10 -i 0.2 -w 10 "$STACK_ADDR" >"$IT_TMP/ping.out" 2>&1
pping=$BG_PID
bg_preloaded "$UF" echo "$STACK_ADDR" 9304 1 10000 >"$IT_TMP/e3.out" 2>"$IT_TMP/e3.err"
e3=$BG_PID
wait_ready "$IT_TMP/e3.err"
sleep 0.5
in_ns "$UF" roundtrip "$STACK_ADDR" 9304 60000 3 >"$IT_TMP/rt3.out" 2>&1 ||
	fail "a 60000-byte datagram during the flood: $(cat "$IT_TMP/rt3.out")"
maxmem=0
samples=0
while pid_alive "$flood" && [ $samples -lt 1000 ]; do
	m=$(ctl stats | awk '/^FRAG:/ { f = 1 } f && $1 == "memory" { print $2; exit }')
	[ -n "$m" ] || fail "netstackctl stats shows no FRAG memory"
	[ "$m" -gt "$maxmem" ] && maxmem=$m
	samples=$((samples + 1))
	sleep 0.01
done
bg_wait "$flood" 15 || fail "the flood did not finish: $(cat "$IT_TMP/flood.out")"
bg_wait "$pping" 15
cat "$IT_TMP/flood.out" "$IT_TMP/ping.out" "$IT_TMP/rt3.out"
bg_wait "$e3" 5 || fail "the echo server during the flood failed"
fails1=$(stat Ip ReasmFails)
ev1=$(dropped FRAG_EVICTED)
info "flood: reassembly memory peaked at $maxmem bytes ($samples samples), high_thresh $HIGH;" \
	"ReasmFails +$((fails1 - fails0)), evicted $((ev1 - ev0))"
[ "$maxmem" -le "$HIGH" ] || fail "reassembly memory $maxmem above ipfrag_high_thresh $HIGH"
[ "$maxmem" -gt 262144 ] || fail "the flood never filled reassembly memory (peak $maxmem)"
[ $((ev1 - ev0)) -gt 0 ] || fail "no queue was evicted"
[ $((fails1 - fails0)) -ge $((ev1 - ev0)) ] || fail "evictions not counted in ReasmFails"
received=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$IT_TMP/ping.out")
[ "${received:-0}" -ge 8 ] || fail "ping during the flood: only ${received:-0}/10 replies"

# The rest times out within ipfrag_time (3 s).
sleep 4
inuse=$(stat FRAG inuse)
mem=$(stat FRAG memory)
tmo1=$(stat Ip ReasmTimeout)
info "after ipfrag_time: inuse $inuse memory $mem, ReasmTimeout +$((tmo1 - tmo0))"
[ "$inuse" -eq 0 ] && [ "$mem" -eq 0 ] || fail "queues left after ipfrag_time: $inuse ($mem bytes)"
[ $((tmo1 - tmo0)) -gt 0 ] || fail "no ReasmTimeout counted"
# Every flood fragment is accounted for: evicted, timed out, a duplicate
# (random ids collide), refused, or never read from the TAP.
sent=$(sed -n 's/^sent //p' "$IT_TMP/flood.out")
accounted=$(($(frag_drops) - fd0 + $(tap_tx_dropped) - td0))
info "flood: sent $sent fragments, $accounted dropped with a reason"
[ "$accounted" -eq "$sent" ] || fail "flood: sent $sent, but $accounted accounted for"

# ---- path MTU from ICMP fragmentation needed ------------------------------
bg_in_ns "$UF" echo "$HOST_ADDR" 9305 2 10000 >"$IT_TMP/e4.out" 2>"$IT_TMP/e4.err"
e4=$BG_PID
wait_ready "$IT_TMP/e4.err"
bg_in_ns python3 "$TOOL" capture "$TAP" "$STACK_ADDR" 1408 10 >"$IT_TMP/cap.out" 2>"$IT_TMP/cap.err"
cap=$BG_PID
wait_ready "$IT_TMP/cap.err"
bg_preloaded "$UF" pmtu "$HOST_ADDR" 9305 40123 1400 5000 >"$IT_TMP/pmtu.out" 2>"$IT_TMP/pmtu.err"
pm=$BG_PID
wait_ready "$IT_TMP/pmtu.err"
sleep 0.2
in_ns python3 "$TOOL" frag-needed "$STACK_ADDR" "$STACK_ADDR" "$HOST_ADDR" 40123 9305 1000 ||
	fail "cannot send the ICMP error"
bg_wait "$pm" 10 || fail "udp_frag pmtu failed: $(cat "$IT_TMP/pmtu.out" "$IT_TMP/pmtu.err")"
bg_wait "$cap" 15
capst=$?
cat "$IT_TMP/pmtu.out" "$IT_TMP/cap.out"
bg_wait "$e4" 5
[ "$(sed -n 1p "$IT_TMP/pmtu.out")" = "mtu 1500" ] || fail "IP_MTU before: $(sed -n 1p "$IT_TMP/pmtu.out")"
grep -q '^error EMSGSIZE' "$IT_TMP/pmtu.out" || fail "the connected socket did not get EMSGSIZE"
[ "$(sed -n 3p "$IT_TMP/pmtu.out")" = "mtu 1000" ] || fail "IP_MTU after: $(sed -n 3p "$IT_TMP/pmtu.out")"
[ $capst -eq 0 ] && grep -q '^complete' "$IT_TMP/cap.out" ||
	fail "the kernel's side did not see the 1400-byte datagram in fragments"
big=$(awk '$1 == "ip" && $2 > 1000' "$IT_TMP/cap.out" | wc -l)
frags=$(awk '$1 == "ip" && ($8 == 1 || $6 > 0)' "$IT_TMP/cap.out" | wc -l)
[ "$big" -eq 0 ] || fail "$big packets above the path MTU of 1000"
[ "$frags" -ge 2 ] || fail "expected the datagram in at least 2 fragments, saw $frags"
grep -q '^echo 1400 ok' "$IT_TMP/e4.out" || fail "the kernel did not reassemble it: $(cat "$IT_TMP/e4.out")"
info "after frag-needed: IP_MTU 1000, 1400 bytes sent in $frags fragments of <= 1000"

ctl -j drops | python3 -c 'import json,sys; print({k: v for k, v in json.load(sys.stdin).items() if v})'
stop_daemon
pass
