/*
 * kdf: SCRAM's key derivation (PBKDF2, RFC 5802 Hi()) off the event loop.
 *
 * A small pool of worker threads computes jobs from a bounded queue; the
 * loop hears of finished jobs through an eventfd and runs their callbacks
 * on the loop thread, in completion order. A login that needs Hi() waits
 * without blocking anyone: a hostile server asking for many iterations
 * slows only its own logins, and at most `threads` derivations run at
 * once whatever the number of rabbits.
 *
 * Everything but the computation happens on the loop thread: submit,
 * cancel and the callbacks. A cancelled job's callback never runs. Every
 * password and result is wiped before its memory is freed.
 */
#ifndef NAB_KDF_H
#define NAB_KDF_H

#include <stddef.h>

#include "attrib.h"

struct event_base;
struct kdf_pool;
struct kdf_job;

#define KDF_OUT_MAX	64
#define KDF_THREADS	2	/* the daemon's pool */
#define KDF_QUEUE	4096

/* PBKDF2-HMAC inputs; the strings are copied at submit. */
struct kdf_params {
	const char		*md;		/* "SHA1" or "SHA256" */
	const char		*password;
	size_t			 pwlen;
	const unsigned char	*salt;
	size_t			 saltlen;
	unsigned		 iterations;
	size_t			 outlen;	/* <= KDF_OUT_MAX */
};

/* ok: out holds outlen bytes (borrowed for the call). */
typedef void kdf_done_cb(void *arg, int ok, const unsigned char *out,
    size_t outlen);

/*
 * A pool of `threads` workers (1..16) with room for `queue` waiting jobs.
 * NULL with err set.
 */
struct kdf_pool	*kdf_pool_new(struct event_base *, unsigned threads,
		    unsigned queue, char *err, size_t errlen) WUNRES;
/* Stop the workers (waiting for running jobs), drop every job. */
void		 kdf_pool_free(struct kdf_pool *);
/*
 * Queue a derivation; cb runs on the loop once it is done. NULL if the
 * queue is full, the parameters are out of range, or ENOMEM: the caller
 * treats it as a fault that judged nothing.
 */
struct kdf_job	*kdf_submit(struct kdf_pool *, const struct kdf_params *,
		    kdf_done_cb *, void *arg) WUNRES NONNULL(1, 2, 3);
/* The callback will not run; the job is freed (now or when it ends). */
void		 kdf_cancel(struct kdf_pool *, struct kdf_job *) NONNULL(1, 2);
/* Jobs queued or running, and jobs finished so far (for tests, stats). */
unsigned	 kdf_pending(struct kdf_pool *) NONNULL(1);
unsigned long	 kdf_done_count(struct kdf_pool *) NONNULL(1);

#endif /* NAB_KDF_H */
