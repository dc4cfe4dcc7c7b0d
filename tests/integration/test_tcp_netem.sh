#!/bin/sh
# TCP over a bad link, the kernel as the peer, curl and python3 -m
# http.server at both ends (one side under LD_PRELOAD):
#  1. netem on the kernel side of the TAP (delay 10ms, loss 2%, reorder 25%,
#     duplicate 1%): TCP_NETEM_MB MiB (default 200) go each way intact and
#     the loss shows as retransmissions;
#  2. corrupt 1%: the same file each way intact again, the corrupted
#     segments counted as checksum drops (TCP_CSUM);
#  3. harder than the issue asks, only with TCP_NETEM_HARD_MB set (`make
#     soak` sets it): the impairment of 1 on both directions (data and ACKs
#     both suffer), that many MiB each way, so that netstackd's own sender
#     recovers from loss and reordering.  Not in `make check`: once, under
#     distcheck's load, netstackd crashed in impair_timer with both
#     directions impaired (a held frame's continuation was NULL; open bug).
#     The daemon must not crash; until that is found this stays out of the
#     suite.
#
# The link of 1 and 2 is netem on the kernel side of the TAP where the
# kernel has sch_netem.  Elsewhere (no netem module) netstackd's TAP driver
# impairs the frames towards the stack with netem's semantics
# (net.netstack.impair.*, drivers/impair.c, dir=1): exactly what netem on
# the TAP's kernel side does.  Its corruption flips a bit past the IP
# header only (see impair.c), where the TCP checksum must catch it.
# TCP_NETEM_IMPAIR=1 uses the daemon's impairment even where netem exists.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tcp_lib.sh"

setup
require_cmd curl tc sha256sum timeout
require_libnetstack
tsan_runtime && skip "curl and python3 cannot run under the ThreadSanitizer runtime (they hang or crash before main); the ASan and plain builds run this scenario"
start_daemon

MB=${TCP_NETEM_MB:-200}
HARD_MB=${TCP_NETEM_HARD_MB:-0}
mkdir -p "$IT_TMP/www"
make_file "$IT_TMP/www/file.bin" "$MB"
[ "$HARD_MB" -gt 0 ] && make_file "$IT_TMP/www/hard.bin" "$HARD_MB"

# impair KEY=VALUE...: set net.netstack.impair.KEY in netstackd, in order.
impair() {
	for _kv in "$@"; do
		ctl sysctl -w "net.netstack.impair.$_kv" >/dev/null ||
			fail "cannot set net.netstack.impair.$_kv"
	done
}

if [ "${TCP_NETEM_IMPAIR:-0}" != 1 ] &&
	in_ns tc qdisc add dev "$TAP" root netem delay 10ms loss 2% reorder 25% duplicate 1% 2>"$IT_TMP/tc.err"; then
	LINK=netem
	info "link: netem on the kernel side of $TAP"
else
	LINK=impair
	[ -s "$IT_TMP/tc.err" ] && info "tc netem: $(cat "$IT_TMP/tc.err")"
	info "link: netstackd's TAP impairment of the frames to the stack (no sch_netem here)"
	# Basis points: 200 = 2%.  The direction goes last, once all else is set.
	impair delay_ms=10 loss=200 reorder=2500 duplicate=100 corrupt=0 dir=1
fi

bg_in_ns "$PYTHON" -m http.server 8080 --bind "$HOST_ADDR" --directory "$IT_TMP/www"
ksrv=$BG_PID
bg_preloaded "$PYTHON" -m http.server 8081 --bind 0.0.0.0 --directory "$IT_TMP/www"
ssrv=$BG_PID
wait_tcp_listen "$HOST_ADDR" 8080
wait_stack_listen 8081

transfer() { # LABEL FILE MIB
	want=$(sha "$IT_TMP/www/$2")
	t0=$(now_ms)
	run_preloaded_nosanrt timeout 600 curl -sS -o "$IT_TMP/got1" "http://$HOST_ADDR:8080/$2" ||
		fail "$1: curl under LD_PRELOAD failed"
	t1=$(now_ms)
	[ "$(sha "$IT_TMP/got1")" = "$want" ] || fail "$1: download to the stack differs"
	in_ns timeout 600 curl -sS -o "$IT_TMP/got2" "http://$STACK_ADDR:8081/$2" ||
		fail "$1: kernel curl from the stack failed"
	t2=$(now_ms)
	[ "$(sha "$IT_TMP/got2")" = "$want" ] || fail "$1: download from the stack differs"
	info "$1: $3 MiB to the stack in $((t1 - t0)) ms, from the stack in $((t2 - t1)) ms"
	rm -f "$IT_TMP/got1" "$IT_TMP/got2"
}

# tcp_counters LABEL: the TCP counters the report wants, on one line.
tcp_counters() {
	info "$1: RetransSegs $(counter Tcp RetransSegs)," \
		"TCPSackRecovery $(counter TcpExt TCPSackRecovery)," \
		"TCPTimeouts $(counter TcpExt TCPTimeouts)," \
		"TCPOFOQueue $(counter TcpExt TCPOFOQueue)," \
		"TCPDSACKRecv $(counter TcpExt TCPDSACKRecv)," \
		"TCPSACKReorder $(counter TcpExt TCPSACKReorder)," \
		"undo: full $(counter TcpExt TCPFullUndo) partial $(counter TcpExt TCPPartialUndo)" \
		"dsack $(counter TcpExt TCPDSACKUndo) loss $(counter TcpExt TCPLossUndo)," \
		"TLP $(counter TcpExt TCPLossProbes) TLP-recovery $(counter TcpExt TCPLossProbeRecovery)," \
		"TCP_CSUM drops $(drop_count TCP_CSUM)"
}

impair_counters() {
	ctl stats | sed -n '/^Impair:$/,$p'
}

# 1. The issue's link.
transfer "delay/loss/reorder/duplicate" file.bin "$MB"
tcp_counters "delay/loss/reorder/duplicate"
[ "$LINK" = impair ] && impair_counters
[ "$(counter TcpExt TCPOFOQueue)" -gt 0 ] || fail "nothing arrived out of order over a reordering link?"
if [ "$LINK" = impair ]; then
	# The impairment did what it was told, towards the stack.
	for c in RxLoss RxDuplicate RxDelayed RxReorder; do
		[ "$(counter Impair "$c")" -gt 0 ] || fail "Impair $c stayed 0"
	done
	[ "$(drop_count IMPAIR_LOSS)" -eq "$(counter Impair RxLoss)" ] ||
		fail "IMPAIR_LOSS drops differ from Impair RxLoss"
fi

# 2. Corruption.
before=$(drop_count TCP_CSUM)
if [ "$LINK" = netem ]; then
	in_ns tc qdisc change dev "$TAP" root netem corrupt 1% || fail "cannot switch netem to corrupt"
else
	impair delay_ms=0 loss=0 reorder=0 duplicate=0 corrupt=100
fi
transfer "corrupt 1%" file.bin "$MB"
after=$(drop_count TCP_CSUM)
tcp_counters "corrupt 1%"
info "TCP_CSUM drops: $before -> $after"
[ "$after" -gt "$before" ] || fail "corrupted segments were not counted as TCP_CSUM drops"

# 3. Both directions impaired: our own sender loses data and ACKs.
if [ "$HARD_MB" -eq 0 ]; then
	impair dir=0
	kill "$ksrv" "$ssrv" 2>/dev/null
	bg_wait "$ksrv" 2 || true
	bg_wait "$ssrv" 2 || true
	pass
fi
[ "$LINK" = netem ] && { in_ns tc qdisc del dev "$TAP" root || fail "cannot remove netem"; }
impair dir=0 delay_ms=10 loss=200 reorder=2500 duplicate=100 corrupt=0 dir=3
retrans=$(counter Tcp RetransSegs)
transfer "both directions" hard.bin "$HARD_MB"
tcp_counters "both directions"
impair_counters
[ "$(counter Tcp RetransSegs)" -gt "$retrans" ] || fail "our sender retransmitted nothing over a lossy link?"
for c in TxLoss TxDuplicate TxDelayed TxReorder; do
	[ "$(counter Impair "$c")" -gt 0 ] || fail "Impair $c stayed 0"
done
impair dir=0
kill "$ksrv" "$ssrv" 2>/dev/null
bg_wait "$ksrv" 2 || true
bg_wait "$ssrv" 2 || true
pass
