#!/bin/sh
# Death of either side of a libnetstack.so session.
#  (a) a client holding four UDP sockets (bound, one also connected) is
#      SIGKILLed: within 3 s netstackctl ss -ua is empty and netstackctl
#      clients no longer lists its PID;
#  (b) netstackd is SIGKILLed under a client blocked in recvfrom(): the
#      call fails within 1 s with ECONNRESET (or ENOTCONN/EPIPE/ENETDOWN)
#      and the client exits normally (status 0, no signal, no hang);
#  (c) the same with a clean SIGTERM shutdown of netstackd.
# The client is block_recv.c under LD_PRELOAD.
. "$(dirname "$0")/lib.sh"

setup
require_cmd timeout
require_libnetstack
BLOCK_RECV=$abs_top_builddir/tests/integration/block_recv
[ -x "$BLOCK_RECV" ] || fail "block_recv not built at $BLOCK_RECV (make check builds it)"

# client_bg OUT ARGS...: block_recv ARGS under LD_PRELOAD in the background
# (ip netns exec and env exec it, so CLIENT_PID is the client itself),
# stdout to OUT, stderr to OUT.err; returns once it prints "blocking".
client_bg() {
	_out=$1
	shift
	ip netns exec "$NS" env NETSTACK_SOCKET="$CTL_SOCK" LD_PRELOAD="$PRELOAD" \
		ASAN_OPTIONS=detect_leaks=0 timeout 30 "$BLOCK_RECV" "$@" >"$_out" 2>"$_out.err" &
	CLIENT_PID=$!
	bg_track "$CLIENT_PID"
	_i=0
	while [ $_i -lt 100 ] && ! grep -q '^blocking$' "$_out"; do
		pid_alive "$CLIENT_PID" || break
		sleep 0.05
		_i=$((_i + 1))
	done
	grep -q '^blocking$' "$_out" || { cat "$_out" "$_out.err"; fail "block_recv $* did not start"; }
	# timeout(1) runs the client as its child: the client's own PID is
	# the one it prints (and the one netstackctl shows).
	CLIENT_REAL=$(sed -n 's/^pid //p' "$_out")
}

# check_wakeup OUT T0 WHAT: the client that wrote OUT must have exited 0
# (bg_wait status in CLIENT_ST) after its recvfrom failed with a
# connection-gone errno no later than 1000 ms after T0.
check_wakeup() {
	cat "$1" "$1.err"
	[ "$CLIENT_ST" -ne 124 ] || fail "$3: the client was still blocked 5 s later"
	[ "$CLIENT_ST" -eq 0 ] || fail "$3: the client exited with status $CLIENT_ST (not normally)"
	grep -E 'ERROR: AddressSanitizer|runtime error:' "$1.err" >/dev/null &&
		fail "$3: sanitizer report from libnetstack.so in the client"
	_line=$(grep '^recvfrom:' "$1") || fail "$3: the client printed no recvfrom result"
	case $_line in
	"recvfrom: error ECONNRESET "* | "recvfrom: error ENOTCONN "* | \
	"recvfrom: error EPIPE "* | "recvfrom: error ENETDOWN "*) ;;
	*) fail "$3: recvfrom did not fail with a connection-gone errno: $_line" ;;
	esac
	_at=$(printf '%s\n' "$_line" | sed -n 's/.* at_ms=\([0-9]*\) .*/\1/p')
	[ -n "$_at" ] || fail "$3: cannot parse '$_line'"
	_d=$((_at - $2))
	info "$3: recvfrom returned $_d ms after the signal: $_line"
	[ "$_d" -le 1000 ] || fail "$3: recvfrom returned $_d ms after the signal (limit 1000)"
}

start_daemon

# ---- (a) SIGKILL of a client ------------------------------------------------------
info "(a) SIGKILL of a client holding 4 sockets"
client_bg "$IT_TMP/a.out" -n 4 -c "$HOST_ADDR:9" "$STACK_ADDR" 7100
pid=$CLIENT_REAL
ss=$(ctl -j ss -ua) || fail "netstackctl -j ss -ua failed"
info "ss: $ss"
jcheck "$ss" "len(j) == 4 and all(s['pids'] == [$pid] for s in j)" \
	"ss -ua does not show the client's 4 sockets"
jcheck "$ss" "sorted(s['local'] for s in j) == ['$STACK_ADDR:%d' % p for p in range(7100, 7104)]" \
	"the client's sockets are not bound to $STACK_ADDR:7100-7103"
jcheck "$ss" "[s['peer'] for s in j].count('$HOST_ADDR:9') == 1" \
	"exactly one socket should be connected to $HOST_ADDR:9"
cl=$(ctl -j clients) || fail "netstackctl -j clients failed"
jcheck "$cl" "any(c['pid'] == $pid and c['sockets'] == 4 for c in j)" \
	"netstackctl clients does not list PID $pid with 4 sockets"

t0=$(now_ms)
kill -KILL "$pid" || fail "cannot SIGKILL the client ($pid)"
bg_wait "$CLIENT_PID" 5
st=$?
[ "$st" -eq 137 ] || info "timeout(1) around the client exited with status $st"
gone=
_i=0
while [ $_i -lt 60 ]; do
	ss=$(ctl -j ss -ua) || fail "netstackctl -j ss -ua failed after the client died"
	cl=$(ctl -j clients) || fail "netstackctl -j clients failed after the client died"
	if printf '%s\n' "$ss" | jget "len(j) == 0" | grep -q true &&
		printf '%s\n' "$cl" | jget "all(c['pid'] != $pid for c in j)" | grep -q true; then
		gone=yes
		break
	fi
	sleep 0.05
	_i=$((_i + 1))
done
[ -n "$gone" ] || fail "3 s after SIGKILL of $pid: ss -ua = $ss, clients = $cl"
info "sockets and session of $pid gone $(($(now_ms) - t0)) ms after SIGKILL"
daemon_alive || fail "netstackd died with its client"

# ---- (b) SIGKILL of the daemon under a blocked client ------------------------------
info "(b) SIGKILL of netstackd while a client is blocked in recvfrom"
client_bg "$IT_TMP/b.out" "$STACK_ADDR" 7200
sleep 0.2
t0=$(now_ms)
kill -KILL "$DAEMON_PID" || fail "cannot SIGKILL netstackd"
# stop_daemon cannot be used (SIGKILL is not a clean exit): reap it here.
wait "$DAEMON_PID"
info "netstackd exited with status $? after SIGKILL"
DAEMON_PID=
bg_wait "$CLIENT_PID" 5
CLIENT_ST=$?
check_wakeup "$IT_TMP/b.out" "$t0" "(b) daemon SIGKILL"

# ---- (c) SIGTERM of the daemon under a blocked client ------------------------------
info "(c) SIGTERM of netstackd while a client is blocked in recvfrom"
start_daemon
client_bg "$IT_TMP/c.out" "$STACK_ADDR" 7300
sleep 0.2
t0=$(now_ms)
stop_daemon TERM
bg_wait "$CLIENT_PID" 5
CLIENT_ST=$?
check_wakeup "$IT_TMP/c.out" "$t0" "(c) daemon SIGTERM"
pass
