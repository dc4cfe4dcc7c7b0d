#!/bin/sh
# test_ipc_fuzz: hostile input on the control socket.  ipc_fuzz.py sends
# about 5000 malformed messages (random bytes, truncated and oversized
# protobuf, wrong versions, unknown socket ids, garbage sockaddrs, huge
# getsockopt lengths, unexpected descriptors, connection floods, clients
# that die holding sockets, fork attachments with good and bad tokens);
# each must get a reply or a disconnect.  Afterwards the daemon still
# answers ping and netstackctl, holds no socket, no client and no more
# file descriptors than before, and exits cleanly without sanitizer reports.
. "$(dirname "$0")/lib.sh"

setup
require_cmd ping
FUZZ=$IT_SRCDIR/ipc_fuzz.py
[ -r "$FUZZ" ] || fail "missing $FUZZ"

# count_fds: descriptors the daemon has open now.
count_fds() {
	ls "/proc/$DAEMON_PID/fd" | wc -l
}

# wait_idle: poll (at most 5 s) until no client and no socket is left.
wait_idle() {
	_i=0
	while [ $_i -lt 50 ]; do
		clients=$(ctl -j clients) || fail "netstackctl -j clients failed"
		socks=$(ctl ss -ua -j) || fail "netstackctl ss -ua -j failed"
		[ "$clients" = "[]" ] && [ "$socks" = "[]" ] && return 0
		sleep 0.1
		_i=$((_i + 1))
	done
	fail "clients or sockets left behind: clients=$clients sockets=$socks"
}

start_daemon
fds0=$(count_fds)
info "netstackd has $fds0 descriptors open"

# A client holding sockets is listed, then vanishes with SIGKILL.
"$PYTHON" "$FUZZ" "$CTL_SOCK" --hold "$IT_TMP/ready" &
hold_pid=$!
bg_track $hold_pid
i=0
while [ ! -s "$IT_TMP/ready" ] && [ $i -lt 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
[ -s "$IT_TMP/ready" ] || fail "the holding client did not start"
nsock=$(cat "$IT_TMP/ready")
clients=$(ctl_json clients) || fail "netstackctl -j clients failed"
echo "clients: $clients"
jcheck "$clients" "len(j) == 1 and j[0]['pid'] == $hold_pid and j[0]['program'] == 'ipc_fuzz-hold'" \
	"the holding client is not listed"
jcheck "$clients" "j[0]['sockets'] == $nsock and j[0]['shm_size'] == 8192 << 20 and \
0 < j[0]['shm_used'] <= j[0]['shm_size'] and j[0]['uid'] == $(id -u)" "client fields wrong"
socks=$(ctl ss -ua -j) || fail "netstackctl ss -ua -j failed"
echo "sockets: $socks"
jcheck "$socks" "len(j) == $nsock and all(s['pids'] == [$hold_pid] for s in j)" \
	"the holding client's sockets are not listed"
ctl clients || fail "netstackctl clients failed"
ctl ss -uanp || fail "netstackctl ss -uanp failed"
kill -KILL $hold_pid
bg_wait $hold_pid 5
wait_idle

# The fuzzing itself, bounded in time by the script.
"$PYTHON" "$FUZZ" "$CTL_SOCK" "$$" || fail "ipc_fuzz.py failed"
daemon_alive || fail "netstackd died during fuzzing"
wait_idle

# Every descriptor the fuzzing passed in or made the daemon open is closed.
i=0
while [ "$(count_fds)" -ne "$fds0" ] && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
[ "$(count_fds)" -eq "$fds0" ] || fail "netstackd has $(count_fds) descriptors open, $fds0 before"

out=$(in_ns ping -c 2 -i 0.2 -W 2 -w 5 "$STACK_ADDR" 2>&1)
echo "$out" | grep -q '^2 packets transmitted, 2 received' || fail "no ping reply after fuzzing: $out"
ctl link >/dev/null || fail "netstackctl link failed after fuzzing"

# Shutting down with a client still holding sockets is clean too.
rm -f "$IT_TMP/ready"
"$PYTHON" "$FUZZ" "$CTL_SOCK" --hold "$IT_TMP/ready" &
hold_pid=$!
bg_track $hold_pid
i=0
while [ ! -s "$IT_TMP/ready" ] && [ $i -lt 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
[ -s "$IT_TMP/ready" ] || fail "the second holding client did not start"
stop_daemon
pass
