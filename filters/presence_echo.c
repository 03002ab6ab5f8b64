/*
 * presence-echo: make sure the rabbit sees a presence after its own.
 *
 * After binding a resource other than `boot`, bootcode 18673 sends its
 * presence (A10) and then waits, with no timer, for any <presence> to
 * arrive before it unbinds `boot` and becomes idle (bootcode-xmpp.md
 * section 4 step 5). Prosody and ejabberd echo a client's broadcast
 * presence back to it; Openfire and jabberd2 do not, and the rabbit waits
 * forever. So when the rabbit sends an available broadcast presence (no
 * `to`, no `type`), a timer starts; any presence from the server before
 * it fires cancels it (the firmware does not look at `from`); otherwise
 * the rabbit gets its presence back from nabproxy.
 *
 * Config keys ([filter presence-echo]): timeout-ms, how long to wait for
 * the server's own echo (1..60000, default 1000).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nabproxy/filter.h>

static const struct nab_host	*host;

struct pe_state {
	unsigned	timeout_ms;
};

struct pe_sess {
	struct nab_timer	*timer;
	char			 id[128];
	int			 has_id;
};

static int	pe_init(const struct nab_host *, const struct nab_kv *, size_t,
		    void **, char *, size_t);
static void	pe_fini(void *);
static int	pe_open(struct nab_ctx *);
static void	pe_close(struct nab_ctx *);
static void	pe_fire(struct nab_ctx *, void *);
static enum nab_verdict pe_stanza(struct nab_ctx *, enum nab_dir,
		    struct nab_stanza *);

static int
pe_init(const struct nab_host *h, const struct nab_kv *kv, size_t n,
    void **state, char *err, size_t errlen)
{
	struct pe_state	*st;
	unsigned long	 v;
	char		*end;
	size_t		 i;

	host = h;
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	st->timeout_ms = 1000;
	for (i = 0; i < n; i++) {
		if (strcmp(kv[i].key, "timeout-ms") != 0) {
			snprintf(err, errlen, "%s:%d: unknown key '%s' "
			    "(allowed: timeout-ms)", kv[i].file, kv[i].line,
			    kv[i].key);
			free(st);
			return -1;
		}
		v = strtoul(kv[i].value, &end, 10);
		if (*kv[i].value == '\0' || *end != '\0' || v < 1 ||
		    v > 60000) {
			snprintf(err, errlen, "%s:%d: timeout-ms must be "
			    "1..60000 milliseconds", kv[i].file, kv[i].line);
			free(st);
			return -1;
		}
		st->timeout_ms = (unsigned)v;
	}
	*state = st;
	return 0;
}

static void
pe_fini(void *state)
{
	free(state);
}

static int
pe_open(struct nab_ctx *ctx)
{
	struct pe_sess	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -1;
	host->set_data(ctx, s);
	return 0;
}

/* The host cancels pending timers at close; only our memory is left. */
static void
pe_close(struct nab_ctx *ctx)
{
	free(host->get_data(ctx));
}

/*
 * No presence came from the server in time: send the rabbit its own,
 * from and to its bare JID (nothing it reads), with its id.
 */
static void
pe_fire(struct nab_ctx *ctx, void *arg)
{
	struct pe_state			*cf = host->filter_state(ctx);
	struct pe_sess			*s = host->get_data(ctx);
	const struct nab_identity	*id = host->identity(ctx);
	struct nab_stanza		*p;

	s->timer = NULL;
	if ((p = host->stanza_new(ctx, "presence")) == NULL ||
	    (id->bare_jid[0] != '\0' &&
	    (host->set_attr(ctx, p, "from", id->bare_jid) == -1 ||
	    host->set_attr(ctx, p, "to", id->bare_jid) == -1)) ||
	    (s->has_id && host->set_attr(ctx, p, "id", s->id) == -1) ||
	    host->inject(ctx, NAB_FROM_SERVER, p) == -1) {
		host->log(ctx, NAB_LOG_WARN, "cannot echo the rabbit's presence: "
		    "out of memory");
		return;
	}
	host->log(ctx, NAB_LOG_INFO, "the server did not echo the rabbit's "
	    "presence within %u ms: echoed it", cf->timeout_ms);
}

static enum nab_verdict
pe_stanza(struct nab_ctx *ctx, enum nab_dir d, struct nab_stanza *st)
{
	struct pe_state	*cf = host->filter_state(ctx);
	struct pe_sess	*s = host->get_data(ctx);
	const char	*id;

	if (strcmp(host->name(st), "presence") != 0)
		return NAB_PASS;
	if (d == NAB_FROM_SERVER) {
		if (s->timer != NULL) {
			host->timer_del(ctx, s->timer);
			s->timer = NULL;
		}
		return NAB_PASS;
	}
	/* Only a broadcast available presence is echoed by servers. */
	if (host->attr(st, "to") != NULL || host->attr(st, "type") != NULL)
		return NAB_PASS;
	s->has_id = (id = host->attr(st, "id")) != NULL &&
	    strlen(id) < sizeof(s->id);
	if (s->has_id)
		snprintf(s->id, sizeof(s->id), "%s", id);
	if (s->timer != NULL)
		host->timer_del(ctx, s->timer);
	if ((s->timer = host->timer_add(ctx, cf->timeout_ms, pe_fire,
	    NULL)) == NULL)
		host->log(ctx, NAB_LOG_WARN, "cannot arm the presence echo "
		    "timer: out of memory");
	return NAB_PASS;
}

const struct nab_filter nab_builtin_presence_echo = {
	NAB_FILTER_INIT,
	.name = "presence-echo",
	.version = "1.0",
	.description = "echo the rabbit's presence when the server does not",
	.init = pe_init,
	.fini = pe_fini,
	.open = pe_open,
	.close = pe_close,
	.on_stanza = pe_stanza,
};
