/*
 * Unit tests for webauth: the token's form (length, characters), the
 * token file (first line, 0600 or stricter, a regular file, no symbolic
 * link, not with http-token), and the request check: Bearer and basic
 * auth (any user, the token as the password) pass, anything else (no
 * header, a prefix of the token, a longer one, another scheme, bad
 * base64, basic without a colon) does not.
 */
#include <sys/stat.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

#include "config.h"
#include "webauth.h"

static char	dir[64];

static int
setup(void **state)
{
	tu_mkdtemp(dir, sizeof(dir), "test_webauth");
	return 0;
}

static int
teardown(void **state)
{
	return tu_rmtree(dir) == 0 ? 0 : -1;
}

/* webauth_token with these two keys: its return, tok and err. */
static int
token(const char *inl, const char *file, char *tok, char *err)
{
	struct config	cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.http_token = (char *)inl;
	cfg.http_token_file = (char *)file;
	return webauth_token(&cfg, tok, WEBAUTH_TOKEN_MAX + 1, err, 512);
}

static void
test_form(void **state)
{
	char	tok[WEBAUTH_TOKEN_MAX + 1], err[512], big[400];

	EXPECT(token("", "", tok, err) == 0 && tok[0] == '\0', "none");
	EXPECT(token("0123456789abcdef", "", tok, err) == 0 &&
	    strcmp(tok, "0123456789abcdef") == 0, "inline: %s", err);
	EXPECT(token("0123456789abcde", "", tok, err) == -1 &&
	    strcmp(err, "http-token: the token has 15 characters, it needs "
	    "16 to 256 (e.g. openssl rand -hex 24)") == 0, "%s", err);
	EXPECT(token("0123456789 abcdef", "", tok, err) == -1 &&
	    strstr(err, "no spaces (character 11 is not)") != NULL, "%s",
	    err);
	EXPECT(token("0123456789\tabcdef", "", tok, err) == -1, "tab");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	EXPECT(token(big, "", tok, err) == -1 &&
	    strstr(err, "longer than 256") != NULL, "%s", err);
}

static void
test_file(void **state)
{
	char	tok[WEBAUTH_TOKEN_MAX + 1], err[512], p[PATH_MAX], l[PATH_MAX];

	snprintf(p, sizeof(p), "%s/tok", dir);
	tu_put(dir, "tok", "feedfacecafebeef0011\nsecond line\n");
	CHECK(chmod(p, 0600) == 0, "chmod");
	EXPECT(token("", p, tok, err) == 0 &&
	    strcmp(tok, "feedfacecafebeef0011") == 0, "%s", err);
	EXPECT(token("0123456789abcdef", p, tok, err) == -1 &&
	    strstr(err, "both set") != NULL, "%s", err);
	CHECK(chmod(p, 0640) == 0, "chmod");
	EXPECT(token("", p, tok, err) == -1 && strstr(err, "mode 0640, it "
	    "must be readable by its owner only (chmod 600)") != NULL &&
	    tok[0] == '\0', "%s", err);
	CHECK(chmod(p, 0400) == 0, "chmod");
	EXPECT(token("", p, tok, err) == 0, "0400: %s", err);
	snprintf(l, sizeof(l), "%s/link", dir);
	CHECK(symlink(p, l) == 0, "symlink");
	EXPECT(token("", l, tok, err) == -1 && strstr(err, "http-token-file ")
	    != NULL, "symlink: %s", err);
	EXPECT(token("", dir, tok, err) == -1 && strstr(err, "not a regular "
	    "file") != NULL, "%s", err);
	snprintf(l, sizeof(l), "%s/missing", dir);
	EXPECT(token("", l, tok, err) == -1 && strstr(err, "No such file")
	    != NULL, "%s", err);
	tu_put(dir, "short", "abc\n");
	snprintf(p, sizeof(p), "%s/short", dir);
	CHECK(chmod(p, 0600) == 0, "chmod");
	EXPECT(token("", p, tok, err) == -1 && strncmp(err,
	    "http-token-file: the token has 3 characters", 43) == 0, "%s", err);
}

static void
test_check(void **state)
{
	unsigned char	 d[WEBAUTH_DIGEST];
	/* base64 of "admin:0123456789abcdef", ":0123456789abcdef",
	   "0123456789abcdef" (no colon), "x:0123456789abcdeg" */
	const char	*ok[] = { "Bearer 0123456789abcdef",
	    "bearer   0123456789abcdef", " Bearer 0123456789abcdef ",
	    "Basic YWRtaW46MDEyMzQ1Njc4OWFiY2RlZg==",
	    "BASIC OjAxMjM0NTY3ODlhYmNkZWY=", NULL };
	const char	*bad[] = { "", "Bearer", "Bearer ", "0123456789abcdef",
	    "Bearer 0123456789abcde", "Bearer 0123456789abcdefX",
	    "Bearer 0123456789abcdef0123456789abcdef", "Token 0123456789abcdef",
	    "Basic MDEyMzQ1Njc4OWFiY2RlZg==", "Basic eDowMTIzNDU2Nzg5YWJjZGVn",
	    "Basic !!!!", "Basic YWRtaW46MDEyMzQ1Njc4OWFiY2RlZg",
	    "Bearer 0123456789ABCDEF", NULL };
	size_t		 i;

	webauth_digest("0123456789abcdef", d);
	EXPECT(webauth_check(d, NULL) == 0, "no header");
	for (i = 0; ok[i] != NULL; i++)
		EXPECT(webauth_check(d, ok[i]) == 1, "refused: '%s'", ok[i]);
	for (i = 0; bad[i] != NULL; i++)
		EXPECT(webauth_check(d, bad[i]) == 0, "accepted: '%s'", bad[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_form),
		cmocka_unit_test_setup_teardown(test_file, setup, teardown),
		cmocka_unit_test(test_check),
	};

	umask(022);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
