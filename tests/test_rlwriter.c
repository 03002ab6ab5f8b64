/*
 * Unit tests for rlwriter, the per-rabbit files' writer thread: lines of
 * several files come out in the order they were put; the caller never
 * waits for the disk (a FIFO nobody reads stalls the writer in open(2),
 * and put still returns at once, dropping and counting what does not fit
 * the queue, while what fitted comes out whole and in order once the
 * FIFO is read); reopen makes the next line open its file by name again
 * (rename, reopen, new file); an open error drops and reports once.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#include "rlwriter.h"

static char	dir[64];

static int
setup(void **state)
{
	tu_mkdtemp(dir, sizeof(dir), "test_rlwriter");
	return 0;
}

static int
teardown(void **state)
{
	return tu_rmtree(dir) == 0 ? 0 : -1;
}

static const char *
path(const char *name)
{
	static char	p[4][PATH_MAX];
	static int	i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

static void
test_order(void **state)
{
	struct rlwriter	*w;
	char		 err[256], line[64], *want[2], *got;
	size_t		 off[2] = { 0, 0 }, n;
	struct stat	 st;
	int		 i, f;

	CHECK((w = rlwriter_new(0, err, sizeof(err))) != NULL, "%s", err);
	want[0] = calloc(1, 64 * 2000);
	want[1] = calloc(1, 64 * 2000);
	for (i = 0; i < 2000; i++) {
		f = i % 3 == 0;
		n = (size_t)snprintf(line, sizeof(line), "[vm] line %d\n", i);
		EXPECT(rlwriter_put(w, path(f ? "a.log" : "b.log"), line, n) ==
		    0, "put %d", i);
		memcpy(want[f] + off[f], line, n);
		off[f] += n;
	}
	rlwriter_sync(w);
	got = tu_slurp(path("a.log"), NULL);
	EXPECT(strcmp(got, want[1]) == 0, "a.log out of order");
	free(got);
	got = tu_slurp(path("b.log"), NULL);
	EXPECT(strcmp(got, want[0]) == 0, "b.log out of order");
	free(got);
	CHECK(stat(path("a.log"), &st) == 0, "stat");
	EXPECT((st.st_mode & 0777) == 0640, "mode %o", st.st_mode & 0777);
	EXPECT(rlwriter_dropped(w) == 0, "dropped %llu", rlwriter_dropped(w));
	rlwriter_free(w);
	free(want[0]);
	free(want[1]);
}

/* Rename the file: lines follow the open file until rlwriter_reopen. */
static void
test_reopen(void **state)
{
	struct rlwriter	*w;
	char		 err[256], *s;

	CHECK((w = rlwriter_new(0, err, sizeof(err))) != NULL, "%s", err);
	EXPECT(rlwriter_put(w, path("m.log"), "one\n", 4) == 0, "put");
	rlwriter_sync(w);
	CHECK(rename(path("m.log"), path("m.log.1")) == 0, "rename");
	EXPECT(rlwriter_put(w, path("m.log"), "two\n", 4) == 0, "put");
	rlwriter_sync(w);
	EXPECT(access(path("m.log"), F_OK) == -1, "m.log came back early");
	rlwriter_reopen(w);
	EXPECT(rlwriter_put(w, path("m.log"), "three\n", 6) == 0, "put");
	rlwriter_sync(w);
	s = tu_slurp(path("m.log.1"), NULL);
	EXPECT(strcmp(s, "one\ntwo\n") == 0, "old file: %s", s);
	free(s);
	s = tu_slurp(path("m.log"), NULL);
	EXPECT(strcmp(s, "three\n") == 0, "new file: %s", s);
	free(s);
	rlwriter_free(w);
}

/*
 * The writer behind (stalled on a FIFO) when the reopen comes: what was
 * put before it still goes to the old (renamed) file, what came after to
 * the new one.
 */
static void
test_reopen_behind(void **state)
{
	struct rlwriter	*w;
	char		 err[256], *s, buf[64];
	int		 fd;

	CHECK(mkfifo(path("stall"), 0600) == 0, "mkfifo");
	CHECK((w = rlwriter_new(0, err, sizeof(err))) != NULL, "%s", err);
	EXPECT(rlwriter_put(w, path("m.log"), "A\n", 2) == 0, "put");
	rlwriter_sync(w);
	CHECK(rename(path("m.log"), path("m.log.1")) == 0, "rename");
	EXPECT(rlwriter_put(w, path("stall"), "S\n", 2) == 0, "put");
	EXPECT(rlwriter_put(w, path("m.log"), "B\n", 2) == 0, "put");
	rlwriter_reopen(w);
	EXPECT(rlwriter_put(w, path("m.log"), "C\n", 2) == 0, "put");
	CHECK((fd = open(path("stall"), O_RDONLY | O_NONBLOCK)) != -1, "open");
	rlwriter_sync(w);
	EXPECT(read(fd, buf, sizeof(buf)) == 2, "stall");
	close(fd);
	s = tu_slurp(path("m.log.1"), NULL);
	EXPECT(strcmp(s, "A\nB\n") == 0, "old file: %s", s);
	free(s);
	s = tu_slurp(path("m.log"), NULL);
	EXPECT(strcmp(s, "C\n") == 0, "new file: %s", s);
	free(s);
	rlwriter_free(w);
}

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * The writer stuck in open(2) on a FIFO without a reader: 1000 puts
 * return at once; those that fit the 8 KiB queue are kept, in order, the
 * rest dropped and counted (lines, not items).
 */
static void
test_never_blocks(void **state)
{
	struct rlwriter	*w;
	char		 err[256], line[64], want[65536], got[65536];
	size_t		 wlen, glen = 0;
	ssize_t		 n;
	double		 t0, slowest = 0, t;
	int		 i, kept = 0, fd;

	CHECK(mkfifo(path("fifo.log"), 0600) == 0, "mkfifo: %s",
	    strerror(errno));
	CHECK((w = rlwriter_new(8192, err, sizeof(err))) != NULL, "%s", err);
	EXPECT(rlwriter_put(w, path("fifo.log"), "first\n", 6) == 0, "put");
	wlen = (size_t)snprintf(want, sizeof(want), "first\n");
	for (i = 0; i < 1000; i++) {
		n = snprintf(line, sizeof(line), "[vm] a\n[vm] line %d\n", i);
		t0 = now();
		if (rlwriter_put(w, path("fifo.log"), line, (size_t)n) == 0) {
			EXPECT(kept == i, "line %d kept after a drop", i);
			kept++;
			memcpy(want + wlen, line, (size_t)n);
			wlen += (size_t)n;
		}
		if ((t = now() - t0) > slowest)
			slowest = t;
	}
	EXPECT(slowest < 0.5, "a put took %.3f s", slowest);
	/* Draining with a deadline gives up on the stalled writer. */
	t0 = now();
	EXPECT(rlwriter_drain(w, 1) == -1, "drained a stalled writer");
	EXPECT(now() - t0 < 3, "drain took %.1f s", now() - t0);
	EXPECT(kept > 10 && kept < 1000, "%d kept", kept);
	EXPECT(rlwriter_dropped(w) == 2ULL * (1000U - (unsigned)kept),
	    "%llu lines dropped, %d kept", rlwriter_dropped(w), kept);
	/* A reader unblocks the writer; everything kept fits the pipe. */
	CHECK((fd = open(path("fifo.log"), O_RDONLY | O_NONBLOCK)) != -1,
	    "open: %s", strerror(errno));
	EXPECT(rlwriter_drain(w, 10) == 0, "not drained");
	while ((n = read(fd, got + glen, sizeof(got) - 1 - glen)) > 0)
		glen += (size_t)n;
	close(fd);
	EXPECT(glen == wlen && memcmp(got, want, wlen) == 0,
	    "%zu bytes read, %zu kept", glen, wlen);
	rlwriter_free(w);
}

static void
test_open_error(void **state)
{
	struct rlwriter	*w;
	char		 err[256], msg[256], want[512];

	CHECK((w = rlwriter_new(0, err, sizeof(err))) != NULL, "%s", err);
	EXPECT(rlwriter_error(w, msg, sizeof(msg)) == 0, "error early");
	EXPECT(rlwriter_put(w, path("no/x.log"), "a\nb\n", 4) == 0, "put");
	EXPECT(rlwriter_put(w, path("no/x.log"), "c\n", 2) == 0, "put");
	rlwriter_sync(w);
	EXPECT(rlwriter_dropped(w) == 3, "%llu", rlwriter_dropped(w));
	EXPECT(rlwriter_error(w, msg, sizeof(msg)) == 1, "no error");
	snprintf(want, sizeof(want), "%s: No such file or directory",
	    path("no/x.log"));
	EXPECT(strcmp(msg, want) == 0, "%s", msg);
	EXPECT(rlwriter_error(w, msg, sizeof(msg)) == 0, "reported twice");
	rlwriter_free(w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_behind, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_never_blocks, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_open_error, setup,
		    teardown),
	};

	umask(022);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
