#!/usr/bin/env python3
"""inject_frames.py: write malformed Ethernet frames into a TAP device.

Run inside the test's network namespace, as root.  Opens an AF_PACKET
SOCK_RAW socket bound to IFNAME (the kernel's side of netstackd's TAP), so
every frame written goes, byte for byte, to the daemon reading the TAP.

    inject_frames.py IFNAME DST_MAC SRC_IP DST_IP COUNT KIND...

For each KIND, sends COUNT frames to DST_MAC (the stack's MAC) and prints
one line "KIND SENT" with the number of frames the kernel accepted, or
"KIND refused ERRNO-NAME" when the kernel refuses that kind of frame (the
only expected case: frames shorter than an Ethernet header, which
dev_validate_header() rejects with EINVAL because a TAP's min_header_len
is ETH_HLEN).  Exit status 0 unless the arguments are wrong or the socket
cannot be opened.

Kinds (and the drop reason netstackd must count them under):
  eth_short      13-byte frame                  PKT_TOO_SMALL
  ip_truncated   ethertype 0x0800, 10 IP bytes  IP_TRUNCATED
  ip_version     IPv4 header with version 6     IP_BAD_VERSION
  ip_ihl         IHL 4 (16 bytes)               IP_BAD_IHL
  ip_csum        header checksum off by one     IP_CSUM
  ip_totlen      total length 1000 > frame      IP_BAD_TOTLEN
  ethertype      ethertype 0x88b5 (local exp.)  UNHANDLED_PROTO
  arp_hln        ARP request with hln 7         ARP_BAD_HDR
  arp_pln        ARP request with pln 5         ARP_BAD_HDR
  arp_short      ARP, 6 bytes (< 8-byte header) ARP_TRUNCATED
  arp_partial    ARP, valid 8-byte header, 20 B ARP_TRUNCATED
  arp_op         ARP with op 9                  ARP_BAD_OP
  otherhost      valid echo request, other MAC  OTHERHOST
  not_local      valid echo request to DST_IP+97 in the subnet  IP_NOT_LOCAL
  martian_dst    valid echo request to 127.0.0.1 IP_INVALID_DEST
  martian_src    valid echo request from 127.0.0.1  IP_BAD_SRC
"""
import errno
import os
import socket
import struct
import sys

SRC_MAC = bytes.fromhex("020000c0ffee")
OTHER_MAC = bytes.fromhex("020000badbad")


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ip_header(src, dst, payload_len, version=4, ihl=5, tot_len=None, bad_csum=False):
    tot = 20 + payload_len if tot_len is None else tot_len
    hdr = struct.pack("!BBHHHBBH4s4s", (version << 4) | ihl, 0, tot, 0x1234, 0x4000,
                      64, 1, 0, socket.inet_aton(src), socket.inet_aton(dst))
    c = csum(hdr)
    if bad_csum:
        c ^= 0x0001
    return hdr[:10] + struct.pack("!H", c) + hdr[12:]


def echo_request():
    body = struct.pack("!BBHHH", 8, 0, 0, 0x4242, 1) + b"netstack-inject!"
    return body[:2] + struct.pack("!H", csum(body)) + body[4:]


def arp(op=1, hln=6, pln=4, src_ip="0.0.0.0", dst_ip="0.0.0.0"):
    hdr = struct.pack("!HHBBH", 1, 0x0800, hln, pln, op)
    return (hdr + SRC_MAC + (b"\0" * (hln - 6)) + socket.inet_aton(src_ip) + b"\0" * (pln - 4)
            + b"\0" * hln + socket.inet_aton(dst_ip) + b"\0" * (pln - 4))


def eth(dst, ethertype, payload):
    return dst + SRC_MAC + struct.pack("!H", ethertype) + payload


def build(kind, dst, src_ip, dst_ip):
    icmp = echo_request()
    if kind == "eth_short":
        return eth(dst, 0x0800, b"")[:13]
    if kind == "ip_truncated":
        return eth(dst, 0x0800, ip_header(src_ip, dst_ip, 0)[:10])
    if kind == "ip_version":
        return eth(dst, 0x0800, ip_header(src_ip, dst_ip, len(icmp), version=6) + icmp)
    if kind == "ip_ihl":
        return eth(dst, 0x0800, ip_header(src_ip, dst_ip, len(icmp), ihl=4) + icmp)
    if kind == "ip_csum":
        return eth(dst, 0x0800, ip_header(src_ip, dst_ip, len(icmp), bad_csum=True) + icmp)
    if kind == "ip_totlen":
        return eth(dst, 0x0800, ip_header(src_ip, dst_ip, len(icmp), tot_len=1000) + icmp)
    if kind == "ethertype":
        return eth(dst, 0x88B5, b"netstack local experimental ethertype".ljust(46, b"."))
    if kind == "arp_hln":
        return eth(dst, 0x0806, arp(hln=7, src_ip=src_ip, dst_ip=dst_ip))
    if kind == "arp_pln":
        return eth(dst, 0x0806, arp(pln=5, src_ip=src_ip, dst_ip=dst_ip))
    if kind == "arp_short":
        return eth(dst, 0x0806, arp(src_ip=src_ip, dst_ip=dst_ip)[:6])
    if kind == "arp_partial":
        return eth(dst, 0x0806, arp(src_ip=src_ip, dst_ip=dst_ip)[:20])
    if kind == "arp_op":
        return eth(dst, 0x0806, arp(op=9, src_ip=src_ip, dst_ip=dst_ip))
    if kind == "otherhost":
        return eth(OTHER_MAC, 0x0800, ip_header(src_ip, dst_ip, len(icmp)) + icmp)
    if kind == "not_local":
        a = bytearray(socket.inet_aton(dst_ip))
        a[3] = (a[3] + 97) % 256
        return eth(dst, 0x0800, ip_header(src_ip, socket.inet_ntoa(bytes(a)), len(icmp)) + icmp)
    if kind == "martian_dst":
        return eth(dst, 0x0800, ip_header(src_ip, "127.0.0.1", len(icmp)) + icmp)
    if kind == "martian_src":
        return eth(dst, 0x0800, ip_header("127.0.0.1", dst_ip, len(icmp)) + icmp)
    raise KeyError(kind)


def main(argv):
    if len(argv) < 7:
        sys.stderr.write(__doc__)
        return 2
    ifname, dst_mac, src_ip, dst_ip, count = argv[1:6]
    dst = bytes.fromhex(dst_mac.replace(":", ""))
    if len(dst) != 6:
        sys.stderr.write("bad MAC %s\n" % dst_mac)
        return 2
    count = int(count)
    frames = {}
    for kind in argv[6:]:
        try:
            frames[kind] = build(kind, dst, src_ip, dst_ip)
        except KeyError:
            sys.stderr.write("unknown kind %s\n" % kind)
            return 2
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    s.bind((ifname, 0))
    for kind, frame in frames.items():
        sent = 0
        refused = None
        for _ in range(count):
            try:
                n = s.send(frame)
            except OSError as e:
                refused = errno.errorcode.get(e.errno, str(e.errno))
                break
            if n != len(frame):
                sys.stderr.write("%s: short write %d of %d\n" % (kind, n, len(frame)))
                return 1
            sent += 1
        if refused:
            print("%s refused %s" % (kind, refused))
        else:
            print("%s %d" % (kind, sent))
        sys.stdout.flush()
    s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
