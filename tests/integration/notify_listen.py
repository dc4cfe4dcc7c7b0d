#!/usr/bin/env python3
"""notify_listen.py: stand in for systemd's end of the sd_notify protocol.

    notify_listen.py SOCKET OUTFILE TIMEOUT_S [CMD...]

Binds an AF_UNIX datagram socket at SOCKET (the path to put in
$NOTIFY_SOCKET), with SO_PASSCRED so that every message carries its
sender's PID, as systemd sees it.  For each datagram it appends one line to
OUTFILE:

    msg <wall-clock ms> <sender pid> <assignment>   (one line per assignment)

On the first READY=1 it runs CMD at once (if given) and appends

    ready_cmd <wall-clock ms> <exit status>

It exits 0 after a datagram containing STOPPING=1, or 3 after TIMEOUT_S
seconds.
"""
import os
import socket
import struct
import subprocess
import sys
import time


def now_ms():
    return int(time.time() * 1000)


def main(argv):
    if len(argv) < 4:
        sys.stderr.write(__doc__)
        return 2
    path, outfile, timeout = argv[1], argv[2], float(argv[3])
    cmd = argv[4:]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    s.bind(path)
    deadline = time.monotonic() + timeout
    ready_seen = False
    with open(outfile, "a") as out:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                out.write("timeout %d\n" % now_ms())
                return 3
            s.settimeout(left)
            try:
                data, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
            except socket.timeout:
                continue
            t = now_ms()
            pid = -1
            for level, typ, cdata in anc:
                if level == socket.SOL_SOCKET and typ == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("iII", cdata[:12])[0]
            lines = data.decode("utf-8", "replace").split("\n")
            for line in lines:
                if line:
                    out.write("msg %d %d %s\n" % (t, pid, line))
            out.flush()
            if "READY=1" in lines and not ready_seen:
                ready_seen = True
                if cmd:
                    rc = subprocess.call(cmd, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
                    out.write("ready_cmd %d %d\n" % (now_ms(), rc))
                    out.flush()
            if "STOPPING=1" in lines:
                return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
