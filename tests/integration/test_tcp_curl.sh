#!/bin/sh
# TCP with real programs, both roles: curl under LD_PRELOAD downloads a
# file (TCP_CURL_MB MiB, default 100) from python3 -m http.server on the
# kernel side, and the kernel's curl downloads it from http.server under
# LD_PRELOAD; the sha256 matches both ways.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tcp_lib.sh"

setup
require_cmd curl sha256sum timeout
require_libnetstack
start_daemon

MB=${TCP_CURL_MB:-100}
tsan_runtime && MB=${TCP_CURL_MB:-10}
mkdir -p "$IT_TMP/www"
make_file "$IT_TMP/www/file.bin" "$MB"
want=$(sha "$IT_TMP/www/file.bin")

if tsan_runtime; then
	# curl hangs before main under the ThreadSanitizer runtime.
	info "stack client <- kernel server: not run under the ThreadSanitizer runtime"
else
	info "stack client <- kernel server ($MB MiB)"
	bg_in_ns "$PYTHON" -m http.server 8080 --bind "$HOST_ADDR" --directory "$IT_TMP/www"
	ksrv=$BG_PID
	wait_tcp_listen "$HOST_ADDR" 8080
	t0=$(now_ms)
	run_preloaded_nosanrt timeout 120 curl -sS -o "$IT_TMP/got1" "http://$HOST_ADDR:8080/file.bin" ||
		fail "curl under LD_PRELOAD failed"
	t1=$(now_ms)
	[ "$(sha "$IT_TMP/got1")" = "$want" ] || fail "download to the stack: sha256 differs"
	info "  $MB MiB in $((t1 - t0)) ms"
	rm -f "$IT_TMP/got1"
	kill "$ksrv" 2>/dev/null
	bg_wait "$ksrv" 2 || true
fi

info "kernel client <- stack server ($MB MiB)"
bg_preloaded "$PYTHON" -m http.server 8081 --bind 0.0.0.0 --directory "$IT_TMP/www"
ssrv=$BG_PID
wait_stack_listen 8081
t0=$(now_ms)
in_ns timeout 120 curl -sS -o "$IT_TMP/got2" "http://$STACK_ADDR:8081/file.bin" ||
	fail "kernel curl from the stack's http.server failed"
t1=$(now_ms)
[ "$(sha "$IT_TMP/got2")" = "$want" ] || fail "download from the stack: sha256 differs"
info "  $MB MiB in $((t1 - t0)) ms"
ctl ss -tai
kill "$ssrv" 2>/dev/null
bg_wait "$ssrv" 2 || true
tsan_runtime || [ "$(counter Tcp ActiveOpens)" -ge 1 ] || fail "Tcp ActiveOpens did not count"
[ "$(counter Tcp PassiveOpens)" -ge 1 ] || fail "Tcp PassiveOpens did not count"
pass
