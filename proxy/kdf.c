/*
 * kdf: PBKDF2 on worker threads, results back on the event loop. See
 * kdf.h for the contract.
 *
 * A job is in exactly one place: the queue (QUEUED), a worker's hands
 * (RUNNING), the done list (DONE), or freed. The mutex guards the queue,
 * the done list, every job's state and `cancelled`. Workers never touch
 * libevent; they signal the loop by writing the eventfd.
 */
#include <sys/eventfd.h>
#include <sys/queue.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/evp.h>

#include "kdf.h"

#define KDF_THREADS_MAX	16

enum kdf_state { KDF_QUEUED, KDF_RUNNING, KDF_DONE };

struct kdf_job {
	TAILQ_ENTRY(kdf_job)	 entry;
	enum kdf_state		 state;
	int			 cancelled;
	int			 ok;
	const EVP_MD		*md;
	char			*password;
	size_t			 pwlen;
	unsigned char		*salt;
	size_t			 saltlen;
	unsigned		 iterations;
	unsigned char		 out[KDF_OUT_MAX];
	size_t			 outlen;
	kdf_done_cb		*cb;
	void			*arg;
};

TAILQ_HEAD(kdf_list, kdf_job);

struct kdf_pool {
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	struct kdf_list		 queue, done;
	unsigned		 nqueued, nrunning, queue_max;
	unsigned long		 ndone;
	int			 stop;
	pthread_t		 th[KDF_THREADS_MAX];
	unsigned		 nth;
	int			 efd;
	struct event		*ev;
};

static void	job_free(struct kdf_job *);
static void	*worker(void *);
static void	on_done(evutil_socket_t, short, void *);

static void
job_free(struct kdf_job *j)
{
	if (j == NULL)
		return;
	if (j->password != NULL) {
		explicit_bzero(j->password, j->pwlen);
		free(j->password);
	}
	free(j->salt);
	explicit_bzero(j->out, sizeof(j->out));
	free(j);
}

static void *
worker(void *arg)
{
	struct kdf_pool	*p = arg;
	struct kdf_job	*j;
	uint64_t	 one = 1;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->stop && TAILQ_EMPTY(&p->queue))
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->stop)
			break;
		j = TAILQ_FIRST(&p->queue);
		TAILQ_REMOVE(&p->queue, j, entry);
		p->nqueued--;
		p->nrunning++;
		j->state = KDF_RUNNING;
		pthread_mutex_unlock(&p->mu);
		j->ok = PKCS5_PBKDF2_HMAC(j->password, (int)j->pwlen, j->salt,
		    (int)j->saltlen, (int)j->iterations, j->md, (int)j->outlen,
		    j->out) == 1;
		explicit_bzero(j->password, j->pwlen);
		pthread_mutex_lock(&p->mu);
		p->nrunning--;
		j->state = KDF_DONE;
		TAILQ_INSERT_TAIL(&p->done, j, entry);
		/* A full counter only means the loop is already woken. */
		if (write(p->efd, &one, sizeof(one)) == -1)
			continue;
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* The loop: run the callbacks of finished jobs, free them. */
static void
on_done(evutil_socket_t fd, short what, void *arg)
{
	struct kdf_pool	*p = arg;
	struct kdf_list	 mine;
	struct kdf_job	*j;
	uint64_t	 n;
	int		 run;

	if (read(p->efd, &n, sizeof(n)) == -1 && errno != EAGAIN)
		return;
	TAILQ_INIT(&mine);
	pthread_mutex_lock(&p->mu);
	TAILQ_CONCAT(&mine, &p->done, entry);
	pthread_mutex_unlock(&p->mu);
	while ((j = TAILQ_FIRST(&mine)) != NULL) {
		/* A callback may cancel jobs still in `mine`: check each. */
		pthread_mutex_lock(&p->mu);
		TAILQ_REMOVE(&mine, j, entry);
		run = !j->cancelled;
		j->cancelled = 1;	/* cancel() from the callback: no-op */
		p->ndone++;
		pthread_mutex_unlock(&p->mu);
		if (run)
			j->cb(j->arg, j->ok, j->ok ? j->out : NULL,
			    j->ok ? j->outlen : 0);
		job_free(j);
	}
}

struct kdf_pool *
kdf_pool_new(struct event_base *base, unsigned threads, unsigned queue,
    char *err, size_t errlen)
{
	struct kdf_pool	*p;
	unsigned	 i;

	if (threads < 1 || threads > KDF_THREADS_MAX || queue < 1) {
		snprintf(err, errlen, "key derivation: 1..%d threads and a "
		    "queue of at least 1", KDF_THREADS_MAX);
		return NULL;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		snprintf(err, errlen, "key derivation: out of memory");
		return NULL;
	}
	TAILQ_INIT(&p->queue);
	TAILQ_INIT(&p->done);
	p->queue_max = queue;
	p->efd = -1;
	if (pthread_mutex_init(&p->mu, NULL) != 0 ||
	    pthread_cond_init(&p->cv, NULL) != 0) {
		snprintf(err, errlen, "key derivation: cannot make a lock");
		free(p);
		return NULL;
	}
	if ((p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
	    (p->ev = event_new(base, p->efd, EV_READ | EV_PERSIST, on_done,
	    p)) == NULL || event_add(p->ev, NULL) == -1) {
		snprintf(err, errlen, "key derivation: eventfd: %s",
		    strerror(errno));
		kdf_pool_free(p);
		return NULL;
	}
	for (i = 0; i < threads; i++) {
		if (pthread_create(&p->th[i], NULL, worker, p) != 0) {
			snprintf(err, errlen, "key derivation: cannot start a "
			    "thread");
			kdf_pool_free(p);
			return NULL;
		}
		p->nth++;
	}
	return p;
}

void
kdf_pool_free(struct kdf_pool *p)
{
	struct kdf_job	*j;
	unsigned	 i;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (i = 0; i < p->nth; i++)
		pthread_join(p->th[i], NULL);
	while ((j = TAILQ_FIRST(&p->queue)) != NULL) {
		TAILQ_REMOVE(&p->queue, j, entry);
		job_free(j);
	}
	while ((j = TAILQ_FIRST(&p->done)) != NULL) {
		TAILQ_REMOVE(&p->done, j, entry);
		job_free(j);
	}
	if (p->ev != NULL)
		event_free(p->ev);
	if (p->efd != -1)
		close(p->efd);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

struct kdf_job *
kdf_submit(struct kdf_pool *p, const struct kdf_params *kp, kdf_done_cb *cb,
    void *arg)
{
	struct kdf_job	*j;
	const EVP_MD	*md = strcmp(kp->md, "SHA256") == 0 ? EVP_sha256() :
			    strcmp(kp->md, "SHA1") == 0 ? EVP_sha1() : NULL;

	if (md == NULL || kp->outlen == 0 || kp->outlen > KDF_OUT_MAX ||
	    kp->iterations < 1 || kp->iterations > INT32_MAX ||
	    kp->pwlen > INT32_MAX || kp->saltlen > INT32_MAX ||
	    (j = calloc(1, sizeof(*j))) == NULL)
		return NULL;
	j->md = md;
	j->pwlen = kp->pwlen;
	j->saltlen = kp->saltlen;
	j->iterations = kp->iterations;
	j->outlen = kp->outlen;
	j->cb = cb;
	j->arg = arg;
	if ((j->password = malloc(kp->pwlen + 1)) == NULL ||
	    (j->salt = malloc(kp->saltlen + 1)) == NULL) {
		job_free(j);
		return NULL;
	}
	memcpy(j->password, kp->password, kp->pwlen);
	memcpy(j->salt, kp->salt, kp->saltlen);
	pthread_mutex_lock(&p->mu);
	if (p->stop || p->nqueued >= p->queue_max) {
		pthread_mutex_unlock(&p->mu);
		job_free(j);
		return NULL;
	}
	j->state = KDF_QUEUED;
	TAILQ_INSERT_TAIL(&p->queue, j, entry);
	p->nqueued++;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return j;
}

void
kdf_cancel(struct kdf_pool *p, struct kdf_job *j)
{
	int	queued;

	pthread_mutex_lock(&p->mu);
	if ((queued = j->state == KDF_QUEUED)) {
		TAILQ_REMOVE(&p->queue, j, entry);
		p->nqueued--;
	} else
		j->cancelled = 1;	/* freed by on_done */
	pthread_mutex_unlock(&p->mu);
	if (queued)
		job_free(j);
}

unsigned
kdf_pending(struct kdf_pool *p)
{
	unsigned	n;

	pthread_mutex_lock(&p->mu);
	n = p->nqueued + p->nrunning;
	pthread_mutex_unlock(&p->mu);
	return n;
}

unsigned long
kdf_done_count(struct kdf_pool *p)
{
	unsigned long	n;

	pthread_mutex_lock(&p->mu);
	n = p->ndone;
	pthread_mutex_unlock(&p->mu);
	return n;
}
