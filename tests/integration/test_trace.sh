#!/bin/sh
# netstackctl trace: the stages of sampled packets, in order, with
# timestamps that never go back within a packet.
#   1. trace -c 1 icmp while the kernel pings the stack: the echo
#      request's receive stages down to icmp_rcv, then the echo reply's
#      transmit stages down to the driver.
#   2. trace -c 1 udp port N for one datagram from the kernel to a UDP
#      receiver under LD_PRELOAD: ... udp_rcv, socket queue, read by client.
#   3. a datagram to a closed port: the receive stages end at the drop
#      (UDP_NO_SOCKET), followed by the ICMP port unreachable's transmit.
#   4. a datagram sent by a client under LD_PRELOAD: from the doorbell
#      handler taking its record (socket write) down to the driver.
#   5. TCP: curl under LD_PRELOAD fetches from the kernel's http.server;
#      a segment with data ends queued to the socket and read by curl.
#   6. text output, EBUSY for a second trace, a bad filter refused.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tcp_lib.sh"

setup
require_cmd ping timeout curl
require_libnetstack
start_daemon --workers 2

UPORT=7301
CLOSED=7399

# trace_bg OUT ERR ARGS...: netstackctl trace ARGS in the background,
# returning once it says it is tracing (TR_PID is its PID).
trace_bg() {
	_out=$1
	_err=$2
	shift 2
	"$NETSTACKCTL" -s "$CTL_SOCK" trace "$@" >"$_out" 2>"$_err" &
	TR_PID=$!
	bg_track "$TR_PID"
	_i=0
	while ! grep -q "tracing" "$_err" 2>/dev/null; do
		pid_alive "$TR_PID" || fail "netstackctl trace exited: $(cat "$_err")"
		[ $_i -lt 100 ] || fail "netstackctl trace did not start"
		sleep 0.05
		_i=$((_i + 1))
	done
}

# check_order JSON PKT STAGE...: packet PKT of the (only) trace in JSON
# passed STAGEs in this order (a subsequence of its stages; "name: detail"
# matches a stage's detail too), and its timestamps never decrease.
check_order() {
	_json=$1
	_pkt=$2
	shift 2
	"$PYTHON" - "$_json" "$_pkt" "$@" <<'PY' || fail "stage order of packet $_pkt (see above)"
import json, sys
j = json.load(open(sys.argv[1]))
pkt = int(sys.argv[2])
want = sys.argv[3:]
if len(j["traces"]) != 1:
    sys.exit("expected one trace, got %d" % len(j["traces"]))
t = j["traces"][0]
st = [s for s in t["stages"] if s["pkt"] == pkt]
names = [s["stage"] + (": " + s["detail"] if "detail" in s else "") for s in st]
print("packet %d: %s" % (pkt, " | ".join(names)))
k = 0
for n in names:
    if k < len(want) and (n == want[k] or n.split(":")[0] == want[k]):
        k += 1
if k != len(want):
    sys.exit("missing %r (in order) among %s" % (want[k], names))
ns = [s["ns"] for s in st]
if any(b < a for a, b in zip(ns, ns[1:])):
    sys.exit("timestamps go back: %s" % ns)
PY
}

RX="tap_irq_handler napi_poll netif_receive_skb ip_rcv PRE_ROUTING"
TX="ip_local_out LOCAL_OUT ip_output POST_ROUTING neigh_output dev_queue_xmit"

info "trace -c 1 icmp: an echo request and its reply"
trace_bg "$IT_TMP/icmp.json" "$IT_TMP/icmp.err" -c 1 -j icmp
in_ns ping -c 2 -i 0.2 -W 1 "$STACK_ADDR" >/dev/null || fail "ping failed"
bg_wait "$TR_PID" 10 || fail "trace -c 1 did not end by itself: $(cat "$IT_TMP/icmp.err")"
cat "$IT_TMP/icmp.err"
# shellcheck disable=SC2086 # the stage lists are words
check_order "$IT_TMP/icmp.json" 0 $RX "ip_route_input: local" ip_local_deliver LOCAL_IN icmp_rcv
# shellcheck disable=SC2086
check_order "$IT_TMP/icmp.json" 1 icmp_reply $TX "driver xmit"
jcheck "$(cat "$IT_TMP/icmp.json")" \
	'j["traces"][0]["packets"][0]["icmp_type"] == 8 and j["traces"][0]["packets"][1]["icmp_type"] == 0 and j["traces"][0]["packets"][1]["dir"] == "reply" and j["finished"] == 1' \
	"trace: echo request then echo reply"

info "trace -c 1 udp port $UPORT: to a receiver under LD_PRELOAD, read by the client"
bg_preloaded "$PYTHON" -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
print("ready", flush=True)
s.settimeout(15)
d, a = s.recvfrom(2048)
print("got", len(d), flush=True)
time.sleep(0.5)
' "$UPORT" >"$IT_TMP/rcv.out" 2>"$IT_TMP/rcv.err"
rcv=$BG_PID
_i=0
while ! grep -q ready "$IT_TMP/rcv.out" 2>/dev/null; do
	pid_alive "$rcv" || fail "UDP receiver exited: $(cat "$IT_TMP/rcv.err")"
	[ $_i -lt 200 ] || fail "UDP receiver did not start"
	sleep 0.05
	_i=$((_i + 1))
done
trace_bg "$IT_TMP/udp.json" "$IT_TMP/udp.err" -c 1 -j udp and port "$UPORT"
in_ns "$PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"x" * 100, (sys.argv[1], int(sys.argv[2])))
' "$STACK_ADDR" "$UPORT" || fail "cannot send the datagram"
bg_wait "$TR_PID" 10 || fail "trace of the datagram did not end: $(cat "$IT_TMP/udp.err")"
bg_wait "$rcv" 10 || fail "the receiver did not end"
grep -q "got 100" "$IT_TMP/rcv.out" || fail "the receiver did not get the datagram"
# shellcheck disable=SC2086
check_order "$IT_TMP/udp.json" 0 $RX "ip_route_input: local" ip_local_deliver LOCAL_IN udp_rcv \
	"socket queue" "read by client"
jcheck "$(cat "$IT_TMP/udp.json")" \
	'j["traces"][0]["stages"][-1]["stage"] == "read by client" and j["traces"][0]["stages"][-1]["cpu"] == "client" and j["traces"][0]["packets"][0]["dport"] == '"$UPORT" \
	"trace: the datagram ends read by the client"

info "a datagram to a closed port: the drop, then the ICMP port unreachable"
trace_bg "$IT_TMP/closed.json" "$IT_TMP/closed.err" -c 1 -j udp and dst port "$CLOSED"
in_ns "$PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"y" * 20, (sys.argv[1], int(sys.argv[2])))
' "$STACK_ADDR" "$CLOSED" || fail "cannot send the datagram"
bg_wait "$TR_PID" 10 || fail "trace of the closed port did not end: $(cat "$IT_TMP/closed.err")"
# shellcheck disable=SC2086
check_order "$IT_TMP/closed.json" 0 $RX "ip_route_input: local" LOCAL_IN udp_rcv \
	"drop: UDP_NO_SOCKET"
# shellcheck disable=SC2086
check_order "$IT_TMP/closed.json" 1 icmp_send $TX "driver xmit"
jcheck "$(cat "$IT_TMP/closed.json")" \
	'[s["stage"] for s in j["traces"][0]["stages"] if s["pkt"] == 0][-1] == "drop" and j["traces"][0]["packets"][0]["drop"] == "UDP_NO_SOCKET" and j["traces"][0]["packets"][1]["icmp_type"] == 3 and j["traces"][0]["packets"][1]["icmp_code"] == 3' \
	"trace: the drop ends the datagram, the port unreachable follows"

info "a datagram sent by a client: socket write down to the driver"
trace_bg "$IT_TMP/tx.json" "$IT_TMP/tx.err" -c 1 -j udp and dst port "$CLOSED"
run_preloaded "$PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"z" * 30, (sys.argv[1], int(sys.argv[2])))
' "$HOST_ADDR" "$CLOSED" || fail "the client could not send"
bg_wait "$TR_PID" 10 || fail "trace of the sent datagram did not end: $(cat "$IT_TMP/tx.err")"
# shellcheck disable=SC2086
check_order "$IT_TMP/tx.json" 0 "socket write (doorbell)" udp_sendmsg $TX "driver xmit"
jcheck "$(cat "$IT_TMP/tx.json")" \
	'j["traces"][0]["packets"][0]["dir"] == "sent" and j["traces"][0]["packets"][0]["dport"] == '"$CLOSED"' and j["traces"][0]["packets"][0]["len"] == 58' \
	"trace: the sent datagram's summary"

if tsan_runtime; then
	info "TCP part skipped: curl cannot host the ThreadSanitizer runtime (tcp_lib.sh)"
else
info "TCP: segments from the kernel's http.server to curl under LD_PRELOAD"
mkdir -p "$IT_TMP/www"
echo "hello from the kernel" >"$IT_TMP/www/f"
bg_in_ns "$PYTHON" -m http.server 8080 --bind "$HOST_ADDR" --directory "$IT_TMP/www" \
	>"$IT_TMP/http.out" 2>&1
srv=$BG_PID
_i=0
while ! in_ns "$PYTHON" -c 'import socket, sys; socket.create_connection((sys.argv[1], 8080), 1)' \
	"$HOST_ADDR" 2>/dev/null; do
	[ $_i -lt 100 ] || fail "http.server did not start"
	sleep 0.05
	_i=$((_i + 1))
done
trace_bg "$IT_TMP/tcp.json" "$IT_TMP/tcp.err" -c 16 -j tcp and src port 8080
run_preloaded_nosanrt timeout 20 curl -sS -o "$IT_TMP/got" "http://$HOST_ADDR:8080/f" ||
	fail "curl failed"
cmp -s "$IT_TMP/got" "$IT_TMP/www/f" || fail "curl got something else"
sleep 0.3
kill -INT "$TR_PID"
bg_wait "$TR_PID" 10 || fail "trace did not end after SIGINT: $(cat "$IT_TMP/tcp.err")"
kill "$srv" 2>/dev/null
bg_wait "$srv" 2 || true
"$PYTHON" - "$IT_TMP/tcp.json" <<'PY' || fail "no TCP segment queued and read by the client"
import json, sys
j = json.load(open(sys.argv[1]))
ok = False
for t in j["traces"]:
    names = [s["stage"] for s in t["stages"]]
    print(" | ".join(names))
    if "tcp_v4_rcv" in names and names[-2:] == ["socket queue", "read by client"]:
        ok = True
sys.exit(0 if ok else 1)
PY
fi

info "text output; one trace at a time; bad filters refused"
trace_bg "$IT_TMP/text.out" "$IT_TMP/text.err" -c 1 icmp
ctl trace -c 1 icmp 2>"$IT_TMP/busy.err" && fail "a second trace was accepted"
grep -qi "another trace is running" "$IT_TMP/busy.err" || fail "no EBUSY reason: $(cat "$IT_TMP/busy.err")"
in_ns ping -c 1 -W 1 "$STACK_ADDR" >/dev/null || fail "ping failed"
bg_wait "$TR_PID" 10 || fail "text trace did not end: $(cat "$IT_TMP/text.err")"
cat "$IT_TMP/text.out"
grep -q "^trace 1: received on nst0 $HOST_ADDR > $STACK_ADDR icmp type 8" "$IT_TMP/text.out" ||
	fail "no header line"
grep -Eq '^  \+ +[0-9]+ µs  cpu[0-9]+ +ip_rcv$' "$IT_TMP/text.out" || fail "no ip_rcv line"
grep -Eq '^  -> in response \(to packet 0\): ' "$IT_TMP/text.out" || fail "no reply header line"
grep -q "^1 packets traced" "$IT_TMP/text.err" || fail "no count: $(cat "$IT_TMP/text.err")"
ctl trace bogus 2>"$IT_TMP/err" && fail "a bad filter was accepted"
grep -q "unknown word 'bogus'" "$IT_TMP/err" || fail "no reason: $(cat "$IT_TMP/err")"
ctl trace -i nosuch0 2>"$IT_TMP/err" && fail "a missing device was accepted"
grep -q "no device 'nosuch0'" "$IT_TMP/err" || fail "no reason: $(cat "$IT_TMP/err")"

stop_daemon
pass
