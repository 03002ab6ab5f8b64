/*
 * test_rabbitstate: rabbit/state.c, the passwords nabrabbit's rabbits
 * keep. A missing file is empty; save writes 0600 with exactly the
 * entries (set, replaced, removed) and load reads them back; a file
 * others may read and a malformed line are refused with the reason.
 */
#include <sys/stat.h>

#include <string.h>

#include "state.h"
#include "testutil.h"

static char	dir[64];

static void
test_roundtrip(void **state)
{
	struct state	st, back;
	struct stat	sb;
	char		path[128], err[256], *text;

	tu_mkdtemp(dir, sizeof(dir), "test_rabbitstate");
	snprintf(path, sizeof(path), "%s/state", dir);
	assert_int_equal(state_load(&st, path, err, sizeof(err)), 0);
	assert_null(state_get(&st, "0013d3000001"));
	assert_int_equal(state_set(&st, "0013d3000001", "aaaaaaaaaaaa"), 0);
	assert_int_equal(state_set(&st, "0013d3000002", "bbbbbbbbbbbb"), 0);
	assert_int_equal(state_set(&st, "0013d3000003", "cccccccccccc"), 0);
	assert_int_equal(state_set(&st, "0013d3000001", "dddddddddddd"), 0);
	assert_int_equal(state_set(&st, "0013d3000002", ""), 0);
	assert_int_equal(state_save(&st, path, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	text = tu_slurp(path, NULL);
	assert_string_equal(text, "# nabrabbit state: MAC PASSWORD (what each "
	    "rabbit keeps in flash)\n0013d3000001 dddddddddddd\n"
	    "0013d3000003 cccccccccccc\n");
	free(text);
	assert_int_equal(state_load(&back, path, err, sizeof(err)), 0);
	assert_string_equal(state_get(&back, "0013d3000001"), "dddddddddddd");
	assert_null(state_get(&back, "0013d3000002"));
	assert_string_equal(state_get(&back, "0013d3000003"), "cccccccccccc");
	state_free(&back);
	state_free(&st);
}

static void
test_refused(void **state)
{
	struct state	st;
	char		path[128], err[256];

	snprintf(path, sizeof(path), "%s/open", dir);
	tu_put(dir, "open", "0013d3000001 aaaaaaaaaaaa\n");
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(state_load(&st, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "group or others may read it"));
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(state_load(&st, path, err, sizeof(err)), 0);
	state_free(&st);
	snprintf(path, sizeof(path), "%s/bad", dir);
	tu_put(dir, "bad", "# ok\n0013d3000001 aaaaaaaaaaaa\n0013d3 x\n");
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(state_load(&st, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/bad:3: expected \"MAC PASSWORD\""));
	assert_int_equal(tu_rmtree(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
