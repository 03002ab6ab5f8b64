/*
 * log: one process-wide sink (a file or stderr) behind a bounded buffer.
 *
 * The only mutable global state in the daemon lives here, because every
 * module logs and the loop is single-threaded. Writes happen from an
 * event callback with the fd non-blocking where the fd allows it; a
 * regular file write can still stall on a sick disk, which the buffer cap
 * turns into dropped lines rather than unbounded memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "log.h"

#define LOG_BUF_MAX	(4 * 1024 * 1024)

static struct {
	int		 fd;
	int		 verbose;
	struct evbuffer	*buf;
	struct event	*ev;
	struct event	*wev;		/* waits until fd takes more */
	size_t		 dropped;
	size_t		 reported;
	char		*path;		/* the file, for log_reopen; or NULL */
} lg = { 2, 0, NULL, NULL, NULL, 0, 0, NULL };

static void	log_vmsg(enum log_level, int, const char *, va_list)
		    PRINTF(3, 0);
static void	log_flush_cb(evutil_socket_t, short, void *);
static void	log_put(const char *, size_t);
static void	log_wait(void);
static size_t	log_lines(struct evbuffer *);
static size_t	log_escape(char *, size_t, const char *);

int
log_open(const char *path, int verbose)
{
	int	fd;

	lg.verbose = verbose;
	if (path == NULL || *path == '\0' || strcmp(path, "-") == 0)
		return 0;
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0640)) == -1)
		return -1;
	if (lg.fd > 2)
		close(lg.fd);
	lg.fd = fd;
	free(lg.path);
	lg.path = strdup(path);
	return 0;
}

int
log_reopen(void)
{
	int	fd;

	if (lg.path == NULL)
		return 0;
	if ((fd = open(lg.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0640)) == -1)
		return -1;
	/* A write waiting on the old fd would never fire: wait anew. */
	if (lg.wev != NULL) {
		event_free(lg.wev);
		lg.wev = NULL;
		event_active(lg.ev, 0, 0);
	}
	if (lg.fd > 2)
		close(lg.fd);
	lg.fd = fd;
	return 1;
}

const char *
log_path(void)
{
	return lg.path;
}

int
log_set_path(const char *path)
{
	char	*p = NULL;

	if (path != NULL && (p = strdup(path)) == NULL)
		return -1;
	free(lg.path);
	lg.path = p;
	return 0;
}

int
log_attach(struct event_base *base)
{
	if ((lg.buf = evbuffer_new()) == NULL)
		return -1;
	if ((lg.ev = event_new(base, -1, 0, log_flush_cb, NULL)) == NULL) {
		evbuffer_free(lg.buf);
		lg.buf = NULL;
		return -1;
	}
	return 0;
}

void
log_close(void)
{
	if (lg.buf != NULL) {
		while (evbuffer_get_length(lg.buf) > 0 &&
		    evbuffer_write(lg.buf, lg.fd) > 0)
			;
		evbuffer_free(lg.buf);
		lg.buf = NULL;
	}
	if (lg.ev != NULL) {
		event_free(lg.ev);
		lg.ev = NULL;
	}
	if (lg.wev != NULL) {
		event_free(lg.wev);
		lg.wev = NULL;
	}
	if (lg.fd > 2)
		close(lg.fd);
	lg.fd = 2;
	free(lg.path);
	lg.path = NULL;
}

int
log_verbose(void)
{
	return lg.verbose;
}

size_t
log_dropped(void)
{
	return lg.dropped;
}

/*
 * The fd would block (pipe, terminal): wait until it is writable rather
 * than re-activating at once, which would spin the loop at full CPU for as
 * long as the reader stalls. Only fds that can return EAGAIN get here, and
 * those can be polled.
 */
static void
log_wait(void)
{
	if (lg.wev == NULL)
		lg.wev = event_new(event_get_base(lg.ev), lg.fd, EV_WRITE,
		    log_flush_cb, NULL);
	if (lg.wev == NULL || event_add(lg.wev, NULL) == -1)
		event_active(lg.ev, 0, 0);
}

/* Lines in b (a trailing partial line counts as one). */
static size_t
log_lines(struct evbuffer *b)
{
	struct evbuffer_ptr	p;
	size_t			n = 0, len = evbuffer_get_length(b);

	p = evbuffer_search(b, "\n", 1, NULL);
	while (p.pos != -1) {
		n++;
		if ((size_t)p.pos + 1 >= len ||
		    evbuffer_ptr_set(b, &p, 1, EVBUFFER_PTR_ADD) == -1)
			break;
		p = evbuffer_search(b, "\n", 1, &p);
	}
	return n > 0 || len == 0 ? n : 1;
}

static void
log_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	int	noted = 0, n;

	for (;;) {
		while (evbuffer_get_length(lg.buf) > 0) {
			n = evbuffer_write(lg.buf, lg.fd);
			if (n > 0 || (n == -1 && errno == EINTR))
				continue;
			if (n == -1 && errno == EAGAIN) {
				log_wait();
				return;
			}
			/* Disk full or fd gone: count and forget. */
			lg.dropped += log_lines(lg.buf);
			evbuffer_drain(lg.buf, evbuffer_get_length(lg.buf));
		}
		if (lg.dropped == lg.reported || noted)
			return;
		/*
		 * The note is queued like any line, so a full pipe delays it
		 * instead of losing it; if it cannot be written at all it is
		 * counted, and reported by the next flush.
		 */
		noted = 1;
		if (evbuffer_add_printf(lg.buf, "nabproxy: log: %zu lines "
		    "dropped (writer behind)\n", lg.dropped - lg.reported) == -1)
			return;
		lg.reported = lg.dropped;
	}
}

/* Append one complete line (or block) to the sink. */
static void
log_put(const char *s, size_t n)
{
	if (lg.buf == NULL) {
		while (n > 0) {
			ssize_t w = write(lg.fd, s, n);
			if (w == -1 && errno == EINTR)
				continue;
			if (w <= 0)
				return;
			s += w;
			n -= (size_t)w;
		}
		return;
	}
	if (evbuffer_get_length(lg.buf) + n > LOG_BUF_MAX) {
		lg.dropped++;
		return;
	}
	if (evbuffer_add(lg.buf, s, n) == -1) {
		lg.dropped++;
		return;
	}
	event_active(lg.ev, 0, 0);
}

/*
 * Copy the message s into dst (cap bytes, NUL-terminated) with every
 * control byte written as \xNN: messages quote peer bytes (JIDs, user
 * names), which must not start a forged line or drive a terminal. Stops
 * before an escape that does not fit. Returns the bytes written.
 */
static size_t
log_escape(char *dst, size_t cap, const char *s)
{
	size_t	o = 0;

	for (; *s != '\0' && o + 1 < cap; s++) {
		if ((unsigned char)*s >= 0x20 && *s != 0x7f)
			dst[o++] = *s;
		else if (o + 4 < cap)
			o += (size_t)snprintf(dst + o, cap - o, "\\x%02x",
			    (unsigned char)*s);
		else
			break;
	}
	if (cap > 0)
		dst[o] = '\0';
	return o;
}

static void
log_vmsg(enum log_level lvl, int with_errno, const char *fmt, va_list ap)
{
	static const char *const tag[] = { "error", "warning", "info", "debug" };
	/* The second's text, formatted when the second changes. */
	static char	 ts[32];
	static time_t	 ts_sec = -1;
	char		 line[2048], msg[2048];
	int		 saved = errno, n;
	struct timespec	 now;
	struct tm	 tm;

	if (lvl == LOG_LVL_DEBUG && !lg.verbose)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	if (now.tv_sec != ts_sec) {
		gmtime_r(&now.tv_sec, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
		ts_sec = now.tv_sec;
	}
	n = snprintf(line, sizeof(line), "%s.%03ldZ nabproxy[%s]: ", ts,
	    now.tv_nsec / 1000000, tag[lvl]);
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		msg[0] = '\0';
	n += (int)log_escape(line + n, sizeof(line) - (size_t)n - 1, msg);
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	if (with_errno)
		n += snprintf(line + n, sizeof(line) - (size_t)n - 1, ": %s",
		    strerror(saved));
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	log_put(line, (size_t)n);
	errno = saved;
}

void
log_warn(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vmsg(LOG_LVL_WARN, 1, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vmsg(LOG_LVL_WARN, 0, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vmsg(LOG_LVL_INFO, 0, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vmsg(LOG_LVL_DEBUG, 0, fmt, ap);
	va_end(ap);
}

void
log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vmsg(lvl, 0, fmt, ap);
	va_end(ap);
}

void
log_raw(const char *buf, size_t len)
{
	log_put(buf, len);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vmsg(LOG_LVL_ERR, 0, fmt, ap);
	va_end(ap);
	log_close();
	exit(1);
}
