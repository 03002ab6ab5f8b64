/*
 * rabbitlog: per-rabbit traffic files. Appends only (O_APPEND, 0640), so
 * a rabbit that reconnects continues its own file; the daemon's log keeps
 * the connection lines.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "log.h"
#include "rabbitlog.h"

struct rabbitlog {
	char		 dir[256];
	char		 ip[48];
	struct evbuffer	*pending;
	int		 fd;
	int		 failed;	/* stop trying after one error */
	size_t		 dropped;
};

static void	rl_open(struct rabbitlog *, const char *);
static void	rl_flush(struct rabbitlog *);

struct rabbitlog *
rabbitlog_new(const char *dir, const char *peer_ip)
{
	struct rabbitlog	*rl;

	if ((rl = calloc(1, sizeof(*rl))) == NULL ||
	    (rl->pending = evbuffer_new()) == NULL) {
		free(rl);
		return NULL;
	}
	snprintf(rl->dir, sizeof(rl->dir), "%s", dir);
	snprintf(rl->ip, sizeof(rl->ip), "%s", peer_ip);
	rl->fd = -1;
	return rl;
}

/* Open dir/NAME.log; on failure log once and give up for this session. */
static void
rl_open(struct rabbitlog *rl, const char *name)
{
	char	path[512];

	snprintf(path, sizeof(path), "%s/%s.log", rl->dir, name);
	rl->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0640);
	if (rl->fd == -1) {
		log_warn("rabbit log %s", path);
		rl->failed = 1;
	}
}

static void
rl_flush(struct rabbitlog *rl)
{
	char	note[96];
	int	n;

	if (rl->dropped > 0) {
		n = snprintf(note, sizeof(note), "[vm] !! nabproxy: %zu bytes "
		    "of log dropped (rabbit not identified yet)\n", rl->dropped);
		evbuffer_add(rl->pending, note, (size_t)n);
		rl->dropped = 0;
	}
	while (evbuffer_get_length(rl->pending) > 0)
		if (evbuffer_write(rl->pending, rl->fd) <= 0) {
			if (errno == EINTR)
				continue;
			log_warn("rabbit log write");
			evbuffer_drain(rl->pending,
			    evbuffer_get_length(rl->pending));
			rl->failed = 1;
		}
}

void
rabbitlog_add(struct rabbitlog *rl, const char *mac, const char *buf,
    size_t len)
{
	if (rl->failed)
		return;
	if (rl->fd == -1 && mac[0] != '\0')
		rl_open(rl, mac);
	if (rl->fd == -1 && evbuffer_get_length(rl->pending) + len >
	    RABBITLOG_PENDING_MAX) {
		rl->dropped += len;
		return;
	}
	evbuffer_add(rl->pending, buf, len);
	if (rl->fd != -1)
		rl_flush(rl);
}

void
rabbitlog_close(struct rabbitlog *rl, const char *mac)
{
	char	name[64];

	if (rl == NULL)
		return;
	if (!rl->failed && rl->fd == -1 &&
	    (evbuffer_get_length(rl->pending) > 0 || rl->dropped > 0)) {
		snprintf(name, sizeof(name), "%s%s", mac[0] ? "" : "unknown-",
		    mac[0] ? mac : rl->ip);
		rl_open(rl, name);
	}
	if (rl->fd != -1) {
		rl_flush(rl);
		close(rl->fd);
	}
	evbuffer_free(rl->pending);
	free(rl);
}
