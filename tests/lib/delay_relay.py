#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A TCP relay that adds a round-trip delay, for the latency benchmark.

Usage (as root, inside a network namespace set up by tests/lib/latns.sh):

    delay_relay.py --port PORT --delay-ms MS [--mark MARK] [--max-queue BYTES]
                   [--no-handshake] [--stats FILE] [--pidfile FILE]
    delay_relay.py --selftest --port PORT --delay-ms MS

The namespace's nftables redirect every TCP connection to 127.0.0.0/8 to
PORT (except the relay's own port and packets carrying MARK).  The relay
reads the original destination (SO_ORIGINAL_DST), connects there from a
socket marked MARK (so that this connection is not redirected again), and
forwards both directions, each chunk MS/2 milliseconds after it arrived:
a round trip through it costs MS.

The TCP handshake is modelled too (unless --no-handshake): the client's
connect() completes at once (the kernel answers the SYN for the relay),
but the relay opens the upstream connection only 1.5 x MS after it
accepted, which is when a server MS away would have accepted it (SYN MS/2,
SYN-ACK MS/2, ACK MS/2).  Bytes the client sends meanwhile wait for it, so
a reply reaches the client 2 x MS after connect(), as over a real link;
an FTP data connection per file costs its round trip.

Flow control: a direction stops reading while it holds more than
--max-queue bytes (default 8 MiB; queued plus not yet written), so one
connection moves at most about max-queue / (MS/2) bytes per second, like
a TCP window over a long link, and memory stays bounded.

End of stream: EOF in one direction is passed on (shutdown(SHUT_WR)) after
the bytes queued before it; a reset is passed on as a reset; both sockets
are closed once both directions ended.

Statistics: SIGUSR1 appends "total=N peak=M active=K" to --stats (the
connections accepted since the last SIGUSR1, the most open at once, those
open now) and starts counting again.  SIGTERM/SIGINT: stop.

--selftest (a client, run in the same namespace while the relay runs):
times 10 sequential connect + 1-byte echoes and 10 echoes on an open
connection through a local echo server, and one 64 MiB transfer; exits 1
when the round trip is not the configured delay.

Standard library only.  All traffic stays on loopback.
"""

import argparse
import asyncio
import collections
import os
import signal
import socket
import statistics
import struct
import sys
import threading
import time

SO_ORIGINAL_DST = 80
SO_MARK = getattr(socket, "SO_MARK", 36)
EOF = object()  # queue marker: end of stream
RESET = object()  # queue marker: pass a reset on


def set_nodelay(sock):
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        pass


def original_dst(sock):
    raw = sock.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
    port = struct.unpack("!H", raw[2:4])[0]
    return socket.inet_ntoa(raw[4:8]), port


class Stats:
    def __init__(self, path):
        self.path = path
        self.total = 0
        self.active = 0
        self.peak = 0

    def opened(self):
        self.total += 1
        self.active += 1
        self.peak = max(self.peak, self.active)

    def closed(self):
        self.active -= 1

    def dump(self):
        line = "total=%d peak=%d active=%d\n" % (self.total, self.peak,
                                                 self.active)
        if self.path:
            with open(self.path, "a") as f:
                f.write(line)
        else:
            sys.stderr.write("delay_relay: " + line)
        self.total = 0
        self.peak = self.active


class Pipe:
    """One direction: chunks wait in a queue until they are due."""

    def __init__(self, conn, name):
        self.conn = conn
        self.name = name
        self.src = None  # Side we read from
        self.dst = None  # Side we write to (None while connecting)
        self.q = collections.deque()
        self.qbytes = 0
        self.timer = None
        self.ended = False  # EOF or reset queued: nothing more is read
        self.done = False  # EOF/reset delivered, or the receiver is gone
        self.src_paused = False

    def push(self, data):
        if self.done or self.ended:
            return
        loop = self.conn.loop
        self.q.append((loop.time() + self.conn.half, data))
        self.qbytes += len(data)
        self.schedule()
        self.check_flow()

    def push_end(self, marker):
        if self.done or self.ended:
            return
        self.ended = True
        self.q.append((self.conn.loop.time() + self.conn.half, marker))
        self.schedule()

    def schedule(self):
        if self.timer is None and self.q and self.dst is not None:
            self.timer = self.conn.loop.call_at(self.q[0][0], self.flush)

    def flush(self):
        self.timer = None
        if self.done:
            return
        dst = self.dst
        if dst is None:
            return
        now = self.conn.loop.time()
        q = self.q
        while q and q[0][0] <= now:
            _, data = q.popleft()
            if data is EOF or data is RESET:
                self.deliver_end(data)
                return
            self.qbytes -= len(data)
            if dst.transport is not None and not dst.transport.is_closing():
                dst.transport.write(data)
        self.schedule()
        self.check_flow()

    def deliver_end(self, marker):
        self.done = True
        self.q.clear()
        self.qbytes = 0
        t = self.dst.transport if self.dst is not None else None
        if t is not None and not t.is_closing():
            if marker is RESET:
                self.dst.reset()
            else:
                try:
                    t.write_eof()  # after what is still buffered
                except (OSError, RuntimeError):
                    t.abort()
        self.conn.maybe_close()

    def drop(self):
        """The receiver is gone: forget what waits for it."""
        self.done = True
        self.q.clear()
        self.qbytes = 0
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.resume_src()

    def buffered(self):
        n = self.qbytes
        if self.dst is not None and self.dst.transport is not None:
            n += self.dst.transport.get_write_buffer_size()
        return n

    def check_flow(self):
        src = self.src
        if src is None or src.transport is None or src.transport.is_closing():
            return
        n = self.buffered()
        limit = self.conn.relay.max_queue
        if not self.src_paused and n > limit:
            self.src_paused = True
            src.transport.pause_reading()
        elif self.src_paused and n <= limit // 2:
            self.resume_src()

    def resume_src(self):
        if not self.src_paused:
            return
        self.src_paused = False
        src = self.src
        if src is not None and src.transport is not None and \
                not src.transport.is_closing():
            src.transport.resume_reading()


class Side(asyncio.Protocol):
    """One socket of a relayed connection (the client's or upstream)."""

    def __init__(self, conn, out_pipe, in_pipe, on_made=None):
        self.conn = conn
        self.out = out_pipe  # what this side sends
        self.inp = in_pipe  # what this side receives
        self.on_made = on_made
        self.transport = None
        self.lost = False

    def connection_made(self, transport):
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            set_nodelay(sock)
        # Flow control is ours (Pipe.check_flow); the transport's limits
        # only decide when it tells us.
        limit = self.conn.relay.max_queue
        transport.set_write_buffer_limits(high=limit // 2, low=limit // 4)
        if self.on_made is not None:
            self.on_made()

    def data_received(self, data):
        self.out.push(data)

    def eof_received(self):
        self.out.push_end(EOF)
        return True  # keep the other direction open (half-close)

    def pause_writing(self):
        self.inp.check_flow()

    def resume_writing(self):
        self.inp.check_flow()

    def connection_lost(self, exc):
        self.lost = True
        self.out.push_end(RESET if exc is not None else EOF)
        self.inp.drop()
        self.conn.maybe_close()

    def reset(self):
        t = self.transport
        sock = t.get_extra_info("socket")
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                            struct.pack("ii", 1, 0))
        except (OSError, AttributeError):
            pass
        t.abort()


class Conn:
    def __init__(self, relay):
        self.relay = relay
        self.loop = relay.loop
        self.half = relay.delay / 2
        self.c2s = Pipe(self, "c2s")
        self.s2c = Pipe(self, "s2c")
        self.client = Side(self, self.c2s, self.s2c, self.start)
        self.upstream = None
        self.c2s.src = self.client
        self.s2c.dst = self.client
        self.closed = False
        self.task = None
        relay.stats.opened()
        relay.conns.add(self)

    def start(self):
        try:
            dst = original_dst(self.client.transport.get_extra_info("socket"))
        except OSError as e:
            self.relay.log("no original destination (%s): dropped" % e)
            self.client.transport.abort()
            return
        if dst[1] == self.relay.port:
            self.relay.log("a connection to the relay itself: dropped")
            self.client.transport.abort()
            return
        self.task = self.loop.create_task(self.connect(dst))

    async def connect(self, dst):
        if self.relay.handshake:
            await asyncio.sleep(3 * self.half)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_MARK, self.relay.mark)
            sock.setblocking(False)
            set_nodelay(sock)
            await self.loop.sock_connect(sock, dst)
            side = Side(self, self.s2c, self.c2s)
            await self.loop.create_connection(lambda: side, sock=sock)
        except OSError:
            sock.close()
            # Refused or unreachable: the client sees a reset, a
            # half trip later.
            await asyncio.sleep(self.half)
            if not self.client.lost:
                self.client.reset()
            self.c2s.done = self.s2c.done = True
            self.maybe_close()
            return
        self.upstream = side
        self.s2c.src = side
        self.c2s.dst = side
        # What the client sent meanwhile (and its end, if it is gone).
        self.c2s.schedule()
        self.c2s.check_flow()

    def maybe_close(self):
        if self.closed:
            return
        if not (self.c2s.done and self.s2c.done):
            return
        if self.c2s.dst is None and not self.client.lost:
            return  # still connecting upstream
        self.closed = True
        for side in (self.client, self.upstream):
            if side is not None and side.transport is not None:
                side.transport.close()
        if self.task is not None and not self.task.done():
            self.task.cancel()
        self.relay.stats.closed()
        self.relay.conns.discard(self)

    def abort(self):
        for side in (self.client, self.upstream):
            if side is not None and side.transport is not None:
                side.transport.abort()


class Relay:
    def __init__(self, args, loop):
        self.loop = loop
        self.port = args.port
        self.delay = args.delay_ms / 1000.0
        self.mark = args.mark
        self.max_queue = args.max_queue
        self.handshake = not args.no_handshake
        self.stats = Stats(args.stats)
        self.conns = set()

    def log(self, msg):
        sys.stderr.write("delay_relay: %s\n" % msg)

    def accept(self):
        return Conn(self).client


async def serve(args):
    loop = asyncio.get_running_loop()
    relay = Relay(args, loop)
    server = await loop.create_server(relay.accept, host="127.0.0.1",
                                      port=args.port, backlog=4096,
                                      reuse_address=True)
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(1))
    loop.add_signal_handler(signal.SIGUSR1, relay.stats.dump)
    if args.pidfile:
        with open(args.pidfile + ".tmp", "w") as f:
            f.write("%d\n" % os.getpid())
        os.rename(args.pidfile + ".tmp", args.pidfile)
    relay.log("listening on 127.0.0.1:%d, delay %g ms round trip, mark %#x, "
              "max queue %d bytes%s" % (args.port, args.delay_ms, args.mark,
                                        args.max_queue,
                                        "" if relay.handshake else
                                        ", no handshake delay"))
    await stop
    server.close()
    for c in list(relay.conns):
        c.abort()
    await asyncio.sleep(0)


# --- selftest (client side) ---------------------------------------------------

def echo_server():
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)

    def handle(c):
        with c:
            set_nodelay(c)
            while True:
                d = c.recv(1 << 18)
                if not d:
                    return
                if d[:1] == b"S":  # sink mode: read to EOF, answer the count
                    n = len(d)
                    while True:
                        d = c.recv(1 << 18)
                        if not d:
                            break
                        n += len(d)
                    c.sendall(str(n).encode())
                    return
                c.sendall(d)

    def loop():
        while True:
            try:
                c, _ = ls.accept()
            except OSError:
                return
            threading.Thread(target=handle, args=(c,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    return ls, ls.getsockname()[1]


def selftest(args):
    ls, port = echo_server()
    d = args.delay_ms
    first, again = [], []
    for _ in range(10):
        t0 = time.monotonic()
        s = socket.create_connection(("127.0.0.1", port), 10)
        set_nodelay(s)
        s.sendall(b"x")
        if s.recv(1) != b"x":
            print("selftest: bad echo")
            return 1
        t1 = time.monotonic()
        s.sendall(b"y")
        if s.recv(1) != b"y":
            print("selftest: bad echo")
            return 1
        t2 = time.monotonic()
        s.close()
        first.append((t1 - t0) * 1000)
        again.append((t2 - t1) * 1000)
    m1, m2 = statistics.median(first), statistics.median(again)
    want1 = d * (1 if args.no_handshake else 2)
    print("selftest: connect+echo %.1f ms (expected %.0f), echo %.1f ms "
          "(expected %.0f), median of 10" % (m1, want1, m2, d))
    # Throughput: 64 MiB one way, then the count back.
    size = 64 << 20
    s = socket.create_connection(("127.0.0.1", port), 10)
    buf = b"S" + bytes((1 << 20) - 1)
    t0 = time.monotonic()
    for _ in range(size >> 20):
        s.sendall(buf)
    s.shutdown(socket.SHUT_WR)
    got = b""
    while True:
        r = s.recv(64)
        if not r:
            break
        got += r
    secs = time.monotonic() - t0
    s.close()
    ls.close()
    print("selftest: 64 MiB in %.2f s (%.0f MB/s), %s bytes arrived"
          % (secs, size / secs / 1e6, got.decode() or "no"))
    ok = (0.9 * d <= m2 <= 1.5 * d + 5 and
          0.9 * want1 <= m1 <= 1.5 * want1 + 5 and got == str(size).encode())
    print("selftest: %s" % ("ok" if ok else "FAILED"))
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--delay-ms", type=float, required=True,
                    help="round-trip delay added (half per direction)")
    ap.add_argument("--mark", type=lambda x: int(x, 0), default=0x4c54,
                    help="SO_MARK of the upstream sockets (default 0x4c54)")
    ap.add_argument("--max-queue", type=int, default=8 << 20,
                    help="bytes held per direction before reading stops")
    ap.add_argument("--no-handshake", action="store_true",
                    help="open the upstream connection at once")
    ap.add_argument("--stats", help="file SIGUSR1 appends counters to")
    ap.add_argument("--pidfile", help="write the relay's pid there")
    ap.add_argument("--selftest", action="store_true",
                    help="measure through a running relay (a client)")
    args = ap.parse_args()
    if args.selftest:
        return selftest(args)
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
