#!/bin/sh
# RFS with RPS: netstackd with 2 workers on a one-queue TAP (rps_cpus all),
# a client under LD_PRELOAD opens N (64) connections to a kernel server
# (tcp_many: each echoes 16 bytes, then the client closes and its sockets
# wait in TIME-WAIT).  Each socket's owner worker is chosen round-robin;
# connect records the flow for its owner (net.core.rps_sock_flow_entries),
# so RPS steers the SYN-ACK and the rest of the flow there: a connection
# must show rx_cpus == [owner_cpu], except the rare ones whose hash shares
# a table entry with another flow (at most N/16 allowed; with 32768
# entries about one run in sixteen has one).  As a control, with the
# table off (0) RPS steers by the hash alone and about half the
# connections are received by the other worker and handed over
# (TCPBacklogHandoff): at least N/4 required.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tcp_lib.sh"

setup
require_libnetstack
TCP_MANY_BIN=$abs_top_builddir/tests/integration/tcp_many
[ -x "$TCP_MANY_BIN" ] || fail "tcp_many not built"
N=${RFS_CONNS:-64}

cat >"$IT_TMP/rfs.conf" <<EOF2
[daemon]
workers = 2

[interface $TAP]
address = $STACK_ADDR/24
host_address = $HOST_ADDR/24
queues = 1
rps_cpus = all
EOF2
start_daemon_args -c "$IT_TMP/rfs.conf"
bg_in_ns "$TCP_MANY_BIN" server 9100
wait_kernel_listen 9100

# run PORT-LABEL: N connections from the stack; the listing of those sockets
# (TIME-WAIT, peer port 9100) goes to $IT_TMP/$1.json.
run() {
	out=$(run_preloaded timeout 60 "$TCP_MANY_BIN" client "$HOST_ADDR" 9100 "$N" 2>&1) ||
		fail "tcp_many client failed: $out"
	[ "$out" = "ok $N" ] || fail "tcp_many client said '$out'"
	ctl ss -taj >"$IT_TMP/$1.json" || fail "ss -taj failed"
}

# mismatches FILE: connections to :9100 whose rx_cpus is not [owner_cpu];
# prints "CONNS BAD".
mismatches() {
	"$PYTHON" -c '
import json, sys
c = [s for s in json.load(open(sys.argv[1])) if s["proto"] == "tcp" and s["peer"].endswith(":9100")]
bad = [s for s in c if s["rx_cpus"] != [s["owner_cpu"]]]
for s in bad[:5]:
    print("  %s %s owner %d rx_cpus %s" % (s["local"], s["state"], s["owner_cpu"], s["rx_cpus"]),
          file=sys.stderr)
owners = set(s["owner_cpu"] for s in c)
print(len(c), len(bad), len(owners))' "$1"
}

h0=$(counter TcpExt TCPBacklogHandoff)
run rfs
set -- $(mismatches "$IT_TMP/rfs.json")
h1=$(counter TcpExt TCPBacklogHandoff)
info "RFS on: $1 connections over $3 owner workers, $2 received elsewhere, hand-offs $((h1 - h0))"
[ "$1" -ge "$N" ] || fail "expected $N connections in the listing, found $1"
[ "$3" -eq 2 ] || fail "the sockets should be owned by both workers"
[ "$2" -le $((N / 16)) ] || fail "$2 connections were received by a worker other than their owner"

# Control: without the table the hash decides, and about half the flows
# land on the other worker.  TIME-WAIT sockets of the first run stay
# listed (and keep their single worker); only new ones count.
ctl sysctl -w net.core.rps_sock_flow_entries=0 >/dev/null || fail "cannot turn RFS off"
run norfs
h2=$(counter TcpExt TCPBacklogHandoff)
set -- $(mismatches "$IT_TMP/norfs.json")
info "RFS off: $1 connections listed, $2 received elsewhere, hand-offs $((h2 - h1))"
[ "$2" -ge $((N / 4)) ] || fail "without RFS only $2 flows hashed away from their owner: the check proves nothing"
[ "$h2" -gt "$h1" ] || fail "without RFS no segment was handed to its owner"
stop_daemon
pass
