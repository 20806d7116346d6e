#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""chaos_ops.py: parallel random file operations through a mount whose
connections are being reset (tests/lib/chaos_proxy.py); every byte checked
on the server's disk.

  chaos_ops.py --mount MNT --disk DIR [--sub REL] [--workers N] [--ops N]
               [--seconds S] [--seed S] [--max-size BYTES] [--inplace]
               [--proxy-pid PID] [--op-timeout S] [--json FILE]

N worker processes (default 4), each in a folder of its own (REL/wK, REL
default "chaos"), run their own seeded sequence of operations, --ops in all
(split between them), or as many as fit in --seconds:

  create    a new file, O_CREAT|O_EXCL, random size and content
  overwrite O_WRONLY|O_TRUNC over a file, new content
  replace   a new file written under another name, renamed over the file
  append    O_APPEND, random bytes
  edit      O_RDWR, pwrite random bytes at a random offset (ftpfs: a local
            copy uploaded under a temporary name and renamed; SFTP: in place)
  read      the whole file through the mount, compared with the model
  rename    to a new name, maybe in another folder of the worker
  mkdir     a new folder; list: the worker's folder through the mount
  unlink, rmdir

Each worker keeps a model of its files.  An operation that reports success
must be exactly true on the server's disk (DIR, read directly right after
the operation); a read that succeeds must return the model's bytes.  A file
touched by an operation that failed is retired (never used again) with the
outcomes that failure allows, checked at the end:

  create    absent, or the new content (the upload completed, its reply was
            lost); a part of it under the real name is a problem (ftpfs
            removes a new file whose upload failed), except with --inplace
            (SFTP writes go in place, as on a local disk): "cut short"
  overwrite the old content, the new one, or a prefix of the new one
            (O_TRUNC streams into the file: counted as "cut short")
  append    the old content followed by a prefix of the new bytes
            (whole: fine; part: "cut short")
  edit      the old content or the new one; with --inplace (SFTP writes go
            in place) each byte old or new is "cut short", anything else a
            problem
  rename    exactly one of the two names, with the content
  unlink    the old content, or absent
A byte that is neither old nor new is always a problem.

At the end: the workers have stopped, the proxy's resets are paused
(SIGUSR1 to --proxy-pid), each folder is listed through the mount (ftpfs
removes partial new files at its next operation); then every file and
folder on the disk under REL must be in a model or in a retired file's
outcomes (temporary .NAME.ftpfs-XXXXXX files are counted as "left"), and
every file of the models is read once more through the mount.

Prints a summary and the problems; exits 1 if there was any problem.
Failures of operations (EIO) are figures, not problems, except errnos other
than EIO and ETIMEDOUT, and hangs (no answer within --op-timeout).
"""
import argparse
import errno
import json
import multiprocessing
import os
import random
import re
import signal
import sys
import time

CHUNK = 128 * 1024
MAX_FILES = 30  # per worker: past that, a create becomes an unlink
TEMP_RE = re.compile(r"^\..*\.ftpfs-[0-9a-f]{6}$")
EXPECTED_ERRNOS = (errno.EIO, errno.ETIMEDOUT)
WEIGHTS = [("create", 14), ("overwrite", 9), ("replace", 7), ("append", 10),
           ("edit", 12), ("read", 22), ("rename", 8), ("mkdir", 3),
           ("list", 8), ("unlink", 5), ("rmdir", 2)]


def makedirs_retry(path):
    for i in range(20):
        try:
            os.makedirs(path, exist_ok=True)
            return
        except OSError:
            if i == 19:
                raise
            time.sleep(1)


class Hang(Exception):
    pass


def on_alarm(signum, frame):
    raise Hang()


def disk_read(path):
    """The file's bytes on the server's disk, None if absent, "dir"."""
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            return "dir"
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


def first_diff(a, b):
    n = min(len(a), len(b))
    for i in range(0, n, 4096):
        if a[i:i + 4096] != b[i:i + 4096]:
            for j in range(i, min(i + 4096, n)):
                if a[j] != b[j]:
                    return j
    return n


def describe(got, want):
    if got is None:
        return "absent (want %d bytes)" % len(want)
    if got == "dir":
        return "a folder"
    return "%d bytes, want %d, first difference at %d" % (
        len(got), len(want), first_diff(got, want))


def gen_size(rng, max_size):
    r = rng.random()
    if r < 0.45:
        return rng.randint(0, 64 * 1024)
    if r < 0.85:
        return rng.randint(64 * 1024, min(1 << 20, max_size))
    return rng.randint(min(1 << 20, max_size), max_size)


def write_all(fd, data):
    off = 0
    while off < len(data):
        n = os.write(fd, data[off:off + CHUNK])
        if n <= 0:
            raise OSError(errno.EIO, "short write")
        off += n


def classify(c, disk):
    """A retired file's state on disk: ("ok"|"cut"|"bad"|"temp", text)."""
    kind = c["kind"]
    if kind == "rename":
        a, b = disk.get(c["a"]), disk.get(c["b"])
        want = c["new"]
        if (a == want and b is None) or (b == want and a is None):
            return "ok", "rename: one name"
        return "bad", "rename %s -> %s failed: %s: %s; %s: %s" % (
            c["a"], c["b"], c["a"], describe(a, want), c["b"],
            describe(b, want))
    if kind == "replace":
        a, b = disk.get(c["a"]), disk.get(c["b"])
        if (a == c["new"] and b == c["old"]) or (a is None and b == c["new"]):
            return "ok", "replace: before or after"
        return "bad", "replace %s over %s failed: %s: %s; %s: %s" % (
            c["a"], c["b"], c["a"], describe(a, c["new"]), c["b"],
            describe(b, c["old"]))
    if kind == "dir":
        got = disk.get(c["path"])
        if got is None or got == "dir":
            return "ok", "dir"
        return "bad", "%s: a file where a folder was made or removed" % c["path"]
    got = disk.get(c["path"])
    old, new = c.get("old"), c["new"]
    p = c["path"]
    if got == "dir":
        return "bad", "%s: a folder" % p
    if kind == "create":
        if got is None or got == new:
            return "ok", "create"
        if new.startswith(got):
            if c["inplace"]:
                return "cut", "%s: create cut short (in place): %d of %d " \
                    "bytes" % (p, len(got), len(new))
            return "bad", "%s: a new file whose upload failed is left " \
                "with %d of its %d bytes" % (p, len(got), len(new))
        return "bad", "%s: failed create left wrong bytes: %s" % (
            p, describe(got, new))
    if kind == "unlink":
        if got is None or got == old:
            return "ok", "unlink"
        return "bad", "%s: failed unlink changed it: %s" % (
            p, describe(got, old))
    if got is None:
        return "bad", "%s: failed %s removed the file (had %d bytes)" % (
            p, kind, len(old))
    if got == old or got == new:
        return "ok", kind
    if kind == "overwrite":
        if new.startswith(got):
            return "cut", "%s: overwrite cut short: %d of %d bytes" % (
                p, len(got), len(new))
        return "bad", "%s: failed overwrite left wrong bytes: %s" % (
            p, describe(got, new))
    if kind == "append":
        if got.startswith(old) and new.startswith(got):
            return "cut", "%s: append cut short: %d of %d bytes" % (
                p, len(got) - len(old), len(new) - len(old))
        return "bad", "%s: failed append left wrong bytes: %s (old %d)" % (
            p, describe(got, new), len(old))
    if kind == "edit":
        if c["inplace"] and len(got) in (len(old), len(new)):
            ok = True
            for i in range(len(got)):
                if got[i] != (new[i] if i < len(new) else None) and \
                        got[i] != (old[i] if i < len(old) else None):
                    ok = False
                    break
            if ok:
                return "cut", "%s: in-place edit cut short" % p
        return "bad", "%s: failed edit left neither old nor new: %s" % (
            p, describe(got, new))
    return "bad", "%s: unknown kind %s" % (p, kind)


class Worker:
    def __init__(self, k, args):
        self.k = k
        self.a = args
        self.rng = random.Random(args.seed * 1009 + k)
        self.root = "%s/w%d" % (args.sub, k)
        self.files = {}  # relpath -> bytes
        self.dirs = {self.root}
        self.retired = []
        self.n = 0
        self.ops = {}  # op -> [done, failed]
        self.errnos = {}  # "op errno" -> count
        self.problems = []
        self.read_fail = 0
        self.read_ok = 0
        self.read_bytes = 0

    def m(self, rel):
        return os.path.join(self.a.mount, rel)

    def d(self, rel):
        return os.path.join(self.a.disk, rel)

    def new_name(self, prefix="f"):
        self.n += 1
        folder = self.rng.choice(sorted(self.dirs))
        return "%s/%s%d-%d" % (folder, prefix, self.k, self.n)

    def problem(self, text):
        self.problems.append("w%d: %s" % (self.k, text))

    def check_disk(self, op, rel, want):
        got = disk_read(self.d(rel))
        if got != want:
            self.problem("%s %s reported success, the server's disk has: %s"
                         % (op, rel, describe(got, want)))
            return False
        return True

    def retire(self, **c):
        self.retired.append(c)

    def run(self, nops, deadline):
        names = [w for w, _ in WEIGHTS]
        weights = [w for _, w in WEIGHTS]
        done = 0
        signal.signal(signal.SIGALRM, on_alarm)
        while (nops <= 0 or done < nops) and \
                (deadline <= 0 or time.time() < deadline):
            op = self.rng.choices(names, weights)[0]
            if op not in ("create", "mkdir", "list") and not self.files:
                op = "create"
            if op == "create" and len(self.files) >= MAX_FILES:
                op = "unlink"
            done += 1
            st = self.ops.setdefault(op, [0, 0])
            st[0] += 1
            signal.alarm(self.a.op_timeout)
            try:
                getattr(self, "op_" + op)()
            except Hang:
                st[1] += 1
                self.problem("%s: no answer in %d s (hang)" % (
                    op, self.a.op_timeout))
            except OSError as e:
                st[1] += 1
                key = "%s %s" % (op, errno.errorcode.get(e.errno, e.errno))
                self.errnos[key] = self.errnos.get(key, 0) + 1
                if e.errno not in EXPECTED_ERRNOS:
                    self.problem("%s: unexpected error %s" % (op, e))
            finally:
                signal.alarm(0)
        return done

    # Each op_* raises OSError on a failure, after retiring what it touched.
    def pick(self):
        return self.rng.choice(sorted(self.files))

    def write_file(self, rel, data, flags, kind, old=None, full=None):
        try:
            fd = os.open(self.m(rel), flags, 0o644)
            try:
                write_all(fd, data)
            finally:
                os.close(fd)
        except (OSError, Hang):
            self.files.pop(rel, None)
            self.retire(kind=kind, path=rel, old=old,
                        new=data if full is None else full,
                        inplace=self.a.inplace)
            raise

    def op_create(self):
        rel = self.new_name()
        data = self.rng.randbytes(gen_size(self.rng, self.a.max_size))
        self.write_file(rel, data, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                        "create")
        self.files[rel] = data
        self.check_disk("create", rel, data)

    def op_overwrite(self):
        rel = self.pick()
        old = self.files[rel]
        data = self.rng.randbytes(gen_size(self.rng, self.a.max_size))
        self.write_file(rel, data, os.O_WRONLY | os.O_TRUNC, "overwrite",
                        old)
        self.files[rel] = data
        self.check_disk("overwrite", rel, data)

    def op_replace(self):
        rel = self.pick()
        old = self.files[rel]
        tmp = self.new_name("tmp")
        data = self.rng.randbytes(gen_size(self.rng, self.a.max_size))
        try:
            fd = os.open(self.m(tmp), os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                         0o644)
            try:
                write_all(fd, data)
            finally:
                os.close(fd)
        except (OSError, Hang):
            self.retire(kind="create", path=tmp, new=data,
                        inplace=self.a.inplace)
            raise
        try:
            os.rename(self.m(tmp), self.m(rel))
        except (OSError, Hang):
            del self.files[rel]
            # the old file under its name and the new one under tmp, or
            # the new one under the name
            self.retire(kind="replace", a=tmp, b=rel, old=old, new=data)
            raise
        self.files[rel] = data
        self.check_disk("replace", rel, data)
        if disk_read(self.d(tmp)) is not None:
            self.problem("replace: %s still on the disk after the rename"
                         % tmp)

    def op_append(self):
        rel = self.pick()
        old = self.files[rel]
        add = self.rng.randbytes(gen_size(self.rng, self.a.max_size // 4))
        self.write_file(rel, add, os.O_WRONLY | os.O_APPEND, "append", old,
                        old + add)
        self.files[rel] = old + add
        self.check_disk("append", rel, old + add)

    def op_edit(self):
        rel = self.pick()
        old = self.files[rel]
        n = self.rng.randint(1, 64 * 1024)
        off = self.rng.randint(0, len(old) + 100)
        buf = self.rng.randbytes(n)
        new = bytearray(old)
        if off > len(new):
            new.extend(b"\0" * (off - len(new)))
        new[off:off + n] = buf
        new = bytes(new)
        try:
            fd = os.open(self.m(rel), os.O_RDWR)
            try:
                if os.pwrite(fd, buf, off) != n:
                    raise OSError(errno.EIO, "short pwrite")
            finally:
                os.close(fd)
        except (OSError, Hang):
            del self.files[rel]
            self.retire(kind="edit", path=rel, old=old, new=new,
                        inplace=self.a.inplace)
            raise
        self.files[rel] = new
        self.check_disk("edit", rel, new)

    def op_read(self):
        rel = self.pick()
        want = self.files[rel]
        got = []
        try:
            with open(self.m(rel), "rb", buffering=0) as f:
                while True:
                    b = f.read(CHUNK)
                    if not b:
                        break
                    got.append(b)
        except OSError:
            self.read_fail += 1
            raise
        got = b"".join(got)
        self.read_ok += 1
        self.read_bytes += len(got)
        if got != want:
            self.problem("read %s returned wrong bytes: %s"
                         % (rel, describe(got, want)))

    def op_rename(self):
        rel = self.pick()
        data = self.files[rel]
        to = self.new_name()
        try:
            os.rename(self.m(rel), self.m(to))
        except (OSError, Hang):
            del self.files[rel]
            self.retire(kind="rename", a=rel, b=to, new=data)
            raise
        del self.files[rel]
        self.files[to] = data
        self.check_disk("rename", to, data)
        if disk_read(self.d(rel)) is not None:
            self.problem("rename %s -> %s: the old name is still there"
                         % (rel, to))

    def op_mkdir(self):
        rel = self.new_name("d")
        try:
            os.mkdir(self.m(rel))
        except (OSError, Hang):
            self.retire(kind="dir", path=rel, new=b"")
            raise
        self.dirs.add(rel)
        if disk_read(self.d(rel)) != "dir":
            self.problem("mkdir %s reported success, no folder on the disk"
                         % rel)

    def op_rmdir(self):
        # empty in the model and on the disk (a file a failed operation
        # left there, retired, may still be in it)
        empty = [d for d in sorted(self.dirs) if d != self.root and
                 not any(os.path.dirname(x) == d for x in
                         list(self.files) + list(self.dirs)) and
                 not os.listdir(self.d(d))]
        if not empty:
            return self.op_list()
        rel = self.rng.choice(empty)
        try:
            os.rmdir(self.m(rel))
        except (OSError, Hang):
            self.dirs.discard(rel)
            self.retire(kind="dir", path=rel, new=b"")
            raise
        self.dirs.discard(rel)
        if disk_read(self.d(rel)) is not None:
            self.problem("rmdir %s reported success, the folder is there"
                         % rel)

    def op_unlink(self):
        rel = self.pick()
        old = self.files.pop(rel)
        try:
            os.unlink(self.m(rel))
        except (OSError, Hang):
            self.retire(kind="unlink", path=rel, old=old, new=old)
            raise
        if disk_read(self.d(rel)) is not None:
            self.problem("unlink %s reported success, the file is there"
                         % rel)

    def op_list(self):
        folder = self.rng.choice(sorted(self.dirs))
        names = set(os.listdir(self.m(folder)))
        uncertain = set()
        for c in self.retired:
            for key in ("path", "a", "b"):
                if key in c:
                    uncertain.add(c[key])
        want = set()
        for x in list(self.files) + list(self.dirs):
            if os.path.dirname(x) == folder:
                want.add(os.path.basename(x))
        maybe = {os.path.basename(x) for x in uncertain
                 if os.path.dirname(x) == folder}
        got = {x for x in names if not TEMP_RE.match(x) and
               not x.startswith(".fuse_hidden")}
        missing = want - got
        extra = got - want - maybe
        if missing or extra:
            self.problem("ls %s: missing %s, extra %s" % (
                folder, sorted(missing)[:5], sorted(extra)[:5]))

    def result(self, done):
        return {"k": self.k, "done": done, "files": self.files,
                "dirs": sorted(self.dirs), "retired": self.retired,
                "ops": self.ops, "errnos": self.errnos,
                "problems": self.problems, "read_fail": self.read_fail,
                "read_ok": self.read_ok, "read_bytes": self.read_bytes}


def worker_main(k, args, nops, deadline, q):
    w = Worker(k, args)
    try:
        done = w.run(nops, deadline)
    except Exception as e:  # report, do not hang the parent
        w.problem("worker crashed: %r" % e)
        done = -1
    q.put(w.result(done))


def final_check(args, results, summary):
    problems = []
    files, dirs, retired = {}, set(), []
    for r in results:
        files.update(r["files"])
        dirs.update(r["dirs"])
        retired.extend(r["retired"])
    # ftpfs removes a partial new file at its next operation: one listing
    # of each folder, then a moment for it.
    for d in sorted(dirs):
        try:
            os.listdir(os.path.join(args.mount, d))
        except OSError as e:
            problems.append("ls %s after the resets stopped: %s" % (d, e))
    time.sleep(2)
    disk = {}
    base = os.path.join(args.disk, args.sub)
    for top, dnames, fnames in os.walk(base):
        rel_top = os.path.relpath(top, args.disk)
        for n in dnames:
            disk[os.path.join(rel_top, n)] = "dir"
        for n in fnames:
            rel = os.path.join(rel_top, n)
            disk[rel] = disk_read(os.path.join(args.disk, rel))
    explained = set()
    for rel, want in files.items():
        explained.add(rel)
        if disk.get(rel) != want:
            problems.append("%s: the model's file, on the disk: %s" % (
                rel, describe(disk.get(rel), want)))
    for rel in dirs:
        explained.add(rel)
        if disk.get(rel) != "dir":
            problems.append("%s: the model's folder is not on the disk" % rel)
    cut = []
    for c in retired:
        for key in ("path", "a", "b"):
            if key in c:
                explained.add(c[key])
        verdict, text = classify(c, disk)
        summary["retired"][verdict] = summary["retired"].get(verdict, 0) + 1
        if verdict == "bad":
            problems.append(text)
        elif verdict == "cut":
            cut.append(text)
    temps = []
    for rel in sorted(disk):
        if rel in explained or rel == args.sub:
            continue
        if TEMP_RE.match(os.path.basename(rel)):
            temps.append(rel)
            continue
        problems.append("%s: on the disk, in no model (%s)" % (
            rel, "folder" if disk[rel] == "dir" else
            "%d bytes" % len(disk[rel])))
    # Everything readable again through the mount, now that the link holds.
    bad_reads = 0
    for rel, want in sorted(files.items()):
        try:
            with open(os.path.join(args.mount, rel), "rb") as f:
                got = f.read()
        except OSError as e:
            bad_reads += 1
            problems.append("final read %s: %s" % (rel, e))
            continue
        if got != want:
            bad_reads += 1
            problems.append("final read %s: %s" % (rel, describe(got, want)))
    summary["final_files"] = len(files)
    summary["final_bytes"] = sum(len(v) for v in files.values())
    summary["final_reads_failed"] = bad_reads
    summary["temps_left"] = temps
    summary["cut_short"] = cut
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mount", required=True)
    ap.add_argument("--disk", required=True)
    ap.add_argument("--sub", default="chaos")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--ops", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-size", type=int, default=3 << 20)
    ap.add_argument("--inplace", action="store_true",
                    help="writes go in place (SFTP): a failed edit may be "
                    "partly applied")
    ap.add_argument("--proxy-pid", type=int, default=0)
    ap.add_argument("--op-timeout", type=int, default=90)
    ap.add_argument("--json")
    args = ap.parse_args()

    t0 = time.time()
    deadline = t0 + args.seconds if args.seconds > 0 else 0
    per = (args.ops + args.workers - 1) // args.workers if args.ops else 0
    if args.seconds > 0 and not args.ops:
        per = 0
    # The folders are set up before the chaos counts: retried (the proxy
    # may already be resetting).
    for k in range(args.workers):
        makedirs_retry(os.path.join(args.mount, args.sub, "w%d" % k))
    q = multiprocessing.Queue()
    procs = []
    for k in range(args.workers):
        p = multiprocessing.Process(target=worker_main,
                                    args=(k, args, per, deadline, q))
        p.start()
        procs.append(p)
    results = []
    for _ in procs:
        results.append(q.get())
    for p in procs:
        p.join()
    t_ops = time.time() - t0
    if args.proxy_pid:
        try:
            os.kill(args.proxy_pid, signal.SIGUSR1)
        except OSError:
            pass
    time.sleep(1)

    summary = {"seed": args.seed, "workers": args.workers,
               "seconds": round(t_ops, 1), "retired": {}}
    ops, errs = {}, {}
    problems = []
    for r in sorted(results, key=lambda r: r["k"]):
        problems.extend(r["problems"])
        for op, (n, f) in r["ops"].items():
            o = ops.setdefault(op, [0, 0])
            o[0] += n
            o[1] += f
        for k, v in r["errnos"].items():
            errs[k] = errs.get(k, 0) + v
    summary["ops"] = sum(v[0] for v in ops.values())
    summary["failed"] = sum(v[1] for v in ops.values())
    summary["by_op"] = ops
    summary["errnos"] = errs
    summary["reads_ok"] = sum(r["read_ok"] for r in results)
    summary["reads_failed"] = sum(r["read_fail"] for r in results)
    summary["read_bytes"] = sum(r["read_bytes"] for r in results)
    problems.extend(final_check(args, results, summary))
    summary["problems"] = problems

    print("chaos: seed %d, %d workers, %d operations in %.1f s, %d failed"
          % (args.seed, args.workers, summary["ops"], t_ops,
             summary["failed"]))
    print("ops (done/failed): " + ", ".join(
        "%s %d/%d" % (op, v[0], v[1]) for op, v in sorted(ops.items())))
    print("errors: " + (", ".join("%s x%d" % (k, v) for k, v in
                                  sorted(errs.items())) or "none"))
    print("reads: %d whole files read and compared (%d MiB), %d failed"
          % (summary["reads_ok"], summary["read_bytes"] >> 20,
             summary["reads_failed"]))
    print("retired files (touched by a failed operation): " + (", ".join(
        "%s %d" % kv for kv in sorted(summary["retired"].items())) or "none"))
    print("cut short (documented partial outcomes): %d" % len(
        summary["cut_short"]))
    for x in summary["cut_short"][:10]:
        print("  " + x)
    print("temporary files left: %d" % len(summary["temps_left"]))
    for x in summary["temps_left"][:10]:
        print("  " + x)
    print("final: %d files, %d MiB on the disk match the models; %d final "
          "reads failed" % (summary["final_files"],
                            summary["final_bytes"] >> 20,
                            summary["final_reads_failed"]))
    print("problems: %d" % len(problems))
    for x in problems[:40]:
        print("  " + x)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=1)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
