/*
 * test_main: proxy/main.c, the command line, through the real binary.
 * Each case forks and execs ${NAB_BINARY_DIR}/nabproxy with stdout and
 * stderr on pipes and asserts the exit status and the exact text the
 * README (Command line) and main.c promise: --help lists every option
 * parse_cli() accepts, --version, usage errors (unknown option, missing
 * argument, stray argument, too many --listen) exit 2 naming what is
 * wrong, --check-config on the shipped and on a broken file, flag
 * overrides validated like the file's keys (exit 1), the background
 * refusal without log-file, and the daemon in the foreground on a port
 * the kernel picks: it accepts, and SIGTERM or SIGINT end it with 0.
 *
 * Nothing sleeps: every wait is poll() on the child's pipes or on a
 * socket, against a deadline that fails the test.
 */
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nabproxy/filter.h>

#include "testutil.h"

#define NABPROXY	NAB_BINARY_DIR "/nabproxy"
#define DEADLINE_MS	30000	/* any one run, sanitizers included */

/* Run nabproxy with the given arguments (argv[0] is "nabproxy"). */
#define NAB_RUN(...)	nab_run((const char *const []){ __VA_ARGS__, NULL })

/* A nabproxy process with its stdout and stderr on pipes. */
struct child {
	pid_t	 pid;
	int	 fd[2];		/* read ends for stdout, stderr; -1 at EOF */
	char	*buf[2];	/* everything read so far, NUL-terminated */
	size_t	 len[2];
	int	 status;	/* wait status, once reaped */
};

/* Every option parse_cli() in proxy/main.c accepts. */
static const struct cli_opt {
	const char	*sopt;		/* "-c", or NULL: long form only */
	const char	*lopt;
	int		 arg;		/* requires an argument */
} cli_opts[] = {
	{ "-c", "--config", 1 },
	{ "-l", "--listen", 1 },
	{ "-u", "--upstream", 1 },
	{ "-f", "--foreground", 0 },
	{ "-L", "--log-file", 1 },
	{ "-F", "--log-format", 1 },
	{ "-v", "--verbose", 0 },
	{ NULL, "--check-config", 0 },
	{ "-h", "--help", 0 },
	{ "-V", "--version", 0 },
};
#define NOPTS	(sizeof(cli_opts) / sizeof(cli_opts[0]))

static char	dir[64];
static char	good[128];	/* dir/good.conf */
static pid_t	daemon_pid;	/* a daemon test's child, until reaped */

static int64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Start nabproxy with args (NULL-terminated, without argv[0]), stdin
 * from /dev/null. The child's pipes are close-on-exec in the test, so
 * EOF on them means the child is gone.
 */
static void
child_start(struct child *c, const char *const *args)
{
	const char	*argv[64];
	int		 out[2], err[2], null;
	size_t		 n = 0;

	memset(c, 0, sizeof(*c));
	argv[n++] = "nabproxy";
	while (*args != NULL && n < 63)
		argv[n++] = *args++;
	argv[n] = NULL;
	CHECK(pipe2(out, O_CLOEXEC) == 0 && pipe2(err, O_CLOEXEC) == 0,
	    "pipe2: %s", strerror(errno));
	fflush(stdout);
	fflush(stderr);
	CHECK((c->pid = fork()) != -1, "fork: %s", strerror(errno));
	if (c->pid == 0) {
		/* Only async-signal-safe calls between fork and exec. */
		if ((null = open("/dev/null", O_RDONLY)) == -1 ||
		    dup2(null, 0) == -1 || dup2(out[1], 1) == -1 ||
		    dup2(err[1], 2) == -1)
			_exit(126);
		execv(NABPROXY, (char *const *)argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	c->fd[0] = out[0];
	c->fd[1] = err[0];
	c->buf[0] = calloc(1, 1);
	c->buf[1] = calloc(1, 1);
	CHECK(c->buf[0] != NULL && c->buf[1] != NULL, "calloc");
}

/* Append what one read on pipe i gives; closes it at EOF. */
static void
child_read(struct child *c, int i)
{
	char	chunk[4096];
	ssize_t	n;

	n = read(c->fd[i], chunk, sizeof(chunk));
	if (n == -1 && errno == EINTR)
		return;
	CHECK(n != -1, "read from nabproxy: %s", strerror(errno));
	if (n == 0) {
		close(c->fd[i]);
		c->fd[i] = -1;
		return;
	}
	c->buf[i] = realloc(c->buf[i], c->len[i] + (size_t)n + 1);
	CHECK(c->buf[i] != NULL, "realloc");
	memcpy(c->buf[i] + c->len[i], chunk, (size_t)n);
	c->len[i] += (size_t)n;
	c->buf[i][c->len[i]] = '\0';
}

/*
 * Read the child's output until stderr contains want (NULL: until both
 * pipes are at EOF) or the deadline passes. 1 when it came, else 0.
 */
static int
child_pump(struct child *c, int64_t deadline, const char *want)
{
	struct pollfd	pfd[2];
	int		i, n, left;

	for (;;) {
		if (want != NULL && strstr(c->buf[1], want) != NULL)
			return 1;
		if (c->fd[0] == -1 && c->fd[1] == -1)
			return want == NULL;
		if ((left = (int)(deadline - now_ms())) <= 0)
			return 0;
		for (i = 0; i < 2; i++) {
			pfd[i].fd = c->fd[i];
			pfd[i].events = POLLIN;
			pfd[i].revents = 0;
		}
		n = poll(pfd, 2, left);
		CHECK(n != -1 || errno == EINTR, "poll: %s", strerror(errno));
		for (i = 0; i < 2 && n > 0; i++)
			if (pfd[i].revents != 0)
				child_read(c, i);
	}
}

/* Wait for the child to end within ms; fails the test (child killed). */
static void
child_reap(struct child *c, int ms)
{
	int	done;

	done = child_pump(c, now_ms() + ms, NULL);
	if (!done)
		kill(c->pid, SIGKILL);
	CHECK(waitpid(c->pid, &c->status, 0) == c->pid, "waitpid: %s",
	    strerror(errno));
	if (c->pid == daemon_pid)
		daemon_pid = 0;
	CHECK(done, "nabproxy still running after %d ms; stdout:\n%s\n"
	    "stderr:\n%s", ms, c->buf[0], c->buf[1]);
}

static void
child_free(struct child *c)
{
	free(c->buf[0]);
	free(c->buf[1]);
	c->buf[0] = c->buf[1] = NULL;
}

/* nabproxy args... run to its end. */
static struct child
nab_run(const char *const *args)
{
	struct child	c;

	child_start(&c, args);
	child_reap(&c, DEADLINE_MS);
	return c;
}

/* The child exited with code; what says which run. */
static void
expect_exit(const struct child *c, int code, const char *what)
{
	CHECK(WIFEXITED(c->status) && WEXITSTATUS(c->status) == code,
	    "%s: wanted exit %d, got status 0x%x; stdout:\n%s\nstderr:\n%s",
	    what, code, (unsigned)c->status, c->buf[0], c->buf[1]);
}

/* The first line of s (in a static buffer, until the next call). */
static const char *
first_line(const char *s)
{
	static char	line[512];

	snprintf(line, sizeof(line), "%.*s", (int)strcspn(s, "\n"), s);
	return line;
}

/*
 * A usage error: exit 2, nothing on stdout, and stderr whose first line
 * contains quoted (the offending option or argument, quoted as the
 * message quotes it); full usage follows if with_usage.
 */
static void
expect_usage_error(const struct child *c, const char *quoted,
    int with_usage, const char *what)
{
	expect_exit(c, 2, what);
	CHECK(c->len[0] == 0, "%s: stdout not empty:\n%s", what, c->buf[0]);
	CHECK(strstr(first_line(c->buf[1]), quoted) != NULL,
	    "%s: stderr does not start with a line naming %s:\n%s", what,
	    quoted, c->buf[1]);
	if (with_usage)
		CHECK(strstr(c->buf[1], "\nusage: nabproxy [-c FILE]") != NULL,
		    "%s: no usage on stderr:\n%s", what, c->buf[1]);
}

/* A configuration error: exit 1, stdout empty, stderr names the error. */
/* Does a line of `text` start with `msg`? (--check-config prints bare.) */
static int
has_line(const char *text, const char *msg)
{
	const char	*p;

	for (p = text; (p = strstr(p, msg)) != NULL; p++)
		if (p == text || p[-1] == '\n')
			return 1;
	return 0;
}

static void
expect_config_error(const struct child *c, const char *msg, const char *what)
{
	expect_exit(c, 1, what);
	CHECK(c->len[0] == 0, "%s: stdout not empty:\n%s", what, c->buf[0]);
	CHECK(has_line(c->buf[1], msg), "%s: stderr lacks a line starting "
	    "'%s':\n%s", what, msg, c->buf[1]);
}

/* --check-config passed: exit 0, exactly "configuration OK". */
static void
expect_check_ok(const struct child *c, const char *what)
{
	expect_exit(c, 0, what);
	CHECK(strcmp(c->buf[0], "configuration OK\n") == 0 && c->len[1] == 0,
	    "%s: stdout '%s' stderr '%s'", what, c->buf[0], c->buf[1]);
}

/*
 * Group setup: a scratch directory with good.conf, whose listen and
 * upstream are on TEST-NET-1 (never a local address): a daemon that
 * binds at all proves the command line replaced them.
 */
static int
setup(void **state)
{
	struct passwd	*pw = getpwuid(geteuid());
	char		 text[512];

	tu_mkdtemp(dir, sizeof(dir), "test_main");
	snprintf(good, sizeof(good), "%s/good.conf", dir);
	/* Stay who runs the test: as root that is the explicit user = root. */
	CHECK(pw != NULL, "getpwuid(%u)", (unsigned int)geteuid());
	snprintf(text, sizeof(text),
	    "[nabproxy]\n"
	    "listen = 192.0.2.1:5222\n"
	    "upstream = 192.0.2.1:5222\n"
	    "state-dir = %s\n"
	    "user = %s\n"
	    "drain-timeout = 5\n", dir, pw->pw_name);
	tu_put(dir, "good.conf", text);
	return 0;
}

static int
teardown(void **state)
{
	CHECK(tu_rmtree(dir) == 0, "rm -rf '%s'", dir);
	return 0;
}

/* --help and -h: exit 0, usage on stdout listing every option. */
static void
test_help(void **state)
{
	struct child	 c, h;
	char		 line[64];
	size_t		 i;

	c = NAB_RUN("--help");
	expect_exit(&c, 0, "--help");
	CHECK(c.len[1] == 0, "--help wrote to stderr:\n%s", c.buf[1]);
	CHECK(strncmp(c.buf[0], "usage: nabproxy [-c FILE]", 25) == 0,
	    "--help does not start with usage:\n%s", c.buf[0]);
	for (i = 0; i < NOPTS; i++) {
		/* The option's own line in the options list. */
		if (cli_opts[i].sopt != NULL)
			snprintf(line, sizeof(line), "\n  %s, %s ",
			    cli_opts[i].sopt, cli_opts[i].lopt);
		else
			snprintf(line, sizeof(line), "\n      %s ",
			    cli_opts[i].lopt);
		CHECK(strstr(c.buf[0], line) != NULL,
		    "--help has no line for %s:\n%s", cli_opts[i].lopt,
		    c.buf[0]);
	}
	/* The subcommands and examples the README's SYNOPSIS shows. */
	CHECK(strstr(c.buf[0], "nabproxy render ") != NULL &&
	    strstr(c.buf[0], "nabproxy credentials ") != NULL &&
	    strstr(c.buf[0], "\nexamples:\n") != NULL,
	    "--help lacks render, credentials or examples:\n%s", c.buf[0]);
	h = NAB_RUN("-h");
	expect_exit(&h, 0, "-h");
	CHECK(strcmp(h.buf[0], c.buf[0]) == 0 && h.len[1] == 0,
	    "-h differs from --help:\n%s", h.buf[0]);
	child_free(&h);
	child_free(&c);
}

/* --version and -V: exit 0, one line with the filter ABI. */
static void
test_version(void **state)
{
	static const char *const forms[] = { "--version", "-V" };
	struct child	 c;
	char		 want[128];
	size_t		 i;

	snprintf(want, sizeof(want), "nabproxy %s (filter ABI %d.%d)\n",
	    NABPROXY_VERSION, NAB_ABI_MAJOR, NAB_ABI_MINOR);
	for (i = 0; i < 2; i++) {
		c = NAB_RUN(forms[i]);
		expect_exit(&c, 0, forms[i]);
		CHECK(strcmp(c.buf[0], want) == 0 && c.len[1] == 0,
		    "%s: stdout '%s' stderr '%s', wanted '%s'", forms[i],
		    c.buf[0], c.buf[1], want);
		child_free(&c);
	}
}

/* An unknown option, long or short: exit 2, named, usage on stderr. */
static void
test_unknown_option(void **state)
{
	struct child	c;

	c = NAB_RUN("--bogus");
	expect_usage_error(&c, "'--bogus'", 1, "--bogus");
	child_free(&c);
	c = NAB_RUN("-x");
	expect_usage_error(&c, "'x'", 1, "-x");
	child_free(&c);
	/* An option of the subcommands is not one of the daemon's. */
	c = NAB_RUN("--from-server");
	expect_usage_error(&c, "'--from-server'", 1, "--from-server");
	child_free(&c);
}

/* Every option that takes an argument, given none: exit 2, named. */
static void
test_missing_argument(void **state)
{
	struct child	 c;
	char		 quoted[32];
	size_t		 i;

	for (i = 0; i < NOPTS; i++) {
		if (!cli_opts[i].arg)
			continue;
		c = NAB_RUN(cli_opts[i].lopt);
		snprintf(quoted, sizeof(quoted), "'%s'", cli_opts[i].lopt);
		expect_usage_error(&c, quoted, 1, cli_opts[i].lopt);
		CHECK(strstr(c.buf[1], "requires an argument") != NULL,
		    "%s: stderr:\n%s", cli_opts[i].lopt, c.buf[1]);
		child_free(&c);
		c = NAB_RUN(cli_opts[i].sopt);
		snprintf(quoted, sizeof(quoted), "'%s'", cli_opts[i].sopt + 1);
		expect_usage_error(&c, quoted, 1, cli_opts[i].sopt);
		CHECK(strstr(c.buf[1], "requires an argument") != NULL,
		    "%s: stderr:\n%s", cli_opts[i].sopt, c.buf[1]);
		child_free(&c);
	}
}

/* A stray argument and a 17th --listen: exit 2 with main.c's message. */
static void
test_usage_errors(void **state)
{
	const char	*args[40];
	struct child	 c;
	size_t		 n = 0;

	c = NAB_RUN("-c", good, "--check-config", "extra");
	expect_usage_error(&c, "'extra'", 0, "stray argument");
	CHECK(strcmp(c.buf[1], "nabproxy: unexpected argument 'extra'\n"
	    "(see nabproxy --help)\n") == 0, "stray argument: stderr:\n%s",
	    c.buf[1]);
	child_free(&c);

	args[n++] = "--check-config";
	args[n++] = "-c";
	args[n++] = good;
	while (n < 3 + 2 * 17) {
		args[n++] = "--listen";
		args[n++] = "127.0.0.1:0";
	}
	args[n] = NULL;
	child_start(&c, args);
	child_reap(&c, DEADLINE_MS);
	expect_usage_error(&c, "too many --listen", 0, "17 --listen");
	CHECK(strcmp(c.buf[1], "nabproxy: too many --listen (at most 16)\n"
	    "(see nabproxy --help)\n") == 0, "17 --listen: stderr:\n%s",
	    c.buf[1]);
	child_free(&c);
}

/* The shipped etc/nabproxy.conf passes --check-config. */
static void
test_check_shipped(void **state)
{
	struct child	c;

	c = NAB_RUN("--check-config", "-c",
	    NAB_SOURCE_DIR "/etc/nabproxy.conf");
	expect_check_ok(&c, "--check-config etc/nabproxy.conf");
	child_free(&c);
	c = NAB_RUN("--check-config", "-c", good);
	expect_check_ok(&c, "--check-config good.conf");
	child_free(&c);
}

/* A broken file: exit 1, every error as file:line in one run. */
static void
test_check_broken(void **state)
{
	char		 path[128], want[512];
	struct child	 c;

	snprintf(path, sizeof(path), "%s/broken.conf", dir);
	tu_put(dir, "broken.conf",
	    "[nabproxy]\n"			/* 1 */
	    "listen = nonsense\n"		/* 2 */
	    "# a comment\n"			/* 3 */
	    "log-format = bogus\n"		/* 4 */
	    "upstream = 127.0.0.1:5222\n");	/* 5 */
	c = NAB_RUN("--check-config", "-c", path);
	/* Each a whole line: "file:line: what is wrong, allowed". */
	snprintf(want, sizeof(want), "%s:2: listen: 'nonsense' is not "
	    "HOST:PORT, allowed ADDR:PORT with a numeric IPv4 address or "
	    "[IPv6] address and port 0..65535\n", path);
	expect_config_error(&c, want, "broken.conf line 2");
	snprintf(want, sizeof(want), "%s:4: log-format: 'bogus' is not a "
	    "known value, allowed vm, raw, both or none\n", path);
	expect_config_error(&c, want, "broken.conf line 4");
	child_free(&c);

	snprintf(path, sizeof(path), "%s/missing.conf", dir);
	c = NAB_RUN("--check-config", "-c", path);
	snprintf(want, sizeof(want), "%s: cannot open: ", path);
	expect_config_error(&c, want, "missing config file");
	child_free(&c);
}

/* Valid overrides pass --check-config; the file's listen lines go. */
static void
test_override_valid(void **state)
{
	struct child	c;

	c = NAB_RUN("--check-config", "-c", good, "--listen", "127.0.0.1:0",
	    "--listen", "[::1]:5222", "--upstream", "xmpp.example.net:5223",
	    "--log-format", "raw", "--log-file", "-", "--verbose");
	expect_check_ok(&c, "valid overrides");
	child_free(&c);
	/* Replaced, not appended to: the file's address again is no twin. */
	c = NAB_RUN("--check-config", "-c", good, "-l", "192.0.2.1:5222",
	    "-u", "[::1]:5222", "-F", "none", "-v");
	expect_check_ok(&c, "file's listen address on the command line");
	child_free(&c);
}

/* Invalid overrides: exit 1, one "command line:" error each, all of them. */
static void
test_override_invalid(void **state)
{
	static const struct {
		const char	*flag, *val, *msg;
	} bad[] = {
		{ "--log-format", "bogus", "command line: log-format: 'bogus' "
		    "is not a known value, allowed vm, raw, both or none" },
		{ "--listen", "nonsense", "command line: listen: 'nonsense' is "
		    "not HOST:PORT, allowed ADDR:PORT with a numeric IPv4 "
		    "address or [IPv6] address and port 0..65535" },
		{ "--listen", "localhost:5222", "command line: listen: "
		    "'localhost:5222' is not a numeric address" },
		{ "--listen", "127.0.0.1:65536", "command line: listen: "
		    "'127.0.0.1:65536' is not HOST:PORT" },
		{ "--upstream", "127.0.0.1:0", "command line: upstream: "
		    "'127.0.0.1:0' has port 0, allowed HOST:PORT or "
		    "[IPv6]:PORT with port 1..65535, or nothing for demo "
		    "mode" },
		{ "--upstream", "nonsense", "command line: upstream: "
		    "'nonsense' is not HOST:PORT" },
	};
	struct child	c;
	size_t		i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = NAB_RUN("--check-config", "-c", good, bad[i].flag,
		    bad[i].val);
		expect_config_error(&c, bad[i].msg, bad[i].flag);
		child_free(&c);
	}
	c = NAB_RUN("--check-config", "-c", good, "-l", "127.0.0.1:7", "-l",
	    "127.0.0.1:7");
	expect_config_error(&c, "command line: listen: '127.0.0.1:7' is "
	    "listed twice, allowed once per address", "twice");
	child_free(&c);
	/* Every refused flag is reported in one run. */
	c = NAB_RUN("--check-config", "-c", good, "-F", "bogus", "-l",
	    "nonsense", "-u", "127.0.0.1:0");
	for (i = 0; i < 2; i++)
		expect_config_error(&c, bad[i].msg, "three bad flags");
	expect_config_error(&c, bad[4].msg, "three bad flags");
	child_free(&c);
}

/* Without --foreground and without log-file nabproxy refuses, exit 1. */
static void
test_background_needs_log_file(void **state)
{
	struct child	c;

	c = NAB_RUN("-c", good, "--listen", "127.0.0.1:0", "--upstream",
	    "127.0.0.1:1");
	/* A start-up error, not a config check: it is a log line. */
	expect_exit(&c, 1, "background without log-file");
	CHECK(strstr(c.buf[1], "nabproxy[warning]: running in the background "
	    "needs log-file (or use --foreground)\n") != NULL,
	    "background without log-file: stderr:\n%s", c.buf[1]);
	child_free(&c);
}

/* A socket connected to 127.0.0.1:port. */
static int
connect_to(unsigned short port)
{
	struct sockaddr_in	sin;
	int			fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(fd != -1, "socket: %s", strerror(errno));
	CHECK(connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0,
	    "connect 127.0.0.1:%u: %s", port, strerror(errno));
	return fd;
}

/* Everything fd sends until EOF (the caller frees); fails at the deadline. */
static char *
read_to_eof(int fd, int64_t deadline)
{
	struct pollfd	 pfd = { fd, POLLIN, 0 };
	char		*s = NULL;
	size_t		 len = 0;
	ssize_t		 n = 1;
	int		 left;

	while (n > 0) {
		CHECK((s = realloc(s, len + 4097)) != NULL, "realloc");
		s[len] = '\0';
		CHECK((left = (int)(deadline - now_ms())) > 0,
		    "no EOF from nabproxy; got '%s'", s);
		if (poll(&pfd, 1, left) <= 0)
			continue;
		if ((n = read(fd, s + len, 4096)) == -1 && errno == EINTR)
			n = 1;
		else if (n > 0)
			len += (size_t)n;
	}
	CHECK(n == 0, "read from nabproxy: %s", strerror(errno));
	s[len] = '\0';
	return s;
}

/*
 * Start the daemon in the foreground on 127.0.0.1:0 with upstream
 * 127.0.0.1:1 (nothing listens there), and learn the port from its
 * "listening on" line (README: port 0 picks a free port, the log says
 * which). Returns the port.
 */
static unsigned short
daemon_start(struct child *c)
{
	static const char	 ready[] = "listening on 127.0.0.1:";
	const char		*p;
	unsigned long		 port;
	char			*end;

	child_start(c, (const char *const []){ "-c", good, "--foreground",
	    "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1",
	    "--log-format", "none", NULL });
	daemon_pid = c->pid;
	CHECK(child_pump(c, now_ms() + DEADLINE_MS, ready), "nabproxy never "
	    "said it listens; stdout:\n%s\nstderr:\n%s", c->buf[0], c->buf[1]);
	/* The whole line: the port is followed by the upstream. */
	CHECK(child_pump(c, now_ms() + DEADLINE_MS, ", upstream 127.0.0.1:1\n"),
	    "listening line without the --upstream override:\n%s", c->buf[1]);
	p = strstr(c->buf[1], ready) + sizeof(ready) - 1;
	port = strtoul(p, &end, 10);
	CHECK(port > 0 && port < 65536 && *end == ',', "port in '%s'",
	    first_line(p));
	/* The file's listen address (TEST-NET-1) was replaced, not kept. */
	CHECK(strstr(c->buf[1], "192.0.2.1") == NULL,
	    "file's address used:\n%s", c->buf[1]);
	return (unsigned short)port;
}

/*
 * A rabbit connects and opens its stream; the upstream (the --upstream
 * override) refuses, so the rabbit gets remote-connection-failed and
 * EOF at once, and the log names the refused address.
 */
static void
daemon_serve_one(struct child *c, unsigned short port)
{
	static const char hdr[] = "<?xml version='1.0'?><stream:stream"
	    " to='almacska' xmlns='jabber:client'"
	    " xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";
	char	*got;
	int	 fd;

	fd = connect_to(port);
	CHECK(write(fd, hdr, sizeof(hdr) - 1) == (ssize_t)sizeof(hdr) - 1,
	    "write the rabbit's header: %s", strerror(errno));
	got = read_to_eof(fd, now_ms() + DEADLINE_MS);
	close(fd);
	CHECK(strstr(got, "<stream:error><remote-connection-failed") != NULL &&
	    strstr(got, "</stream:error></stream:stream>") != NULL,
	    "rabbit got '%s', wanted a remote-connection-failed stream error",
	    got);
	free(got);
	CHECK(child_pump(c, now_ms() + DEADLINE_MS, "rabbit gets "
	    "remote-connection-failed): cannot connect to 127.0.0.1:1: "),
	    "no closing line naming the upstream:\n%s", c->buf[1]);
}

/* The daemon serves, and SIGTERM drains and exits 0 in time. */
static void
test_daemon_sigterm(void **state)
{
	struct child	c;

	daemon_serve_one(&c, daemon_start(&c));
	CHECK(kill(c.pid, SIGTERM) == 0, "kill: %s", strerror(errno));
	/* The session is over: no drain-timeout (5 s) to wait for. */
	child_reap(&c, 4000);
	expect_exit(&c, 0, "SIGTERM");
	CHECK(strstr(c.buf[1], "nabproxy[info]: SIGTERM: draining ") != NULL &&
	    strstr(c.buf[1], "nabproxy[info]: exiting: 1 accepted, 0 refused, "
	    "0 still open, 0 key derivations on worker threads\n") != NULL,
	    "SIGTERM log:\n%s", c.buf[1]);
	CHECK(c.len[0] == 0, "daemon wrote to stdout:\n%s", c.buf[0]);
	child_free(&c);
}

/* SIGINT exits at once, also with 0. */
static void
test_daemon_sigint(void **state)
{
	struct child	c;

	daemon_start(&c);
	CHECK(kill(c.pid, SIGINT) == 0, "kill: %s", strerror(errno));
	child_reap(&c, 10000);
	expect_exit(&c, 0, "SIGINT");
	CHECK(strstr(c.buf[1], "nabproxy[info]: SIGINT: exiting\n") != NULL &&
	    strstr(c.buf[1], "nabproxy[info]: exiting: 0 accepted, 0 refused, "
	    "0 still open, 0 key derivations on worker threads\n") != NULL,
	    "SIGINT log:\n%s", c.buf[1]);
	child_free(&c);
}

/* Per-test teardown: a daemon a failed test left running is killed. */
static int
daemon_kill(void **state)
{
	if (daemon_pid > 0) {
		kill(daemon_pid, SIGKILL);
		waitpid(daemon_pid, NULL, 0);
	}
	daemon_pid = 0;
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_unknown_option),
		cmocka_unit_test(test_missing_argument),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_check_shipped),
		cmocka_unit_test(test_check_broken),
		cmocka_unit_test(test_override_valid),
		cmocka_unit_test(test_override_invalid),
		cmocka_unit_test(test_background_needs_log_file),
		cmocka_unit_test_teardown(test_daemon_sigterm, daemon_kill),
		cmocka_unit_test_teardown(test_daemon_sigint, daemon_kill),
	};

	signal(SIGPIPE, SIG_IGN);
	if (getenv("NT_TESTS") != NULL)
		cmocka_set_test_filter(getenv("NT_TESTS"));
	return cmocka_run_group_tests(tests, setup, teardown);
}
