/*
 * test_nabrabbit: rabbit/nabrabbit.c, the command line, through the
 * built binary. --help names every option and docs/nabrabbit.md
 * documents each; --version; usage errors exit 2 naming what is wrong; a
 * state file others may read is refused; against a port nobody listens
 * on one rabbit prints its JSON line failed at connect and exits 1, and
 * --count 3 prints three lines with consecutive MACs and a summary; a
 * --source address the host lacks fails at connect, naming bind.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

#define NABRABBIT	NAB_BINARY_DIR "/nabrabbit"

struct out {
	int	status;
	char	buf[2][16384];	/* stdout, stderr */
};

/* Run nabrabbit with args (NULL-terminated, without argv[0]). */
static void
run(struct out *o, const char *const *args)
{
	const char	*argv[32] = { "nabrabbit" };
	int		 p[2][2], i, open_fds = 2;
	size_t		 len[2] = { 0, 0 }, n = 1;
	struct pollfd	 pfd[2];
	ssize_t		 r;
	pid_t		 pid;

	memset(o, 0, sizeof(*o));
	while (*args && n < 31)
		argv[n++] = *args++;
	CHECK(pipe(p[0]) == 0 && pipe(p[1]) == 0, "pipe");
	CHECK((pid = fork()) != -1, "fork");
	if (pid == 0) {
		if (dup2(p[0][1], 1) == -1 || dup2(p[1][1], 2) == -1)
			_exit(126);
		close(p[0][0]);
		close(p[1][0]);
		execv(NABRABBIT, (char *const *)argv);
		_exit(127);
	}
	close(p[0][1]);
	close(p[1][1]);
	for (i = 0; i < 2; i++)
		pfd[i].fd = p[i][0], pfd[i].events = POLLIN;
	while (open_fds > 0) {
		CHECK(poll(pfd, 2, 30000) > 0, "nabrabbit is silent");
		for (i = 0; i < 2; i++) {
			if (pfd[i].fd == -1 || !pfd[i].revents)
				continue;
			r = read(pfd[i].fd, o->buf[i] + len[i],
			    sizeof(o->buf[i]) - 1 - len[i]);
			if (r <= 0) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
				open_fds--;
			} else
				len[i] += (size_t)r;
		}
	}
	CHECK(waitpid(pid, &o->status, 0) == pid, "waitpid");
}

#define RUN(o, ...)	run((o), (const char *const []){ __VA_ARGS__, NULL })

static int
exit_code(const struct out *o)
{
	return WIFEXITED(o->status) ? WEXITSTATUS(o->status) : -1;
}

static void
test_help(void **state)
{
	static const char *const opts[] = { "-f, --firmware", "-c, --connect",
	    "-m, --mac", "-d, --domain", "-p, --password", "-s, --state",
	    "-t, --timeout", "-n, --count", "-r, --rate", "-h, --help" };
	struct out	o;
	char		*doc, want[64];
	size_t		 i;

	RUN(&o, "--help");
	assert_int_equal(exit_code(&o), 0);
	doc = tu_slurp(NAB_SOURCE_DIR "/docs/nabrabbit.md", NULL);
	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		CHECK(strstr(o.buf[0], opts[i]) != NULL, "--help lacks %s",
		    opts[i]);
		snprintf(want, sizeof(want), "| `%s", opts[i]);
		CHECK(strstr(doc, want) != NULL, "docs lack %s", opts[i]);
	}
	free(doc);
	RUN(&o, "--version");
	assert_int_equal(exit_code(&o), 0);
	assert_int_equal(strncmp(o.buf[0], "nabrabbit ", 10), 0);
}

static void
usage_error(const char *const *args, const char *msg)
{
	struct out	o;

	run(&o, args);
	assert_int_equal(exit_code(&o), 2);
	CHECK(strstr(o.buf[1], msg) != NULL, "stderr %s lacks %s", o.buf[1],
	    msg);
	assert_string_equal(o.buf[0], "");
}

#define USAGE(msg, ...)	usage_error((const char *const []){ __VA_ARGS__, \
			    NULL }, (msg))

static void
test_usage(void **state)
{
	char	dir[64], path[128];

	USAGE("nabrabbit: --firmware is simulator or 18673: 18674\n(see "
	    "nabrabbit --help)\n", "--firmware", "18674");
	USAGE("--mac wants 12 hex digits", "--mac", "0013d300001");
	USAGE("--mac wants 12 hex digits", "--mac", "0013d300000g");
	USAGE("--count wants 1 .. 1000000", "--count", "0");
	USAGE("--rate wants", "--rate", "fast");
	USAGE("--connect wants HOST:PORT", "--connect", "localhost");
	USAGE("--password: empty, too long or with XML characters",
	    "--password", "a<b");
	USAGE("unexpected argument: extra", "extra");
	USAGE("runs past ffffffffffff", "--mac", "ffffffffffff", "--count",
	    "2");
	USAGE("--source wants a numeric IPv4 or IPv6 address: localhost",
	    "--source", "localhost");
	USAGE("--source: N wants 1 .. 1000000", "--source", "127.1.0.1/0");
	USAGE("--source and --connect must be the same address family",
	    "--source", "::1", "--connect", "127.0.0.1:5222");
	USAGE("--source + N addresses run past the last address", "--source",
	    "255.255.255.254", "--count", "3");
	tu_mkdtemp(dir, sizeof(dir), "test_nabrabbit");
	tu_put(dir, "state", "0013d3000001 aaaaaaaaaaaa\n");
	snprintf(path, sizeof(path), "%s/state", dir);
	assert_int_equal(chmod(path, 0644), 0);
	USAGE("state: group or others may read it (chmod 600)", "--state",
	    path);
	assert_int_equal(tu_rmtree(dir), 0);
}

/* A loopback port nobody listens on (bound, never listened). */
static int
dead_port(char *hp, size_t len)
{
	struct sockaddr_in	sin;
	socklen_t		slen = sizeof(sin);
	int			fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &slen) == 0, "bind");
	snprintf(hp, len, "127.0.0.1:%u", ntohs(sin.sin_port));
	return fd;
}

static void
test_refused(void **state)
{
	struct out	 o;
	char		 hp[32], *p;
	int		 fd = dead_port(hp, sizeof(hp)), lines = 0;

	RUN(&o, "--connect", hp, "--firmware", "18673");
	assert_int_equal(exit_code(&o), 1);
	assert_string_equal(o.buf[1], "");
	assert_int_equal(strncmp(o.buf[0], "{\"mac\":\"0013d3000001\","
	    "\"firmware\":\"18673\",\"idle\":false,", 50), 0);
	CHECK(strstr(o.buf[0], ",\"failed\":\"connect\",\"reason\":\"connect: "
	    "Connection refused\"}\n") != NULL, "%s", o.buf[0]);
	RUN(&o, "--connect", hp, "--mac", "00:13:d3:00:00:fe", "--count", "3",
	    "--rate", "1000");
	assert_int_equal(exit_code(&o), 1);
	for (p = o.buf[0]; (p = strchr(p, '\n')) != NULL; p++)
		lines++;
	assert_int_equal(lines, 4);
	assert_non_null(strstr(o.buf[0], "{\"mac\":\"0013d30000fe\""));
	assert_non_null(strstr(o.buf[0], "{\"mac\":\"0013d30000ff\""));
	assert_non_null(strstr(o.buf[0], "{\"mac\":\"0013d3000100\""));
	assert_non_null(strstr(o.buf[0], "\n{\"summary\":true,\"rabbits\":3,"
	    "\"idle\":0,\"failed\":3,\"failed_by_step\":{\"connect\":3},"
	    "\"p50_ms\":0.0,\"p99_ms\":0.0,\"elapsed_ms\":"));
	/* A source address this host does not have: bind fails, said so. */
	RUN(&o, "--connect", hp, "--source", "192.0.2.1");
	assert_int_equal(exit_code(&o), 1);
	CHECK(strstr(o.buf[0], ",\"failed\":\"connect\",\"reason\":\"bind to "
	    "the --source address: Cannot assign requested address\"}\n") !=
	    NULL, "%s", o.buf[0]);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_usage),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
