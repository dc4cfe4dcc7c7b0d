#!/bin/sh
# Hook rules (netstackctl hook) against the kernel as the peer: a LOCAL_IN
# DROP rule on the port of python3's http.server (under LD_PRELOAD) makes
# the kernel's connects time out while the rule's counters and the
# NETFILTER_DROP drop reason rise, and deleting it restores service; a
# REJECT rule makes the kernel's connect fail with ECONNREFUSED, with the
# ICMP port unreachable and with the tcp-reset variant; a UDP DROP rule
# counts every datagram (none reaches udp_rcv); LOCAL_OUT / PRE_ROUTING /
# POST_ROUTING rules see ping; bad rules are refused.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tcp_lib.sh"

setup
require_cmd curl timeout ping
require_libnetstack
start_daemon --workers 2

PORT=8080

# rule_field HOOK NUM FIELD: packets, bytes, rule, ... of rule NUM of HOOK.
rule_field() {
	ctl hook list -j | jget "[r for r in j if r['hook'] == '$1' and r['num'] == $2][0]['$3']"
}

# connect_errno: the kernel's TCP connect to the stack's port, as the errno
# name (OK when it connected, TIMEOUT after 2 s), and how long it took.
connect_errno() {
	in_ns "$PYTHON" - "$STACK_ADDR" "$PORT" <<'PY'
import errno, socket, sys, time
s = socket.socket()
s.settimeout(2)
t0 = time.monotonic()
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
    r = "OK"
except socket.timeout:
    r = "TIMEOUT"
except OSError as e:
    r = errno.errorcode.get(e.errno, str(e.errno))
print(r, int((time.monotonic() - t0) * 1000))
PY
}

[ "$(ctl hook list -j)" = "[]" ] || fail "hook list is not empty at start: $(ctl hook list -j)"
ctl hook list | grep -q "^Chain INPUT (hook LOCAL_IN, policy ACCEPT)" || fail "hook list text"

mkdir -p "$IT_TMP/www"
echo "hello through the hooks" >"$IT_TMP/www/index.txt"
bg_preloaded "$PYTHON" -m http.server "$PORT" --bind 0.0.0.0 --directory "$IT_TMP/www"
srv=$BG_PID
wait_stack_listen "$PORT"
got=$(in_ns curl -sS --max-time 5 "http://$STACK_ADDR:$PORT/index.txt") || fail "no service before any rule"
[ "$got" = "hello through the hooks" ] || fail "wrong body: $got"

info "LOCAL_IN DROP on tcp port $PORT (and a COUNT rule for SYNs before it)"
ctl hook add input -p tcp --dport "$PORT" -j DROP || fail "hook add DROP failed"
ctl hook insert input 1 -p tcp --dport "$PORT" --syn || fail "hook insert COUNT failed"
ctl hook list
[ "$(rule_field INPUT 2 rule)" = "-p tcp --dport $PORT -j DROP" ] || fail "rule 2 is not the DROP"
[ "$(rule_field INPUT 1 target)" = "COUNT" ] || fail "rule 1 is not the COUNT"
nf0=$(drop_count NETFILTER_DROP)
t0=$(now_ms)
in_ns curl -sS --max-time 2 -o /dev/null "http://$STACK_ADDR:$PORT/index.txt" 2>/dev/null
rc=$?
t1=$(now_ms)
[ "$rc" -eq 28 ] || fail "curl with the DROP rule: exit $rc, expected 28 (timeout)"
[ $((t1 - t0)) -ge 1900 ] || fail "curl gave up after $((t1 - t0)) ms, not by its timeout"
drop_pkts=$(rule_field INPUT 2 packets)
count_pkts=$(rule_field INPUT 1 packets)
info "DROP rule: $drop_pkts packets, $(rule_field INPUT 2 bytes) bytes; COUNT rule: $count_pkts"
[ "$drop_pkts" -ge 1 ] || fail "the DROP rule did not count"
[ "$(rule_field INPUT 2 bytes)" -ge $((drop_pkts * 40)) ] || fail "the DROP rule's bytes are too few"
[ "$count_pkts" -ge "$drop_pkts" ] || fail "the COUNT rule saw $count_pkts SYNs, the DROP $drop_pkts"
[ "$(drop_count NETFILTER_DROP)" -ge $((nf0 + drop_pkts)) ] || fail "NETFILTER_DROP did not rise"

info "deleting the DROP restores service"
ctl hook del input 2 || fail "hook del failed"
got=$(in_ns curl -sS --max-time 5 "http://$STACK_ADDR:$PORT/index.txt") || fail "no service after deleting the rule"
[ "$got" = "hello through the hooks" ] || fail "wrong body after deleting: $got"
[ "$(rule_field INPUT 1 packets)" -gt "$count_pkts" ] || fail "the COUNT rule stopped counting"
ctl hook del input 1 || fail "hook del of the COUNT rule failed"
[ "$(ctl hook list -j)" = "[]" ] || fail "rules left: $(ctl hook list -j)"

info "REJECT (ICMP port unreachable)"
ctl hook add input -p tcp --dport "$PORT" -j REJECT || fail "hook add REJECT failed"
set -- $(connect_errno)
[ "$1" = ECONNREFUSED ] || fail "connect with REJECT: $1, expected ECONNREFUSED"
[ "$2" -lt 1500 ] || fail "ECONNREFUSED took $2 ms"
[ "$(rule_field INPUT 1 packets)" -ge 1 ] || fail "the REJECT rule did not count"
[ "$(counter Icmp OutDestUnreachs)" -ge 1 ] || fail "no ICMP destination unreachable was sent"
ctl hook del input 1 || fail "hook del failed"

info "REJECT --reject-with tcp-reset"
ctl hook add input -p tcp --dport "$PORT" -j REJECT --reject-with tcp-reset ||
	fail "hook add REJECT tcp-reset failed"
ctl hook list | grep -q -- "--reject-with tcp-reset" || fail "tcp-reset not shown"
icmp0=$(counter Icmp OutDestUnreachs)
set -- $(connect_errno)
[ "$1" = ECONNREFUSED ] || fail "connect with REJECT tcp-reset: $1, expected ECONNREFUSED"
[ "$(rule_field INPUT 1 packets)" -ge 1 ] || fail "the tcp-reset rule did not count"
[ "$(counter Icmp OutDestUnreachs)" -eq "$icmp0" ] || fail "tcp-reset sent ICMP instead of a RST"
ctl hook flush input || fail "hook flush failed"
set -- $(connect_errno)
[ "$1" = OK ] || fail "connect after flush: $1"
kill "$srv" 2>/dev/null
bg_wait "$srv" 2 || true

info "UDP DROP counts every datagram before udp_rcv"
ctl hook add input -p udp --dport 5555 -j DROP || fail "hook add UDP DROP failed"
noports0=$(counter Udp NoPorts)
in_ns "$PYTHON" - "$STACK_ADDR" <<'PY' || fail "cannot send UDP"
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(5):
    s.sendto(b"0123456789", (sys.argv[1], 5555))
PY
i=0
while [ "$(rule_field INPUT 1 packets)" -lt 5 ] && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
[ "$(rule_field INPUT 1 packets)" -eq 5 ] || fail "UDP DROP counted $(rule_field INPUT 1 packets), not 5"
[ "$(rule_field INPUT 1 bytes)" -eq 190 ] || fail "UDP DROP bytes $(rule_field INPUT 1 bytes), not 5 * 38"
[ "$(counter Udp NoPorts)" -eq "$noports0" ] || fail "a dropped datagram reached udp_rcv"
ctl hook flush || fail "hook flush (all) failed"

info "PRE_ROUTING, LOCAL_OUT and POST_ROUTING see ping"
ctl hook add prerouting -i nst0 -p icmp || fail "prerouting COUNT"
ctl hook add postrouting -o nst0 -p icmp -d "$HOST_ADDR" || fail "postrouting COUNT"
ctl hook add output -p icmp -j DROP || fail "output DROP"
in_ns ping -c 2 -i 0.2 -W 1 "$STACK_ADDR" >/dev/null 2>&1 && fail "ping answered through an OUTPUT DROP"
[ "$(rule_field PREROUTING 1 packets)" -ge 2 ] || fail "PREROUTING did not count the requests"
[ "$(rule_field OUTPUT 1 packets)" -ge 2 ] || fail "OUTPUT did not drop the replies"
[ "$(rule_field POSTROUTING 1 packets)" -eq 0 ] || fail "POSTROUTING saw a dropped reply"
ctl hook del output 1 || fail "hook del output"
in_ns ping -c 2 -i 0.2 -W 2 "$STACK_ADDR" >/dev/null || fail "ping after deleting the OUTPUT DROP"
[ "$(rule_field POSTROUTING 1 packets)" -ge 2 ] || fail "POSTROUTING did not count the replies"
ctl hook flush

info "bad rules are refused"
ctl hook add prerouting -j REJECT 2>"$IT_TMP/err" && fail "REJECT in PREROUTING accepted"
grep -q "REJECT is only for" "$IT_TMP/err" || fail "no reason: $(cat "$IT_TMP/err")"
ctl hook add input --dport 80 -j DROP 2>/dev/null && fail "--dport without -p accepted"
ctl hook add mangle -j DROP 2>/dev/null && fail "unknown hook accepted"
ctl hook del input 1 2>"$IT_TMP/err" && fail "deleting a missing rule succeeded"
grep -q "has no rule 1" "$IT_TMP/err" || fail "no reason: $(cat "$IT_TMP/err")"
[ "$(ctl hook list -j)" = "[]" ] || fail "a refused rule was added"

stop_daemon
pass
