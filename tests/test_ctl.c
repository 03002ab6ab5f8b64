/*
 * test_ctl: the control socket's server (proxy/ctl.c) on a real unix
 * socket, run by the event loop in this process: the socket's mode, a
 * stale socket replaced and a live one or a plain file refused, every
 * command's answer, the bounds on a peer (line length, client count), a
 * tap's lines and what a reader that does not read loses, with the note
 * once it caught up; and ctl_path()'s defaults.
 */
#include "testutil.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <fcntl.h>
#include <time.h>

#include <event2/event.h>

#include "ctl.h"
#include "ctlreg.h"
#include "proxy.h"

static char		 dir[64], path[128];
static struct proxy	 px;
static int		 reloads, reload_ok;

static int
reload_cb(void *arg, char *msg, size_t len)
{
	reloads++;
	if (!reload_ok)
		snprintf(msg, len, "broken.conf:3: nope");
	return reload_ok ? 0 : -1;
}

static int
setup(void **state)
{
	tu_mkdtemp(dir, sizeof(dir), "test_ctl");
	snprintf(path, sizeof(path), "%s/nabproxy.sock", dir);
	memset(&px, 0, sizeof(px));
	CHECK((px.base = event_base_new()) != NULL, "event_base_new");
	CHECK((px.reg = ctlreg_new()) != NULL, "ctlreg_new");
	return 0;
}

static int
teardown(void **state)
{
	ctlreg_free(px.reg);
	event_base_free(px.base);
	CHECK(tu_rmtree(dir) == 0, "rm -rf '%s'", dir);
	return 0;
}

static struct ctl *
open_ctl(void)
{
	char		 err[256];
	struct ctl	*c;

	c = ctl_new(&px, px.reg, path, reload_cb, NULL, err, sizeof(err));
	CHECK(c != NULL, "ctl_new: %s", err);
	return c;
}

static int
client(void)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	CHECK((fd = socket(AF_UNIX, SOCK_STREAM, 0)) != -1, "socket");
	CHECK(connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0,
	    "connect: %s", strerror(errno));
	CHECK(fcntl(fd, F_SETFL, O_NONBLOCK) == 0, "O_NONBLOCK");
	return fd;
}

/* Run the loop until fd reaches EOF (or want bytes came); the answer. */
static char *
drain(int fd, size_t want)
{
	static char	buf[1 << 20];
	size_t		len = 0;
	ssize_t		n;
	time_t		t0 = time(NULL);

	for (;;) {
		event_base_loop(px.base, EVLOOP_NONBLOCK);
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n == 0)
			break;
		if (n > 0)
			len += (size_t)n;
		if (want > 0 && len >= want)
			break;
		CHECK(n > 0 || errno == EAGAIN, "read: %s", strerror(errno));
		CHECK(time(NULL) - t0 < 10, "no answer; so far: %.*s",
		    (int)len, buf);
	}
	buf[len] = '\0';
	return buf;
}

static char *
ask(const char *cmd)
{
	int	 fd = client();
	char	*ans;

	CHECK(write(fd, cmd, strlen(cmd)) == (ssize_t)strlen(cmd), "write");
	ans = drain(fd, 0);
	close(fd);
	return ans;
}

static void
test_socket_file(void **state)
{
	struct ctl	*c, *c2;
	struct stat	 sb;
	char		 err[256];
	int		 fd;

	c = open_ctl();
	CHECK(stat(path, &sb) == 0 && S_ISSOCK(sb.st_mode), "socket file");
	assert_int_equal(sb.st_mode & 0777, 0660);
	/* A live socket is another daemon's. */
	c2 = ctl_new(&px, px.reg, path, NULL, NULL, err, sizeof(err));
	assert_null(c2);
	EXPECT(strstr(err, "another nabproxy is listening there") != NULL,
	    "%s", err);
	ctl_free(c);
	EXPECT(access(path, F_OK) == -1, "ctl_free leaves the socket file");
	/* A stale socket (nobody listens) is replaced. */
	CHECK((fd = socket(AF_UNIX, SOCK_STREAM, 0)) != -1, "socket");
	{
		struct sockaddr_un sun = { .sun_family = AF_UNIX };
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
		CHECK(bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0,
		    "bind");
	}
	close(fd);
	c = open_ctl();
	assert_string_equal(ask("stats\n"), ask("stats\n"));
	ctl_free(c);
	/* Any other file is refused, untouched. */
	tu_put(dir, "nabproxy.sock", "keep me");
	assert_null(ctl_new(&px, px.reg, path, NULL, NULL, err, sizeof(err)));
	EXPECT(strstr(err, "exists and is not a socket") != NULL, "%s", err);
	CHECK(unlink(path) == 0, "the file stayed");
}

static void
test_commands(void **state)
{
	struct ctl	*c = open_ctl();

	assert_string_equal(ask("list\n"), "");
	assert_string_equal(ask("list --json\n"), "");
	assert_string_equal(ask("history\n"), "");
	assert_string_equal(ask("history 12\n"),
	    "error: history: '12' is not a MAC\n");
	assert_string_equal(ask("kick 5\n"), "error: kick: no session 5\n");
	assert_string_equal(ask("kick x\n"), "error: kick: no session x\n");
	assert_string_equal(ask("tap\n"),
	    "error: usage: tap all|ID|MAC [vm|raw|both]\n");
	assert_string_equal(ask("tap all xml\n"),
	    "error: tap: format is vm, raw or both\n");
	assert_string_equal(ask("nope\n"), "error: unknown command; commands: "
	    "list [--json], history [MAC] [--json], tap all|ID|MAC "
	    "[vm|raw|both], kick ID, stats, reload\n");
	reload_ok = 1;
	assert_string_equal(ask("reload\n"), "reload done\n");
	reload_ok = 0;
	assert_string_equal(ask("reload\r\n"),
	    "error: reload refused: broken.conf:3: nope\n");
	assert_int_equal(reloads, 2);
	/* A client that half-closes after its command still gets the answer. */
	{
		int fd = client();

		CHECK(write(fd, "kick 77", 7) == 7, "write");
		CHECK(shutdown(fd, SHUT_WR) == 0, "shutdown");
		assert_string_equal(drain(fd, 0), "error: kick: no session 77\n");
		close(fd);
	}
	assert_string_equal(ask("stats\n"), "accepted=0 refused=0 "
	    "log_dropped=0 ctl_clients=1 ctl_refused=0 tap_lost=0 creds_unwritten=0 "
	    "sessions=0 "
	    "opened=0 never_online=0 kicked=0 history=0 bytes_from_rabbits=0 "
	    "bytes_from_server=0 watch=0\n");
	ctl_free(c);
}

static void
test_bounds(void **state)
{
	struct ctl	*c = open_ctl();
	char		 line[600];
	int		 fds[CTL_MAX_CLIENTS], fd, i;

	memset(line, 'x', sizeof(line));
	fd = client();
	CHECK(write(fd, line, sizeof(line)) == (ssize_t)sizeof(line), "write");
	assert_string_equal(drain(fd, 0), "error: command longer than 512 "
	    "bytes\n");
	close(fd);
	for (i = 0; i < CTL_MAX_CLIENTS; i++) {
		fds[i] = client();
		event_base_loop(px.base, EVLOOP_NONBLOCK);
	}
	fd = client();
	assert_string_equal(drain(fd, 0), "error: too many control clients\n");
	close(fd);
	for (i = 0; i < CTL_MAX_CLIENTS; i++)
		close(fds[i]);
	/* The slots come back once the loop saw them go. */
	assert_string_equal(ask("history\n"), "");
	ctl_free(c);
}

/* A tap's lines, and a reader that does not read. */
static void
test_tap(void **state)
{
	struct ctl	*c = open_ctl();
	struct ctlrec	*r;
	static const char want[] = "9 SEND:\n9 \n9 <a>1\\n2</a>\n9 \n";
	char		 unit[2048], *out;
	int		 fd, i, one = 4096;

	fd = client();
	CHECK(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &one, sizeof(one)) == 0,
	    "SO_RCVBUF");
	CHECK(write(fd, "tap all raw\n", 12) == 12, "write");
	for (i = 0; i < 20; i++)
		event_base_loop(px.base, EVLOOP_NONBLOCK);
	r = ctlreg_open(px.reg, NULL, 9, "192.0.2.9:9");
	ctlreg_traffic(r, 0, LOGSAFE_VM_SENDING, NULL, "<a>1\n2</a>", 10, -1);
	out = drain(fd, strlen(want));
	assert_string_equal(out, want);
	/* 2 MB of units without reading: the queue stays bounded. */
	memset(unit, 'y', sizeof(unit));
	unit[0] = '<';
	for (i = 0; i < 1024; i++)
		ctlreg_traffic(r, 1, LOGSAFE_VM_NONE, NULL, unit, sizeof(unit),
		    -1);
	{
		char	*all;
		size_t	 got = 0;
		time_t	 t0 = time(NULL);
		static char acc[1 << 21];

		acc[0] = '\0';
		while (strstr(acc, "lines lost (reader too slow)\n") == NULL) {
			all = drain(fd, 1);
			CHECK(got + strlen(all) < sizeof(acc), "too much");
			memcpy(acc + got, all, strlen(all) + 1);
			got += strlen(all);
			CHECK(time(NULL) - t0 < 10, "no note");
		}
		EXPECT(got < CTL_TAP_BUF + 256 * 1024,
		    "%zu bytes reached the reader", got);
		EXPECT(strstr(acc, "\nnabproxy: tap: ") != NULL, "note line");
	}
	ctlreg_close(r);
	close(fd);
	ctl_free(c);
}

static void
test_path(void **state)
{
	char	p[64];

	assert_int_equal(ctl_path("", "/var/lib/nabproxy", p, sizeof(p)), 0);
	assert_string_equal(p, "/var/lib/nabproxy/nabproxy.sock");
	assert_int_equal(ctl_path(NULL, "/s/", p, sizeof(p)), 0);
	assert_string_equal(p, "/s/nabproxy.sock");
	assert_int_equal(ctl_path("/run/n.sock", "/s", p, sizeof(p)), 0);
	assert_string_equal(p, "/run/n.sock");
	assert_int_equal(ctl_path("none", "/s", p, sizeof(p)), 0);
	assert_string_equal(p, "");
	assert_int_equal(ctl_path("", "/a/very/long/state/directory/name/"
	    "that/does/not/fit", p, 40), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_socket_file, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_commands, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tap, setup, teardown),
		cmocka_unit_test(test_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
