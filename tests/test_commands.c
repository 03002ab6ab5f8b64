/*
 * test_commands: the offline subcommands of proxy/commands.c on real
 * files in a scratch directory. cmd_check() with a good configuration,
 * with broken filter settings (every error, as file:line, in one run)
 * and with a refused credential store; cmd_credentials() add (argument
 * and stdin), list, remove, replace, and its refusals, checking the
 * store's mode and bytes and that passwords are never printed. stdin,
 * stdout and stderr are redirected to files around each call.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "chain.h"
#include "config.h"
#include "creds.h"
#include "main-int.h"
#define TU_ERRX_USAGE
#include "testutil.h"

static char	dir[64];
static char	conf[128];	/* dir/nabproxy.conf */
static char	store[128];	/* dir/credentials */

/* What one command printed and returned. */
struct run {
	int	 rc;
	int	 usage;		/* errx_usage was called */
	char	*out;
	char	*err;
};

/* Occurrences of needle in s. */
static int
count(const char *s, const char *needle)
{
	int	n = 0;

	while ((s = strstr(s, needle)) != NULL) {
		n++;
		s++;
	}
	return n;
}

static void
put_file(const char *path, const char *text, mode_t mode)
{
	int	fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	CHECK(fd != -1 && write(fd, text, strlen(text)) ==
	    (ssize_t)strlen(text) && fchmod(fd, mode) == 0 && close(fd) == 0,
	    "write %s: %s", path, strerror(errno));
}

static int
setup(void **state)
{
	char	text[512];

	tu_mkdtemp(dir, sizeof(dir), "test_commands");
	snprintf(conf, sizeof(conf), "%s/nabproxy.conf", dir);
	snprintf(store, sizeof(store), "%s/credentials", dir);
	snprintf(text, sizeof(text),
	    "[nabproxy]\n"
	    "listen = 127.0.0.1:0\n"
	    "upstream = 127.0.0.1:5222\n"
	    "state-dir = %s\n"
	    "\n"
	    "[filter auth]\n"
	    "backoff-min = 5\n"
	    "\n"
	    "[profile simulator]\n"
	    "filters = auth register bind\n"
	    "match-firmware = simulator\n", dir);
	put_file(conf, text, 0644);
	return 0;
}

static int
teardown(void **state)
{
	CHECK(tu_rmtree(dir) == 0, "rm -rf '%s'", dir);
	return 0;
}

/* The command itself; errx_usage() lands here with *usage set. */
static int
call(struct config *cfg, int argc, char **argv, int *usage)
{
	if (setjmp(usage_jmp) != 0) {
		*usage = 1;
		return -1;
	}
	if (argv != NULL && strcmp(argv[0], "filters") == 0)
		return cmd_filters(argc, argv);
	return argv == NULL ? cmd_check(cfg) : cmd_credentials(argc, argv);
}

/*
 * Run cmd_check (argv NULL: check `file`) or cmd_credentials (argv),
 * with stdin from `in` (NULL: empty), capturing stdout and stderr.
 */
static struct run
run(const char *file, char **argv, const char *in)
{
	struct config_errors	 errs;
	struct config		*cfg = NULL;
	struct run		 r;
	char			 ipath[128], opath[128], epath[128];
	int			 ifd, si, so, se, argc = 0;
	size_t			 i;

	if (argv == NULL) {
		config_errors_init(&errs);
		cfg = config_load(file, chain_builtin_names(), &errs);
		for (i = 0; i < errs.ce_count; i++)
			print_message("config: %s\n", errs.ce_msg[i]);
		CHECK(cfg != NULL, "config_load %s failed", file);
		config_errors_free(&errs);
	} else
		while (argv[argc] != NULL)
			argc++;
	snprintf(ipath, sizeof(ipath), "%s/stdin.XXXXXX", dir);
	CHECK((ifd = mkstemp(ipath)) != -1, "mkstemp");
	if (in != NULL)
		CHECK(write(ifd, in, strlen(in)) == (ssize_t)strlen(in), "write");
	CHECK(lseek(ifd, 0, SEEK_SET) == 0, "lseek");
	unlink(ipath);
	fflush(stdout);
	fflush(stderr);
	__fpurge(stdin);
	clearerr(stdin);
	CHECK((si = dup(0)) != -1 && dup2(ifd, 0) == 0, "stdin");
	close(ifd);
	so = tu_redirect(1, dir, opath, sizeof(opath));
	se = tu_redirect(2, dir, epath, sizeof(epath));
	usage_msg[0] = '\0';
	r.usage = 0;
	r.rc = call(cfg, argc, argv, &r.usage);
	fflush(stdout);
	fflush(stderr);
	r.err = tu_restore(2, se, epath);
	r.out = tu_restore(1, so, opath);
	__fpurge(stdin);
	clearerr(stdin);
	CHECK(dup2(si, 0) == 0, "stdin back");
	close(si);
	return r;
}

static void
run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

/* `credentials -c conf op [args]`, stdin in. */
static struct run
creds_cmd(const char *in, const char *op, const char *a1, const char *a2)
{
	char	*argv[7] = { "credentials", "-c", conf, (char *)op,
		    (char *)a1, (char *)a2, NULL };

	return run(NULL, argv, in);
}

/* A good configuration: "configuration OK" and status 0. */
static void
test_check_good(void **state)
{
	struct run	r;

	r = run(conf, NULL, NULL);
	CHECK(r.rc == 0 && strcmp(r.out, "configuration OK\n") == 0 &&
	    *r.err == '\0', "good config: rc %d out '%s' err '%s'", r.rc,
	    r.out, r.err);
	run_free(&r);
	/* A valid credential store is checked too, and passes. */
	put_file(store, "f81edfee27c1@almacska 83279de2ea5c\n", 0600);
	r = run(conf, NULL, NULL);
	CHECK(r.rc == 0 && strcmp(r.out, "configuration OK\n") == 0 &&
	    *r.err == '\0', "good config with store: rc %d err '%s'", r.rc,
	    r.err);
	run_free(&r);
}

/* Broken filter settings: every error, file:line first, in one run. */
static void
test_check_broken(void **state)
{
	char		 path[128], text[512], want[1024], *nl;
	struct run	 r;

	snprintf(path, sizeof(path), "%s/broken.conf", dir);
	snprintf(text, sizeof(text),
	    "[nabproxy]\n"				/* 1 */
	    "listen = 127.0.0.1:0\n"			/* 2 */
	    "upstream = 127.0.0.1:5222\n"		/* 3 */
	    "state-dir = %s\n"				/* 4 */
	    "\n"					/* 5 */
	    "[filter auth]\n"				/* 6 */
	    "backoff-min = soon\n"			/* 7 */
	    "backoff-max = 90000\n"			/* 8 */
	    "[filter bind]\n"				/* 9 */
	    "color = blue\n"				/* 10 */
	    "\n"					/* 11 */
	    "[filter ext]\n"				/* 12 */
	    "path = %s/missing.so\n"			/* 13 */
	    "\n"					/* 14 */
	    "[profile p1]\n"				/* 15 */
	    "filters = auth bind ext\n", dir, dir);	/* 16 */
	put_file(path, text, 0644);
	r = run(path, NULL, NULL);
	CHECK(r.rc == 1, "broken config: rc %d", r.rc);
	CHECK(*r.out == '\0', "broken config printed '%s' on stdout", r.out);
	snprintf(want, sizeof(want),
	    "%s:7: filter auth: backoff-min: 'soon' is not an integer\n"
	    "%s:8: filter auth: backoff-max: 90000 is out of range 0..86400\n"
	    "%s:10: filter bind: color: unknown setting (this filter has no "
	    "settings)\n"
	    "%s:12: filter ext in %s/missing.so: cannot load: ",
	    path, path, path, path, dir);
	CHECK(strncmp(r.err, want, strlen(want)) == 0,
	    "stderr:\n%s\nwant it to start with:\n%s", r.err, want);
	nl = strchr(r.err + strlen(want), '\n');
	CHECK(nl != NULL && nl[1] == '\0' && strstr(r.err + strlen(want),
	    "No such file or directory") != NULL,
	    "load error line: %s", r.err + strlen(want));
	run_free(&r);
}

/*
 * nabproxy filters: every built-in with its settings, then the shared
 * objects named; one that does not load is an error, the rest printed.
 */
static void
test_filters(void **state)
{
	char		*ok[] = { "filters", NAB_BINARY_DIR "/filters/stamp.so",
			    NULL };
	char		*bad[] = { "filters", "/nonexistent/x.so", NULL };
	char		 want[256];
	struct run	 r;

	r = run(NULL, ok, NULL);
	snprintf(want, sizeof(want), "auth 1.1 (built-in, ABI 1.%d)\n"
	    "  SASL on the rabbit's behalf: hold, log in upstream, release\n"
	    "  backoff-min: int 0..86400, default 2\n", NAB_ABI_MINOR);
	CHECK(r.rc == 0 && *r.err == '\0' && strncmp(r.out, want,
	    strlen(want)) == 0, "rc %d err '%s' out:\n%s", r.rc, r.err, r.out);
	CHECK(strstr(r.out, "\nbind 1.1 (built-in, ABI 1.4)\n  repair bind "
	    "and session requests; answer resource changes and unbind "
	    "locally\n  settings: none\n") != NULL, "bind: %s", r.out);
	CHECK(strstr(r.out, "\nstamp 1.4 (" NAB_BINARY_DIR "/filters/stamp.so"
	    ", ABI 1.4)\n") != NULL && strstr(r.out, "  overwrite: bool, "
	    "default no\n") != NULL, "stamp: %s", r.out);
	run_free(&r);
	r = run(NULL, bad, NULL);
	CHECK(r.rc == 1 && strncmp(r.err, "/nonexistent/x.so: cannot load: ",
	    32) == 0 && strstr(r.out, "iq-answer 1.0 (built-in") != NULL,
	    "rc %d err '%s'", r.rc, r.err);
	run_free(&r);
}

/* A store others may read, or a malformed one, fails the check. */
static void
test_check_store(void **state)
{
	char		want[512];
	struct run	r;

	put_file(store, "a@b pw\n", 0644);
	r = run(conf, NULL, NULL);
	snprintf(want, sizeof(want), "%s: mode 0644 gives group or others "
	    "access", store);
	CHECK(r.rc == 1 && *r.out == '\0' && strncmp(r.err, want,
	    strlen(want)) == 0, "0644 store: rc %d out '%s' err '%s'", r.rc,
	    r.out, r.err);
	CHECK(strchr(r.err, '\n')[1] == '\0', "more than one line: %s", r.err);
	CHECK(strstr(r.err, " pw") == NULL, "password in the message");
	run_free(&r);

	put_file(store, "# comment\n\nf81@almacska\n", 0600);
	r = run(conf, NULL, NULL);
	snprintf(want, sizeof(want), "%s:3: ", store);
	CHECK(r.rc == 1 && strncmp(r.err, want, strlen(want)) == 0,
	    "malformed store: rc %d err '%s'", r.rc, r.err);
	run_free(&r);
}

/* add by argument creates the store 0600 with the entry, JID folded. */
static void
creds_add_arg(void)
{
	struct stat	 st;
	struct run	 r;
	char		*s;

	r = creds_cmd(NULL, "add", "F81EDFEE27C1@Almacska", "s3cr3t pass");
	CHECK(r.rc == 0 && *r.out == '\0' && *r.err == '\0',
	    "add: rc %d out '%s' err '%s'", r.rc, r.out, r.err);
	run_free(&r);
	CHECK(stat(store, &st) == 0, "no store after add: %s", strerror(errno));
	CHECK(S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0600,
	    "store mode %o", (unsigned)(st.st_mode & 07777));
	s = tu_slurp(store, NULL);
	CHECK(strstr(s, "\nf81edfee27c1@almacska s3cr3t pass\n") != NULL,
	    "store content:\n%s", s);
	free(s);
}

/* add from stdin: the line end stripped, a CR inside kept; c removed. */
static void
creds_add_stdin(void)
{
	struct run	 r;
	char		*s;

	/* From stdin, CR LF stripped. */
	r = creds_cmd("other pw\r\n", "add", "b@almacska", NULL);
	CHECK(r.rc == 0 && *r.out == '\0' && *r.err == '\0',
	    "add from stdin: rc %d err '%s'", r.rc, r.err);
	run_free(&r);
	s = tu_slurp(store, NULL);
	CHECK(strstr(s, "\nb@almacska other pw\n") != NULL, "store:\n%s", s);
	free(s);

	/* A CR inside the password is part of it, never where it ends. */
	r = creds_cmd("cr\rinside\n", "add", "c@almacska", NULL);
	CHECK(r.rc == 0 && *r.err == '\0', "add with CR: rc %d err '%s'",
	    r.rc, r.err);
	run_free(&r);
	s = tu_slurp(store, NULL);
	CHECK(strstr(s, "\nc@almacska cr\rinside\n") != NULL,
	    "password cut at its CR:\n%s", s);
	free(s);
	r = creds_cmd(NULL, "remove", "c@almacska", NULL);
	CHECK(r.rc == 0, "remove c: rc %d err '%s'", r.rc, r.err);
	run_free(&r);
}

/* list prints the JIDs sorted and no password; add replaces an entry. */
static void
creds_list_replace(void)
{
	static const char head[] = "f81edfee27c1@almacska ";
	struct run	 r;
	char		*s;

	r = creds_cmd(NULL, "list", NULL, NULL);
	CHECK(r.rc == 0 && strcmp(r.out, "b@almacska\n"
	    "f81edfee27c1@almacska\n") == 0 && *r.err == '\0',
	    "list: rc %d out '%s' err '%s'", r.rc, r.out, r.err);
	CHECK(strstr(r.out, "s3cr3t") == NULL && strstr(r.out, "other") ==
	    NULL, "list printed a password");
	run_free(&r);

	/* Replace: one entry, the new password only. */
	r = creds_cmd(NULL, "add", "f81edfee27c1@almacska", "n3w");
	CHECK(r.rc == 0 && *r.err == '\0', "replace: rc %d err '%s'", r.rc,
	    r.err);
	run_free(&r);
	s = tu_slurp(store, NULL);
	CHECK(strstr(s, "\nf81edfee27c1@almacska n3w\n") != NULL &&
	    strstr(s, "s3cr3t") == NULL && count(s, head) == 1,
	    "replaced store:\n%s", s);
	free(s);
}

/*
 * allow-register by MAC finds the stored JID and opens the window (list
 * shows it); a MAC without a stored password, a bad MAC or bad minutes
 * are refused and change nothing.
 */
static void
creds_allow(void)
{
	struct run	 r;
	char		*before, *after;

	r = creds_cmd(NULL, "allow-register", "F81EDFEE27C1", "5");
	CHECK(r.rc == 0 && strncmp(r.out, "f81edfee27c1@almacska may register "
	    "a new password until ", 56) == 0 && strstr(r.out, "(5 min,") !=
	    NULL && *r.err == '\0', "allow: rc %d out '%s' err '%s'", r.rc,
	    r.out, r.err);
	run_free(&r);
	r = creds_cmd(NULL, "list", NULL, NULL);
	CHECK(r.rc == 0 && strstr(r.out, "f81edfee27c1@almacska "
	    "(allow-register open until ") != NULL && strstr(r.out, "n3w") ==
	    NULL, "list: '%s'", r.out);
	run_free(&r);
	before = tu_slurp(store, NULL);
	r = creds_cmd(NULL, "allow-register", "0013d3000999", NULL);
	CHECK(r.rc == 1 && strstr(r.err, "no password stored for "
	    "0013d3000999@...") != NULL, "unknown MAC: rc %d '%s'", r.rc,
	    r.err);
	run_free(&r);
	r = creds_cmd(NULL, "allow-register", "f81edfee27", NULL);
	CHECK(r.rc == 1 && strstr(r.err, "neither a MAC") != NULL,
	    "bad MAC: rc %d '%s'", r.rc, r.err);
	run_free(&r);
	r = creds_cmd(NULL, "allow-register", "f81edfee27c1", "0");
	CHECK(r.rc == 1 && strstr(r.err, "MINUTES must be") != NULL,
	    "0 minutes: rc %d '%s'", r.rc, r.err);
	run_free(&r);
	after = tu_slurp(store, NULL);
	CHECK(strcmp(before, after) == 0, "a refusal changed the store");
	free(before);
	free(after);
	/* Setting the password closes the window. */
	r = creds_cmd(NULL, "add", "f81edfee27c1@almacska", "n3w");
	run_free(&r);
	r = creds_cmd(NULL, "list", NULL, NULL);
	CHECK(r.rc == 0 && strcmp(r.out, "b@almacska\n"
	    "f81edfee27c1@almacska\n") == 0, "list after add: '%s'", r.out);
	run_free(&r);
}

/* remove, folded; twice is an error; the mode stays; empty lists nothing. */
static void
creds_remove_all(void)
{
	struct stat	st;
	struct run	r;

	r = creds_cmd(NULL, "remove", "B@ALMACSKA", NULL);
	CHECK(r.rc == 0 && *r.out == '\0' && *r.err == '\0',
	    "remove: rc %d err '%s'", r.rc, r.err);
	run_free(&r);
	r = creds_cmd(NULL, "list", NULL, NULL);
	CHECK(r.rc == 0 && strcmp(r.out, "f81edfee27c1@almacska\n") == 0,
	    "list after remove: '%s'", r.out);
	run_free(&r);
	r = creds_cmd(NULL, "remove", "b@almacska", NULL);
	CHECK(r.rc == 1 && strcmp(r.err, "nabproxy: b@almacska: no such "
	    "JID\n") == 0, "remove twice: rc %d err '%s'", r.rc, r.err);
	run_free(&r);
	CHECK(stat(store, &st) == 0 && (st.st_mode & 07777) == 0600,
	    "mode after rewrites %o", (unsigned)(st.st_mode & 07777));

	/* An empty list prints nothing. */
	r = creds_cmd(NULL, "remove", "f81edfee27c1@almacska", NULL);
	CHECK(r.rc == 0, "remove last: rc %d err '%s'", r.rc, r.err);
	run_free(&r);
	r = creds_cmd(NULL, "list", NULL, NULL);
	CHECK(r.rc == 0 && *r.out == '\0' && *r.err == '\0',
	    "empty list: '%s' '%s'", r.out, r.err);
	run_free(&r);
}

/* add, list, replace, remove, with the store's mode and bytes. */
static void
test_credentials(void **state)
{
	creds_add_arg();
	creds_add_stdin();
	creds_list_replace();
	creds_allow();
	creds_remove_all();
}

/* Refusals leave the store exactly as it was. */
static void
test_credentials_refused(void **state)
{
	char		*before, *after, *big, want[512];
	struct run	 r;

	r = creds_cmd(NULL, "add", "keep@almacska", "kept");
	CHECK(r.rc == 0, "add: %s", r.err);
	run_free(&r);
	before = tu_slurp(store, NULL);

	r = creds_cmd("", "add", "x@almacska", NULL);
	CHECK(r.rc == 1 && strcmp(r.err, "nabproxy: no password given\n") ==
	    0, "no password: rc %d err '%s'", r.rc, r.err);
	run_free(&r);
	r = creds_cmd("\n", "add", "x@almacska", NULL);
	CHECK(r.rc == 1 && strcmp(r.err, "nabproxy: no password given\n") ==
	    0, "empty password line: rc %d err '%s'", r.rc, r.err);
	run_free(&r);
	r = creds_cmd(NULL, "add", "not a jid", "pw");
	CHECK(r.rc == 1 && strncmp(r.err, "nabproxy: not a bare JID", 24) == 0,
	    "bad JID: rc %d err '%s'", r.rc, r.err);
	run_free(&r);

	/* Longer than CREDS_PASSWORD_MAX: refused, never stored cut short. */
	big = malloc(2002);
	CHECK(big != NULL, "malloc");
	memset(big, 'p', 2000);
	big[2000] = '\0';
	r = creds_cmd(NULL, "add", "x@almacska", big);
	CHECK(r.rc == 1 && strncmp(r.err, "nabproxy: bad password for "
	    "x@almacska", 37) == 0, "long argument password: rc %d err '%s'",
	    r.rc, r.err);
	CHECK(strstr(r.err, "ppppp") == NULL, "password in the message");
	run_free(&r);
	big[2000] = '\n';
	big[2001] = '\0';
	r = creds_cmd(big, "add", "x@almacska", NULL);
	snprintf(want, sizeof(want), "nabproxy: password longer than %d "
	    "bytes\n", CREDS_PASSWORD_MAX);
	CHECK(r.rc == 1 && strcmp(r.err, want) == 0,
	    "long stdin password: rc %d err '%s'", r.rc, r.err);
	run_free(&r);
	/* Exactly the longest password is fine, from stdin with CR LF. */
	big[CREDS_PASSWORD_MAX] = '\r';
	big[CREDS_PASSWORD_MAX + 1] = '\n';
	big[CREDS_PASSWORD_MAX + 2] = '\0';
	r = creds_cmd(big, "add", "max@almacska", NULL);
	CHECK(r.rc == 0 && *r.err == '\0', "longest password: rc %d err '%s'",
	    r.rc, r.err);
	run_free(&r);
	after = tu_slurp(store, NULL);
	big[CREDS_PASSWORD_MAX] = '\n';
	big[CREDS_PASSWORD_MAX + 1] = '\0';
	CHECK(strstr(after, big) != NULL && strstr(after, "\nmax@almacska ppp")
	    != NULL, "longest password not stored whole");
	free(after);
	r = creds_cmd(NULL, "remove", "max@almacska", NULL);
	CHECK(r.rc == 0, "remove: %s", r.err);
	run_free(&r);
	after = tu_slurp(store, NULL);
	CHECK(strcmp(before, after) == 0, "refusals changed the store:\n%s",
	    after);
	free(after);
	free(big);

	/* A store others may read is refused, the path said once. */
	CHECK(chmod(store, 0644) == 0, "chmod");
	r = creds_cmd(NULL, "list", NULL, NULL);
	snprintf(want, sizeof(want), "nabproxy: %s: mode 0644 gives group or "
	    "others access", store);
	CHECK(r.rc == 1 && *r.out == '\0' && strncmp(r.err, want,
	    strlen(want)) == 0, "0644 store: rc %d err '%s'", r.rc, r.err);
	run_free(&r);
	CHECK(chmod(store, 0600) == 0, "chmod");

	free(before);
}

/* A broken configuration, and usage errors before anything is loaded. */
static void
test_credentials_usage(void **state)
{
	char		 bad[128], want[256];
	char		*a_bad[] = { "credentials", "--config", bad, "list", NULL };
	char		*a_none[] = { "credentials", NULL };
	char		*a_noop[] = { "credentials", "-c", conf, NULL };
	struct run	 r;

	/* A broken configuration: its file:line errors, status 1. */
	snprintf(bad, sizeof(bad), "%s/bad.conf", dir);
	put_file(bad, "[nabproxy]\nlisten = nowhere\n", 0644);
	r = run(NULL, a_bad, NULL);
	CHECK(r.rc == 1 && *r.out == '\0', "bad config: rc %d", r.rc);
	snprintf(want, sizeof(want), "%s:2: ", bad);
	CHECK(strncmp(r.err, want, strlen(want)) == 0,
	    "bad config errors: '%s'", r.err);
	run_free(&r);

	/* Usage errors. */
	r = run(NULL, a_none, NULL);
	CHECK(r.usage && strcmp(usage_msg, "credentials: add JID [PASSWORD] "
	    "| remove JID | list | allow-register MAC|JID [MINUTES]") == 0,
	    "usage: %d '%s'", r.usage, usage_msg);
	run_free(&r);
	r = run(NULL, a_noop, NULL);
	CHECK(r.usage, "-c without an operation is not a usage error");
	run_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_check_good, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_filters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_broken, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_check_store, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_credentials, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_credentials_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_credentials_usage, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
