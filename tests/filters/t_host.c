/*
 * t-host: a test filter that exercises every host service on command.
 *
 * The rabbit sends <t op='OP' .../>; the filter performs OP with the host
 * services and reports through the stream itself, mostly as an injected
 * <r op='OP' .../> to the rabbit, so tests assert exact bytes. Any other
 * stanza passes (into the hold queue while a hold is active). Counters
 * of callbacks that must (not) run are exported in t_host_stats.
 *
 * Config: state = WORD (reported by op='data', via filter_state()).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nabproxy/filter.h>

struct t_host_stats {
	unsigned	opens, closes, timers, logins, probes, restarts;
};

__attribute__((visibility("default"))) struct t_host_stats t_host_stats;

struct sess {
	unsigned	count;
	unsigned	restarts;
	char		user[64];
	char		pw[64];
};

static const struct nab_host	*host;

static int
h_init(const struct nab_host *h, const struct nab_kv *kv, size_t n,
    void **state, char *err, size_t errlen)
{
	size_t	i;

	host = h;
	*state = strdup("none");
	for (i = 0; i < n; i++)
		if (strcmp(kv[i].key, "state") == 0) {
			free(*state);
			*state = strdup(kv[i].value);
		}
	return *state == NULL ? -1 : 0;
}

static void
h_fini(void *state)
{
	free(state);
}

static int
h_open(struct nab_ctx *ctx)
{
	struct sess	*s = calloc(1, sizeof(*s));

	if (s == NULL)
		return -1;
	host->set_data(ctx, s);
	t_host_stats.opens++;
	return 0;
}

static void
h_close(struct nab_ctx *ctx)
{
	free(host->get_data(ctx));
	host->set_data(ctx, NULL);
	t_host_stats.closes++;
}

static void
h_restart(struct nab_ctx *ctx, enum nab_dir d)
{
	struct sess	*s = host->get_data(ctx);

	s->restarts++;
	t_host_stats.restarts++;
}

/* A new <r op='op'> reply, or <name> when name is given. */
static struct nab_stanza *
reply(struct nab_ctx *ctx, const char *name, const char *op)
{
	struct nab_stanza	*r = host->stanza_new(ctx, name ? name : "r");

	if (r != NULL && op != NULL)
		host->set_attr(ctx, r, "op", op);
	return r;
}

static void
set(struct nab_ctx *ctx, struct nab_stanza *r, const char *k, const char *v)
{
	host->set_attr(ctx, r, k, v != NULL ? v : "(null)");
}

static void
setu(struct nab_ctx *ctx, struct nab_stanza *r, const char *k,
    unsigned long long v)
{
	char	buf[32];

	snprintf(buf, sizeof(buf), "%llu", v);
	set(ctx, r, k, buf);
}

static void
to_rabbit(struct nab_ctx *ctx, struct nab_stanza *r)
{
	host->inject(ctx, NAB_FROM_SERVER, r);
}

/* "k:text" of an element, or "null". */
static const char *
desc(struct nab_ctx *ctx, const struct nab_stanza *n, char *buf, size_t len)
{
	if (n == NULL)
		return "null";
	snprintf(buf, len, "%s:%s:%s", host->name(n),
	    host->attr(n, "k") ? host->attr(n, "k") : "-", host->text(ctx, n));
	return buf;
}

static enum nab_verdict
op_walk(struct nab_ctx *ctx, struct nab_stanza *st)
{
	struct nab_stanza	*r = reply(ctx, NULL, "walk"), *a, *b, *c;
	char			 buf[128];

	a = host->child(st, NULL, NULL);
	b = a ? host->next(a) : NULL;
	c = b ? host->next(b) : NULL;
	set(ctx, r, "name", host->name(st));
	set(ctx, r, "ns", host->xmlns(st));
	set(ctx, r, "a", desc(ctx, a, buf, sizeof(buf)));
	set(ctx, r, "b", desc(ctx, b, buf, sizeof(buf)));
	set(ctx, r, "c", desc(ctx, c, buf, sizeof(buf)));
	set(ctx, r, "end", desc(ctx, c ? host->next(c) : NULL, buf,
	    sizeof(buf)));
	set(ctx, r, "byname", desc(ctx, host->child(st, "c", NULL), buf,
	    sizeof(buf)));
	set(ctx, r, "nsok", desc(ctx, host->child(st, "b", "t:ns"), buf,
	    sizeof(buf)));
	set(ctx, r, "nsmiss", desc(ctx, host->child(st, "b", "other"), buf,
	    sizeof(buf)));
	set(ctx, r, "text", host->text(ctx, st));
	set(ctx, r, "missing", host->attr(st, "missing"));
	to_rabbit(ctx, r);
	return NAB_HANDLED;
}

static void
timer_cb(struct nab_ctx *ctx, void *arg)
{
	struct nab_stanza	*r = reply(ctx, "timer", NULL);

	t_host_stats.timers++;
	set(ctx, r, "name", arg);
	to_rabbit(ctx, r);
}

static void
login_cb(struct nab_ctx *ctx, const struct nab_login_result *res, void *arg)
{
	struct sess		*s = host->get_data(ctx);
	int			 probe = arg != NULL;
	struct nab_stanza	*r;

	r = reply(ctx, probe ? "probe" : "login", NULL);
	if (probe)
		t_host_stats.probes++;
	else {
		t_host_stats.logins++;
		host->release(ctx);
	}
	setu(ctx, r, "ok", (unsigned)res->ok);
	set(ctx, r, "mechanism", res->mechanism);
	set(ctx, r, "reason", res->reason);
	setu(ctx, r, "auth", (unsigned)host->upstream_authenticated(ctx));
	setu(ctx, r, "restarts", s->restarts);
	to_rabbit(ctx, r);
}

static enum nab_verdict op_login(struct nab_ctx *, struct nab_stanza *, int);

/*
 * An upstream login needs this connection's proof of the password (ABI
 * 1.2): prove it (against the credential store, or by a probe), then log
 * in. A failed proof is reported as the login's failure.
 */
static void
prove_cb(struct nab_ctx *ctx, const struct nab_login_result *res, void *arg)
{
	struct sess	*s = host->get_data(ctx);

	if (!res->ok || host->upstream_login(ctx, s->user, s->pw, login_cb,
	    NULL) == -1) {
		if (!res->ok) {
			login_cb(ctx, res, NULL);
			return;
		}
		struct nab_stanza *r = reply(ctx, "login", NULL);

		host->release(ctx);
		set(ctx, r, "rc", "-1");
		to_rabbit(ctx, r);
	}
}

static int
start_upstream_login(struct nab_ctx *ctx, const char *user, const char *pw)
{
	struct sess	*s = host->get_data(ctx);

	if (!NAB_HAS_SERVICE(host, prove_password) ||
	    host->identity(ctx)->proof[0] != '\0' || user == NULL ||
	    pw == NULL)
		return host->upstream_login(ctx, user, pw, login_cb, NULL);
	snprintf(s->user, sizeof(s->user), "%s", user);
	snprintf(s->pw, sizeof(s->pw), "%s", pw);
	return host->prove_password(ctx, user, pw, prove_cb, NULL);
}

/*
 * Start a login or a probe. With pre='1' a reply is built first and sent
 * after the call: a stanza from stanza_new() lives until the hook returns,
 * even when the service called back before returning.
 */
static enum nab_verdict
op_login(struct nab_ctx *ctx, struct nab_stanza *st, int probe)
{
	struct nab_stanza	*r, *pre = NULL;
	int			 rc;

	if (host->attr(st, "pre") != NULL)
		pre = reply(ctx, "pre", NULL);
	if (!probe)
		host->hold(ctx);
	rc = probe ? host->login_probe(ctx, host->attr(st, "user"),
	    host->attr(st, "pw"), login_cb, (void *)1) :
	    start_upstream_login(ctx, host->attr(st, "user"),
	    host->attr(st, "pw"));
	if (rc == -1) {
		if (!probe)
			host->release(ctx);
		r = reply(ctx, probe ? "probe" : "login", NULL);
		set(ctx, r, "rc", "-1");
		to_rabbit(ctx, r);
	}
	if (pre != NULL) {
		set(ctx, pre, "rc", rc == 0 ? "0" : "-1");
		to_rabbit(ctx, pre);
	}
	return NAB_HANDLED;
}

static enum nab_verdict
op_ident(struct nab_ctx *ctx, struct nab_stanza *st)
{
	const struct nab_identity	*id;
	struct nab_stanza		*r = reply(ctx, NULL, "ident");

	if (host->attr(st, "mac") || host->attr(st, "fw"))
		host->set_identity(ctx, host->attr(st, "mac"), NULL,
		    host->attr(st, "fw"));
	id = host->identity(ctx);
	set(ctx, r, "mac", id->mac);
	set(ctx, r, "domain", id->domain);
	set(ctx, r, "jid", id->bare_jid);
	set(ctx, r, "fw", id->firmware);
	set(ctx, r, "profile", id->profile);
	setu(ctx, r, "sid", id->session_id);
	set(ctx, r, "peer-ok", strncmp(id->peer, "127.0.0.1:", 10) == 0 ?
	    "1" : id->peer);
	to_rabbit(ctx, r);
	return NAB_HANDLED;
}

/* The stanza-tree services; 0 if `op` is not one of them. */
static int
op_tree(struct nab_ctx *ctx, struct nab_stanza *st, const char *op,
    enum nab_verdict *v)
{
	struct nab_stanza	*r, *c;
	const char		*txt;
	size_t			 len;

	*v = NAB_HANDLED;
	if (strcmp(op, "edit") == 0) {
		host->set_attr(ctx, st, "added", "a<b");
		host->set_attr(ctx, st, "keep", "z");
		host->del_attr(ctx, st, "drop");
		host->del_attr(ctx, st, "absent");
		*v = NAB_PASS;
		return 1;
	}
	if (strcmp(op, "build") == 0) {
		r = reply(ctx, "built", NULL);
		set(ctx, r, "id", "b1");
		c = host->add_child(ctx, r, "c");
		host->add_text(ctx, c, "x & y");
		host->add_child(ctx, r, "d");
		host->inject(ctx, NAB_FROM_RABBIT, r);
		*v = NAB_DROP;
		return 1;
	}
	if (strcmp(op, "copy") == 0) {
		c = host->copy(ctx, st);
		set(ctx, c, "copied", "yes");
		host->add_child(ctx, c, "extra");
		to_rabbit(ctx, c);
		*v = NAB_PASS;
		return 1;
	}
	if (strcmp(op, "ser") == 0) {
		txt = host->serialize(ctx, st, &len);
		host->inject_raw(ctx, NAB_FROM_SERVER, txt, len);
		return 1;
	}
	if (strcmp(op, "replace") == 0) {
		r = reply(ctx, "new", NULL);
		set(ctx, r, "id", host->attr(st, "id"));
		host->replace(ctx, r);
		*v = NAB_REPLACE;
		return 1;
	}
	if (strcmp(op, "raw") == 0) {
		host->inject_raw(ctx, NAB_FROM_RABBIT, " ", 1);
		host->inject_raw(ctx, NAB_FROM_SERVER, "<raw/>", 6);
		return 1;
	}
	return 0;
}

static enum nab_verdict
op_misc(struct nab_ctx *ctx, struct nab_stanza *st, const char *op)
{
	struct sess		*s = host->get_data(ctx);
	struct nab_stanza	*r, *c;
	enum nab_verdict	 v;

	if (op_tree(ctx, st, op, &v))
		return v;
	if (strcmp(op, "hold") == 0) {
		host->hold(ctx);
		return NAB_PASS;
	}
	if (strcmp(op, "release") == 0) {
		host->release(ctx);
		return NAB_PASS;
	}
	if (strcmp(op, "features") == 0) {
		if (!NAB_HAS_SERVICE(host, server_features) ||
		    (c = host->server_features(ctx)) == NULL)
			return NAB_CLOSE;
		to_rabbit(ctx, c);
		return NAB_HANDLED;
	}
	if (strcmp(op, "restart-rabbit") == 0) {
		if (!NAB_HAS_SERVICE(host, restart_rabbit))
			return NAB_CLOSE;
		host->restart_rabbit(ctx);
		return NAB_HANDLED;
	}
	if (strcmp(op, "close") == 0 || strcmp(op, "close-pass") == 0) {
		host->close_with(ctx, host->attr(st, "cond"), "t-host close");
		return op[5] == '\0' ? NAB_CLOSE : NAB_PASS;
	}
	r = reply(ctx, NULL, op);
	if (strcmp(op, "data") == 0) {
		setu(ctx, r, "count", ++s->count);
		set(ctx, r, "state", host->filter_state(ctx));
	} else if (strcmp(op, "auth") == 0)
		setu(ctx, r, "v", (unsigned)host->upstream_authenticated(ctx));
	else if (strcmp(op, "cred-put") == 0)
		setu(ctx, r, "rc", (unsigned)(host->cred_put(ctx,
		    host->attr(st, "jid"), host->attr(st, "pw")) + 1));
	else if (strcmp(op, "cred-get") == 0)
		set(ctx, r, "pw", host->cred_get(ctx, host->attr(st, "jid")));
	else if (strcmp(op, "log") == 0)
		host->log(ctx, NAB_LOG_INFO, "t-host says %s",
		    host->attr(st, "msg"));
	else if (strcmp(op, "abi") == 0) {
		setu(ctx, r, "major", host->abi_major);
		setu(ctx, r, "has", NAB_HAS_SERVICE(host, close_with));
	} else
		set(ctx, r, "unknown", "1");
	to_rabbit(ctx, r);
	return NAB_HANDLED;
}

static enum nab_verdict
h_stanza(struct nab_ctx *ctx, enum nab_dir d, struct nab_stanza *st)
{
	const char		*op = host->attr(st, "op");
	struct nab_timer	*t;
	static char		 early[] = "early", late[] = "late",
				 gone[] = "deleted";

	if (strcmp(host->name(st), "t") != 0 || op == NULL)
		return NAB_PASS;
	if (d == NAB_FROM_SERVER) {
		/* The server may end a hold (the rabbit may be paused). */
		if (strcmp(op, "release") != 0)
			return NAB_PASS;
		host->release(ctx);
		return NAB_DROP;
	}
	if (strcmp(op, "walk") == 0)
		return op_walk(ctx, st);
	if (strcmp(op, "login") == 0 || strcmp(op, "probe") == 0)
		return op_login(ctx, st, op[0] == 'p');
	if (strcmp(op, "ident") == 0)
		return op_ident(ctx, st);
	if (strcmp(op, "timer") == 0) {
		host->timer_add(ctx, 40, timer_cb, late);
		t = host->timer_add(ctx, 20, timer_cb, gone);
		host->timer_add(ctx, 10, timer_cb, early);
		host->timer_del(ctx, t);
		return NAB_HANDLED;
	}
	if (strcmp(op, "timer-long") == 0) {
		host->timer_add(ctx, 60000, timer_cb, gone);
		return NAB_HANDLED;
	}
	return op_misc(ctx, st, op);
}

__attribute__((visibility("default")))
const struct nab_filter nab_filter = {
	NAB_FILTER_INIT,
	.name = "t-host",
	.version = "1",
	.description = "test: every host service on command",
	.init = h_init,
	.fini = h_fini,
	.open = h_open,
	.close = h_close,
	.on_stanza = h_stanza,
	.on_restart = h_restart,
};
