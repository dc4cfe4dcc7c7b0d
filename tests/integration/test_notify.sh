#!/bin/sh
# test_notify: the sd_notify protocol as systemd's Type=notify uses it.
# READY=1 arrives within 10 s of the start, from the main PID (the unit
# says NotifyAccess=main), exactly once, and only when the stack answers:
# a single ping sent the moment READY=1 arrives gets its reply.  SIGTERM
# brings STOPPING=1, again from the main PID.
. "$(dirname "$0")/lib.sh"

setup
require_cmd ping
LISTEN=$IT_SRCDIR/notify_listen.py
[ -r "$LISTEN" ] || fail "missing $LISTEN"
sock=$IT_TMP/notify.sock
events=$IT_TMP/notify.events
: >"$events"

"$PYTHON" "$LISTEN" "$sock" "$events" 60 \
	ip netns exec "$NS" ping -c 1 -W 1 "$STACK_ADDR" &
listener=$!
bg_track $listener
i=0
while [ ! -S "$sock" ] && [ $i -lt 100 ]; do
	pid_alive $listener || fail "notify_listen.py exited early"
	sleep 0.05
	i=$((i + 1))
done
[ -S "$sock" ] || fail "notify_listen.py did not create $sock"

t0=$(now_ms)
NOTIFY_SOCKET=$sock
export NOTIFY_SOCKET
start_daemon
unset NOTIFY_SOCKET
main_pid=$DAEMON_PID

# start_daemon returns once netstackctl answers; READY=1 may come a bit
# later.  Wait for it and for the ping run on its arrival.
i=0
while ! grep -q '^ready_cmd ' "$events" && [ $i -lt 200 ]; do
	[ $(($(now_ms) - t0)) -lt 12000 ] || break
	sleep 0.05
	i=$((i + 1))
done
cat "$events"
ready=$(grep -m1 ' READY=1$' "$events") || fail "no READY=1 within 10 s"
# shellcheck disable=SC2086 # split into fields
set -- $ready
ready_ms=$(($2 - t0))
[ "$ready_ms" -le 10000 ] || fail "READY=1 came $ready_ms ms after the start (limit 10000)"
[ "$3" = "$main_pid" ] || fail "READY=1 sent by PID $3, not the main PID $main_pid"
info "READY=1 after $ready_ms ms"
[ "$(grep -c ' READY=1$' "$events")" -eq 1 ] || fail "READY=1 sent more than once"
ping_line=$(grep -m1 '^ready_cmd ' "$events") || fail "the ping at READY=1 did not finish"
# shellcheck disable=SC2086 # split into fields
set -- $ping_line
[ "$3" -eq 0 ] || fail "ping sent when READY=1 arrived got no reply (exit $3): READY came before the stack answers"
grep -q ' STOPPING=1$' "$events" && fail "STOPPING=1 before any signal"

stop_daemon TERM
bg_wait $listener 5
rc=$?
cat "$events"
[ $rc -eq 0 ] || fail "notify_listen.py did not see STOPPING=1 (exit $rc)"
stopping=$(grep -m1 ' STOPPING=1$' "$events") || fail "no STOPPING=1"
# shellcheck disable=SC2086 # split into fields
set -- $stopping
[ "$3" = "$main_pid" ] || fail "STOPPING=1 sent by PID $3, not the main PID $main_pid"
pass
