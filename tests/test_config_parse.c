/*
 * test_config_parse: the generic layer of the configuration on its own,
 * without config_load(): the error list and its cap, the string pool,
 * files read into sections (headers, entries, includes with globs, loops
 * and depth), and the value types. Every error is checked for its exact
 * "file:line: message".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "config-int.h"
#include "testutil.h"

/* One config_parse_file() run over a file in the scratch directory. */
struct run {
	struct config		r_cfg;
	struct config_pool	r_pool;
	struct config_errors	r_errs;
	struct config_parse	r_p;
	char			r_path[PATH_MAX];
};

/* Scratch directory of the running test. */
static char	dir[64];

static int	setup(void **);
static int	teardown(void **);
static void	run_file(struct run *, const char *);
static void	run_free(struct run *);
static void	expect_msg(const struct config_errors *, size_t, const char *,
		    unsigned int, const char *);
static const struct config_section *expect_section(const struct run *,
		    size_t, enum config_kind, const char *, const char *,
		    unsigned int, size_t);
static void	expect_entry(const struct config_section *, size_t,
		    const char *, const char *, const char *, unsigned int);
static void	expect_val_err(const struct config_key *, const char *,
		    const char *);

static int
setup(void **state)
{
	tu_mkdtemp(dir, sizeof(dir), "test_config_parse");
	return 0;
}

static int
teardown(void **state)
{
	tu_rmtree(dir);
	return 0;
}

/*
 * Reads dir/name as the main file into r, which the caller releases with
 * run_free(). The include stack must be empty again afterwards.
 */
static void
run_file(struct run *r, const char *name)
{
	memset(r, 0, sizeof(*r));
	config_errors_init(&r->r_errs);
	snprintf(r->r_path, sizeof(r->r_path), "%s/%s", dir, name);
	r->r_p.cfg = &r->r_cfg;
	r->r_p.pool = &r->r_pool;
	r->r_p.errs = &r->r_errs;
	r->r_p.path = r->r_path;
	config_parse_file(&r->r_p, r->r_path, NULL, 0);
	EXPECT(r->r_p.depth == 0, "%s: include depth %zu after the run",
	    name, r->r_p.depth);
}

static void
run_free(struct run *r)
{
	config_sections_free(&r->r_cfg);
	assert_null(r->r_cfg.sections);
	assert_int_equal(r->r_cfg.nsections, 0);
	config_pool_free(&r->r_pool);
	config_errors_free(&r->r_errs);
}

/* Asserts message i of errs is "dir/file:line: msg" (line 0: no line). */
static void
expect_msg(const struct config_errors *errs, size_t i, const char *file,
    unsigned int line, const char *msg)
{
	const char	*want = tu_want_error(i, errs->ce_count, dir, file,
			    line, msg);

	EXPECT(strcmp(errs->ce_msg[i], want) == 0, "error #%zu:\n got  %s\n"
	    " want %s", i, errs->ce_msg[i], want);
}

/* Asserts section i of r and returns it; file is relative to dir. */
static const struct config_section *
expect_section(const struct run *r, size_t i, enum config_kind kind,
    const char *name, const char *file, unsigned int line, size_t nentries)
{
	const struct config_section	*sec;
	char				 want[PATH_MAX];

	EXPECT(i < r->r_cfg.nsections, "no section #%zu, only %zu", i,
	    r->r_cfg.nsections);
	sec = &r->r_cfg.sections[i];
	snprintf(want, sizeof(want), "%s/%s", dir, file);
	EXPECT(sec->kind == kind, "section #%zu: kind %d, want %d", i,
	    (int)sec->kind, (int)kind);
	if (name == NULL)
		EXPECT(sec->name == NULL, "section #%zu: name %s, want none",
		    i, sec->name);
	else
		EXPECT(sec->name != NULL && strcmp(sec->name, name) == 0,
		    "section #%zu: name %s, want %s", i,
		    sec->name ? sec->name : "(none)", name);
	EXPECT(strcmp(sec->file, want) == 0 && sec->line == line,
	    "section #%zu: at %s:%u, want %s:%u", i, sec->file, sec->line,
	    want, line);
	EXPECT(sec->nentries == nentries, "section #%zu: %zu entries, want"
	    " %zu", i, sec->nentries, nentries);
	return sec;
}

/* Asserts entry j of sec; file is relative to dir. */
static void
expect_entry(const struct config_section *sec, size_t j, const char *key,
    const char *value, const char *file, unsigned int line)
{
	const struct config_entry	*e = &sec->entries[j];
	char				 want[PATH_MAX];

	snprintf(want, sizeof(want), "%s/%s", dir, file);
	EXPECT(strcmp(e->key, key) == 0 && strcmp(e->value, value) == 0,
	    "entry #%zu: '%s' = '%s', want '%s' = '%s'", j, e->key, e->value,
	    key, value);
	EXPECT(strcmp(e->file, want) == 0 && e->line == line,
	    "entry %s: at %s:%u, want %s:%u", key, e->file, e->line, want,
	    line);
}

/* Asserts that s is refused for k with exactly msg. */
static void
expect_val_err(const struct config_key *k, const char *s, const char *msg)
{
	union config_val	v;
	char			err[512];

	EXPECT(config_val_parse(k, s, &v, err, sizeof(err)) == -1,
	    "%s: '%s' accepted", k->k_name, s);
	EXPECT(strcmp(err, msg) == 0, "%s '%s':\n got  %s\n want %s",
	    k->k_name, s, err, msg);
}

static void
test_errors_format(void **state)
{
	struct config_errors	 e;
	char			 big[2000];

	config_errors_init(&e);
	assert_int_equal(e.ce_count, 0);
	assert_int_equal(e.ce_dropped, 0);
	config_errors_add(&e, "a.conf", 3, "bad %s %d", "thing", 42);
	config_errors_add(&e, "a.conf", 0, "whole file");
	config_errors_add(&e, NULL, 7, "no file, so no line either");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	config_errors_add(&e, "f", 1, "%s", big);
	assert_int_equal(e.ce_count, 4);
	assert_string_equal(e.ce_msg[0], "a.conf:3: bad thing 42");
	assert_string_equal(e.ce_msg[1], "a.conf: whole file");
	assert_string_equal(e.ce_msg[2], "no file, so no line either");
	/* The message is cut at 1023 bytes; the prefix is kept whole. */
	assert_int_equal(strlen(e.ce_msg[3]), strlen("f:1: ") + 1023);
	assert_int_equal(strncmp(e.ce_msg[3], "f:1: xxx", 8), 0);
	config_errors_free(&e);
	assert_null(e.ce_msg);
	assert_int_equal(e.ce_count, 0);

	/* Freed lists are ready for reuse. */
	config_errors_add(&e, "b.conf", 1, "again");
	assert_int_equal(e.ce_count, 1);
	assert_string_equal(e.ce_msg[0], "b.conf:1: again");
	config_errors_free(&e);
}

static void
test_errors_cap(void **state)
{
	struct config_errors	 e;
	struct run		 r;
	char			 text[4096];
	size_t			 i, off = 0;

	config_errors_init(&e);
	for (i = 1; i <= CONFIG_ERRORS_MAX + 7; i++)
		config_errors_add(&e, "f", (unsigned int)i, "error %zu", i);
	assert_int_equal(e.ce_count, CONFIG_ERRORS_MAX);
	assert_int_equal(e.ce_dropped, 7);
	assert_string_equal(e.ce_msg[0], "f:1: error 1");
	assert_string_equal(e.ce_msg[CONFIG_ERRORS_MAX - 1],
	    "f:100: error 100");
	config_errors_free(&e);
	assert_int_equal(e.ce_count, 0);
	assert_int_equal(e.ce_dropped, 0);

	/* The reader goes on past bad lines; the list keeps the first 100. */
	for (i = 0; i < CONFIG_ERRORS_MAX + 5; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off,
		    "junk\n");
	tu_put(dir, "junk.conf", text);
	run_file(&r, "junk.conf");
	assert_int_equal(r.r_errs.ce_count, CONFIG_ERRORS_MAX);
	assert_int_equal(r.r_errs.ce_dropped, 5);
	expect_msg(&r.r_errs, 0, "junk.conf", 1, "expected 'key = value', a"
	    " [section] header or a # comment");
	expect_msg(&r.r_errs, CONFIG_ERRORS_MAX - 1, "junk.conf",
	    CONFIG_ERRORS_MAX, "expected 'key = value', a [section] header"
	    " or a # comment");
	run_free(&r);
}

static void
test_pool(void **state)
{
	struct config_pool	 pool;
	char			*s, *first;
	size_t			 i;

	memset(&pool, 0, sizeof(pool));
	assert_null(config_pool_keep(&pool, NULL));
	assert_int_equal(pool.cp_n, 0);
	s = config_pool_dup(&pool, "abcdef", 3);
	assert_string_equal(s, "abc");
	first = s;
	/* Past the first 64 slots, the pool grows and keeps what it had. */
	for (i = 0; i < 200; i++) {
		EXPECT((s = strdup("x")) != NULL, "strdup");
		assert_ptr_equal(config_pool_keep(&pool, s), s);
	}
	assert_int_equal(pool.cp_n, 201);
	EXPECT(pool.cp_cap >= 201, "capacity %zu", pool.cp_cap);
	assert_ptr_equal(pool.cp_str[0], first);
	assert_string_equal(first, "abc");
	config_pool_free(&pool);
	assert_null(pool.cp_str);
	assert_int_equal(pool.cp_n, 0);
	assert_int_equal(pool.cp_cap, 0);
	assert_string_equal(config_pool_dup(&pool, "again", 5), "again");
	config_pool_free(&pool);
}

static void
test_path_join(void **state)
{
	struct config_pool	 pool;
	const char		*rel = "x.conf", *abs = "/etc/y.conf";

	memset(&pool, 0, sizeof(pool));
	assert_string_equal(config_path_join(&pool, "/etc/nab/main.conf",
	    rel), "/etc/nab/x.conf");
	assert_string_equal(config_path_join(&pool, "a/b/c.conf", "../d"),
	    "a/b/../d");
	assert_string_equal(config_path_join(&pool, "/main.conf", rel),
	    "/x.conf");
	assert_int_equal(pool.cp_n, 3);
	/* Absolute, or no directory to join: rel itself, nothing pooled. */
	assert_ptr_equal(config_path_join(&pool, "a/main.conf", abs), abs);
	assert_ptr_equal(config_path_join(&pool, "main.conf", rel), rel);
	assert_int_equal(pool.cp_n, 3);
	config_pool_free(&pool);
}

static void
test_sections(void **state)
{
	const struct config_section	*sec;
	struct run			 r;

	tu_put(dir, "s.conf",
	    "# leading comment\n"
	    "\n"
	    "[nabproxy]\n"
	    "  key   =   value with  spaces  \n"
	    "empty =\n"
	    "eq = a=b\n"
	    "   # indented comment\n"
	    "\t[ filter \t x.y-z_1 ]\t\n"
	    "path = f.so\n"
	    "[profile p]\n"
	    "[nabproxy]\n"
	    "key = first\n"
	    "key = second\n");
	run_file(&r, "s.conf");
	EXPECT(r.r_errs.ce_count == 0, "%zu errors, first: %s",
	    r.r_errs.ce_count, r.r_errs.ce_count ? r.r_errs.ce_msg[0] : "");
	assert_int_equal(r.r_cfg.nsections, 4);
	sec = expect_section(&r, 0, CONFIG_NABPROXY, NULL, "s.conf", 3, 3);
	expect_entry(sec, 0, "key", "value with  spaces", "s.conf", 4);
	expect_entry(sec, 1, "empty", "", "s.conf", 5);
	expect_entry(sec, 2, "eq", "a=b", "s.conf", 6);
	sec = expect_section(&r, 1, CONFIG_FILTER, "x.y-z_1", "s.conf", 8, 1);
	expect_entry(sec, 0, "path", "f.so", "s.conf", 9);
	expect_section(&r, 2, CONFIG_PROFILE, "p", "s.conf", 10, 0);
	/* A repeated header is a new section; judging it is config.c's. */
	sec = expect_section(&r, 3, CONFIG_NABPROXY, NULL, "s.conf", 11, 2);

	/* Lookups: the first section, the last entry with a key. */
	assert_ptr_equal(config_section_find(&r.r_cfg, CONFIG_NABPROXY, NULL),
	    &r.r_cfg.sections[0]);
	assert_ptr_equal(config_section_find(&r.r_cfg, CONFIG_FILTER,
	    "x.y-z_1"), &r.r_cfg.sections[1]);
	assert_null(config_section_find(&r.r_cfg, CONFIG_FILTER, "p"));
	assert_null(config_section_find(&r.r_cfg, CONFIG_PROFILE, NULL));
	assert_string_equal(config_section_get(sec, "key"), "second");
	assert_null(config_section_get(sec, "nokey"));
	run_free(&r);
}

static void
test_section_errors(void **state)
{
	static const char	 text[] =
	    "key = before any section\n"	/* 1 */
	    "[nabproxy\n"			/* 2 */
	    "skipped = 1\n"			/* 3 */
	    "[nabproxy] trailing\n"		/* 4 */
	    "[what]\n"				/* 5 */
	    "[filter]\n"			/* 6 */
	    "[profile a b]\n"			/* 7 */
	    "[profile a/b]\n"			/* 8 */
	    "[nabproxy x]\n"			/* 9 */
	    "skipped = 2\n"			/* 10 */
	    "[]\n"				/* 11 */
	    "[nabproxy]\n"			/* 12 */
	    "kept = 3\n"			/* 13 */
	    "no equals sign\n"			/* 14 */
	    "bad key! = 1\n"			/* 15 */
	    "= value only\n"			/* 16 */
	    "nul\0byte = 1\n"			/* 17 */
	    "kept = 4\n";			/* 18 */
	const struct config_section	*sec;
	struct run			 r;

	tu_put_bytes(dir, "h.conf", text, sizeof(text) - 1);
	run_file(&r, "h.conf");
	assert_int_equal(r.r_errs.ce_count, 13);
	expect_msg(&r.r_errs, 0, "h.conf", 1, "'key' is outside any section,"
	    " put it under [nabproxy], [filter NAME] or [profile NAME]");
	expect_msg(&r.r_errs, 1, "h.conf", 2, "malformed section header,"
	    " expected [KIND] or [KIND NAME]");
	/* Line 3: keys under a bad header are skipped, not reported. */
	expect_msg(&r.r_errs, 2, "h.conf", 4, "malformed section header,"
	    " expected [KIND] or [KIND NAME]");
	expect_msg(&r.r_errs, 3, "h.conf", 5, "unknown section [what],"
	    " expected [nabproxy], [filter NAME] or [profile NAME]");
	expect_msg(&r.r_errs, 4, "h.conf", 6, "[filter] needs one name of"
	    " letters, digits, '-', '_' and '.', as in [filter NAME]");
	expect_msg(&r.r_errs, 5, "h.conf", 7, "[profile] needs one name of"
	    " letters, digits, '-', '_' and '.', as in [profile NAME]");
	expect_msg(&r.r_errs, 6, "h.conf", 8, "[profile] needs one name of"
	    " letters, digits, '-', '_' and '.', as in [profile NAME]");
	expect_msg(&r.r_errs, 7, "h.conf", 9, "[nabproxy] takes no name");
	expect_msg(&r.r_errs, 8, "h.conf", 11, "unknown section [],"
	    " expected [nabproxy], [filter NAME] or [profile NAME]");
	expect_msg(&r.r_errs, 9, "h.conf", 14, "expected 'key = value', a"
	    " [section] header or a # comment");
	expect_msg(&r.r_errs, 10, "h.conf", 15, "bad key 'bad key!', keys"
	    " use letters, digits, '-', '_' and '.'");
	expect_msg(&r.r_errs, 11, "h.conf", 16, "bad key '', keys use"
	    " letters, digits, '-', '_' and '.'");
	expect_msg(&r.r_errs, 12, "h.conf", 17, "NUL byte in line, text"
	    " only");
	assert_int_equal(r.r_cfg.nsections, 1);
	sec = expect_section(&r, 0, CONFIG_NABPROXY, NULL, "h.conf", 12, 2);
	expect_entry(sec, 0, "kept", "3", "h.conf", 13);
	expect_entry(sec, 1, "kept", "4", "h.conf", 18);
	run_free(&r);
}

static void
test_include_glob(void **state)
{
	const struct config_section	*sec;
	struct run			 r;
	char				 text[PATH_MAX + 64];

	snprintf(text, sizeof(text),
	    "[nabproxy]\n"			/* 1 */
	    "a = 1\n"				/* 2 */
	    "include = conf.d/*.conf\n"		/* 3 */
	    "b = 2\n"				/* 4: still [nabproxy] */
	    "include = conf.d/none-*.conf\n"	/* 5: may match nothing */
	    "include = conf.d/[x]\n"		/* 6: likewise */
	    "include   =   single.conf  \n"	/* 7 */
	    "include = %s/abs.conf\n"		/* 8 */
	    "c = 3\n", dir);			/* 9 */
	tu_put(dir, "main.conf", text);
	tu_put(dir, "conf.d/20-b.conf", "[profile b]\nx = 1\n"
	    "include = ../nested/n.conf\n"
	    "y = 2\n");
	tu_put(dir, "conf.d/10-a.conf", "[profile a]\n");
	/* Created in neither order, so readdir order cannot pass for sorted. */
	tu_put(dir, "conf.d/30-c.conf", "[profile c]\n");
	tu_put(dir, "conf.d/readme.txt", "[not read\n");
	tu_put(dir, "nested/n.conf", "[filter n]\npath = n.so\n");
	/* An included file starts outside any section. */
	tu_put(dir, "single.conf", "c = outside\n[profile s]\n");
	tu_put(dir, "abs.conf", "[profile abs]\n");
	run_file(&r, "main.conf");
	assert_int_equal(r.r_errs.ce_count, 1);
	expect_msg(&r.r_errs, 0, "single.conf", 1, "'c' is outside any"
	    " section, put it under [nabproxy], [filter NAME] or [profile"
	    " NAME]");
	assert_int_equal(r.r_cfg.nsections, 7);
	sec = expect_section(&r, 0, CONFIG_NABPROXY, NULL, "main.conf", 1, 3);
	expect_entry(sec, 0, "a", "1", "main.conf", 2);
	expect_entry(sec, 1, "b", "2", "main.conf", 4);
	expect_entry(sec, 2, "c", "3", "main.conf", 9);
	/* Sorted glob order; nested includes relative to their own file. */
	expect_section(&r, 1, CONFIG_PROFILE, "a", "conf.d/10-a.conf", 1, 0);
	sec = expect_section(&r, 2, CONFIG_PROFILE, "b", "conf.d/20-b.conf",
	    1, 2);
	expect_entry(sec, 0, "x", "1", "conf.d/20-b.conf", 2);
	expect_entry(sec, 1, "y", "2", "conf.d/20-b.conf", 4);
	sec = expect_section(&r, 3, CONFIG_FILTER, "n",
	    "conf.d/../nested/n.conf", 1, 1);
	expect_entry(sec, 0, "path", "n.so", "conf.d/../nested/n.conf", 2);
	expect_section(&r, 4, CONFIG_PROFILE, "c", "conf.d/30-c.conf", 1, 0);
	expect_section(&r, 5, CONFIG_PROFILE, "s", "single.conf", 2, 0);
	expect_section(&r, 6, CONFIG_PROFILE, "abs", "abs.conf", 1, 0);
	run_free(&r);
}

static void
test_include_errors(void **state)
{
	struct run	r;
	char		want[PATH_MAX + 64];

	snprintf(want, sizeof(want), "%s/subdir", dir);
	EXPECT(mkdir(want, 0755) == 0, "mkdir %s: %s", want, strerror(errno));
	tu_put(dir, "x.conf",
	    "[nabproxy]\n"
	    "include = missing.conf\n"		/* 2 */
	    "include =\n"			/* 3 */
	    "include = sub*\n"			/* 4: a directory */
	    "after = 1\n");
	run_file(&r, "x.conf");
	assert_int_equal(r.r_errs.ce_count, 3);
	snprintf(want, sizeof(want), "cannot include %s/missing.conf: No"
	    " such file or directory", dir);
	expect_msg(&r.r_errs, 0, "x.conf", 2, want);
	expect_msg(&r.r_errs, 1, "x.conf", 3, "include needs a file name or"
	    " a glob pattern");
	snprintf(want, sizeof(want), "cannot include %s/subdir: not a"
	    " regular file", dir);
	expect_msg(&r.r_errs, 2, "x.conf", 4, want);
	expect_section(&r, 0, CONFIG_NABPROXY, NULL, "x.conf", 1, 1);
	run_free(&r);

	/* The main file: missing, or not a regular file. */
	run_file(&r, "absent.conf");
	assert_int_equal(r.r_errs.ce_count, 1);
	expect_msg(&r.r_errs, 0, "absent.conf", 0, "cannot open: No such file"
	    " or directory");
	assert_int_equal(r.r_cfg.nsections, 0);
	run_free(&r);
	run_file(&r, "subdir");
	assert_int_equal(r.r_errs.ce_count, 1);
	expect_msg(&r.r_errs, 0, "subdir", 0, "not a regular file");
	run_free(&r);
}

static void
test_include_loop(void **state)
{
	struct run	r;
	char		want[PATH_MAX + 64];

	/* A file including itself. */
	tu_put(dir, "self.conf",
	    "[profile self]\ninclude = self.conf\nk = v\n");
	run_file(&r, "self.conf");
	assert_int_equal(r.r_errs.ce_count, 1);
	snprintf(want, sizeof(want), "include loop: %s/self.conf is already"
	    " being read", dir);
	expect_msg(&r.r_errs, 0, "self.conf", 2, want);
	/* Reading goes on after the refused include. */
	expect_section(&r, 0, CONFIG_PROFILE, "self", "self.conf", 1, 1);
	run_free(&r);

	/*
	 * a -> b -> a under another name, and a -> link -> a: loops are
	 * found by file identity, not by name.
	 */
	tu_put(dir, "loop/a.conf", "[profile a]\ninclude = b.conf\n"
	    "include = link.conf\n");
	tu_put(dir, "loop/b.conf", "[profile b]\ninclude = ../loop/a.conf\n");
	snprintf(want, sizeof(want), "%s/loop/link.conf", dir);
	EXPECT(symlink("a.conf", want) == 0, "symlink: %s", strerror(errno));
	run_file(&r, "loop/a.conf");
	assert_int_equal(r.r_errs.ce_count, 2);
	snprintf(want, sizeof(want), "include loop: %s/loop/../loop/a.conf"
	    " is already being read", dir);
	expect_msg(&r.r_errs, 0, "loop/b.conf", 2, want);
	snprintf(want, sizeof(want), "include loop: %s/loop/link.conf is"
	    " already being read", dir);
	expect_msg(&r.r_errs, 1, "loop/a.conf", 3, want);
	assert_int_equal(r.r_cfg.nsections, 2);
	run_free(&r);

	/* The same file twice, one after the other, is no loop. */
	tu_put(dir, "twice.conf", "include = one.conf\ninclude = one.conf\n");
	tu_put(dir, "one.conf", "[profile one]\n");
	run_file(&r, "twice.conf");
	assert_int_equal(r.r_errs.ce_count, 0);
	expect_section(&r, 0, CONFIG_PROFILE, "one", "one.conf", 1, 0);
	expect_section(&r, 1, CONFIG_PROFILE, "one", "one.conf", 1, 0);
	run_free(&r);
}

static void
test_include_depth(void **state)
{
	struct run	r;
	char		name[32], text[128], want[128];
	int		i;

	/* dK.conf holds [profile dK] and includes d(K+1).conf. */
	for (i = 0; i <= CONFIG_INCLUDE_DEPTH + 1; i++) {
		snprintf(name, sizeof(name), "d%d.conf", i);
		snprintf(text, sizeof(text), "[profile d%d]\n"
		    "include = d%d.conf\n", i, i + 1);
		tu_put(dir, name, text);
	}
	snprintf(name, sizeof(name), "d%d.conf", CONFIG_INCLUDE_DEPTH + 2);
	tu_put(dir, name, "[profile last]\n");

	/* The main file and 7 nested ones are read; the 9th is refused. */
	run_file(&r, "d0.conf");
	assert_int_equal(r.r_errs.ce_count, 1);
	snprintf(name, sizeof(name), "d%d.conf", CONFIG_INCLUDE_DEPTH - 1);
	snprintf(want, sizeof(want), "include d%d.conf: more than %d nested"
	    " files", CONFIG_INCLUDE_DEPTH, CONFIG_INCLUDE_DEPTH);
	expect_msg(&r.r_errs, 0, name, 2, want);
	assert_int_equal(r.r_cfg.nsections, CONFIG_INCLUDE_DEPTH);
	for (i = 0; i < CONFIG_INCLUDE_DEPTH; i++) {
		snprintf(name, sizeof(name), "d%d.conf", i);
		snprintf(text, sizeof(text), "d%d", i);
		expect_section(&r, (size_t)i, CONFIG_PROFILE, text, name, 1,
		    0);
	}
	run_free(&r);

	/* Exactly CONFIG_INCLUDE_DEPTH files deep is fine. */
	snprintf(name, sizeof(name), "d%d.conf", CONFIG_INCLUDE_DEPTH - 1);
	tu_put(dir, name, "[profile deepest]\n");
	run_file(&r, "d0.conf");
	assert_int_equal(r.r_errs.ce_count, 0);
	assert_int_equal(r.r_cfg.nsections, CONFIG_INCLUDE_DEPTH);
	run_free(&r);
}

static void
test_words_and_macs(void **state)
{
	static const char *const words[] = { "a", "bb", "c" };
	const char	*s = "  a\tbb   c ", *w;
	char		 out[16];
	size_t		 i, len;

	for (i = 0; i < 3; i++)
		EXPECT((w = config_next_word(&s, &len)) != NULL &&
		    len == strlen(words[i]) && strncmp(w, words[i], len) == 0,
		    "word %zu is not %s", i, words[i]);
	assert_null(config_next_word(&s, &len));

	assert_int_equal(config_mac_norm("00:1A-2b:3C4d5E", 15, out, 0), 0);
	assert_string_equal(out, "001a2b3c4d5e");
	assert_int_equal(config_mac_norm("00:1A*", 6, out, 1), 0);
	assert_string_equal(out, "001a*");
	assert_int_equal(config_mac_norm("*", 1, out, 1), 0);
	assert_string_equal(out, "*");
	assert_int_equal(config_mac_norm("00:1A*", 6, out, 0), -1);
	assert_int_equal(config_mac_norm("0*1", 3, out, 1), -1);
	assert_int_equal(config_mac_norm("001a2b3c4d", 10, out, 0), -1);
	assert_int_equal(config_mac_norm("001a2b3c4d5e6", 13, out, 0), -1);
	assert_int_equal(config_mac_norm("001a2b3c4d5g", 12, out, 0), -1);
	/* Only len bytes count. */
	assert_int_equal(config_mac_norm("001a2b3c4d5e ff", 12, out, 0), 0);
	assert_string_equal(out, "001a2b3c4d5e");
}

/* Key descriptors for the value tests, as config.c's table has them. */
static const char *const fmt_words[] = { "vm", "raw", "both", "none", NULL };
static const struct config_key	 k_size = { "sz", CT_SIZE, 1024,
    16 * 1024 * 1024, "", 0, 0, NULL };
static const struct config_key	 k_dur = { "t", CT_DURATION, 1, 3600, "",
    0, 0, NULL };
static const struct config_key	 k_num = { "n", CT_UINT, 0, 10, "", 0, 0,
    NULL };
static const struct config_key	 k_bool = { "b", CT_BOOL, 0, 1, "", 0, 0,
    NULL };
static const struct config_key	 k_fmt = { "log-format", CT_ENUM, 0, 0, "",
    0, offsetof(struct config, log_format), fmt_words };
static const struct config_key	 k_str = { "log-dir", CT_STR, 0, 0, "", 0,
    offsetof(struct config, log_dir), NULL };
static const struct config_key	 k_listen = { "listen", CT_LISTEN, 0, 0,
    "", 1, 0, NULL };
static const struct config_key	 k_up = { "upstream", CT_UPSTREAM, 0, 0,
    "", 0, offsetof(struct config, upstream_host), NULL };
static const struct config_key	 k_depth = { "max-depth", CT_UINT, 4, 256,
    "", 0, offsetof(struct config, max_depth), NULL };

static void
test_values_numbers(void **state)
{
	union config_val	v;
	char			err[512];

	assert_int_equal(config_val_parse(&k_size, "2K", &v, err, 512), 0);
	assert_int_equal(v.u, 2048);
	assert_int_equal(config_val_parse(&k_size, "1m", &v, err, 512), 0);
	assert_int_equal(v.u, 1024 * 1024);
	expect_val_err(&k_size, "1023", "sz: '1023' is out of range, allowed"
	    " 1024..16777216 bytes, suffix K or M allowed");
	expect_val_err(&k_size, "2G", "sz: '2G' has an unknown unit, allowed"
	    " 1024..16777216 bytes, suffix K or M allowed");
	expect_val_err(&k_size, "", "sz: '' is not a number, allowed"
	    " 1024..16777216 bytes, suffix K or M allowed");
	assert_int_equal(config_val_parse(&k_dur, "2m", &v, err, 512), 0);
	assert_int_equal(v.u, 120);
	assert_int_equal(config_val_parse(&k_dur, "1h", &v, err, 512), 0);
	assert_int_equal(v.u, 3600);
	expect_val_err(&k_dur, "2h", "t: '2h' is out of range, allowed"
	    " 1..3600 seconds, suffix s, m or h allowed");
	expect_val_err(&k_num, "5s", "n: '5s' is not a number, allowed"
	    " 0..10");
	expect_val_err(&k_num, "-1", "n: '-1' is not a number, allowed"
	    " 0..10");
	expect_val_err(&k_num, "99999999999999999999999", "n:"
	    " '99999999999999999999999' is out of range, allowed 0..10");
	assert_int_equal(config_val_parse(&k_bool, "YES", &v, err, 512), 0);
	assert_int_equal(v.i, 1);
	assert_int_equal(config_val_parse(&k_bool, "off", &v, err, 512), 0);
	assert_int_equal(v.i, 0);
	expect_val_err(&k_bool, "maybe", "b: 'maybe' is not a boolean,"
	    " allowed yes or no (true/false, on/off, 1/0)");
	assert_int_equal(config_val_parse(&k_fmt, "both", &v, err, 512), 0);
	assert_int_equal(v.i, CONFIG_LOG_BOTH);
	expect_val_err(&k_fmt, "VM", "log-format: 'VM' is not a known value,"
	    " allowed vm, raw, both or none");
}

static void
test_values_addr(void **state)
{
	union config_val	v;
	char			err[512];

	assert_int_equal(config_val_parse(&k_listen, "[::1]:5222", &v, err,
	    512), 0);
	assert_string_equal(v.a.host, "::1");
	assert_int_equal(v.a.port, 5222);
	expect_val_err(&k_listen, "localhost:5222", "listen:"
	    " 'localhost:5222' is not a numeric address, allowed ADDR:PORT"
	    " with a numeric IPv4 address or [IPv6] address and port"
	    " 0..65535");
	assert_int_equal(config_val_parse(&k_up, "", &v, err, 512), 0);
	assert_string_equal(v.a.host, "");
	assert_int_equal(v.a.port, 0);
	expect_val_err(&k_up, "h:0", "upstream: 'h:0' has port 0, allowed"
	    " HOST:PORT or [IPv6]:PORT with port 1..65535, or nothing for"
	    " demo mode");
	expect_val_err(&k_up, "[::1]", "upstream: '[::1]' is not HOST:PORT,"
	    " allowed HOST:PORT or [IPv6]:PORT with port 1..65535, or"
	    " nothing for demo mode");
	expect_val_err(&k_up, "[ab::1::2]:1", "upstream: '[ab::1::2]:1' is"
	    " not a valid IPv6 address, allowed HOST:PORT or [IPv6]:PORT"
	    " with port 1..65535, or nothing for demo mode");
}

/* Stores swap the field with the old value; strings change hands. */
static void
test_values_store(void **state)
{
	struct config		cfg;
	union config_val	v, old;
	char			err[512];

	memset(&cfg, 0, sizeof(cfg));
	cfg.max_depth = 32;
	assert_int_equal(config_val_parse(&k_depth, "64", &v, err, 512), 0);
	config_val_store(&cfg, &k_depth, &v, &old);
	assert_int_equal(cfg.max_depth, 64);
	assert_int_equal(old.u, 32);
	assert_int_equal(config_val_parse(&k_fmt, "raw", &v, err, 512), 0);
	config_val_store(&cfg, &k_fmt, &v, &old);
	assert_int_equal(cfg.log_format, CONFIG_LOG_RAW);
	assert_int_equal(old.i, CONFIG_LOG_VM);
	assert_int_equal(config_val_parse(&k_str, "/var/log", &v, err, 512),
	    0);
	config_val_store(&cfg, &k_str, &v, &old);
	assert_string_equal(cfg.log_dir, "/var/log");
	assert_null(old.s);
	assert_int_equal(config_val_parse(&k_up, "example.org:5222", &v, err,
	    512), 0);
	config_val_store(&cfg, &k_up, &v, &old);
	assert_string_equal(cfg.upstream_host, "example.org");
	assert_int_equal(cfg.upstream_port, 5222);
	assert_string_equal(old.a.host, "");
	assert_int_equal(old.a.port, 0);
	free(cfg.log_dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errors_format),
		cmocka_unit_test_setup_teardown(test_errors_cap, setup,
		    teardown),
		cmocka_unit_test(test_pool),
		cmocka_unit_test(test_path_join),
		cmocka_unit_test_setup_teardown(test_sections, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_section_errors, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_include_glob, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_include_errors, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_include_loop, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_include_depth, setup,
		    teardown),
		cmocka_unit_test(test_words_and_macs),
		cmocka_unit_test(test_values_numbers),
		cmocka_unit_test(test_values_addr),
		cmocka_unit_test(test_values_store),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
