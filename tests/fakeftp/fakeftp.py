#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A small, scriptable, read-only FTP server for the ftpfs tests.

It serves DIR on one loopback address (127.0.0.1 or ::1) and speaks enough
FTP for ftpfs: USER PASS FEAT SYST TYPE MODE STRU OPTS PWD CWD CDUP MLSD MLST
LIST NLST SIZE MDTM REST RETR EPSV PASV EPRT PORT STAT NOOP ABOR QUIT.
Writing commands are answered "550 read-only".  Standard library only.

What makes it useful is that its behaviour can be scripted per command, to
produce faults real servers will not:

  --no CMD            CMD is answered "502 Command not implemented." and is
                      left out of FEAT
  --fail CMD=CODE     CMD is answered "CODE Scripted failure of CMD." and has
                      no effect (--fail EPSV=425 --fail PASV=425)
  --reply CMD=TEXT    CMD is answered with TEXT as it is (a literal "\\n" in
                      TEXT starts a new line) and has no effect
                      (--reply PASV='227 garbage')
  --xfer-fail KIND=CODE
                      KIND passive|active: after a successful EPSV/PASV
                      (resp. EPRT/PORT), the transfer command is answered
                      "CODE Can't open data connection." without using it
  --pasv-address ADDR announce ADDR in 227 replies (the listener stays on
                      the control connection's local address)
  --pasv-range LO-HI  passive listening ports
  --listing FILE      every MLSD and LIST sends FILE's bytes as they are
                      (hostile listings: names with '/', '..', NUL, CR;
                      sizes and dates out of range)
  --endless WHAT      WHAT data: RETR sends bytes forever; listing: MLSD
                      and LIST send entries forever; reply=CMD: CMD is
                      answered with continuation lines forever
  --prelim-only       after the login every command gets "150" and
                      nothing more
  --retr-cut N        a RETR from the start of a file sends N bytes, then
                      closes the data connection and answers 426 (one
                      with REST sends the rest): a transfer cut short
  --retr-final TEXT   a RETR that sent every byte of its file ends with TEXT
                      instead of "226 Transfer complete." (a server's
                      afterthought: "451 Scripted failure after the end")
  --final-delay S     ... and sends that final reply S seconds late
  --final-ends        ... and ends the session right after it (a server
                      process that died: vsftpd's "500 OOPS: child died")
  --mkd               MKD creates the directory (the one change allowed:
                      for checks that a change goes through)
  --script FILE       more rules, one per line, in the same words without
                      the dashes ("fail EPSV=425", "reply PASV=227 x",
                      "no EPSV", "xfer-fail active=425", "pasv-address A");
                      re-read whenever FILE changes, and then they replace
                      the previous script rules (command line rules stay).
                      Lines starting with "#" are ignored.

Logging (--log FILE): one line per command received and per reply sent,
    [12:00:00.123] [1] <- EPSV
    [12:00:00.124] [1] -> 229 Entering Extended Passive Mode (|||40001|)
(PASS arguments are masked), the command lines in the format pyftpdlib
uses, so "sed -n 's/.*\\] <- //p'" extracts the commands.
"""

import argparse
import datetime
import os
import posixpath
import socket
import stat
import sys
import threading
import time

LINE_MAX = 8192


def log_open(path):
    if path is None:
        return None
    return open(path, "a", buffering=1, encoding="utf-8", errors="replace")


class Rules:
    """The scripted behaviour: command-line rules plus a reloadable file."""

    def __init__(self, args):
        self.lock = threading.Lock()
        self.base = self.empty()
        for c in args.no or []:
            self.apply(self.base, "no", c)
        for c in args.fail or []:
            self.apply(self.base, "fail", c)
        for c in args.reply or []:
            self.apply(self.base, "reply", c)
        for c in args.xfer_fail or []:
            self.apply(self.base, "xfer-fail", c)
        if args.pasv_address:
            self.base["pasv-address"] = args.pasv_address
        self.script = args.script
        self.script_stamp = None
        self.extra = self.empty()

    @staticmethod
    def empty():
        return {"no": set(), "fail": {}, "reply": {}, "xfer-fail": {},
                "pasv-address": None}

    @staticmethod
    def apply(r, word, val):
        # Only the key is trimmed: "reply EPSV=229 " keeps its space.
        if word == "no":
            val = val.strip()
            r["no"].add(val.upper())
        elif word in ("fail", "reply", "xfer-fail"):
            key, sep, v = val.partition("=")
            if not sep:
                raise ValueError("%s needs KEY=VALUE, got %r" % (word, val))
            key = key.strip().upper() if word != "xfer-fail" else key.strip().lower()
            if word == "xfer-fail" and key not in ("passive", "active"):
                raise ValueError("xfer-fail: passive or active, not %r" % key)
            if word in ("fail", "xfer-fail"):
                v = int(v)
            r[word][key] = v
        elif word == "pasv-address":
            r["pasv-address"] = val.strip()
        else:
            raise ValueError("unknown rule %r" % word)

    def _reload(self):
        if not self.script:
            return
        try:
            st = os.stat(self.script)
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            stamp = None
        if stamp == self.script_stamp:
            return
        self.script_stamp = stamp
        extra = self.empty()
        if stamp is not None:
            with open(self.script, encoding="utf-8") as f:
                for line in f:
                    line = line.strip()
                    if not line or line.startswith("#"):
                        continue
                    word, _, val = line.partition(" ")
                    self.apply(extra, word.strip(), val)
        self.extra = extra

    def get(self):
        """A merged snapshot: file rules override command-line ones."""
        with self.lock:
            self._reload()
            m = self.empty()
            for src in (self.base, self.extra):
                m["no"] |= src["no"]
                m["fail"].update(src["fail"])
                m["reply"].update(src["reply"])
                m["xfer-fail"].update(src["xfer-fail"])
                if src["pasv-address"]:
                    m["pasv-address"] = src["pasv-address"]
            return m


class Quit(Exception):
    pass


class Session:
    FEATS = ["EPRT", "EPSV", "MDTM", "MLST type*;size*;modify*;perm*;",
             "PASV", "REST STREAM", "SIZE", "UTF8"]

    def __init__(self, server, sock, peer, sid):
        self.srv = server
        self.sock = sock
        self.peer = peer
        self.sid = sid
        self.inbuf = b""
        self.user = None
        self.logged_in = False
        self.cwd = "/"
        self.rest = 0
        self.pasv_sock = None
        self.active_addr = None
        self.data_kind = None  # "passive" / "active"
        self.v6 = sock.family == socket.AF_INET6
        self.local_ip = sock.getsockname()[0]
        self.peer_ip = peer[0]

    # --- control connection ------------------------------------------------
    def log(self, direction, text):
        self.srv.log("[%d] %s %s" % (self.sid, direction, text))

    def send(self, text):
        for line in text.split("\r\n"):
            self.log("->", line)
        self.sock.sendall(text.encode("utf-8", "surrogateescape") + b"\r\n")

    def readline(self):
        while b"\n" not in self.inbuf:
            if len(self.inbuf) > LINE_MAX:
                self.send("500 Line too long.")
                raise Quit()
            data = self.sock.recv(4096)
            if not data:
                raise Quit()
            self.inbuf += data
        line, _, self.inbuf = self.inbuf.partition(b"\n")
        return line.rstrip(b"\r").decode("utf-8", "surrogateescape")

    def run(self):
        try:
            self.send("220 fakeftp ready (ftpfs tests)")
            while True:
                line = self.readline()
                verb, _, arg = line.partition(" ")
                verb = verb.upper()
                self.log("<-", "PASS ****" if verb == "PASS" else line)
                self.dispatch(verb, arg)
        except (Quit, OSError):
            pass
        finally:
            self.close_data()
            try:
                self.sock.close()
            except OSError:
                pass

    def dispatch(self, verb, arg):
        rules = self.srv.rules.get()
        self.rules = rules
        if verb in rules["no"]:
            self.send("502 Command not implemented.")
            return
        if verb in rules["fail"]:
            if verb in ("EPSV", "PASV", "EPRT", "PORT"):
                self.close_data()
            self.send("%d Scripted failure of %s." % (rules["fail"][verb], verb))
            return
        if verb in rules["reply"]:
            if verb in ("EPSV", "PASV", "EPRT", "PORT"):
                self.close_data()
            self.send(rules["reply"][verb].replace("\\n", "\r\n"))
            return
        if verb in ("USER", "PASS", "QUIT", "FEAT", "SYST", "NOOP", "OPTS",
                    "AUTH"):
            pass
        elif not self.logged_in:
            self.send("530 Please log in with USER and PASS first.")
            return
        if self.srv.prelim_only and self.logged_in:
            self.send("150 Working on it.")
            return
        if "reply=" + verb in self.srv.endless:
            self.send("213-Here it comes")
            while True:
                self.send("213-" + "x" * 1000)
        fn = getattr(self, "cmd_" + verb, None)
        if fn is None or not verb.isalpha():
            self.send("500 Command \"%s\" not understood." % verb[:20])
            return
        fn(arg)

    # --- paths --------------------------------------------------------------
    def vpath(self, arg):
        """Virtual absolute path for ARG (relative to the cwd)."""
        if not arg:
            return self.cwd
        p = posixpath.normpath(posixpath.join(self.cwd, arg))
        if p.startswith("//"):
            p = "/" + p.lstrip("/")
        return p

    def real(self, vp):
        return os.path.join(self.srv.root, vp.lstrip("/"))

    # --- commands without a data connection ---------------------------------
    def cmd_USER(self, arg):
        self.user = arg
        self.logged_in = False
        self.send("331 Password required for %s." % arg)

    def cmd_PASS(self, arg):
        if self.user is None:
            self.send("503 Login with USER first.")
        elif (self.srv.user is None or
              (self.user == self.srv.user and arg == self.srv.password)):
            self.logged_in = True
            self.send("230 Login successful.")
        else:
            self.send("530 Login incorrect.")

    def cmd_AUTH(self, arg):
        self.send("502 TLS not available.")

    def cmd_QUIT(self, arg):
        self.send("221 Goodbye.")
        raise Quit()

    def cmd_FEAT(self, arg):
        feats = [f for f in self.FEATS if f.split()[0] not in self.rules["no"]]
        self.send("211-Features:\r\n" + "".join(" %s\r\n" % f for f in feats) +
                  "211 End")

    def cmd_SYST(self, arg):
        self.send("215 UNIX Type: L8")

    def cmd_NOOP(self, arg):
        self.send("200 NOOP ok.")

    def cmd_OPTS(self, arg):
        if arg.upper().startswith("UTF8"):
            self.send("200 Always in UTF8 mode.")
        else:
            self.send("501 Option not understood.")

    def cmd_TYPE(self, arg):
        if arg.upper() in ("I", "A", "L 8", "A N"):
            self.send("200 Type set to %s." % arg.upper())
        else:
            self.send("504 Type not supported.")

    def cmd_MODE(self, arg):
        self.send("200 Mode S." if arg.upper() == "S" else "504 Only S.")

    def cmd_STRU(self, arg):
        self.send("200 Structure F." if arg.upper() == "F" else "504 Only F.")

    def cmd_PWD(self, arg):
        self.send('257 "%s" is the current directory.' %
                  self.cwd.replace('"', '""'))

    def cmd_CWD(self, arg):
        vp = self.vpath(arg)
        if os.path.isdir(self.real(vp)):
            self.cwd = vp
            self.send('250 "%s" is the current directory.' % vp)
        else:
            self.send("550 %s: No such directory." % arg)

    def cmd_CDUP(self, arg):
        self.cmd_CWD("..")

    def cmd_SIZE(self, arg):
        rp = self.real(self.vpath(arg))
        try:
            st = os.stat(rp)
        except OSError:
            self.send("550 %s: No such file." % arg)
            return
        if stat.S_ISREG(st.st_mode):
            self.send("213 %d" % st.st_size)
        else:
            self.send("550 %s: not a regular file." % arg)

    def cmd_MDTM(self, arg):
        try:
            st = os.stat(self.real(self.vpath(arg)))
        except OSError:
            self.send("550 %s: No such file." % arg)
            return
        self.send("213 " + time.strftime("%Y%m%d%H%M%S",
                                         time.gmtime(st.st_mtime)))

    def cmd_MLST(self, arg):
        vp = self.vpath(arg)
        rp = self.real(vp)
        try:
            st = os.stat(rp)
        except OSError:
            self.send("550 %s: No such file or directory." % arg)
            return
        self.send('250-Listing "%s":\r\n %s\r\n250 End.' %
                  (vp, self.mlsx(vp, st)))

    def cmd_REST(self, arg):
        try:
            self.rest = int(arg)
            if self.rest < 0:
                raise ValueError
        except ValueError:
            self.rest = 0
            self.send("501 Bad REST offset.")
            return
        self.send("350 Restarting at %d." % self.rest)

    def cmd_STAT(self, arg):
        path = self.strip_opts(arg)
        if not arg:
            self.send("211-fakeftp status\r\n Logged in as %s\r\n211 End." %
                      self.user)
            return
        lines = self.list_lines(path, "LIST")
        if lines is None:
            self.send("550 %s: No such file or directory." % path)
            return
        self.send("213-Status of %s:\r\n" % path +
                  "".join("%s\r\n" % l for l in lines) + "213 End of status.")

    def cmd_ABOR(self, arg):
        self.close_data()
        self.send("225 No transfer to abort.")

    def refuse_write(self, arg):
        self.send("550 Read-only server.")

    cmd_STOR = cmd_APPE = cmd_DELE = cmd_RMD = cmd_RNFR = \
        cmd_RNTO = cmd_SITE = cmd_MFMT = cmd_STOU = refuse_write

    def cmd_MKD(self, arg):
        if not self.srv.mkd:
            return self.refuse_write(arg)
        vp = self.vpath(arg)
        try:
            os.mkdir(self.real(vp))
        except OSError as e:
            self.send("550 %s: %s." % (arg, e.strerror))
            return
        self.send('257 "%s" created.' % vp)

    # --- data connection setup ----------------------------------------------
    def close_data(self):
        if self.pasv_sock is not None:
            try:
                self.pasv_sock.close()
            except OSError:
                pass
        self.pasv_sock = None
        self.active_addr = None
        self.data_kind = None

    def listen(self):
        self.close_data()
        fam = socket.AF_INET6 if self.v6 else socket.AF_INET
        lo, hi = self.srv.pasv_range
        ports = range(lo, hi + 1) if lo else [0]
        start = (os.getpid() + int(time.time() * 1000)) % len(ports)
        for i in range(len(ports)):
            port = ports[(start + i) % len(ports)]
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((self.local_ip, port))
            except OSError:
                s.close()
                continue
            s.listen(1)
            self.pasv_sock = s
            self.data_kind = "passive"
            return s.getsockname()[1]
        return None

    def cmd_EPSV(self, arg):
        if arg.upper() == "ALL":
            self.send("200 EPSV ALL ok.")
            return
        if arg and arg != ("2" if self.v6 else "1"):
            self.send("522 Network protocol not supported, use (%s)." %
                      ("2" if self.v6 else "1"))
            return
        port = self.listen()
        if port is None:
            self.send("425 No passive port free.")
            return
        self.send("229 Entering Extended Passive Mode (|||%d|)" % port)

    def cmd_PASV(self, arg):
        if self.v6:
            self.send("425 PASV on an IPv6 connection; use EPSV.")
            return
        port = self.listen()
        if port is None:
            self.send("425 No passive port free.")
            return
        addr = self.rules["pasv-address"] or self.local_ip
        self.send("227 Entering Passive Mode (%s,%d,%d)." %
                  (addr.replace(".", ","), port >> 8, port & 255))

    def set_active(self, host, port, verb):
        if port < 1024 or port > 65535:
            self.send("501 %s to port %d refused." % (verb, port))
            return
        try:
            same = (socket.inet_pton(self.sock.family, host) ==
                    socket.inet_pton(self.sock.family, self.peer_ip))
        except OSError:
            same = False
        if not same:
            self.send("501 Rejected data connection to foreign address %s." %
                      host)
            return
        self.close_data()
        self.active_addr = (host, port)
        self.data_kind = "active"
        self.send("200 %s command successful." % verb)

    def cmd_EPRT(self, arg):
        try:
            d = arg[0]
            _, af, host, port, _ = arg.split(d)
            port = int(port)
            if af != ("2" if self.v6 else "1"):
                self.send("522 Network protocol not supported, use (%s)." %
                          ("2" if self.v6 else "1"))
                return
        except (ValueError, IndexError):
            self.send("501 Bad EPRT argument.")
            return
        self.set_active(host, port, "EPRT")

    def cmd_PORT(self, arg):
        if self.v6:
            self.send("425 PORT on an IPv6 connection; use EPRT.")
            return
        try:
            n = [int(x) for x in arg.split(",")]
            if len(n) != 6 or any(x < 0 or x > 255 for x in n):
                raise ValueError
        except ValueError:
            self.send("501 Bad PORT argument.")
            return
        self.set_active("%d.%d.%d.%d" % tuple(n[:4]), n[4] * 256 + n[5],
                        "PORT")

    def open_data(self):
        """The data socket, or None after the 425 has been sent."""
        kind = self.data_kind
        if kind is None:
            self.send("425 Use PORT, EPRT, PASV or EPSV first.")
            return None
        if kind in self.rules["xfer-fail"]:
            self.close_data()
            self.send("%d Can't open data connection (scripted)." %
                      self.rules["xfer-fail"][kind])
            return None
        timeout = self.srv.data_timeout
        try:
            if kind == "passive":
                self.pasv_sock.settimeout(timeout)
                conn, addr = self.pasv_sock.accept()
            else:
                fam = socket.AF_INET6 if self.v6 else socket.AF_INET
                conn = socket.socket(fam, socket.SOCK_STREAM)
                conn.settimeout(timeout)
                conn.bind((self.local_ip, 0))
                conn.connect(self.active_addr)
        except OSError as e:
            self.close_data()
            self.log("--", "data connection failed: %s" % e)
            self.send("425 Can't open data connection.")
            return None
        self.close_data()
        conn.settimeout(self.srv.data_timeout)
        return conn

    def transfer(self, chunks, final="226 Transfer complete.", retr=False):
        conn = self.open_data()
        if conn is None:
            return
        self.send("150 Opening BINARY mode data connection.")
        ok = True
        try:
            for c in chunks:
                conn.sendall(c)
        except OSError as e:
            self.log("--", "data connection broke: %s" % e)
            ok = False
        try:
            conn.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        conn.close()
        if ok and retr and self.srv.final_delay > 0:
            time.sleep(self.srv.final_delay)
        self.send(final if ok else
                  "426 Connection closed; transfer aborted.")
        if ok and retr and self.srv.final_ends:
            raise Quit()

    # --- data commands ------------------------------------------------------
    def cmd_RETR(self, arg):
        rest, self.rest = self.rest, 0
        rp = self.real(self.vpath(arg))
        try:
            f = open(rp, "rb")
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                f.close()
                raise IsADirectoryError
        except OSError:
            self.close_data()
            self.send("550 %s: No such file." % arg)
            return

        cut = self.srv.retr_cut if rest == 0 else None

        def chunks():
            sent = 0
            with f:
                f.seek(rest)
                while True:
                    n = 65536 if cut is None else min(65536, cut - sent)
                    b = f.read(n) if n > 0 else b""
                    if not b:
                        break
                    sent += len(b)
                    yield b
                if cut is not None and sent >= cut:
                    raise OSError("scripted cut after %d bytes" % sent)
            while "data" in self.srv.endless:
                yield b"x" * 65536
        self.transfer(chunks(), self.srv.retr_final or
                      "226 Transfer complete.", retr=True)

    @staticmethod
    def strip_opts(arg):
        words = arg.split(" ")
        while words and words[0].startswith("-") and len(words) > 1:
            words.pop(0)
        if words and words[0].startswith("-") and len(words[0]) <= 4:
            words.pop(0)
        return " ".join(words)

    def mlsx(self, vp, st):
        t = "dir" if stat.S_ISDIR(st.st_mode) else "file"
        return "type=%s;size=%d;modify=%s;perm=%s; %s" % (
            t, st.st_size,
            time.strftime("%Y%m%d%H%M%S", time.gmtime(st.st_mtime)),
            "el" if t == "dir" else "r", vp)

    @staticmethod
    def ls_line(name, st):
        mode = stat.filemode(st.st_mode)
        t = datetime.datetime.fromtimestamp(st.st_mtime,
                                            datetime.timezone.utc)
        if abs(time.time() - st.st_mtime) < 180 * 86400:
            when = t.strftime("%b %d %H:%M")
        else:
            when = t.strftime("%b %d  %Y")
        return "%s %3d %-8s %-8s %8d %s %s" % (
            mode, st.st_nlink, "ftp", "ftp", st.st_size, when, name)

    def list_lines(self, path, kind):
        vp = self.vpath(path)
        rp = self.real(vp)
        try:
            st = os.stat(rp)
        except OSError:
            return None
        if not stat.S_ISDIR(st.st_mode):
            name = posixpath.basename(vp)
            if kind == "MLSD":
                return None
            return [name if kind == "NLST" else self.ls_line(name, st)]
        out = []
        for name in sorted(os.listdir(rp)):
            try:
                est = os.stat(os.path.join(rp, name))
            except OSError:
                continue
            if kind == "MLSD":
                out.append(self.mlsx(name, est))
            elif kind == "NLST":
                out.append(name)
            else:
                out.append(self.ls_line(name, est))
        return out

    def listing(self, arg, kind):
        if "listing" in self.srv.endless:
            def forever():
                i = 0
                while True:
                    yield b"".join(
                        b"type=file;size=1;modify=20240101000000; f%d\r\n"
                        % (i + k) for k in range(1000))
                    i += 1000
            self.transfer(forever())
            return
        if self.srv.listing_file is not None:
            with open(self.srv.listing_file, "rb") as lf:
                self.transfer([lf.read()])
            return
        path = self.strip_opts(arg) if kind != "MLSD" else arg
        lines = self.list_lines(path, kind)
        if lines is None:
            self.close_data()
            self.send("550 %s: No such directory." % path)
            return
        data = "".join("%s\r\n" % l for l in lines)
        self.transfer([data.encode("utf-8", "surrogateescape")])

    def cmd_MLSD(self, arg):
        self.listing(arg, "MLSD")

    def cmd_LIST(self, arg):
        self.listing(arg, "LIST")

    def cmd_NLST(self, arg):
        self.listing(arg, "NLST")


class Server:
    def __init__(self, args):
        self.root = os.path.realpath(args.root)
        self.user = args.user
        # Not on the command line, where ps would show it.
        self.password = os.environ.get("FAKEFTP_PASS", "")
        self.rules = Rules(args)
        self.data_timeout = args.data_timeout
        self.pasv_range = (0, 0)
        if args.pasv_range:
            lo, _, hi = args.pasv_range.partition("-")
            self.pasv_range = (int(lo), int(hi or lo))
        self.logf = log_open(args.log)
        self.loglock = threading.Lock()
        self.bind = args.bind
        self.port = args.port
        self.nsess = 0
        self.listing_file = args.listing
        self.endless = set(args.endless)
        self.prelim_only = args.prelim_only
        self.retr_cut = args.retr_cut
        self.retr_final = args.retr_final
        self.final_delay = args.final_delay
        self.final_ends = args.final_ends
        self.mkd = args.mkd

    def log(self, text):
        line = "[%s] %s" % (
            datetime.datetime.now().strftime("%H:%M:%S.%f")[:-3], text)
        with self.loglock:
            if self.logf is not None:
                self.logf.write(line + "\n")

    def serve(self):
        fam = socket.AF_INET6 if ":" in self.bind else socket.AF_INET
        ls = socket.socket(fam, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((self.bind, self.port))
        ls.listen(64)
        self.log("fakeftp serving %s on %s port %d" %
                 (self.root, self.bind, ls.getsockname()[1]))
        while True:
            sock, peer = ls.accept()
            # Replies are small writes: no Nagle delays between them.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.nsess += 1
            sess = Session(self, sock, peer, self.nsess)
            self.log("[%d] connection from %s" % (self.nsess, peer[0]))
            threading.Thread(target=sess.run, daemon=True).start()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", required=True, help="directory to serve")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--bind", default="127.0.0.1",
                    help="127.0.0.1 (default) or ::1")
    ap.add_argument("--user", help="login name, password from $FAKEFTP_PASS "
                    "(default: accept anyone)")
    ap.add_argument("--log")
    ap.add_argument("--data-timeout", type=float, default=10.0,
                    help="seconds to wait for a data connection")
    ap.add_argument("--pasv-range", metavar="LO-HI")
    ap.add_argument("--pasv-address", metavar="ADDR")
    ap.add_argument("--no", action="append", metavar="CMD")
    ap.add_argument("--fail", action="append", metavar="CMD=CODE")
    ap.add_argument("--reply", action="append", metavar="CMD=TEXT")
    ap.add_argument("--xfer-fail", action="append", metavar="KIND=CODE")
    ap.add_argument("--script", metavar="FILE")
    ap.add_argument("--listing", metavar="FILE")
    ap.add_argument("--endless", action="append", default=[], metavar="WHAT")
    ap.add_argument("--prelim-only", action="store_true")
    ap.add_argument("--retr-cut", type=int, metavar="N")
    ap.add_argument("--retr-final", metavar="TEXT")
    ap.add_argument("--final-delay", type=float, default=0.0, metavar="S")
    ap.add_argument("--final-ends", action="store_true")
    ap.add_argument("--mkd", action="store_true")
    args = ap.parse_args()
    if args.bind not in ("127.0.0.1", "::1"):
        ap.error("--bind: loopback only (127.0.0.1 or ::1)")
    try:
        server = Server(args)
    except ValueError as e:
        ap.error(str(e))
    try:
        server.serve()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
