/*
 * test_config_profile: config_profile.c through config_load() on files in
 * a scratch directory: which filters exist (built-ins first, an external
 * one with its path taken from the file's directory), the profiles with
 * their filter and match lists, and config_profile_select() for MACs
 * (any separator, prefixes), JIDs (case ignored), firmware, and the
 * default. Its error messages are checked in test_config's error table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "config.h"
#include "testutil.h"

static const char *const builtins[] = {
	"auth", "register", "bind", "firmware-guard", "digest-server",
	"presence-echo", "sources", "iq-answer", NULL
};

/* Scratch directory of the running test. */
static char	dir[64];

static int
setup(void **state)
{
	tu_mkdtemp(dir, sizeof(dir), "test_config_profile");
	return 0;
}

static int
teardown(void **state)
{
	tu_rmtree(dir);
	return 0;
}

/* config_load(dir/name); errs must be empty iff ok. */
static struct config *
load(const char *name, struct config_errors *errs, int ok)
{
	char		 path[PATH_MAX];
	struct config	*cfg;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	config_errors_init(errs);
	cfg = config_load(path, builtins, errs);
	if (ok)
		EXPECT(cfg != NULL && errs->ce_count == 0, "%s: %zu errors,"
		    " first: %s", name, errs->ce_count,
		    errs->ce_count ? errs->ce_msg[0] : "-");
	else
		EXPECT(cfg == NULL && errs->ce_count > 0,
		    "%s: loaded although it is wrong", name);
	return cfg;
}

/* Filters and profiles as the sections give them, in file order. */
static void
test_filters_profiles(void **state)
{
	struct config_errors		 errs;
	struct config			*cfg;
	const struct config_filter	*f;
	const struct config_profile	*pr;
	char				 want[PATH_MAX];
	size_t				 i;

	tu_put(dir, "sub/f.conf",
	    "[filter ext]\npath = lib/ext.so\n"
	    "[profile second]\nfilters = ext auth\nmatch-jid = a@b c@d\n"
	    "[profile first]\nmatch-mac = 00-13-D3-01-02-03 0019db*\n");
	cfg = load("sub/f.conf", &errs, 1);
	for (i = 0; builtins[i] != NULL; i++) {
		assert_string_equal(cfg->filters[i].name, builtins[i]);
		assert_null(cfg->filters[i].path);
	}
	assert_int_equal(cfg->nfilters, i + 1);
	f = config_filter_find(cfg, "ext");
	EXPECT(f == &cfg->filters[i], "ext is not last");
	snprintf(want, sizeof(want), "%s/sub/lib/ext.so", dir);
	assert_string_equal(f->path, want);
	assert_null(config_filter_find(cfg, "nope"));
	/* File order, then the implicit passthrough. */
	assert_int_equal(cfg->nprofiles, 3);
	assert_string_equal(cfg->profiles[0].name, "second");
	assert_string_equal(cfg->profiles[1].name, "first");
	pr = config_profile_find(cfg, "passthrough");
	EXPECT(pr == &cfg->profiles[2] && pr->section == NULL &&
	    pr->nfilters == 0, "implicit passthrough");
	pr = config_profile_find(cfg, "second");
	EXPECT(pr->nfilters == 2 && pr->filters[0] == f &&
	    strcmp(pr->filters[1]->name, "auth") == 0, "second's filters");
	EXPECT(pr->nmatch_jid == 2 && strcmp(pr->match_jid[1], "c@d") == 0,
	    "second's JIDs");
	pr = config_profile_find(cfg, "first");
	EXPECT(pr->nmatch_mac == 2 && strcmp(pr->match_mac[0],
	    "0013d3010203") == 0 && strcmp(pr->match_mac[1], "0019db*") == 0,
	    "first's MACs normalised");
	assert_null(config_profile_find(cfg, "nope"));
	config_free(cfg);
	config_errors_free(&errs);
}

static void
test_select(void **state)
{
	struct config_errors		 errs;
	struct config			*cfg;
	const struct config_profile	*pr;

	tu_put(dir, "p.conf",
	    "[nabproxy]\nprofile = dflt\n"
	    "[profile dflt]\nfilters = auth\n"
	    "[profile vendor]\nfilters = bind\nmatch-mac = 00:13:d3:*\n"
	    "[profile both]\nmatch-mac = f81edfee27c1\n"
	    "match-firmware = bootcode-*\n"
	    "[profile jid]\nmatch-jid = *@Test.Example\n");
	cfg = load("p.conf", &errs, 1);
	pr = config_profile_select(cfg, "00:13:D3:01:02:03", NULL, NULL);
	assert_string_equal(pr->name, "vendor");
	/* Every kind of list must match: firmware unknown here. */
	pr = config_profile_select(cfg, "f81edfee27c1", NULL, NULL);
	assert_string_equal(pr->name, "dflt");
	pr = config_profile_select(cfg, "f8-1e-df-ee-27-c1", NULL,
	    "bootcode-18673");
	assert_string_equal(pr->name, "both");
	pr = config_profile_select(cfg, "garbage", "x@test.example", NULL);
	assert_string_equal(pr->name, "jid");
	pr = config_profile_select(cfg, NULL, NULL, NULL);
	assert_string_equal(pr->name, "dflt");
	config_free(cfg);
	config_errors_free(&errs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_filters_profiles, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_select, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
