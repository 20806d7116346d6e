#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""fsx.py: a random file-operation exerciser for ftpfs, in the spirit of fsx.

    fsx.py --mount DIR --disk DIR [--seed N] [--ops N] [--files N]
           [--maxsize BYTES] [--verify-every N] [--log FILE]

Works on a few files in DIR (the mounted side; created if missing) and keeps
an in-memory model of each.  Random operations, all driven by one seeded
generator (the seed is printed; the same seed replays the same operations):

  open with O_RDWR, O_WRONLY, O_WRONLY|O_TRUNC (a streamed upload),
  O_WRONLY|O_APPEND, O_RDWR|O_APPEND or O_RDONLY; close
  sequential writes at the file offset (keeps a stream a stream), pwrite at
  random offsets (also past the end: holes), reads at random offsets,
  ftruncate (shrink, grow, 0), truncate(2) by path, fsync, stat,
  open-append-close cycles (">>")

Checked byte for byte against the model: every read; the whole file read
back through a fresh open every --verify-every operations and after every
close; the server's copy (DIR --disk, read directly) after every close and
at the end; st_size on every stat.  Any mismatch or unexpected error stops
the run with exit status 1, the differing bytes and the last operations
(the whole log is in --log).  The last line of a successful run is a
summary.
"""

import argparse
import errno
import os
import random
import sys
import tempfile
import time

MODES = [
    # name, flags, weight
    ("rdwr", os.O_RDWR, 30),
    ("wronly", os.O_WRONLY, 10),
    ("wronly|trunc", os.O_WRONLY | os.O_TRUNC, 20),
    ("wronly|append", os.O_WRONLY | os.O_APPEND, 10),
    ("rdwr|append", os.O_RDWR | os.O_APPEND, 5),
    ("rdonly", os.O_RDONLY, 10),
    ("rdwr|trunc", os.O_RDWR | os.O_TRUNC, 5),
]


class Failure(Exception):
    pass


def ename(e):
    return errno.errorcode.get(e.errno, str(e.errno)) + " (" + e.strerror + ")"


class File:
    def __init__(self, name, mount, disk):
        self.name = name
        self.path = os.path.join(mount, name)
        self.disk = os.path.join(disk, name)
        self.model = bytearray()
        self.exists = False
        self.fd = None
        self.mode = None
        self.flags = 0

    def readable(self):
        return self.fd is not None and (self.flags & os.O_ACCMODE) != os.O_WRONLY

    def writable(self):
        return self.fd is not None and (self.flags & os.O_ACCMODE) != os.O_RDONLY


class Fsx:
    def __init__(self, args):
        self.a = args
        self.rng = random.Random(args.seed)
        self.log = []
        self.logf = open(args.log, "w") if args.log else None
        self.files = [File("fsx-%d.bin" % i, args.mount, args.disk)
                      for i in range(args.files)]
        self.n = 0
        self.stats = dict(written=0, verifies=0, closes=0, disk_checks=0,
                          reads=0)

    # --- bookkeeping ---------------------------------------------------
    def note(self, text):
        line = "%5d %s" % (self.n, text)
        self.log.append(line)
        if self.logf:
            self.logf.write(line + "\n")
            self.logf.flush()

    def fail(self, what):
        raise Failure(what)

    def data(self, n):
        return self.rng.randbytes(n)

    def length(self):
        # Mostly small, sometimes large writes.
        r = self.rng.random()
        if r < 0.5:
            return self.rng.randint(1, 4096)
        if r < 0.9:
            return self.rng.randint(4097, 70000)
        return self.rng.randint(70001, 300000)

    def offset(self, f):
        size = len(f.model)
        r = self.rng.random()
        if r < 0.1:
            return 0
        if r < 0.2:
            return size  # at the end
        if r < 0.3:
            return size + self.rng.randint(1, 100000)  # a hole
        if r < 0.4:
            # around a 1 MiB block edge (the spool's fetch unit)
            return max(0, (1 << 20) * self.rng.randint(0, 3) +
                       self.rng.randint(-5000, 5000))
        return self.rng.randint(0, max(0, size))

    @staticmethod
    def model_write(f, off, buf):
        if off > len(f.model):
            f.model.extend(b"\0" * (off - len(f.model)))
        f.model[off:off + len(buf)] = buf

    @staticmethod
    def model_truncate(f, size):
        if size < len(f.model):
            del f.model[size:]
        else:
            f.model.extend(b"\0" * (size - len(f.model)))

    def compare(self, f, got, want, what, base=0):
        if got == bytes(want):
            return
        n = min(len(got), len(want))
        i = next((k for k in range(n) if got[k] != want[k]), n)
        self.fail("%s of %s: %d bytes, expected %d; first difference at "
                  "offset %d:\n  expected %s\n  actual   %s" % (
                      what, f.name, len(got), len(want), base + i,
                      bytes(want[i:i + 24]).hex(" "), got[i:i + 24].hex(" ")))

    def limit(self, f, off, n):
        """Clamp a write so the file stays under --maxsize."""
        room = self.a.maxsize - off
        if room <= 0:
            return 0
        return min(n, room)

    # --- operations ----------------------------------------------------
    def op_open(self, f):
        names = [m for m in MODES
                 if not (self.a.no_append and m[1] & os.O_APPEND)]
        name, flags, _ = self.rng.choices(names, [m[2] for m in names])[0]
        exists = os.path.lexists(f.path)
        if not exists:
            flags |= os.O_CREAT
        self.note("open %s %s%s" % (f.name, name, "|creat" if not exists else ""))
        f.fd = os.open(f.path, flags, 0o644)
        f.exists = True
        f.flags = flags
        f.mode = name
        if flags & os.O_TRUNC:
            f.model = bytearray()
        # Start sequential writers somewhere sensible.
        if self.rng.random() < 0.3 and f.model:
            pos = self.rng.randint(0, len(f.model))
            os.lseek(f.fd, pos, os.SEEK_SET)
            self.note("  lseek %d" % pos)

    def op_close(self, f):
        self.note("close %s (%s), model %d bytes" % (f.name, f.mode, len(f.model)))
        fd, f.fd = f.fd, None
        os.close(fd)
        self.stats["closes"] += 1
        self.verify(f, "read back after close")
        self.check_disk(f, "server's disk after close")

    def op_write(self, f):
        pos = os.lseek(f.fd, 0, os.SEEK_CUR)
        n = self.length()
        if f.flags & os.O_APPEND:
            pos = len(f.model)
        n = self.limit(f, pos, n)
        if n == 0:
            return self.op_ftruncate(f)
        buf = self.data(n)
        self.note("write %s %d bytes at fd offset %d%s" % (
            f.name, n, pos, " (append)" if f.flags & os.O_APPEND else ""))
        done = os.write(f.fd, buf)
        if done != n:
            self.fail("short write: %d of %d bytes" % (done, n))
        self.model_write(f, pos, buf)
        self.stats["written"] += n

    def op_seq_burst(self, f):
        """Several sequential writes in a row (what cp does)."""
        for _ in range(self.rng.randint(2, 12)):
            self.op_write(f)

    def op_pwrite(self, f):
        off = self.offset(f)
        n = self.limit(f, off, self.length())
        if n == 0:
            return self.op_ftruncate(f)
        buf = self.data(n)
        self.note("pwrite %s %d bytes at %d%s" % (
            f.name, n, off, " (O_APPEND: at the end)" if f.flags & os.O_APPEND else ""))
        done = os.pwrite(f.fd, buf, off)
        if done != n:
            self.fail("short pwrite: %d of %d bytes" % (done, n))
        if f.flags & os.O_APPEND:
            off = len(f.model)  # Linux: pwrite on O_APPEND appends
        self.model_write(f, off, buf)
        self.stats["written"] += n

    def op_read(self, f):
        off = self.offset(f)
        n = self.length()
        self.note("pread %s %d bytes at %d" % (f.name, n, off))
        got = os.pread(f.fd, n, off)
        self.stats["reads"] += 1
        self.compare(f, got, f.model[off:off + n], "pread(%d, %d)" % (n, off), off)

    def op_ftruncate(self, f):
        r = self.rng.random()
        if r < 0.15:
            size = 0
        elif r < 0.5:
            size = self.rng.randint(0, len(f.model))
        else:
            size = self.rng.randint(0, self.a.maxsize)
        self.note("ftruncate %s %d (was %d)" % (f.name, size, len(f.model)))
        os.ftruncate(f.fd, size)
        self.model_truncate(f, size)

    def op_truncate_path(self, f):
        if not f.exists:
            return self.op_stat(f)
        size = self.rng.choice([0, self.rng.randint(0, self.a.maxsize),
                                self.rng.randint(0, max(1, len(f.model)))])
        self.note("truncate(path) %s %d (was %d)" % (f.name, size, len(f.model)))
        os.truncate(f.path, size)
        self.model_truncate(f, size)
        self.verify(f, "read back after truncate(2)")

    def op_append_cycle(self, f):
        n = self.limit(f, len(f.model), self.length())
        if n == 0:
            return
        buf = self.data(n)
        self.note("open-append-close %s %d bytes at %d" % (f.name, n, len(f.model)))
        fd = os.open(f.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        f.exists = True
        try:
            done = os.write(fd, buf)
        finally:
            os.close(fd)
        if done != n:
            self.fail("short append: %d of %d" % (done, n))
        self.model_write(f, len(f.model), buf)
        self.stats["written"] += n
        self.verify(f, "read back after open-append-close")

    def op_fsync(self, f):
        self.note("fsync %s" % f.name)
        os.fsync(f.fd)
        # After fsync the server holds every byte written so far.
        self.check_disk(f, "server's disk after fsync")

    def op_stat(self, f):
        self.note("stat %s" % f.name)
        if not f.exists:
            if os.path.lexists(f.path):
                self.fail("stat %s: exists, but was never created" % f.name)
            return
        size = os.stat(f.path).st_size
        if size != len(f.model):
            self.fail("stat %s: st_size %d, expected %d" % (f.name, size, len(f.model)))

    def verify(self, f, why):
        self.note("verify %s (%s), %d bytes" % (f.name, why, len(f.model)))
        if not f.exists:
            return self.op_stat(f)
        if self.a.sync_before_verify and f.fd is not None and f.writable():
            self.note("  fsync %s first (--sync-before-verify)" % f.name)
            os.fsync(f.fd)
        with open(f.path, "rb") as r:
            got = r.read()
        self.stats["verifies"] += 1
        self.compare(f, got, f.model, why)

    def check_disk(self, f, why):
        self.note("check disk %s (%s)" % (f.name, why))
        try:
            with open(f.disk, "rb") as r:
                got = r.read()
        except FileNotFoundError:
            got = None
        if got is None:
            self.fail("%s: %s is missing on the server" % (why, f.name))
        self.stats["disk_checks"] += 1
        self.compare(f, got, f.model, why)

    # --- the loop ------------------------------------------------------
    def step(self):
        f = self.rng.choice(self.files)
        if f.fd is None:
            ops = [(self.op_open, 60),
                   (self.op_append_cycle, 0 if self.a.no_append else 12),
                   (self.op_truncate_path, 8), (self.op_stat, 10),
                   (self.verify_op, 10)]
        else:
            ops = [(self.op_close, 12), (self.op_stat, 5), (self.verify_op, 4)]
            if f.writable():
                w_seq = 30 if f.mode in ("wronly|trunc", "rdwr|trunc") else 10
                ops += [(self.op_write, w_seq), (self.op_seq_burst, w_seq // 2),
                        (self.op_pwrite, 22), (self.op_ftruncate, 6),
                        (self.op_fsync, 3)]
            if f.readable():
                ops += [(self.op_read, 14)]
        fn = self.rng.choices([o[0] for o in ops], [o[1] for o in ops])[0]
        fn(f)

    def verify_op(self, f):
        self.verify(f, "periodic read back")

    def run(self):
        os.makedirs(self.a.mount, exist_ok=True)
        for f in self.files:
            if os.path.lexists(f.path):
                os.unlink(f.path)
        t0 = time.time()
        for self.n in range(1, self.a.ops + 1):
            self.step()
            if self.n % self.a.verify_every == 0:
                for f in self.files:
                    self.verify(f, "every %d operations" % self.a.verify_every)
            if self.n % 500 == 0:
                print("# %d operations, %.1fs, sizes %s" % (
                    self.n, time.time() - t0,
                    " ".join(str(len(f.model)) for f in self.files)), flush=True)
        self.n += 1
        for f in self.files:
            if f.fd is not None:
                self.op_close(f)
            elif f.exists:
                self.verify(f, "final read back")
                self.check_disk(f, "server's disk at the end")
        return time.time() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mount", required=True, help="directory on the mount")
    ap.add_argument("--disk", required=True,
                    help="the same directory on the server's disk")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--ops", type=int, default=2000)
    ap.add_argument("--files", type=int, default=3)
    ap.add_argument("--maxsize", type=int, default=2 * 1048576)
    ap.add_argument("--verify-every", type=int, default=50)
    ap.add_argument("--sync-before-verify", action="store_true",
                    help="fsync a file's open writer before reading the "
                    "file back through a new descriptor (isolates other "
                    "bugs from reader/writer coherence)")
    ap.add_argument("--no-append", action="store_true",
                    help="no O_APPEND opens (for servers that refuse APPE)")
    ap.add_argument("--log", default=None,
                    help="write every operation here (default: "
                    "$TMPDIR/fsx-SEED.log)")
    a = ap.parse_args()
    if a.seed is None:
        a.seed = random.SystemRandom().randrange(1 << 31)
    if a.log is None:
        a.log = os.path.join(tempfile.gettempdir(), "fsx-%d.log" % a.seed)
    print("# fsx.py seed %d: %d operations on %d files up to %d bytes in %s "
          "(log %s)" % (a.seed, a.ops, a.files, a.maxsize, a.mount, a.log),
          flush=True)
    fsx = Fsx(a)
    try:
        secs = fsx.run()
    except (Failure, OSError) as e:
        what = ename(e) if isinstance(e, OSError) else str(e)
        print("FAILED at operation %d (seed %d): %s" % (fsx.n, a.seed, what))
        print("last operations:")
        for line in fsx.log[-60:]:
            print("  " + line)
        print("replay: %s --mount %s --disk %s --seed %d --ops %d --files %d "
              "--maxsize %d --verify-every %d%s%s" % (
                  sys.argv[0], a.mount, a.disk, a.seed, a.ops, a.files,
                  a.maxsize, a.verify_every,
                  " --sync-before-verify" if a.sync_before_verify else "",
                  " --no-append" if a.no_append else ""))
        return 1
    s = fsx.stats
    print("%d operations in %.1fs (seed %d): %d bytes written, %d closes, "
          "%d full read-backs, %d server-disk checks, %d reads; all equal"
          % (a.ops, secs, a.seed, s["written"], s["closes"], s["verifies"],
             s["disk_checks"], s["reads"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
