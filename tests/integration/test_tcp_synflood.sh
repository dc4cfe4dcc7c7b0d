#!/bin/sh
# A SYN flood (TCP_SYNFLOOD SYNs, default 100,000, from a raw socket on the
# kernel side, bounded to 60 s, from spoofed addresses of the test's subnet
# that nobody owns, so no RST ever frees a half-open slot) against a
# listener on the stack with a small backlog: an established download keeps going, new connections
# still succeed, and SYN cookies are counted (SyncookiesSent/Recv).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tcp_lib.sh"

setup
require_cmd curl timeout
require_libnetstack
start_daemon

N=${TCP_SYNFLOOD:-100000}
mkdir -p "$IT_TMP/www"
make_file "$IT_TMP/www/file.bin" 8
want=$(sha "$IT_TMP/www/file.bin")
# The flood's target: http.server with listen backlog 5 (its default).
bg_preloaded "$PYTHON" -m http.server 8081 --bind 0.0.0.0 --directory "$IT_TMP/www"
srv=$BG_PID
wait_stack_listen 8081

# An established transfer, slowed down so that it spans the flood.
bg_in_ns timeout 120 curl -sS --limit-rate 1M -o "$IT_TMP/slow.bin" "http://$STACK_ADDR:8081/file.bin"
slow=$BG_PID
sleep 0.5

info "flooding $N SYNs"
# (A background command reads /dev/null, not a here-document: use a file.)
cat >"$IT_TMP/flood.py" <<'PY'
import random, socket, struct, sys
net, dst, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
db = socket.inet_aton(dst)
srcs = [socket.inet_aton("%s.%d" % (net, h)) for h in range(100, 200)]
def csum(b):
    if len(b) % 2: b += b"\0"
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while t >> 16: t = (t & 0xffff) + (t >> 16)
    return ~t & 0xffff
for i in range(n):
    sb = srcs[i % len(srcs)]
    sport = random.randint(1024, 65535)
    seq = random.getrandbits(32)
    tcp = struct.pack("!HHIIBBHHH", sport, port, seq, 0, 5 << 4, 0x02, 64240, 0, 0)
    c = csum(sb + db + struct.pack("!BBH", 0, 6, len(tcp)) + tcp)
    tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, i & 0xffff, 0, 64, 6, 0, sb, db)
    try:
        s.sendto(ip + tcp, (dst, 0))
    except OSError:
        pass
PY
bg_in_ns timeout 60 "$PYTHON" "$IT_TMP/flood.py" "10.200.$SUBNET" "$STACK_ADDR" 8081 "$N"
flood=$BG_PID
sleep 1
# New connections during the flood.
ok=0
for i in 1 2 3 4 5; do
	if in_ns timeout 20 curl -sS -o "$IT_TMP/new$i.bin" "http://$STACK_ADDR:8081/file.bin" &&
		[ "$(sha "$IT_TMP/new$i.bin")" = "$want" ]; then
		ok=$((ok + 1))
	fi
	rm -f "$IT_TMP/new$i.bin"
done
bg_wait "$flood" 70 || true
info "$ok of 5 new connections completed during the flood"
[ "$ok" -eq 5 ] || fail "new connections failed during the SYN flood"
bg_wait "$slow" 60 || fail "the established download failed during the flood"
[ "$(sha "$IT_TMP/slow.bin")" = "$want" ] || fail "the established download arrived damaged"
sent=$(counter TcpExt SyncookiesSent)
info "SyncookiesSent $sent, SyncookiesRecv $(counter TcpExt SyncookiesRecv), ListenDrops $(counter TcpExt ListenDrops)"
[ "$sent" -gt 0 ] || fail "no SYN cookies were sent"
kill "$srv" 2>/dev/null
bg_wait "$srv" 2 || true
pass
