/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * write_plan: how opens write, and what an upload's sizes allow, over
 * every case issue 8 ("never lose a byte when others write too") names.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "backend.h"
#include "write_plan.h"

#define FTP_CAPS (BCAP_CHEAP_STAT)
#define SFTP_CAPS (BCAP_PWRITE | BCAP_CHEAP_STAT | BCAP_CREATE_MODE)

static struct write_plan
plan(unsigned flags, bool exists, unsigned caps, int want_rc)
{
	struct write_plan_in in = {
		.flags = flags, .exists = exists, .caps = caps
	};
	struct write_plan wp;

	assert_int_equal(write_plan_open(&in, &wp), want_rc);
	return wp;
}

/* cp, "> f": a stream that starts from empty; a new file is ours. */
static void
test_trunc_streams(void **state)
{
	struct write_plan wp;

	(void)state;
	wp = plan(BO_WRITE | BO_CREATE | BO_TRUNC, false, FTP_CAPS, 0);
	assert_int_equal(wp.how, WH_STREAM);
	assert_true(wp.creates);
	assert_true(wp.flags & BO_TRUNC);
	wp = plan(BO_WRITE | BO_CREATE | BO_TRUNC, true, FTP_CAPS, 0);
	assert_int_equal(wp.how, WH_STREAM);
	assert_false(wp.creates); /* existed: never ours to delete */
}

/* touch new: a create without O_TRUNC of a missing file streams too. */
static void
test_create_new_streams(void **state)
{
	struct write_plan wp;

	(void)state;
	wp = plan(BO_WRITE | BO_CREATE, false, FTP_CAPS, 0);
	assert_int_equal(wp.how, WH_STREAM);
	assert_true(wp.creates);
	assert_true(wp.flags & BO_TRUNC);
}

/* ">>": always an append at the server's end, existing or not, and
 * never a truncation or a claim of ownership. */
static void
test_append(void **state)
{
	struct write_plan wp;

	(void)state;
	wp = plan(BO_WRITE | BO_APPEND | BO_CREATE, true, FTP_CAPS, 0);
	assert_int_equal(wp.how, WH_APPEND);
	assert_false(wp.creates);
	assert_false(wp.flags & BO_TRUNC);
	wp = plan(BO_WRITE | BO_APPEND | BO_CREATE, false, FTP_CAPS, 0);
	assert_int_equal(wp.how, WH_APPEND);
	assert_false(wp.creates);
	assert_false(wp.flags & BO_TRUNC);
	/* O_APPEND|O_TRUNC empties first: a stream from 0 */
	wp = plan(BO_WRITE | BO_APPEND | BO_TRUNC, true, FTP_CAPS, 0);
	assert_int_equal(wp.how, WH_STREAM);
	assert_false(wp.flags & BO_APPEND);
}

/* In-place writes and read-write opens go through a local copy. */
static void
test_spool(void **state)
{
	struct write_plan wp;

	(void)state;
	wp = plan(BO_WRITE, true, FTP_CAPS, 0); /* dd conv=notrunc */
	assert_int_equal(wp.how, WH_SPOOL);
	assert_true(wp.spool_fetch);
	assert_true(wp.check_writable);
	assert_false(wp.truncate_first);
	wp = plan(BO_READ | BO_WRITE, true, FTP_CAPS, 0);
	assert_int_equal(wp.how, WH_SPOOL);
	assert_true(wp.spool_fetch);
	assert_true(wp.check_writable);
	wp = plan(BO_READ | BO_WRITE | BO_TRUNC, true, FTP_CAPS, 0);
	assert_int_equal(wp.how, WH_SPOOL);
	assert_false(wp.spool_fetch);
	assert_true(wp.truncate_first);
	assert_false(wp.check_writable);
	wp = plan(BO_READ | BO_WRITE | BO_CREATE, false, FTP_CAPS, 0);
	assert_int_equal(wp.how, WH_SPOOL);
	assert_true(wp.creates);
	assert_true(wp.truncate_first);
	assert_true(wp.flags & BO_TRUNC);
	/* O_RDWR|O_APPEND: reads too, so a copy (appended at its end) */
	wp = plan(BO_READ | BO_WRITE | BO_APPEND, true, FTP_CAPS, 0);
	assert_int_equal(wp.how, WH_SPOOL);
	assert_true(wp.spool_fetch);
}

/* Backends that write in place never spool. */
static void
test_pwrite(void **state)
{
	struct write_plan wp;

	(void)state;
	wp = plan(BO_READ | BO_WRITE, true, SFTP_CAPS, 0);
	assert_int_equal(wp.how, WH_PWRITE);
	wp = plan(BO_WRITE | BO_CREATE, false, SFTP_CAPS, 0);
	assert_int_equal(wp.how, WH_PWRITE);
	assert_true(wp.creates);
}

static void
test_errors(void **state)
{
	struct write_plan wp;
	struct write_plan_in in = {
		.flags = BO_READ, .exists = true, .is_dir = true
	};

	(void)state;
	assert_int_equal(write_plan_open(&in, &wp), -EISDIR);
	plan(BO_WRITE, false, FTP_CAPS, -ENOENT);
	plan(BO_READ, false, FTP_CAPS, -ENOENT);
	plan(BO_WRITE | BO_CREATE | BO_EXCL, true, FTP_CAPS, -EEXIST);
	wp = plan(BO_READ, true, FTP_CAPS, 0);
	assert_int_equal(wp.how, WH_READ);
}

static enum upload_result
verdict(struct upload_facts f)
{
	return upload_verdict(&f);
}

/* Item 1 of the issue: APPE after another client appended. */
static void
test_verdict_append(void **state)
{
	(void)state;
	/* 9 bytes before, 5 sent, 14 after: ours, exactly */
	assert_int_equal(verdict((struct upload_facts){ .transfer_ok = true,
	                     .append = true,
	                     .have_before = true,
	                     .before = 9,
	                     .have_after = true,
	                     .after = 14,
	                     .sent = 5 }),
	    UV_OK);
	/* someone appended meanwhile: a warning, never a delete */
	assert_int_equal(verdict((struct upload_facts){ .transfer_ok = true,
	                     .append = true,
	                     .have_before = true,
	                     .before = 9,
	                     .have_after = true,
	                     .after = 33,
	                     .sent = 5 }),
	    UV_OK_FOREIGN);
	/* fewer bytes than ours: failed, but the file stays */
	assert_int_equal(verdict((struct upload_facts){ .transfer_ok = true,
	                     .append = true,
	                     .have_before = true,
	                     .before = 9,
	                     .have_after = true,
	                     .after = 12,
	                     .sent = 5 }),
	    UV_FAIL_KEEP);
	/* a failed append never deletes, even "created" */
	assert_int_equal(verdict((struct upload_facts){ .transfer_ok = false,
	                     .append = true,
	                     .created = false,
	                     .have_before = true,
	                     .before = 0,
	                     .have_after = true,
	                     .after = 2,
	                     .sent = 5 }),
	    UV_FAIL_KEEP);
	/* no SIZE before: only a shrunken file is an error */
	assert_int_equal(verdict((struct upload_facts){ .transfer_ok = true,
	                     .append = true,
	                     .have_after = true,
	                     .after = 40,
	                     .sent = 5 }),
	    UV_OK_UNVERIFIED);
	assert_int_equal(verdict((struct upload_facts){ .transfer_ok = true,
	                     .append = true,
	                     .have_after = true,
	                     .after = 3,
	                     .sent = 5 }),
	    UV_FAIL_KEEP);
	/* sizes that overflow are nonsense, not success */
	assert_int_equal(verdict((struct upload_facts){ .transfer_ok = true,
	                     .append = true,
	                     .have_before = true,
	                     .before = UINT64_MAX,
	                     .have_after = true,
	                     .after = 3,
	                     .sent = 5 }),
	    UV_FAIL_KEEP);
}

/* STOR: delete only our own new, partial file. */
static void
test_verdict_stor(void **state)
{
	(void)state;
	assert_int_equal(verdict((struct upload_facts){ .transfer_ok = true,
	                     .created = true,
	                     .have_after = true,
	                     .after = 100,
	                     .sent = 100 }),
	    UV_OK);
	assert_int_equal(verdict((struct upload_facts){ .transfer_ok = true,
	                     .created = true,
	                     .have_after = true,
	                     .after = 60,
	                     .sent = 100 }),
	    UV_FAIL_DISCARD);
	/* the same short file that existed before: kept */
	assert_int_equal(verdict((struct upload_facts){ .transfer_ok = true,
	                     .created = false,
	                     .have_after = true,
	                     .after = 60,
	                     .sent = 100 }),
	    UV_FAIL_KEEP);
	/* bigger than what we sent: another writer came after us */
	assert_int_equal(verdict((struct upload_facts){ .transfer_ok = true,
	                     .created = true,
	                     .have_after = true,
	                     .after = 160,
	                     .sent = 100 }),
	    UV_OK_FOREIGN);
	/* failed transfers: ours only if no bigger than what we sent */
	assert_int_equal(verdict((struct upload_facts){ .transfer_ok = false,
	                     .created = true,
	                     .have_after = true,
	                     .after = 50,
	                     .sent = 100 }),
	    UV_FAIL_DISCARD);
	assert_int_equal(verdict((struct upload_facts){ .transfer_ok = false,
	                     .created = true,
	                     .have_after = true,
	                     .after = 500,
	                     .sent = 100 }),
	    UV_FAIL_KEEP);
	/* cannot measure: cannot prove it ours */
	assert_int_equal(
	    verdict((struct upload_facts){
	        .transfer_ok = false, .created = true, .sent = 100 }),
	    UV_FAIL_KEEP);
	assert_int_equal(verdict((struct upload_facts){ .transfer_ok = false,
	                     .created = false,
	                     .have_after = true,
	                     .after = 50,
	                     .sent = 100 }),
	    UV_FAIL_KEEP);
	assert_int_equal(
	    verdict((struct upload_facts){
	        .transfer_ok = true, .created = true, .sent = 100 }),
	    UV_OK_UNVERIFIED);
	assert_string_equal(upload_result_name(UV_OK), "complete");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trunc_streams),
		cmocka_unit_test(test_create_new_streams),
		cmocka_unit_test(test_append),
		cmocka_unit_test(test_spool),
		cmocka_unit_test(test_pwrite),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_verdict_append),
		cmocka_unit_test(test_verdict_stor),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
