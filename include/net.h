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

#endif
