/*
 * test_kdf: proxy/kdf.c, PBKDF2 on worker threads with the results on a
 * real libevent loop. The bytes equal OpenSSL's PBKDF2 computed here
 * (SHA-1 and SHA-256, RFC 6070's vector); callbacks run on the loop
 * thread, once each; a cancelled job's callback never runs, whether it
 * was queued or running; a full queue refuses; parameters out of range
 * are refused; freeing the pool with jobs in flight leaks nothing (ASan)
 * and calls nobody. Waiting is for the loop, with a watchdog, never a
 * sleep.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>
#include <openssl/evp.h>

#include "kdf.h"
#include "testutil.h"

struct got {
	int		 calls;
	int		 ok;
	unsigned char	 out[KDF_OUT_MAX];
	size_t		 outlen;
	pthread_t	 thread;
};

static struct event_base	*base;
static int			 total, timed_out;

static void
done(void *arg, int ok, const unsigned char *out, size_t outlen)
{
	struct got	*g = arg;

	g->calls++;
	g->ok = ok;
	g->thread = pthread_self();
	if (ok)
		memcpy(g->out, out, outlen);
	g->outlen = outlen;
	total++;
}

static void
watchdog(evutil_socket_t fd, short what, void *arg)
{
	timed_out = 1;
	event_base_loopbreak(base);
}

/* Run the loop until `want` callbacks in all ran (or 20 s passed). */
static void
run_until(int want)
{
	struct timeval	 tv = { 20, 0 };
	struct event	*wd = evtimer_new(base, watchdog, NULL);

	timed_out = 0;
	evtimer_add(wd, &tv);
	while (total < want && !timed_out)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(wd);
	CHECK(!timed_out, "timed out with %d of %d callbacks", total, want);
}

static struct kdf_params
params(const char *md, const char *pw, const char *salt, unsigned iter,
    size_t outlen)
{
	struct kdf_params	p;

	memset(&p, 0, sizeof(p));
	p.md = md;
	p.password = pw;
	p.pwlen = strlen(pw);
	p.salt = (const unsigned char *)salt;
	p.saltlen = strlen(salt);
	p.iterations = iter;
	p.outlen = outlen;
	return p;
}

static int
setup(void **state)
{
	base = event_base_new();
	total = 0;
	return base == NULL;
}

static int
teardown(void **state)
{
	event_base_free(base);
	return 0;
}

static void
test_results(void **state)
{
	struct kdf_pool		*p;
	struct kdf_params	 kp[3];
	struct got		 g[3];
	unsigned char		 want[KDF_OUT_MAX];
	char			 err[128];
	int			 i;

	memset(g, 0, sizeof(g));
	kp[0] = params("SHA1", "password", "salt", 4096, 20);
	kp[1] = params("SHA256", "pencil", "NaCl", 10000, 32);
	kp[2] = params("SHA1", "passwordPASSWORDpassword",
	    "saltSALTsaltSALTsaltSALTsaltSALTsalt", 4096, 25);
	p = kdf_pool_new(base, 2, 16, err, sizeof(err));
	CHECK(p != NULL, "pool: %s", err);
	for (i = 0; i < 3; i++)
		CHECK(kdf_submit(p, &kp[i], done, &g[i]) != NULL, "submit %d",
		    i);
	run_until(3);
	for (i = 0; i < 3; i++) {
		CHECK(PKCS5_PBKDF2_HMAC(kp[i].password, (int)kp[i].pwlen,
		    kp[i].salt, (int)kp[i].saltlen, (int)kp[i].iterations,
		    strcmp(kp[i].md, "SHA1") ? EVP_sha256() : EVP_sha1(),
		    (int)kp[i].outlen, want) == 1, "reference");
		CHECK(g[i].calls == 1 && g[i].ok && g[i].outlen ==
		    kp[i].outlen && memcmp(g[i].out, want, kp[i].outlen) == 0,
		    "job %d: calls %d ok %d", i, g[i].calls, g[i].ok);
		CHECK(pthread_equal(g[i].thread, pthread_self()),
		    "callback %d off the loop thread", i);
	}
	/* RFC 6070: P="password", S="salt", c=4096, dkLen=20. */
	CHECK(memcmp(g[0].out, "\x4b\x00\x79\x01\xb7\x65\x48\x9a\xbe\xad"
	    "\x49\xd9\x26\xf7\x21\xd0\x65\xa4\x29\xc1", 20) == 0, "RFC 6070");
	CHECK(kdf_pending(p) == 0 && kdf_done_count(p) == 3, "counters");
	kdf_pool_free(p);
}

static void
test_cancel(void **state)
{
	struct kdf_pool		*p;
	struct kdf_params	 kp = params("SHA256", "pw", "salt", 20000, 32);
	struct kdf_job		*j[40];
	struct got		 g[40];
	char			 err[128];
	int			 i;

	memset(g, 0, sizeof(g));
	p = kdf_pool_new(base, 1, 64, err, sizeof(err));
	CHECK(p != NULL, "pool: %s", err);
	for (i = 0; i < 40; i++)
		CHECK((j[i] = kdf_submit(p, &kp, done, &g[i])) != NULL,
		    "submit %d", i);
	/* Odd ones go: the first may be running, the rest are queued. */
	for (i = 1; i < 40; i += 2)
		kdf_cancel(p, j[i]);
	kdf_cancel(p, j[0]);
	run_until(19);
	/* Let any cancelled-but-running job finish and be dropped. */
	while (kdf_pending(p) > 0 && !timed_out)
		event_base_loop(base, EVLOOP_ONCE);
	event_base_loop(base, EVLOOP_NONBLOCK);
	for (i = 0; i < 40; i++)
		CHECK(g[i].calls == (i % 2 == 0 && i > 0), "job %d: %d calls",
		    i, g[i].calls);
	CHECK(total == 19, "%d callbacks", total);
	kdf_pool_free(p);
}

static void
test_refusals(void **state)
{
	struct kdf_pool		*p;
	struct kdf_params	 slow = params("SHA256", "pw", "s", 200000, 32);
	struct kdf_params	 bad;
	struct got		 g[4];
	char			 err[128];
	int			 i, refused = 0;

	memset(g, 0, sizeof(g));
	CHECK(kdf_pool_new(base, 0, 1, err, sizeof(err)) == NULL &&
	    strstr(err, "threads") != NULL, "0 threads: %s", err);
	p = kdf_pool_new(base, 1, 1, err, sizeof(err));
	CHECK(p != NULL, "pool: %s", err);
	/* One running and one queued at most: of three, one is refused. */
	for (i = 0; i < 3; i++)
		refused += kdf_submit(p, &slow, done, &g[i]) == NULL;
	CHECK(refused >= 1, "a queue of 1 took 3 jobs");
	bad = params("MD5", "pw", "s", 1, 16);
	CHECK(kdf_submit(p, &bad, done, &g[3]) == NULL, "MD5 accepted");
	bad = params("SHA1", "pw", "s", 0, 20);
	CHECK(kdf_submit(p, &bad, done, &g[3]) == NULL, "0 iterations");
	bad = params("SHA1", "pw", "s", 1, KDF_OUT_MAX + 1);
	CHECK(kdf_submit(p, &bad, done, &g[3]) == NULL, "output too long");
	/* Freed with jobs in flight: nobody is called, nothing leaks. */
	kdf_pool_free(p);
	event_base_loop(base, EVLOOP_NONBLOCK);
	CHECK(total == 0, "%d callbacks after free", total);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_results, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
