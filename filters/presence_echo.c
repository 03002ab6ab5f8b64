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
 * Settings ([filter presence-echo], ABI 1.4 table below): timeout-ms.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nabproxy/filter.h>

static const struct nab_host	*host;

struct pe_state {
	long long	timeout_ms;
};

struct pe_sess {
	struct nab_timer	*timer;
	char			 id[128];
	int			 has_id;
};

static const struct nab_setting pe_settings[] = {
	NAB_SETTING_INT("timeout-ms", struct pe_state, timeout_ms, 1, 60000,
	    "1000", "milliseconds to wait for the server's own echo"),
	NAB_SETTINGS_END
};

static int
pe_init(const struct nab_host *h, const struct nab_kv *kv, size_t n,
    void **state, char *err, size_t errlen)
{
	host = h;
	return 0;
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
	    "presence within %lld ms: echoed it", cf->timeout_ms);
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
	if ((s->timer = host->timer_add(ctx, (unsigned)cf->timeout_ms, pe_fire,
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
	.on_stanza = pe_stanza,
	.settings = pe_settings,
	.state_size = sizeof(struct pe_state),
	.session_size = sizeof(struct pe_sess),
};
