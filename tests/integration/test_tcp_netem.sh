#!/bin/sh
# TCP over a bad link: delay 10ms, loss 2%, reorder 25%, duplicate 1%; a
# file of TCP_NETEM_MB MiB (default 16; the issue's 200 MiB runs in `make
# soak`) goes each way intact and the loss shows as retransmissions.  Then
# with corrupt 1%: intact again, and the corrupted segments are counted as
# checksum drops (TCP_CSUM).
#
# The link is netem on the kernel side of the TAP where the kernel has
# sch_netem.  Elsewhere (no netem module) netstackd's own TAP driver
# impairs the frames with netem's semantics (net.netstack.impair.*,
# drivers/impair.c), in both directions: frames to the stack as netem on
# the kernel side would, and the stack's frames to the kernel as well, so
# data and ACKs both suffer; that is at least as hard as netem on one side.
# Its corruption flips a bit past the IP header only (see impair.c), where
# the TCP checksum must catch it.  TCP_NETEM_IMPAIR=1 uses the daemon's
# impairment even where netem exists.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tcp_lib.sh"

setup
require_cmd curl tc sha256sum timeout
require_libnetstack
tsan_runtime && skip "curl and python3 cannot run under the ThreadSanitizer runtime (they hang or crash before main); the ASan and plain builds run this scenario"
start_daemon

MB=${TCP_NETEM_MB:-16}
mkdir -p "$IT_TMP/www"
make_file "$IT_TMP/www/file.bin" "$MB"
want=$(sha "$IT_TMP/www/file.bin")

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
	info "link: netstackd's TAP impairment, both directions (no sch_netem here)"
	# Basis points: 200 = 2%.  The direction goes last, once all else is set.
	impair delay_ms=10 loss=200 reorder=2500 duplicate=100 corrupt=0 dir=3
fi

bg_in_ns "$PYTHON" -m http.server 8080 --bind "$HOST_ADDR" --directory "$IT_TMP/www"
ksrv=$BG_PID
bg_preloaded "$PYTHON" -m http.server 8081 --bind 0.0.0.0 --directory "$IT_TMP/www"
ssrv=$BG_PID
wait_tcp_listen "$HOST_ADDR" 8080
wait_stack_listen 8081

transfer() { # LABEL
	t0=$(now_ms)
	run_preloaded_nosanrt timeout 600 curl -sS -o "$IT_TMP/got1" "http://$HOST_ADDR:8080/file.bin" ||
		fail "$1: curl under LD_PRELOAD failed"
	t1=$(now_ms)
	[ "$(sha "$IT_TMP/got1")" = "$want" ] || fail "$1: download to the stack differs"
	in_ns timeout 600 curl -sS -o "$IT_TMP/got2" "http://$STACK_ADDR:8081/file.bin" ||
		fail "$1: kernel curl from the stack failed"
	t2=$(now_ms)
	[ "$(sha "$IT_TMP/got2")" = "$want" ] || fail "$1: download from the stack differs"
	info "$1: $MB MiB to the stack in $((t1 - t0)) ms, from the stack in $((t2 - t1)) ms"
	rm -f "$IT_TMP/got1" "$IT_TMP/got2"
}

# tcp_counters LABEL: the TCP counters the report wants, on one line.
tcp_counters() {
	info "$1: RetransSegs $(counter Tcp RetransSegs)," \
		"TCPSackRecovery $(counter TcpExt TCPSackRecovery)," \
		"TCPTimeouts $(counter TcpExt TCPTimeouts)," \
		"TCPOFOQueue $(counter TcpExt TCPOFOQueue)," \
		"TCPDSACKRecv $(counter TcpExt TCPDSACKRecv)," \
		"TCP_CSUM drops $(drop_count TCP_CSUM)"
}

impair_counters() {
	[ "$LINK" = impair ] || return 0
	ctl stats | sed -n '/^Impair:$/,$p'
}

transfer "delay/loss/reorder/duplicate"
tcp_counters "delay/loss/reorder/duplicate"
impair_counters
[ "$(counter Tcp RetransSegs)" -gt 0 ] || fail "no retransmissions over a lossy link?"
if [ "$LINK" = impair ]; then
	# The impairment did what it was told, in both directions.
	for c in RxLoss TxLoss RxDuplicate TxDuplicate RxDelayed TxDelayed RxReorder TxReorder; do
		[ "$(counter Impair "$c")" -gt 0 ] || fail "Impair $c stayed 0"
	done
	[ "$(drop_count IMPAIR_LOSS)" -eq $(($(counter Impair RxLoss) + $(counter Impair TxLoss))) ] ||
		fail "IMPAIR_LOSS drops differ from Impair RxLoss + TxLoss"
fi

before=$(drop_count TCP_CSUM)
if [ "$LINK" = netem ]; then
	in_ns tc qdisc change dev "$TAP" root netem corrupt 1% || fail "cannot switch netem to corrupt"
else
	impair delay_ms=0 loss=0 reorder=0 duplicate=0 corrupt=100
fi
transfer "corrupt 1%"
after=$(drop_count TCP_CSUM)
tcp_counters "corrupt 1%"
impair_counters
info "TCP_CSUM drops: $before -> $after"
[ "$after" -gt "$before" ] || fail "corrupted segments were not counted as TCP_CSUM drops"
kill "$ksrv" "$ssrv" 2>/dev/null
bg_wait "$ksrv" 2 || true
bg_wait "$ssrv" 2 || true
pass
