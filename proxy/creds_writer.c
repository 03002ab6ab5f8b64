/*
 * creds_writer: the credential file written off the event loop.
 *
 * After creds_async(), a change (creds_put, creds_remove,
 * creds_allow_register, creds_put_rabbit) is made in memory at once and
 * queued as an operation: "this JID's entry becomes E" or "this JID is
 * removed". One writer thread takes every queued operation and, holding
 * an exclusive flock(2) on the store's directory (which `nabproxy
 * credentials` takes too), reads the file again, replays the operations
 * in order and replaces the file atomically (store_write). So the loop
 * never waits for fsync(2), a burst of changes costs one write, and what
 * the command line wrote meanwhile is kept.
 *
 * The loop hears of each write through an eventfd: written operations
 * are dropped; after a failed write they stay, and the thread tries again
 * after the retry delay. creds_reload() replays the operations not yet
 * written onto what it read, so memory never loses a change the file has
 * not got yet. creds_close() waits for the thread to write what is queued
 * (nothing is lost at a clean exit) and reports what could not be.
 * Operations hold passwords: wiped when freed.
 */
#include <sys/eventfd.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "creds.h"
#include "creds-int.h"

struct cw_op {
	unsigned long long	 seq;
	struct creds_entry	 e;	/* e.ce_pw NULL: a removal */
};

struct creds_writer {
	struct creds		*c;
	char			*path;		/* the thread's copies */
	uid_t			 owner;
	creds_written_cb	*cb;
	void			*arg;
	unsigned		 retry_ms;
	int			 efd;
	struct event		*ev;
	struct event		*retry;
	pthread_t		 th;

	pthread_mutex_t		 mu;		/* guards what follows */
	pthread_cond_t		 cv;
	struct cw_op		*ops;		/* not yet written, by seq */
	size_t			 nops;
	size_t			 cap;
	unsigned long long	 seq;		/* last queued */
	unsigned long		 kick;		/* bumped: write again */
	unsigned long		 seen;		/* the thread's last kick */
	int			 stop;
	unsigned long long	 ok_upto;	/* written up to this seq */
	int			 res_rc;	/* latest result, if res_new */
	int			 res_new;
	size_t			 res_nops;
	char			 res_err[256];
};

static void
op_free(struct cw_op *op)
{
	free(op->e.ce_jid);
	pw_free(op->e.ce_pw);
	pw_free(op->e.ce_rpw);
	memset(op, 0, sizeof(*op));
}

static void
ops_free(struct cw_op *ops, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		op_free(&ops[i]);
	free(ops);
}

/*
 * One write: every operation in ops replayed onto the file as it is now,
 * under the directory's lock. Returns what store_write() returns.
 */
static int
cw_write(struct creds_writer *w, const struct cw_op *ops, size_t n,
    char *err, size_t errlen)
{
	struct creds	fresh;
	size_t		i;
	int		lk, rc = -1;

	if ((lk = store_lock(w->path, err, errlen)) == -1)
		return -1;
	memset(&fresh, 0, sizeof(fresh));
	fresh.cr_path = w->path;
	fresh.cr_owner = w->owner;
	if (load(w->path, w->owner, &fresh, err, errlen) == -1)
		goto done;
	for (i = 0; i < n; i++)
		if (op_replay(&fresh, &ops[i].e) == -1) {
			snprintf(err, errlen, "%s: out of memory", w->path);
			goto done;
		}
	rc = store_write(&fresh, err, errlen);
 done:
	ents_clear(&fresh);
	close(lk);
	return rc;
}

/* Deep copies of every queued operation (with w->mu held); NULL, 0 if none. */
static struct cw_op *
cw_snapshot(struct creds_writer *w, size_t *n, unsigned long long *upto)
{
	struct cw_op	*v;
	size_t		 i;

	*n = 0;
	*upto = w->nops ? w->ops[w->nops - 1].seq : 0;
	if (w->nops == 0 || (v = calloc(w->nops, sizeof(*v))) == NULL)
		return NULL;
	for (i = 0; i < w->nops; i++) {
		v[i].seq = w->ops[i].seq;
		if (ent_dup(&v[i].e, &w->ops[i].e) == -1) {
			ops_free(v, i);
			return NULL;
		}
	}
	*n = w->nops;
	return v;
}

static void *
cw_main(void *arg)
{
	struct creds_writer	*w = arg;
	struct cw_op		*v;
	unsigned long long	 upto;
	size_t			 n;
	uint64_t		 one = 1;
	char			 err[256];
	int			 rc;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->stop && w->kick == w->seen)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->kick == w->seen)
			break;
		w->seen = w->kick;
		if (w->nops == 0)
			continue;
		v = cw_snapshot(w, &n, &upto);
		pthread_mutex_unlock(&w->mu);
		err[0] = '\0';
		if (v == NULL) {
			snprintf(err, sizeof(err), "%s: out of memory", w->path);
			rc = -1;
		} else
			rc = cw_write(w, v, n, err, sizeof(err));
		ops_free(v, n);
		pthread_mutex_lock(&w->mu);
		if (rc != -1 && upto > w->ok_upto)
			w->ok_upto = upto;
		w->res_rc = rc;
		w->res_nops = n;
		snprintf(w->res_err, sizeof(w->res_err), "%s", err);
		w->res_new = 1;
		if (!w->stop && write(w->efd, &one, sizeof(one)) == -1) {
			/* The counter is full: the loop has a wake-up pending. */
		}
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Drops written operations; returns the latest result to report, if any. */
static int
cw_collect(struct creds_writer *w, int *rc, size_t *n, char *err,
    size_t errlen)
{
	size_t	i = 0, j;
	int	have;

	pthread_mutex_lock(&w->mu);
	while (i < w->nops && w->ops[i].seq <= w->ok_upto)
		op_free(&w->ops[i++]);
	for (j = i; j < w->nops; j++)
		w->ops[j - i] = w->ops[j];
	w->nops -= i;
	if ((have = w->res_new)) {
		*rc = w->res_rc;
		*n = w->res_nops;
		snprintf(err, errlen, "%s", w->res_err);
		w->res_new = 0;
	}
	pthread_mutex_unlock(&w->mu);
	return have;
}

static void
cw_kick(struct creds_writer *w)
{
	pthread_mutex_lock(&w->mu);
	w->kick++;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

static void
cw_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	cw_kick(arg);
}

static void
cw_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct creds_writer	*w = arg;
	struct timeval		 tv;
	uint64_t		 v;
	size_t			 n = 0;
	char			 err[256];
	int			 rc = 0;

	(void)what;
	if (read(fd, &v, sizeof(v)) == -1 && errno != EAGAIN)
		return;
	if (!cw_collect(w, &rc, &n, err, sizeof(err)))
		return;
	if (rc == -1 && !evtimer_pending(w->retry, NULL)) {
		tv.tv_sec = w->retry_ms / 1000;
		tv.tv_usec = (w->retry_ms % 1000) * 1000;
		evtimer_add(w->retry, &tv);
	}
	if (w->cb != NULL)
		w->cb(w->arg, rc, n, err);
}

/* Frees w; the thread must not run (never started, or joined). */
static void
cw_free(struct creds_writer *w)
{
	if (w->ev != NULL)
		event_free(w->ev);
	if (w->retry != NULL)
		event_free(w->retry);
	if (w->efd != -1)
		close(w->efd);
	ops_free(w->ops, w->nops);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w->path);
	free(w);
}

int
creds_async(struct creds *c, struct event_base *base, unsigned retry_ms,
    creds_written_cb *cb, void *arg, char *err, size_t errlen)
{
	struct creds_writer	*w;

	if (c->cr_w != NULL)
		return 0;
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	w->efd = -1;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->c = c;
	w->owner = c->cr_owner;
	w->cb = cb;
	w->arg = arg;
	w->retry_ms = retry_ms;
	if ((w->path = strdup(c->cr_path)) == NULL ||
	    (w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
	    (w->ev = event_new(base, w->efd, EV_READ | EV_PERSIST, cw_done_cb,
	    w)) == NULL || event_add(w->ev, NULL) == -1 ||
	    (w->retry = evtimer_new(base, cw_retry_cb, w)) == NULL) {
		snprintf(err, errlen, "cannot set up the credential writer: %s",
		    strerror(errno ? errno : ENOMEM));
		cw_free(w);
		return -1;
	}
	if ((errno = pthread_create(&w->th, NULL, cw_main, w)) != 0) {
		snprintf(err, errlen, "cannot start the credential writer: %s",
		    strerror(errno));
		cw_free(w);
		return -1;
	}
	c->cr_w = w;
	return 0;
}

int
writer_queue(struct creds *c, const struct creds_entry *e, const char *jid)
{
	struct creds_writer	*w = c->cr_w;
	struct cw_op		 op, *v;
	size_t			 cap;

	memset(&op, 0, sizeof(op));
	if (e != NULL ? ent_dup(&op.e, e) == -1 :
	    (op.e.ce_jid = strdup(jid)) == NULL)
		return -1;
	pthread_mutex_lock(&w->mu);
	if (w->nops == w->cap) {
		cap = w->cap ? w->cap * 2 : 16;
		if ((v = reallocarray(w->ops, cap, sizeof(*v))) == NULL) {
			pthread_mutex_unlock(&w->mu);
			op_free(&op);
			return -1;
		}
		w->ops = v;
		w->cap = cap;
	}
	op.seq = ++w->seq;
	w->ops[w->nops++] = op;
	w->kick++;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

unsigned long long
writer_written(struct creds *c)
{
	struct creds_writer	*w = c->cr_w;
	unsigned long long	 upto;

	pthread_mutex_lock(&w->mu);
	upto = w->ok_upto;
	pthread_mutex_unlock(&w->mu);
	return upto;
}

/*
 * Operations are dropped only by cw_collect(), on the loop's thread like
 * this call, so every one after an upto read earlier is still queued.
 */
int
writer_replay(struct creds *c, struct creds *fresh, unsigned long long upto)
{
	struct creds_writer	*w = c->cr_w;
	size_t			 i;
	int			 rc = 0;

	pthread_mutex_lock(&w->mu);
	for (i = 0; i < w->nops && rc == 0; i++)
		if (w->ops[i].seq > upto)
			rc = op_replay(fresh, &w->ops[i].e);
	pthread_mutex_unlock(&w->mu);
	return rc;
}

void
writer_stop(struct creds *c)
{
	struct creds_writer	*w = c->cr_w;
	size_t			 n = 0;
	char			 err[256];
	int			 rc = 0;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	w->kick++;	/* one last try for whatever failed before */
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->th, NULL);
	if (cw_collect(w, &rc, &n, err, sizeof(err)) && w->cb != NULL)
		w->cb(w->arg, rc, n, err);
	if (w->nops > 0 && w->cb != NULL) {
		snprintf(err, sizeof(err), "%s: %zu change(s) could not be "
		    "written and are lost", w->path, w->nops);
		w->cb(w->arg, -2, w->nops, err);
	}
	c->cr_w = NULL;
	cw_free(w);
}

size_t
creds_unwritten(const struct creds *c)
{
	struct creds_writer	*w = c->cr_w;
	size_t			 i, n = 0;

	if (w == NULL)
		return 0;
	pthread_mutex_lock(&w->mu);
	for (i = 0; i < w->nops; i++)
		if (w->ops[i].seq > w->ok_upto)
			n++;
	pthread_mutex_unlock(&w->mu);
	return n;
}
