#!/bin/sh
# DNS with unmodified programs through libnetstack.so:
#  (a) dig under LD_PRELOAD (its UDP socket on netstackd) asks dnsmasq on
#      the kernel's side of the TAP and prints the configured answer; the
#      query reaches dnsmasq from the stack's address;
#  (b) dnsmasq under LD_PRELOAD, listening on the stack's address, answers
#      dig on the kernel's side; netstackctl shows its socket on port 53.
# dnsmasq never reads or writes system files here: --conf-file=/dev/null,
# --no-resolv, --no-hosts, --leasefile-ro, no pid file, logs in $IT_TMP.
. "$(dirname "$0")/lib.sh"

setup
require_cmd dig dnsmasq timeout
require_libnetstack

NAME=example.test
ANSWER=10.200.99.7

# dnsmasq_bg LOG LISTEN_ADDR [ENV...]: start dnsmasq in the namespace,
# answering $NAME with $ANSWER on LISTEN_ADDR:53, logging queries to LOG;
# ENV (VAR=value words) go in front of it (LD_PRELOAD, ...).  Sets
# DNSMASQ_PID to dnsmasq's own PID (ip netns exec and env exec it).
dnsmasq_bg() {
	_log=$1 _addr=$2
	shift 2
	ip netns exec "$NS" env "$@" dnsmasq --no-daemon --conf-file=/dev/null \
		--no-resolv --no-hosts --leasefile-ro --pid-file= --user=root --group=root \
		--listen-address="$_addr" --bind-interfaces --port=53 \
		--address=/$NAME/$ANSWER --log-queries --log-facility="$_log" \
		>"$_log.out" 2>&1 &
	DNSMASQ_PID=$!
	bg_track "$DNSMASQ_PID"
	_i=0
	while [ $_i -lt 100 ] && ! grep -q "started, version" "$_log" 2>/dev/null; do
		pid_alive "$DNSMASQ_PID" || break
		sleep 0.05
		_i=$((_i + 1))
	done
	if ! pid_alive "$DNSMASQ_PID" || ! grep -q "started, version" "$_log" 2>/dev/null; then
		cat "$_log" "$_log.out" 2>/dev/null
		fail "dnsmasq did not start on $_addr"
	fi
	info "dnsmasq PID $DNSMASQ_PID listens on $_addr:53"
}

# dnsmasq_stop LOG: SIGTERM dnsmasq, which must exit 0 (nothing else, and
# no sanitizer report) within 5 s.
dnsmasq_stop() {
	kill -TERM "$DNSMASQ_PID" 2>/dev/null
	bg_wait "$DNSMASQ_PID" 5
	_st=$?
	[ "$_st" -eq 0 ] || { cat "$1" "$1.out"; fail "dnsmasq exited with status $_st after SIGTERM"; }
	if grep -E 'ERROR: AddressSanitizer|runtime error:' "$1.out" >/dev/null; then
		cat "$1.out"
		fail "sanitizer report from dnsmasq"
	fi
}

start_daemon

# ---- (a) dig on the stack, dnsmasq on the kernel -------------------------------
info "(a) dig under LD_PRELOAD -> dnsmasq on the kernel side ($HOST_ADDR)"
dnsmasq_bg "$IT_TMP/dnsmasq-a.log" "$HOST_ADDR"
run_preloaded timeout 15 dig @"$HOST_ADDR" $NAME +short +time=2 +tries=2 \
	>"$IT_TMP/dig-a.out" 2>&1
st=$?
cat "$IT_TMP/dig-a.out"
[ "$st" -eq 0 ] || fail "dig under LD_PRELOAD exited with status $st"
[ "$(cat "$IT_TMP/dig-a.out")" = "$ANSWER" ] ||
	fail "dig under LD_PRELOAD printed '$(cat "$IT_TMP/dig-a.out")', not $ANSWER"
grep -q "query\[A\] $NAME from $STACK_ADDR\$" "$IT_TMP/dnsmasq-a.log" ||
	{ cat "$IT_TMP/dnsmasq-a.log"; fail "dnsmasq did not log the query from the stack's address $STACK_ADDR"; }
dnsmasq_stop "$IT_TMP/dnsmasq-a.log"

# ---- (b) dnsmasq on the stack, dig on the kernel --------------------------------
# The listening mode: --listen-address=$STACK_ADDR --bind-interfaces.
# dnsmasq enumerates the kernel's interfaces (netlink, untouched by the
# library), finds no interface with the stack's address and, as for any
# --listen-address that matches no interface, still creates a listener
# bound to it, which is a stack socket; its TCP listener is a stack socket
# too (NETSTACK_TCP=1, the default).  The wildcard mode (no --listen-address) does not
# start: dnsmasq also opens a [::]:53 socket and needs IPV6_RECVPKTINFO
# on it, which netstackd refuses with ENOPROTOOPT ("failed to create
# listening socket for port 53: Protocol not available").
#
# With an ASan-built libnetstack.so: dnsmasq under LD_PRELOAD of the ASan
# runtime hangs in main() before it does anything (textdomain() waits on
# glibc's _nl_state_lock, left unbalanced by the runtime; llvm-project
# issue 49223), with or without libnetstack.so.  So the runtime is not
# preloaded for dnsmasq: it loads as libnetstack.so's dependency, after
# libc, which ASan accepts with verify_asan_link_order=0; libnetstack.so's
# own code stays instrumented.
info "(b) dnsmasq under LD_PRELOAD on $STACK_ADDR <- dig on the kernel side"
# The ThreadSanitizer runtime cannot host dnsmasq at all (it hangs the same
# way as the ASan runtime, before main does anything, and TSan must be
# loaded first), so a TSan build checks (a) only; the ASan and plain builds
# check both.
case $PRELOAD in
*libtsan*)
	info "(b) not run: dnsmasq does not start under the ThreadSanitizer runtime"
	stop_daemon
	pass
	;;
esac
case $PRELOAD in
*libasan*)
	dnsmasq_bg "$IT_TMP/dnsmasq-b.log" "$STACK_ADDR" NETSTACK_SOCKET="$CTL_SOCK" \
		NETSTACK_TCP=1 LD_PRELOAD="$LIBNETSTACK" ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0
	;;
*)
	dnsmasq_bg "$IT_TMP/dnsmasq-b.log" "$STACK_ADDR" NETSTACK_SOCKET="$CTL_SOCK" \
		NETSTACK_TCP=1 LD_PRELOAD="$PRELOAD" ASAN_OPTIONS=detect_leaks=0
	;;
esac
ss=$(ctl -j ss -ua) || fail "netstackctl -j ss -ua failed"
jcheck "$ss" "any(s['local'] == '$STACK_ADDR:53' and $DNSMASQ_PID in s['pids'] for s in j)" \
	"dnsmasq's socket on $STACK_ADDR:53 is not in netstackctl ss"
in_ns timeout 15 dig @"$STACK_ADDR" $NAME +short +time=2 +tries=2 >"$IT_TMP/dig-b.out" 2>&1
st=$?
cat "$IT_TMP/dig-b.out"
[ "$st" -eq 0 ] || { cat "$IT_TMP/dnsmasq-b.log" "$IT_TMP/dnsmasq-b.log.out"; fail "dig on the kernel side exited with status $st"; }
[ "$(cat "$IT_TMP/dig-b.out")" = "$ANSWER" ] ||
	fail "dig against dnsmasq on the stack printed '$(cat "$IT_TMP/dig-b.out")', not $ANSWER"
grep -q "query\[A\] $NAME from $HOST_ADDR\$" "$IT_TMP/dnsmasq-b.log" ||
	{ cat "$IT_TMP/dnsmasq-b.log"; fail "dnsmasq on the stack did not log the kernel's query"; }
dnsmasq_stop "$IT_TMP/dnsmasq-b.log"

stop_daemon
pass
