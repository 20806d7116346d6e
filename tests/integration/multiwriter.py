#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""multiwriter.py: several writers on one FTP server; every byte explained.

  multiwriter.py --disk DIR --mount MNT [--mount MNT2 ...] [--sub REL]
                 [--ops N] [--seed S] [--files K] [--log FILE]

Writers: one per --mount (through ftpfs) and one on --disk (the folder the
server serves, i.e. "another client" that writes the server's files
directly).  They run at the same time, in threads, each its own seeded
sequence of operations on K shared files (REL/f0 .. f{K-1}, REL default
"mw"):

  append     open O_WRONLY|O_APPEND|O_CREAT, write one record, close (>>)
  overwrite  open O_WRONLY|O_CREAT|O_TRUNC, write 1-3 records, close (>)
  replace    write a temporary file, rename it over the file (editors, rsync)
  rename     rename one shared file over another (or to a free name)
  patch      open O_RDWR, pwrite one record over a record, close (spooled)
  delete     unlink
  read       read the file; through a mount it may be stale or fail
             cleanly, but every byte it returns must be one some writer
             wrote

Records are unique 48-byte lines "R<seq>.<writer>.<op>.<file>.<padding>\\n",
so that every byte on the server can be traced to the operation that wrote
it.  Operations on the same file are serialised by the exerciser (locks per
file name, held until close returns), so the server's file after each
operation is known exactly.  Operations on different files run at the same
time (ftpfs's shared state, connections and caches are exercised
concurrently; the servers never see two writers on one file, which no FTP
server could order).

After every operation the exerciser reads the involved files on the server's
disk:
  - the operation reported success: the files must be exactly what the model
    says (nothing lost, nothing duplicated, nothing resurrected);
  - it reported an error (the writer was told): the files must be one of the
    outcomes that error allows (e.g. a failed append: the file as before, or
    with the record appended once; never truncated or deleted; a failed
    rename: before or after), and the model follows the server.
At the end (after a pause for anything ftpfs might still do) every file on the
server must be in the model, byte for byte, and every record accounted for:
present exactly once where the model puts it, or removed by a recorded
operation (overwrite, replace, delete, rename over its file), or written by an
operation that reported an error.

Prints the seed (MW_SEED=S reproduces the same sequences; the interleaving of
the threads is up to the scheduler), a summary, and each problem; exits 0
when there were none.  --log FILE gets one JSON line per operation.
"""
import argparse
import errno
import json
import os
import random
import re
import sys
import threading
import time

REC_LEN = 48
REC_RE = re.compile(rb"^R(\d{6})\.(\w+)\.(\w+)\.(\w+)\.[a-z]+\n$")
DEAD = {errno.ENOTCONN, errno.ECONNABORTED}


def en(e):
    return errno.errorcode.get(e.errno, str(e.errno))


class State:
    def __init__(self, files):
        self.files = files
        self.model = {}            # name -> list of record lines (bytes) | absent
        self.locks = {n: threading.Lock() for n in files}
        self.glock = threading.Lock()
        self.seq = 0
        self.opno = 0
        self.written = {}          # record line -> op number
        self.fate = {}             # record line -> "present"/why it is gone
        self.problems = []
        self.stats = {}
        self.stale_reads = 0
        self.errors_reported = 0
        self.dead = False
        self.log = []

    def next_seq(self):
        with self.glock:
            self.seq += 1
            return self.seq

    def next_op(self):
        with self.glock:
            self.opno += 1
            return self.opno

    def problem(self, msg):
        with self.glock:
            self.problems.append(msg)
        print("problem: " + msg, flush=True)

    def count(self, key):
        with self.glock:
            self.stats[key] = self.stats.get(key, 0) + 1


class Writer:
    def __init__(self, st, wid, root, is_disk, seed, ops, disk_root):
        self.st = st
        self.wid = wid
        self.root = root
        self.is_disk = is_disk
        self.rng = random.Random(seed)
        self.ops = ops
        self.disk_root = disk_root

    def p(self, name):
        return os.path.join(self.root, name)

    def record(self, kind, name):
        seq = self.st.next_seq()
        head = b"R%06d.%s.%s.%s." % (seq, self.wid.encode(), kind.encode(), name.encode())
        pad = REC_LEN - 1 - len(head)
        line = head + bytes(self.rng.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(pad)) + b"\n"
        assert len(line) == REC_LEN
        return line

    def own(self, path):
        if self.is_disk:
            uid, gid = os.environ.get("SRV_UID"), os.environ.get("SRV_GID")
            if uid and gid:
                os.chown(path, int(uid), int(gid))

    # -- the operations; each returns None or the OSError it met --
    def do_write(self, name, data, flags):
        path = self.p(name)
        fd = os.open(path, flags, 0o644)
        try:
            self.own(path)
            n = os.write(fd, data)
            if n != len(data):
                raise OSError(errno.EIO, "short write %d of %d" % (n, len(data)))
        except OSError:
            try:
                os.close(fd)
            except OSError:
                pass
            raise
        os.close(fd)

    def run(self):
        for _ in range(self.ops):
            if self.st.dead:
                return
            self.step()
            if self.is_disk:
                time.sleep(self.rng.random() * 0.02)

    def step(self):
        st, rng = self.st, self.rng
        kind = rng.choices(["append", "overwrite", "replace", "rename", "patch",
                            "delete", "read"], [35, 10, 10, 10, 10, 5, 20])[0]
        name = rng.choice(st.files)
        other = rng.choice([f for f in st.files if f != name])
        names = sorted({name, other}) if kind == "rename" else [name]
        # Fixed draws (so that the sequence does not depend on the model).
        nrec = rng.randint(1, 3)
        pick = rng.random()
        for n in names:
            st.locks[n].acquire()
        try:
            self.locked_step(kind, name, other, nrec, pick)
        finally:
            for n in reversed(names):
                st.locks[n].release()

    def locked_step(self, kind, name, other, nrec, pick):
        st = self.st
        cur = st.model.get(name)
        if kind in ("rename", "patch", "delete", "read") and not cur:
            kind = "append"   # needs an existing (non-empty) file
        opno = st.next_op()
        tmp = None
        recs = []
        involved = [name]
        before = {name: st.model.get(name)}
        if kind == "rename":
            involved.append(other)
            before[other] = st.model.get(other)
        if kind in ("append",):
            recs = [self.record(kind, name)]
        elif kind in ("overwrite", "replace"):
            recs = [self.record(kind, name) for _ in range(nrec)]
        elif kind == "patch":
            recs = [self.record(kind, name)]
        t0 = time.time()
        err = None
        read_back = None
        try:
            if kind == "append":
                self.do_write(name, recs[0], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
            elif kind == "overwrite":
                self.do_write(name, b"".join(recs), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            elif kind == "replace":
                tmp = "tmp-%s-%d" % (self.wid, opno)
                self.do_write(tmp, b"".join(recs), os.O_WRONLY | os.O_CREAT | os.O_EXCL)
                os.rename(self.p(tmp), self.p(name))
            elif kind == "rename":
                os.rename(self.p(name), self.p(other))
            elif kind == "patch":
                j = int(pick * len(cur))
                fd = os.open(self.p(name), os.O_RDWR)
                try:
                    os.pwrite(fd, recs[0], j * REC_LEN)
                except OSError:
                    os.close(fd)
                    raise
                os.close(fd)
            elif kind == "delete":
                os.unlink(self.p(name))
            elif kind == "read":
                with open(self.p(name), "rb") as f:
                    read_back = f.read()
        except OSError as e:
            err = e
        t1 = time.time()
        st.count("%s %s%s" % (self.wid, kind, " error" if err else ""))
        if err is not None:
            st.errors_reported += 1
            if err.errno in DEAD:
                st.problem("op %d (%s %s %s): the mount died: %s" % (opno, self.wid, kind, name, en(err)))
                st.dead = True
        entry = {"op": opno, "writer": self.wid, "kind": kind, "file": name,
                 "to": other if kind == "rename" else None,
                 "records": [r.decode().strip() for r in recs],
                 "error": en(err) if err else None, "t0": t0, "t1": t1}
        with st.glock:
            st.log.append(entry)
            for r in recs:
                st.written[r] = opno
        # --- expected outcome(s) ---
        new = dict(before)
        if kind == "append":
            new[name] = (before[name] or []) + recs
        elif kind in ("overwrite", "replace"):
            new[name] = list(recs)
        elif kind == "rename":
            new[other] = before[name]
            new[name] = None
        elif kind == "patch":
            lst = list(before[name])
            lst[int(pick * len(lst))] = recs[0]
            new[name] = lst
        elif kind == "delete":
            new[name] = None
        if kind == "read":
            self.check_read(opno, name, before[name], read_back, err)
            return
        allowed = [new]
        if err is not None:
            allowed.append(dict(before))
            if kind in ("append", "overwrite"):
                # O_CREAT made the file (or O_TRUNC emptied it, as asked)
                # and the data did not all arrive.
                if kind == "overwrite" or before[name] is None:
                    for k in range(len(recs)):
                        allowed.append({name: recs[:k]})
        actual = {n: self.disk_lines(n) for n in involved}
        desc = "op %d (%s %s %s%s%s)" % (opno, self.wid, kind, name,
                                         " -> " + other if kind == "rename" else "",
                                         ", error " + en(err) if err else "")
        if actual not in [{n: a.get(n) for n in involved} for a in allowed]:
            if err is None:
                st.problem("%s reported success, but the server has %s" % (desc, self.diff(new, actual)))
            else:
                st.problem("%s: the writer was told it failed, but the server is in none of the states "
                           "that allows: %s" % (desc, self.diff(before, actual)))
        # The model follows the server (after a problem: so that one is
        # reported once).
        for n in involved:
            st.model[n] = actual[n]
        if tmp is not None:
            left = os.path.join(self.disk_root, tmp)
            if os.path.lexists(left):
                if err is None:
                    st.problem("%s: the temporary file %s is still on the server" % (desc, tmp))
                os.unlink(left)   # a failed replace may leave it: explained

    def disk_lines(self, name):
        try:
            with open(os.path.join(self.disk_root, name), "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return None
        return split_lines(data)

    def diff(self, want, actual):
        out = []
        for n in sorted(set(want) | set(actual)):
            w, a = want.get(n), actual.get(n)
            if w == a:
                continue
            if a is None:
                out.append("%s: gone (expected %d records)" % (n, len(w)))
                continue
            if w is None:
                out.append("%s: %d records (expected no file)" % (n, len(a)))
                continue
            miss = [x for x in w if x not in a]
            extra = [x for x in a if x not in w]
            s = "%s: %d records (expected %d)" % (n, len(a), len(w))
            if miss:
                s += "; missing %s" % ", ".join(short(x) for x in miss[:4])
            if extra:
                s += "; unexpected %s" % ", ".join(short(x) for x in extra[:4])
            if not miss and not extra:
                s += "; same records, other order or duplicates"
            out.append(s)
        return "; ".join(out) or "(no difference)"

    def check_read(self, opno, name, model, data, err):
        st = self.st
        if err is not None:
            # Through a mount a stale view may fail (cleanly): not a loss.
            if self.is_disk:
                st.problem("op %d (disk read %s): %s" % (opno, name, en(err)))
            else:
                st.stale_reads += 1
            return
        lines = split_lines(data)
        if self.is_disk:
            if lines != model:
                st.problem("op %d (disk read %s): the model is wrong (exerciser bug)" % (opno, name))
            return
        if lines == model:
            return
        st.stale_reads += 1
        with st.glock:
            known = set(st.written)
        for i, ln in enumerate(lines):
            if ln in known:
                continue
            if i == len(lines) - 1 and not ln.endswith(b"\n") and any(k.startswith(ln) for k in known):
                continue   # a stale size cut the last record
            st.problem("op %d (%s read %s): bytes nobody wrote: %r" % (opno, self.wid, name, ln[:60]))
            return


def split_lines(data):
    return [ln for ln in data.splitlines(keepends=True)]


def short(line):
    """The head of a record, or a printable view of other bytes."""
    if REC_RE.match(line):
        return line[:24].decode().rstrip(".")
    return repr(line[:40])


def final_check(st, disk, files):
    problems_before = len(st.problems)
    on_disk = {}
    for fn in sorted(os.listdir(disk)):
        p = os.path.join(disk, fn)
        if fn not in files:
            st.problem("unexplained file on the server: %s (%d bytes)" %
                       (fn, os.path.getsize(p) if os.path.isfile(p) else -1))
            continue
        with open(p, "rb") as f:
            on_disk[fn] = split_lines(f.read())
    seen = {}
    for fn, lines in on_disk.items():
        for ln in lines:
            if ln not in st.written:
                st.problem("%s: bytes nobody wrote: %r" % (fn, ln[:60]))
                continue
            seen.setdefault(ln, []).append(fn)
    for ln, where in seen.items():
        if len(where) > 1:
            st.problem("record %s is on the server %d times (%s)" % (short(ln), len(where), ", ".join(where)))
    for fn in files:
        if st.model.get(fn) != on_disk.get(fn):
            st.problem("at the end, %s on the server differs from the model: %s" %
                       (fn, Writer.diff(None, {fn: st.model.get(fn)}, {fn: on_disk.get(fn)})))
    # Every record: where it is, or why it is not.
    in_model = {ln for lst in st.model.values() if lst for ln in lst}
    ok_ops = {e["op"] for e in st.log if e["error"] is None}
    present = gone_explained = failed_absent = 0
    for ln, op in st.written.items():
        if ln in seen:
            present += 1
        elif op not in ok_ops:
            failed_absent += 1
        elif ln in in_model:
            st.problem("record %s (op %d, reported success) vanished from the server" % (short(ln), op))
        else:
            gone_explained += 1
    print("records: %d written, %d on the server, %d removed by later recorded operations, "
          "%d not there whose operation reported an error" %
          (len(st.written), present, gone_explained, failed_absent))
    return len(st.problems) - problems_before


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--disk", required=True)
    ap.add_argument("--mount", action="append", default=[])
    ap.add_argument("--sub", default="mw")
    ap.add_argument("--ops", type=int, default=300)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--files", type=int, default=5)
    ap.add_argument("--log")
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else random.randrange(1 << 31)
    print("multiwriter: seed %d (MW_SEED=%d reproduces the sequences), %d ops, %d writers, %d files" %
          (seed, seed, a.ops, len(a.mount) + 1, a.files), flush=True)
    disk = os.path.join(a.disk, a.sub)
    files = ["f%d" % i for i in range(a.files)]
    st = State(files)
    for fn in os.listdir(disk):
        st.problem("the folder %s is not empty at the start: %s" % (disk, fn))
    writers = []
    nw = len(a.mount) + 1
    per = [a.ops // nw + (1 if i < a.ops % nw else 0) for i in range(nw)]
    for i, m in enumerate(a.mount):
        writers.append(Writer(st, "m%d" % (i + 1), os.path.join(m, a.sub), False,
                              seed * 10 + i, per[i], disk))
    writers.append(Writer(st, "disk", disk, True, seed * 10 + 9, per[-1], disk))
    threads = [threading.Thread(target=w.run) for w in writers]
    t0 = time.time()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    t_ops = time.time() - t0
    time.sleep(2)   # anything ftpfs still does after close would land now
    final_check(st, disk, files)
    if a.log:
        with open(a.log, "w") as f:
            for e in sorted(st.log, key=lambda e: e["op"]):
                f.write(json.dumps(e) + "\n")
    print("ops by writer and kind: " + ", ".join("%s %d" % (k, v) for k, v in sorted(st.stats.items())))
    print("%d operations in %.1fs; %d reported an error to their writer; %d stale reads through a mount" %
          (st.opno, t_ops, st.errors_reported, st.stale_reads))
    print("%d problem(s)" % len(st.problems))
    sys.exit(1 if st.problems else 0)


if __name__ == "__main__":
    main()
