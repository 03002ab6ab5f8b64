/*
 * test_harden: proxy/harden.c on the real process and real files: the
 * descriptor formula and what fits a limit, the soft RLIMIT_NOFILE raised
 * or refused with the exact message (on this process's own limits), no
 * core dumps, who the daemon runs as for each user/euid case, the state
 * directory and store checks on a scratch directory, the pid file, paths
 * below a chroot and the chroot checks, and (as root, in a forked child)
 * the drop itself with its verification.
 * The root-only case is reported as a skip (exit 77) when not root.
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <pwd.h>

#include "config.h"
#include "harden.h"
#include "testutil.h"

#define SKIPPED		77

static char	dir[PATH_MAX];
static int	skipped;

static int
setup(void **state)
{
	tu_mkdtemp(dir, sizeof(dir), "test_harden");
	return 0;
}

static int
teardown(void **state)
{
	return tu_rmtree(dir);
}

/* The formula of harden.h, and the largest max-connections it allows. */
static void
test_formula(void **state)
{
	unsigned long	fit;

	CHECK(harden_fds_needed(1024, 16, 1, 0) == 2097, "defaults: %lu",
	    harden_fds_needed(1024, 16, 1, 0));
	CHECK(harden_fds_needed(1024, 16, 1, 1) == 3121, "with log-dir: %lu",
	    harden_fds_needed(1024, 16, 1, 1));
	CHECK(harden_conns_fitting(64, 16, 1, 0) == 7, "64 fds: %lu",
	    harden_conns_fitting(64, 16, 1, 0));
	CHECK(harden_conns_fitting(49, 16, 1, 0) == 0, "49 fds fit none");
	CHECK(harden_conns_fitting(10, 16, 1, 0) == 0, "10 fds fit none");
	/* What fits, fits, and one more does not. */
	fit = harden_conns_fitting(1000, 8, 2, 1);
	CHECK(harden_fds_needed((unsigned int)fit, 8, 2, 1) <= 1000 &&
	    harden_fds_needed((unsigned int)fit + 1, 8, 2, 1) > 1000,
	    "fit %lu for 1000", fit);
}

/* A config with just what harden_nofile reads. */
static void
nofile_cfg(struct config *cfg, unsigned int maxconn)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_connections = maxconn;
	cfg->max_probes = 16;
	cfg->nlisten = 1;
	cfg->log_dir = (char *)"";
}

/*
 * On this process: a soft limit of 64 fits 4 connections (0), is raised
 * for 100 (1), and a hard limit of 100 refuses 1000 with what fits.
 */
static void
test_nofile(void **state)
{
	struct config	cfg;
	struct rlimit	rl, low;
	char		err[1024], want[1024];

	CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0, "getrlimit");
	CHECK(rl.rlim_max >= 300, "hard limit %lu too low for the test",
	    (unsigned long)rl.rlim_max);
	low.rlim_cur = 64;
	low.rlim_max = rl.rlim_max;
	CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0, "setrlimit 64");
	nofile_cfg(&cfg, 4);
	CHECK(harden_nofile(&cfg, err, sizeof(err)) == 0, "4 fit in 64");
	nofile_cfg(&cfg, 100);
	CHECK(harden_nofile(&cfg, err, sizeof(err)) == 1, "100: %s", err);
	CHECK(strcmp(err, "file descriptor limit raised from 64 to 249 for"
	    " max-connections = 100") == 0, "message: %s", err);
	CHECK(getrlimit(RLIMIT_NOFILE, &low) == 0 && low.rlim_cur == 249 &&
	    low.rlim_max == rl.rlim_max, "now %lu/%lu",
	    (unsigned long)low.rlim_cur, (unsigned long)low.rlim_max);
	/* Lowering the hard limit is for good: this test is the last user. */
	low.rlim_cur = low.rlim_max = 100;
	CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0, "setrlimit 100/100");
	nofile_cfg(&cfg, 1000);
	CHECK(harden_nofile(&cfg, err, sizeof(err)) == -1, "1000 in 100");
	snprintf(want, sizeof(want), "max-connections = 1000 needs 2049 file"
	    " descriptors (2 per connection, 16 probes, 1 listeners, %d"
	    " reserved) but the hard limit (RLIMIT_NOFILE) is 100: raise it"
	    " (ulimit -Hn 2049, systemd LimitNOFILE=2049) or set"
	    " max-connections = 25 or less", HARDEN_FD_RESERVE);
	CHECK(strcmp(err, want) == 0, "message:\n%s\nwant\n%s", err, want);
	CHECK(getrlimit(RLIMIT_NOFILE, &low) == 0 && low.rlim_cur == 100,
	    "a refusal changed the limit");
	low.rlim_cur = low.rlim_max = 40;
	CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0, "setrlimit 40/40");
	CHECK(harden_nofile(&cfg, err, sizeof(err)) == -1, "1000 in 40");
	CHECK(strcmp(err, "the hard file descriptor limit (RLIMIT_NOFILE) is"
	    " 40: not even one connection fits (max-connections = 1 needs 51):"
	    " raise it (ulimit -Hn, systemd LimitNOFILE=)") == 0, "message: %s",
	    err);
}

/* RLIMIT_CORE 0/0 and not dumpable, as the kernel reports them. */
static void
test_nocore(void **state)
{
	struct rlimit	rl;
	char		err[256];

	CHECK(harden_nocore(err, sizeof(err)) == 0, "%s", err);
	CHECK(getrlimit(RLIMIT_CORE, &rl) == 0 && rl.rlim_cur == 0 &&
	    rl.rlim_max == 0, "core limit %lu/%lu", (unsigned long)rl.rlim_cur,
	    (unsigned long)rl.rlim_max);
	CHECK(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0, "still dumpable");
}

/* A user other than root that exists here, or NULL. */
static struct passwd *
other_user(void)
{
	struct passwd	*pw = getpwnam("nobody");

	return pw != NULL && pw->pw_uid != 0 ? pw : NULL;
}

/* Each user/euid case of harden_user_resolve. */
static void
test_user(void **state)
{
	struct harden_user	 u;
	struct passwd		*pw = other_user();
	char			 err[512];

	CHECK(harden_user_resolve("", 1000, &u, err, sizeof(err)) == 0 &&
	    u.hu_uid == 1000 && !u.hu_switch && u.hu_name[0] == '\0',
	    "no user, not root");
	CHECK(harden_user_resolve("", 0, &u, err, sizeof(err)) == -1,
	    "no user as root accepted");
	CHECK(strcmp(err, "running as root: set user = NAME (an unprivileged"
	    " account, e.g. nabproxy) so that nabproxy drops root once its"
	    " sockets and files are open, or user = root to keep root (not"
	    " advised)") == 0, "message: %s", err);
	CHECK(harden_user_resolve("root", 0, &u, err, sizeof(err)) == 0 &&
	    u.hu_uid == 0 && !u.hu_switch && strcmp(u.hu_name, "root") == 0,
	    "user = root as root: %s", err);
	CHECK(harden_user_resolve("root", 12345, &u, err, sizeof(err)) == -1 &&
	    strcmp(err, "user = root: cannot switch to uid 0: nabproxy runs as"
	    " uid 12345, not root (start it as root or as root)") == 0,
	    "root from uid 12345: %s", err);
	CHECK(harden_user_resolve("no-such-user-nab", 0, &u, err,
	    sizeof(err)) == -1 && strcmp(err, "user = no-such-user-nab: no"
	    " such user (create it, e.g. adduser --system --group"
	    " --no-create-home nabproxy)") == 0, "missing user: %s", err);
	if (pw == NULL) {
		print_message("no user 'nobody' here: switch case skipped\n");
		skipped = 1;
		return;
	}
	CHECK(harden_user_resolve("nobody", 0, &u, err, sizeof(err)) == 0 &&
	    u.hu_switch && u.hu_uid == pw->pw_uid && u.hu_gid == pw->pw_gid,
	    "nobody from root: %s", err);
	CHECK(harden_user_resolve("nobody", pw->pw_uid, &u, err,
	    sizeof(err)) == 0 && !u.hu_switch, "nobody as nobody: %s", err);
}

/* Runs harden_check_state on dir/sub (store dir/sub/credentials). */
static int
check(const struct harden_user *u, char *err, size_t len)
{
	char	sd[PATH_MAX], store[PATH_MAX];

	snprintf(sd, sizeof(sd), "%s/sub", dir);
	snprintf(store, sizeof(store), "%s/sub/credentials", dir);
	return harden_check_state(sd, store, u, err, len);
}

/* State directory and store: created, then each unsafe case refused. */
static void
test_state(void **state)
{
	struct harden_user	u = { "", geteuid(), getegid(), 0 };
	struct stat		st;
	char			err[1024], want[1024], p[PATH_MAX + 32];

	CHECK(check(&u, err, sizeof(err)) == 0, "missing dir: %s", err);
	snprintf(p, sizeof(p), "%s/sub", dir);
	CHECK(stat(p, &st) == 0 && S_ISDIR(st.st_mode) &&
	    (st.st_mode & 0777) == 0700 && st.st_uid == geteuid(),
	    "created %s mode %o", p, (unsigned int)st.st_mode);
	tu_put(p, "credentials", "# empty\n");
	snprintf(p, sizeof(p), "%s/sub/credentials", dir);
	CHECK(chmod(p, 0644) == 0, "chmod");
	CHECK(check(&u, err, sizeof(err)) == -1, "store 0644 accepted");
	snprintf(want, sizeof(want), "%s: mode 0644 gives group or others"
	    " access to passwords, refused (chmod 600 %s)", p, p);
	CHECK(strcmp(err, want) == 0, "message: %s", err);
	CHECK(chmod(p, 0600) == 0, "chmod");
	CHECK(check(&u, err, sizeof(err)) == 0, "store 0600: %s", err);
	u.hu_uid = geteuid() + 1;
	CHECK(check(&u, err, sizeof(err)) == -1, "other owner accepted");
	snprintf(want, sizeof(want), "%s/sub: owned by uid %u, refused:"
	    " nabproxy writes its secrets here as uid %u (chown %u %s/sub)",
	    dir, (unsigned int)geteuid(), (unsigned int)u.hu_uid,
	    (unsigned int)u.hu_uid, dir);
	CHECK(strcmp(err, want) == 0, "message: %s", err);
	u.hu_uid = geteuid();
	snprintf(p, sizeof(p), "%s/sub", dir);
	CHECK(chmod(p, 0770) == 0, "chmod dir");
	CHECK(check(&u, err, sizeof(err)) == -1, "dir 0770 accepted");
	snprintf(want, sizeof(want), "%s: mode 0770 lets group or others"
	    " write, refused (chmod 700 %s)", p, p);
	CHECK(strcmp(err, want) == 0, "message: %s", err);
	CHECK(chmod(p, 0700) == 0, "chmod dir");
	snprintf(p, sizeof(p), "%s/sub/credentials", dir);
	CHECK(unlink(p) == 0 && symlink("/dev/null", p) == 0, "symlink");
	CHECK(check(&u, err, sizeof(err)) == -1, "symlink accepted");
	snprintf(want, sizeof(want), "%s: a symbolic link, refused: the"
	    " credential store must be a regular file", p);
	CHECK(strcmp(err, want) == 0, "message: %s", err);
}

/* Names below a chroot, textually. */
static void
test_inside(void **state)
{
	static const char *const cases[][3] = {
		{ "/srv/nab", "/srv/nab/state", "/state" },
		{ "/srv/nab/", "/srv/nab/state/credentials",
		    "/state/credentials" },
		{ "/srv/nab", "/srv/nab", "/" },
		{ "/srv/nab", "/srv/nab/", "/" },
		{ "/", "/var/lib/nabproxy", "/var/lib/nabproxy" },
		{ "/srv/nab", "/srv/nabx/state", NULL },
		{ "/srv/nab", "/srv", NULL },
		{ "/srv/nab", "/srv/nab/../etc", NULL },
		{ "/srv/nab", "/srv/nab/state/..", NULL },
		{ "/srv/nab", "/srv/nab/a..b", "/a..b" },
		{ "srv/nab", "srv/nab/state", NULL },
	};
	const char	*got;
	size_t		 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		got = harden_inside(cases[i][0], cases[i][1]);
		CHECK(got == NULL ? cases[i][2] == NULL : cases[i][2] != NULL &&
		    strcmp(got, cases[i][2]) == 0, "%s in %s: %s, want %s",
		    cases[i][1], cases[i][0], got ? got : "NULL",
		    cases[i][2] ? cases[i][2] : "NULL");
	}
}

/* chroot = DIR: each refusal, and the paths below it accepted. */
static void
test_check_chroot(void **state)
{
	struct harden_user	 u = { "nobody", 65534, 65534, 1 };
	struct config		 cfg;
	char			 root[PATH_MAX], sd[PATH_MAX + 8];
	char			 cred[PATH_MAX + 32], err[1024], want[4096];

	memset(&cfg, 0, sizeof(cfg));
	snprintf(root, sizeof(root), "%s", dir);
	snprintf(sd, sizeof(sd), "%s/state", dir);
	snprintf(cred, sizeof(cred), "%s/state/credentials", dir);
	cfg.chroot_dir = (char *)"";
	cfg.state_dir = sd;
	cfg.credentials = cred;
	cfg.log_dir = (char *)"";
	CHECK(harden_check_chroot(&cfg, &u, err, sizeof(err)) == 0,
	    "no chroot: %s", err);
	cfg.chroot_dir = root;
	CHECK(harden_check_chroot(&cfg, &u, err, sizeof(err)) == 0,
	    "all inside: %s", err);
	cfg.log_dir = (char *)"/var/log/nabproxy";
	CHECK(harden_check_chroot(&cfg, &u, err, sizeof(err)) == -1,
	    "log-dir outside accepted");
	snprintf(want, sizeof(want), "log-dir = /var/log/nabproxy is not below"
	    " chroot = %s: nabproxy writes it after the chroot, so it must be"
	    " inside (written as %s/...)", root, root);
	CHECK(strcmp(err, want) == 0, "message: %s", err);
	cfg.log_dir = (char *)"";
	u.hu_switch = 0;
	CHECK(harden_check_chroot(&cfg, &u, err, sizeof(err)) == -1,
	    "chroot without a switch accepted");
	snprintf(want, sizeof(want), "chroot = %s needs nabproxy started as"
	    " root with user = NAME, an account other than root", root);
	CHECK(strcmp(err, want) == 0, "message: %s", err);
	u.hu_switch = 1;
	cfg.chroot_dir = (char *)"jail";
	CHECK(harden_check_chroot(&cfg, &u, err, sizeof(err)) == -1 &&
	    strcmp(err, "chroot = jail: not an absolute path") == 0,
	    "relative: %s", err);
	snprintf(root, sizeof(root), "%s/none", dir);
	cfg.chroot_dir = root;
	CHECK(harden_check_chroot(&cfg, &u, err, sizeof(err)) == -1,
	    "missing chroot accepted");
	snprintf(want, sizeof(want), "chroot = %s: No such file or directory",
	    root);
	CHECK(strcmp(err, want) == 0, "message: %s", err);
}

/* The pid file: written whole, removed only while it holds our pid. */
static void
test_pidfile(void **state)
{
	struct stat	 st;
	char		 p[PATH_MAX + 16], err[512], want[32], *s;

	snprintf(p, sizeof(p), "%s/nab.pid", dir);
	CHECK(harden_pidfile_write(p, 4242, err, sizeof(err)) == 0, "%s", err);
	s = tu_slurp(p, NULL);
	CHECK(strcmp(s, "4242\n") == 0, "content '%s'", s);
	free(s);
	CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0644, "mode %o",
	    (unsigned int)st.st_mode);
	CHECK(harden_pidfile_write(p, getpid(), err, sizeof(err)) == 0, "%s",
	    err);
	snprintf(want, sizeof(want), "%ld\n", (long)getpid());
	s = tu_slurp(p, NULL);
	CHECK(strcmp(s, want) == 0, "replaced content '%s'", s);
	free(s);
	CHECK(harden_pidfile_remove(p, 4242) == 0 && access(p, F_OK) == 0,
	    "removed another process's pid file");
	CHECK(harden_pidfile_remove(p, getpid()) == 0 && access(p, F_OK) == -1,
	    "own pid file not removed");
	CHECK(harden_pidfile_remove(p, getpid()) == 0, "missing file");
	snprintf(p, sizeof(p), "%s/no/such/dir.pid", dir);
	CHECK(harden_pidfile_write(p, 1, err, sizeof(err)) == -1, "wrote %s",
	    p);
	CHECK(strstr(err, "No such file or directory") != NULL, "%s", err);
}

/*
 * As root, in a child: the drop to nobody into the scratch directory as
 * chroot leaves every id nobody's, root cannot come back, the process is
 * not dumpable, and "/" is the scratch directory.
 */
static void
test_drop(void **state)
{
	struct harden_user	 u;
	struct passwd		*pw = other_user();
	char			 err[512];
	uid_t			 r, e, s;
	pid_t			 pid;
	int			 st;

	u.hu_switch = 0;
	CHECK(harden_drop(&u, "", err, sizeof(err)) == 0, "no switch: %s", err);
	CHECK(harden_drop(&u, "/tmp", err, sizeof(err)) == -1 &&
	    strcmp(err, "chroot /tmp needs root and user = NAME, an account"
	    " other than root") == 0, "chroot without a switch: %s", err);
	if (geteuid() != 0 || pw == NULL) {
		print_message("not root (or no 'nobody'): drop skipped\n");
		skipped = 1;
		return;
	}
	CHECK(harden_user_resolve("nobody", 0, &u, err, sizeof(err)) == 0,
	    "%s", err);
	CHECK(chmod(dir, 0755) == 0, "chmod %s", dir);
	tu_put(dir, "marker", "in the jail\n");
	CHECK((pid = fork()) != -1, "fork");
	if (pid == 0) {
		if (harden_drop(&u, dir, err, sizeof(err)) == -1)
			_exit(1);
		if (access("/marker", R_OK) == -1)
			_exit(5);
		if (getresuid(&r, &e, &s) == -1 || r != pw->pw_uid ||
		    e != pw->pw_uid || s != pw->pw_uid)
			_exit(2);
		if (getegid() != pw->pw_gid || setuid(0) != -1)
			_exit(3);
		_exit(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0 ? 0 : 4);
	}
	CHECK(waitpid(pid, &st, 0) == pid, "waitpid");
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %d", st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_formula),
		cmocka_unit_test(test_user),
		cmocka_unit_test_setup_teardown(test_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pidfile, setup, teardown),
		cmocka_unit_test(test_inside),
		cmocka_unit_test_setup_teardown(test_check_chroot, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_drop, setup, teardown),
		/* These two change this process for good: last. */
		cmocka_unit_test(test_nofile),
		cmocka_unit_test(test_nocore),
	};
	int	rc;

	rc = cmocka_run_group_tests(tests, NULL, NULL);
	return rc == 0 && skipped ? SKIPPED : rc;
}
