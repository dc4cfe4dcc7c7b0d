#!/bin/sh
# TCP_MANY (default 10,000) concurrent connections from one client under
# LD_PRELOAD to a kernel echo server: all are established, echo a message
# and close; afterwards netstackctl ss -ta shows only TIME-WAIT sockets,
# which expire (net.ipv4.tcp_timewait_len set to 3 s for the test).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tcp_lib.sh"

setup
require_libnetstack
N=${TCP_MANY:-10000}
tsan_runtime && N=${TCP_MANY:-2000}
# Each stack socket costs one descriptor in the client and one in the
# daemon (its notify eventfd; the doorbells are shared, proto/shm.h); a
# hard RLIMIT_NOFILE that cannot hold N caps the count, and says so.
lim=$(ulimit -Hn)
if [ "$lim" != unlimited ] && [ $((N + 2000)) -gt "$lim" ]; then
	N=$((lim - 2000))
	info "the hard descriptor limit ($lim) caps this run at $N connections"
fi
TCP_MANY_BIN=$abs_top_builddir/tests/integration/tcp_many
[ -x "$TCP_MANY_BIN" ] || fail "tcp_many not built"
start_daemon
ctl sysctl -w net.ipv4.tcp_timewait_len=3 >/dev/null || fail "cannot set tcp_timewait_len"
in_ns sysctl -qw net.core.somaxconn=65535 2>/dev/null || true
in_ns sysctl -qw net.ipv4.tcp_max_syn_backlog=65535 2>/dev/null || true

bg_in_ns "$TCP_MANY_BIN" server 9000
srv=$BG_PID
wait_tcp_listen "$HOST_ADDR" 9000
t0=$(now_ms)
out=$(run_preloaded timeout 90 "$TCP_MANY_BIN" client "$HOST_ADDR" 9000 "$N") ||
	fail "tcp_many client failed: $out"
t1=$(now_ms)
[ "$out" = "ok $N" ] || fail "tcp_many client said '$out'"
info "$N connections established, echoed and closed in $((t1 - t0)) ms"
ctl ss -ta >"$IT_TMP/ss.out"
total=$(($(wc -l <"$IT_TMP/ss.out") - 1))
tw=$(grep -c "^TIME-WAIT" "$IT_TMP/ss.out")
info "ss -ta: $total sockets, $tw in TIME-WAIT"
[ "$total" -eq "$tw" ] || { grep -v "^TIME-WAIT" "$IT_TMP/ss.out" | head -20; fail "sockets other than TIME-WAIT remain"; }
[ "$tw" -gt 0 ] || fail "no TIME-WAIT sockets (the active closer keeps them)"
_i=0
while [ $_i -lt 100 ] && [ "$(ctl ss -ta | wc -l)" -gt 1 ]; do
	sleep 0.1
	_i=$((_i + 1))
done
[ "$(ctl ss -ta | wc -l)" -le 1 ] || fail "TIME-WAIT sockets did not expire"
[ "$(counter Tcp CurrEstab)" -eq 0 ] || fail "CurrEstab is $(counter Tcp CurrEstab), not 0"
kill "$srv" 2>/dev/null
bg_wait "$srv" 2 || true
pass
