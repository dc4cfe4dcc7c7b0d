#!/bin/sh
# TCP socket semantics: semantics_tcp.c runs twice and the two outputs must
# match line for line, as test_semantics.sh does for datagram sockets.
# First against the kernel's stack (the address under test is the kernel's
# side of the TAP, the peer 127.0.0.1), then under LD_PRELOAD=
# libnetstack.so with NETSTACK_TCP=1 against netstackd (the address under
# test is the stack's, the peer the kernel's side of the TAP).  The
# program's peer sockets are raw system calls, so they stay kernel
# sockets.  BLACKHOLE is an address on the link nobody answers ARP for,
# so a connection attempt to it stays pending.
. "$(dirname "$0")/lib.sh"

setup
SEMANTICS=$abs_top_builddir/tests/integration/semantics_tcp
[ -x "$SEMANTICS" ] || fail "semantics_tcp not built at $SEMANTICS (make check builds it)"
require_libnetstack

start_daemon
BLACKHOLE=10.200.$SUBNET.99
# The program listens on fixed ports 41001..41099: keep both stacks'
# ephemeral ports away from them, so an autobound socket never takes one.
in_ns sysctl -qw net.ipv4.ip_local_port_range="50000 60999" ||
	fail "cannot set the kernel's ip_local_port_range"
ctl sysctl -w net.ipv4.ip_local_port_range="50000 60999" >/dev/null ||
	fail "cannot set netstackd's ip_local_port_range"

info "kernel run: $HOST_ADDR, peer 127.0.0.1"
in_ns timeout 60 "$SEMANTICS" "$HOST_ADDR" 127.0.0.1 "$BLACKHOLE" \
	>"$IT_TMP/kernel.out" 2>"$IT_TMP/kernel.err" ||
	{ cat "$IT_TMP/kernel.out" "$IT_TMP/kernel.err"; fail "semantics_tcp failed against the kernel"; }
info "kernel run: $(wc -l <"$IT_TMP/kernel.out") checks"

# The stack run needs netstackd's TCP.  It is detected by the sysctl the
# TCP implementation registers (net.ipv4.tcp_syn_retries, as in Linux);
# NETSTACK_TEST_TCP=1 forces the run before that (while developing TCP).
if [ "${NETSTACK_TEST_TCP:-0}" != 1 ] &&
	! ctl sysctl net.ipv4.tcp_syn_retries >/dev/null 2>&1; then
	cat "$IT_TMP/kernel.out"
	stop_daemon
	skip "netstackd does not serve TCP yet (no sysctl net.ipv4.tcp_syn_retries); kernel run passed"
fi

info "netstack run: $STACK_ADDR, peer $HOST_ADDR"
run_preloaded env NETSTACK_TCP=1 timeout 60 "$SEMANTICS" "$STACK_ADDR" "$HOST_ADDR" "$BLACKHOLE" \
	>"$IT_TMP/stack.out" 2>"$IT_TMP/stack.err"
st=$?
cat "$IT_TMP/stack.err"
if ! diff -u "$IT_TMP/kernel.out" "$IT_TMP/stack.out"; then
	fail "netstack's TCP socket semantics differ from the kernel's (- kernel, + netstack)"
fi
[ "$st" -eq 0 ] || fail "semantics_tcp under LD_PRELOAD exited with status $st"
grep -E 'ERROR: AddressSanitizer|runtime error:' "$IT_TMP/stack.err" >/dev/null &&
	fail "sanitizer report from libnetstack.so"
info "$(wc -l <"$IT_TMP/stack.out") checks identical"

stop_daemon
pass
