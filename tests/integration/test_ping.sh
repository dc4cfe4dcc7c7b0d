#!/bin/sh
# test_ping: netstackd answers ICMP echo and ARP for its own address, at
# full MTU and without loss, and answers neither for an address in its
# subnet that it does not own.
. "$(dirname "$0")/lib.sh"

setup
require_cmd ping arping
start_daemon

mac=$(ctl -j link | jget '[l for l in j if l["ifname"] == "'"$TAP"'"][0]["address"]') ||
	fail "netstackctl -j link failed"
info "stack MAC $mac"

# 1000 echo requests at 2 ms intervals: every one answered.
out=$(in_ns ping -c 1000 -i 0.002 -q -w 30 "$STACK_ADDR" 2>&1)
rc=$?
echo "$out"
[ $rc -eq 0 ] || fail "ping -c 1000 exited with $rc"
echo "$out" | grep -q '^1000 packets transmitted, 1000 received' ||
	fail "ping -c 1000: not exactly 1000/1000 replies"

# Full-size datagrams (1472 bytes of payload + 8 ICMP + 20 IP = 1500, the
# MTU) with DF set: the stack replies with the same size unfragmented.
out=$(in_ns ping -c 3 -i 0.2 -s 1472 -M "do" -w 10 "$STACK_ADDR" 2>&1)
rc=$?
echo "$out"
[ $rc -eq 0 ] || fail "ping -s 1472 -M do exited with $rc"
echo "$out" | grep -q '^3 packets transmitted, 3 received' ||
	fail "ping -s 1472 -M do: not 3/3 replies"
[ "$(echo "$out" | grep -c '^1480 bytes from '"$STACK_ADDR"': icmp_seq=')" -eq 3 ] ||
	fail "ping -s 1472: expected three 1480-byte replies"

# ARP: three requests, three replies, from the stack's MAC.
out=$(in_ns arping -c 3 -w 10 -I "$TAP" "$STACK_ADDR" 2>&1)
rc=$?
echo "$out"
[ $rc -eq 0 ] || fail "arping $STACK_ADDR exited with $rc"
echo "$out" | grep -q 'Received 3 response' || fail "arping: not 3 responses"
n=$(echo "$out" | grep -ic "reply from $STACK_ADDR \[$mac\]")
[ "$n" -eq 3 ] || fail "arping: expected 3 replies from [$mac], got $n"

# An address in the subnet that nobody owns: no echo reply, no ARP reply.
other=10.200.$SUBNET.99
out=$(in_ns ping -c 2 -i 0.5 -W 1 -w 3 "$other" 2>&1)
rc=$?
echo "$out"
[ $rc -ne 0 ] || fail "ping $other succeeded but nobody owns it"
echo "$out" | grep -q ' 0 received' || fail "ping $other: got replies"
out=$(in_ns arping -c 2 -w 3 -I "$TAP" "$other" 2>&1)
rc=$?
echo "$out"
[ $rc -ne 0 ] || fail "arping $other succeeded but nobody owns it"
echo "$out" | grep -q 'Received 0 response' || fail "arping $other: got replies"

# And the stack is still fine afterwards.
in_ns ping -c 1 -W 2 "$STACK_ADDR" >/dev/null || fail "ping after the negative tests failed"
stop_daemon
pass
