/*
 * test_log: the daemon log of proxy/log.c on real files and pipes. Line
 * format and levels, verbose, log_warn's strerror, appending, the
 * asynchronous writer after log_attach() (flushed by running the event
 * loop), the bounded buffer with its drop counter and note when a pipe
 * nobody reads fills up, a writer that waits instead of spinning, and
 * lines lost to a dead fd being counted.
 *
 * The log is process-wide state: every test ends with log_close(), and
 * tests that redirect fd 2 restore it.
 */
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/event.h>

#include "log.h"
#include "testutil.h"

#define CHUNK		65536
#define NCHUNKS		64	/* 64 x 64 KiB = the 4 MiB buffer cap */

static char	dir[64];

static size_t	 split_lines(char *, char **, size_t);
static char	*tmp_path(const char *);
static void	 check_line(const char *, const char *, const char *);
static int	 redirect_stderr(int);
static void	 restore_stderr(int);

static int
setup(void **state)
{
	tu_mkdtemp(dir, sizeof(dir), "test_log");
	return 0;
}

static int
teardown(void **state)
{
	log_close();
	CHECK(tu_rmtree(dir) == 0, "rm -rf '%s'", dir);
	return 0;
}

/* dir/name, in a static buffer that lives until the next call. */
static char *
tmp_path(const char *name)
{
	static char	p[2][128];
	static int	i;

	i ^= 1;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

/*
 * Split buf in place at each '\n' into at most max lines (the text after
 * the last newline, if any, is a line too). Returns the number of lines.
 */
static size_t
split_lines(char *buf, char **line, size_t max)
{
	size_t	 n = 0;
	char	*nl;

	while (*buf != '\0' && n < max) {
		line[n++] = buf;
		if ((nl = strchr(buf, '\n')) == NULL)
			break;
		*nl = '\0';
		buf = nl + 1;
	}
	return n;
}

/*
 * line is "YYYY-MM-DDTHH:MM:SS.mmmZ nabproxy[tag]: msg" with a UTC time
 * within a minute of now.
 */
static void
check_line(const char *line, const char *tag, const char *msg)
{
	regex_t		 re;
	struct tm	 tm;
	char		 want[2200];
	time_t		 t, now = time(NULL);

	CHECK(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:"
	    "[0-9]{2}\\.[0-9]{3}Z ", REG_EXTENDED | REG_NOSUB) == 0, "regcomp");
	CHECK(regexec(&re, line, 0, NULL, 0) == 0, "bad timestamp in '%s'",
	    line);
	regfree(&re);
	memset(&tm, 0, sizeof(tm));
	CHECK(strptime(line, "%Y-%m-%dT%H:%M:%S", &tm) != NULL, "strptime");
	t = timegm(&tm);
	CHECK(t > now - 60 && t <= now + 1, "timestamp %lld is not UTC now "
	    "(%lld)", (long long)t, (long long)now);
	snprintf(want, sizeof(want), "nabproxy[%s]: %s", tag, msg);
	CHECK(strcmp(line + 25, want) == 0, "line '%s', want '... %s'", line,
	    want);
}

/* Make the write end of a pipe fd 2; returns the saved stderr. */
static int
redirect_stderr(int wfd)
{
	int	saved;

	fflush(stderr);
	CHECK((saved = dup(2)) != -1, "dup: %s", strerror(errno));
	CHECK(dup2(wfd, 2) == 2, "dup2: %s", strerror(errno));
	close(wfd);
	return saved;
}

static void
restore_stderr(int saved)
{
	CHECK(dup2(saved, 2) == 2, "dup2 back: %s", strerror(errno));
	close(saved);
}

/* Levels, tags, debug only when verbose, strerror, raw blocks. */
static void
test_levels(void **state)
{
	char	*buf, *want[16];
	size_t	 n;
	int	 e;

	CHECK(log_open(tmp_path("a.log"), 0) == 0, "log_open: %s",
	    strerror(errno));
	CHECK(log_verbose() == 0, "verbose set");
	log_warnx("warnx %d", 1);
	log_info("info %s", "two");
	log_debug("debug hidden");
	log_msg(LOG_LVL_ERR, "error %c", '3');
	log_msg(LOG_LVL_DEBUG, "msg debug hidden");
	log_msg(LOG_LVL_INFO, "msg info");
	errno = ENOENT;
	log_warn("open %s", "/nowhere");
	e = errno;
	CHECK(e == ENOENT, "log_warn changed errno to %d", e);
	errno = EACCES;
	log_info("info keeps errno");
	CHECK(errno == EACCES, "log_info changed errno");
	log_raw("RAW BLOCK\n  second line\n", 25);
	log_raw("", 0);
	log_close();

	buf = tu_slurp(tmp_path("a.log"), NULL);
	n = split_lines(buf, want, 16);
	CHECK(n == 8, "%zu lines in the log, want 8", n);
	check_line(want[0], "warning", "warnx 1");
	check_line(want[1], "info", "info two");
	check_line(want[2], "error", "error 3");
	check_line(want[3], "info", "msg info");
	check_line(want[4], "warning", "open /nowhere: No such file or "
	    "directory");
	check_line(want[5], "info", "info keeps errno");
	CHECK(strcmp(want[6], "RAW BLOCK") == 0 && strcmp(want[7],
	    "  second line") == 0, "raw block: '%s' '%s'", want[6], want[7]);
	free(buf);

	/* Verbose: debug lines appear, through both entry points. */
	CHECK(log_open(tmp_path("b.log"), 1) == 0, "log_open");
	CHECK(log_verbose() == 1, "verbose not set");
	log_debug("debug %s", "shown");
	log_msg(LOG_LVL_DEBUG, "msg debug shown");
	log_close();
	buf = tu_slurp(tmp_path("b.log"), NULL);
	CHECK(split_lines(buf, want, 16) == 2, "verbose log is not 2 lines");
	check_line(want[0], "debug", "debug shown");
	check_line(want[1], "debug", "msg debug shown");
	free(buf);
}

/* log_open appends, creates 0640, and a failed open keeps the old sink. */
static void
test_open(void **state)
{
	struct stat	 st;
	mode_t		 old;
	char		*buf, *l[8];
	FILE		*f;

	f = fopen(tmp_path("c.log"), "w");
	CHECK(f != NULL && fputs("old line\n", f) >= 0 && fclose(f) == 0,
	    "prepare c.log");
	CHECK(log_open(tmp_path("c.log"), 0) == 0, "log_open existing");
	log_info("appended");
	old = umask(0);
	CHECK(log_open(tmp_path("d.log"), 0) == 0, "log_open new");
	umask(old);
	CHECK(stat(tmp_path("d.log"), &st) == 0, "stat");
	CHECK((st.st_mode & 07777) == 0640, "new log mode %o, want 640",
	    (unsigned)(st.st_mode & 07777));
	errno = 0;
	CHECK(log_open(tmp_path("no/such/dir.log"), 0) == -1,
	    "log_open in a missing directory succeeded");
	CHECK(errno == ENOENT, "errno %d, want ENOENT", errno);
	log_info("still to d");
	log_close();

	buf = tu_slurp(tmp_path("c.log"), NULL);
	CHECK(split_lines(buf, l, 8) == 2, "c.log is not 2 lines");
	CHECK(strcmp(l[0], "old line") == 0, "old content lost: %s", l[0]);
	check_line(l[1], "info", "appended");
	free(buf);
	buf = tu_slurp(tmp_path("d.log"), NULL);
	CHECK(split_lines(buf, l, 8) == 1, "d.log is not 1 line");
	check_line(l[0], "info", "still to d");
	free(buf);
}

/*
 * log_reopen (SIGHUP, logrotate): after a rename the next lines go to a
 * new file of the same name; a failed reopen keeps the old file; stderr
 * has nothing to reopen.
 */
static void
test_reopen(void **state)
{
	char	*buf, *l[8], moved[PATH_MAX + 8];

	CHECK(log_reopen() == 0, "stderr reopened");
	CHECK(log_open(tmp_path("e.log"), 0) == 0, "log_open");
	CHECK(strcmp(log_path(), tmp_path("e.log")) == 0, "path %s",
	    log_path());
	log_info("before");
	snprintf(moved, sizeof(moved), "%s.1", tmp_path("e.log"));
	CHECK(rename(tmp_path("e.log"), moved) == 0, "rename");
	CHECK(log_reopen() == 1, "reopen: %s", strerror(errno));
	log_info("after");
	/* A directory that is gone: the reopen fails, the file stays. */
	CHECK(mkdir(tmp_path("sub"), 0700) == 0, "mkdir");
	CHECK(log_open(tmp_path("sub/f.log"), 0) == 0, "log_open sub");
	CHECK(rename(tmp_path("sub/f.log"), tmp_path("f.log")) == 0 &&
	    rmdir(tmp_path("sub")) == 0, "move f.log out, remove sub");
	errno = 0;
	CHECK(log_reopen() == -1 && errno == ENOENT, "reopen in a gone dir");
	log_info("still to f");
	log_close();
	CHECK(log_path() == NULL, "path after close");

	buf = tu_slurp(moved, NULL);
	CHECK(split_lines(buf, l, 8) == 1, "e.log.1 is not 1 line");
	check_line(l[0], "info", "before");
	free(buf);
	buf = tu_slurp(tmp_path("e.log"), NULL);
	CHECK(split_lines(buf, l, 8) == 1, "new e.log is not 1 line");
	check_line(l[0], "info", "after");
	free(buf);
	buf = tu_slurp(tmp_path("f.log"), NULL);
	CHECK(split_lines(buf, l, 8) == 1, "f.log is not 1 line");
	check_line(l[0], "info", "still to f");
	free(buf);
}

/* An overlong message becomes one truncated line, never more. */
static void
test_long_line(void **state)
{
	char	*msg, *buf, *l[8];
	size_t	 len;

	msg = malloc(5001);
	CHECK(msg != NULL, "malloc");
	memset(msg, 'x', 5000);
	msg[5000] = '\0';
	CHECK(log_open(tmp_path("e.log"), 0) == 0, "log_open");
	log_info("%s", msg);
	errno = EPIPE;
	log_warn("%s", msg);
	log_info("short");
	log_close();
	buf = tu_slurp(tmp_path("e.log"), &len);
	/* 2048-byte line buffer: 2046 bytes of text and the newline. */
	CHECK(len > 2 * 2047, "log size %zu", len);
	CHECK(buf[2046] == '\n' && memchr(buf, '\n', 2046) == NULL,
	    "first line is not 2047 bytes");
	CHECK(buf[2047 + 2046] == '\n' && memchr(buf + 2047, '\n', 2046) ==
	    NULL, "second line is not 2047 bytes");
	CHECK(buf[2045] == 'x' && buf[2047 + 2045] == 'x',
	    "lines do not end in the message");
	CHECK(split_lines(buf, l, 8) == 3, "not 3 lines");
	check_line(l[2], "info", "short");
	free(buf);
	free(msg);
}

/*
 * Peer bytes in a message (a JID, a username) cannot forge a second line
 * or send terminal escapes: control bytes are written as \xNN, other
 * bytes (UTF-8) as they are.
 */
static void
test_control_bytes(void **state)
{
	char	*buf, *l[8];

	CHECK(log_open(tmp_path("g.log"), 0) == 0, "log_open");
	log_warnx("no credentials for %s", "x\n2026-01-01T00:00:00.000Z "
	    "nabproxy[info]: forged\r\t\x1b[2J\x7f caf\xc3\xa9");
	log_info("next");
	log_close();
	buf = tu_slurp(tmp_path("g.log"), NULL);
	CHECK(split_lines(buf, l, 8) == 2, "not 2 lines: a line was forged");
	check_line(l[0], "warning", "no credentials for x\\x0a2026-01-01T00:"
	    "00:00.000Z nabproxy[info]: forged\\x0d\\x09\\x1b[2J\\x7f "
	    "caf\xc3\xa9");
	check_line(l[1], "info", "next");
	free(buf);
}

/* After log_attach nothing is written until the loop runs. */
static void
test_async(void **state)
{
	struct event_base	*base = event_base_new();
	struct stat		 st;
	char			*buf, *l[8];
	size_t			 len;

	CHECK(base != NULL, "event_base_new");
	CHECK(log_open(tmp_path("f.log"), 0) == 0, "log_open");
	CHECK(log_attach(base) == 0, "log_attach");
	log_info("queued one");
	log_raw("raw two\n", 8);
	CHECK(stat(tmp_path("f.log"), &st) == 0 && st.st_size == 0,
	    "log written synchronously (%lld bytes) after log_attach",
	    (long long)st.st_size);
	CHECK(event_base_loop(base, EVLOOP_NONBLOCK) != -1, "loop");
	buf = tu_slurp(tmp_path("f.log"), &len);
	CHECK(split_lines(buf, l, 8) == 2, "flushed log is not 2 lines");
	check_line(l[0], "info", "queued one");
	CHECK(strcmp(l[1], "raw two") == 0, "raw after flush: '%s'", l[1]);
	free(buf);
	/* log_close writes what the loop has not flushed yet. */
	log_info("flushed by close");
	CHECK(stat(tmp_path("f.log"), &st) == 0 && st.st_size == (off_t)len,
	    "line written synchronously after log_attach");
	log_close();
	buf = tu_slurp(tmp_path("f.log"), NULL);
	CHECK(split_lines(buf, l, 8) == 3, "log is not 3 lines after close");
	check_line(l[2], "info", "flushed by close");
	free(buf);
	CHECK(log_dropped() == 0, "%zu lines dropped", log_dropped());
	event_base_free(base);
}

struct sink {
	struct event_base	*base;
	struct evbuffer		*got;
	size_t			 want;
	int			 fd;
	int			 eof;
};

/* Read the pipe into got; stop the loop once `want` bytes arrived. */
static void
sink_read(evutil_socket_t fd, short what, void *arg)
{
	struct sink	*k = arg;
	int		 n;

	while ((n = evbuffer_read(k->got, fd, CHUNK)) > 0)
		;
	if (n == 0)
		k->eof = 1;
	if (evbuffer_get_length(k->got) >= k->want || k->eof)
		event_base_loopbreak(k->base);
}

static void
watchdog(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(arg);
}

/*
 * A writer that re-activates itself on EAGAIN never gives the loop back
 * (libevent runs it again in the same pass), so no in-loop check can see
 * it: fail from SIGALRM instead of waiting for the ctest timeout.
 */
static void
on_alarm(int sig)
{
	static const char msg[] = "test_log: the event loop did not come "
	    "back within 20 s: the log writer spins on a full pipe\n";

	_exit(write(1, msg, sizeof(msg) - 1) == -1 ? 2 : 1);
}

/* Chunk i of the big writes: one letter, ending in a newline. */
static char *
make_chunk(char *chunk, size_t i)
{
	memset(chunk, 'A' + (int)(i % 26), CHUNK);
	chunk[CHUNK - 1] = '\n';
	return chunk;
}

/* The sink read every chunk in order, the kept line, then the note. */
static void
check_pipe(struct sink *k, char *chunk, const char *note)
{
	char	*got;
	size_t	 i, total = evbuffer_get_length(k->got);

	CHECK(total == k->want, "read %zu bytes from the pipe, want %zu",
	    total, k->want);
	got = (char *)evbuffer_pullup(k->got, -1);
	for (i = 0; i < NCHUNKS; i++)
		CHECK(memcmp(got + i * CHUNK, make_chunk(chunk, i), CHUNK) == 0,
		    "chunk %zu differs", i);
	got += (size_t)NCHUNKS * CHUNK;
	CHECK(memcmp(got, "kept after the first write\n", 27) == 0,
	    "line queued after the drops is not next");
	CHECK(memcmp(got + 27, note, strlen(note)) == 0,
	    "note '%.*s', want '%s'", (int)strlen(note), got + 27, note);
}

/* Run the loop until one more log line came through the sink; check it. */
static void
check_next_line(struct sink *k, const char *tag, const char *msg)
{
	size_t	 total = evbuffer_get_length(k->got);
	char	*got;

	/* A timestamp, a space, "nabproxy[tag]: ", msg and a newline. */
	k->want = total + 25 + 9 + strlen(tag) + 3 + strlen(msg) + 1;
	CHECK(event_base_dispatch(k->base) == 0, "dispatch");
	CHECK(evbuffer_get_length(k->got) == k->want,
	    "%zu bytes after the note, want one line",
	    evbuffer_get_length(k->got) - total);
	CHECK(evbuffer_add(k->got, "", 1) == 0, "NUL");
	got = (char *)evbuffer_pullup(k->got, -1) + total;
	CHECK(got[k->want - total - 1] == '\n', "no newline");
	got[k->want - total - 1] = '\0';
	check_line(got, tag, msg);
}

/*
 * A pipe nobody reads: the 4 MiB buffer fills, three more lines are
 * dropped and counted, the writer waits for the pipe (no event stays
 * active, so the loop does not spin), and once a reader drains the pipe
 * every kept byte arrives in order followed by the drop note.
 */
static void
test_drop_counter(void **state)
{
	struct event_base	*base = event_base_new();
	struct timeval		 tv = { 30, 0 };
	struct event		*rev, *wd;
	struct sink		 k;
	char			*chunk, note[128];
	size_t			 d0, i;
	int			 p[2], saved, queued;

	CHECK(base != NULL, "event_base_new");
	CHECK(pipe(p) == 0, "pipe");
	CHECK(fcntl(p[1], F_SETFL, O_NONBLOCK) == 0 &&
	    fcntl(p[0], F_SETFL, O_NONBLOCK) == 0, "O_NONBLOCK");
	log_close();
	saved = redirect_stderr(p[1]);
	CHECK(log_open(NULL, 0) == 0, "log_open(NULL)");
	CHECK(log_attach(base) == 0, "log_attach");
	d0 = log_dropped();
	chunk = malloc(CHUNK);
	CHECK(chunk != NULL, "malloc");
	for (i = 0; i < NCHUNKS; i++)
		log_raw(make_chunk(chunk, i), CHUNK);
	CHECK(log_dropped() == d0, "dropped before the cap");
	log_raw("over the cap\n", 13);
	log_info("over the cap too");
	log_raw("x\n", 2);
	CHECK(log_dropped() - d0 == 3, "%zu drops past the cap, want 3",
	    log_dropped() - d0);

	/* One pass: the writer fills the pipe, then waits for it. */
	signal(SIGALRM, on_alarm);
	alarm(20);
	CHECK(event_base_loop(base, EVLOOP_NONBLOCK) != -1, "loop");
	alarm(0);
	signal(SIGALRM, SIG_DFL);
	CHECK(ioctl(p[0], FIONREAD, &queued) == 0 && queued > 0,
	    "nothing reached the pipe");
	CHECK((size_t)queued < (size_t)NCHUNKS * CHUNK,
	    "the pipe took all 4 MiB (%d): cannot test a stalled reader",
	    queued);
	CHECK(event_base_get_num_events(base, EVENT_BASE_COUNT_ACTIVE) == 0,
	    "the log writer stays active on a full pipe (busy loop)");
	CHECK(event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED) == 1,
	    "the log writer does not wait for the pipe");
	/* Part of the buffer went to the pipe: a line fits again. */
	log_raw("kept after the first write\n", 27);
	CHECK(log_dropped() - d0 == 3, "drop count %zu, want 3",
	    log_dropped() - d0);

	/* A reader appears: everything kept arrives, then the note. */
	snprintf(note, sizeof(note), "nabproxy: log: %zu lines dropped "
	    "(writer behind)\n", log_dropped() - d0);
	memset(&k, 0, sizeof(k));
	k.base = base;
	k.fd = p[0];
	k.got = evbuffer_new();
	k.want = (size_t)NCHUNKS * CHUNK + 27 + strlen(note);
	rev = event_new(base, p[0], EV_READ | EV_PERSIST, sink_read, &k);
	wd = evtimer_new(base, watchdog, base);
	CHECK(k.got != NULL && rev != NULL && wd != NULL, "events");
	CHECK(event_add(rev, NULL) == 0 && evtimer_add(wd, &tv) == 0, "add");
	CHECK(event_base_dispatch(base) == 0, "dispatch");
	check_pipe(&k, chunk, note);

	/* The count was reported once: a new line comes alone. */
	log_info("after the note");
	check_next_line(&k, "info", "after the note");

	log_close();
	restore_stderr(saved);
	event_free(rev);
	event_free(wd);
	evbuffer_free(k.got);
	close(p[0]);
	free(chunk);
	event_base_free(base);
}

/*
 * A dead fd (the reader closed the pipe: EPIPE): every buffered line is
 * counted as dropped, not one per failed write.
 */
static void
test_dead_fd(void **state)
{
	struct event_base	*base = event_base_new();
	void			(*old)(int);
	size_t			 d0;
	int			 p[2], saved, i;

	CHECK(base != NULL, "event_base_new");
	old = signal(SIGPIPE, SIG_IGN);
	CHECK(pipe(p) == 0, "pipe");
	close(p[0]);
	log_close();
	saved = redirect_stderr(p[1]);
	CHECK(log_open(NULL, 0) == 0 && log_attach(base) == 0, "attach");
	d0 = log_dropped();
	for (i = 0; i < 5; i++)
		log_info("line %d", i);
	log_raw("block line 1\nblock line 2\n", 26);
	CHECK(log_dropped() == d0, "dropped before writing");
	CHECK(event_base_loop(base, EVLOOP_NONBLOCK) != -1, "loop");
	/* 7 lines, and the note saying so could not be written either. */
	CHECK(log_dropped() - d0 == 8, "%zu lines counted as dropped, want 8",
	    log_dropped() - d0);
	CHECK(event_base_get_num_events(base, EVENT_BASE_COUNT_ACTIVE) == 0,
	    "writer still active on a dead fd");
	log_close();
	restore_stderr(saved);
	signal(SIGPIPE, old);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_levels, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_control_bytes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_long_line, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_async, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drop_counter, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_dead_fd, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
