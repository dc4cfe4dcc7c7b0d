#!/usr/bin/env python3
"""Kernel-side helpers for test_ip_frag.sh (run inside the test's namespace).

  frag_tool.py flood SRC DST COUNT SECONDS
      send COUNT first fragments (offset 0, MF, 1472 bytes of UDP) with
      random IP ids from SRC to DST through a raw IPPROTO_RAW socket, spread
      over SECONDS; none is ever completed.  Prints "sent N".
  frag_tool.py frag-needed DST QSRC QDST SPORT DPORT MTU
      send DST an ICMP destination unreachable / fragmentation needed
      (RFC 1191) with next-hop MTU MTU, quoting a UDP datagram QSRC:SPORT ->
      QDST:DPORT (with DF).
  frag_tool.py capture IFACE SRC TOTAL SECONDS
      read IPv4 frames from SRC on IFACE (AF_PACKET) until the fragments of
      one UDP datagram of TOTAL IP payload bytes were all seen, or SECONDS
      passed; prints one line per packet ("ip LEN id ID off OFF mf MF")
      and "complete" when it has them all.  "ready" on stderr when bound.
Bounded in count and time; uses only addresses given on the command line.
"""
import random
import select
import socket
import struct
import sys
import time

ETH_P_IP = 0x0800


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip_header(src, dst, proto, payload_len, ident, frag_off):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + payload_len, ident, frag_off, 64,
                      proto, 0, socket.inet_aton(src), socket.inet_aton(dst))
    return hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]


def flood(src, dst, count, seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    payload = struct.pack("!HHHH", 40000, 9, 8 + 5000, 0) + bytes(1464)
    deadline = time.monotonic() + seconds + 5
    gap = seconds / count
    start = time.monotonic()
    sent = 0
    for i in range(count):
        ident = random.randint(1, 0xFFFF)
        pkt = ip_header(src, dst, 17, len(payload), ident, 0x2000) + payload
        try:
            s.sendto(pkt, (dst, 0))
            sent += 1
        except OSError:
            pass
        ahead = start + (i + 1) * gap - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
        if time.monotonic() > deadline:
            break
    print("sent", sent)


def frag_needed(dst, qsrc, qdst, sport, dport, mtu):
    quoted = ip_header(qsrc, qdst, 17, 1400, 0x4321, 0x4000)
    quoted += struct.pack("!HHHH", sport, dport, 1400, 0)
    icmp = struct.pack("!BBHHH", 3, 4, 0, 0, mtu) + quoted
    icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.sendto(icmp, (dst, 0))
    print("sent frag-needed mtu", mtu)


def capture(iface, src, total, seconds):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
    s.bind((iface, 0))
    print("ready", file=sys.stderr, flush=True)
    want = socket.inet_aton(src)
    deadline = time.monotonic() + seconds
    got = {}
    while time.monotonic() < deadline:
        r, _, _ = select.select([s], [], [], 0.2)
        if not r:
            continue
        frame, addr = s.recvfrom(65535)
        if addr[2] == socket.PACKET_OUTGOING or len(frame) < 34:
            continue
        ip = frame[14:]
        if ip[12:16] != want or ip[9] != 17:
            continue
        ihl = (ip[0] & 15) * 4
        tot, ident, fo = struct.unpack("!HHH", ip[2:8])
        off = (fo & 0x1FFF) * 8
        mf = 1 if fo & 0x2000 else 0
        df = 1 if fo & 0x4000 else 0
        print("ip %d id %d off %d mf %d df %d" % (tot, ident, off, mf, df), flush=True)
        if mf == 0 and off == 0:
            continue
        frags = got.setdefault(ident, {})
        frags[off] = (tot - ihl, mf)
        # All pieces of this datagram: contiguous from 0 to a last fragment.
        pos, done = 0, False
        while pos in frags:
            length, more = frags[pos]
            pos += length
            if not more:
                done = True
                break
        if done and pos >= total:
            print("complete", flush=True)
            return 0
    return 1


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    a = sys.argv[2:]
    if cmd == "flood" and len(a) == 4:
        flood(a[0], a[1], int(a[2]), float(a[3]))
        return 0
    if cmd == "frag-needed" and len(a) == 6:
        frag_needed(a[0], a[1], a[2], int(a[3]), int(a[4]), int(a[5]))
        return 0
    if cmd == "capture" and len(a) == 4:
        return capture(a[0], a[1], int(a[2]), float(a[3]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
