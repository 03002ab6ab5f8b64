/*
 * rabbitlog: per-rabbit traffic files. Appends only (O_APPEND, 0640, by
 * the writer thread), so a rabbit that reconnects continues its own file;
 * the daemon's log keeps the connection lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "log.h"
#include "rabbitlog.h"
#include "rlwriter.h"

struct rabbitlog {
	char			 dir[256];
	char			 ip[48];
	char			 path[512];	/* "" until the MAC is known */
	struct evbuffer		*pending;
	size_t			 dropped;	/* bytes, before the MAC */
	unsigned long long	 lost;		/* lines the writer refused */
};

/* The process's writer (see rabbitlog.h), started on first use. */
static struct rlwriter	*writer;
static int		 writer_failed;
static time_t		 next_report;	/* writer errors: one a minute */

static int	rl_put(struct rabbitlog *, const char *, size_t);
static void	rl_flush(struct rabbitlog *);
static void	rl_report(void);

/* The writer's errors in the daemon log: at most one a minute. */
static void
rl_report(void)
{
	char	msg[256];
	time_t	now = time(NULL);

	if (writer == NULL || now < next_report ||
	    !rlwriter_error(writer, msg, sizeof(msg)))
		return;
	log_warnx("rabbit log %s", msg);
	next_report = now + 60;
}

struct rabbitlog *
rabbitlog_new(const char *dir, const char *peer_ip)
{
	struct rabbitlog	*rl;
	char			 err[256];

	if (writer == NULL && !writer_failed &&
	    (writer = rlwriter_new(0, err, sizeof(err))) == NULL) {
		log_warnx("%s: no per-rabbit logs", err);
		writer_failed = 1;
	}
	if (writer == NULL)
		return NULL;
	if ((rl = calloc(1, sizeof(*rl))) == NULL ||
	    (rl->pending = evbuffer_new()) == NULL) {
		free(rl);
		return NULL;
	}
	snprintf(rl->dir, sizeof(rl->dir), "%s", dir);
	snprintf(rl->ip, sizeof(rl->ip), "%s", peer_ip);
	return rl;
}

/*
 * Hand bytes to the writer, first saying how many lines were lost since
 * the last that fitted. 0, or -1 (dropped and counted).
 */
static int
rl_put(struct rabbitlog *rl, const char *buf, size_t len)
{
	char	note[128];
	int	n;

	if (rl->lost > 0) {
		n = snprintf(note, sizeof(note), "[vm] !! nabproxy: %llu lines "
		    "of this log dropped (the log-dir writer was behind)\n",
		    rl->lost);
		if (rlwriter_put(writer, rl->path, note, (size_t)n) == 0)
			rl->lost = 0;
	}
	if (rlwriter_put(writer, rl->path, buf, len) == -1) {
		for (n = 0; n < (int)len; n++)
			rl->lost += buf[n] == '\n';
		return -1;
	}
	return 0;
}

/* What waited for the file name, with a note of what did not fit. */
static void
rl_flush(struct rabbitlog *rl)
{
	char	note[128];
	int	n;

	if (rl->dropped > 0) {
		n = snprintf(note, sizeof(note), "[vm] !! nabproxy: %zu bytes "
		    "of log dropped (rabbit not identified yet)\n", rl->dropped);
		evbuffer_add(rl->pending, note, (size_t)n);
		rl->dropped = 0;
	}
	if (evbuffer_get_length(rl->pending) == 0)
		return;
	(void)rl_put(rl, (const char *)evbuffer_pullup(rl->pending, -1),
	    evbuffer_get_length(rl->pending));
	evbuffer_drain(rl->pending, evbuffer_get_length(rl->pending));
}

/* The file's name: dir/NAME.log. */
static void
rl_name(struct rabbitlog *rl, const char *prefix, const char *name)
{
	snprintf(rl->path, sizeof(rl->path), "%s/%s%s.log", rl->dir, prefix,
	    name);
}

void
rabbitlog_add(struct rabbitlog *rl, const char *mac, const char *buf,
    size_t len)
{
	rl_report();
	if (len == 0)
		return;
	if (rl->path[0] == '\0' && mac[0] != '\0') {
		rl_name(rl, "", mac);
		rl_flush(rl);
	}
	if (rl->path[0] != '\0') {
		(void)rl_put(rl, buf, len);
		return;
	}
	if (evbuffer_get_length(rl->pending) + len > RABBITLOG_PENDING_MAX) {
		rl->dropped += len;
		return;
	}
	evbuffer_add(rl->pending, buf, len);
}

void
rabbitlog_close(struct rabbitlog *rl, const char *mac)
{
	if (rl == NULL)
		return;
	if (rl->path[0] == '\0' &&
	    (evbuffer_get_length(rl->pending) > 0 || rl->dropped > 0)) {
		if (mac[0] != '\0')
			rl_name(rl, "", mac);
		else
			rl_name(rl, "unknown-", rl->ip);
	}
	if (rl->path[0] != '\0')
		rl_flush(rl);
	evbuffer_free(rl->pending);
	free(rl);
}

void
rabbitlog_reopen(void)
{
	if (writer != NULL)
		rlwriter_reopen(writer);
}

void
rabbitlog_sync(void)
{
	if (writer != NULL)
		rlwriter_sync(writer);
	rl_report();
}

void
rabbitlog_shutdown(void)
{
	if (writer == NULL)
		return;
	/* A stalled disk must not keep the daemon from exiting. */
	if (rlwriter_drain(writer, RABBITLOG_EXIT_WAIT) == -1) {
		log_warnx("per-rabbit log writer still busy after %d s: exiting "
		    "without the lines it holds", RABBITLOG_EXIT_WAIT);
		writer = NULL;
		return;
	}
	rl_report();
	rlwriter_free(writer);
	writer = NULL;
}

unsigned long long
rabbitlog_dropped(void)
{
	return writer != NULL ? rlwriter_dropped(writer) : 0;
}
