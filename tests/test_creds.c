/*
 * test_creds: the credential store on real files in a scratch directory:
 * modes, atomic replacement, refusals, reload, round trips, stale
 * temporary files, and that no message ever carries a password.
 */
#include <sys/resource.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "creds.h"
#include "testutil.h"

static char	dir[64];
static char	path[128];	/* dir/credentials */

static int
setup(void **state)
{
	tu_mkdtemp(dir, sizeof(dir), "test_creds");
	snprintf(path, sizeof(path), "%s/credentials", dir);
	return 0;
}

static int
teardown(void **state)
{
	chmod(dir, 0700);
	tu_rmtree(dir);
	return 0;
}

/* Writes text to p with mode. */
static void
put_file(const char *p, const char *text, size_t len, mode_t mode)
{
	int	fd;

	unlink(p);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL, mode);
	EXPECT(fd != -1, "open %s: %s", p, strerror(errno));
	EXPECT(write(fd, text, len) == (ssize_t)len, "write %s", p);
	EXPECT(fchmod(fd, mode) == 0, "fchmod %s", p);
	close(fd);
}

/* Number of directory entries in dir, "." and ".." not counted. */
static int
count_files(void)
{
	DIR		*d = opendir(dir);
	struct dirent	*de;
	int		 n = 0;

	EXPECT(d != NULL, "opendir %s", dir);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static struct creds *
open_ok(void)
{
	struct creds	*c;
	char		 err[512];

	c = creds_open(path, err, sizeof(err));
	EXPECT(c != NULL, "creds_open: %s", err);
	return c;
}

static void
test_create_0600(void **state)
{
	struct creds	*c;
	struct stat	 st;
	char		 err[512], buf[256];
	mode_t		 old = umask(0);	/* a careless umask */
	ssize_t		 n;
	int		 fd;

	c = open_ok();
	assert_int_equal(creds_count(c), 0);
	assert_null(creds_get(c, "a@b"));
	EXPECT(access(path, F_OK) == -1, "an empty store created a file");
	assert_int_equal(creds_put(c, "f81edfee27c1@Nab.Example",
	    "4e532621736a", err, sizeof(err)), 0);
	umask(old);
	EXPECT(stat(path, &st) == 0, "stat: %s", strerror(errno));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_uid, geteuid());
	fd = open(path, O_RDONLY);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	EXPECT(n > 0, "read back");
	buf[n] = '\0';
	assert_string_equal(buf, "# nabproxy credential store: \"bare-jid"
	    " password\" per line, written by nabproxy.\n"
	    "f81edfee27c1@nab.example 4e532621736a\n");
	assert_string_equal(creds_get(c, "F81EDFEE27C1@nab.example"),
	    "4e532621736a");
	assert_string_equal(creds_path(c), path);
	creds_close(c);
}

static void
test_atomic_replace(void **state)
{
	struct creds	*c;
	struct stat	 st1, st2;
	char		 err[512], moved[80];

	snprintf(moved, sizeof(moved), "%s.moved", dir);
	c = open_ok();
	assert_int_equal(creds_put(c, "a@x", "one", err, sizeof(err)), 0);
	EXPECT(stat(path, &st1) == 0, "stat");
	assert_int_equal(creds_put(c, "a@x", "two", err, sizeof(err)), 0);
	EXPECT(stat(path, &st2) == 0, "stat");
	EXPECT(st1.st_ino != st2.st_ino, "file rewritten in place, not"
	    " replaced");
	assert_int_equal(count_files(), 1);
	assert_string_equal(creds_get(c, "a@x"), "two");

	/*
	 * A write that cannot happen changes nothing, in memory or on
	 * disk: take the directory away under the store.
	 */
	EXPECT(rename(dir, moved) == 0, "rename dir");
	assert_int_equal(creds_put(c, "a@x", "three", err, sizeof(err)),
	    -1);
	EXPECT(strstr(err, "cannot create a temporary file") != NULL,
	    "err: %s", err);
	EXPECT(strstr(err, "three") == NULL, "password in message: %s", err);
	assert_int_equal(creds_put(c, "new@x", "pw", err, sizeof(err)), -1);
	assert_int_equal(creds_remove(c, "a@x", err, sizeof(err)), -1);
	EXPECT(rename(moved, dir) == 0, "rename back");
	assert_string_equal(creds_get(c, "a@x"), "two");
	assert_null(creds_get(c, "new@x"));
	assert_int_equal(creds_count(c), 1);
	assert_int_equal(count_files(), 1);
	creds_close(c);
	c = open_ok();
	assert_string_equal(creds_get(c, "a@x"), "two");
	creds_close(c);
}

static void
test_refusals(void **state)
{
	static const char	 text[] = "a@x secret\n";
	char			 err[512], want[512];

	put_file(path, text, sizeof(text) - 1, 0644);
	assert_null(creds_open(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: mode 0644 gives group or others"
	    " access, refused: chmod 600 %s", path, path);
	assert_string_equal(err, want);
	put_file(path, text, sizeof(text) - 1, 0604);
	assert_null(creds_open(path, err, sizeof(err)));
	put_file(path, text, sizeof(text) - 1, 0620);
	assert_null(creds_open(path, err, sizeof(err)));
	put_file(path, text, sizeof(text) - 1, 0400);
	creds_close(open_ok());

	/* Not ours: only root can make such a file here. */
	if (geteuid() == 0) {
		put_file(path, text, sizeof(text) - 1, 0600);
		EXPECT(chown(path, 1, 1) == 0, "chown");
		assert_null(creds_open(path, err, sizeof(err)));
		snprintf(want, sizeof(want), "%s: owned by uid 1, refused: it"
		    " must belong to uid 0, which runs nabproxy", path);
		assert_string_equal(err, want);
	}

	/*
	 * creds_open_owner: the owner asked for, not the euid (the daemon
	 * reads the store as root before it drops to its user).
	 */
	put_file(path, text, sizeof(text) - 1, 0600);
	assert_null(creds_open_owner(path, geteuid() + 1, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: owned by uid %u, refused: it must"
	    " belong to uid %u, which runs nabproxy", path,
	    (unsigned int)geteuid(), (unsigned int)geteuid() + 1);
	assert_string_equal(err, want);
	if (geteuid() == 0) {
		struct creds	*c;

		EXPECT(chown(path, 1, 1) == 0, "chown");
		c = creds_open_owner(path, 1, err, sizeof(err));
		EXPECT(c != NULL, "store of uid 1 for owner 1: %s", err);
		/* The reload checks the same owner, not the euid. */
		EXPECT(c != NULL && creds_reload(c, err, sizeof(err)) == 0,
		    "reload: %s", err);
		creds_close(c);
	}

	/* A symbolic link, even to a good file. */
	{
		char target[160];

		snprintf(target, sizeof(target), "%s/real", dir);
		put_file(target, text, sizeof(text) - 1, 0600);
		unlink(path);
		EXPECT(symlink(target, path) == 0, "symlink");
		assert_null(creds_open(path, err, sizeof(err)));
		EXPECT(strstr(err, "symbolic link") != NULL, "err: %s", err);
	}
}

/* Malformed files: exact messages, never a password in them. */
static void
test_parse_errors(void **state)
{
	static const struct {
		const char	*text;
		size_t		 len;
		const char	*msg;
	} cases[] = {
#define T(s)	s, sizeof(s) - 1
		{ T("# c\n\na@x pw1\nnospace\n"), "%s:4: expected \"JID"
		  " PASSWORD\", one space between" },
		{ T("a@x \n"), "%s:1: expected \"JID PASSWORD\", one space"
		  " between" },
		{ T(" a@x pw1\n"), "%s:1: not a bare JID" },
		{ T("a/r@x pw1\n"), "%s:1: not a bare JID" },
		{ T("a@x pw1\nb@x pw2\nA@X pw3\n"), "%s:3: a@x is already at"
		  " line 1, allowed once" },
		{ T("a@x pw\0x\n"), "%s:1: NUL byte, refused" },
#undef T
	};
	static const char	 ok[] = "  # note\n\n \t\nb@x pw2\na@x pw1";
	struct creds		*c;
	char			 err[512], want[512];
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		put_file(path, cases[i].text, cases[i].len, 0600);
		c = creds_open(path, err, sizeof(err));
		EXPECT(c == NULL, "case %zu loaded", i);
		snprintf(want, sizeof(want), cases[i].msg, path);
		assert_string_equal(err, want);
		EXPECT(strstr(err + strlen(path), "pw") == NULL,
		    "password in: %s", err);
	}
	/* Comments, blank lines, a last line without newline: fine. */
	put_file(path, ok, sizeof(ok) - 1, 0600);
	c = open_ok();
	assert_int_equal(creds_count(c), 2);
	assert_string_equal(creds_get(c, "a@x"), "pw1");
	assert_string_equal(creds_get(c, "b@x"), "pw2");
	creds_close(c);
}

static void
test_reload(void **state)
{
	static const char	 bad[] = "a@x new\nbroken\n";
	static const char	 good[] = "a@x new\nc@x three\n";
	struct creds		*c;
	char			 err[512];

	c = open_ok();
	assert_int_equal(creds_put(c, "a@x", "old", err, sizeof(err)), 0);
	assert_int_equal(creds_put(c, "b@x", "two", err, sizeof(err)), 0);

	put_file(path, bad, sizeof(bad) - 1, 0600);
	assert_int_equal(creds_reload(c, err, sizeof(err)), -1);
	assert_string_equal(creds_get(c, "a@x"), "old");
	assert_string_equal(creds_get(c, "b@x"), "two");

	put_file(path, good, sizeof(good) - 1, 0644);
	assert_int_equal(creds_reload(c, err, sizeof(err)), -1);
	EXPECT(strstr(err, "mode 0644") != NULL, "err: %s", err);
	assert_string_equal(creds_get(c, "a@x"), "old");

	EXPECT(chmod(path, 0600) == 0, "chmod");
	assert_int_equal(creds_reload(c, err, sizeof(err)), 0);
	assert_string_equal(creds_get(c, "a@x"), "new");
	assert_null(creds_get(c, "b@x"));
	assert_string_equal(creds_get(c, "c@x"), "three");

	/* A store that disappears is empty, not an error. */
	unlink(path);
	assert_int_equal(creds_reload(c, err, sizeof(err)), 0);
	assert_int_equal(creds_count(c), 0);
	creds_close(c);
}

static void
test_round_trip(void **state)
{
	static const char *const pw[][2] = {
		{ "lead@x", " leading space" },
		{ "trail@x", "trailing space " },
		{ "many@x", "two  spaces\tand a tab" },
		{ "utf8@x", "p\xc3\xa4ssw\xc3\xb6rd \xe2\x9c\x93 \xf0\x9f\x90\x87" },
		{ "hash@x", "#not a comment" },
		{ "j\xc3\xbc" "rgen@b\xc3\xbc" "cher.example", "x" },
		{ "CaSe@X.Example", "y" },
	};
	struct creds	*c;
	char		 err[512], big[CREDS_PASSWORD_MAX + 2];
	size_t		 i;

	c = open_ok();
	for (i = 0; i < sizeof(pw) / sizeof(pw[0]); i++)
		EXPECT(creds_put(c, pw[i][0], pw[i][1], err, sizeof(err)) == 0,
		    "put %s: %s", pw[i][0], err);
	creds_close(c);
	c = open_ok();
	assert_int_equal(creds_count(c), sizeof(pw) / sizeof(pw[0]));
	for (i = 0; i < sizeof(pw) / sizeof(pw[0]); i++) {
		EXPECT(creds_get(c, pw[i][0]) != NULL, "lost %s", pw[i][0]);
		assert_string_equal(creds_get(c, pw[i][0]), pw[i][1]);
	}
	assert_string_equal(creds_jid(c, 0), "case@x.example");

	/* Refused input, with nothing written and no password echoed. */
	assert_int_equal(creds_put(c, "a@x", "line\nbreak", err,
	    sizeof(err)), -1);
	assert_string_equal(err, "bad password for a@x: allowed 1..1023"
	    " bytes without a newline");
	assert_int_equal(creds_put(c, "a@x", "", err, sizeof(err)), -1);
	memset(big, 'p', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(creds_put(c, "a@x", big, err, sizeof(err)), -1);
	big[sizeof(big) - 2] = '\0';
	assert_int_equal(creds_put(c, "big@x", big, err, sizeof(err)), 0);
	assert_int_equal(creds_put(c, "a b@x", "pw", err, sizeof(err)), -1);
	assert_string_equal(err, "not a bare JID: allowed 1..3071 bytes"
	    " without white space, control bytes or '/', not starting with"
	    " '#'");
	assert_int_equal(creds_put(c, "a@x/res", "pw", err, sizeof(err)), -1);
	assert_int_equal(creds_put(c, "#a@x", "pw", err, sizeof(err)), -1);
	assert_int_equal(creds_put(c, "", "pw", err, sizeof(err)), -1);
	assert_int_equal(creds_put(c, "a\n@x", "pw", err, sizeof(err)), -1);
	assert_null(creds_get(c, "a@x"));
	creds_close(c);
}

static void
test_stale_temp(void **state)
{
	static const char	 good[] = "a@x pw1\n";
	char			 stale[160], err[512];
	struct creds		*c;

	/* A crash between mkostemp and rename leaves this behind. */
	snprintf(stale, sizeof(stale), "%s/.credentials.Xy12Ab", dir);
	put_file(stale, "a@x half-writ", 13, 0600);
	put_file(path, good, sizeof(good) - 1, 0600);
	c = open_ok();
	assert_string_equal(creds_get(c, "a@x"), "pw1");
	assert_int_equal(creds_put(c, "b@x", "pw2", err, sizeof(err)), 0);
	assert_int_equal(count_files(), 2);	/* store + the stale file */
	assert_int_equal(creds_reload(c, err, sizeof(err)), 0);
	assert_string_equal(creds_get(c, "b@x"), "pw2");
	creds_close(c);
}

static void
test_list_remove(void **state)
{
	struct creds	*c;
	char		 err[512];

	c = open_ok();
	assert_int_equal(creds_put(c, "c@x", "3", err, sizeof(err)), 0);
	assert_int_equal(creds_put(c, "a@x", "1", err, sizeof(err)), 0);
	assert_int_equal(creds_put(c, "b@x", "2", err, sizeof(err)), 0);
	assert_int_equal(creds_count(c), 3);
	assert_string_equal(creds_jid(c, 0), "a@x");
	assert_string_equal(creds_jid(c, 1), "b@x");
	assert_string_equal(creds_jid(c, 2), "c@x");
	assert_null(creds_jid(c, 3));
	assert_int_equal(creds_remove(c, "B@X", err, sizeof(err)), 0);
	assert_int_equal(creds_remove(c, "b@x", err, sizeof(err)), 2);
	assert_int_equal(creds_count(c), 2);
	creds_close(c);
	c = open_ok();
	assert_int_equal(creds_count(c), 2);
	assert_null(creds_get(c, "b@x"));
	assert_string_equal(creds_get(c, "c@x"), "3");
	creds_close(c);
}

/* Thousands of rabbits: loaded sorted, every lookup found. */
static void
test_many(void **state)
{
	enum { N = 5000 };
	struct creds	*c;
	char		*text, jid[64], want[64];
	size_t		 off = 0, i;

	text = malloc(N * 64);
	for (i = 0; i < N; i++)
		off += (size_t)sprintf(text + off, "%012zx@nab.example pw%zu\n",
		    (i * 7919) % N, i);
	put_file(path, text, off, 0600);
	free(text);
	c = open_ok();
	assert_int_equal(creds_count(c), N);
	for (i = 0; i < N; i++) {
		snprintf(jid, sizeof(jid), "%012zx@nab.example",
		    (i * 7919) % N);
		snprintf(want, sizeof(want), "pw%zu", i);
		EXPECT(creds_get(c, jid) != NULL, "missing %s", jid);
		assert_string_equal(creds_get(c, jid), want);
	}
	for (i = 1; i < N; i++)
		EXPECT(strcmp(creds_jid(c, i - 1), creds_jid(c, i)) < 0,
		    "not sorted at %zu", i);
	creds_close(c);
}

/* Open file descriptors of this process. */
static int
count_fds(void)
{
	DIR		*d = opendir("/proc/self/fd");
	struct dirent	*de;
	int		 n = 0;

	EXPECT(d != NULL, "opendir /proc/self/fd");
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n - 1;	/* the directory's own */
}

/*
 * A write that fails part-way (here the file size limit: EFBIG) changes
 * nothing, removes its temporary file and leaves no descriptor open.
 */
static void
test_write_error(void **state)
{
	struct creds	*c;
	struct rlimit	 old, lim;
	char		 err[512], pw[600];
	int		 before, rc;

	c = open_ok();
	memset(pw, 'p', sizeof(pw) - 1);
	pw[sizeof(pw) - 1] = '\0';
	EXPECT(getrlimit(RLIMIT_FSIZE, &old) == 0, "getrlimit");
	signal(SIGXFSZ, SIG_IGN);
	before = count_fds();
	lim = old;
	lim.rlim_cur = 256;
	EXPECT(setrlimit(RLIMIT_FSIZE, &lim) == 0, "setrlimit");
	rc = creds_put(c, "a@x", pw, err, sizeof(err));
	EXPECT(setrlimit(RLIMIT_FSIZE, &old) == 0, "setrlimit back");
	assert_int_equal(rc, -1);
	EXPECT(strstr(err, "writing") != NULL, "err: %s", err);
	EXPECT(count_fds() == before, "%d descriptors open after a failed "
	    "write, %d before", count_fds(), before);
	assert_int_equal(count_files(), 0);
	assert_null(creds_get(c, "a@x"));
	creds_close(c);
}

/*
 * `nabproxy credentials add` while the daemon runs: the daemon's next
 * write (a learned password) keeps what the command line added.
 */
static void
test_put_keeps_other_writers(void **state)
{
	struct creds	*daemon, *cli, *c;
	char		 err[512];

	daemon = open_ok();
	assert_int_equal(creds_put(daemon, "a@x", "1", err, sizeof(err)), 0);
	cli = open_ok();
	assert_int_equal(creds_put(cli, "b@x", "2", err, sizeof(err)), 0);
	creds_close(cli);
	assert_int_equal(creds_put(daemon, "c@x", "3", err, sizeof(err)), 0);
	EXPECT(creds_get(daemon, "b@x") != NULL, "memory lost b@x");
	creds_close(daemon);
	c = open_ok();
	assert_int_equal(creds_count(c), 3);
	EXPECT(creds_get(c, "b@x") != NULL, "the file lost b@x");
	assert_string_equal(creds_get(c, "b@x"), "2");
	assert_string_equal(creds_get(c, "a@x"), "1");
	assert_string_equal(creds_get(c, "c@x"), "3");
	creds_close(c);
}

/*
 * allow-register: a window is needed for a rabbit-side password, is good
 * for one registration, and survives the file; the server's password
 * stays; creds_put makes the two one again. The '/' lines' refusals.
 */
static void
test_window(void **state)
{
	struct creds	*c;
	char		 err[512], *text;
	long long	 now = 1000000;

	c = open_ok();
	assert_int_equal(creds_put(c, "0013d3000801@x", "srv", err,
	    sizeof(err)), 0);
	EXPECT(creds_put_rabbit(c, "0013d3000801@x", "new", now, err,
	    sizeof(err)) == -1, "rabbit password set without a window");
	EXPECT(strstr(err, "no allow-register window") != NULL, "err %s", err);
	EXPECT(creds_allow_register(c, "nobody@x", now + 600, err,
	    sizeof(err)) == -1, "window for an account without a password");
	assert_int_equal(creds_allow_register(c, "0013D3000801@x", now + 600,
	    err, sizeof(err)), 0);
	assert_int_equal(creds_window(c, "0013d3000801@x"), now + 600);
	/* Closed at its end. */
	EXPECT(creds_put_rabbit(c, "0013d3000801@x", "new", now + 600, err,
	    sizeof(err)) == -1, "window used at its end");
	assert_int_equal(creds_put_rabbit(c, "0013d3000801@x", "new", now,
	    err, sizeof(err)), 0);
	assert_string_equal(creds_get(c, "0013d3000801@x"), "srv");
	assert_string_equal(creds_get_rabbit(c, "0013d3000801@x"), "new");
	assert_int_equal(creds_window(c, "0013d3000801@x"), 0);
	EXPECT(creds_put_rabbit(c, "0013d3000801@x", "again", now, err,
	    sizeof(err)) == -1, "window used twice");
	creds_close(c);
	text = tu_slurp(path, NULL);
	EXPECT(strstr(text, "\n0013d3000801@x srv\n/rabbit 0013d3000801@x "
	    "new\n") != NULL, "file: %s", text);
	free(text);
	c = open_ok();
	assert_string_equal(creds_get(c, "0013d3000801@x"), "srv");
	assert_string_equal(creds_get_rabbit(c, "0013d3000801@x"), "new");
	assert_string_equal(creds_get_rabbit(c, "0013d3000801@X"), "new");
	assert_int_equal(creds_allow_register(c, "0013d3000801@x", now + 60,
	    err, sizeof(err)), 0);
	/* A password the server accepted: one password again, no window. */
	assert_int_equal(creds_put(c, "0013d3000801@x", "srv2", err,
	    sizeof(err)), 0);
	assert_string_equal(creds_get_rabbit(c, "0013d3000801@x"), "srv2");
	assert_int_equal(creds_window(c, "0013d3000801@x"), 0);
	assert_int_equal(creds_count(c), 1);
	creds_close(c);
}

static void
test_window_parse_errors(void **state)
{
	static const char	*bad[] = {
		"/rabbit a@x pw\n",				/* no a@x line */
		"a@x pw\n/rabbit a@x one\n/rabbit a@x two\n",	/* twice */
		"a@x pw\n/allow-register a@x soon\n",
		"a@x pw\n/allow-register a@x -5\n",
		"a@x pw\n/allow-register a@x\n",
		"a@x pw\n/other a@x 1\n",
		"a@x pw\n/allow-register a@x 5\n/allow-register a@x 9\n",
		"a@x pw\n/allow-register a@x +5\n",
		"a@x pw\n/allow-register a@x  5\n",
	};
	struct creds	*c;
	char		 err[512];
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put_file(path, bad[i], strlen(bad[i]), 0600);
		c = creds_open(path, err, sizeof(err));
		EXPECT(c == NULL, "accepted: %s", bad[i]);
		EXPECT(strstr(err, "pw") == NULL && strstr(err, "one") == NULL,
		    "err quotes a password: %s", err);
	}
	/* A NUL in a /rabbit line would cut the rabbit's password short. */
	put_file(path, "a@x pw\n/rabbit a@x \0\n", 21, 0600);
	EXPECT(creds_open(path, err, sizeof(err)) == NULL &&
	    strstr(err, "NUL") != NULL, "NUL in /rabbit: %s", err);
	put_file(path, "/rabbit b@x r b\nb@x s s\n/allow-register b@x 77\n",
	    47, 0600);
	c = open_ok();
	assert_string_equal(creds_get(c, "b@x"), "s s");
	assert_string_equal(creds_get_rabbit(c, "b@x"), "r b");
	assert_int_equal(creds_window(c, "b@x"), 77);
	creds_close(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_0600, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_atomic_replace, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parse_errors, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_reload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_round_trip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_stale_temp, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_list_remove, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_many, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_error, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_put_keeps_other_writers,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_window_parse_errors,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
