#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A TCP proxy that resets connections at random, for the chaos test.

Usage:

    chaos_proxy.py --port PORT --target PORT [--mode ftp|tcp]
                   [--reset-every MIN-MAX] [--seed N] [--data-share P]
                   [--cut-after REGEX] [--log FILE]
                   [--pidfile FILE] [--paused]

Listens on 127.0.0.1:PORT and forwards every connection to
127.0.0.1:TARGET.  --mode tcp (SFTP, anything with one connection per
session) relays bytes as they are.  --mode ftp also carries the data
connections: the server's 227 (PASV) and 229 (EPSV) replies are rewritten
to name a listener of the proxy, which forwards the one connection it
accepts to the port the server gave; the client's PORT and EPRT commands
are rewritten the same way for active mode (the server connects to the
proxy, which connects to the client).  FTPS cannot be proxied so (the
control connection is encrypted).

Every MIN to MAX seconds (uniform, from --seed; default 2-5) one live
connection, control or data, picked at random, is reset on both sides:
SO_LINGER 0 and close, so that each end gets a RST.  When data connections
are live, one of them is picked with probability --data-share (default
0.5), else one of the others: an idle control connection is what a random
pick finds most of the time, and ftpfs just reconnects it.  Each reset is logged
with a timestamp:

    1733145600.123 reset control#12 (127.0.0.1:40122) after 3.2 s, 1048576 bytes

--cut-after REGEX (--mode ftp, a targeted fault): when the client sends a
command matching REGEX, the server's next 150 reply on that connection is
not passed on; the connection is reset instead (the server has created the
file of a STOR, the client never learns that it began).

SIGUSR1 pauses the resets, SIGUSR2 resumes them (--paused: start paused);
SIGTERM/SIGINT stop the proxy (every connection closed) after it printed
"resets=N control=N data=N connections=N" to the log.  The same line is
written to FILE.stats after every reset, for a test to read while it runs.

Standard library only.  All traffic stays on loopback.
"""

import argparse
import asyncio
import os
import random
import re
import signal
import socket
import struct
import sys
import time

HOST = "127.0.0.1"
# Longest control line held while looking for its end (a reply or a
# command is far shorter; past that the bytes are passed on as they are).
MAX_LINE = 8192
# A data listener that nobody connected to is closed after this long.
LISTEN_SECS = 60

RE_227 = re.compile(rb"^227 .*?(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)")
RE_229 = re.compile(rb"^229 .*\(([^0-9])\1\1(\d+)\1\)")
RE_PORT = re.compile(rb"^PORT (\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\s*$", re.I)
RE_EPRT = re.compile(rb"^EPRT ([^0-9a-zA-Z])([12])\1([^|]+)\1(\d+)\1\s*$", re.I)


def rst(sock):
    """Make the next close send a RST instead of a FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                        struct.pack("ii", 1, 0))
    except (OSError, AttributeError):
        pass


class Side(asyncio.Protocol):
    """One socket of a relayed connection."""

    def __init__(self, conn, name):
        self.conn = conn
        self.name = name
        self.transport = None
        self.peer = None  # the other Side
        self.pending = []  # bytes for this side before it is connected
        self.pending_eof = False
        self.lost = False
        self.eof = False

    def connection_made(self, transport):
        self.transport = transport
        sock = transport.get_extra_info("socket")
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        transport.set_write_buffer_limits(high=1 << 20, low=1 << 18)
        if self.peer.lost:  # the other side went while this one connected
            self.reset()
            return
        for data in self.pending:
            transport.write(data)
        self.pending = []
        if self.pending_eof:
            self.send_eof()

    def send(self, data):
        if self.lost:
            return
        if self.transport is None:
            self.pending.append(data)
        else:
            self.transport.write(data)

    def send_eof(self):
        if self.lost:
            return
        if self.transport is None:
            self.pending_eof = True
            return
        try:
            if self.transport.can_write_eof():
                self.transport.write_eof()
        except (OSError, RuntimeError):
            self.transport.abort()

    def data_received(self, data):
        self.conn.bytes += len(data)
        self.conn.from_side(self, data)

    def eof_received(self):
        self.eof = True
        self.conn.flush_line(self)
        if self.peer is not None:
            self.peer.send_eof()
        self.conn.maybe_close()
        return True  # keep the other direction open (half-close)

    # Flow control: a side whose peer cannot take more stops reading.
    def pause_writing(self):
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.pause_reading()

    def resume_writing(self):
        if self.peer is not None and self.peer.transport is not None \
                and not self.peer.lost:
            try:
                self.peer.transport.resume_reading()
            except RuntimeError:
                pass

    def connection_lost(self, exc):
        self.lost = True
        peer = self.peer
        if peer is not None and not peer.lost and peer.transport is not None:
            if exc is not None:
                # a reset is passed on as a reset
                rst(peer.transport.get_extra_info("socket"))
                peer.transport.abort()
            elif not self.eof:
                peer.send_eof()
        self.conn.maybe_close()

    def reset(self):
        if self.transport is not None and not self.lost:
            rst(self.transport.get_extra_info("socket"))
            self.transport.abort()


class Conn:
    """A relayed connection: client side and server side."""

    def __init__(self, proxy, kind, ftp=False):
        self.proxy = proxy
        self.kind = kind  # "control", "data" or "tcp"
        self.id = proxy.next_id()
        self.ftp = ftp  # control connection of --mode ftp: rewrite
        self.t0 = time.time()
        self.bytes = 0
        self.client = Side(self, "client")
        self.server = Side(self, "server")
        self.client.peer = self.server
        self.server.peer = self.client
        self.lines = {self.client: b"", self.server: b""}
        self.closed = False
        self.armed = None  # the --cut-after command seen, if any
        self.peername = "?"
        proxy.conns.add(self)
        proxy.counts["connections"] += 1

    def live(self):
        return (not self.closed and self.client.transport is not None and
                self.server.transport is not None and
                not self.client.lost and not self.server.lost)

    def from_side(self, side, data):
        if not self.ftp:
            side.peer.send(data)
            return
        buf = self.lines[side] + data
        out = []
        while True:
            i = buf.find(b"\n")
            if i < 0:
                break
            line, buf = buf[:i + 1], buf[i + 1:]
            if side is self.client and self.proxy.cut_re is not None and \
                    self.proxy.cut_re.search(line):
                self.armed = line.strip()
            elif side is self.server and self.armed and \
                    line.startswith(b"150"):
                # the server has begun; the client never hears it
                self.proxy.log("cut %s#%d: reset instead of the 150 to %s"
                               % (self.kind, self.id,
                                  self.armed.decode(errors="replace")))
                self.proxy.counts["cuts"] += 1
                self.proxy.write_stats()
                if out:
                    side.peer.send(b"".join(out))
                self.reset()
                return
            out.append(self.rewrite(side, line))
        if len(buf) > MAX_LINE:
            out.append(buf)
            buf = b""
        self.lines[side] = buf
        if out:
            side.peer.send(b"".join(out))

    def flush_line(self, side):
        if self.ftp and self.lines[side]:
            side.peer.send(self.lines[side])
            self.lines[side] = b""

    def rewrite(self, side, line):
        if side is self.server:
            m = RE_227.match(line)
            if m:
                v = [int(x) for x in m.groups()]
                port = self.proxy.data_listener(v[4] * 256 + v[5], "pasv")
                if port:
                    return b"227 Entering Passive Mode (127,0,0,1,%d,%d).\r\n" \
                        % (port >> 8, port & 255)
            m = RE_229.match(line)
            if m:
                port = self.proxy.data_listener(int(m.group(2)), "epsv")
                if port:
                    return b"229 Entering Extended Passive Mode (|||%d|)\r\n" \
                        % port
            return line
        m = RE_PORT.match(line)
        if m:
            v = [int(x) for x in m.groups()]
            port = self.proxy.data_listener(v[4] * 256 + v[5], "port")
            if port:
                return b"PORT 127,0,0,1,%d,%d\r\n" % (port >> 8, port & 255)
        m = RE_EPRT.match(line)
        if m:
            port = self.proxy.data_listener(int(m.group(4)), "eprt")
            if port:
                return b"EPRT |1|127.0.0.1|%d|\r\n" % port
        return line

    async def connect(self, port):
        try:
            await self.proxy.loop.create_connection(lambda: self.server,
                                                    HOST, port)
        except OSError as e:
            self.proxy.log("%s#%d: connect to %d failed: %s"
                           % (self.kind, self.id, port, e))
            self.client.reset()
            self.maybe_close()

    def maybe_close(self):
        if self.closed:
            return
        c, s = self.client, self.server
        done_c = c.lost or (c.eof and s.eof)
        done_s = s.lost or s.transport is None or (c.eof and s.eof)
        if not (done_c and done_s):
            return
        self.closed = True
        for side in (c, s):
            if side.transport is not None and not side.lost:
                side.transport.close()
        self.proxy.conns.discard(self)

    def reset(self):
        self.client.reset()
        self.server.reset()
        self.closed = True
        self.proxy.conns.discard(self)


class Proxy:
    def __init__(self, args, loop):
        self.args = args
        self.loop = loop
        self.conns = set()
        self.ids = 0
        self.counts = {"resets": 0, "control": 0, "data": 0, "tcp": 0,
                       "connections": 0, "cuts": 0}
        self.cut_re = re.compile(args.cut_after.encode()) \
            if args.cut_after else None
        self.rng = random.Random(args.seed)
        lo, _, hi = args.reset_every.partition("-")
        self.every = (float(lo), float(hi or lo))
        self.paused = args.paused
        self.logf = open(args.log, "a", buffering=1) if args.log else None

    def next_id(self):
        self.ids += 1
        return self.ids

    def log(self, msg):
        line = "%.3f %s\n" % (time.time(), msg)
        if self.logf:
            self.logf.write(line)
        else:
            sys.stderr.write(line)

    def stats_line(self):
        return " ".join("%s=%d" % (k, self.counts[k]) for k in
                        ("resets", "control", "data", "tcp", "connections",
                         "cuts"))

    def write_stats(self):
        if not self.args.log:
            return
        tmp = self.args.log + ".stats.tmp"
        with open(tmp, "w") as f:
            f.write(self.stats_line() + "\n")
        os.rename(tmp, self.args.log + ".stats")

    # --- listeners -------------------------------------------------------

    def accept_main(self):
        kind = "control" if self.args.mode == "ftp" else "tcp"
        conn = Conn(self, kind, ftp=self.args.mode == "ftp")
        self.loop.create_task(conn.connect(self.args.target))
        return conn.client

    def data_listener(self, target, how):
        """A listener for one data connection to TARGET; its port."""
        ls = socket.socket()
        try:
            ls.bind((HOST, 0))
            ls.listen(4)
            ls.setblocking(False)
        except OSError as e:
            ls.close()
            self.log("data listener (%s): %s" % (how, e))
            return 0
        port = ls.getsockname()[1]
        self.loop.create_task(self.serve_data(ls, target, how))
        return port

    async def serve_data(self, ls, target, how):
        try:
            sock, addr = await asyncio.wait_for(
                self.loop.sock_accept(ls), LISTEN_SECS)
        except (asyncio.TimeoutError, OSError):
            ls.close()
            return
        ls.close()
        conn = Conn(self, "data")
        conn.peername = "%s:%d" % addr
        try:
            await self.loop.connect_accepted_socket(lambda: conn.client, sock)
        except OSError:
            sock.close()
            return
        await conn.connect(target)

    # --- the chaos -------------------------------------------------------

    async def resetter(self):
        while True:
            await asyncio.sleep(self.rng.uniform(*self.every))
            if self.paused:
                continue
            live = sorted((c for c in self.conns if c.live()),
                          key=lambda c: c.id)
            if not live:
                self.log("no live connection to reset")
                continue
            data = [c for c in live if c.kind == "data"]
            other = [c for c in live if c.kind != "data"]
            if data and (not other or
                         self.rng.random() < self.args.data_share):
                c = self.rng.choice(data)
            else:
                c = self.rng.choice(other)
            c.reset()
            self.counts["resets"] += 1
            self.counts[c.kind] += 1
            self.log("reset %s#%d after %.1f s, %d bytes"
                     % (c.kind, c.id, time.time() - c.t0, c.bytes))
            self.write_stats()

    def pause(self, on):
        self.paused = on
        self.log("resets %s" % ("paused" if on else "resumed"))
        self.write_stats()


async def serve(args):
    loop = asyncio.get_running_loop()
    proxy = Proxy(args, loop)
    server = await loop.create_server(proxy.accept_main, host=HOST,
                                      port=args.port, backlog=256,
                                      reuse_address=True)
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(1))
    loop.add_signal_handler(signal.SIGUSR1, proxy.pause, True)
    loop.add_signal_handler(signal.SIGUSR2, proxy.pause, False)
    proxy.write_stats()
    if args.pidfile:
        with open(args.pidfile + ".tmp", "w") as f:
            f.write("%d\n" % os.getpid())
        os.rename(args.pidfile + ".tmp", args.pidfile)
    proxy.log("listening on %s:%d -> %d (%s), a reset every %s s, seed %s%s"
              % (HOST, args.port, args.target, args.mode, args.reset_every,
                 args.seed, ", paused" if proxy.paused else ""))
    task = loop.create_task(proxy.resetter())
    await stop
    task.cancel()
    server.close()
    for c in list(proxy.conns):
        for side in (c.client, c.server):
            if side.transport is not None:
                side.transport.abort()
    proxy.write_stats()
    proxy.log("stopped: " + proxy.stats_line())
    await asyncio.sleep(0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, required=True,
                    help="port to listen on (127.0.0.1)")
    ap.add_argument("--target", type=int, required=True,
                    help="the server's port (127.0.0.1)")
    ap.add_argument("--mode", choices=("ftp", "tcp"), default="tcp")
    ap.add_argument("--reset-every", default="2-5",
                    help="seconds between resets: MIN-MAX or N")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data-share", type=float, default=0.5,
                    help="--mode ftp: the chance that a reset picks a data "
                    "connection when one is live (default 0.5; control "
                    "connections are many and mostly idle, data "
                    "connections few and short)")
    ap.add_argument("--log", help="append the resets here")
    ap.add_argument("--cut-after", metavar="REGEX",
                    help="--mode ftp: a control connection whose client "
                    "sent a command matching REGEX is reset when the "
                    "server's 150 to it comes (the 150 is not passed on): "
                    "the server has begun, the client cannot know")
    ap.add_argument("--pidfile")
    ap.add_argument("--paused", action="store_true",
                    help="no resets until SIGUSR2")
    args = ap.parse_args()
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
