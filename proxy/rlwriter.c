/*
 * rlwriter: one writer thread behind a bounded FIFO (see rlwriter.h).
 *
 * An item is in exactly one place: the queue (the mutex guards it, the
 * byte count, the counters and the reopen generation) or the writer's
 * batch (the writer's alone). Each item carries the reopen generation it
 * was put in: the files are closed before the first item of a newer one,
 * so what was put before a reopen still goes to the old file. The writer takes the whole queue at once,
 * writes it without the lock, then frees the batch and wakes rlwriter_sync.
 * The open-file cache is the writer thread's alone.
 */
#include <sys/queue.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rlwriter.h"

struct rlitem {
	STAILQ_ENTRY(rlitem)	 entry;
	size_t			 len;
	size_t			 cost;		/* counted in qbytes */
	unsigned		 gen;		/* reopens before it was put */
	char			*path;		/* in the same block */
	char			 bytes[];
};
STAILQ_HEAD(rlitems, rlitem);

struct rlfile {
	char			*path;		/* NULL: free slot */
	int			 fd;
	unsigned long long	 used;		/* LRU clock */
};

struct rlwriter {
	pthread_mutex_t		 mu;
	pthread_cond_t		 work;		/* queue or stop or reopen */
	pthread_cond_t		 idle;		/* queue empty, writer idle */
	struct rlitems		 queue;
	size_t			 qbytes, qmax;
	int			 busy, stop;
	unsigned		 gen;		/* rlwriter_reopen() count */
	unsigned long long	 dropped;	/* lines */
	char			 err[256];	/* first unreported error */
	pthread_t		 th;
	/* The writer thread's own. */
	unsigned		 gen_seen;
	struct rlfile		 files[RLWRITER_FILES];
	unsigned long long	 clock;
};

static void	*rlw_main(void *);
static void	 rlw_write(struct rlwriter *, struct rlitem *);
static int	 rlw_fd(struct rlwriter *, const char *);
static void	 rlw_close_all(struct rlwriter *);
static void	 rlw_fail(struct rlwriter *, const struct rlitem *,
		    const char *);
static unsigned long long lines(const char *, size_t);

struct rlwriter *
rlwriter_new(size_t queue_max, char *err, size_t errlen)
{
	struct rlwriter	*w;
	int		 i, e;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	STAILQ_INIT(&w->queue);
	w->qmax = queue_max > 0 ? queue_max : RLWRITER_QUEUE_MAX;
	for (i = 0; i < RLWRITER_FILES; i++)
		w->files[i].fd = -1;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->work, NULL);
	pthread_cond_init(&w->idle, NULL);
	if ((e = pthread_create(&w->th, NULL, rlw_main, w)) != 0) {
		snprintf(err, errlen, "per-rabbit log writer thread: %s",
		    strerror(e));
		pthread_cond_destroy(&w->idle);
		pthread_cond_destroy(&w->work);
		pthread_mutex_destroy(&w->mu);
		free(w);
		return NULL;
	}
	return w;
}

void
rlwriter_free(struct rlwriter *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->th, NULL);
	rlw_close_all(w);
	pthread_cond_destroy(&w->idle);
	pthread_cond_destroy(&w->work);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

/* Newlines in buf, at least 1: what a dropped item counts. */
static unsigned long long
lines(const char *buf, size_t len)
{
	unsigned long long	 n = 0;
	const char		*p = buf, *end = buf + len;

	while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		n++;
		p++;
	}
	return n > 0 ? n : 1;
}

int
rlwriter_put(struct rlwriter *w, const char *path, const char *buf,
    size_t len)
{
	struct rlitem	*it;
	size_t		 plen = strlen(path) + 1;
	size_t		 cost = sizeof(*it) + len + plen;
	unsigned	 gen;

	if (len == 0)
		return 0;
	pthread_mutex_lock(&w->mu);
	if (w->qbytes + cost > w->qmax ||
	    (it = malloc(sizeof(*it) + len + plen)) == NULL) {
		w->dropped += lines(buf, len);
		pthread_mutex_unlock(&w->mu);
		return -1;
	}
	w->qbytes += cost;
	gen = w->gen;
	pthread_mutex_unlock(&w->mu);
	/* The item is ours until it is linked: fill it without the lock. */
	it->len = len;
	it->cost = cost;
	it->gen = gen;
	memcpy(it->bytes, buf, len);
	it->path = it->bytes + len;
	memcpy(it->path, path, plen);
	pthread_mutex_lock(&w->mu);
	STAILQ_INSERT_TAIL(&w->queue, it, entry);
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

void
rlwriter_reopen(struct rlwriter *w)
{
	pthread_mutex_lock(&w->mu);
	w->gen++;
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->mu);
}

void
rlwriter_sync(struct rlwriter *w)
{
	pthread_mutex_lock(&w->mu);
	while (!STAILQ_EMPTY(&w->queue) || w->busy)
		pthread_cond_wait(&w->idle, &w->mu);
	pthread_mutex_unlock(&w->mu);
}

int
rlwriter_drain(struct rlwriter *w, unsigned seconds)
{
	struct timespec	until;
	int		rc = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += seconds;
	pthread_mutex_lock(&w->mu);
	while ((!STAILQ_EMPTY(&w->queue) || w->busy) && rc == 0)
		if (pthread_cond_timedwait(&w->idle, &w->mu, &until) ==
		    ETIMEDOUT)
			rc = -1;
	if (STAILQ_EMPTY(&w->queue) && !w->busy)
		rc = 0;
	pthread_mutex_unlock(&w->mu);
	return rc;
}

unsigned long long
rlwriter_dropped(struct rlwriter *w)
{
	unsigned long long	n;

	pthread_mutex_lock(&w->mu);
	n = w->dropped;
	pthread_mutex_unlock(&w->mu);
	return n;
}

int
rlwriter_error(struct rlwriter *w, char *buf, size_t len)
{
	int	rc = 0;

	pthread_mutex_lock(&w->mu);
	if (w->err[0] != '\0') {
		snprintf(buf, len, "%s", w->err);
		w->err[0] = '\0';
		rc = 1;
	}
	pthread_mutex_unlock(&w->mu);
	return rc;
}

/* The writer thread: take the whole queue, write it, repeat. */
static void *
rlw_main(void *arg)
{
	struct rlwriter	*w = arg;
	struct rlitems	 batch;
	struct rlitem	*it;
	unsigned	 gen;
	size_t		 cost;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (STAILQ_EMPTY(&w->queue) && !w->stop &&
		    w->gen == w->gen_seen)
			pthread_cond_wait(&w->work, &w->mu);
		if (STAILQ_EMPTY(&w->queue) && w->stop)
			break;
		STAILQ_INIT(&batch);
		STAILQ_CONCAT(&batch, &w->queue);
		gen = w->gen;
		w->busy = 1;
		pthread_mutex_unlock(&w->mu);
		cost = 0;
		while ((it = STAILQ_FIRST(&batch)) != NULL) {
			STAILQ_REMOVE_HEAD(&batch, entry);
			/* Lines put after a reopen go to the file by name. */
			if (it->gen != w->gen_seen) {
				rlw_close_all(w);
				w->gen_seen = it->gen;
			}
			rlw_write(w, it);
			cost += it->cost;
			free(it);
		}
		/* Woken by a reopen alone: the files are closed at once. */
		if (cost == 0 && gen != w->gen_seen) {
			rlw_close_all(w);
			w->gen_seen = gen;
		}
		pthread_mutex_lock(&w->mu);
		w->qbytes -= cost;
		w->busy = 0;
		if (STAILQ_EMPTY(&w->queue))
			pthread_cond_broadcast(&w->idle);
	}
	pthread_cond_broadcast(&w->idle);
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Count an item lost and keep the first error for the loop to log. */
static void
rlw_fail(struct rlwriter *w, const struct rlitem *it, const char *what)
{
	int	e = errno;

	pthread_mutex_lock(&w->mu);
	w->dropped += lines(it->bytes, it->len);
	if (w->err[0] == '\0')
		snprintf(w->err, sizeof(w->err), "%s: %s%s", it->path,
		    strerror(e), what);
	pthread_mutex_unlock(&w->mu);
}

static void
rlw_write(struct rlwriter *w, struct rlitem *it)
{
	size_t	 off = 0;
	ssize_t	 n;
	int	 fd;

	if ((fd = rlw_fd(w, it->path)) == -1) {
		rlw_fail(w, it, "");
		return;
	}
	while (off < it->len) {
		n = write(fd, it->bytes + off, it->len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			rlw_fail(w, it, " (writing)");
			return;
		}
		off += (size_t)n;
	}
}

/* The cached descriptor for path, opening it (closing the LRU) if needed. */
static int
rlw_fd(struct rlwriter *w, const char *path)
{
	struct rlfile	*f, *lru = &w->files[0];
	int		 i;

	for (i = 0; i < RLWRITER_FILES; i++) {
		f = &w->files[i];
		if (f->path != NULL && strcmp(f->path, path) == 0) {
			f->used = ++w->clock;
			return f->fd;
		}
		if (f->path == NULL || (lru->path != NULL && f->used <
		    lru->used))
			lru = f;
	}
	if (lru->path != NULL) {
		close(lru->fd);
		free(lru->path);
		lru->path = NULL;
		lru->fd = -1;
	}
	if ((lru->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0640)) == -1)
		return -1;
	if ((lru->path = strdup(path)) == NULL) {
		close(lru->fd);
		lru->fd = -1;
		return -1;
	}
	lru->used = ++w->clock;
	return lru->fd;
}

static void
rlw_close_all(struct rlwriter *w)
{
	int	i;

	for (i = 0; i < RLWRITER_FILES; i++) {
		if (w->files[i].path == NULL)
			continue;
		close(w->files[i].fd);
		free(w->files[i].path);
		w->files[i].path = NULL;
		w->files[i].fd = -1;
	}
}
