/*
 * test_docs: the reference documentation agrees with the code.
 * - every [nabproxy] key in proxy/config.c's key table (read from the
 *   source, so a key added there fails this test until it is documented)
 *   has a ".It Ic KEY =" entry in docs/man/nabproxy.conf.5 and a
 *   "KEY =" line, commented out or not, in etc/nabproxy.conf;
 * - the default config.c gives each such key (when it is not empty) is
 *   the "Default:" both of them state;
 * - the [profile] keys config.c knows, "include" and "path" are in
 *   nabproxy.conf.5 too;
 * - every option `nabproxy --help` prints (run from the build tree) is in
 *   docs/man/nabproxy.8 as "Fl -NAME" (long) and "Fl X" (short);
 * - the man pages' cross-references name pages that exist in docs/man;
 * - every Markdown link in README.md, docs/ and the READMEs below the
 *   top is relative and names a file inside the repository.
 * The scanners themselves are checked on inputs that must fail.
 */
#include <ctype.h>
#include <glob.h>
#include <libgen.h>

#include "testutil.h"

#define SRC(p)		NAB_SOURCE_DIR "/" p
#define NABPROXY	NAB_BINARY_DIR "/nabproxy"

/* The keys of config.c's keys[] table: `{ "name", CT_X, min, max, "def"`. */
static size_t
config_keys(const char *src, char names[][64], char defs[][64], size_t max)
{
	const char	*p = strstr(src, "config_key keys[] = {");
	const char	*end, *q;
	size_t		 n = 0, len;

	CHECK(p != NULL, "no keys[] table in proxy/config.c");
	end = strstr(p, "\n};");
	CHECK(end != NULL, "keys[] table not closed");
	while ((p = strstr(p, "{ \"")) != NULL && p < end) {
		p += 3;
		q = strchr(p, '"');
		CHECK(q != NULL && strncmp(q, "\", CT_", 6) == 0,
		    "unexpected keys[] entry near %.40s", p);
		len = (size_t)(q - p);
		CHECK(n < max && len < 64, "too many or too long keys");
		memcpy(names[n], p, len);
		names[n][len] = '\0';
		p = strchr(q + 1, '"');		/* the default, 4th field */
		CHECK(p != NULL && p < end, "no default for %s", names[n]);
		q = strchr(++p, '"');
		CHECK(q != NULL && q - p < 64, "bad default for %s", names[n]);
		memcpy(defs[n], p, (size_t)(q - p));
		defs[n++][q - p] = '\0';
		p = q + 1;
	}
	return n;
}

/* "\n.It Ic KEY" followed by " =" or " ,": an entry of the key list. */
static int
man_documents(const char *man, const char *key)
{
	char	pat[128];

	snprintf(pat, sizeof(pat), "\n.It Ic %s =", key);
	if (strstr(man, pat) != NULL)
		return 1;
	snprintf(pat, sizeof(pat), "Ic %s ,", key);
	return strstr(man, pat) != NULL;
}

/*
 * The default a text states for a key: the first word after "Default:"
 * in [from, to), skipping white space, '#' (the shipped file's comment
 * lines) and mdoc macros (".Cm"), trailing punctuation dropped. "" when
 * there is no "Default:".
 */
static void
stated_default(const char *from, const char *to, char *out, size_t len)
{
	const char	*p = strstr(from, "Default:");
	size_t		 n;

	*out = '\0';
	if (p == NULL || (to != NULL && p >= to))
		return;
	for (p += 8;;) {
		while (isspace((unsigned char)*p) || *p == '#')
			p++;
		if (p[0] == '.' && isupper((unsigned char)p[1]))
			p += strcspn(p, " \n");
		else
			break;
	}
	n = strcspn(p, " \n");
	while (n > 0 && strchr(".,)", p[n - 1]) != NULL)
		n--;
	snprintf(out, len, "%.*s", (int)n, p);
}

/* The entry of key in nabproxy.conf.5, up to the next key or section. */
static void
man_default(const char *man, const char *key, char *out, size_t len)
{
	char		 pat[128];
	const char	*p, *end = NULL, *e;
	static const char *const next[] = { "\n.It Ic ", "\n.Ss ", "\n.Sh " };
	size_t		 i;

	snprintf(pat, sizeof(pat), "\n.It Ic %s =", key);
	*out = '\0';
	if ((p = strstr(man, pat)) == NULL)
		return;
	for (i = 0; i < 3; i++)
		if ((e = strstr(p + 1, next[i])) != NULL && (end == NULL || e < end))
			end = e;
	stated_default(p, end, out, len);
}

/* The block of "# KEY = ..." in etc/nabproxy.conf, up to an empty line. */
static void
conf_default(const char *conf, const char *key, char *out, size_t len)
{
	char		 pat[128];
	const char	*p;

	snprintf(pat, sizeof(pat), "\n# %s = ", key);
	*out = '\0';
	if ((p = strstr(conf, pat)) != NULL)
		stated_default(p, strstr(p, "\n\n"), out, len);
}

/* A line "KEY =" or "#KEY =" (the shipped file's commented defaults). */
static int
conf_has(const char *conf, const char *key)
{
	const char	*p = conf;
	size_t		 len = strlen(key);

	while ((p = strstr(p, key)) != NULL) {
		int bol = p == conf || p[-1] == '\n' ||
		    (p[-1] == '#' && (p - 1 == conf || p[-2] == '\n'));
		if (bol && strncmp(p + len, " =", 2) == 0)
			return 1;
		p += len;
	}
	return 0;
}

/* "Fl NAME" with NAME ending at a non-option character. */
static int
man_has_flag(const char *man, const char *flag)
{
	char		 pat[80];
	const char	*p = man;
	size_t		 len;

	snprintf(pat, sizeof(pat), "Fl %s", flag);
	len = strlen(pat);
	while ((p = strstr(p, pat)) != NULL) {
		if (!isalnum((unsigned char)p[len]) && p[len] != '-')
			return 1;
		p += len;
	}
	return 0;
}

static void
test_config_keys(void **state)
{
	static char	 names[128][64], defs[128][64];
	char		 stated[64];
	char		*src = tu_slurp(SRC("proxy/config.c"), NULL);
	char		*psrc = tu_slurp(SRC("proxy/config_profile.c"), NULL);
	char		*man = tu_slurp(SRC("docs/man/nabproxy.conf.5"), NULL);
	char		*conf = tu_slurp(SRC("etc/nabproxy.conf"), NULL);
	static const char *const other[] = { "filters", "match-firmware",
	    "match-jid", "match-mac", "include", "path" };
	size_t		 n, i;

	n = config_keys(src, names, defs, 128);
	CHECK(n >= 29, "only %zu keys read from config.c", n);
	for (i = 0; i < n; i++) {
		CHECK(man_documents(man, names[i]), "key '%s' of "
		    "proxy/config.c is not documented in nabproxy.conf.5 "
		    "(.It Ic %s = ...)", names[i], names[i]);
		CHECK(conf_has(conf, names[i]), "key '%s' of proxy/config.c "
		    "is not in etc/nabproxy.conf (as '%s =' or '#%s =')",
		    names[i], names[i], names[i]);
		if (defs[i][0] == '\0')
			continue;	/* empty, or computed: said in words */
		man_default(man, names[i], stated, sizeof(stated));
		CHECK(strcmp(stated, defs[i]) == 0, "nabproxy.conf.5 says the "
		    "default of %s is '%s', config.c says '%s'", names[i],
		    stated, defs[i]);
		conf_default(conf, names[i], stated, sizeof(stated));
		CHECK(strcmp(stated, defs[i]) == 0, "etc/nabproxy.conf says the "
		    "default of %s is '%s', config.c says '%s'", names[i],
		    stated, defs[i]);
	}
	for (i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		CHECK(strstr(src, other[i]) != NULL || strstr(psrc, other[i]) !=
		    NULL || strcmp(other[i], "include") == 0, "'%s' is no "
		    "longer in config.c or config_profile.c", other[i]);
		CHECK(man_documents(man, other[i]), "'%s' is not documented "
		    "in nabproxy.conf.5", other[i]);
	}
	free(src);
	free(psrc);
	free(man);
	free(conf);
}

/* The scanners fail where they must. */
static void
test_scanners(void **state)
{
	static char	names[4][64], defs[4][64];
	char		d[64];

	CHECK(config_keys("struct config_key keys[] = {\n"
	    "\t{ \"a-b\", CT_STR, 0, 0, \"x\", 0 },\n"
	    "\t{ \"c\", CT_UINT, 1, 2, \"\",\n 0 },\n};",
	    names, defs, 4) == 2, "two keys");
	CHECK(strcmp(names[0], "a-b") == 0 && strcmp(names[1], "c") == 0,
	    "key names");
	CHECK(strcmp(defs[0], "x") == 0 && defs[1][0] == '\0', "defaults");
	man_default("\n.It Ic a = Ar N\nsome.\nDefault:\n.Cm yes .\n"
	    ".It Ic b = Ar N\nDefault: 3.\n", "a", d, sizeof(d));
	CHECK(strcmp(d, "yes") == 0, "man default of a: '%s'", d);
	man_default("\n.It Ic a = Ar N\nnone here\n.It Ic b = Ar N\n"
	    "Default: 3.\n", "a", d, sizeof(d));
	CHECK(d[0] == '\0', "the next key's default is not a's: '%s'", d);
	conf_default("\n# a = N\n#   text. Default:\n#   /var/x.\n\n# b = N\n"
	    "#   Default: 4.\n", "a", d, sizeof(d));
	CHECK(strcmp(d, "/var/x") == 0, "conf default of a: '%s'", d);
	conf_default("\n# a = N\n#   text.\n\n# b = N\n#   Default: 4.\n",
	    "a", d, sizeof(d));
	CHECK(d[0] == '\0', "conf: the next key's default is not a's");
	CHECK(man_documents("x\n.It Ic listen = Ar A\n", "listen"), "doc");
	CHECK(!man_documents("x\n.It Ic listen-x = Ar A\n", "listen"),
	    "prefix is not the key");
	CHECK(!man_documents("the listen key", "listen"), "prose");
	CHECK(conf_has("x\n#max-depth = 32\n", "max-depth"), "commented");
	CHECK(conf_has("max-depth = 3\n", "max-depth"), "first line");
	CHECK(!conf_has("# max-depth = 32 is\n", "max-depth"), "prose");
	CHECK(!conf_has("#xmax-depth = 1\n", "max-depth"), "suffix");
	CHECK(man_has_flag(".It Fl c , Fl -config Ar f", "-config"), "long");
	CHECK(man_has_flag(".It Fl c , Fl -config", "c"), "short");
	CHECK(!man_has_flag(".It Fl -config-x", "-config"), "prefix");
}

static void
test_help_options(void **state)
{
	char	*man = tu_slurp(SRC("docs/man/nabproxy.8"), NULL);
	char	 line[512], flag[64];
	FILE	*f;
	int	 nlong = 0, nshort = 0;
	char	*p;
	size_t	 i;

	f = popen(NABPROXY " --help", "r");
	CHECK(f != NULL, "cannot run %s", NABPROXY);
	while (fgets(line, sizeof(line), f) != NULL) {
		for (p = line; (p = strstr(p, "-")) != NULL; ) {
			int dbl = p[1] == '-';
			char *s = p + (dbl ? 2 : 1);
			if ((p != line && !isspace((unsigned char)p[-1]) &&
			    p[-1] != '[' && p[-1] != '|') ||
			    !isalpha((unsigned char)*s)) {
				p++;
				continue;
			}
			for (i = 0; i < sizeof(flag) - 1 && (isalnum(
			    (unsigned char)s[i]) || s[i] == '-'); i++)
				flag[i] = s[i];
			flag[i] = '\0';
			p = s + i;
			/* "-c, --config": one letter after one dash. */
			if (!dbl && strlen(flag) != 1)
				continue;
			char want[70];
			snprintf(want, sizeof(want), "%s%s", dbl ? "-" : "",
			    flag);
			CHECK(man_has_flag(man, want), "option %s%s of "
			    "--help is not in nabproxy.8", dbl ? "--" : "-",
			    flag);
			if (dbl)
				nlong++;
			else
				nshort++;
		}
	}
	CHECK(pclose(f) == 0, "nabproxy --help failed");
	CHECK(nlong >= 10 && nshort >= 8, "--help listed %d long and %d "
	    "short options", nlong, nshort);
	free(man);
}

/* Every .Xr to a nabproxy page names a page in docs/man. */
static void
test_cross_references(void **state)
{
	static const char *const pages[] = { "nabproxy.8", "nabproxy.conf.5",
	    "nabrabbit.1" };
	char		 path[256], name[64], sec[8], file[80];
	const char	*p;
	size_t		 i;

	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/docs/man/%s", NAB_SOURCE_DIR,
		    pages[i]);
		char *man = tu_slurp(path, NULL);
		for (p = man; (p = strstr(p, ".Xr nab")) != NULL; p++) {
			CHECK(sscanf(p, ".Xr %63s %7s", name, sec) == 2,
			    "bad .Xr in %s", pages[i]);
			snprintf(file, sizeof(file), "%s.%c", name, sec[0]);
			CHECK(strcmp(file, pages[0]) == 0 ||
			    strcmp(file, pages[1]) == 0 ||
			    strcmp(file, pages[2]) == 0,
			    "%s refers to %s, not in docs/man", pages[i], file);
		}
		free(man);
	}
}

/*
 * One Markdown link target of file md: NULL if it is a path inside the
 * source tree that exists, else why not (static buffer).
 */
static const char *
link_problem(const char *md, const char *target, const char *top)
{
	static char	 why[600];
	char		 dir[PATH_MAX], path[2 * PATH_MAX], real[PATH_MAX];
	size_t		 n = strcspn(target, "#");

	if (strstr(target, "://") != NULL || strncmp(target, "mailto:", 7) == 0)
		return "links outside the repository";
	if (n == 0)
		return NULL;		/* an anchor in the same file */
	snprintf(dir, sizeof(dir), "%s", md);
	snprintf(path, sizeof(path), "%s/%.*s", dirname(dir), (int)n, target);
	if (realpath(path, real) == NULL) {
		snprintf(why, sizeof(why), "%s does not exist", path);
		return why;
	}
	if (strncmp(real, top, strlen(top)) != 0 || (real[strlen(top)] != '/' &&
	    real[strlen(top)] != '\0'))
		return "points outside the repository";
	return NULL;
}

static void
test_markdown_links(void **state)
{
	static const char *const pats[] = { "README.md", "docs/*.md",
	    "docs/*/*.md", "filters/examples/README.md", "bench/README.md",
	    "tests/*/README.md" };
	char		 top[PATH_MAX], pat[PATH_MAX], target[512];
	const char	*p, *q, *why;
	glob_t		 g;
	size_t		 i, j, nfiles = 0, nlinks = 0;

	CHECK(realpath(NAB_SOURCE_DIR, top) != NULL, "source dir");
	CHECK(link_problem(SRC("README.md"), "http://example.org/", top) != NULL,
	    "an http link must be refused");
	CHECK(link_problem(SRC("README.md"), "../x", top) != NULL,
	    "a path outside must be refused");
	CHECK(link_problem(SRC("README.md"), "docs/deploy.md#x", top) == NULL,
	    "docs/deploy.md must be found");
	for (i = 0; i < sizeof(pats) / sizeof(pats[0]); i++) {
		snprintf(pat, sizeof(pat), "%s/%s", top, pats[i]);
		if (glob(pat, 0, NULL, &g) != 0)
			continue;
		for (j = 0; j < g.gl_pathc; j++, nfiles++) {
			char *md = tu_slurp(g.gl_pathv[j], NULL);
			for (p = md; (p = strstr(p, "](")) != NULL; p = q) {
				p += 2;
				q = strchr(p, ')');
				CHECK(q != NULL && (size_t)(q - p) < sizeof(target),
				    "%s: unterminated link", g.gl_pathv[j]);
				snprintf(target, sizeof(target), "%.*s",
				    (int)(q - p), p);
				why = link_problem(g.gl_pathv[j], target, top);
				CHECK(why == NULL, "%s: link (%s): %s",
				    g.gl_pathv[j], target, why);
				nlinks++;
			}
			free(md);
		}
		globfree(&g);
	}
	CHECK(nfiles >= 10 && nlinks >= 20, "only %zu files, %zu links", nfiles,
	    nlinks);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scanners),
		cmocka_unit_test(test_config_keys),
		cmocka_unit_test(test_help_options),
		cmocka_unit_test(test_cross_references),
		cmocka_unit_test(test_markdown_links),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
