#!/bin/sh
# test_sysctl: `netstackctl sysctl` reads, lists and sets the daemon's
# knobs like sysctl(8); bad values and unknown names fail and change
# nothing; a write takes effect on the data path at once
# (net.ipv4.icmp_echo_ignore_all silences ping and back).
. "$(dirname "$0")/lib.sh"

setup
require_cmd ping
start_daemon

# get NAME: the value part of `netstackctl sysctl NAME`.
get() {
	ctl sysctl "$1" | sed -n "s/^$1 = //p"
}

# -a: sorted by name, each knob once, the ones we rely on present.
all=$(ctl sysctl -a) || fail "sysctl -a failed"
echo "$all"
names=$(printf '%s\n' "$all" | cut -d' ' -f1)
[ "$names" = "$(printf '%s\n' "$names" | LC_ALL=C sort -u)" ] ||
	fail "sysctl -a: names not sorted or not unique"
for k in net.core.netdev_budget net.core.netdev_max_backlog; do
	printf '%s\n' "$all" | grep -Eq "^$k = [0-9]+\$" || fail "sysctl -a: no $k"
done
printf '%s\n' "$all" | grep -Eq '^net\.ipv4\.ip_local_port_range = [0-9]+ [0-9]+$' ||
	fail "sysctl -a: ip_local_port_range is not two numbers"

# One knob, and a write that the next read sees.
[ "$(ctl sysctl net.core.netdev_budget)" = "net.core.netdev_budget = 300" ] ||
	fail "sysctl net.core.netdev_budget: not the default 300"
out=$(ctl sysctl -w net.core.netdev_budget=600) || fail "sysctl -w netdev_budget=600 failed"
[ "$out" = "net.core.netdev_budget = 600" ] || fail "sysctl -w printed '$out'"
[ "$(get net.core.netdev_budget)" = 600 ] || fail "netdev_budget did not become 600"
ctl sysctl -w 'net.ipv4.ip_local_port_range=40000 50000' >/dev/null ||
	fail "sysctl -w ip_local_port_range failed"
[ "$(get net.ipv4.ip_local_port_range)" = "40000 50000" ] ||
	fail "ip_local_port_range did not become '40000 50000'"

# Bad values and names: exit 1, one line on stderr, nothing changed.
for bad in net.core.netdev_budget=0 net.core.netdev_budget=99999999999 \
	net.core.netdev_budget=abc net.core.netdev_budget= \
	'net.ipv4.ip_local_port_range=50000 40000' net.ipv4.ip_local_port_range=1; do
	ctl sysctl -w "$bad" >"$IT_TMP/out" 2>"$IT_TMP/err"
	rc=$?
	cat "$IT_TMP/err"
	[ $rc -eq 1 ] || fail "sysctl -w '$bad' exited with $rc, not 1"
	[ "$(wc -l <"$IT_TMP/err")" -eq 1 ] || fail "sysctl -w '$bad': not one error line"
	[ ! -s "$IT_TMP/out" ] || fail "sysctl -w '$bad' printed a value"
done
[ "$(get net.core.netdev_budget)" = 600 ] || fail "a bad value changed netdev_budget"
[ "$(get net.ipv4.ip_local_port_range)" = "40000 50000" ] ||
	fail "a bad value changed ip_local_port_range"
for cmd in "sysctl net.core.nosuchknob" "sysctl -w net.core.nosuchknob=1"; do
	# shellcheck disable=SC2086 # word splitting intended
	err=$(ctl $cmd 2>&1 >/dev/null)
	rc=$?
	[ $rc -eq 1 ] || fail "$cmd exited with $rc, not 1"
	[ "$err" = "netstackctl: sysctl: unknown key 'net.core.nosuchknob'" ] ||
		fail "$cmd: unexpected message '$err'"
done

# Runtime effect: echo requests ignored, then answered again.
in_ns ping -c 1 -W 2 "$STACK_ADDR" >/dev/null || fail "ping before the change failed"
ctl sysctl -w net.ipv4.icmp_echo_ignore_all=1 || fail "icmp_echo_ignore_all=1 failed"
if in_ns ping -c 2 -W 1 "$STACK_ADDR"; then
	fail "ping answered with icmp_echo_ignore_all=1"
fi
ctl sysctl -w net.ipv4.icmp_echo_ignore_all=0 || fail "icmp_echo_ignore_all=0 failed"
in_ns ping -c 2 -W 1 "$STACK_ADDR" || fail "ping not answered after icmp_echo_ignore_all=0"

# JSON: an object of strings; -w gives the one entry it set.
js=$(ctl -j sysctl -a) || fail "sysctl -j -a failed"
jcheck "$js" 'all(isinstance(v, str) for v in j.values())' "sysctl -j -a: not all strings"
jcheck "$js" 'j["net.core.netdev_budget"] == "600"' "sysctl -j -a: netdev_budget"
jcheck "$js" 'j["net.ipv4.ip_local_port_range"] == "40000 50000"' "sysctl -j -a: port range"
js=$(ctl -j sysctl -w net.core.netdev_max_backlog=2000) || fail "sysctl -j -w failed"
jcheck "$js" 'j == {"net.core.netdev_max_backlog": "2000"}' "sysctl -j -w"
js=$(ctl -j sysctl net.core.netdev_budget) || fail "sysctl -j NAME failed"
jcheck "$js" 'j == {"net.core.netdev_budget": "600"}' "sysctl -j NAME"

# Usage errors are exit 2.
ctl sysctl >/dev/null 2>&1
[ $? -eq 2 ] || fail "sysctl without a name: not a usage error"
ctl sysctl net.core.netdev_budget=1 >/dev/null 2>&1
[ $? -eq 2 ] || fail "sysctl NAME=VALUE without -w: not a usage error"

stop_daemon
pass
