/* SPDX-License-Identifier: GPL-2.0-or-later */
/* net: sockets with deadlines (contract in include/net.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "net.h"

int64_t
net_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The calling thread's operation deadline (net_op_begin): every wait of
 * this module, of tls.c and of sftp_conn.c is cut to what is left of it,
 * and each byte that moves pushes it on (a slow transfer that progresses
 * is not a stalled one).  0: none (the mount's own threads, mount time).
 */
static _Thread_local int64_t op_deadline;
static _Thread_local int op_timeout;
static _Thread_local int (*op_interrupted)(void);

void
net_op_begin(int timeout_ms, int (*interrupted)(void))
{
	op_timeout = timeout_ms;
	op_deadline = timeout_ms > 0 ? net_now_ms() + timeout_ms : 0;
	op_interrupted = interrupted;
}

void
net_op_end(void)
{
	op_deadline = 0;
	op_interrupted = NULL;
}

bool
net_op_interrupted(void)
{
	return op_interrupted != NULL && op_interrupted();
}

void
net_op_progress(void)
{
	if (op_deadline != 0)
		op_deadline = net_now_ms() + op_timeout;
}

int
net_op_timeout(void)
{
	return op_deadline != 0 ? op_timeout : 0;
}

int
net_op_clamp(int timeout_ms)
{
	int64_t left;

	if (op_deadline == 0)
		return timeout_ms;
	left = op_deadline - net_now_ms();
	if (left < 0)
		left = 0;
	return timeout_ms < 0 || left < timeout_ms ? (int)left : timeout_ms;
}

static int
remaining_ms(int64_t deadline)
{
	int64_t left;

	if (deadline < 0)
		return -1;
	left = deadline - net_now_ms();
	return left < 0 ? 0 : (int)left;
}

int
net_wait(int fd, short events, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int64_t deadline;
	int rc;

	timeout_ms = net_op_clamp(timeout_ms);
	deadline = timeout_ms < 0 ? -1 : net_now_ms() + timeout_ms;
	for (;;) {
		rc = poll(&pfd, 1, remaining_ms(deadline));
		if (rc > 0)
			return 0;
		if (rc == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
		if (net_op_interrupted())
			return -EINTR; /* the caller was interrupted */
	}
}

int
net_wait_pair(int fd_a, short events_a, int fd_b, short events_b,
    int timeout_ms, unsigned *which)
{
	struct pollfd pfd[2] = {
		{ .fd = fd_a, .events = events_a },
		{ .fd = fd_b, .events = events_b },
	};
	int64_t deadline;
	short bad = POLLHUP | POLLERR | POLLNVAL;
	int rc;

	*which = 0;
	timeout_ms = net_op_clamp(timeout_ms);
	deadline = timeout_ms < 0 ? -1 : net_now_ms() + timeout_ms;
	for (;;) {
		rc = poll(pfd, 2, remaining_ms(deadline));
		if (rc > 0)
			break;
		if (rc == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
		if (net_op_interrupted())
			return -EINTR;
	}
	if (pfd[0].revents & (events_a | bad))
		*which |= NET_READY_A;
	if (fd_b >= 0 && (pfd[1].revents & (events_b | bad)))
		*which |= NET_READY_B;
	return 0;
}

bool
net_readable_now(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, 0) > 0;
}

static int
socket_for(int family, int *fd)
{
	int s = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (s < 0)
		return -errno;
	*fd = s;
	return 0;
}

int
net_connect_addr(const struct net_addr *addr, const struct net_addr *local,
    int timeout_ms, int *fd)
{
	int s = -1, rc, err = 0;
	socklen_t elen = sizeof(err);

	rc = socket_for(addr->ss.ss_family, &s);
	if (rc < 0)
		return rc;
	if (local != NULL) {
		struct net_addr l = *local;

		net_addr_set_port(&l, 0);
		if (bind(s, (const struct sockaddr *)&l.ss, l.len) < 0) {
			rc = -errno;
			goto fail;
		}
	}
	if (connect(s, (const struct sockaddr *)&addr->ss, addr->len) == 0)
		goto ok;
	if (errno != EINPROGRESS) {
		rc = -errno;
		goto fail;
	}
	rc = net_wait(s, POLLOUT, timeout_ms);
	if (rc < 0)
		goto fail;
	if (getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &elen) < 0) {
		rc = -errno;
		goto fail;
	}
	if (err != 0) {
		rc = -err;
		goto fail;
	}
ok:
	*fd = s;
	return 0;
fail:
	net_close(s);
	return rc;
}

void
net_connect_msg(
    int rc, const char *host, unsigned port, char *msg, size_t msglen)
{
	if (msg == NULL || msglen == 0)
		return;
	if (rc == -EADDRNOTAVAIL)
		snprintf(msg, msglen, "cannot resolve host name %s", host);
	else if (rc == -EAGAIN)
		snprintf(msg, msglen,
		    "cannot resolve host name %s: no answer from the name "
		    "server (temporary failure, or no network)",
		    host);
	else
		snprintf(msg, msglen, "cannot connect to %s port %u: %s", host,
		    port, strerror(-rc));
}

int
net_connect_host(const char *host, unsigned port, int timeout_ms, int *fd)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV,
	};
	struct addrinfo *res = NULL, *ai;
	char service[16];
	int64_t deadline = net_now_ms() + timeout_ms;
	int rc, gai;

	snprintf(service, sizeof(service), "%u", port);
	gai = getaddrinfo(host, service, &hints, &res);
	if (gai == EAI_ADDRFAMILY || gai == EAI_NONAME) {
		/* AI_ADDRCONFIG hides loopback-only setups; retry without. */
		hints.ai_flags = AI_NUMERICSERV;
		gai = getaddrinfo(host, service, &hints, &res);
	}
	if (gai != 0) {
		log_debug("getaddrinfo(%s): %s", host, gai_strerror(gai));
		if (gai == EAI_SYSTEM)
			return -errno;
		/* Name does not resolve (or DNS failed): say so distinctly. */
		return gai == EAI_AGAIN ? -EAGAIN : -EADDRNOTAVAIL;
	}
	rc = -EHOSTUNREACH;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		struct net_addr a;

		if (ai->ai_addrlen > sizeof(a.ss))
			continue;
		memcpy(&a.ss, ai->ai_addr, ai->ai_addrlen);
		a.len = ai->ai_addrlen;
		rc = net_connect_addr(&a, NULL, remaining_ms(deadline), fd);
		if (rc == 0 || remaining_ms(deadline) == 0)
			break;
	}
	freeaddrinfo(res);
	return rc;
}

int
net_listen(
    const struct net_addr *local, unsigned port_lo, unsigned port_hi, int *fd)
{
	struct net_addr l = *local;
	unsigned port, span, start, i;
	int s = -1, rc, one = 1;

	if (port_lo == 0 || port_hi < port_lo) {
		port_lo = 0;
		port_hi = 0;
	}
	span = port_hi - port_lo + 1;
	/* Start at a varying place so parallel mounts do not collide. */
	start = port_lo ? (unsigned)(net_now_ms() % span) : 0;
	for (i = 0; i < span; i++) {
		port = port_lo ? port_lo + (start + i) % span : 0;
		rc = socket_for(l.ss.ss_family, &s);
		if (rc < 0)
			return rc;
		setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		net_addr_set_port(&l, port);
		if (bind(s, (const struct sockaddr *)&l.ss, l.len) == 0 &&
		    listen(s, 1) == 0) {
			*fd = s;
			return 0;
		}
		rc = -errno;
		net_close(s);
		if (rc != -EADDRINUSE)
			return rc;
	}
	return -EADDRINUSE;
}

int
net_accept(int lfd, int timeout_ms, int *fd, struct net_addr *peer)
{
	int rc, s;

	rc = net_wait(lfd, POLLIN, timeout_ms);
	if (rc < 0)
		return rc;
	peer->len = sizeof(peer->ss);
	s = accept4(lfd, (struct sockaddr *)&peer->ss, &peer->len,
	    SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (s < 0)
		return -errno;
	*fd = s;
	return 0;
}

int
net_peer_addr(int fd, struct net_addr *out)
{
	out->len = sizeof(out->ss);
	if (getpeername(fd, (struct sockaddr *)&out->ss, &out->len) < 0)
		return -errno;
	return 0;
}

int
net_local_addr(int fd, struct net_addr *out)
{
	out->len = sizeof(out->ss);
	if (getsockname(fd, (struct sockaddr *)&out->ss, &out->len) < 0)
		return -errno;
	return 0;
}

unsigned
net_addr_port(const struct net_addr *a)
{
	if (a->ss.ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
	return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
}

void
net_addr_set_port(struct net_addr *a, unsigned port)
{
	if (a->ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&a->ss)->sin6_port =
		    htons((uint16_t)port);
	else
		((struct sockaddr_in *)&a->ss)->sin_port =
		    htons((uint16_t)port);
}

bool
net_addr_is_v6(const struct net_addr *a)
{
	return a->ss.ss_family == AF_INET6;
}

/* The IPv4 address of a (plain or v4-mapped), false when it has none. */
static bool
addr_v4(const struct net_addr *a, struct in_addr *out)
{
	if (a->ss.ss_family == AF_INET) {
		*out = ((const struct sockaddr_in *)&a->ss)->sin_addr;
		return true;
	}
	if (a->ss.ss_family == AF_INET6) {
		const struct in6_addr *v6 =
		    &((const struct sockaddr_in6 *)&a->ss)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(v6)) {
			memcpy(&out->s_addr, &v6->s6_addr[12], 4);
			return true;
		}
	}
	return false;
}

bool
net_addr_same_host(const struct net_addr *a, const struct net_addr *b)
{
	struct in_addr a4, b4;
	bool av4 = addr_v4(a, &a4), bv4 = addr_v4(b, &b4);

	if (av4 || bv4)
		return av4 && bv4 && a4.s_addr == b4.s_addr;
	if (a->ss.ss_family != AF_INET6 || b->ss.ss_family != AF_INET6)
		return false;
	return memcmp(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr,
	           &((const struct sockaddr_in6 *)&b->ss)->sin6_addr,
	           sizeof(struct in6_addr)) == 0;
}

void
net_addr_from_v4(struct net_addr *a, const uint8_t ip[4], unsigned port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&a->ss;

	memset(a, 0, sizeof(*a));
	sin->sin_family = AF_INET;
	memcpy(&sin->sin_addr.s_addr, ip, 4);
	sin->sin_port = htons((uint16_t)port);
	a->len = sizeof(*sin);
}

const char *
net_addr_str(const struct net_addr *a, char *buf, size_t len)
{
	const void *src;

	if (a->ss.ss_family == AF_INET6)
		src = &((const struct sockaddr_in6 *)&a->ss)->sin6_addr;
	else
		src = &((const struct sockaddr_in *)&a->ss)->sin_addr;
	if (inet_ntop(a->ss.ss_family, src, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "?");
	return buf;
}

ssize_t
net_read(int fd, void *buf, size_t n, int timeout_ms)
{
	ssize_t r;
	int rc;

	for (;;) {
		r = recv(fd, buf, n, 0);
		if (r > 0)
			net_op_progress();
		if (r >= 0)
			return r;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		rc = net_wait(fd, POLLIN, timeout_ms);
		if (rc < 0)
			return rc;
	}
}

/* True when the pipe cannot take one more buffer. */
static bool
pipe_full(int pipe_wr)
{
	struct pollfd pfd = { .fd = pipe_wr, .events = POLLOUT };

	return poll(&pfd, 1, 0) == 0;
}

ssize_t
net_splice(int fd, int pipe_wr, size_t n, int timeout_ms)
{
	ssize_t r;
	int rc;

	for (;;) {
		r = splice(fd, NULL, pipe_wr, NULL, n,
		    SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
		if (r > 0)
			net_op_progress();
		if (r >= 0)
			return r;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		/*
		 * Nothing queued on the socket, or no free slot in the pipe:
		 * only the first is worth waiting for (we are the pipe's
		 * only reader until we return).
		 */
		if (pipe_full(pipe_wr))
			return -ENOBUFS;
		rc = net_wait(fd, POLLIN, timeout_ms);
		if (rc < 0)
			return rc;
	}
}

int
net_write_all(int fd, const void *buf, size_t n, int timeout_ms)
{
	const char *p = buf;
	int64_t deadline = timeout_ms < 0 ? -1 : net_now_ms() + timeout_ms;
	ssize_t w;
	int rc;

	while (n > 0) {
		w = send(fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			net_op_progress();
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		rc = net_wait(fd, POLLOUT, remaining_ms(deadline));
		if (rc < 0)
			return rc;
	}
	return 0;
}

void
net_shutdown_write(int fd)
{
	if (fd >= 0)
		shutdown(fd, SHUT_WR);
}

void
net_shutdown_both(int fd)
{
	if (fd >= 0)
		shutdown(fd, SHUT_RDWR);
}

void
net_close(int fd)
{
	if (fd >= 0)
		close(fd);
}

void
net_close_reset(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

void
net_tune_control(int fd)
{
	int one = 1, idle = 60, intvl = 15, cnt = 4;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

void
net_tune_data(int fd)
{
	(void)fd; /* kernel autotuning beats fixed SO_RCVBUF on Linux */
}

void
net_set_rcvlowat(int fd, int bytes)
{
	if (bytes < 1)
		bytes = 1;
	setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &bytes, sizeof(bytes));
}

/* ---- streams ---------------------------------------------------------- */

static ssize_t
plain_read(struct net_stream *s, void *buf, size_t n, int timeout_ms)
{
	return net_read(s->fd, buf, n, timeout_ms);
}

static int
plain_write(struct net_stream *s, const void *buf, size_t n, int timeout_ms)
{
	return net_write_all(s->fd, buf, n, timeout_ms);
}

static size_t
plain_pending(struct net_stream *s)
{
	(void)s;
	return 0; /* nothing is buffered above the socket */
}

static ssize_t
plain_splice(struct net_stream *s, int pipe_wr, size_t n, int timeout_ms)
{
	return net_splice(s->fd, pipe_wr, n, timeout_ms);
}

static int
plain_shutdown(struct net_stream *s, int timeout_ms)
{
	(void)timeout_ms;
	net_shutdown_write(s->fd);
	return 0;
}

static void
plain_close(struct net_stream *s, bool reset)
{
	if (reset)
		net_close_reset(s->fd);
	else
		net_close(s->fd);
	free(s);
}

static const struct net_stream_ops plain_ops = {
	.name = "tcp",
	.read = plain_read,
	.write = plain_write,
	.pending = plain_pending,
	.splice = plain_splice,
	.shutdown = plain_shutdown,
	.close = plain_close,
};

int
net_stream_plain(int fd, struct net_stream **out)
{
	struct net_stream *s = malloc(sizeof(*s));

	if (s == NULL) {
		net_close(fd);
		return -ENOMEM;
	}
	s->ops = &plain_ops;
	s->fd = fd;
	*out = s;
	return 0;
}

ssize_t
net_stream_read(struct net_stream *s, void *buf, size_t n, int timeout_ms)
{
	return s->ops->read(s, buf, n, timeout_ms);
}

int
net_stream_write(
    struct net_stream *s, const void *buf, size_t n, int timeout_ms)
{
	return s->ops->write(s, buf, n, timeout_ms);
}

int
net_stream_wait(struct net_stream *s, int timeout_ms)
{
	if (s->ops->pending(s) > 0)
		return 0;
	return net_wait(s->fd, POLLIN, timeout_ms);
}

bool
net_stream_readable_now(struct net_stream *s)
{
	return s->ops->pending(s) > 0 || net_readable_now(s->fd);
}

int
net_stream_wait_either(
    struct net_stream *s, int fd, int timeout_ms, unsigned *which)
{
	unsigned r;
	int rc;

	*which = 0;
	if (s->ops->pending(s) > 0) {
		*which = NET_READY_STREAM;
		timeout_ms = 0; /* only look at fd */
	}
	rc = net_wait_pair(s->fd, POLLIN, fd, POLLIN, timeout_ms, &r);
	if (rc < 0)
		return *which != 0 ? 0 : rc;
	if (r & NET_READY_A)
		*which |= NET_READY_STREAM;
	if (r & NET_READY_B)
		*which |= NET_READY_FD;
	return 0;
}

ssize_t
net_stream_splice(struct net_stream *s, int pipe_wr, size_t n, int timeout_ms)
{
	if (s->ops->splice == NULL)
		return -EOPNOTSUPP;
	return s->ops->splice(s, pipe_wr, n, timeout_ms);
}

int
net_stream_shutdown(struct net_stream *s, int timeout_ms)
{
	return s->ops->shutdown(s, timeout_ms);
}

void
net_stream_set_rcvlowat(struct net_stream *s, int bytes)
{
	if (s->ops == &plain_ops)
		net_set_rcvlowat(s->fd, bytes);
}

int
net_stream_release(struct net_stream *s)
{
	int fd;

	if (s->ops != &plain_ops)
		return -EINVAL;
	fd = s->fd;
	free(s);
	return fd;
}

void
net_stream_close(struct net_stream *s)
{
	if (s != NULL)
		s->ops->close(s, false);
}

void
net_stream_close_reset(struct net_stream *s)
{
	if (s != NULL)
		s->ops->close(s, true);
}
