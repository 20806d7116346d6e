/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ftp_parse: parsers for reply contents (contract in include/ftp_parse.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ftp_parse.h"

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static char
to_upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

/* Length of a "DDD " or "DDD-" prefix at s, or 0. */
static size_t
code_prefix(const char *s, size_t len, char sep)
{
	if (len >= 4 && is_digit(s[0]) && is_digit(s[1]) && is_digit(s[2]) &&
	    s[3] == sep)
		return 4;
	return 0;
}

/*
 * A decimal number of any length (leading zeros allowed) not above max.
 * Advances *pos past the digits.  false when there is none or it is too big.
 */
static bool
scan_number(const char *s, size_t len, size_t *pos, unsigned max, unsigned *val)
{
	size_t i = *pos;
	unsigned v = 0;

	if (i >= len || !is_digit(s[i]))
		return false;
	for (; i < len && is_digit(s[i]); i++) {
		v = v * 10 + (unsigned)(s[i] - '0');
		if (v > max)
			return false;
	}
	*pos = i;
	*val = v;
	return true;
}

/* Six numbers "h1,h2,h3,h4,p1,p2" starting exactly at s[pos]. */
static bool
pasv_at(const char *s, size_t len, size_t pos, unsigned num[6])
{
	int k;

	for (k = 0; k < 6; k++) {
		if (k > 0) {
			if (pos >= len || s[pos] != ',')
				return false;
			pos++;
			while (pos < len && s[pos] == ' ')
				pos++; /* "(192, 168, 1, 2, 4, 1)" */
		}
		if (!scan_number(s, len, &pos, 255, &num[k]))
			return false;
	}
	return true;
}

int
ftp_parse_pasv(const char *text, size_t len, uint8_t ip[4], unsigned *port)
{
	unsigned num[6];
	size_t i;
	int k;

	/* RFC 1123 4.1.2.6: scan for the numbers, trust no punctuation. */
	for (i = 0; i < len; i++) {
		if (!is_digit(text[i]) || (i > 0 && is_digit(text[i - 1])))
			continue;
		if (!pasv_at(text, len, i, num))
			continue;
		if (num[4] * 256 + num[5] == 0)
			continue;
		for (k = 0; k < 4; k++)
			ip[k] = (uint8_t)num[k];
		*port = num[4] * 256 + num[5];
		return 0;
	}
	return -EPROTO;
}

int
ftp_parse_epsv(const char *text, size_t len, unsigned *port)
{
	size_t i, pos;
	unsigned v;
	char d;

	for (i = 0; i + 6 < len; i++) {
		if (text[i] != '(')
			continue;
		/* A digit delimiter never matches: the port takes all digits.
		 */
		d = text[i + 1];
		if (d < 33 || d > 126)
			continue;
		if (text[i + 2] != d || text[i + 3] != d)
			continue;
		pos = i + 4;
		if (!scan_number(text, len, &pos, 65535, &v) || v == 0)
			continue;
		if (pos + 1 >= len || text[pos] != d || text[pos + 1] != ')')
			continue;
		*port = v;
		return 0;
	}
	return -EPROTO;
}

/* Does "is"/":" (after one space) or the end of the line follow q? */
static bool
pwd_tail(const char *s, size_t end, size_t q)
{
	q++;
	if (q == end)
		return true;
	if (s[q] != ' ')
		return false;
	q++;
	if (q < end && s[q] == ':')
		return true;
	return q + 1 < end && s[q] == 'i' && s[q + 1] == 's' &&
	    (q + 2 == end || !(s[q + 2] >= 'a' && s[q + 2] <= 'z'));
}

int
ftp_parse_pwd(const char *text, size_t len, char **path)
{
	const char *open, *nl;
	size_t start, end, i, q, n;
	char *p;
	bool closed = false;

	*path = NULL;
	open = memchr(text, '"', len);
	if (open == NULL)
		return -EPROTO;
	start = (size_t)(open - text) + 1;
	nl = memchr(open, '\n', len - (start - 1));
	end = nl != NULL ? (size_t)(nl - text) : len;

	/* RFC 959: up to the first single '"', with "" meaning '"'. */
	for (q = start; q < end; q++) {
		if (text[q] != '"')
			continue;
		if (q + 1 < end && text[q + 1] == '"') {
			q++;
			continue;
		}
		closed = true;
		break;
	}
	if (!closed)
		return -EPROTO;
	if (memchr(text + q + 1, '"', end - q - 1) != NULL) {
		/*
		 * More quotes follow: a server that does not double them
		 * (Pure-FTPd: 257 "/q"dir" is your current location).  Take
		 * the raw text up to the last '"' before " is", " :" or EOL.
		 */
		for (i = end; i > q + 1; i--) {
			if (text[i - 1] == '"' && pwd_tail(text, end, i - 1))
				break;
		}
		if (i > q + 1) {
			n = i - 1 - start;
			if (n == 0 || text[start] != '/' ||
			    memchr(text + start, '\0', n) != NULL)
				return -EPROTO;
			p = malloc(n + 1);
			if (p == NULL)
				return -ENOMEM;
			memcpy(p, text + start, n);
			p[n] = '\0';
			*path = p;
			return 0;
		}
	}

	p = malloc(q - start + 1);
	if (p == NULL)
		return -ENOMEM;
	for (i = start, n = 0; i < q; i++) {
		if (text[i] == '"')
			i++; /* the second of a doubled pair */
		p[n++] = text[i];
	}
	p[n] = '\0';
	if (n == 0 || p[0] != '/' || strlen(p) != n) {
		free(p);
		return -EPROTO;
	}
	*path = p;
	return 0;
}

/* Case-insensitive comparison of s[0..n) with the upper-case word w. */
static bool
word_is(const char *s, size_t n, const char *w)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (w[i] == '\0' || to_upper(s[i]) != w[i])
			return false;
	}
	return w[n] == '\0';
}

static bool
feat_delim(char c)
{
	return is_blank(c) || c == ';' || c == ',';
}

/*
 * Does any token of s[0..n) (split at blanks, ';' and ',') equal w?
 * Covers "AUTH TLS;TLS-C;SSL;TLS-P;" (IIS) and "SITE UTIME,SYMLINK".
 */
static bool
has_token(const char *s, size_t n, const char *w)
{
	size_t i = 0, j;

	while (i < n) {
		while (i < n && feat_delim(s[i]))
			i++;
		for (j = i; j < n && !feat_delim(s[j]); j++)
			;
		if (j > i && word_is(s + i, j - i, w))
			return true;
		i = j;
	}
	return false;
}

static const struct {
	const char *name;
	unsigned flag;
} feat_names[] = {
	{ "MLST", FTP_FEAT_MLST },
	{ "MLSD", FTP_FEAT_MLSD },
	{ "EPSV", FTP_FEAT_EPSV },
	{ "EPRT", FTP_FEAT_EPRT },
	{ "SIZE", FTP_FEAT_SIZE },
	{ "MDTM", FTP_FEAT_MDTM },
	{ "MFMT", FTP_FEAT_MFMT },
	{ "MFF", FTP_FEAT_MFF },
	{ "UTF8", FTP_FEAT_UTF8 },
	{ "RANG", FTP_FEAT_RANG },
	{ "TVFS", FTP_FEAT_TVFS },
	{ "PBSZ", FTP_FEAT_PBSZ },
};

static unsigned
feat_line(const char *s, size_t n)
{
	size_t i = 0, w, k;
	const char *rest;
	size_t rlen;
	unsigned feat;

	if (code_prefix(s, n, ' ') != 0)
		return 0; /* "211 End": the closing line */
	i = code_prefix(s, n, '-'); /* "211-Features:", or "211- SIZE" */
	while (i < n && is_blank(s[i]))
		i++;
	for (w = i; w < n && !feat_delim(s[w]); w++)
		;
	if (w == i)
		return 0;
	rest = s + w;
	rlen = n - w;
	for (k = 0; k < sizeof(feat_names) / sizeof(feat_names[0]); k++) {
		if (word_is(s + i, w - i, feat_names[k].name))
			return feat_names[k].flag;
	}
	feat = 0;
	if (word_is(s + i, w - i, "REST") && has_token(rest, rlen, "STREAM"))
		feat |= FTP_FEAT_REST_STREAM;
	if (word_is(s + i, w - i, "AUTH") && has_token(rest, rlen, "TLS"))
		feat |= FTP_FEAT_AUTH_TLS;
	if (word_is(s + i, w - i, "SITE")) {
		if (has_token(rest, rlen, "UTIME"))
			feat |= FTP_FEAT_SITE_UTIME;
		if (has_token(rest, rlen, "SYMLINK"))
			feat |= FTP_FEAT_SITE_SYMLINK;
	}
	return feat;
}

unsigned
ftp_parse_feat(const char *text, size_t len)
{
	const char *nl;
	size_t i = 0, n;
	unsigned feat = 0;

	while (i < len) {
		nl = memchr(text + i, '\n', len - i);
		n = nl != NULL ? (size_t)(nl - text) - i : len - i;
		feat |= feat_line(text + i, n);
		i += n + 1;
	}
	return feat;
}

/*
 * The value of a single-line "DDD value" reply: skip the code and blanks,
 * trim trailing blanks.  Sets s[*b..*e); false without a "DDD " prefix.
 */
static bool
reply_value(const char *s, size_t len, size_t *b, size_t *e)
{
	size_t i = code_prefix(s, len, ' ');

	if (i == 0)
		return false;
	while (i < len && is_blank(s[i]))
		i++;
	while (len > i && is_blank(s[len - 1]))
		len--;
	*b = i;
	*e = len;
	return true;
}

int
ftp_parse_size(const char *text, size_t len, uint64_t *size)
{
	size_t b, e, i;
	uint64_t v = 0;
	unsigned d;

	if (!reply_value(text, len, &b, &e) || b == e)
		return -EPROTO;
	for (i = b; i < e; i++) {
		if (!is_digit(text[i]))
			return -EPROTO;
		d = (unsigned)(text[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -EPROTO;
		v = v * 10 + d;
	}
	*size = v;
	return 0;
}

static bool
fixed_number(const char *s, size_t n, int *val)
{
	size_t i;
	int v = 0;

	for (i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*val = v;
	return true;
}

static int
days_in_month(int year, int mon)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
		30, 31 };
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return mon == 2 && leap ? 29 : mdays[mon - 1];
}

int
ftp_parse_time(const char *s, size_t len, struct timespec *out)
{
	int year, mon, day, hour, min, sec;
	long nsec = 0, scale = 100000000;
	struct tm tm;
	time_t t;
	size_t i;

	if (len < 14 || !fixed_number(s, 4, &year) ||
	    !fixed_number(s + 4, 2, &mon) || !fixed_number(s + 6, 2, &day) ||
	    !fixed_number(s + 8, 2, &hour) || !fixed_number(s + 10, 2, &min) ||
	    !fixed_number(s + 12, 2, &sec))
		return -EPROTO;
	if (year < 1900 || mon < 1 || mon > 12 || day < 1 ||
	    day > days_in_month(year, mon) || hour > 23 || min > 59 || sec > 60)
		return -EPROTO;
	if (len > 14) {
		/* RFC 3659 2.3: any number of fraction digits. */
		if (s[14] != '.' || len == 15)
			return -EPROTO;
		for (i = 15; i < len; i++) {
			if (!is_digit(s[i]))
				return -EPROTO;
			nsec += (s[i] - '0') * scale;
			scale /= 10;
		}
	}
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec; /* a leap second 60 rolls over, as timegm does */
	errno = 0;
	t = timegm(&tm);
	if (t == (time_t)-1 && errno != 0)
		return -EPROTO;
	out->tv_sec = t;
	out->tv_nsec = nsec;
	return 0;
}

int
ftp_parse_mdtm(const char *text, size_t len, struct timespec *out)
{
	size_t b, e;

	if (!reply_value(text, len, &b, &e))
		return -EPROTO;
	return ftp_parse_time(text + b, e - b, out);
}

int
ftp_parse_time_offset(const char *s, long *secs)
{
	long sign = 1, h = 0, m = 0;
	int digits = 0;

	if (*s == '+' || *s == '-')
		sign = *s++ == '-' ? -1 : 1;
	while (*s >= '0' && *s <= '9' && digits < 2) {
		h = h * 10 + (*s++ - '0');
		digits++;
	}
	if (digits == 0 || h > 14)
		return -EINVAL;
	if (*s == ':') {
		s++;
		if (s[0] < '0' || s[0] > '5' || s[1] < '0' || s[1] > '9')
			return -EINVAL;
		m = (s[0] - '0') * 10 + (s[1] - '0');
		s += 2;
	}
	if (*s != '\0')
		return -EINVAL;
	*secs = sign * (h * 3600 + m * 60);
	return 0;
}

static char
to_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool
is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Where pat (lower case) occurs in s[from..len) in any case, or len. */
static size_t
find_nocase(const char *s, size_t len, size_t from, const char *pat)
{
	size_t n = strlen(pat), i, k;

	for (i = from; n <= len && i <= len - n; i++) {
		for (k = 0; k < n && to_lower(s[i + k]) == pat[k]; k++)
			;
		if (k == n)
			return i;
	}
	return len;
}

bool
ftp_parse_is_limit(const char *text, size_t len)
{
	static const char *const pats[] = {
		"too many",
		"overloaded",
		"try again later",
		"try later",
		"try back later",
		"is restricted to",
		"maximum number",
		"number of connect",
		"more connection",
		"already connected",
		"simultaneous login",
		"max clients",
		"maximum",
	};
	size_t i;

	for (i = 0; i < sizeof(pats) / sizeof(pats[0]); i++)
		if (find_nocase(text, len, 0, pats[i]) < len)
			return true;
	return false;
}

/* word (lower case) in text as a whole word: no letter or digit around */
static bool
has_word(const char *text, size_t len, const char *word)
{
	size_t n = strlen(word), i;

	for (i = 0; (i = find_nocase(text, len, i, word)) < len; i++)
		if ((i == 0 || !is_alnum(text[i - 1])) &&
		    (i + n == len || !is_alnum(text[i + n])))
			return true;
	return false;
}

bool
ftp_parse_wants_tls(int code, const char *text, size_t len)
{
	if (code == 534)
		return true;
	if (code != 421 && code != 530 && code != 550)
		return false;
	return has_word(text, len, "ssl") || has_word(text, len, "tls") ||
	    has_word(text, len, "encryption");
}

enum ftp_login_refusal
ftp_parse_login_refusal(
    int code, const char *text, size_t len, bool secured, bool logged_in_once)
{
	if (!secured && ftp_parse_wants_tls(code, text, len))
		return FTP_LOGIN_TLS_FIRST;
	if (code == 421 ||
	    (code == 530 && logged_in_once && ftp_parse_is_limit(text, len)))
		return FTP_LOGIN_LIMIT;
	if (code == 530 || code == 331 || code == 332)
		return FTP_LOGIN_DENIED;
	return FTP_LOGIN_FAILED;
}
