/*
 * testutil.h: what every test program shares: the assertion macros, and
 * for tests that work on real files a scratch directory per test, removed
 * again with everything below it, files written into it and read back
 * whole. nabtest.h builds on it. Header-only; every function is static
 * and may go unused in one test file, hence TU_FN.
 *
 * It includes <cmocka.h> (and what cmocka.h needs before it). Every
 * assertion carries a message.
 *
 * A test file that links commands.c (which calls main.c's errx_usage())
 * defines TU_ERRX_USAGE before including this header to get an
 * errx_usage() that returns to the test through usage_jmp, the message
 * in usage_msg.
 */
#ifndef NAB_TESTUTIL_H
#define NAB_TESTUTIL_H

#include <sys/stat.h>

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define TU_FN	__attribute__((unused)) static

/* Assert with a message; fail_msg() longjmps, abort() tells the compiler. */
#define CHECK(cond, ...) do {						\
	if (!(cond)) {							\
		fail_msg(__VA_ARGS__);					\
		abort();						\
	}								\
} while (0)

/* Fails the test with a message unless cond holds (no abort() hint). */
#define EXPECT(cond, ...) do {						\
	if (!(cond))							\
		fail_msg(__VA_ARGS__);					\
} while (0)

/* A fresh scratch directory /tmp/NAME.XXXXXX in dir (len bytes). */
TU_FN void
tu_mkdtemp(char *dir, size_t len, const char *name)
{
	snprintf(dir, len, "/tmp/%s.XXXXXX", name);
	CHECK(mkdtemp(dir) != NULL, "mkdtemp: %s", strerror(errno));
}

TU_FN int
tu_rm_one(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	return remove(path);
}

/* Remove dir and everything below it, like rm -rf; 0 or -1. */
TU_FN int
tu_rmtree(const char *dir)
{
	return nftw(dir, tu_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Write len bytes to dir/name (creating dir/sub first if name has one). */
TU_FN void
tu_put_bytes(const char *dir, const char *name, const char *text,
    size_t len)
{
	char	 path[PATH_MAX], *slash;
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((slash = strrchr(path, '/')) > path + strlen(dir)) {
		*slash = '\0';
		mkdir(path, 0755);
		*slash = '/';
	}
	EXPECT((f = fopen(path, "w")) != NULL, "fopen %s", path);
	EXPECT(fwrite(text, 1, len, f) == len, "fwrite %s", path);
	fclose(f);
}

TU_FN void
tu_put(const char *dir, const char *name, const char *text)
{
	tu_put_bytes(dir, name, text, strlen(text));
}

/*
 * The whole file, NUL-terminated (the caller frees), *len its size if
 * len is not NULL; NULL if it does not exist and may_miss.
 */
TU_FN char *
tu_slurp_maybe(const char *path, size_t *len, int may_miss)
{
	FILE	*f = fopen(path, "rb");
	char	*buf;
	long	 n;

	if (f == NULL && may_miss)
		return NULL;
	CHECK(f != NULL, "fopen %s: %s", path, strerror(errno));
	CHECK(fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0, "size");
	rewind(f);
	buf = malloc((size_t)n + 1);
	CHECK(buf != NULL, "malloc");
	CHECK(fread(buf, 1, (size_t)n, f) == (size_t)n, "fread %s", path);
	buf[n] = '\0';
	fclose(f);
	if (len != NULL)
		*len = (size_t)n;
	return buf;
}

TU_FN char *
tu_slurp(const char *path, size_t *len)
{
	return tu_slurp_maybe(path, len, 0);
}

/*
 * Point fd at a new file dir/fdN.XXXXXX (its name in path, len bytes),
 * stdio flushed first; returns the saved fd for tu_restore().
 */
TU_FN int
tu_redirect(int fd, const char *dir, char *path, size_t len)
{
	int	saved, t;

	fflush(stdout);
	fflush(stderr);
	snprintf(path, len, "%s/fd%d.XXXXXX", dir, fd);
	CHECK((t = mkstemp(path)) != -1, "mkstemp");
	CHECK((saved = dup(fd)) != -1 && dup2(t, fd) == fd, "dup2");
	close(t);
	return saved;
}

/* Undo tu_redirect(): the file's content (the caller frees), file gone. */
TU_FN char *
tu_restore(int fd, int saved, const char *path)
{
	char	*s;

	fflush(stdout);
	fflush(stderr);
	CHECK(dup2(saved, fd) == fd, "dup2 back");
	close(saved);
	s = tu_slurp(path, NULL);
	unlink(path);
	return s;
}

/*
 * Error i of count, as a configuration error about dir/file reads:
 * "dir/file:line: msg" (line 0: "dir/file: msg"). Fails the test if
 * there is no error i. In a static buffer, until the next call.
 */
TU_FN const char *
tu_want_error(size_t i, size_t count, const char *dir, const char *file,
    unsigned int line, const char *msg)
{
	static char	want[8192];

	if (line)
		snprintf(want, sizeof(want), "%s/%s:%u: %s", dir, file, line,
		    msg);
	else
		snprintf(want, sizeof(want), "%s/%s: %s", dir, file, msg);
	EXPECT(i < count, "no error #%zu, wanted %s", i, want);
	return want;
}

#ifdef EVENT2_EVENT_H_INCLUDED_
/* tu_run_until's watchdog: sets the flag it was given. */
static inline void
tu_watchdog(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(int *)arg = 1;
}

/*
 * Run base's loop until cond holds; fail the test after 30 s. Waiting is
 * for an event, never a sleep. (Include <event2/event.h> first.)
 */
#define TU_RUN_UNTIL(base, cond, ...) do {				\
	struct timeval	 tv_ = { 30, 0 };				\
	int		 to_ = 0;					\
	struct event	*wd_ = evtimer_new((base), tu_watchdog, &to_);	\
									\
	CHECK(wd_ != NULL && evtimer_add(wd_, &tv_) == 0, "watchdog");	\
	while (!(cond) && !to_)						\
		CHECK(event_base_loop((base), EVLOOP_ONCE) != -1, "loop");	\
	event_free(wd_);						\
	CHECK(!to_, "timed out waiting: " __VA_ARGS__);			\
} while (0)
#endif /* EVENT2_EVENT_H_INCLUDED_ */

#ifdef TU_ERRX_USAGE
#include "main-int.h"

/* main.c's errx_usage() exits; here it returns to the test. */
static jmp_buf	usage_jmp;
static char	usage_msg[256];

void
errx_usage(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(usage_msg, sizeof(usage_msg), fmt, ap);
	va_end(ap);
	longjmp(usage_jmp, 1);
}
#endif /* TU_ERRX_USAGE */

#endif /* NAB_TESTUTIL_H */
