#!/bin/sh
# iperf3 in both roles under LD_PRELOAD, both directions (-R), each
# TCP_IPERF_SECS (default 10) seconds against the kernel: completes without
# error.  Prints the throughput of each run.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tcp_lib.sh"

setup
require_cmd iperf3 timeout
require_libnetstack
start_daemon

SECS=${TCP_IPERF_SECS:-10}
tsan_runtime && SECS=${TCP_IPERF_SECS:-3}
run_pair() { # ROLE(stack-server|stack-client) [-R]
	if [ "$1" = stack-server ]; then
		bg_preloaded timeout $((SECS + 40)) iperf3 -s -1 -p 5201
		srv=$BG_PID
		wait_stack_listen 5201
		in_ns timeout $((SECS + 30)) iperf3 -c "$STACK_ADDR" -p 5201 -t "$SECS" $2 \
			>"$IT_TMP/iperf.out" 2>&1 || { cat "$IT_TMP/iperf.out"; fail "iperf3 ($1 $2) failed"; }
	else
		bg_in_ns timeout $((SECS + 40)) iperf3 -s -1 -p 5202 -B "$HOST_ADDR"
		srv=$BG_PID
		wait_kernel_listen 5202
		run_preloaded timeout $((SECS + 30)) iperf3 -c "$HOST_ADDR" -p 5202 -t "$SECS" $2 \
			>"$IT_TMP/iperf.out" 2>&1 || { cat "$IT_TMP/iperf.out"; fail "iperf3 ($1 $2) failed"; }
	fi
	grep -E "sender|receiver" "$IT_TMP/iperf.out" | sed "s/^/-- $1 ${2:--} /"
	grep -q "iperf Done" "$IT_TMP/iperf.out" || fail "iperf3 ($1 $2) did not finish"
	bg_wait "$srv" 10 || fail "iperf3 server ($1 $2) did not exit"
}
run_pair stack-server
run_pair stack-server -R
run_pair stack-client
run_pair stack-client -R
pass
