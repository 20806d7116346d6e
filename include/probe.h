/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * probe: which protocol a server speaks, for auto:// URLs.
 *
 * Tried in the order given (default sftp, ftpes, ftp), each on the URL's
 * port or else its own default (22, 21, 21):
 *   sftp   an SSH version line ("SSH-2.0-...") within the timeout;
 *   ftpes  an FTP greeting (220) and AUTH TLS answered 234;
 *   ftp    an FTP greeting (220).
 * ftpes and ftp share one connection when both are asked for on one port.
 * Nothing is logged in: the probe never sends a user name or password,
 * and it ends with QUIT.  Implicit FTPS (ftps) cannot be told from a
 * silent port, so it is not probed: name ftps:// directly.
 */
#ifndef FTPFS_PROBE_H
#define FTPFS_PROBE_H

#include <stddef.h>

#include "url.h"

#define PROBE_MAX 3

/*
 * "sftp,ftpes,ftp" (any order, each once) into order[] and *n.
 * 0, or -EINVAL with a one-line reason in msg.
 */
int probe_parse_order(const char *list, enum url_scheme order[PROBE_MAX],
    size_t *n, char *msg, size_t msglen);

/*
 * Probe host; port 0: each protocol's default.  timeout_ms bounds each
 * try.  0 and *chosen with the reason in why ("SSH banner on port 22"),
 * or -EPROTONOSUPPORT / a network errno with what each try found in why.
 */
int probe_choose(const char *host, unsigned port, const enum url_scheme *order,
    size_t n, int timeout_ms, enum url_scheme *chosen, unsigned *chosen_port,
    char *why, size_t whylen);

#endif
