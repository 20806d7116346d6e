/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_buf: the bounded growable buffer every parser builds on. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"

static void
test_empty(void **state)
{
	struct buf b;
	char *s;

	(void)state;
	buf_init(&b, 16);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.max, 16);
	/* Stealing an empty buffer gives "" (not NULL). */
	s = buf_steal(&b);
	assert_non_null(s);
	assert_string_equal(s, "");
	free(s);
	buf_free(&b);
	buf_free(&b);
	buf_free(NULL);
	buf_reset(&b);
	buf_consume(&b, 5);
	assert_int_equal(b.len, 0);
}

static void
test_append_terminates(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 1024);
	assert_int_equal(buf_append(&b, "220 ", 4), 0);
	assert_int_equal(buf_puts(&b, "ready"), 0);
	assert_int_equal(b.len, 9);
	assert_string_equal(b.data, "220 ready");
	assert_int_equal(b.data[b.len], '\0');
	/* Zero-length appends are fine, also on a fresh buffer. */
	assert_int_equal(buf_append(&b, NULL, 0), 0);
	assert_int_equal(b.len, 9);
	buf_free(&b);
	buf_init(&b, 8);
	assert_int_equal(buf_append(&b, NULL, 0), 0);
	assert_non_null(b.data);
	assert_string_equal(b.data, "");
	/* Binary data including NUL is kept. */
	assert_int_equal(buf_append(&b, "a\0b", 3), 0);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "a\0b", 4);
	buf_free(&b);
}

static void
test_max_is_hard(void **state)
{
	struct buf b;
	char *s;

	(void)state;
	buf_init(&b, 8);
	assert_int_equal(buf_append(&b, "12345678", 8), 0);
	assert_int_equal(b.len, 8);
	/* One more byte fails and leaves the buffer unchanged. */
	assert_int_equal(buf_append(&b, "9", 1), -EMSGSIZE);
	assert_int_equal(b.len, 8);
	assert_string_equal(b.data, "12345678");
	assert_int_equal(buf_reserve(&b, 1), -EMSGSIZE);
	assert_int_equal(buf_reserve(&b, 0), 0);
	/* Overflow-sized requests fail cleanly. */
	assert_int_equal(buf_reserve(&b, SIZE_MAX), -EMSGSIZE);
	assert_int_equal(buf_append(&b, "x", SIZE_MAX), -EMSGSIZE);
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	assert_int_equal(buf_append(&b, "123456789", 9), -EMSGSIZE);
	assert_int_equal(b.len, 0);
	s = buf_steal(&b);
	assert_string_equal(s, "");
	free(s);
	buf_free(&b);

	buf_init(&b, 0);
	assert_int_equal(buf_append(&b, "x", 1), -EMSGSIZE);
	buf_free(&b);
}

static void
test_growth(void **state)
{
	struct buf b;
	size_t i;
	char c;

	(void)state;
	buf_init(&b, 100000);
	for (i = 0; i < 100000; i++) {
		c = (char)('a' + i % 26);
		assert_int_equal(buf_append(&b, &c, 1), 0);
	}
	assert_int_equal(b.len, 100000);
	assert_true(b.cap >= 100001);
	assert_true(b.cap <= 100001 * 2);
	for (i = 0; i < 100000; i++)
		assert_int_equal(b.data[i], 'a' + i % 26);
	assert_int_equal(b.data[b.len], '\0');
	assert_int_equal(buf_append(&b, "x", 1), -EMSGSIZE);
	buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.cap, 0);
}

static void
test_printf(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 32);
	assert_int_equal(buf_printf(&b, "%s %d", "SIZE", 42), 0);
	assert_string_equal(b.data, "SIZE 42");
	assert_int_equal(buf_printf(&b, "%s", "\r\n"), 0);
	assert_string_equal(b.data, "SIZE 42\r\n");
	assert_int_equal(b.len, 9);
	/* Too long: refused, contents unchanged. */
	assert_int_equal(buf_printf(&b, "%030d", 1), -EMSGSIZE);
	assert_string_equal(b.data, "SIZE 42\r\n");
	assert_int_equal(buf_printf(&b, "%s", ""), 0);
	assert_int_equal(b.len, 9);
	buf_free(&b);
}

static void
test_consume(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 64);
	assert_int_equal(buf_puts(&b, "220 a\r\n331 b\r\n"), 0);
	buf_consume(&b, 7);
	assert_int_equal(b.len, 7);
	assert_string_equal(b.data, "331 b\r\n");
	buf_consume(&b, 0);
	assert_string_equal(b.data, "331 b\r\n");
	buf_consume(&b, 7);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	assert_int_equal(buf_puts(&b, "xyz"), 0);
	buf_consume(&b, 1000);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

static void
test_steal(void **state)
{
	struct buf b;
	char *s;

	(void)state;
	buf_init(&b, 64);
	assert_int_equal(buf_puts(&b, "257 \"/\""), 0);
	s = buf_steal(&b);
	assert_string_equal(s, "257 \"/\"");
	/* The buffer is empty and reusable, with the same max. */
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.max, 64);
	assert_int_equal(buf_puts(&b, "again"), 0);
	assert_string_equal(b.data, "again");
	free(s);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_append_terminates),
		cmocka_unit_test(test_max_is_hard),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_printf),
		cmocka_unit_test(test_consume),
		cmocka_unit_test(test_steal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
