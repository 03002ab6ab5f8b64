/*
 * chain_host: the services table filters reach through their nab_ctx.
 *
 * Every service maps onto session.h or stanza.h. Stanzas a filter builds
 * live in per-chain scratch slots until handed to replace() or inject(),
 * and are freed after the hook otherwise; text() and serialize() results
 * live until the end of the hook. Timers and login callbacks are tracked
 * so chain_close() can cancel them: a callback never reaches a filter
 * whose session is gone.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "chain-int.h"
#include "creds.h"
#include "hostsvc.h"
#include "identity.h"
#include "log.h"
#include "proxy.h"
#include "sasl.h"
#include "session.h"
#include "stanza.h"

#define SCRATCH_CAP	(1024 * 1024)

struct nab_timer {
	struct nab_timer	*next;
	struct event		*ev;
	struct nab_ctx		*ctx;
	nab_timer_cb		*cb;
	void			*arg;
};

struct chain_cbw {
	struct chain_cbw	*next;
	struct nab_ctx		*ctx;
	nab_login_cb		*cb;
	void			*arg;
};

#define ND(n)	((struct st_node *)(n))
#define NS(n)	((struct nab_stanza *)(n))

static struct stanza *owner(struct chain *, const struct st_node *, int *);

static void
h_log(struct nab_ctx *ctx, enum nab_loglevel lvl, const char *fmt, ...)
{
	char	buf[1024];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	session_log(ctx->ch->se, (int)lvl, "%s: %s", ctx->slot->cf->name, buf);
}

static const struct nab_identity *
h_identity(struct nab_ctx *ctx)
{
	return session_identity(ctx->ch->se);
}

static void
h_set_identity(struct nab_ctx *ctx, const char *mac, const char *domain,
    const char *fw)
{
	session_set_identity(ctx->ch->se, mac, domain, fw);
}

static void *
h_get_data(struct nab_ctx *ctx)
{
	return ctx->slot->data;
}

static void
h_set_data(struct nab_ctx *ctx, void *p)
{
	ctx->slot->data = p;
}

static void *
h_filter_state(struct nab_ctx *ctx)
{
	return ctx->slot->cf->state;
}

static const char *
h_name(const struct nab_stanza *n)
{
	return ND(n)->name;
}

static const char *
h_attr(const struct nab_stanza *n, const char *name)
{
	return st_attr(ND(n), name);
}

static const char *
h_xmlns(const struct nab_stanza *n)
{
	return st_xmlns(ND(n));
}

static struct nab_stanza *
h_child(const struct nab_stanza *n, const char *name, const char *xmlns)
{
	return NS(st_child(ND(n), name, xmlns));
}

static struct nab_stanza *
h_next(const struct nab_stanza *n)
{
	return NS(st_next_elem(ND(n)));
}

static const char *
h_text(struct nab_ctx *ctx, const struct nab_stanza *n)
{
	struct chain	*ch = ctx->ch;

	if (ch->tmp == NULL && (ch->tmp = stanza_new(SCRATCH_CAP)) == NULL)
		return NULL;
	return st_text(ch->tmp, ND(n));
}

/*
 * The stanza (arena) a node belongs to: the unit tree or a scratch slot.
 * *slot is the scratch index, or -1 for the unit tree. NULL if unknown.
 */
static struct stanza *
owner(struct chain *ch, const struct st_node *n, int *slot)
{
	int	i;

	while (n->parent != NULL)
		n = n->parent;
	*slot = -1;
	if (ch->cur != NULL && stanza_root(ch->cur) == n)
		return ch->cur;
	for (i = 0; i < CHAIN_SCRATCH; i++)
		if (ch->scratch[i] != NULL && stanza_root(ch->scratch[i]) == n) {
			*slot = i;
			return ch->scratch[i];
		}
	return NULL;
}

/*
 * The arena of a node about to be edited, or NULL if the node is not the
 * hook's (unit tree or scratch). Editing the unit tree marks it edited,
 * so it is re-serialised instead of forwarded as its original bytes.
 */
static struct stanza *
editing(struct nab_ctx *ctx, const struct nab_stanza *n)
{
	struct stanza	*s;
	int		 slot;

	if ((s = owner(ctx->ch, ND(n), &slot)) != NULL && slot == -1)
		ctx->ch->edited = 1;
	return s;
}

static int
h_set_attr(struct nab_ctx *ctx, struct nab_stanza *n, const char *name,
    const char *value)
{
	struct stanza	*s;

	if ((s = editing(ctx, n)) == NULL)
		return -1;
	return st_attr_set(s, ND(n), name, value);
}

static int
h_del_attr(struct nab_ctx *ctx, struct nab_stanza *n, const char *name)
{
	int	slot;

	if (owner(ctx->ch, ND(n), &slot) == NULL)
		return -1;
	/* Only a real removal edits: an untouched unit keeps its bytes. */
	if (st_attr_del(ND(n), name) && slot == -1)
		ctx->ch->edited = 1;
	return 0;
}

/* A free scratch slot holding a new stanza, or -1. */
static int
scratch_new(struct chain *ch)
{
	int	i;

	for (i = 0; i < CHAIN_SCRATCH; i++)
		if (ch->scratch[i] == NULL) {
			if ((ch->scratch[i] = stanza_new(SCRATCH_CAP)) == NULL)
				return -1;
			return i;
		}
	return -1;
}

static struct nab_stanza *
h_stanza_new(struct nab_ctx *ctx, const char *name)
{
	struct chain	*ch = ctx->ch;
	struct st_node	*n;
	int		 i;

	if ((i = scratch_new(ch)) == -1)
		return NULL;
	if ((n = st_elem_new(ch->scratch[i], name)) == NULL)
		return NULL;
	stanza_set_root(ch->scratch[i], n);
	return NS(n);
}

static struct nab_stanza *
h_add_child(struct nab_ctx *ctx, struct nab_stanza *parent, const char *name)
{
	struct stanza	*s;
	struct st_node	*n;

	if ((s = editing(ctx, parent)) == NULL ||
	    (n = st_elem_new(s, name)) == NULL)
		return NULL;
	st_append(ND(parent), n);
	return NS(n);
}

static int
h_add_text(struct nab_ctx *ctx, struct nab_stanza *n, const char *text)
{
	struct stanza	*s;

	if ((s = editing(ctx, n)) == NULL)
		return -1;
	return st_text_append(s, ND(n), text, strlen(text));
}

static struct nab_stanza *
h_copy(struct nab_ctx *ctx, const struct nab_stanza *n)
{
	struct chain	*ch = ctx->ch;
	struct st_node	*c;
	int		 i;

	if ((i = scratch_new(ch)) == -1)
		return NULL;
	if ((c = st_copy(ch->scratch[i], ND(n))) == NULL)
		return NULL;
	c->parent = NULL;
	stanza_set_root(ch->scratch[i], c);
	return NS(c);
}

static const char *
h_serialize(struct nab_ctx *ctx, const struct nab_stanza *n, size_t *len)
{
	struct chain	*ch = ctx->ch;

	if (ch->ser == NULL && (ch->ser = evbuffer_new()) == NULL)
		return NULL;
	evbuffer_drain(ch->ser, evbuffer_get_length(ch->ser));
	if (st_serialize(ND(n), ch->ser, 0) == -1 ||
	    evbuffer_add(ch->ser, "", 1) == -1)
		return NULL;
	*len = evbuffer_get_length(ch->ser) - 1;
	return (const char *)evbuffer_pullup(ch->ser, -1);
}

/* Take a root out of the scratch slots (copying the unit tree). */
static struct stanza *
take(struct chain *ch, struct nab_stanza *n)
{
	struct stanza	*s, *c;
	struct st_node	*root;
	int		 slot;

	if ((s = owner(ch, ND(n), &slot)) == NULL || ND(n)->parent != NULL)
		return NULL;
	if (slot >= 0) {
		ch->scratch[slot] = NULL;
		return s;
	}
	if ((c = stanza_new(SCRATCH_CAP)) == NULL ||
	    (root = st_copy(c, ND(n))) == NULL) {
		stanza_free(c);
		return NULL;
	}
	stanza_set_root(c, root);
	return c;
}

static int
h_replace(struct nab_ctx *ctx, struct nab_stanza *n)
{
	struct chain	*ch = ctx->ch;
	struct stanza	*s;
	int		 slot;

	if ((s = owner(ch, ND(n), &slot)) == NULL)
		return -1;
	if (slot == -1) {		/* the unit itself, edited */
		ch->edited = 1;
		return 0;
	}
	ch->scratch[slot] = NULL;
	stanza_free(ch->repl);
	ch->repl = s;
	return 0;
}

static int
h_inject(struct nab_ctx *ctx, enum nab_dir as_from, struct nab_stanza *n)
{
	struct stanza	*s;

	if ((s = take(ctx->ch, n)) == NULL)
		return -1;
	return session_inject(ctx->ch->se, as_from, s);
}

static int
h_inject_raw(struct nab_ctx *ctx, enum nab_dir as_from, const char *b,
    size_t len)
{
	return session_inject_raw(ctx->ch->se, as_from, b, len);
}

static void
h_hold(struct nab_ctx *ctx)
{
	session_hold(ctx->ch->se);
}

static void
h_release(struct nab_ctx *ctx)
{
	session_release(ctx->ch->se);
}

static void
timer_fire(evutil_socket_t fd, short what, void *arg)
{
	struct nab_timer	*t = arg, **tp;
	struct chain		*ch = t->ctx->ch;

	for (tp = &ch->timers; *tp != NULL; tp = &(*tp)->next)
		if (*tp == t) {
			*tp = t->next;
			break;
		}
	ch->running++;
	t->cb(t->ctx, t->arg);
	ch->running--;
	event_free(t->ev);
	free(t);
	if (ch->running == 0)
		chain_host_after_unit(ch);
}

static struct nab_timer *
h_timer_add(struct nab_ctx *ctx, unsigned msec, nab_timer_cb *cb, void *arg)
{
	struct nab_timer	*t;
	struct timeval		 tv = { msec / 1000, (msec % 1000) * 1000 };

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if ((t->ev = evtimer_new(session_base(ctx->ch->se), timer_fire,
	    t)) == NULL) {
		free(t);
		return NULL;
	}
	t->ctx = ctx;
	t->cb = cb;
	t->arg = arg;
	t->next = ctx->ch->timers;
	ctx->ch->timers = t;
	evtimer_add(t->ev, &tv);
	return t;
}

static void
h_timer_del(struct nab_ctx *ctx, struct nab_timer *t)
{
	struct nab_timer	**tp;

	for (tp = &ctx->ch->timers; *tp != NULL; tp = &(*tp)->next)
		if (*tp == t) {
			*tp = t->next;
			event_free(t->ev);
			free(t);
			return;
		}
}

/*
 * The credential store, re-read first when the file changed: it is
 * shared by all sessions and also written by `nabproxy credentials` (a
 * stat per lookup, and lookups happen only at login time). NULL when
 * the daemon has none.
 */
struct creds *
chain_creds(struct nab_ctx *ctx)
{
	struct proxy	*px = session_proxy(ctx->ch->se);
	struct stat	 st;
	long long	 mt;
	char		 err[256];

	if (px->creds == NULL || stat(creds_path(px->creds), &st) == -1)
		return px->creds;
	mt = (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
	if ((unsigned long long)st.st_ino == px->creds_ino &&
	    mt == px->creds_mtime_ns && (long long)st.st_size == px->creds_size)
		return px->creds;
	if (creds_reload(px->creds, err, sizeof(err)) == -1) {
		log_warnx("credentials %s changed but cannot be read, keeping "
		    "the old content: %s", creds_path(px->creds), err);
		return px->creds;
	}
	px->creds_ino = (unsigned long long)st.st_ino;
	px->creds_mtime_ns = mt;
	px->creds_size = (long long)st.st_size;
	return px->creds;
}

const char *
chain_cred_get(struct nab_ctx *ctx, const char *jid)
{
	struct creds	*cr = chain_creds(ctx);

	return cr != NULL ? creds_get(cr, jid) : NULL;
}

/* Login callbacks: unwrap, forget the wrapper, call the filter. */
void
chain_login_cb(void *arg, int ok, int transient, const char *mech,
    const char *reason)
{
	struct chain_cbw	*w = arg, **wp;
	struct chain		*ch = w->ctx->ch;
	struct nab_login_result	 r = { ok, mech, reason, !ok && transient };

	for (wp = &ch->cbws; *wp != NULL; wp = &(*wp)->next)
		if (*wp == w) {
			*wp = w->next;
			break;
		}
	/* Possibly from inside the service call, within a hook. */
	ch->running++;
	w->cb(w->ctx, &r, w->arg);
	ch->running--;
	free(w);
	if (ch->running == 0)
		chain_host_after_unit(ch);
}

struct chain_cbw *
chain_wrap(struct nab_ctx *ctx, nab_login_cb *cb, void *arg)
{
	struct chain_cbw	*w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->ctx = ctx;
	w->cb = cb;
	w->arg = arg;
	w->next = ctx->ch->cbws;
	ctx->ch->cbws = w;
	return w;
}

void
chain_unwrap_failed(struct chain *ch, struct chain_cbw *w)
{
	struct chain_cbw	**wp;

	for (wp = &ch->cbws; *wp != NULL; wp = &(*wp)->next)
		if (*wp == w) {
			*wp = w->next;
			free(w);
			return;
		}
}

/* Start a login (on the session's stream or a probe) with a tracked callback. */
static int
start_login(struct nab_ctx *ctx, int (*start)(struct session *, const char *,
    const char *, session_login_cb *, void *), const char *localpart,
    const char *password, nab_login_cb *cb, void *arg)
{
	struct chain_cbw	*w;

	if ((w = chain_wrap(ctx, cb, arg)) == NULL)
		return -1;
	if (start(ctx->ch->se, localpart, password, chain_login_cb, w) == -1) {
		chain_unwrap_failed(ctx->ch, w);
		return -1;
	}
	return 0;
}

static int
h_upstream_login(struct nab_ctx *ctx, const char *localpart,
    const char *password, nab_login_cb *cb, void *arg)
{
	return start_login(ctx, session_upstream_login, localpart, password,
	    cb, arg);
}

static int
h_login_probe(struct nab_ctx *ctx, const char *localpart,
    const char *password, nab_login_cb *cb, void *arg)
{
	return start_login(ctx, session_login_probe, localpart, password, cb,
	    arg);
}

static int
h_upstream_authenticated(struct nab_ctx *ctx)
{
	return session_upstream_authenticated(ctx->ch->se);
}

static void
h_close_with(struct nab_ctx *ctx, const char *cond, const char *reason)
{
	session_close_with(ctx->ch->se, cond, reason);
}

static struct nab_stanza *
h_server_features(struct nab_ctx *ctx)
{
	const struct st_node	*f = session_server_features(ctx->ch->se);

	return f != NULL ? h_copy(ctx, NS(f)) : NULL;
}

static void
h_restart_rabbit(struct nab_ctx *ctx)
{
	session_restart_rabbit(ctx->ch->se);
}

static const struct nab_host host = {
	.struct_size = sizeof(struct nab_host),
	.abi_major = NAB_ABI_MAJOR,
	.abi_minor = NAB_ABI_MINOR,
	.log = h_log,
	.identity = h_identity,
	.set_identity = h_set_identity,
	.get_data = h_get_data,
	.set_data = h_set_data,
	.filter_state = h_filter_state,
	.name = h_name,
	.attr = h_attr,
	.xmlns = h_xmlns,
	.child = h_child,
	.next = h_next,
	.text = h_text,
	.set_attr = h_set_attr,
	.del_attr = h_del_attr,
	.stanza_new = h_stanza_new,
	.add_child = h_add_child,
	.add_text = h_add_text,
	.copy = h_copy,
	.serialize = h_serialize,
	.replace = h_replace,
	.inject = h_inject,
	.inject_raw = h_inject_raw,
	.hold = h_hold,
	.release = h_release,
	.timer_add = h_timer_add,
	.timer_del = h_timer_del,
	.cred_get = chain_cred_get,
	.cred_put = h_cred_put,
	.upstream_login = h_upstream_login,
	.login_probe = h_login_probe,
	.upstream_authenticated = h_upstream_authenticated,
	.close_with = h_close_with,
	.server_features = h_server_features,
	.restart_rabbit = h_restart_rabbit,
	.digest_challenge = h_digest_challenge,
	.digest_username = h_digest_username,
	.digest_verify = h_digest_verify,
	.prove_password = h_prove_password,
	.digest_relay_challenge = h_digest_relay_challenge,
	.digest_repad = h_digest_repad,
	.rabbit_password = h_rabbit_password,
	/* ABI 1.4 (events): hostsvc.c */
	.ftimer_add = hostsvc_ftimer_add,
	.ftimer_del = hostsvc_ftimer_del,
	.watch_add = hostsvc_watch_add,
	.watch_set = hostsvc_watch_set,
	.watch_del = hostsvc_watch_del,
	.resolve = hostsvc_resolve,
	.resolve_cancel = hostsvc_resolve_cancel,
	.rabbit_call = hostsvc_rabbit_call,
	.http_post = hostsvc_http_post,
	.http_cancel = hostsvc_http_cancel,
	.flog = hostsvc_flog,
};

const struct nab_host *
chain_host(void)
{
	return &host;
}

void
chain_host_after_unit(struct chain *ch)
{
	int	i;

	for (i = 0; i < CHAIN_SCRATCH; i++) {
		stanza_free(ch->scratch[i]);
		ch->scratch[i] = NULL;
	}
	stanza_free(ch->tmp);
	ch->tmp = NULL;
}

void
chain_host_cleanup(struct chain *ch)
{
	struct nab_timer	*t;
	struct chain_cbw	*w;

	while ((t = ch->timers) != NULL) {
		ch->timers = t->next;
		event_free(t->ev);
		free(t);
	}
	/* Wrappers still pending belong to logins the session cancels. */
	while ((w = ch->cbws) != NULL) {
		ch->cbws = w->next;
		free(w);
	}
	if (ch->stage_ev != NULL)
		event_free(ch->stage_ev);
	ch->stage_ev = NULL;
	chain_host_after_unit(ch);
	if (ch->ser != NULL)
		evbuffer_free(ch->ser);
	ch->ser = NULL;
}
