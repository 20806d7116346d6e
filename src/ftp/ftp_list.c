/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ftp_list: MLSD and LIST parsers (contract in include/ftp_list.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "ftp_list.h"
#include "ftp_parse.h"

/* What the line parsers found, besides -EINVAL. */
enum {
	LP_NOISE = 0, /* blank or "total N": no entry, no format evidence */
	LP_ENTRY = 1, /* *out holds an entry to report */
	LP_HIDDEN = 2, /* a well-formed line whose entry is not reported */
};

/* How the listing's lines end (p->eol). */
enum {
	EOL_UNKNOWN = 0,
	EOL_LF,
	EOL_CRLF,
};

/* A record may carry one CR before its LF on top of the line maximum. */
#define REC_LIMIT (FTP_LIST_LINE_MAX + 1)
/*
 * The buffer holds at most one record plus, while the line ending is not
 * known yet, the next one (see find_record()), and one spare byte.
 */
#define PARSER_BUF_MAX (2 * REC_LIMIT + 2)

/* Unix LIST: a date up to this many days ahead is taken as this year. */
#define FUTURE_SLACK ((time_t)30 * 86400)

/* ---- small helpers ---------------------------------------------------- */

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static char
to_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* s[0..len) equals the lower-case literal lit, ignoring case. */
static bool
eq_nocase(const char *s, size_t len, const char *lit)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (lit[i] == '\0' || to_lower(s[i]) != lit[i])
			return false;
	return lit[len] == '\0';
}

/* s[0..len) starts with the lower-case literal lit, ignoring case. */
static bool
prefix_nocase(const char *s, size_t len, const char *lit)
{
	size_t n = strlen(lit);

	return len >= n && eq_nocase(s, n, lit);
}

static bool
all_digits(const char *s, size_t len)
{
	size_t i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++)
		if (!is_digit(s[i]))
			return false;
	return true;
}

/* Decimal digits only, no sign, no overflow. */
static bool
parse_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	unsigned d;
	size_t i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++) {
		if (!is_digit(s[i]))
			return false;
		d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/* A uid or gid: decimal, below (id_t)-1 which means "no id". */
static bool
parse_id(const char *s, size_t len, uint32_t *out)
{
	uint64_t v;

	if (!parse_u64(s, len, &v) || v >= UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* Small decimal field of 1..maxd digits. */
static bool
parse_small(const char *s, size_t len, size_t maxd, int *out)
{
	int v = 0;
	size_t i;

	if (len == 0 || len > maxd)
		return false;
	for (i = 0; i < len; i++) {
		if (!is_digit(s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

static size_t
strip_cr(const char *line, size_t len)
{
	if (len > 0 && line[len - 1] == '\r')
		len--;
	return len;
}

static bool
is_blank(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t')
			return false;
	return true;
}

/* CR, LF and NUL: such a name can never be sent back safely. */
static bool
has_ctl(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0')
			return true;
	return false;
}

/* LP_ENTRY for a reportable name, LP_HIDDEN, or -EINVAL for none. */
static int
check_name(const char *name, size_t len)
{
	if (len == 0)
		return -EINVAL;
	if ((len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.'))
		return LP_HIDDEN;
	if (has_ctl(name, len))
		return LP_HIDDEN;
	return LP_ENTRY;
}

static void
set_target(struct ftp_list_entry *out, const char *t, size_t len)
{
	/* An empty or unsendable target is as good as none. */
	if (len == 0 || has_ctl(t, len))
		return;
	out->target = t;
	out->target_len = len;
}

/* ---- time ------------------------------------------------------------- */

static bool
is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
month_days(int y, int mon)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
		30, 31 };

	return mon == 2 && is_leap(y) ? 29 : days[mon - 1];
}

/* Fields already validated; year in 1800..9999, so timegm cannot fail. */
static time_t
mk_utc(int year, int mon, int day, int hour, int min, int sec)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	return timegm(&tm);
}

/* "YYYYMMDDHHMMSS[.fff]" (RFC 3659 time-val, UTC): ftp_parse_time(). */
static bool
parse_time_val(const char *s, size_t len, struct timespec *out)
{
	return ftp_parse_time(s, len, out) == 0;
}

/* ---- MLSD ------------------------------------------------------------- */

/* unix.mode: "0644", "644", "00", or Python's "0o640". */
static bool
parse_mode(const char *s, size_t len, mode_t *out)
{
	unsigned v = 0;
	size_t i;

	if (len >= 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) {
		s += 2;
		len -= 2;
	}
	if (len == 0)
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '7')
			return false;
		v = v * 8 + (unsigned)(s[i] - '0');
		if (v > 07777)
			return false;
	}
	*out = (mode_t)v;
	return true;
}

/*
 * The type fact.  Returns the S_IF* type, or 0 for cdir/pdir.  Unknown
 * values (Pure-FTPd's "unknown" for fifos and devices, other OS.* types)
 * are reported as regular files: that is what they look like to RETR.
 */
static mode_t
mlsd_type(const char *v, size_t len, struct ftp_list_entry *out)
{
	static const char slink[] = "os.unix=slink";

	if (eq_nocase(v, len, "file"))
		return S_IFREG;
	if (eq_nocase(v, len, "dir"))
		return S_IFDIR;
	if (eq_nocase(v, len, "cdir") || eq_nocase(v, len, "pdir"))
		return 0;
	if (eq_nocase(v, len, "os.unix=symlink"))
		return S_IFLNK;
	if (eq_nocase(v, len, slink))
		return S_IFLNK;
	if (prefix_nocase(v, len, slink) && v[sizeof(slink) - 1] == ':') {
		set_target(out, v + sizeof(slink), len - sizeof(slink));
		return S_IFLNK;
	}
	return S_IFREG;
}

static int
mlsd_line(const char *line, size_t len, struct ftp_list_entry *out)
{
	struct backend_attr *a = &out->attr;
	const char *f, *end, *semi, *eq, *val;
	size_t facts_len, klen, vlen;
	mode_t type = 0, perm;
	bool have_type = false;
	uint32_t id;
	int rc;

	memset(out, 0, sizeof(*out));
	if (is_blank(line, len))
		return LP_NOISE;
	/* Facts end at the first space or TAB; the name is the rest. */
	for (facts_len = 0; facts_len < len; facts_len++)
		if (line[facts_len] == ' ' || line[facts_len] == '\t')
			break;
	if (facts_len == 0 || facts_len == len)
		return -EINVAL;
	out->name = line + facts_len + 1;
	out->name_len = len - facts_len - 1;

	end = line + facts_len;
	for (f = line; f < end; f = semi + 1) {
		semi = memchr(f, ';', (size_t)(end - f));
		if (semi == NULL)
			semi = end; /* last fact without ';' */
		if (semi == f)
			continue;
		eq = memchr(f, '=', (size_t)(semi - f));
		/* Not a fact: the second half of a name with LF, say. */
		if (eq == NULL || eq == f)
			return -EINVAL;
		klen = (size_t)(eq - f);
		val = eq + 1;
		vlen = (size_t)(semi - val);
		if (eq_nocase(f, klen, "type")) {
			out->target = NULL;
			out->target_len = 0;
			type = mlsd_type(val, vlen, out);
			have_type = true;
		} else if (eq_nocase(f, klen, "size")) {
			if (parse_u64(val, vlen, &a->size))
				a->valid |= BA_SIZE;
		} else if (eq_nocase(f, klen, "modify")) {
			if (parse_time_val(val, vlen, &a->mtime)) {
				a->valid |= BA_MTIME;
				a->mtime_prec = BA_PREC_SECOND;
			}
		} else if (eq_nocase(f, klen, "unix.mode")) {
			if (parse_mode(val, vlen, &perm)) {
				a->mode = perm;
				a->valid |= BA_MODE_PERM;
			}
		} else if (eq_nocase(f, klen, "unix.uid") ||
		    eq_nocase(f, klen, "unix.owner")) {
			/* ProFTPD: numeric UNIX.owner, name in ownername. */
			if (parse_id(val, vlen, &id)) {
				a->uid = (uid_t)id;
				a->valid |= BA_UID;
			}
		} else if (eq_nocase(f, klen, "unix.gid") ||
		    eq_nocase(f, klen, "unix.group")) {
			if (parse_id(val, vlen, &id)) {
				a->gid = (gid_t)id;
				a->valid |= BA_GID;
			}
		} else if (eq_nocase(f, klen, "perm")) {
			out->perm = val;
			out->perm_len = vlen;
		}
		/* sizd, unique, lang, media-type...: not needed. */
		if (semi == end)
			break;
	}
	/*
	 * Without a type a file cannot be told from a directory; such lines
	 * are also what a name with LF in it leaves behind.
	 */
	if (!have_type)
		return -EINVAL;
	if (type == 0)
		return LP_HIDDEN;
	rc = check_name(out->name, out->name_len);
	if (rc != LP_ENTRY)
		return rc;
	a->mode = (a->mode & 07777) | type;
	a->valid |= BA_MODE_TYPE;
	return LP_ENTRY;
}

bool
ftp_mlst_may_hide_link(const struct backend_attr *a)
{
	mode_t type = a->mode & S_IFMT;

	if ((a->valid & (BA_MODE_TYPE | BA_MODE_PERM)) !=
	    (BA_MODE_TYPE | BA_MODE_PERM))
		return false;
	return (type == S_IFREG || type == S_IFDIR) &&
	    (a->mode & 07777) == 0777;
}

/* ---- Unix LIST -------------------------------------------------------- */

struct tok {
	const char *p;
	size_t len;
};

/*
 * Tokens after the permissions needed to find the date: link count,
 * owner, group, "major," "minor" (5), month, day, time/year (3).
 */
#define UNIX_TOKENS 8
#define UNIX_MONTH_MAX 5 /* index of the month at the latest */

/* "-rwxr-xr-x", optionally followed by '+' (ACL), '@' or '.'. */
static bool
unix_perms(const char *s, size_t len, mode_t *mode)
{
	static const mode_t bits[9] = { S_IRUSR, S_IWUSR, S_IXUSR, S_IRGRP,
		S_IWGRP, S_IXGRP, S_IROTH, S_IWOTH, S_IXOTH };
	mode_t m;
	size_t i;
	char c;

	if (len == 11 && s[10] != '+' && s[10] != '@' && s[10] != '.')
		return false;
	if (len != 10 && len != 11)
		return false;
	switch (s[0]) {
	case '-':
		m = S_IFREG;
		break;
	case 'd':
		m = S_IFDIR;
		break;
	case 'l':
		m = S_IFLNK;
		break;
	case 'c':
		m = S_IFCHR;
		break;
	case 'b':
		m = S_IFBLK;
		break;
	case 'p':
		m = S_IFIFO;
		break;
	case 's':
		m = S_IFSOCK;
		break;
	default:
		return false;
	}
	for (i = 0; i < 9; i++) {
		c = s[i + 1];
		if (c == '-')
			continue;
		switch (i % 3) {
		case 0:
			if (c != 'r')
				return false;
			m |= bits[i];
			break;
		case 1:
			if (c != 'w')
				return false;
			m |= bits[i];
			break;
		default:
			if (c == 'x') {
				m |= bits[i];
			} else if (i == 8 && (c == 't' || c == 'T')) {
				m |= S_ISVTX | (c == 't' ? bits[i] : 0);
			} else if (i < 8 && (c == 's' || c == 'S')) {
				m |= (i == 2 ? S_ISUID : S_ISGID) |
				    (c == 's' ? bits[i] : 0);
			} else if (i == 5 && (c == 'l' || c == 'L')) {
				/* Old System V: mandatory locking. */
				m |= S_ISGID;
			} else {
				return false;
			}
		}
	}
	*mode = m;
	return true;
}

static int
unix_month(const struct tok *t)
{
	static const char *const names[12] = { "jan", "feb", "mar", "apr",
		"may", "jun", "jul", "aug", "sep", "oct", "nov", "dec" };
	int i;

	for (i = 0; i < 12; i++)
		if (eq_nocase(t->p, t->len, names[i]))
			return i + 1;
	return 0;
}

/*
 * "HH:MM" (year to infer: *year = 0) or "YYYY".
 */
static bool
unix_time_or_year(const struct tok *t, int *year, int *hour, int *min)
{
	const char *colon = memchr(t->p, ':', t->len);
	size_t hl;

	*year = *hour = *min = 0;
	if (colon == NULL)
		return t->len == 4 && parse_small(t->p, 4, 4, year) &&
		    *year >= 1900;
	hl = (size_t)(colon - t->p);
	return parse_small(t->p, hl, 2, hour) && *hour <= 23 &&
	    parse_small(colon + 1, t->len - hl - 1, 2, min) &&
	    t->len - hl - 1 == 2 && *min <= 59;
}

/*
 * The fields between the permissions and the date: [links] [owner]
 * [group] size, where a device's size may be "major, minor".
 */
static bool
unix_fields(const struct tok *t, size_t n, mode_t type, struct backend_attr *a)
{
	const struct tok *last;
	const char *comma;
	uint64_t v;
	uint32_t id;
	size_t i = 0;

	if (n == 0)
		return false;
	last = &t[n - 1];
	if ((type == S_IFCHR || type == S_IFBLK) && n >= 2 &&
	    t[n - 2].len >= 2 && t[n - 2].p[t[n - 2].len - 1] == ',' &&
	    all_digits(t[n - 2].p, t[n - 2].len - 1) &&
	    all_digits(last->p, last->len)) {
		n -= 2; /* "1,   3": no size */
	} else if ((type == S_IFCHR || type == S_IFBLK) &&
	    (comma = memchr(last->p, ',', last->len)) != NULL) {
		if (!all_digits(last->p, (size_t)(comma - last->p)) ||
		    !all_digits(
		        comma + 1, last->len - (size_t)(comma - last->p) - 1))
			return false;
		n--; /* "1,3" */
	} else {
		if (!parse_u64(last->p, last->len, &a->size))
			return false;
		a->valid |= BA_SIZE;
		n--;
	}
	/*
	 * What is left: links owner group, links owner, owner group, links
	 * or owner.  A leading number is taken as the link count.
	 */
	if (n > 3)
		return false;
	if (n == 3 && !all_digits(t[0].p, t[0].len))
		return false;
	if (n >= 1 && all_digits(t[0].p, t[0].len)) {
		if (!parse_u64(t[0].p, t[0].len, &v) || v > UINT32_MAX)
			return false;
		a->nlink = (unsigned)v;
		a->valid |= BA_NLINK;
		i = 1;
	}
	if (i < n) {
		if (parse_id(t[i].p, t[i].len, &id)) {
			a->uid = (uid_t)id;
			a->valid |= BA_UID;
		}
		i++;
	}
	if (i < n && parse_id(t[i].p, t[i].len, &id)) {
		a->gid = (gid_t)id;
		a->valid |= BA_GID;
	}
	return true;
}

/*
 * The year of "Mon DD HH:MM": this year unless that is more than 30 days
 * ahead of now, then the year before.  Feb 29 goes back to the
 * last leap year.  -EINVAL when now is not a usable clock.
 */
static int
unix_infer(time_t now, int mon, int day, int hour, int min, time_t *out)
{
	struct tm tm;
	int year;
	time_t t;

	if (gmtime_r(&now, &tm) == NULL || tm.tm_year < 0 ||
	    tm.tm_year > 9999 - 1900)
		return -EINVAL;
	year = tm.tm_year + 1900;
	t = mk_utc(year, mon, day, hour, min, 0);
	if (t > now && t - now > FUTURE_SLACK)
		year--;
	while (mon == 2 && day == 29 && !is_leap(year))
		year--;
	*out = mk_utc(year, mon, day, hour, min, 0);
	return 0;
}

static int
unix_line(const char *line, size_t len, time_t now, struct ftp_list_entry *out)
{
	struct backend_attr *a = &out->attr;
	struct tok t[UNIX_TOKENS];
	size_t ntok = 0, pos, start, m, nstart;
	int mon = 0, day = 0, year = 0, hour = 0, min = 0, rc;
	const char *arrow, *name;
	mode_t mode;

	memset(out, 0, sizeof(*out));
	if (is_blank(line, len))
		return LP_NOISE;
	if (len >= 6 && memcmp(line, "total ", 6) == 0)
		return LP_NOISE;

	for (pos = 0; pos < len && line[pos] != ' '; pos++)
		;
	if (!unix_perms(line, pos, &mode))
		return -EINVAL;
	while (ntok < UNIX_TOKENS) {
		while (pos < len && line[pos] == ' ')
			pos++;
		if (pos == len)
			break;
		start = pos;
		while (pos < len && line[pos] != ' ')
			pos++;
		t[ntok].p = line + start;
		t[ntok].len = pos - start;
		ntok++;
	}

	/*
	 * The date is a "Mon DD HH:MM|YYYY" whose preceding fields make
	 * sense.  Like FileZilla, try the fullest layout first: an owner
	 * called "jan" with group 12 and size 2020 is not a date, and a date
	 * inside the name is beyond UNIX_MONTH_MAX unless the link count,
	 * owner and group are all missing.
	 */
	for (m = UNIX_MONTH_MAX + 1; m-- > 0;) {
		if (m + 2 >= ntok)
			continue;
		mon = unix_month(&t[m]);
		if (mon == 0 ||
		    !parse_small(t[m + 1].p, t[m + 1].len, 2, &day) || day < 1)
			continue;
		if (!unix_time_or_year(&t[m + 2], &year, &hour, &min))
			continue;
		if (day > month_days(year != 0 ? year : 2000, mon))
			continue;
		memset(a, 0, sizeof(*a));
		if (unix_fields(t, m, mode & S_IFMT, a))
			break;
	}
	if (m > UNIX_MONTH_MAX)
		return -EINVAL;

	/* The name: everything after exactly one space. */
	nstart = (size_t)(t[m + 2].p - line) + t[m + 2].len + 1;
	if (nstart >= len)
		return -EINVAL;
	name = line + nstart;
	out->name = name;
	out->name_len = len - nstart;
	if ((mode & S_IFMT) == S_IFLNK) {
		arrow = memmem(name, out->name_len, " -> ", 4);
		if (arrow != NULL) {
			out->name_len = (size_t)(arrow - name);
			set_target(
			    out, arrow + 4, len - nstart - out->name_len - 4);
		}
	}
	rc = check_name(out->name, out->name_len);
	if (rc != LP_ENTRY)
		return rc;

	if (year != 0) {
		a->mtime.tv_sec = mk_utc(year, mon, day, 0, 0, 0);
		a->mtime_prec = BA_PREC_DAY;
	} else {
		if (unix_infer(now, mon, day, hour, min, &a->mtime.tv_sec) < 0)
			return -EINVAL;
		a->mtime_prec = BA_PREC_MINUTE;
	}
	a->mode = mode;
	a->valid |= BA_MODE_TYPE | BA_MODE_PERM | BA_MTIME;
	return LP_ENTRY;
}

/* ---- DOS / IIS LIST --------------------------------------------------- */

/* "MM-DD-YY", "MM-DD-YYYY" or "YYYY-MM-DD" ('-' or '/'). */
static bool
dos_date(const char *s, size_t len, int *year, int *mon, int *day)
{
	size_t l1, l2, l3;
	const char *p2, *p3;
	char sep;
	int a, b, c;

	for (l1 = 0; l1 < len && is_digit(s[l1]); l1++)
		;
	if (l1 == len || (s[l1] != '-' && s[l1] != '/'))
		return false;
	sep = s[l1];
	p2 = s + l1 + 1;
	for (l2 = 0; l1 + 1 + l2 < len && is_digit(p2[l2]); l2++)
		;
	if (l1 + 1 + l2 == len || p2[l2] != sep)
		return false;
	p3 = p2 + l2 + 1;
	l3 = len - l1 - l2 - 2;
	if (!parse_small(s, l1, 4, &a) || !parse_small(p2, l2, 2, &b) ||
	    !parse_small(p3, l3, 4, &c))
		return false;
	if (l1 == 4) {
		if (l3 > 2)
			return false;
		*year = a;
		*mon = b;
		*day = c;
	} else {
		if (l1 > 2 || (l3 != 2 && l3 != 4))
			return false;
		*mon = a;
		*day = b;
		*year = c;
		if (l3 == 2) /* lftp's window: 00-69 are 20xx */
			*year += c < 70 ? 2000 : 1900;
		if (*mon > 12 && *day <= 12) { /* DD-MM-YY locale */
			*mon = b;
			*day = a;
		}
	}
	return *year >= 1900 && *mon >= 1 && *mon <= 12 && *day >= 1 &&
	    *day <= month_days(*year, *mon);
}

/* "HH:MM" with an optional "AM"/"PM" glued on. *ampm: 0, 'a' or 'p'. */
static bool
dos_time(const char *s, size_t len, int *hour, int *min, char *ampm)
{
	const char *colon = memchr(s, ':', len);
	size_t hl, rest;

	*ampm = 0;
	if (colon == NULL)
		return false;
	hl = (size_t)(colon - s);
	rest = len - hl - 1;
	if (rest == 4 &&
	    (eq_nocase(colon + 3, 2, "am") || eq_nocase(colon + 3, 2, "pm"))) {
		*ampm = to_lower(colon[3]);
		rest = 2;
	}
	return rest == 2 && parse_small(s, hl, 2, hour) &&
	    parse_small(colon + 1, 2, 2, min) && *min <= 59;
}

/* "9,730", "1.234.567", "589": digits with ',' or '.' between groups. */
static bool
dos_size(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	unsigned d;
	size_t i;

	if (len == 0 || !is_digit(s[0]) || !is_digit(s[len - 1]))
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] == ',' || s[i] == '.') {
			if (!is_digit(s[i + 1]))
				return false;
			continue;
		}
		if (!is_digit(s[i]))
			return false;
		d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/* Next space-separated token at or after *pos; false at end of line. */
static bool
next_tok(const char *line, size_t len, size_t *pos, struct tok *t)
{
	size_t start;

	while (*pos < len && line[*pos] == ' ')
		(*pos)++;
	if (*pos == len)
		return false;
	start = *pos;
	while (*pos < len && line[*pos] != ' ')
		(*pos)++;
	t->p = line + start;
	t->len = *pos - start;
	return true;
}

static int
dos_line(const char *line, size_t len, struct ftp_list_entry *out)
{
	struct backend_attr *a = &out->attr;
	int year, mon, day, hour, min;
	struct tok t;
	size_t pos = 0;
	bool dir;
	char ampm;
	int rc;

	memset(out, 0, sizeof(*out));
	if (is_blank(line, len))
		return LP_NOISE;
	if (!next_tok(line, len, &pos, &t) ||
	    !dos_date(t.p, t.len, &year, &mon, &day))
		return -EINVAL;
	if (!next_tok(line, len, &pos, &t) ||
	    !dos_time(t.p, t.len, &hour, &min, &ampm))
		return -EINVAL;
	if (!next_tok(line, len, &pos, &t))
		return -EINVAL;
	if (ampm == 0 &&
	    (eq_nocase(t.p, t.len, "am") || eq_nocase(t.p, t.len, "pm"))) {
		ampm = to_lower(t.p[0]);
		if (!next_tok(line, len, &pos, &t))
			return -EINVAL;
	}
	if (ampm != 0) {
		if (hour < 1 || hour > 12)
			return -EINVAL;
		hour = hour % 12 + (ampm == 'p' ? 12 : 0);
	} else if (hour > 23) {
		return -EINVAL;
	}
	dir = eq_nocase(t.p, t.len, "<dir>");
	if (!dir && !dos_size(t.p, t.len, &a->size))
		return -EINVAL;
	/* The name starts after the padding; trailing spaces are kept. */
	while (pos < len && line[pos] == ' ')
		pos++;
	out->name = line + pos;
	out->name_len = len - pos;
	rc = check_name(out->name, out->name_len);
	if (rc != LP_ENTRY)
		return rc;
	/* Server local time of unknown zone: taken as UTC. */
	a->mtime.tv_sec = mk_utc(year, mon, day, hour, min, 0);
	a->mtime_prec = BA_PREC_MINUTE;
	a->mode = dir ? S_IFDIR | 0755 : S_IFREG | 0644;
	a->valid = BA_MODE_TYPE | BA_MTIME | (dir ? 0 : BA_SIZE);
	return LP_ENTRY;
}

/* ---- public line parsers ---------------------------------------------- */

static int
public_rc(int rc)
{
	return rc == LP_ENTRY ? 1 : rc < 0 ? rc : 0;
}

int
ftp_list_parse_mlsd(const char *line, size_t len, struct ftp_list_entry *out)
{
	return public_rc(mlsd_line(line, strip_cr(line, len), out));
}

int
ftp_list_parse_unix(
    const char *line, size_t len, time_t now, struct ftp_list_entry *out)
{
	return public_rc(unix_line(line, strip_cr(line, len), now, out));
}

int
ftp_list_parse_dos(const char *line, size_t len, struct ftp_list_entry *out)
{
	return public_rc(dos_line(line, strip_cr(line, len), out));
}

/* ---- incremental parser ----------------------------------------------- */

void
ftp_list_parser_init(struct ftp_list_parser *p, enum ftp_list_fmt fmt,
    time_t now, ftp_list_cb cb, void *arg)
{
	memset(p, 0, sizeof(*p));
	p->fmt = fmt;
	p->now = now;
	buf_init(&p->line, PARSER_BUF_MAX);
	p->cb = cb;
	p->arg = arg;
	p->eol = EOL_UNKNOWN;
	p->discard = false;
}

static int
handle_record(struct ftp_list_parser *p, const char *rec, size_t len)
{
	struct ftp_list_entry e;
	int rc;

	len = strip_cr(rec, len);
	if (len > FTP_LIST_LINE_MAX) {
		p->bad_lines++;
		return 0;
	}
	switch (p->fmt) {
	case FTP_LIST_MLSD:
		rc = mlsd_line(rec, len, &e);
		break;
	case FTP_LIST_UNIX:
		rc = unix_line(rec, len, p->now, &e);
		break;
	case FTP_LIST_DOS:
		rc = dos_line(rec, len, &e);
		break;
	default:
		/* The first line that parses decides the format. */
		rc = unix_line(rec, len, p->now, &e);
		if (rc == LP_ENTRY || rc == LP_HIDDEN) {
			p->fmt = FTP_LIST_UNIX;
		} else if (rc == -EINVAL) {
			rc = dos_line(rec, len, &e);
			if (rc == LP_ENTRY || rc == LP_HIDDEN)
				p->fmt = FTP_LIST_DOS;
		}
		break;
	}
	if (rc < 0) {
		p->bad_lines++;
		return 0;
	}
	/* A '/' in one path component would make the kernel fail readdir. */
	if (rc != LP_ENTRY || memchr(e.name, '/', e.name_len) != NULL)
		return 0;
	p->entries++;
	return p->cb != NULL ? p->cb(&e, p->arg) : 0;
}

enum rec_status {
	REC_DONE, /* a record is complete */
	REC_MORE, /* the record at the front is not complete */
	REC_WAIT, /* a bare LF ends it if the next line ends in LF too */
};

/*
 * Find the end of the record at d[0..n).  Servers end lines with CRLF;
 * a bare LF inside such a listing belongs to a file name, and joining the
 * two halves lets that entry be skipped as a whole instead of yielding a
 * bogus first half and a stray second half (which a crafted name could
 * make look like any entry).  Listings whose lines end in a bare LF are
 * split at every LF.  The first line ending seen decides; a bare LF before
 * any ending is known waits for the next one.
 */
static enum rec_status
find_record(struct ftp_list_parser *p, const char *d, size_t n, bool final,
    size_t *rec_len, size_t *adv)
{
	const char *lf, *lf2;
	size_t i = 0, pos;

	for (;;) {
		lf = memchr(d + i, '\n', n - i);
		if (lf == NULL)
			break;
		pos = (size_t)(lf - d);
		if (pos > 0 && d[pos - 1] == '\r') {
			if (p->eol == EOL_UNKNOWN)
				p->eol = EOL_CRLF;
			goto done;
		}
		if (p->eol == EOL_UNKNOWN && pos <= REC_LIMIT) {
			lf2 = memchr(lf + 1, '\n', n - pos - 1);
			if (lf2 == NULL && !final && n - pos - 1 <= REC_LIMIT)
				return REC_WAIT;
			p->eol =
			    lf2 != NULL && lf2[-1] == '\r' ? EOL_CRLF : EOL_LF;
		}
		if (p->eol != EOL_CRLF)
			goto done;
		i = pos + 1;
	}
	if (!final || n == 0)
		return REC_MORE;
	/* At the end of the data a bare LF can only be a line end. */
	*rec_len = d[n - 1] == '\n' ? n - 1 : n;
	*adv = n;
	return REC_DONE;
done:
	*rec_len = pos;
	*adv = pos + 1;
	return REC_DONE;
}

/* Parse the complete records in the buffer and drop them. */
static int
drain(struct ftp_list_parser *p, bool final)
{
	size_t off = 0, n, rec_len, adv;
	enum rec_status st;
	const char *d;
	int rc = 0;

	while (off < p->line.len) {
		d = p->line.data + off;
		n = p->line.len - off;
		st = find_record(p, d, n, final, &rec_len, &adv);
		if (st == REC_WAIT || (st == REC_MORE && n <= REC_LIMIT))
			break;
		if (st == REC_DONE && rec_len <= REC_LIMIT) {
			off += adv;
			rc = handle_record(p, d, rec_len);
			if (rc < 0)
				break;
			continue;
		}
		/*
		 * Overlong.  In a CRLF listing, bare LFs in it mean the
		 * "CRLF" was a name ending in CR in an LF listing: re-split.
		 */
		if (p->eol == EOL_CRLF &&
		    memchr(d, '\n', st == REC_DONE ? rec_len : n) != NULL) {
			p->eol = EOL_LF;
			continue;
		}
		p->bad_lines++;
		if (st == REC_DONE) {
			off += adv;
			continue;
		}
		/* Drop the rest of it as it arrives; keep the last byte
		 * to see a CR before the LF. */
		p->discard = true;
		off = p->line.len - 1;
		break;
	}
	buf_consume(&p->line, off);
	return rc;
}

/* Skip the rest of an overlong line; returns the bytes used up. */
static size_t
discard(struct ftp_list_parser *p, const char *d, size_t n)
{
	char prev = p->line.len > 0 ? p->line.data[p->line.len - 1] : '\0';
	size_t i;

	for (i = 0; i < n; i++) {
		if (d[i] == '\n' && (prev == '\r' || p->eol != EOL_CRLF)) {
			if (prev == '\r' && p->eol == EOL_UNKNOWN)
				p->eol = EOL_CRLF;
			p->discard = false;
			buf_reset(&p->line);
			return i + 1;
		}
		prev = d[i];
	}
	/* Keeping one byte in an allocated buffer cannot fail. */
	buf_reset(&p->line);
	(void)buf_append(&p->line, &prev, 1);
	return n;
}

int
ftp_list_feed(struct ftp_list_parser *p, const char *data, size_t len)
{
	size_t take;
	int rc;

	while (len > 0) {
		if (p->discard) {
			take = discard(p, data, len);
		} else {
			take = p->line.max - p->line.len;
			if (take > len)
				take = len;
			rc = buf_append(&p->line, data, take);
			if (rc < 0)
				return rc;
			rc = drain(p, false);
			if (rc < 0)
				return rc;
		}
		data += take;
		len -= take;
	}
	return 0;
}

int
ftp_list_finish(struct ftp_list_parser *p)
{
	int rc = 0;

	if (!p->discard)
		rc = drain(p, true);
	ftp_list_parser_free(p);
	return rc;
}

void
ftp_list_parser_free(struct ftp_list_parser *p)
{
	if (p == NULL)
		return;
	buf_free(&p->line);
	p->discard = false;
	p->eol = EOL_UNKNOWN;
}

int
ftp_list_feed_stat(struct ftp_list_parser *p, const char *text, size_t len)
{
	const char *first, *last, *line, *end;
	int rc = 0;

	first = memchr(text, '\n', len);
	last = memrchr(text, '\n', len);
	if (first == NULL || first == last)
		return 0; /* no middle line */
	for (line = first + 1; rc == 0 && line <= last; line = end + 1) {
		/* memchr cannot fail: the last middle line ends at last */
		end = memchr(line, '\n', (size_t)(last - line) + 1);
		if (*line == ' ')
			line++;
		rc = ftp_list_feed(p, line, (size_t)(end - line) + 1);
	}
	return rc;
}

/* The window before a line end: " ." or " ..", a CR before the LF. */
static bool
dots_end(const char *w, size_t n)
{
	if (n > 0 && w[n - 1] == '\r')
		n--;
	if (n >= 2 && w[n - 1] == '.' && w[n - 2] == ' ')
		return true;
	return n >= 3 && w[n - 1] == '.' && w[n - 2] == '.' && w[n - 3] == ' ';
}

void
ftp_list_dots_feed(struct ftp_list_dots *d, const char *data, size_t len)
{
	size_t i, keep = sizeof(d->tail);

	for (i = 0; i < len && !d->seen; i++) {
		if (data[i] == '\n' && dots_end(d->tail, d->tail_len))
			d->seen = true;
		if (d->tail_len == keep) {
			memmove(d->tail, d->tail + 1, keep - 1);
			d->tail_len--;
		}
		d->tail[d->tail_len++] = data[i];
	}
}
