#!/bin/sh
# TCP over a bad link: netem on the kernel side of the TAP (delay 10ms,
# loss 2%, reorder 25%, duplicate 1%); a file of TCP_NETEM_MB MiB (default
# 16; the issue's 200 MiB runs in `make soak`) goes each way intact.  Then
# with corrupt 1%: intact again, and the corrupted segments are counted as
# checksum drops.
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
in_ns tc qdisc add dev "$TAP" root netem delay 10ms loss 2% reorder 25% duplicate 1% ||
	skip "netem is not available (sch_netem)"

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

transfer "delay/loss/reorder/duplicate"
ctl stats | grep -E "RetransSegs|TCPSackRecovery|TCPOFOQueue|TCPDSACKRecv|TCPTimeouts"
[ "$(counter Tcp RetransSegs)" -gt 0 ] || fail "no retransmissions over a lossy link?"

in_ns tc qdisc change dev "$TAP" root netem corrupt 1% || fail "cannot switch netem to corrupt"
before=$(drop_count TCP_CSUM)
transfer "corrupt 1%"
after=$(drop_count TCP_CSUM)
info "TCP_CSUM drops: $before -> $after"
[ "$after" -gt "$before" ] || fail "corrupted segments were not counted as TCP_CSUM drops"
kill "$ksrv" "$ssrv" 2>/dev/null
bg_wait "$ksrv" 2 || true
bg_wait "$ssrv" 2 || true
pass
