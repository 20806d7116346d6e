#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""posix_spot.py: pjdfstest-style spot checks through a mount (issue 9).

    posix_spot.py MNT DISK

MNT is an ftpfs mount, DISK the folder the server serves there (seen
directly, to check what reached the server).  Each check follows one of
pjdfstest's groups (chmod, utimensat, rename, link, truncate, unlink, mkdir)
with the errno and the results POSIX asks for; the checks run in a fresh
subdirectory and print TAP-like "ok - ..." / "FAIL - ..." lines, then
"N passed, N failed"; exit 1 when one failed.  For servers with POSIX
semantics (SFTP to OpenSSH); FTP cannot do hard links or set atimes.
"""
import errno
import os
import stat
import sys
import time

passed = 0
failed = 0


def ok(name):
    global passed
    passed += 1
    print("ok - " + name)


def fail(name, why):
    global failed
    failed += 1
    print("FAIL - " + name)
    print("#   " + why)


def check(name, cond, why=""):
    if cond:
        ok(name)
    else:
        fail(name, why)


def expect_errno(name, want, fn, *args):
    try:
        fn(*args)
    except OSError as e:
        check(name, e.errno == want,
              "errno %s, expected %s" % (errno.errorcode.get(e.errno, e.errno),
                                         errno.errorcode[want]))
        return
    fail(name, "succeeded, expected %s" % errno.errorcode[want])


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def main():
    mnt, disk = sys.argv[1], sys.argv[2]
    sub = "posix-%d" % os.getpid()
    m = os.path.join(mnt, sub)
    d = os.path.join(disk, sub)
    os.mkdir(m)
    check("mkdir: the directory is on the server", os.path.isdir(d))
    expect_errno("mkdir of an existing name: EEXIST", errno.EEXIST, os.mkdir, m)

    # chmod (pjdfstest chmod/00): the mode bits land, ctime moves
    f = os.path.join(m, "f")
    write(f, b"0123456789")
    for mode in (0o600, 0o644, 0o755, 0o640, 0o711):
        os.chmod(f, mode)
        check("chmod %o: stat through the mount" % mode,
              stat.S_IMODE(os.stat(f).st_mode) == mode,
              "mode %o" % stat.S_IMODE(os.stat(f).st_mode))
        check("chmod %o: the server's file" % mode,
              stat.S_IMODE(os.stat(os.path.join(d, "f")).st_mode) == mode)
    expect_errno("chmod of a missing file: ENOENT", errno.ENOENT, os.chmod,
                 os.path.join(m, "missing"), 0o644)

    # utimensat (pjdfstest utimensat/*): both times, UTIME_OMIT, UTIME_NOW
    os.utime(f, ns=(1000000000 * 10**9, 1100000000 * 10**9))
    st = os.stat(os.path.join(d, "f"))
    check("utimensat atime and mtime: the server's file",
          (int(st.st_atime), int(st.st_mtime)) == (1000000000, 1100000000),
          "atime %d mtime %d" % (st.st_atime, st.st_mtime))
    st = os.stat(f)
    check("utimensat: stat through the mount",
          (int(st.st_atime), int(st.st_mtime)) == (1000000000, 1100000000),
          "atime %d mtime %d" % (st.st_atime, st.st_mtime))
    # mtime only: atime stays (os.utime cannot say UTIME_OMIT; touch -m does)
    rc = os.system("touch -m -d @1200000000 '%s'" % f)
    st = os.stat(os.path.join(d, "f"))
    check("utimensat UTIME_OMIT for atime (touch -m): atime kept",
          rc == 0 and (int(st.st_atime), int(st.st_mtime)) == (1000000000, 1200000000),
          "rc %d atime %d mtime %d" % (rc, st.st_atime, st.st_mtime))
    before = time.time()
    os.utime(f)  # UTIME_NOW for both
    st = os.stat(os.path.join(d, "f"))
    check("utimensat UTIME_NOW: the server's mtime is now",
          abs(st.st_mtime - before) < 5, "mtime %d, now %d" % (st.st_mtime, before))

    # truncate (pjdfstest truncate/00, ftruncate/00): grow with zeros, shrink
    os.truncate(f, 20)
    check("truncate to grow: size and zero fill",
          read(os.path.join(d, "f")) == b"0123456789" + b"\0" * 10,
          repr(read(os.path.join(d, "f"))))
    os.truncate(f, 4)
    check("truncate to shrink", read(os.path.join(d, "f")) == b"0123",
          repr(read(os.path.join(d, "f"))))
    fd = os.open(f, os.O_RDWR)
    os.ftruncate(fd, 2)
    os.pwrite(fd, b"xy", 6)
    os.close(fd)
    check("ftruncate, then pwrite past the end: a hole of zeros",
          read(os.path.join(d, "f")) == b"01\0\0\0\0xy",
          repr(read(os.path.join(d, "f"))))
    expect_errno("truncate of a directory: EISDIR", errno.EISDIR,
                 os.truncate, m, 0)
    expect_errno("truncate to a negative size: EINVAL", errno.EINVAL,
                 os.truncate, f, -1)

    # link (pjdfstest link/00, link/10): nlink counts, EEXIST, ENOENT
    g = os.path.join(m, "g")
    os.link(f, g)
    # (SFTP v3 attributes carry no link count: st_nlink through the mount
    # is 1, as in sshfs; the server's disk shows the truth.)
    check("link: the server's file has nlink 2",
          os.stat(os.path.join(d, "f")).st_nlink == 2,
          "nlink %d" % os.stat(os.path.join(d, "f")).st_nlink)
    check("link: the same inode on the server",
          os.stat(os.path.join(d, "f")).st_ino == os.stat(os.path.join(d, "g")).st_ino)
    write(g, b"through g")
    got = read(os.path.join(d, "f"))
    check("link: a write through one name reaches the other on the server",
          got == b"through g", repr(got))
    expect_errno("link onto an existing name: EEXIST", errno.EEXIST,
                 os.link, f, g)
    expect_errno("link of a missing file: ENOENT", errno.ENOENT, os.link,
                 os.path.join(m, "missing"), os.path.join(m, "h"))
    os.unlink(g)
    check("unlink of one link: the server's nlink back to 1",
          os.stat(os.path.join(d, "f")).st_nlink == 1)

    # rename (pjdfstest rename/00, 09, 12, 14, 20)
    a, b = os.path.join(m, "a"), os.path.join(m, "b")
    write(a, b"A")
    write(b, b"B")
    ino = os.stat(os.path.join(d, "a")).st_ino
    os.rename(a, b)
    check("rename over an existing file: the target has the source",
          read(os.path.join(d, "b")) == b"A" and not os.path.exists(os.path.join(d, "a")))
    check("rename keeps the inode", os.stat(os.path.join(d, "b")).st_ino == ino)
    da, db = os.path.join(m, "da"), os.path.join(m, "db")
    os.mkdir(da)
    os.mkdir(db)
    write(os.path.join(da, "inside"), b"in")
    os.rename(da, db)
    check("rename of a directory over an empty directory",
          read(os.path.join(d, "db", "inside")) == b"in"
          and not os.path.exists(os.path.join(d, "da")))
    os.mkdir(da)
    expect_errno("rename of a directory over a non-empty one: ENOTEMPTY",
                 errno.ENOTEMPTY, os.rename, da, db)
    expect_errno("rename of a file onto a directory: EISDIR", errno.EISDIR,
                 os.rename, b, da)
    expect_errno("rename of a directory onto a file: ENOTDIR", errno.ENOTDIR,
                 os.rename, da, b)
    expect_errno("rename of a missing name: ENOENT", errno.ENOENT, os.rename,
                 os.path.join(m, "missing"), os.path.join(m, "x"))
    expect_errno("rename of a directory into itself: EINVAL", errno.EINVAL,
                 os.rename, db, os.path.join(db, "sub"))
    os.rename(b, b)
    check("rename of a file onto itself: a no-op", read(b) == b"A")

    # unlink / rmdir (pjdfstest unlink/00, rmdir/00)
    expect_errno("unlink of a directory: EISDIR", errno.EISDIR, os.unlink, db)
    expect_errno("rmdir of a file: ENOTDIR", errno.ENOTDIR, os.rmdir, b)
    expect_errno("rmdir of a non-empty directory: ENOTEMPTY", errno.ENOTEMPTY,
                 os.rmdir, db)
    expect_errno("open O_CREAT|O_EXCL of an existing file: EEXIST",
                 errno.EEXIST, os.open, b, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    expect_errno("open of a file below a file: ENOTDIR", errno.ENOTDIR,
                 os.open, os.path.join(b, "x"), os.O_RDONLY)

    # clean up through the mount
    for root, dirs, files in os.walk(m, topdown=False):
        for n in files:
            os.unlink(os.path.join(root, n))
        for n in dirs:
            os.rmdir(os.path.join(root, n))
    os.rmdir(m)
    check("clean-up: the directory is gone from the server", not os.path.exists(d))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
