/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_parse: PASV/EPSV/PWD/FEAT/SIZE/MDTM parsers against the reply texts
 * of vsftpd, ProFTPD, Pure-FTPd, pyftpdlib and IIS, plus the malformed texts a
 * hostile server could send.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ftp_parse.h"
#include "ftp_reply.h"

#define S(lit) lit, sizeof(lit) - 1

static void
expect_pasv(const char *text, unsigned a, unsigned b, unsigned c, unsigned d,
    unsigned port)
{
	uint8_t ip[4] = { 0 };
	unsigned p = 0;

	assert_int_equal(ftp_parse_pasv(text, strlen(text), ip, &p), 0);
	assert_int_equal(ip[0], a);
	assert_int_equal(ip[1], b);
	assert_int_equal(ip[2], c);
	assert_int_equal(ip[3], d);
	assert_int_equal(p, port);
}

static void
expect_pasv_bad(const char *text)
{
	uint8_t ip[4] = { 9, 9, 9, 9 };
	unsigned p = 7;

	assert_int_equal(ftp_parse_pasv(text, strlen(text), ip, &p), -EPROTO);
	assert_int_equal(p, 7); /* untouched on failure */
}

static void
test_pasv(void **state)
{
	uint8_t ip[4];
	unsigned port;

	(void)state;
	/* The four servers and IIS (guide 2.1). */
	expect_pasv("227 Entering Passive Mode (127,0,0,1,133,1).", 127, 0, 0,
	    1, 133 * 256 + 1);
	expect_pasv("227 Entering Passive Mode (127,0,0,1,121,47).", 127, 0, 0,
	    1, 121 * 256 + 47);
	expect_pasv("227 Entering Passive Mode (127,0,0,1,125,92)", 127, 0, 0,
	    1, 125 * 256 + 92);
	expect_pasv("227 Entering passive mode (127,0,0,1,128,238).", 127, 0, 0,
	    1, 128 * 256 + 238);
	/* curl's list: no parentheses. */
	expect_pasv("227 Entering passive mode. 127,0,0,1,4,51", 127, 0, 0, 1,
	    4 * 256 + 51);
	expect_pasv("227 =192,168,1,10,200,7", 192, 168, 1, 10, 200 * 256 + 7);
	/* Leading zeros (FileZilla's regex allows them). */
	expect_pasv("227 Entering Passive Mode (010,000,000,001,004,051)", 10,
	    0, 0, 1, 4 * 256 + 51);
	/* Spaces after commas. */
	expect_pasv("227 Entering Passive Mode (10, 0, 0, 2, 19, 137)", 10, 0,
	    0, 2, 19 * 256 + 137);
	/* Boundaries. */
	expect_pasv("227 (255,255,255,255,255,255)", 255, 255, 255, 255, 65535);
	expect_pasv("227 (0,0,0,0,0,1)", 0, 0, 0, 0, 1);
	/* A bad candidate is skipped, the next one taken. */
	expect_pasv(
	    "227 v1,2,3 (300,1,1,1,1,1) ok (10,0,0,1,0,21)", 10, 0, 0, 1, 21);
	/* Multi-line 227 text from the codec. */
	expect_pasv("227-Passive\n227 Entering Passive Mode (1,2,3,4,5,6)", 1,
	    2, 3, 4, 5 * 256 + 6);
	/* Not NUL-terminated: len bounds the scan. */
	assert_int_equal(ftp_parse_pasv("227 (1,2,3,4,5,67", 16, ip, &port), 0);
	assert_int_equal(port, 5 * 256 + 6);

	expect_pasv_bad("227 Entering Passive Mode");
	expect_pasv_bad("");
	expect_pasv_bad("227 Entering Passive Mode (127,0,0,1,0,0).");
	expect_pasv_bad("227 Entering Passive Mode (256,0,0,1,4,1).");
	expect_pasv_bad("227 Entering Passive Mode (127,0,0,1,4,256).");
	expect_pasv_bad("227 Entering Passive Mode (127,0,0,1,4).");
	expect_pasv_bad("227 Entering Passive Mode (127,0,0,1,,4,1).");
	expect_pasv_bad("227 Entering Passive Mode (127.0.0.1:1025)");
	/* A scan for numbers ignores the sign, as curl's does. */
	expect_pasv("227 (-1,0,0,1,4,1)", 1, 0, 0, 1, 4 * 256 + 1);
	expect_pasv_bad("227 (99999999999999999999,0,0,1,4,1)");
	expect_pasv_bad("227 (127 ,0,0,1,4,1)");
}

static void
expect_epsv(const char *text, unsigned want)
{
	unsigned port = 0;

	assert_int_equal(ftp_parse_epsv(text, strlen(text), &port), 0);
	assert_int_equal(port, want);
}

static void
expect_epsv_bad(const char *text, size_t len)
{
	unsigned port = 5;

	assert_int_equal(ftp_parse_epsv(text, len, &port), -EPROTO);
	assert_int_equal(port, 5); /* untouched on failure */
}

#define EPSV_BAD(lit) expect_epsv_bad(lit, sizeof(lit) - 1)

static void
test_epsv(void **state)
{
	(void)state;
	/* vsftpd/ProFTPD, Pure-FTPd, pyftpdlib (guide 2.1). */
	expect_epsv("229 Entering Extended Passive Mode (|||34009|)", 34009);
	expect_epsv("229 Extended Passive mode OK (|||32009|)", 32009);
	expect_epsv("229 Entering extended passive mode (|||33088|).", 33088);
	/* Any delimiter in 33..126. */
	expect_epsv("229 ok (!!!1!)", 1);
	expect_epsv("229 ok (~~~65535~)", 65535);
	expect_epsv("229 ok (###0021#)", 21);
	/* A stray '(' before the real one. */
	expect_epsv("229 (mode) (|||2121|)", 2121);

	EPSV_BAD("229 ok (|||0|)");
	EPSV_BAD("229 ok (|||65536|)");
	EPSV_BAD("229 ok (|||99999999999999|)");
	EPSV_BAD("229 ok (|||1234#)");
	EPSV_BAD("229 ok (|||1234|");
	EPSV_BAD("229 ok (||1234|)");
	EPSV_BAD("229 ok (|||||)");
	EPSV_BAD("229 ok (   1234 )");
	EPSV_BAD("229 ok (\x7f\x7f\x7f"
	         "1234\x7f)");
	EPSV_BAD("229 ok (11112341)");
	EPSV_BAD("229 ok (|||12|3|)");
	EPSV_BAD("229 Entering Extended Passive Mode");
	EPSV_BAD("");
	/* len bounds the input: the closing ')' is outside. */
	expect_epsv_bad("229 (|||21|)", 11);
}

static void
expect_pwd(const char *text, const char *want)
{
	char *path = NULL;

	assert_int_equal(ftp_parse_pwd(text, strlen(text), &path), 0);
	assert_non_null(path);
	assert_string_equal(path, want);
	free(path);
}

static void
expect_pwd_bad(const char *text, size_t len)
{
	char *path = (char *)"x";

	assert_int_equal(ftp_parse_pwd(text, len, &path), -EPROTO);
	assert_null(path);
}

static void
test_pwd(void **state)
{
	(void)state;
	/* Plain answers. */
	expect_pwd("257 \"/\" is the current directory", "/");
	expect_pwd(
	    "257 \"/srv/ftp/home\" is the current directory", "/srv/ftp/home");
	expect_pwd("257 \"/\" is your current location", "/");
	expect_pwd("257 \"/home/user\"", "/home/user");
	expect_pwd("257 \"/\" is current directory.", "/");
	/* Doubled quotes (guide 1.7: vsftpd, ProFTPD, pyftpdlib). */
	expect_pwd("257 \"/srv/ftp/home/q\"\"dir\" is the current directory",
	    "/srv/ftp/home/q\"dir");
	expect_pwd("257 \"/q\"\"dir\" is the current directory", "/q\"dir");
	expect_pwd("257 \"/q\"\"dir\" is the current directory.", "/q\"dir");
	expect_pwd("257 \"/a\"\"\"\"b\"\"\"", "/a\"\"b\"");
	/* Pure-FTPd does not double. */
	expect_pwd("257 \"/q\"dir\" is your current location", "/q\"dir");
	expect_pwd("257 \"/a\" is b\" is your current location", "/a\" is b");
	expect_pwd("257 \"/x\"y\"", "/x\"y");
	expect_pwd(
	    "257 \"/x\"y\" : The directory was successfully created", "/x\"y");
	/* Later quotes without " is"/" :"/EOL after them do not count. */
	expect_pwd("257 \"/a\" is \"x\" here", "/a");
	/* MKD replies. */
	expect_pwd("257 \"/x\" - Directory successfully created", "/x");
	expect_pwd("257 \"/srv/x\" created", "/srv/x");
	/* Spaces in names are kept. */
	expect_pwd("257 \"/  leading\" is the current directory", "/  leading");
	expect_pwd("257 \"/trailing \" is the current directory", "/trailing ");
	/* A multi-line 257: the first quoted line counts. */
	expect_pwd(
	    "257-\"/multi\" is the current directory\n257 End", "/multi");

	expect_pwd_bad(S("257 \"\" is the current directory"));
	expect_pwd_bad(S("257 \"relative\" created"));
	expect_pwd_bad(S("257 \"x\" : The directory was successfully created"));
	expect_pwd_bad(S("257 no quotes here"));
	expect_pwd_bad(S("257 \"/unterminated"));
	expect_pwd_bad(S("257 \"/line\nbreak\""));
	expect_pwd_bad(S("257 \"/a\0b\" is the current directory"));
	expect_pwd_bad(S("257 \"/a\0b\"c\" is the current directory"));
	expect_pwd_bad(S(""));
	expect_pwd_bad("257 \"/abc\"", 9); /* closing quote beyond len */
}

static unsigned
feat_of(const char *file)
{
	char path[512];
	struct ftp_reply_reader rd;
	struct ftp_reply rep;
	char data[4096];
	size_t n, used;
	unsigned feat;
	FILE *f;

	snprintf(path, sizeof(path), "%s/reply/%s", FIXTURES, file);
	f = fopen(path, "rb");
	assert_non_null(f);
	n = fread(data, 1, sizeof(data), f);
	fclose(f);
	ftp_reply_reader_init(&rd);
	assert_int_equal(ftp_reply_feed(&rd, data, n, &used, &rep), 1);
	assert_int_equal(rep.code, 211);
	feat = ftp_parse_feat(rep.text, rep.text_len);
	ftp_reply_free(&rep);
	ftp_reply_reader_free(&rd);
	return feat;
}

static void
test_feat_servers(void **state)
{
	(void)state;
	assert_int_equal(feat_of("vsftpd_feat.txt"),
	    FTP_FEAT_EPRT | FTP_FEAT_EPSV | FTP_FEAT_MDTM |
	        FTP_FEAT_REST_STREAM | FTP_FEAT_SIZE | FTP_FEAT_TVFS);
	assert_int_equal(feat_of("vsftpd_tls_feat.txt"),
	    FTP_FEAT_AUTH_TLS | FTP_FEAT_EPRT | FTP_FEAT_EPSV | FTP_FEAT_MDTM |
	        FTP_FEAT_PBSZ | FTP_FEAT_REST_STREAM | FTP_FEAT_SIZE |
	        FTP_FEAT_TVFS);
	/* ProFTPD: MLST without MLSD, separate SITE lines, RANG, MFF. */
	assert_int_equal(feat_of("proftpd_feat.txt"),
	    FTP_FEAT_AUTH_TLS | FTP_FEAT_EPRT | FTP_FEAT_EPSV | FTP_FEAT_MDTM |
	        FTP_FEAT_MFF | FTP_FEAT_MFMT | FTP_FEAT_MLST | FTP_FEAT_PBSZ |
	        FTP_FEAT_RANG | FTP_FEAT_REST_STREAM | FTP_FEAT_SITE_SYMLINK |
	        FTP_FEAT_SITE_UTIME | FTP_FEAT_SIZE | FTP_FEAT_TVFS |
	        FTP_FEAT_UTF8);
	assert_int_equal(feat_of("pureftpd_feat.txt"),
	    FTP_FEAT_UTF8 | FTP_FEAT_EPRT | FTP_FEAT_MDTM | FTP_FEAT_SIZE |
	        FTP_FEAT_MFMT | FTP_FEAT_REST_STREAM | FTP_FEAT_MLST |
	        FTP_FEAT_MLSD | FTP_FEAT_AUTH_TLS | FTP_FEAT_PBSZ |
	        FTP_FEAT_TVFS | FTP_FEAT_EPSV);
	assert_int_equal(feat_of("pyftpdlib_feat.txt"),
	    FTP_FEAT_EPRT | FTP_FEAT_EPSV | FTP_FEAT_MDTM | FTP_FEAT_MFMT |
	        FTP_FEAT_MLST | FTP_FEAT_REST_STREAM | FTP_FEAT_SIZE |
	        FTP_FEAT_TVFS | FTP_FEAT_UTF8);
	/* IIS: "AUTH TLS;TLS-C;SSL;TLS-P;" and "PROT C;P;". */
	assert_int_equal(feat_of("iis_feat.txt"),
	    FTP_FEAT_UTF8 | FTP_FEAT_AUTH_TLS | FTP_FEAT_PBSZ | FTP_FEAT_SIZE |
	        FTP_FEAT_MDTM | FTP_FEAT_REST_STREAM);
}

static void
test_feat_variants(void **state)
{
	(void)state;
	/* FileZilla Server 1.x (jlaffaye/ftp#342). */
	assert_int_equal(ftp_parse_feat(S("211-Features:\n MDTM\n REST STREAM\n"
	                                  " SIZE\n MLST type*;size*;modify*;"
	                                  "perm*;\n MLSD\n AUTH SSL\n AUTH TLS"
	                                  "\n PROT\n PBSZ\n UTF8\n TVFS\n EPSV"
	                                  "\n EPRT\n MFMT\n211 End")),
	    FTP_FEAT_MDTM | FTP_FEAT_REST_STREAM | FTP_FEAT_SIZE |
	        FTP_FEAT_MLST | FTP_FEAT_MLSD | FTP_FEAT_AUTH_TLS |
	        FTP_FEAT_PBSZ | FTP_FEAT_UTF8 | FTP_FEAT_TVFS | FTP_FEAT_EPSV |
	        FTP_FEAT_EPRT | FTP_FEAT_MFMT);
	/* Case-insensitive names, no leading space, tabs, "UTF8 ON". */
	assert_int_equal(ftp_parse_feat(S("211-x\nmdtm\n\tsize\n Rest Stream\n"
	                                  " utf8 ON\n auth tls\n"
	                                  " site utime\n211 End")),
	    FTP_FEAT_MDTM | FTP_FEAT_SIZE | FTP_FEAT_REST_STREAM |
	        FTP_FEAT_UTF8 | FTP_FEAT_AUTH_TLS | FTP_FEAT_SITE_UTIME);
	/* Only "AUTH SSL" is not TLS; "REST" alone is not REST STREAM. */
	assert_int_equal(ftp_parse_feat(S("211-x\n AUTH SSL\n REST\n"
	                                  " REST STREAMING\n211 End")),
	    0);
	/* Serv-U style combined SITE line and overloaded MDTM. */
	assert_int_equal(ftp_parse_feat(S("211-Extensions supported\n"
	                                  " SITE PSWD;SET;ZONE;CHMOD;UTIME;"
	                                  "SYMLINK\n MDTM MDTM YYYYMMDDHHMMSS"
	                                  "[+-TZ];filename\n211 End")),
	    FTP_FEAT_SITE_UTIME | FTP_FEAT_SITE_SYMLINK | FTP_FEAT_MDTM);
	/* Code-prefixed middle lines ("211- SIZE"). */
	assert_int_equal(ftp_parse_feat(S("211-Features:\n211- SIZE\n211-MDTM\n"
	                                  "211 End")),
	    FTP_FEAT_SIZE | FTP_FEAT_MDTM);
	/* Names must match whole: SIZES, MLSTX, EPSV2 are not features. */
	assert_int_equal(ftp_parse_feat(S("211-x\n SIZES\n MLSTX\n EPSV2\n"
	                                  " XMDTM\n211 End")),
	    0);
	/* The closing line never counts, nor does a single-line reply. */
	assert_int_equal(ftp_parse_feat(S("211 SIZE")), 0);
	assert_int_equal(ftp_parse_feat(S("211-Features:\n211 MDTM")), 0);
	assert_int_equal(ftp_parse_feat(S("")), 0);
	assert_int_equal(ftp_parse_feat(S("\n\n\n")), 0);
	/* Without framing lines (already stripped by a caller). */
	assert_int_equal(
	    ftp_parse_feat(S(" EPSV\n PBSZ")), FTP_FEAT_EPSV | FTP_FEAT_PBSZ);
	/* len bounds the text. */
	assert_int_equal(ftp_parse_feat(" SIZE\n MDTM", 6), FTP_FEAT_SIZE);
}

static void
test_size(void **state)
{
	uint64_t sz = 0;

	(void)state;
	assert_int_equal(ftp_parse_size(S("213 1048576"), &sz), 0);
	assert_true(sz == 1048576);
	assert_int_equal(ftp_parse_size(S("213 0"), &sz), 0);
	assert_true(sz == 0);
	assert_int_equal(ftp_parse_size(S("213 5"), &sz), 0);
	assert_true(sz == 5);
	/* Beyond 32 bits. */
	assert_int_equal(ftp_parse_size(S("213 6442450944"), &sz), 0);
	assert_true(sz == 6442450944ULL);
	assert_int_equal(ftp_parse_size(S("213 18446744073709551615"), &sz), 0);
	assert_true(sz == UINT64_MAX);
	assert_int_equal(ftp_parse_size(S("213 000123 "), &sz), 0);
	assert_true(sz == 123);

	sz = 77;
	assert_int_equal(
	    ftp_parse_size(S("213 18446744073709551616"), &sz), -EPROTO);
	assert_int_equal(
	    ftp_parse_size(S("213 99999999999999999999999"), &sz), -EPROTO);
	assert_int_equal(ftp_parse_size(S("213 -1"), &sz), -EPROTO);
	assert_int_equal(ftp_parse_size(S("213 12a"), &sz), -EPROTO);
	assert_int_equal(ftp_parse_size(S("213 1 2"), &sz), -EPROTO);
	assert_int_equal(ftp_parse_size(S("213 "), &sz), -EPROTO);
	assert_int_equal(ftp_parse_size(S("213"), &sz), -EPROTO);
	assert_int_equal(ftp_parse_size(S("4096"), &sz), -EPROTO); /* no code */
	assert_int_equal(ftp_parse_size(S("213-5\n213 End"), &sz), -EPROTO);
	assert_int_equal(ftp_parse_size(S(""), &sz), -EPROTO);
	assert_int_equal(ftp_parse_size(S("213 0x10"), &sz), -EPROTO);
	assert_int_equal(ftp_parse_size(S("213 +5"), &sz), -EPROTO);
	assert_true(sz == 77);
}

static void
expect_time(const char *s, long long sec, long nsec)
{
	struct timespec ts = { 0, 0 };

	assert_int_equal(ftp_parse_time(s, strlen(s), &ts), 0);
	assert_true((long long)ts.tv_sec == sec);
	assert_int_equal(ts.tv_nsec, nsec);
}

static void
expect_time_bad(const char *s)
{
	struct timespec ts = { 42, 42 };

	assert_int_equal(ftp_parse_time(s, strlen(s), &ts), -EPROTO);
	assert_true(ts.tv_sec == 42 && ts.tv_nsec == 42);
}

static void
test_time(void **state)
{
	(void)state;
	/* The guide's MDTM and MLSD values (checked with date -u). */
	expect_time("20010203040506", 981173106LL, 0);
	expect_time("20261123183532", 1795458932LL, 0);
	expect_time("19700101000000", 0, 0);
	expect_time("19691231235959", -1, 0);
	expect_time("20000229120000", 951825600LL, 0);
	expect_time("20380119031408", 2147483648LL, 0);
	expect_time("99991231235959", 253402300799LL, 0);
	/* Fractions (RFC 3659 2.3). */
	expect_time("20110304050607.123", 1299215167LL, 123000000);
	expect_time("20110304050607.5", 1299215167LL, 500000000);
	expect_time("20110304050607.000000001", 1299215167LL, 1);
	expect_time("20110304050607.1234567891", 1299215167LL, 123456789);
	/* A leap second rolls over into the next minute. */
	expect_time("20161231235960", 1483228800LL, 0);

	expect_time_bad("2001020304050");
	expect_time_bad("");
	expect_time_bad("20011303040506"); /* month 13 */
	expect_time_bad("20010003040506"); /* month 0 */
	expect_time_bad("20010200040506"); /* day 0 */
	expect_time_bad("20010230040506"); /* Feb 30 */
	expect_time_bad("19000229000000"); /* not a leap year */
	expect_time_bad("20010431000000"); /* April 31 */
	expect_time_bad("20010203240506"); /* hour 24 */
	expect_time_bad("20010203046006"); /* minute 60 */
	expect_time_bad("20010203040561"); /* second 61 */
	expect_time_bad("20010203040506.");
	expect_time_bad("20010203040506.12a");
	expect_time_bad("20010203040506Z");
	expect_time_bad("20010203040506 ");
	expect_time_bad("2001-02-03 04:05");
	expect_time_bad("191010203040506"); /* the old Y2K "19100" bug */
	expect_time_bad(" 20010203040506");
	expect_time_bad("+2001020304050");
}

static void
test_mdtm(void **state)
{
	struct timespec ts = { 0, 0 };

	(void)state;
	assert_int_equal(ftp_parse_mdtm(S("213 20010203040506"), &ts), 0);
	assert_true(ts.tv_sec == 981173106);
	/* vsftpd use_localtime=YES, Asia/Tokyo: 9 hours later, as sent. */
	assert_int_equal(ftp_parse_mdtm(S("213 20010203130506"), &ts), 0);
	assert_true(ts.tv_sec == 981173106 + 9 * 3600);
	assert_int_equal(ftp_parse_mdtm(S("213 20010203040506.250 "), &ts), 0);
	assert_int_equal(ts.tv_nsec, 250000000);
	assert_int_equal(ftp_parse_mdtm(S("20010203040506"), &ts), -EPROTO);

	assert_int_equal(
	    ftp_parse_mdtm(S("213 File modification time set."), &ts), -EPROTO);
	assert_int_equal(ftp_parse_mdtm(S("213 2001020304050"), &ts), -EPROTO);
	assert_int_equal(ftp_parse_mdtm(S("550 Could not get file modification"
	                                  " time."),
	                     &ts),
	    -EPROTO);
	assert_int_equal(ftp_parse_mdtm(S("213 "), &ts), -EPROTO);
}

static void
test_time_offset(void **state)
{
	long s = 99;

	(void)state;
	assert_int_equal(ftp_parse_time_offset("+5:30", &s), 0);
	assert_int_equal(s, 5 * 3600 + 30 * 60);
	assert_int_equal(ftp_parse_time_offset("-8", &s), 0);
	assert_int_equal(s, -8 * 3600);
	assert_int_equal(ftp_parse_time_offset("0", &s), 0);
	assert_int_equal(s, 0);
	assert_int_equal(ftp_parse_time_offset("14", &s), 0);
	assert_int_equal(s, 14 * 3600);
	assert_int_equal(ftp_parse_time_offset("-09:45", &s), 0);
	assert_int_equal(s, -(9 * 3600 + 45 * 60));
	s = 99;
	assert_int_equal(ftp_parse_time_offset("", &s), -EINVAL);
	assert_int_equal(ftp_parse_time_offset("+", &s), -EINVAL);
	assert_int_equal(ftp_parse_time_offset("15", &s), -EINVAL);
	assert_int_equal(ftp_parse_time_offset("5h", &s), -EINVAL);
	assert_int_equal(ftp_parse_time_offset("5:3", &s), -EINVAL);
	assert_int_equal(ftp_parse_time_offset("5:60", &s), -EINVAL);
	assert_int_equal(ftp_parse_time_offset("123", &s), -EINVAL);
	assert_int_equal(ftp_parse_time_offset("5:30:00", &s), -EINVAL);
	assert_int_equal(s, 99);
}

static enum ftp_login_refusal
refusal(const char *text, bool secured, bool once)
{
	return ftp_parse_login_refusal(
	    atoi(text), text, strlen(text), secured, once);
}

/*
 * Texts from the servers' binaries and sources (vsftpd 3.0.3, ProFTPD
 * 1.3.8 and its mod_tls, Pure-FTPd 1.0.50, pyftpdlib 1.5.7, as the test
 * suites run them) and the guide (1.3, 1.10).
 */
static void
test_login_refusal(void **state)
{
	static const char *const limits[] = {
		/* ProFTPD MaxClientsPerUser, seen (guide 1.10) */
		"530 Sorry, the maximum number of clients (2) for this user "
		"are already connected.",
		/* ProFTPD MaxClients, MaxClientsPerHost, MaxHostsPerUser,
		   MaxClientsPerClass, MaxConnectionsPerHost */
		"530 Sorry, the maximum number of allowed clients (30) are "
		"already connected.",
		"530 Sorry, the maximum number of clients (4) from your host "
		"are already connected.",
		"530 Sorry, the maximum number of hosts (1) for this user are "
		"already connected.",
		"530 Sorry, the maximum number of clients (5) from your class "
		"are already connected.",
		"530-Sorry, the maximum number of connections (3) for your "
		"host are already connected.\n530 Goodbye.",
		/* vsftpd max_clients / max_per_ip wording, any case */
		"530 There are too many connected users, please try later.",
		"530 CONNECTION REFUSED: TOO MANY SESSIONS FOR THIS ADDRESS.",
	};
	static const char *const denied[] = {
		"530 Login incorrect.", /* vsftpd, ProFTPD */
		"530 Login authentication failed", /* Pure-FTPd */
		"530 Authentication failed.", /* pyftpdlib */
		"530 Log in with USER and PASS first.", /* pyftpdlib */
		"530 You aren't logged in", /* Pure-FTPd */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		assert_true(ftp_parse_is_limit(limits[i], strlen(limits[i])));
		/* a limit after a login that worked ... */
		assert_int_equal(
		    refusal(limits[i], false, true), FTP_LOGIN_LIMIT);
		/* ... but a refusal on the first one: never retried */
		assert_int_equal(
		    refusal(limits[i], false, false), FTP_LOGIN_DENIED);
	}
	for (i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
		assert_false(ftp_parse_is_limit(denied[i], strlen(denied[i])));
		assert_int_equal(
		    refusal(denied[i], false, true), FTP_LOGIN_DENIED);
		assert_int_equal(
		    refusal(denied[i], true, false), FTP_LOGIN_DENIED);
	}
	/* The limit words only count up to len. */
	assert_false(ftp_parse_is_limit("530 too many", 7));
	assert_true(ftp_parse_is_limit("530 too many", 12));

	/* 421 at login: always the limit (vsftpd, Pure-FTPd, pyftpdlib) */
	assert_int_equal(refusal("421 Too many connections from the same IP "
	                         "address.",
	                     false, false),
	    FTP_LOGIN_LIMIT);
	assert_int_equal(
	    refusal("421 Too many connections (3) from this IP", false, true),
	    FTP_LOGIN_LIMIT);
	assert_int_equal(refusal("421 Timeout.", true, false), FTP_LOGIN_LIMIT);

	/* TLS first: vsftpd, ProFTPD, pyftpdlib, Pure-FTPd, RFC 4217 */
	assert_int_equal(
	    refusal("530 Non-anonymous sessions must use encryption.", false,
	        false),
	    FTP_LOGIN_TLS_FIRST);
	assert_int_equal(refusal("550 SSL/TLS required on the control channel",
	                     false, false),
	    FTP_LOGIN_TLS_FIRST);
	assert_int_equal(refusal("550 SSL/TLS required on the control "
	                         "channel.",
	                     false, true),
	    FTP_LOGIN_TLS_FIRST);
	assert_int_equal(
	    refusal("421-Sorry, cleartext sessions and weak ciphers are not "
	            "accepted on this server.\n421 Please reconnect using TLS "
	            "security mechanisms.",
	        false, false),
	    FTP_LOGIN_TLS_FIRST);
	assert_int_equal(refusal("534 Policy requires SSL.", false, false),
	    FTP_LOGIN_TLS_FIRST);
	assert_true(ftp_parse_wants_tls(534, "", 0));
	/* over TLS already, the same words are no request for it */
	assert_int_equal(
	    refusal(
	        "530 Anonymous sessions may not use encryption.", true, false),
	    FTP_LOGIN_DENIED);
	assert_int_equal(
	    refusal("421-Sorry, cleartext sessions ...\n421 Please reconnect "
	            "using TLS security mechanisms.",
	        true, true),
	    FTP_LOGIN_LIMIT);
	/* whole words only, any case; other codes never */
	assert_false(ftp_parse_wants_tls(530, S("530 TLSv1 only")));
	assert_false(ftp_parse_wants_tls(530, S("530 no encryptions")));
	assert_true(ftp_parse_wants_tls(530, S("530 use tls")));
	assert_true(ftp_parse_wants_tls(530, S("530 (TLS)")));
	assert_false(ftp_parse_wants_tls(500, S("500 AUTH TLS first")));
	assert_false(ftp_parse_wants_tls(530, "530 use TLS", 10));

	/* what else a server may answer */
	assert_int_equal(
	    refusal("331 Password required", false, true), FTP_LOGIN_DENIED);
	assert_int_equal(
	    refusal("332 Need account", false, false), FTP_LOGIN_DENIED);
	assert_int_equal(
	    refusal("500 Unknown command.", false, true), FTP_LOGIN_FAILED);
	assert_int_equal(
	    refusal("550 Permission denied.", false, false), FTP_LOGIN_FAILED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pasv),
		cmocka_unit_test(test_epsv),
		cmocka_unit_test(test_pwd),
		cmocka_unit_test(test_feat_servers),
		cmocka_unit_test(test_feat_variants),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_mdtm),
		cmocka_unit_test(test_time_offset),
		cmocka_unit_test(test_login_refusal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
