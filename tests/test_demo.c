/*
 * test_demo: the pieces of proxy/demo.c and demo_proc.c that run without
 * Prosody (it_demo runs the whole demo). The Prosody config it writes;
 * the built-in profiles, which must equal the shipped etc/profiles; the
 * verdict read from nabrabbit's JSON; a port counted as a process's only
 * while that process listens on it; spawn (own session, output on the
 * given fd, exit status) and reap (a process that will not end is
 * signalled); rmtree that never follows a link out; executables found
 * in PATH.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "chain.h"
#include "config.h"
#include "demo.h"
#include "testutil.h"

static char	dir[64];

static void
test_prosody_conf(void **state)
{
	char	out[4096];
	int	n;

	n = demo_prosody_conf(out, sizeof(out), "/tmp/d", 5555, "almacska");
	assert_int_equal(n, (int)strlen(out));
	assert_non_null(strstr(out, "\nc2s_ports = { 5555 }\n"));
	assert_non_null(strstr(out, "\ninterfaces = { \"127.0.0.1\" }\n"));
	assert_non_null(strstr(out, "\ns2s_ports = {}\n"));
	assert_non_null(strstr(out, "\ndata_path = \"/tmp/d/data\"\n"));
	assert_non_null(strstr(out, "\nallow_registration = true\n"));
	assert_true(strlen(out) > 23 && strcmp(out + strlen(out) - 23,
	    "VirtualHost \"almacska\"\n") == 0);
	assert_int_equal(demo_prosody_conf(out, 100, "/tmp/d", 5555, "a"), -1);
}

static struct config *
load(const char *path)
{
	struct config_errors	 errs;
	struct config		*cfg;

	config_errors_init(&errs);
	cfg = config_load(path, chain_builtin_names(), &errs);
	CHECK(cfg != NULL, "%s: %s", path, errs.ce_count ? errs.ce_msg[0] :
	    "?");
	config_errors_free(&errs);
	return cfg;
}

static void
same_profile(const struct config *a, const struct config *b,
    const char *name)
{
	const struct config_profile	*pa = config_profile_find(a, name);
	const struct config_profile	*pb = config_profile_find(b, name);
	size_t				 i;

	CHECK(pa != NULL && pb != NULL, "profile %s missing", name);
	assert_int_equal(pa->nfilters, pb->nfilters);
	for (i = 0; i < pa->nfilters; i++)
		assert_string_equal(pa->filters[i]->name, pb->filters[i]->name);
	assert_int_equal(pa->nmatch_firmware, pb->nmatch_firmware);
	for (i = 0; i < pa->nmatch_firmware; i++)
		assert_string_equal(pa->match_firmware[i], pb->match_firmware[i]);
}

static void
test_builtin_conf(void **state)
{
	struct config	*mine, *shipped;
	char		 path[128];

	snprintf(path, sizeof(path), "%s/demo.conf", dir);
	assert_int_equal(demo_write_builtin_conf(path), 0);
	mine = load(path);
	shipped = load(NAB_SOURCE_DIR "/etc/nabproxy.conf");
	assert_string_equal(mine->profile, "auto");
	same_profile(mine, shipped, "bootcode-18673");
	same_profile(mine, shipped, "simulator");
	config_free(mine);
	config_free(shipped);
}

static void
test_verdict(void **state)
{
	char	jid[64], step[16], reason[64];

	assert_int_equal(demo_rabbit_verdict("{\"mac\":\"0013d3000001\","
	    "\"idle\":true,\"ms\":1.0,\"jid\":\"m@a/idle\",\"failed\":null,"
	    "\"reason\":null}", jid, sizeof(jid), step, sizeof(step), reason,
	    sizeof(reason)), 1);
	assert_string_equal(jid, "m@a/idle");
	assert_string_equal(step, "");
	assert_int_equal(demo_rabbit_verdict("{\"mac\":\"0013d3000001\","
	    "\"idle\":false,\"jid\":null,\"failed\":\"sasl\",\"reason\":"
	    "\"SASL \\\"failure\\\"\"}", jid, sizeof(jid), step, sizeof(step),
	    reason, sizeof(reason)), 0);
	assert_string_equal(jid, "");
	assert_string_equal(step, "sasl");
	assert_string_equal(reason, "SASL \"failure\"");
	assert_int_equal(demo_rabbit_verdict("nabrabbit: usage", jid,
	    sizeof(jid), step, sizeof(step), reason, sizeof(reason)), -1);
}

static void
test_owns_listener(void **state)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	unsigned short		port, other;
	int			fd;

	assert_true((other = demo_free_port()) != 0);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	port = ntohs(sin.sin_port);
	assert_int_equal(demo_owns_listener(getpid(), port), 0); /* bound */
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(demo_owns_listener(getpid(), port), 1);
	assert_int_equal(demo_owns_listener(getppid(), port), 0);
	if (other != port)
		assert_int_equal(demo_owns_listener(getpid(), other), 0);
	close(fd);
	assert_int_equal(demo_owns_listener(getpid(), port), 0);
}

static void
test_spawn_reap(void **state)
{
	char	buf[64];
	int	p[2], st, devnull;
	ssize_t	n;
	size_t	got = 0;
	pid_t	pid;

	assert_int_equal(pipe(p), 0);
	pid = demo_spawn((const char *[]){ "sh", "-c",
	    "echo out; echo err >&2; exit 3", NULL }, dir, p[1]);
	assert_true(pid > 0);
	close(p[1]);
	while ((n = read(p[0], buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(p[0]);
	assert_string_equal(buf, "out\nerr\n");
	st = demo_reap(pid, 10000, SIGTERM);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 3);

	devnull = open("/dev/null", O_WRONLY);
	pid = demo_spawn((const char *[]){ "sleep", "60", NULL }, NULL,
	    devnull);
	close(devnull);
	assert_true(pid > 0);
	st = demo_reap(pid, 50, SIGTERM);	/* it will not end by itself */
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
	assert_int_equal(demo_reap(pid, 10, 0), -1);	/* already reaped */
}

static void
test_rmtree_and_path(void **state)
{
	char	sub[128], outside[128], link[160], exe[4096];

	snprintf(outside, sizeof(outside), "%s/outside", dir);
	tu_put(dir, "outside", "keep");
	snprintf(sub, sizeof(sub), "%s/tree", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	tu_put(sub, "a/b", "x");
	snprintf(link, sizeof(link), "%s/link", sub);
	assert_int_equal(symlink(outside, link), 0);
	assert_int_equal(demo_rmtree(sub), 0);
	assert_int_equal(access(sub, F_OK), -1);
	assert_int_equal(access(outside, F_OK), 0);
	assert_int_equal(demo_find_exe("sh", exe, sizeof(exe)), 0);
	assert_string_equal(exe + strlen(exe) - 3, "/sh");
	assert_int_equal(access(exe, X_OK), 0);
	assert_int_equal(demo_find_exe("no-such-program-here", exe,
	    sizeof(exe)), -1);
	assert_true(demo_in_path("sh"));
	assert_false(demo_in_path("no-such-program-here"));
}

static int
setup(void **state)
{
	tu_mkdtemp(dir, sizeof(dir), "test_demo");
	return 0;
}

static int
teardown(void **state)
{
	return tu_rmtree(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prosody_conf),
		cmocka_unit_test(test_builtin_conf),
		cmocka_unit_test(test_verdict),
		cmocka_unit_test(test_owns_listener),
		cmocka_unit_test(test_spawn_reap),
		cmocka_unit_test(test_rmtree_and_path),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
