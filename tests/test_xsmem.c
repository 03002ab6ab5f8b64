/*
 * test_xsmem: proxy/xsmem.c, each parser's memory in a slab of its own.
 * Blocks come from the slab in order until it is full, then from malloc;
 * the newest block grows in place and gives its room back when freed; a
 * freed slab is kept and comes back empty for the next parser; a parser
 * made on a slab parses like any other; salts differ and are never 0
 * once seeded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "xsmem.h"

static const XML_Memory_Handling_Suite *mm = &xsmem_suite;

static void
test_bump_and_back(void **state)
{
	struct xs_slab	*s = xsmem_new(), *prev;
	char		*a, *b, *c, *big;

	(void)state;
	assert_non_null(s);
	prev = xsmem_enter(s);
	a = mm->malloc_fcn(100);
	b = mm->malloc_fcn(100);
	assert_non_null(a);
	assert_non_null(b);
	/* Bump allocation: b follows a (16-byte header, 16-byte rounding). */
	assert_ptr_equal(b, a + 112 + 16);
	memset(b, 'x', 100);
	/* The newest block grows in place, keeping its bytes. */
	c = mm->realloc_fcn(b, 1000);
	assert_ptr_equal(c, b);
	assert_int_equal(c[99], 'x');
	/* Freed, the newest block's room is taken by the next one. */
	mm->free_fcn(c);
	b = mm->malloc_fcn(50);
	assert_ptr_equal(b, c);
	/* Larger than the slab: malloc, freed by free (ASan checks). */
	big = mm->malloc_fcn(20000);
	assert_non_null(big);
	memset(big, 0, 20000);
	mm->free_fcn(big);
	mm->free_fcn(b);
	mm->free_fcn(a);
	xsmem_leave(prev);
	xsmem_free(s);
}

static void
test_kept_slab_is_empty(void **state)
{
	struct xs_slab	*s = xsmem_new(), *t, *prev;
	char		*a, *b;

	(void)state;
	prev = xsmem_enter(s);
	a = mm->malloc_fcn(64);
	(void)mm->malloc_fcn(64);
	xsmem_leave(prev);
	xsmem_free(s);
	/* The kept slab comes back, empty: the first block is where a was. */
	t = xsmem_new();
	assert_ptr_equal(t, s);
	prev = xsmem_enter(t);
	b = mm->malloc_fcn(64);
	assert_ptr_equal(b, a);
	xsmem_leave(prev);
	xsmem_free(t);
}

static void
test_parser_on_slab(void **state)
{
	static const char	doc[] = "<a x='1'><b>text</b><c/></a>";
	struct xs_slab		*s = xsmem_new(), *prev;
	XML_Parser		 p;

	(void)state;
	prev = xsmem_enter(s);
	p = XML_ParserCreate_MM(NULL, &xsmem_suite, NULL);
	assert_non_null(p);
	assert_int_equal(XML_SetHashSalt(p, xsmem_salt()), 1);
	assert_int_equal(XML_Parse(p, doc, (int)strlen(doc), XML_TRUE),
	    XML_STATUS_OK);
	XML_ParserFree(p);
	xsmem_leave(prev);
	xsmem_free(s);
}

static void
test_salt(void **state)
{
	unsigned long	a = xsmem_salt(), b = xsmem_salt();

	(void)state;
	assert_true(a != 0 && b != 0);
	assert_true(a != b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bump_and_back),
		cmocka_unit_test(test_kept_slab_is_empty),
		cmocka_unit_test(test_parser_on_slab),
		cmocka_unit_test(test_salt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
