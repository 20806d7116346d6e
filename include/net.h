/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * net: the only module that touches sockets.  Every blocking call takes a
 * timeout in milliseconds (-1 = none; callers always pass one) and returns a
 * negative errno on failure: -ETIMEDOUT when the deadline passes,
 * -ECONNREFUSED, -ECONNRESET, -EPIPE, -EHOSTUNREACH ... as the kernel says.
 * File descriptors are O_NONBLOCK and close-on-exec.  SIGPIPE is avoided
 * with MSG_NOSIGNAL.
 */
#ifndef FTPFS_NET_H
#define FTPFS_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

struct net_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/*
 * Resolve host:port (numeric or name; "[::1]" brackets already removed) and
 * connect to the first address that answers within timeout_ms in total.
 * On success *fd is a connected socket.  A name that does not resolve is
 * -EADDRNOTAVAIL (-EAGAIN for a temporary DNS failure).
 */
int net_connect_host(const char *host, unsigned port, int timeout_ms, int *fd);
/* The one-line message for a net_connect_host failure rc into msg. */
void net_connect_msg(
    int rc, const char *host, unsigned port, char *msg, size_t msglen);

/*
 * Connect to addr, binding first to local (port 0) when local is not NULL.
 * -ETIMEDOUT when the SYN is not answered in time (firewall black hole).
 */
int net_connect_addr(const struct net_addr *addr, const struct net_addr *local,
    int timeout_ms, int *fd);

/* Listening socket on local's address, port 0 or within [lo, hi]. */
int net_listen(
    const struct net_addr *local, unsigned port_lo, unsigned port_hi, int *fd);

/* Accept one connection within timeout_ms; the peer address is returned. */
int net_accept(int lfd, int timeout_ms, int *fd, struct net_addr *peer);

int net_peer_addr(int fd, struct net_addr *out);
int net_local_addr(int fd, struct net_addr *out);
unsigned net_addr_port(const struct net_addr *a);
void net_addr_set_port(struct net_addr *a, unsigned port);
bool net_addr_is_v6(const struct net_addr *a);
/* Same host address (port ignored); v4-mapped v6 compares equal to v4. */
bool net_addr_same_host(const struct net_addr *a, const struct net_addr *b);
/* Build an IPv4 address from 4 bytes and a port. */
void net_addr_from_v4(struct net_addr *a, const uint8_t ip[4], unsigned port);
/* Numeric text form without port ("127.0.0.1", "::1"). */
const char *net_addr_str(const struct net_addr *a, char *buf, size_t len);

/*
 * Wait until fd is readable (events=POLLIN) or writable (POLLOUT).
 * Returns 0, -ETIMEDOUT, or -errno.
 */
int net_wait(int fd, short events, int timeout_ms);

/*
 * One deadline for a whole operation (fs.c sets it per FUSE request, -o
 * timeout): every wait of the calling thread in net.c, tls.c and
 * sftp_conn.c is cut to what is left of it, and each byte that moves
 * pushes it on, so that against a frozen server an operation fails
 * within timeout_ms however many steps and reconnects it takes, while a
 * slow transfer that progresses goes on.  Thread-local; 0: none.
 * interrupted (may be NULL): asked when a wait is cut short by a signal
 * (FUSE interrupts: Ctrl-C on the process that made the request); when
 * it says yes the wait fails with -EINTR.
 */
void net_op_begin(int timeout_ms, int (*interrupted)(void));
void net_op_end(void);
bool net_op_interrupted(void);
void net_op_progress(void);
/* The calling thread's operation timeout (net_op_begin), 0: none; for
   work it hands to a thread of its own under the same deadline. */
int net_op_timeout(void);
/* timeout_ms (< 0: none) cut to the operation's deadline. */
int net_op_clamp(int timeout_ms);

/*
 * Wait until fd_a has events_a or fd_b has events_b (fd_b < 0: only
 * fd_a); *which gets NET_READY_A / NET_READY_B bits.  0, -ETIMEDOUT or
 * -errno.
 */
enum { NET_READY_A = 1, NET_READY_B = 2 };
int net_wait_pair(int fd_a, short events_a, int fd_b, short events_b,
    int timeout_ms, unsigned *which);

/* True when bytes (or EOF) are pending without blocking. */
bool net_readable_now(int fd);

/*
 * Read up to n bytes, waiting at most timeout_ms for the first byte.
 * Returns the byte count, 0 at EOF, or -errno.
 */
ssize_t net_read(int fd, void *buf, size_t n, int timeout_ms);

/*
 * Move up to n bytes from socket fd into the pipe pipe_wr without copying
 * them (splice(2)), waiting at most timeout_ms for the first byte.
 * Returns the byte count, 0 at EOF, -ENOBUFS when the pipe has no free
 * slot (nothing was moved), -EINVAL when fd cannot be spliced (nothing
 * was moved either), or -errno.
 */
ssize_t net_splice(int fd, int pipe_wr, size_t n, int timeout_ms);

/* Write all n bytes; the deadline applies to the whole call. */
int net_write_all(int fd, const void *buf, size_t n, int timeout_ms);

/* shutdown(SHUT_WR) ignoring ENOTCONN. */
void net_shutdown_write(int fd);
/* shutdown(SHUT_RDWR): every later read or write fails at once. */
void net_shutdown_both(int fd);

/* close(2); fd < 0 is ignored. */
void net_close(int fd);

/* Close with SO_LINGER {1, 0}: the peer sees RST, nothing lingers. */
void net_close_reset(int fd);

/* TCP keepalive (idle seconds) and TCP_NODELAY on control sockets. */
void net_tune_control(int fd);

/* Larger socket buffers for bulk data sockets. */
void net_tune_data(int fd);

/*
 * Wake readers of fd only once this many bytes are queued (or at EOF):
 * fewer wakeups per megabyte on bulk transfers.
 */
void net_set_rcvlowat(int fd, int bytes);

/* Monotonic clock in milliseconds (deadline arithmetic). */
int64_t net_now_ms(void);

/*
 * ---- streams ----------------------------------------------------------
 *
 * A byte stream over one connected socket: plain TCP here, TLS in tls.c.
 * The protocol code (ftp_conn.c, ftp_data.c) reads and writes only
 * through it, so that bytes a TLS library has already taken off the
 * socket are never missed by a poll() on the socket.  A stream is used by
 * one thread at a time.  Timeouts and errors as for the socket functions
 * above.
 */
struct net_stream;

struct net_stream_ops {
	const char *name; /* "tcp", "tls" */
	/* Up to n bytes, waiting at most timeout_ms for the first; 0 at EOF. */
	ssize_t (*read)(
	    struct net_stream *s, void *buf, size_t n, int timeout_ms);
	/* All n bytes within timeout_ms: 0 or -errno. */
	int (*write)(
	    struct net_stream *s, const void *buf, size_t n, int timeout_ms);
	/* Bytes (or EOF) readable without waiting for the socket. */
	size_t (*pending)(struct net_stream *s);
	/*
	 * As net_splice() on the stream's own bytes.  NULL, or -EOPNOTSUPP /
	 * -EINVAL (nothing moved), where the bytes on the socket are not the
	 * stream's bytes (TLS).
	 */
	ssize_t (*splice)(
	    struct net_stream *s, int pipe_wr, size_t n, int timeout_ms);
	/* End our direction cleanly (TLS close_notify, then FIN): 0/-errno. */
	int (*shutdown)(struct net_stream *s, int timeout_ms);
	/* Free the stream; its socket is closed (with RST when reset). */
	void (*close)(struct net_stream *s, bool reset);
};

struct net_stream {
	const struct net_stream_ops *ops;
	int fd; /* the socket, owned by the stream */
};

/* A plain TCP stream owning fd (closed on failure too).  0 or -ENOMEM. */
int net_stream_plain(int fd, struct net_stream **out);

ssize_t net_stream_read(
    struct net_stream *s, void *buf, size_t n, int timeout_ms);
int net_stream_write(
    struct net_stream *s, const void *buf, size_t n, int timeout_ms);
/* Wait until a read would not block: 0, -ETIMEDOUT or -errno. */
int net_stream_wait(struct net_stream *s, int timeout_ms);
/* True when a read would not block (bytes, EOF or an error queued). */
bool net_stream_readable_now(struct net_stream *s);
/*
 * Wait until s is readable or fd is readable (a listening socket),
 * whichever comes first; *which gets NET_READY_STREAM / NET_READY_FD bits.
 * 0, -ETIMEDOUT or -errno.
 */
enum { NET_READY_STREAM = 1, NET_READY_FD = 2 };
int net_stream_wait_either(
    struct net_stream *s, int fd, int timeout_ms, unsigned *which);
/* net_splice() through the stream; -EOPNOTSUPP when it cannot splice. */
ssize_t net_stream_splice(
    struct net_stream *s, int pipe_wr, size_t n, int timeout_ms);
int net_stream_shutdown(struct net_stream *s, int timeout_ms);
/*
 * net_set_rcvlowat() on the stream's socket; plain streams only.  Under
 * TLS the last record before the end (close_notify) is small, and a
 * server that waits for ours before its FIN (vsftpd) would leave the
 * reader asleep until its low-water wait gives up.
 */
void net_stream_set_rcvlowat(struct net_stream *s, int bytes);
/*
 * Free a plain stream without closing its socket, which is returned (for
 * a TLS stream to take over).  -EINVAL for a stream that is not plain.
 */
int net_stream_release(struct net_stream *s);
/* Close and free; NULL is ignored.  _reset: the peer sees RST. */
void net_stream_close(struct net_stream *s);
void net_stream_close_reset(struct net_stream *s);

#endif
