#!/bin/sh
# UDP through libnetstack.so with an unmodified program: socat under
# LD_PRELOAD on netstackd exchanges datagrams with socat on the kernel's
# side of the TAP, both ways; a forking socat echo server on the stack
# answers the kernel; socat fails fast with one clear line when the daemon
# is unreachable; a socat blocked in recv exits soon after the daemon dies.
. "$(dirname "$0")/lib.sh"

setup
require_cmd socat timeout
require_libnetstack

start_daemon

# ---- stack -> kernel -----------------------------------------------------------
info "stack -> kernel"
bg_in_ns timeout 10 socat -u UDP-RECV:7001,bind="$HOST_ADDR" OPEN:"$IT_TMP/k.out",creat
rx=$BG_PID
sleep 0.3
echo "hello from the stack" | run_preloaded timeout 5 socat -u - UDP-SENDTO:"$HOST_ADDR":7001 ||
	fail "socat under LD_PRELOAD could not send"
_i=0
while [ $_i -lt 40 ] && ! grep -q "hello from the stack" "$IT_TMP/k.out" 2>/dev/null; do
	sleep 0.05
	_i=$((_i + 1))
done
grep -q "hello from the stack" "$IT_TMP/k.out" 2>/dev/null ||
	fail "the kernel did not receive the stack's datagram"
kill $rx 2>/dev/null
bg_wait $rx 2 || true

# ---- kernel -> stack -----------------------------------------------------------
info "kernel -> stack"
bg_preloaded timeout 10 socat -u UDP-RECV:7002 OPEN:"$IT_TMP/s.out",creat
rx=$BG_PID
sleep 0.5
echo "hello from the kernel" | in_ns timeout 5 socat -u - UDP-SENDTO:"$STACK_ADDR":7002 ||
	fail "kernel socat could not send"
_i=0
while [ $_i -lt 40 ] && ! grep -q "hello from the kernel" "$IT_TMP/s.out" 2>/dev/null; do
	sleep 0.05
	_i=$((_i + 1))
done
grep -q "hello from the kernel" "$IT_TMP/s.out" 2>/dev/null ||
	fail "socat under LD_PRELOAD did not receive the kernel's datagram"
kill $rx 2>/dev/null
bg_wait $rx 2 || true

# ---- request/response with a forking echo server on the stack ---------------------
info "echo server on the stack (socat fork)"
bg_preloaded timeout 40 socat UDP-RECVFROM:7003,fork EXEC:cat
srv=$BG_PID
sleep 0.5
for n in 1 2 3; do
	got=$(echo "ping $n" | in_ns timeout 10 socat -T 5 - UDP:"$STACK_ADDR":7003)
	[ "$got" = "ping $n" ] || fail "echo $n through the stack: got '$got'"
done
kill $srv 2>/dev/null
bg_wait $srv 2 || true

# ---- daemon unreachable: one line, no hang -----------------------------------------
info "daemon unreachable"
t0=$(now_ms)
if echo x | in_ns env NETSTACK_SOCKET="$IT_TMP/nonexistent.sock" LD_PRELOAD="$PRELOAD" \
	ASAN_OPTIONS=detect_leaks=0 timeout 5 socat -u - UDP-SENDTO:"$HOST_ADDR":7004 \
	2>"$IT_TMP/unreach.err"; then
	fail "socat succeeded without a daemon"
fi
[ $(($(now_ms) - t0)) -lt 4000 ] || fail "socat took too long to fail without a daemon"
grep -q "libnetstack: cannot reach netstackd at $IT_TMP/nonexistent.sock" "$IT_TMP/unreach.err" ||
	{ cat "$IT_TMP/unreach.err"; fail "no clear message when the daemon is unreachable"; }
[ "$(grep -c libnetstack "$IT_TMP/unreach.err")" -eq 1 ] ||
	{ cat "$IT_TMP/unreach.err"; fail "more than one libnetstack line"; }

# ---- the daemon dies under a blocked receiver ----------------------------------------
info "daemon dies while socat waits in recv"
bg_preloaded timeout 20 socat -u UDP-RECV:7005 - >/dev/null 2>"$IT_TMP/dead.err"
rx=$BG_PID
sleep 0.5
stop_daemon
t0=$(now_ms)
bg_wait $rx 5
st=$?
[ $st -ne 124 ] || fail "socat still blocked 5 s after the daemon died"
info "socat exited with status $st $(($(now_ms) - t0)) ms after the daemon: $(head -c 200 "$IT_TMP/dead.err")"
pass
