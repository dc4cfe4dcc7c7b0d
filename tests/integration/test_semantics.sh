#!/bin/sh
# Socket semantics: semantics.c runs twice and the two outputs must match
# line for line.  First plainly against the kernel's stack (in the test's
# namespace: the address under test is the kernel's side of the TAP, the
# peer 127.0.0.1), then under LD_PRELOAD=libnetstack.so against netstackd
# (the address under test is the stack's, the peer the kernel's side of the
# TAP).  The program's peer sockets are raw system calls, so they stay
# kernel sockets in both runs.
. "$(dirname "$0")/lib.sh"

setup
SEMANTICS=$abs_top_builddir/tests/integration/semantics
[ -x "$SEMANTICS" ] || fail "semantics not built at $SEMANTICS (make check builds it)"
require_libnetstack

start_daemon

info "kernel run: $HOST_ADDR, peer 127.0.0.1"
in_ns timeout 60 "$SEMANTICS" "$HOST_ADDR" 127.0.0.1 >"$IT_TMP/kernel.out" 2>"$IT_TMP/kernel.err" ||
	{ cat "$IT_TMP/kernel.out" "$IT_TMP/kernel.err"; fail "semantics failed against the kernel"; }

info "netstack run: $STACK_ADDR, peer $HOST_ADDR"
run_preloaded timeout 60 "$SEMANTICS" "$STACK_ADDR" "$HOST_ADDR" \
	>"$IT_TMP/stack.out" 2>"$IT_TMP/stack.err"
st=$?
cat "$IT_TMP/stack.err"
if ! diff -u "$IT_TMP/kernel.out" "$IT_TMP/stack.out"; then
	fail "netstack's socket semantics differ from the kernel's (- kernel, + netstack)"
fi
[ "$st" -eq 0 ] || fail "semantics under LD_PRELOAD exited with status $st"
grep -E 'ERROR: AddressSanitizer|runtime error:' "$IT_TMP/stack.err" >/dev/null &&
	fail "sanitizer report from libnetstack.so"
info "$(wc -l <"$IT_TMP/stack.out") checks identical"

stop_daemon
pass
