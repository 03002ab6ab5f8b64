/*
 * test_optsnap: proxy/optsnap.c, the sessions' shared copy of the
 * options. Holders under the same options share one snapshot; a change
 * of px->opt (a reload) gives the next holder a new one while the old
 * holders keep what they took, byte for byte; the proxy forgets a
 * snapshot with its last holder (ASan would report one never freed).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "proxy.h"

static void
test_shared(void **state)
{
	struct proxy		 px;
	const struct proxy_opts	*a, *b;

	(void)state;
	memset(&px, 0, sizeof(px));
	px.opt.max_stanza = 65536;
	snprintf(px.opt.upstream_host, sizeof(px.opt.upstream_host), "srv");
	a = proxy_opts_hold(&px);
	b = proxy_opts_hold(&px);
	assert_non_null(a);
	assert_ptr_equal(a, b);
	assert_ptr_not_equal(a, &px.opt);
	assert_memory_equal(a, &px.opt, sizeof(px.opt));
	proxy_opts_release(&px, a);
	assert_non_null(px.optsnap);	/* b still holds it */
	proxy_opts_release(&px, b);
	assert_null(px.optsnap);
	proxy_opts_release(&px, NULL);	/* a no-op */
}

static void
test_reload(void **state)
{
	struct proxy		 px;
	const struct proxy_opts	*old, *new, *again;

	(void)state;
	memset(&px, 0, sizeof(px));
	px.opt.idle_timeout = 300;
	snprintf(px.opt.upstream_host, sizeof(px.opt.upstream_host), "a");
	old = proxy_opts_hold(&px);
	assert_non_null(old);
	/* A reload: the running holder keeps its options. */
	px.opt.idle_timeout = 60;
	snprintf(px.opt.upstream_host, sizeof(px.opt.upstream_host), "b");
	new = proxy_opts_hold(&px);
	assert_non_null(new);
	assert_ptr_not_equal(old, new);
	assert_int_equal(old->idle_timeout, 300);
	assert_string_equal(old->upstream_host, "a");
	assert_int_equal(new->idle_timeout, 60);
	assert_string_equal(new->upstream_host, "b");
	again = proxy_opts_hold(&px);
	assert_ptr_equal(again, new);
	/* The old one goes with its holder; the proxy's current one stays. */
	proxy_opts_release(&px, old);
	assert_ptr_equal(px.optsnap, new);
	proxy_opts_release(&px, new);
	proxy_opts_release(&px, again);
	assert_null(px.optsnap);
	/* Back to the first options: a fresh snapshot equal to them. */
	px.opt.idle_timeout = 300;
	snprintf(px.opt.upstream_host, sizeof(px.opt.upstream_host), "a");
	old = proxy_opts_hold(&px);
	assert_int_equal(old->idle_timeout, 300);
	proxy_opts_release(&px, old);
	assert_null(px.optsnap);
}

/* A snapshot released last, after the proxy moved on, is freed. */
static void
test_old_last(void **state)
{
	struct proxy		 px;
	const struct proxy_opts	*old, *new;

	(void)state;
	memset(&px, 0, sizeof(px));
	old = proxy_opts_hold(&px);
	px.opt.max_connections = 7;
	new = proxy_opts_hold(&px);
	proxy_opts_release(&px, new);
	assert_null(px.optsnap);
	assert_int_equal(old->max_connections, 0);
	proxy_opts_release(&px, old);
	assert_null(px.optsnap);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shared),
		cmocka_unit_test(test_reload),
		cmocka_unit_test(test_old_last),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
