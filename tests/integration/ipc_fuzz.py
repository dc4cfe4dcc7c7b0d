#!/usr/bin/env python3
"""ipc_fuzz.py SOCKET [SEED]: feed netstackd's control socket malformed input.
ipc_fuzz.py SOCKET --hold FILE: be a client with sockets until killed.

Sends a bounded number (about 5000) of malformed or hostile IPC messages
over SOCK_SEQPACKET: random bytes, truncated and oversized protobuf, a
Hello of the wrong version, socket requests with unknown ids, garbage
sockaddrs, getsockopt with huge optlen, descriptors where none are
expected, floods of connections, clients that vanish holding sockets (one
killed with SIGKILL), and fork attachments with right and wrong tokens.

Every message must get a reply (an error or not) or a disconnect; a
message left unanswered for 3 s means the daemon hung, and the script fails.
Protobuf is encoded by hand (proto/netstack.proto field numbers), so the
script needs only the standard library.  Prints a summary; exit 0 on
success, 1 on failure.
"""
import array
import errno
import mmap
import os
import random
import signal
import socket
import struct
import sys
import time

MAX_MSG = 256 * 1024
TIMEOUT = 3.0
DEADLINE = 20.0
ROLE_CTL, ROLE_CLIENT = 1, 2
AF_INET, AF_INET6 = 2, 10
SOCK_STREAM, SOCK_DGRAM = 1, 2
SHM_MAGIC = 0x4E53484D

# Request body field numbers.
HELLO, SHOW, SOCKET, BIND, CONNECT, LISTEN, SETSOCKOPT, GETSOCKOPT, GETNAME, \
    SHUTDOWN, CLOSE, SYSCTL, ACCEPT = range(2, 15)


class Fail(Exception):
    pass


# ---- protobuf, by hand --------------------------------------------------------

def varint(v):
    v &= (1 << 64) - 1          # negative int32/int64: ten-byte two's complement
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def f_varint(num, v):
    return varint(num << 3) + varint(v)


def f_bytes(num, data):
    if isinstance(data, str):
        data = data.encode()
    return varint((num << 3) | 2) + varint(len(data)) + data


def request(seq, body_num, body):
    return f_varint(1, seq) + f_bytes(body_num, body)


def hello(version=1, role=ROLE_CLIENT, program="ipc_fuzz", token=0, socks=()):
    b = f_varint(1, version) + f_varint(2, role) + f_bytes(3, program)
    if token:
        b += f_varint(4, token)
    if socks:
        b += f_bytes(5, b"".join(varint(s) for s in socks))
    return b


def parse(buf):
    """Decode one message into {field: [values]} (varints and bytes only)."""
    out, i = {}, 0
    while i < len(buf):
        key, i = read_varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = read_varint(buf, i)
        elif wt == 2:
            n, i = read_varint(buf, i)
            if i + n > len(buf):
                raise Fail("truncated reply")
            v, i = buf[i:i + n], i + n
        elif wt == 1:
            v, i = buf[i:i + 8], i + 8
        elif wt == 5:
            v, i = buf[i:i + 4], i + 4
        else:
            raise Fail("bad wire type %d in reply" % wt)
        out.setdefault(num, []).append(v)
    return out


def read_varint(buf, i):
    v, shift = 0, 0
    while True:
        if i >= len(buf):
            raise Fail("truncated varint in reply")
        b = buf[i]
        i += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return v, i


def s32(v):
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


class Reply:
    def __init__(self, data, fds):
        f = parse(data)
        self.seq = f.get(1, [0])[0]
        self.error = s32(f.get(2, [0])[0])
        self.message = bytes(f.get(3, [b""])[0]).decode(errors="replace")
        self.fields = f
        self.fds = fds

    def body(self, num):
        return parse(self.fields[num][0]) if num in self.fields else None


# ---- connections --------------------------------------------------------------

BELLS = {}      # memfd -> the doorbell eventfds of that client's Hello
STATS = {"sent": 0, "replies": 0, "errors": 0, "disconnects": 0, "fds_received": 0}
T0 = time.monotonic()


def check_time():
    if time.monotonic() - T0 > DEADLINE:
        raise Fail("fuzzing took longer than %d s" % DEADLINE)


class Conn:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        # A blocking connect waits for room in the daemon's listen backlog.
        self.s.connect(path)
        self.s.settimeout(TIMEOUT)
        self.closed = False

    def send(self, data, fds=()):
        """Send; False if the daemon already hung up."""
        check_time()
        STATS["sent"] += 1
        try:
            if fds:
                self.s.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                         array.array("i", fds))])
            else:
                self.s.sendmsg([data])
        except (BrokenPipeError, ConnectionResetError):
            self.closed = True
            STATS["disconnects"] += 1
            return False
        return True

    def recv(self):
        """A Reply, or None on disconnect.  Raises Fail on a timeout."""
        try:
            data, anc, flags, _ = self.s.recvmsg(MAX_MSG, socket.CMSG_SPACE(16 * 4))
        except ConnectionResetError:
            data = b""
        except socket.timeout:
            raise Fail("no reply and no disconnect within %.0f s" % TIMEOUT)
        if not data:
            self.closed = True
            STATS["disconnects"] += 1
            return None
        if flags & socket.MSG_TRUNC:
            raise Fail("reply truncated")
        fds = []
        for level, typ, cdata in anc:
            if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                a = array.array("i")
                a.frombytes(cdata[:len(cdata) - len(cdata) % 4])
                fds.extend(a)
        STATS["fds_received"] += len(fds)
        r = Reply(data, fds)
        STATS["replies"] += 1
        if r.error:
            STATS["errors"] += 1
        return r

    def call(self, data, fds=()):
        """Send and wait: a Reply or None (disconnected)."""
        if not self.send(data, fds):
            return None
        return self.recv()

    def close(self):
        self.s.close()


def close_fds(r):
    if r:
        for fd in r.fds:
            os.close(fd)


def expect_reply_or_hangup(c, data, fds=(), seq=None):
    r = c.call(data, fds)
    if r is not None and seq is not None and r.seq not in (seq, 0):
        raise Fail("reply seq %d for request %d" % (r.seq, seq))
    close_fds(r)
    return r


def client(path, program="ipc_fuzz", token=0, socks=()):
    """A ROLE_CLIENT connection after its Hello: (conn, hello body, memfd or None)."""
    c = Conn(path)
    r = c.call(request(1, HELLO, hello(program=program, token=token, socks=socks)))
    if r is None:
        raise Fail("client Hello: disconnected")
    if r.error:
        close_fds(r)
        return c, r, None
    h = r.body(4)
    if h is None:
        raise Fail("client Hello: no HelloReply")
    if token:
        if r.fds:
            raise Fail("attaching Hello passed %d descriptors" % len(r.fds))
        return c, h, None
    if not r.fds:
        raise Fail("client Hello passed no descriptors")
    memfd = r.fds[0]
    size = h.get(5, [0])[0]
    if os.fstat(memfd).st_size != size or size == 0:
        raise Fail("memfd size %d, HelloReply says %d" % (os.fstat(memfd).st_size, size))
    m = mmap.mmap(memfd, size, mmap.MAP_SHARED, mmap.PROT_READ)
    magic, version, hsize, alive, nbells = struct.unpack_from("<IIQII", m, 0)
    m.close()
    if magic != SHM_MAGIC or hsize != size or alive != 1:
        raise Fail("region header: magic %#x size %d alive %d" % (magic, hsize, alive))
    # The memfd, then one doorbell eventfd per worker (proto/shm.h).
    if nbells < 1 or len(r.fds) != 1 + nbells:
        raise Fail("client Hello passed %d descriptors for %d doorbells" % (len(r.fds), nbells))
    BELLS[memfd] = r.fds[1:]
    return c, h, memfd


def sin(port, addr=b"\0\0\0\0"):
    """A struct sockaddr_in: family in host order, then port and address."""
    return struct.pack("=H", AF_INET) + struct.pack("!H4s8x", port, addr)


def new_socket(c, seq, domain=AF_INET, typ=SOCK_DGRAM, proto=0):
    """SocketRequest: the sock_id, or None if the daemon refused (errno)."""
    r = c.call(request(seq, SOCKET, f_varint(1, domain) + f_varint(2, typ) + f_varint(3, proto)))
    if r is None:
        raise Fail("socket request: disconnected")
    if r.error:
        close_fds(r)
        return None, r.error
    b = r.body(6)
    if b is None or len(r.fds) != 1:
        raise Fail("SocketReply without body or with %d descriptors" % len(r.fds))
    close_fds(r)
    return b.get(1, [0])[0], 0


# ---- scenarios --------------------------------------------------------------

def random_bytes(path, rnd, n):
    """Random bytes as the first and later messages."""
    for _ in range(n):
        c = Conn(path)
        for _ in range(rnd.randint(1, 4)):
            data = bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 300)))
            if expect_reply_or_hangup(c, data) is None:
                break
        c.close()


def truncated(path, rnd):
    """Every prefix of valid messages, before and after Hello."""
    full = request(7, HELLO, hello())
    for cut in range(1, len(full)):
        c = Conn(path)
        expect_reply_or_hangup(c, full[:cut])
        c.close()
    c, _, memfd = client(path)
    msg = request(9, BIND, f_varint(1, 12345) + f_bytes(2, b"\x02\x00" + b"\x00" * 14))
    for cut in range(1, len(msg)):
        if c.closed:
            c.close()
            close_client_fds(memfd)
            c, _, memfd = client(path)
        expect_reply_or_hangup(c, msg[:cut])
    c.close()
    close_client_fds(memfd)


def oversized(path):
    """Larger than NS_IPC_MAX_MSG: EMSGSIZE, then a disconnect."""
    c = Conn(path)
    try:
        c.s.setsockopt(socket.SOL_SOCKET, 32, 4 << 20)       # SO_SNDBUFFORCE
    except OSError:
        c.s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    try:
        sent = c.send(b"\x0a" * (MAX_MSG + 1))
    except OSError as e:
        if e.errno != errno.EMSGSIZE:
            raise
        sent = False          # our own buffer limit: nothing to test
    if sent:
        r = c.recv()
        if r is not None:
            if r.error != errno.EMSGSIZE:
                raise Fail("oversized message: error %d, expected EMSGSIZE" % r.error)
            if c.recv() is not None:
                raise Fail("oversized message: connection left open")
    c.close()
    # A valid but huge Hello program name, within the limit: answered.
    c = Conn(path)
    r = c.call(request(1, HELLO, hello(role=ROLE_CTL, program="x" * 200000)))
    if r is None or r.error:
        raise Fail("Hello with a long program name refused")
    c.close()


def wrong_version(path):
    for v in (0, 2, 99, 0xFFFFFFFF):
        c = Conn(path)
        r = c.call(request(1, HELLO, hello(version=v)))
        if r is None or r.error != errno.EPROTONOSUPPORT:
            raise Fail("Hello version %d: %s" % (v, r and r.error))
        if c.recv() is not None:
            raise Fail("Hello version %d: connection left open" % v)
        c.close()
    # Not a Hello first.
    c = Conn(path)
    r = c.call(request(1, SOCKET, f_varint(1, AF_INET) + f_varint(2, SOCK_DGRAM)))
    if r is None or r.error != errno.EPROTO:
        raise Fail("request before Hello: %s" % (r and r.error))
    c.close()


def unknown_ids(path, rnd, n):
    """Every socket request with ids the session does not hold: EBADF."""
    c, _, memfd = client(path)
    seq = 10
    for _ in range(n):
        sid = rnd.choice([0, 1, 2, rnd.getrandbits(64), (1 << 64) - 1, rnd.getrandbits(20)])
        kind = rnd.choice([BIND, CONNECT, LISTEN, SETSOCKOPT, GETSOCKOPT, GETNAME,
                           SHUTDOWN, CLOSE, ACCEPT])
        body = f_varint(1, sid)
        if kind in (BIND, CONNECT):
            body += f_bytes(2, b"\x02\x00\x00\x35" + b"\x00" * 12)
        elif kind == SETSOCKOPT:
            body += f_varint(2, 1) + f_varint(3, 2) + f_bytes(4, b"\x01\x00\x00\x00")
        elif kind == GETSOCKOPT:
            body += f_varint(2, 1) + f_varint(3, 2) + f_varint(4, 4)
        seq += 1
        r = c.call(request(seq, kind, body))
        if r is None:
            raise Fail("unknown sock id: disconnected")
        close_fds(r)
        if r.error != errno.EBADF:
            raise Fail("request %d on unknown id %d: error %d, expected EBADF" % (kind, sid, r.error))
    # Empty bodies, unknown body numbers and unknown show objects.
    for kind in (SOCKET, BIND, CONNECT, LISTEN, SETSOCKOPT, GETSOCKOPT, GETNAME, SHUTDOWN, CLOSE,
                 ACCEPT):
        seq += 1
        r = c.call(request(seq, kind, b""))
        close_fds(r)
        if r is None or not r.error and kind != SOCKET:
            raise Fail("empty body %d: %s" % (kind, r and r.error))
    # sysctl: a client may read but not write.
    seq += 1
    r = c.call(request(seq, SYSCTL, f_bytes(1, b"net.core.netdev_budget")))
    if r is None or r.error:
        raise Fail("sysctl read from a client: %s" % (r and r.error))
    seq += 1
    r = c.call(request(seq, SYSCTL, f_bytes(1, b"net.core.netdev_budget") +
                       f_bytes(2, b"1") + f_varint(3, 1)))
    if r is None or r.error != errno.EPERM:
        raise Fail("sysctl write from a client: %s, expected EPERM" % (r and r.error))
    # hook (20): a client may list the rules but not change them; capture
    # (21) needs the privilege too.
    seq += 1
    r = c.call(request(seq, 20, f_varint(1, 1)))
    if r is None or r.error:
        raise Fail("hook list from a client: %s" % (r and r.error))
    seq += 1
    r = c.call(request(seq, 20, f_varint(1, 2) + f_bytes(2, b"INPUT") + f_bytes(4, b"-j") +
                       f_bytes(4, b"DROP")))
    if r is None or r.error != errno.EPERM:
        raise Fail("hook add from a client: %s, expected EPERM" % (r and r.error))
    seq += 1
    r = c.call(request(seq, 21, b""))
    close_fds(r)
    if r is None or r.error != errno.EPERM:
        raise Fail("capture from a client: %s, expected EPERM" % (r and r.error))
    for num in (30, 99, 1000):
        seq += 1
        r = c.call(request(seq, num, b"\x08\x01"))
        if r is None or r.error != errno.EOPNOTSUPP:
            raise Fail("unknown body %d: %s" % (num, r and r.error))
    for what in (0, 1, 2, 3, 4, 5, 6, 7, 8, 100, -1):
        seq += 1
        r = c.call(request(seq, SHOW, f_varint(1, what)))
        if r is None:
            raise Fail("show %d from a client: disconnected" % what)
    seq += 1
    r = c.call(request(seq, HELLO, hello()))
    if r is None or r.error != errno.EPROTO:
        raise Fail("second Hello: %s" % (r and r.error))
    c.close()
    close_client_fds(memfd)


def garbage_sockaddrs(path, rnd, n):
    """bind/connect with random lengths 0..200 and families, plus option abuse."""
    c, _, memfd = client(path)
    seq = 100
    ids = []
    for _ in range(4):
        seq += 1
        sid, err = new_socket(c, seq, rnd.choice([AF_INET, AF_INET6]))
        if sid is not None:
            ids.append(sid)
    targets = ids or [rnd.getrandbits(32)]
    for i in range(n):
        sid = rnd.choice(targets)
        ln = rnd.randint(0, 200)
        fam = rnd.choice([0, 1, 2, 10, 16, 17, 255, 0xFFFF, rnd.getrandbits(16)])
        addr = struct.pack("<H", fam) + bytes(rnd.getrandbits(8) for _ in range(max(0, ln - 2)))
        addr = addr[:ln]
        kind = rnd.choice([BIND, CONNECT])
        seq += 1
        r = c.call(request(seq, kind, f_varint(1, sid) + f_bytes(2, addr)))
        if r is None:
            raise Fail("garbage sockaddr: disconnected")
        close_fds(r)
        if ids and ln > 128 and r.error != errno.EINVAL:
            raise Fail("sockaddr of %d bytes: error %d, expected EINVAL" % (ln, r.error))
        if i % 4 == 0:
            optlen = rnd.choice([0, 1, 4, 1 << 20, (1 << 31) - 1, 1 << 31, (1 << 32) - 1])
            seq += 1
            r = c.call(request(seq, GETSOCKOPT, f_varint(1, sid) +
                               f_varint(2, rnd.choice([0, 1, 6, 17, 0xFFFF, -1])) +
                               f_varint(3, rnd.randint(-5, 80)) + f_varint(4, optlen)))
            if r is None:
                raise Fail("getsockopt optlen %d: disconnected" % optlen)
            b = r.body(7)
            if b and 1 in b and len(b[1][0]) > min(optlen, 1024):
                raise Fail("getsockopt returned %d bytes for optlen %d" % (len(b[1][0]), optlen))
            seq += 1
            val = bytes(rnd.getrandbits(8) for _ in range(rnd.choice([0, 1, 4, 8, 300, 5000])))
            r = c.call(request(seq, SETSOCKOPT, f_varint(1, sid) +
                               f_varint(2, rnd.choice([0, 1, 6, 17, -1])) +
                               f_varint(3, rnd.randint(-5, 80)) + f_bytes(4, val)))
            if r is None:
                raise Fail("setsockopt: disconnected")
            seq += 1
            r = c.call(request(seq, rnd.choice([LISTEN, SHUTDOWN, GETNAME, ACCEPT]),
                               f_varint(1, sid) + f_varint(2, rnd.randint(-3, 1 << 31))))
            if r is None:
                raise Fail("listen/shutdown/getname/accept: disconnected")
            close_fds(r)
    for sid in ids:
        seq += 1
        r = c.call(request(seq, CLOSE, f_varint(1, sid)))
        if r is None or r.error:
            raise Fail("close of socket %d: %s" % (sid, r and r.error))
        seq += 1
        r = c.call(request(seq, CLOSE, f_varint(1, sid)))
        if r is None or r.error != errno.EBADF:
            raise Fail("second close of socket %d: %s" % (sid, r and r.error))
    # Socket requests the kernel refuses.
    for dom, typ, proto in ((1, SOCK_DGRAM, 0), (AF_INET, 3, 0), (AF_INET, SOCK_DGRAM, 6),
                            (-1, -1, -1), (AF_INET, SOCK_DGRAM | 0x800, 0), (17, 2, 0)):
        seq += 1
        sid, err = new_socket(c, seq, dom, typ, proto)
        if sid is not None:
            raise Fail("socket(%d, %d, %d) succeeded" % (dom, typ, proto))
    c.close()
    close_client_fds(memfd)


def passed_fds(path, n):
    """Descriptors attached where none are expected: the daemon closes them."""
    devnull = os.open("/dev/null", os.O_RDONLY)
    try:
        c = Conn(path)
        r = c.call(request(1, HELLO, hello(role=ROLE_CTL)), [devnull] * 3)
        if r is None or r.error:
            raise Fail("ctl Hello with descriptors refused")
        for i in range(n):
            r = c.call(request(2 + i, SHOW, f_varint(1, 1)), [devnull] * (1 + i % 8))
            if r is None or r.error:
                raise Fail("show with descriptors refused")
        c.close()
        c, _, memfd = client(path)
        for i in range(n):
            r = c.call(request(10 + i, CLOSE, f_varint(1, 77)), [devnull])
            if r is None or r.error != errno.EBADF:
                raise Fail("close with a descriptor: %s" % (r and r.error))
        c.close()
        close_client_fds(memfd)
        # Descriptors with garbage, before Hello.
        c = Conn(path)
        expect_reply_or_hangup(c, b"\xff\xff\xff", [devnull] * 10)
        c.close()
    finally:
        os.close(devnull)


def connection_flood(path, n):
    for i in range(n):
        c = Conn(path)
        if i % 3 == 0:
            r = c.call(request(1, HELLO, hello(role=ROLE_CLIENT if i % 2 else ROLE_CTL)))
            close_fds(r)
        c.close()
    # Many open at once, closed together.
    conns = [Conn(path) for _ in range(min(n, 200))]
    for c in conns:
        c.send(request(1, HELLO, hello()))
    for c in conns:
        close_fds(c.recv())
        c.close()


def abrupt_clients(path, rnd):
    """Clients that hold sockets and vanish: closed connection and SIGKILL."""
    for _ in range(5):
        c, _, memfd = client(path)
        for i in range(rnd.randint(1, 20)):
            sid, _ = new_socket(c, 10 + i)
            if sid is not None and i % 2:
                port = rnd.randint(20000, 60000)
                r = c.call(request(100 + i, BIND, f_varint(1, sid) + f_bytes(2, sin(port))))
                close_fds(r)
        c.s.shutdown(socket.SHUT_RDWR)
        c.close()
        close_client_fds(memfd)
    # A process killed while holding sockets, with a request in flight.
    rd, wr = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(rd)
            c, _, memfd = client(path, program="ipc_fuzz-victim")
            for i in range(8):
                new_socket(c, 10 + i)
            c.send(request(99, SOCKET, f_varint(1, AF_INET) + f_varint(2, SOCK_DGRAM)))
            os.write(wr, b"r")
            time.sleep(30)
        finally:
            os._exit(1)
    os.close(wr)
    if os.read(rd, 1) != b"r":
        raise Fail("the victim client did not start")
    os.close(rd)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


def fork_attach(path, rnd):
    """A child attaches with its parent's token; wrong tokens are refused."""
    c, h, memfd = client(path, program="ipc_fuzz-parent")
    token = h.get(4, [0])[0]
    if not token:
        raise Fail("HelloReply without a token")
    if h.get(6, [0])[0] == 0:
        raise Fail("HelloReply without max_sockets")
    ids = []
    for i in range(3):
        sid, _ = new_socket(c, 10 + i)
        if sid is not None:
            ids.append(sid)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            cc, ch, none = client(path, program="ipc_fuzz-child", token=token,
                                  socks=ids + [rnd.getrandbits(64), 0, 12345])
            if isinstance(ch, Reply):
                raise Fail("attach refused: %d %s" % (ch.error, ch.message))
            ctoken = ch.get(4, [0])[0]
            if not ctoken or ctoken == token:
                raise Fail("child session token %d (parent %d)" % (ctoken, token))
            for i, sid in enumerate(ids):
                r = cc.call(request(50 + i, CLOSE, f_varint(1, sid)))
                if r is None or r.error:
                    raise Fail("child close of inherited socket: %s" % (r and r.error))
            r = cc.call(request(60, CLOSE, f_varint(1, 12345)))
            if r is None or r.error != errno.EBADF:
                raise Fail("child close of a socket it did not inherit: %s" % (r and r.error))
            cc.close()
            code = 0
        except Fail as e:
            print("FAIL (child): %s" % e, file=sys.stderr)
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if status != 0:
        raise Fail("fork attach child failed")
    # The parent still holds its sockets after the child closed its references.
    for i, sid in enumerate(ids):
        r = c.call(request(70 + i, SHUTDOWN, f_varint(1, sid) + f_varint(2, 2)))
        if r is None or r.error == errno.EBADF:
            raise Fail("parent lost socket %d when the child closed it" % sid)
    for tok in (token ^ 1, rnd.getrandbits(64) | 1, (1 << 64) - 1):
        cc = Conn(path)
        r = cc.call(request(1, HELLO, hello(token=tok)))
        if r is None or r.error != errno.ESRCH:
            raise Fail("attach with a wrong token: %s" % (r and r.error))
        close_fds(r)
        # The connection stays usable for a plain Hello.
        r = cc.call(request(2, HELLO, hello()))
        if r is None or r.error or len(r.fds) < 2:
            raise Fail("Hello after a refused attach: %s" % (r and r.error))
        close_fds(r)
        cc.close()
    c.close()
    close_client_fds(memfd)


def scribbled_bells(path, rnd, rounds):
    """A client that sets random and all bits in its doorbell bitmaps and
    rings every doorbell: the daemon serves only its own sockets' slots."""
    c, _, memfd = client(path, program="ipc_fuzz-bells")
    ids = []
    for i, typ in enumerate((SOCK_DGRAM, SOCK_STREAM, SOCK_DGRAM, SOCK_STREAM)):
        sid, _ = new_socket(c, 10 + i, typ=typ)
        if sid is not None:
            ids.append(sid)
    size = os.fstat(memfd).st_size
    m = mmap.mmap(memfd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    _, _, _, _, nbells, off, stride, slots = struct.unpack_from("<IIQIIQII", m, 0)
    if off % 64 or off + nbells * stride > size or slots != size // 4096:
        raise Fail("doorbell layout: off %d stride %d slots %d" % (off, stride, slots))
    for rnd_round in range(rounds):
        for b in range(nbells):
            base = off + b * stride
            if rnd_round % 3 == 0:
                m[base:base + stride] = b"\xff" * stride
            else:
                m[base:base + stride] = rnd.randbytes(stride)
            os.write(BELLS[memfd][b], struct.pack("=Q", 1))
        STATS["sent"] += 1
        if rnd_round % 50 == 49:
            time.sleep(0.01)
    m.close()
    # The session still answers, and its sockets still exist.
    for i, sid in enumerate(ids):
        r = c.call(request(40 + i, SHUTDOWN, f_varint(1, sid) + f_varint(2, 2)))
        if r is None or r.error == errno.EBADF:
            raise Fail("socket %d gone after scribbled doorbells" % sid)
        close_fds(r)
    c.close()
    close_client_fds(memfd)


def close_client_fds(memfd):
    for fd in BELLS.pop(memfd, []):
        os.close(fd)
    os.close(memfd)


def hold(path, ready_file):
    """--hold: a client with a few sockets that waits to be killed."""
    c, _, memfd = client(path, program="ipc_fuzz-hold")
    n = 0
    for i in range(3):
        sid, _ = new_socket(c, 10 + i)
        if sid is not None:
            n += 1
    with open(ready_file, "w") as f:
        f.write("%d\n" % n)
    time.sleep(60)
    return 1


def main():
    if len(sys.argv) == 4 and sys.argv[2] == "--hold":
        return hold(sys.argv[1], sys.argv[3])
    path = sys.argv[1]
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    rnd = random.Random(seed)
    scenarios = [
        ("random bytes", lambda: random_bytes(path, rnd, 1000)),
        ("truncated", lambda: truncated(path, rnd)),
        ("oversized", lambda: oversized(path)),
        ("wrong version", lambda: wrong_version(path)),
        ("unknown ids", lambda: unknown_ids(path, rnd, 1500)),
        ("garbage sockaddrs", lambda: garbage_sockaddrs(path, rnd, 1200)),
        ("passed fds", lambda: passed_fds(path, 100)),
        ("connection flood", lambda: connection_flood(path, 400)),
        ("abrupt clients", lambda: abrupt_clients(path, rnd)),
        ("fork attach", lambda: fork_attach(path, rnd)),
        ("scribbled bells", lambda: scribbled_bells(path, rnd, 300)),
    ]
    try:
        for name, fn in scenarios:
            before = STATS["sent"]
            fn()
            print("-- %-18s %5d messages" % (name, STATS["sent"] - before))
    except (Fail, OSError) as e:
        print("FAIL: %s: %s" % (name, e), file=sys.stderr)
        return 1
    print("ipc_fuzz: %(sent)d messages, %(replies)d replies (%(errors)d errors), "
          "%(disconnects)d disconnects, %(fds_received)d descriptors received" % STATS)
    print("ipc_fuzz: %.1f s" % (time.monotonic() - T0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
