#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""shared_ops.py: descriptor-level checks of test_shared.sh (issue 8).

Each command runs one scenario through an ftpfs mount (MNT) while looking at
the server's folder (DISK) directly, prints what it saw, and exits 0 when
every expectation held, 1 otherwise (2: the scenario could not be set up).

  unlinked-rdwr MNT DISK NAME     open O_RDWR|O_CREAT, write, unlink, pread,
                                  fstat, ftruncate (fstat, pread see it),
                                  close: the name stays gone
  unlinked-stream MNT DISK NAME   open O_WRONLY|O_CREAT|O_TRUNC, write,
                                  unlink, write more, close
  unlinked-rdonly MNT DISK NAME   an existing file (made on DISK) opened
                                  O_RDONLY, unlinked, fstat
  unlinked-ops MNT DISK NAME      every descriptor operation after unlink
                                  (pwrite, pread, ftruncate, fchmod, futimens,
                                  fsync, fstat, fdatasync): each works or
                                  fails cleanly; the name is not recreated
  unlinked-recreate MNT DISK NAME [N]
                                  N times: open, unlink, and some 20 ms later
                                  (when ftpfs removes the old name on its own)
                                  create the name again and write it: every
                                  create works and the server keeps it
  replaced-open MNT DISK NAME     rename over a file open for reading: the
                                  descriptor reads the old file, the name
                                  the new one, no hidden name left
  reader-sees-write MNT DISK NAME a small file open for reading (read whole
                                  at open where the backend can) is written
                                  through another descriptor of the mount:
                                  the reader's next pread shows the bytes
  unlinked-theirs MNT DISK NAME   an open file unlinked through the mount is
                                  gone from the server when unlink returns;
                                  the file another client then makes under
                                  the name survives the mount's later
                                  operations and the descriptor's close
  replace-open-fails MNT DISK NAME
                                  rename(a, NAME) while NAME is open, where a
                                  vanished on the server after the mount
                                  looked it up: the rename fails and NAME's
                                  file is still on the server, unchanged
  rename-writing MNT DISK NAME    pwrite at offsets (spooled) in one thread
                                  while the file is renamed in another
  many-files MNT DISK N           N spooled writers on N files, renamed while
                                  open: data under the new names only
  many-fds MNT DISK N             N O_RDWR descriptors on one file, pwrite at
                                  distinct offsets, rename, close all
  spool-conflict MNT DISK SPOOL NAME HOW [MNT2]
                                  open O_RDWR, pwrite, another client
                                  rewrites the file (HOW: size = different
                                  size, mtime = same size, other bytes and
                                  mtime, mount2 = through MNT2), close: EIO,
                                  the other client's bytes on the server,
                                  our copy in SPOOL.  HOW before: the other
                                  client appends after the mount stat'ed the
                                  file but before the open: the pwrite lands
                                  in the server's current file (their tail
                                  kept), or close fails and theirs is intact
  idle-writer MNT DISK NAME       a descriptor that wrote and fsync'ed stays
                                  open while the file grows by truncate(2)
                                  and by an append through a second
                                  descriptor: stat and a read through the
                                  mount show the server's file, and the
                                  last close leaves it so
  read-ahead MNT DISK DIR         20 small files read one after another (so
                                  that the next ones are read ahead), while
                                  some ahead are rewritten (same size),
                                  renamed over and unlinked through the
                                  mount: every read shows the change
  prepare DISK                    make the files the commands above expect
                                  to find (run before mounting: a mount that
                                  has listed a folder does not see files
                                  added to it on the disk until its cache
                                  expires)
Files made on DISK are given to the uid/gid in $SRV_UID/$SRV_GID (the FTP
user), as the servers must be able to write them.
"""
import errno
import hashlib
import os
import random
import sys
import threading
import time

# The server keeps an unlinked file for its open handles (SFTP).
HANDLES = os.environ.get("SHARED_HANDLES") == "1"

# Errors that mean the mount itself is gone (ftpfs crashed or hung).
DEAD = {errno.ENOTCONN, errno.ECONNABORTED}

problems = []


def en(e):
    return errno.errorcode.get(e.errno, str(e.errno))


def fail(msg):
    problems.append(msg)
    print("problem: " + msg, flush=True)


def say(msg):
    print(msg, flush=True)


def sha(b):
    return "%d bytes sha256 %s" % (len(b), hashlib.sha256(b).hexdigest()[:16])


def rnd(seed, n):
    return random.Random(seed).randbytes(n)


def disk_put(disk, name, data, mtime=None):
    p = os.path.join(disk, name)
    with open(p, "wb") as f:
        f.write(data)
    own(p)
    if mtime is not None:
        os.utime(p, (mtime, mtime))


def own(p):
    uid, gid = os.environ.get("SRV_UID"), os.environ.get("SRV_GID")
    if uid and gid:
        os.chown(p, int(uid), int(gid))


def disk_get(disk, name):
    try:
        with open(os.path.join(disk, name), "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


def alive(mnt):
    try:
        os.listdir(mnt)
        return True
    except OSError as e:
        fail("the mount is dead afterwards: listdir gives %s" % en(e))
        return False


def step(desc, fn, *args, want=None):
    """Run fn(*args); print the outcome; returns (ok, value or OSError)."""
    try:
        v = fn(*args)
    except OSError as e:
        say("%s: %s" % (desc, en(e)))
        if e.errno in DEAD:
            fail("%s: the mount died (%s)" % (desc, en(e)))
        elif want is not None:
            fail("%s: %s, expected %s" % (desc, en(e), want))
        return False, e
    say("%s: ok%s" % (desc, "" if v is None else " (%s)" % short(v)))
    return True, v


def short(v):
    if isinstance(v, bytes):
        return sha(v)
    if isinstance(v, os.stat_result):
        return "size %d" % v.st_size
    return str(v)


def wait_gone(disk, name, secs=3.0):
    """The name is absent on the server's disk (allowing a moment for
    anything ftpfs does after close)."""
    t_end = time.time() + secs
    while time.time() < t_end:
        if not os.path.lexists(os.path.join(disk, name)):
            return True
        time.sleep(0.2)
    return not os.path.lexists(os.path.join(disk, name))


def no_hidden(disk, name, secs=3.0):
    """After the last close, no ".fuse_hidden" name (where the server
    keeps a file unlinked while open, on SFTP) and no ".NAME.ftpfs-gone-"
    name (where it waits a moment on FTP) is left in name's folder."""
    d = os.path.join(disk, os.path.dirname(name))
    t_end = time.time() + secs
    while True:
        left = [e for e in os.listdir(d)
                if e.startswith(".fuse_hidden") or ".ftpfs-gone-" in e]
        if not left or time.time() >= t_end:
            break
        time.sleep(0.2)
    if left:
        fail("hidden names left on the server after close: %s" % " ".join(left))


# --- open-unlinked files ---------------------------------------------------

def unlinked_rdwr(mnt, disk, name):
    p = os.path.join(mnt, name)
    data = b"written-before-unlink\n" * 100
    fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o644)
    step("write", os.write, fd, data, want="ok")
    step("unlink", os.unlink, p, want="ok")
    ok, v = step("pread after unlink", os.pread, fd, len(data) + 10, 0,
                 want="the bytes written")
    if ok and v != data:
        fail("pread after unlink gives %s, expected %s" % (sha(v), sha(data)))
    ok, v = step("fstat after unlink", os.fstat, fd, want="st_size")
    if ok and v.st_size != len(data):
        fail("fstat after unlink: st_size %d, expected %d" % (v.st_size, len(data)))
    # SQLite's temporary files live like this: ftruncate must cut them.
    step("ftruncate 30 after unlink", os.ftruncate, fd, 30, want="ok")
    ok, v = step("fstat after ftruncate", os.fstat, fd, want="st_size")
    if ok and v.st_size != 30:
        fail("fstat after ftruncate 30: st_size %d" % v.st_size)
    ok, v = step("pread after ftruncate", os.pread, fd, len(data), 0,
                 want="the first 30 bytes")
    if ok and v != data[:30]:
        fail("pread after ftruncate 30 gives %s, expected %s" %
             (sha(v), sha(data[:30])))
    step("close", os.close, fd, want="ok")
    if not wait_gone(disk, name):
        fail("the unlinked name is back on the server after close (%s)" %
             sha(disk_get(disk, name) or b""))
    no_hidden(disk, name)
    alive(mnt)


def unlinked_stream(mnt, disk, name):
    p = os.path.join(mnt, name)
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    step("write", os.write, fd, b"first part\n" * 1000, want="ok")
    step("unlink", os.unlink, p, want="ok")
    step("write after unlink", os.write, fd, b"second part\n" * 1000)
    ok, v = step("fstat after unlink", os.fstat, fd)
    if not ok and v.errno == errno.ESTALE:
        fail("fstat of an open unlinked file: ESTALE")
    step("close", os.close, fd, want="0 (ok)")
    if not wait_gone(disk, name):
        fail("the unlinked name is back on the server after close (%s)" %
             sha(disk_get(disk, name) or b""))
    no_hidden(disk, name)
    alive(mnt)


RW_ROUNDS = 5
MF_BASE = 20000
MFD_LEN = 64 * 1024
SC_HOWS = ("size", "mtime", "mount2", "before")
SC_OLD = 7200     # seconds: how old the file is before the conflict


def prepare(disk):
    """Existing files of the checks, in folders of their own."""
    def mk(rel, data, mtime=None):
        d = os.path.join(disk, os.path.dirname(rel))
        if not os.path.isdir(d):
            os.makedirs(d)
            own(d)
        disk_put(disk, rel, data, mtime)
    mk("ul/ul-rdonly.bin", rnd(7, 12345))
    for i in range(RW_ROUNDS):
        mk("rw%d/rw.bin" % i, rnd(11, 300000))
    for i in range(40):
        mk("mf/mf-%02d" % i, rnd(100 + i, MF_BASE + i))
    mk("mfd/mfd.bin", rnd(5, MFD_LEN))
    for how in SC_HOWS:
        mk("sc-%s/sc.bin" % how, rnd(21, 50000), int(time.time()) - SC_OLD)


def unlinked_rdonly(mnt, disk, name):
    data = rnd(7, 12345)
    p = os.path.join(mnt, name)
    fd = os.open(p, os.O_RDONLY)
    step("unlink", os.unlink, p, want="ok")
    # Gone from the server when unlink returns: another client may make
    # the name again the next moment.
    if os.path.lexists(os.path.join(disk, name)):
        fail("unlink reported success but the server still has the file")
    ok, v = step("fstat after unlink", os.fstat, fd, want="st_size")
    if ok and v.st_size != len(data):
        fail("fstat after unlink: st_size %d, expected %d" % (v.st_size, len(data)))
    # Reading may work (from what ftpfs holds) or fail cleanly; where the
    # server holds the file for the handle (SFTP: $SHARED_HANDLES), it works.
    if HANDLES:
        ok, v = step("pread after unlink", os.pread, fd, len(data) + 10, 0,
                     want="the file's bytes")
        if ok and v != data:
            fail("pread after unlink gives %s, expected %s" % (sha(v), sha(data)))
    else:
        ok, v = step("pread after unlink (may fail cleanly)", os.pread, fd, 100, 0)
        if ok and v and v != data[:len(v)]:
            fail("pread after unlink gives other bytes: %s" % sha(v))
    step("close", os.close, fd, want="ok")
    if not wait_gone(disk, name):
        fail("the unlinked name is back on the server after close")
    no_hidden(disk, name)
    alive(mnt)


def unlinked_recreate(mnt, disk, name, n="40"):
    p = os.path.join(mnt, name)
    rng = random.Random(8)
    lost = 0
    for i in range(int(n)):
        with open(p, "wb") as f:
            f.write(b"old\n")
        fd = os.open(p, os.O_RDONLY)
        os.unlink(p)
        time.sleep(rng.uniform(0.017, 0.026))
        want = b"new %d\n" % i
        try:
            with open(p, "wb") as f:
                f.write(want)
        except OSError as e:
            fail("round %d: create after unlink: %s" % (i, en(e)))
            os.close(fd)
            break
        os.close(fd)
        got = disk_get(disk, name)
        if got != want:
            lost += 1
            fail("round %d: the server has %r, the create wrote %r" %
                 (i, got, want))
            break
    if not lost and not problems:
        say("%s rounds: every create after an unlink is on the server" % n)
    alive(mnt)


def unlinked_ops(mnt, disk, name):
    p = os.path.join(mnt, name)
    data = b"0123456789" * 500
    for flags, label in ((os.O_RDWR | os.O_CREAT, "O_RDWR"),
                         (os.O_WRONLY | os.O_CREAT | os.O_TRUNC, "O_WRONLY|O_TRUNC"),
                         (os.O_WRONLY | os.O_CREAT | os.O_APPEND, "O_APPEND")):
        say("-- %s" % label)
        fd = os.open(p, flags, 0o644)
        step("write", os.write, fd, data, want="ok")
        step("unlink", os.unlink, p, want="ok")
        step("pwrite", os.pwrite, fd, b"XYZ", 10)
        step("write", os.write, fd, b"more")
        if flags & os.O_RDWR:
            step("pread", os.pread, fd, 50, 0)
        step("fstat", os.fstat, fd)
        step("ftruncate", os.ftruncate, fd, 100)
        step("fchmod", os.fchmod, fd, 0o600)
        step("futimens", os.utime, fd, (1000000000, 1000000000))
        step("fsync", os.fsync, fd)
        step("fdatasync", os.fdatasync, fd)
        step("fstat", os.fstat, fd)
        step("close", os.close, fd)
        if not wait_gone(disk, name):
            fail("%s: the unlinked name is back on the server after close" % label)
        no_hidden(disk, name)
        if not alive(mnt):
            return


def replaced_open(mnt, disk, name):
    """rename(new, name) while name is open for reading: the descriptor
    keeps reading the old file; the server has the new one under name at
    once (no moment without it, where the backend can link); nothing of
    either is left under another name after close."""
    old, new = rnd(31, 70000), rnd(32, 50000)
    p, q = os.path.join(mnt, name), os.path.join(mnt, name + ".new")
    with open(p, "wb") as f:
        f.write(old)
    with open(q, "wb") as f:
        f.write(new)
    fd = os.open(p, os.O_RDONLY)
    step("read the first 100 bytes", os.pread, fd, 100, 0)
    step("rename over the open file", os.rename, q, p, want="ok")
    if disk_get(disk, name) != new:
        fail("after the rename the server's file is not the new one")
    ok, v = step("pread of the old file after the rename", os.pread, fd,
                 len(old) + 10, 0, want="the old file's bytes" if HANDLES else None)
    if ok and v != (old if HANDLES else old[:len(v)]):
        fail("pread after rename-over gives other bytes: %s" % sha(v))
    ok, v = step("fstat of the old file", os.fstat, fd)
    step("close", os.close, fd, want="ok")
    with open(p, "rb") as f:
        got = f.read()
    if got != new:
        fail("the name reads %s, expected the new file %s" % (sha(got), sha(new)))
    no_hidden(disk, name)
    alive(mnt)


def reader_sees_write(mnt, disk, name):
    """POSIX: a read sees every write that returned before it, also one
    made through another descriptor.  A small file is served from memory
    once read whole (fahead.c); a write through the mount must end that."""
    p = os.path.join(mnt, name)
    data = rnd(51, 5000)
    with open(p, "wb") as f:
        f.write(data)
    time.sleep(0.2)
    r = os.open(p, os.O_RDONLY)
    try:
        ok, v = step("pread before", os.pread, r, 100, 0, want="the bytes")
        if ok and v != data[:100]:
            fail("pread before the write gives %s" % sha(v))
        w = os.open(p, os.O_WRONLY)
        step("pwrite XYZ at 10 through another descriptor", os.pwrite, w,
             b"XYZ", 10, want="ok")
        step("close the writer", os.close, w, want="ok")
        want = data[:10] + b"XYZ" + data[13:]
        ok, v = step("pread after", os.pread, r, len(data) + 10, 0,
                     want="the bytes written")
        if ok and v != want:
            fail("pread after the write gives %s, expected %s (%s)" %
                 (sha(v), sha(want), "the old bytes" if v == data else "other bytes"))
    finally:
        os.close(r)
    if disk_get(disk, name) != want:
        fail("the server's file is not what was written")
    alive(mnt)


def unlinked_theirs(mnt, disk, name):
    """unlink of an open file, then another client makes the name: the
    server must have had the name removed by the time unlink returned, and
    nothing the mount does afterwards (its next operations, the close of
    the old descriptor) may remove the other client's file."""
    theirs = b"the other client's file\n" * 40
    rounds = 5
    base = name
    for i in range(rounds):
        # A name per round: the mount's cache may remember the last one.
        name = "%s.%d" % (base, i)
        p = os.path.join(mnt, name)
        with open(p, "wb") as f:
            f.write(b"ours %d\n" % i)
        fd = os.open(p, os.O_RDONLY)
        step("round %d: unlink the open file" % i, os.unlink, p, want="ok")
        if os.path.lexists(os.path.join(disk, name)):
            fail("round %d: unlink returned, the server still has the name" % i)
        disk_put(disk, name, theirs)
        # The mount's next operations, a pause past any grace, the close.
        try:
            os.listdir(os.path.dirname(p))
            os.stat(os.path.join(mnt, os.path.dirname(name)))
        except OSError as e:
            fail("round %d: the folder through the mount: %s" % (i, en(e)))
        time.sleep(0.1)
        os.close(fd)
        time.sleep(0.2)
        got = disk_get(disk, name)
        if got != theirs:
            fail("round %d: the other client's new file is %s after the "
                 "mount's close" % (i, "gone" if got is None else "changed"))
            break
        os.unlink(os.path.join(disk, name))
        no_hidden(disk, name)
    if not problems:
        say("%d rounds: unlink removed the name at once, their new file stayed" % rounds)
    alive(mnt)


def replace_open_fails(mnt, disk, name):
    """libfuse moves an open target aside before the rename over it; when
    that rename then fails, the target's file must be back under its name."""
    p = os.path.join(mnt, name)
    src = name + ".src"
    ps = os.path.join(mnt, src)
    old = rnd(41, 30000)
    with open(p, "wb") as f:
        f.write(old)
    with open(ps, "wb") as f:
        f.write(b"the new file\n")
    os.stat(ps)                      # the mount knows the source ...
    os.unlink(os.path.join(disk, src))   # ... which another client removes
    fd = os.open(p, os.O_RDONLY)
    ok, v = step("rename the vanished source over the open file", os.rename,
                 ps, p)
    if ok:
        fail("the rename of a source that is gone reported success")
    got = disk_get(disk, name)
    if got != old:
        fail("after the failed rename the server's %s is %s" %
             (name, "gone" if got is None else "changed (%s)" % sha(got)))
    os.close(fd)
    time.sleep(0.3)
    got = disk_get(disk, name)
    if got != old:
        fail("after the close the server's %s is %s" %
             (name, "gone" if got is None else "changed (%s)" % sha(got)))
    try:
        with open(p, "rb") as f:
            back = f.read()
        if back != old:
            fail("the name reads %s through the mount, expected %s" % (sha(back), sha(old)))
    except OSError as e:
        fail("reading the name back through the mount: %s" % en(e))
    no_hidden(disk, name)
    alive(mnt)


# --- rename while written -------------------------------------------------------

def rename_writing(mnt, disk, name):
    base = rnd(11, 300000)
    for rnd_i in range(RW_ROUNDS):
        name = "rw%d/rw.bin" % rnd_i
        new = name + ".renamed"
        if disk_get(disk, name) != base:
            print("setup: %s is not on the server as prepared" % name)
            sys.exit(2)
        model = bytearray(base)
        p, q = os.path.join(mnt, name), os.path.join(mnt, new)
        try:
            os.stat(p)  # let the mount see the file made on disk
        except OSError:
            pass
        fd = os.open(p, os.O_RDWR)
        errors = []
        stop = threading.Event()
        r = random.Random(rnd_i)

        def writer():
            i = 0
            while not stop.is_set() or i < 40:
                off = r.randrange(0, len(base) - 64)
                chunk = b"W%05d-%d" % (i, rnd_i) * 4
                try:
                    os.pwrite(fd, chunk, off)
                    model[off:off + len(chunk)] = chunk
                except OSError as e:
                    errors.append("pwrite %d: %s" % (off, en(e)))
                    return
                i += 1
                if i > 400:
                    return

        th = threading.Thread(target=writer)
        th.start()
        time.sleep(0.01 * rnd_i)
        ok, _ = step("round %d: rename while pwrite goes on" % rnd_i,
                     os.rename, p, q, want="ok")
        stop.set()
        th.join()
        for e in errors:
            fail("round %d: %s" % (rnd_i, e))
        step("round %d: close" % rnd_i, os.close, fd, want="ok")
        got_new, got_old = disk_get(disk, new), disk_get(disk, name)
        if got_old is not None:
            fail("round %d: the old name is still on the server (%s)" % (rnd_i, sha(got_old)))
        if got_new != bytes(model):
            fail("round %d: the new name holds %s, expected %s" %
                 (rnd_i, sha(got_new) if got_new is not None else "nothing",
                  sha(bytes(model))))
        else:
            say("round %d: the new name holds every write" % rnd_i)
        if not alive(mnt):
            return


def many_files(mnt, disk, n):
    n = int(n)
    names = ["mf/mf-%02d" % i for i in range(n)]
    models, fds = {}, {}
    for i, nm in enumerate(names):
        models[nm] = bytearray(rnd(100 + i, MF_BASE + i))
        if disk_get(disk, nm) != bytes(models[nm]):
            print("setup: %s is not on the server as prepared" % nm)
            sys.exit(2)
    for nm in names:
        try:
            os.stat(os.path.join(mnt, nm))
        except OSError:
            pass
    for i, nm in enumerate(names):
        try:
            fds[nm] = os.open(os.path.join(mnt, nm), os.O_RDWR)
        except OSError as e:
            fail("open %s O_RDWR: %s" % (nm, en(e)))
    for i, nm in enumerate(names):
        if nm not in fds:
            continue
        chunk = b"[writer %02d]" % i
        off = 1000 + 37 * i
        try:
            os.pwrite(fds[nm], chunk, off)
            models[nm][off:off + len(chunk)] = chunk
        except OSError as e:
            fail("pwrite %s: %s" % (nm, en(e)))
    for nm in names:
        try:
            os.rename(os.path.join(mnt, nm), os.path.join(mnt, nm + ".new"))
        except OSError as e:
            fail("rename %s: %s" % (nm, en(e)))
    for i, nm in enumerate(names):
        if nm not in fds:
            continue
        chunk = b"<after rename %02d>" % i
        off = 5000 + 11 * i
        try:
            os.pwrite(fds[nm], chunk, off)
            models[nm][off:off + len(chunk)] = chunk
        except OSError as e:
            fail("pwrite %s after rename: %s" % (nm, en(e)))
    for nm, fd in fds.items():
        try:
            os.close(fd)
        except OSError as e:
            fail("close %s: %s" % (nm, en(e)))
    bad = 0
    for nm in names:
        old, new = disk_get(disk, nm), disk_get(disk, nm + ".new")
        if old is not None:
            fail("%s: the old name is on the server again (%s)" % (nm, sha(old)))
            bad += 1
        if new != bytes(models[nm]):
            fail("%s.new holds %s, expected %s" %
                 (nm, sha(new) if new is not None else "nothing", sha(bytes(models[nm]))))
            bad += 1
    say("%d files written by %d spooled writers, renamed while open: %d wrong" %
        (n, len(fds), bad))
    alive(mnt)


def many_fds(mnt, disk, n):
    n = int(n)
    name = "mfd/mfd.bin"
    model = bytearray(rnd(5, MFD_LEN))
    p = os.path.join(mnt, name)
    try:
        os.stat(p)
    except OSError:
        pass
    fds = []
    for i in range(n):
        try:
            fds.append(os.open(p, os.O_RDWR))
        except OSError as e:
            fail("open #%d O_RDWR: %s" % (i, en(e)))
    for i, fd in enumerate(fds):
        chunk = b"{fd %02d wrote this}" % i
        off = 100 + 1000 * i
        try:
            os.pwrite(fd, chunk, off)
            model[off:off + len(chunk)] = chunk
        except OSError as e:
            fail("pwrite through fd #%d: %s" % (i, en(e)))
    step("rename while %d descriptors are open" % len(fds), os.rename,
         p, p + ".new", want="ok")
    for i, fd in enumerate(fds):
        chunk = b"(fd %02d after rename)" % i
        off = 600 + 1000 * i
        try:
            os.pwrite(fd, chunk, off)
            model[off:off + len(chunk)] = chunk
        except OSError as e:
            fail("pwrite through fd #%d after rename: %s" % (i, en(e)))
    for i, fd in enumerate(fds):
        try:
            os.close(fd)
        except OSError as e:
            fail("close fd #%d: %s" % (i, en(e)))
    old, new = disk_get(disk, name), disk_get(disk, name + ".new")
    if old is not None:
        fail("the old name is on the server again (%s)" % sha(old))
    if new != bytes(model):
        missing = []
        for i in range(len(fds)):
            for off, c in ((100 + 1000 * i, b"{fd %02d wrote this}" % i),
                           (600 + 1000 * i, b"(fd %02d after rename)" % i)):
                if new is None or new[off:off + len(c)] != c:
                    missing.append(c.decode())
        fail("the new name holds %s, expected %s; writes missing: %s" %
             (sha(new) if new is not None else "nothing", sha(bytes(model)),
              ", ".join(missing[:8]) + (" ..." if len(missing) > 8 else "")))
    else:
        say("the new name holds the writes of all %d descriptors" % len(fds))
    alive(mnt)


# --- spooled write vs. a change on the server -----------------------------------

def spool_conflict(mnt, disk, spool, name, how, mnt2=None):
    orig = rnd(21, 50000)
    name = "sc-%s/sc.bin" % how
    if disk_get(disk, name) != orig:
        print("setup: %s is not on the server as prepared" % name)
        sys.exit(2)
    old_mtime = int(os.stat(os.path.join(disk, name)).st_mtime)
    p = os.path.join(mnt, name)
    try:
        os.stat(p)
    except OSError:
        pass
    if how == "before":
        return spool_before(mnt, disk, name, orig, p)
    ours = bytearray(orig)
    fd = os.open(p, os.O_RDWR)
    mark = b"<<OURS-%s-%d>>" % (how.encode(), os.getpid())
    step("pwrite in the middle", os.pwrite, fd, mark, 20000, want="ok")
    ours[20000:20000 + len(mark)] = mark
    if how == "size":
        theirs = b"the other client's new content\n" * 10
        with open(os.path.join(disk, name), "wb") as f:  # in place, same inode
            f.write(theirs)
    elif how == "mtime":
        theirs = bytearray(orig)
        theirs[30000:30010] = b"THEIRS!!!!"
        theirs = bytes(theirs)
        with open(os.path.join(disk, name), "r+b") as f:
            f.write(theirs)
        os.utime(os.path.join(disk, name), (old_mtime + 3600, old_mtime + 3600))
    elif how == "mount2":
        theirs = b"written through the second mount\n" * 7
        with open(os.path.join(mnt2, name), "wb") as f:
            f.write(theirs)
    else:
        raise SystemExit("unknown HOW " + how)
    got = disk_get(disk, name)
    if got != theirs:
        print("setup: the other client's write did not reach the server (%s)" %
              (sha(got) if got is not None else "nothing"))
        sys.exit(2)
    mark2 = b"<<OURS-AGAIN>>"
    step("pwrite again after the change", os.pwrite, fd, mark2, 40000)
    ours[40000:40000 + len(mark2)] = mark2
    try:
        os.close(fd)
        say("close: ok")
        fail("close reported success although the file changed on the server")
    except OSError as e:
        say("close: %s" % en(e))
        if e.errno != errno.EIO:
            fail("close gives %s, expected EIO" % en(e))
    got = disk_get(disk, name)
    if got != theirs:
        fail("the server's file is %s, the other client's content was %s" %
             (sha(got) if got is not None else "gone", sha(theirs)))
    else:
        say("the other client's content is still on the server")
    # Our copy: some file in the spool dir holds exactly what we wrote
    # (with or without the second pwrite, which may have been refused).
    want = {hashlib.sha256(bytes(ours)).hexdigest()}
    first = bytearray(orig)
    first[20000:20000 + len(mark)] = mark
    want.add(hashlib.sha256(bytes(first)).hexdigest())
    found = []
    for dp, _, fns in os.walk(spool):
        for fn in fns:
            try:
                with open(os.path.join(dp, fn), "rb") as f:
                    if hashlib.sha256(f.read()).hexdigest() in want:
                        found.append(os.path.relpath(os.path.join(dp, fn), spool))
            except OSError:
                pass
    if found:
        say("our copy is kept in the spool dir: %s" % ", ".join(found))
    else:
        fail("no file in the spool dir %s holds our writes" % spool)
    alive(mnt)


def spool_before(mnt, disk, name, orig, p):
    tail = b"appended by the other client after the mount's stat\n" * 3
    with open(os.path.join(disk, name), "ab") as f:
        f.write(tail)
    theirs = orig + tail
    want = bytearray(theirs)
    mark = b"<<OURS-BEFORE>>"
    want[20000:20000 + len(mark)] = mark
    fd = os.open(p, os.O_RDWR)
    step("pwrite in the middle", os.pwrite, fd, mark, 20000, want="ok")
    try:
        os.close(fd)
        closed = True
        say("close: ok")
    except OSError as e:
        closed = False
        say("close: %s" % en(e))
    got = disk_get(disk, name)
    if closed and got != bytes(want):
        fail("close reported success; the server's file is %s, expected %s "
             "(their %d appended bytes %s)" %
             (sha(got) if got is not None else "gone", sha(bytes(want)), len(tail),
              "kept" if got is not None and got.endswith(tail) else "lost"))
    elif not closed and got != theirs:
        fail("close failed and the server's file is %s, theirs was %s" %
             (sha(got) if got is not None else "gone", sha(theirs)))
    else:
        say("the server's file is right")
    alive(mnt)


def idle_writer(mnt, disk, name):
    """The size of an open writer that has nothing unflushed must not hide
    later changes (a release that comes late, after close(2), is such a
    writer: fsx read back 0 bytes of an append that way)."""
    p = os.path.join(mnt, name)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    first = rnd(11, 10)
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, first)
        os.fsync(fd)
        want = first + b"\0" * (5000 - len(first))
        step("truncate(2) to 5000 while the writer is open", os.truncate, p, 5000,
             want="ok")

        def seen(why):
            size = os.stat(p).st_size
            with open(p, "rb") as r:
                got = r.read()
            if size != len(want) or got != want:
                fail("%s: stat says %d bytes, a read gives %d (%s), expected %d (%s)"
                     % (why, size, len(got), sha(got), len(want), sha(want)))
            else:
                say("%s: stat and read show the server's %d bytes" % (why, len(want)))
        seen("after the truncate")
        tail = rnd(12, 3000)
        try:
            with open(p, "ab") as a:
                a.write(tail)
            want += tail
            seen("after an append through another descriptor")
        except OSError as e:  # a server that refuses APPE: nothing lost
            say("the append failed (%s)" % en(e))
            seen("after a failed append")
    finally:
        os.close(fd)
    got = disk_get(disk, name)
    if got != want:
        fail("after the last close the server's file is %s, expected %d bytes (%s)"
             % (sha(got) if got is not None else "gone", len(want), sha(want)))
    else:
        say("after the last close the server keeps all %d bytes" % len(want))
    alive(mnt)


def read_ahead(mnt, disk, d):
    """What a reader is served from the small-file read-ahead (fahead.c)
    is never older than a change made through the mount."""
    md = os.path.join(mnt, d)
    os.makedirs(md, exist_ok=True)
    names = ["f%02d" % i for i in range(20)]
    want = {}
    for i, n in enumerate(names):
        want[n] = rnd(100 + i, 3000)
        with open(os.path.join(md, n), "wb") as f:
            f.write(want[n])

    def read(n):
        with open(os.path.join(md, n), "rb") as f:
            return f.read()

    def check(n, why):
        try:
            got = read(n)
        except OSError as e:
            got = e
        exp = want.get(n)
        if exp is None:
            if isinstance(got, OSError) and got.errno == errno.ENOENT:
                say("%s %s: gone, as it should be" % (why, n))
            else:
                fail("%s %s: expected ENOENT, got %s" % (why, n, short(got)))
        elif got != exp:
            fail("%s %s: read %s, expected %s" % (why, n, short(got), sha(exp)))

    for rounds in range(2):
        os.listdir(md)  # the order a reader follows
        for n in names[:4]:
            check(n, "in order:")
        time.sleep(0.3)  # f04.. read ahead meanwhile
        # rewritten through the mount, same size (same second, likely)
        n = names[5]
        want[n] = rnd(200 + rounds, 3000)
        with open(os.path.join(md, n), "r+b") as f:
            f.write(want[n])
        check(names[4], "in order:")
        check(n, "rewritten in place, same size:")
        # renamed over, unlinked
        a, b = names[6], names[7]
        os.rename(os.path.join(md, a), os.path.join(md, b))
        want[b] = want.pop(a)
        os.unlink(os.path.join(md, names[8]))
        want.pop(names[8])
        for n in names[6:]:
            check(n, "after rename/unlink:")
        for n in names[:]:
            if n not in want:
                want[n] = rnd(300 + rounds + len(n), 3000)
                with open(os.path.join(md, n), "wb") as f:
                    f.write(want[n])
        names.sort()
    for n in names:
        if disk_get(disk, os.path.join(d, n)) != want[n]:
            fail("the server's %s is not what was written" % n)
    if not problems:
        say("every read showed the latest content")
    alive(mnt)


def replaced_theirs(mnt, disk, d):
    """Files the mount listed, then changed by another client (replaced by
    a rename, grown in place, cut short): each read through the mount
    gives the server's new content whole, never the new bytes cut at the
    size the listing had, and fstat/stat then agree with what was read."""
    md, dd = os.path.join(mnt, d), os.path.join(disk, d)
    os.makedirs(md, exist_ok=True)
    # name: (before, after, how); 300 KiB+ is past the read-ahead's files
    files = {
        "small-longer": (rnd(1, 3000), rnd(2, 5000), "rename"),
        "small-shorter": (rnd(3, 3000), rnd(4, 1000), "rename"),
        "big-longer": (rnd(5, 300000), rnd(6, 900000), "rename"),
        "grown-log": (rnd(7, 2000), None, "append"),
        "page-edge": (rnd(8, 4096), rnd(9, 4097), "rename"),
    }
    for n, (before, _, _) in files.items():
        disk_put(disk, os.path.join(d, n), before)
    listed = {n: os.stat(os.path.join(md, n)).st_size for n in os.listdir(md)}
    for n, (before, _, _) in files.items():
        if listed.get(n) != len(before):
            fail("%s: listed with %s bytes, expected %d" % (n, listed.get(n), len(before)))
    time.sleep(1.1)  # another second: a new mtime
    want = {}
    for n, (before, after, how) in files.items():
        p = os.path.join(dd, n)
        if how == "append":
            with open(p, "ab") as f:
                f.write(rnd(10, 7000))
        else:
            tmp = os.path.join(dd, "." + n + ".tmp")
            disk_put(disk, os.path.join(d, "." + n + ".tmp"), after)
            os.rename(tmp, p)
        want[n] = disk_get(disk, os.path.join(d, n))
    for n in files:
        p = os.path.join(md, n)
        ok, got = step("read %s after the server's change" % n, lambda: open(p, "rb").read())
        if ok and got != want[n]:
            what = "the new bytes cut at the listed size" if (
                len(got) == len(files[n][0]) and want[n].startswith(got)) else "not the server's content"
            fail("%s: read %s (%s), the server has %s" % (n, sha(got), what, sha(want[n])))
        with open(p, "rb") as f:
            data = f.read()
            st = os.fstat(f.fileno()).st_size
        if data == want[n] and st != len(data):
            fail("%s: fstat says %d bytes after reading %d" % (n, st, len(data)))
        if os.stat(p).st_size != len(want[n]):
            fail("%s: stat says %d bytes, the server has %d" % (n, os.stat(p).st_size, len(want[n])))
    if not problems:
        say("every changed file read whole, sizes agree")
    alive(mnt)


def grown_theirs(mnt, disk, d, ttl="1"):
    """On a mount with a short cache_timeout (ttl): one descriptor follows
    a file another client appends to (tail -f: each read after the cache
    expired gets the new bytes), and files whose listed size is a whole
    number of pages (the kernel never reads past such a size by itself)
    read whole after another client replaced them with longer ones."""
    ttl = float(ttl)
    md, dd = os.path.join(mnt, d), os.path.join(disk, d)
    os.makedirs(md, exist_ok=True)
    log = os.path.join(d, "tail.log")
    disk_put(disk, log, rnd(20, 100))
    want = disk_get(disk, log)
    os.stat(os.path.join(mnt, log))
    fd = os.open(os.path.join(mnt, log), os.O_RDONLY)
    got = b""
    for i in range(3):
        while True:
            b = os.read(fd, 65536)
            if not b:
                break
            got += b
        if got != want:
            fail("tail: after append %d read %d bytes, the server has %d%s" % (
                i, len(got), len(want), "" if want.startswith(got) else " (not a prefix)"))
            break
        if i == 2:
            break
        with open(os.path.join(dd, "tail.log"), "ab") as f:
            f.write(rnd(21 + i, 100 + i))
        want = disk_get(disk, log)
        time.sleep(ttl + 0.6)
    st = os.fstat(fd).st_size
    os.close(fd)
    if st != len(want):
        fail("tail: fstat says %d, the server has %d" % (st, len(want)))
    sizes = (8192, 65536, 262144, 1048576)
    for sz in sizes:
        disk_put(disk, os.path.join(d, "al-%d" % sz), rnd(sz, sz))
    time.sleep(ttl + 0.2)  # the folder's listing from before them expired
    for sz in sizes:
        os.stat(os.path.join(md, "al-%d" % sz))
    time.sleep(1.1)
    for sz in sizes:
        n = os.path.join(d, "al-%d" % sz)
        disk_put(disk, os.path.join(d, ".tmp"), rnd(sz + 1, sz + 3000))
        os.rename(os.path.join(dd, ".tmp"), os.path.join(disk, n))
        with open(os.path.join(mnt, n), "rb") as f:
            data = f.read()
        if data != disk_get(disk, n):
            fail("%d bytes listed, replaced by %d: read %d" % (sz, sz + 3000, len(data)))
    if not problems:
        say("a followed log gets each append; page-sized files replaced by longer ones read whole")
    alive(mnt)


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    cmds = {
        "unlinked-rdwr": unlinked_rdwr, "unlinked-stream": unlinked_stream,
        "unlinked-rdonly": unlinked_rdonly, "unlinked-ops": unlinked_ops,
        "unlinked-recreate": unlinked_recreate, "replaced-open": replaced_open,
        "unlinked-theirs": unlinked_theirs, "reader-sees-write": reader_sees_write, "replace-open-fails": replace_open_fails,
        "rename-writing": rename_writing, "many-files": many_files,
        "many-fds": many_fds, "spool-conflict": spool_conflict,
        "idle-writer": idle_writer, "read-ahead": read_ahead,
        "replaced-theirs": replaced_theirs, "grown-theirs": grown_theirs,
        "prepare": prepare,
    }
    fn = cmds.get(sys.argv[1])
    if fn is None:
        raise SystemExit(__doc__)
    try:
        fn(*sys.argv[2:])
    except OSError as e:
        fail("unexpected error: %s (%s)" % (e, en(e)))
    if fn is not prepare:
        print("%d problem(s)" % len(problems))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
