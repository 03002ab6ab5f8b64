/*
 * auth: SASL on the rabbit's behalf.
 *
 * Rabbits (the simulator of the seed, or the real firmware after a failed
 * registration) send bind, session and other stanzas on a stream that
 * never authenticated; servers answer 401 not-authorized. When the rabbit
 * sends anything that needs an authenticated stream, this connection has
 * proven the account's password (identity `proof`: its register set
 * matched the stored password or was proven by a login probe, or its
 * DIGEST-MD5 matched the store) and the password is stored, this
 * filter holds the rabbit's stanzas, logs in upstream with the best
 * mechanism the server offers (host upstream_login service), and releases
 * them in order once the server accepted. On failure the held stanzas go
 * to the server as they are, so the rabbit gets the server's own
 * not-authorized, and the account backs off before the next try.
 *
 * A MAC is not a secret (it is printed on the rabbit): a connection that
 * only names an account (a bind `from`, a register username it never
 * proved) is passed through unrepaired and gets exactly what the server
 * gives an unauthenticated stream.
 *
 * Settings ([filter auth], ABI 1.4 table below): backoff-min and
 * backoff-max, in seconds.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nabproxy/filter.h>

#define NS_SASL		"urn:ietf:params:xml:ns:xmpp-sasl"
#define NS_REGISTER	"jabber:iq:register"
#define NS_VREGISTER	"violet:iq:register"
#define NS_IQAUTH	"jabber:iq:auth"
#define BACKOFF_SLOTS	256

static const struct nab_host	*host;

/* Per-account login failures, shared by all sessions (one loop thread). */
struct backoff {
	char		jid[128];
	unsigned	failures;
	time_t		until;
};

struct auth_state {
	long long	min, max;	/* settings */
	struct backoff	slot[BACKOFF_SLOTS];
};

struct auth_sess {
	int	logging_in;
	int	warned;
	int	rabbit_sasl;	/* the rabbit authenticates itself */
	char	jid[128];
};

static const struct nab_setting auth_settings[] = {
	NAB_SETTING_INT("backoff-min", struct auth_state, min, 0, 86400, "2",
	    "seconds an account waits after its first failed upstream login "
	    "(doubled after each further failure)"),
	NAB_SETTING_INT("backoff-max", struct auth_state, max, 0, 86400, "300",
	    "the longest wait, in seconds"),
	NAB_SETTINGS_END
};

static int
auth_init(const struct nab_host *h, const struct nab_kv *kv, size_t n,
    void **state, char *err, size_t errlen)
{
	host = h;
	return 0;
}

static struct backoff *
backoff_find(struct auth_state *st, const char *jid, int create)
{
	struct backoff	*oldest = &st->slot[0];
	size_t		 i;

	for (i = 0; i < BACKOFF_SLOTS; i++) {
		if (strcmp(st->slot[i].jid, jid) == 0)
			return &st->slot[i];
		if (st->slot[i].until < oldest->until)
			oldest = &st->slot[i];
	}
	if (!create)
		return NULL;
	memset(oldest, 0, sizeof(*oldest));
	snprintf(oldest->jid, sizeof(oldest->jid), "%s", jid);
	return oldest;
}

/* Does this stanza need an authenticated stream? */
static int
needs_auth(const struct nab_stanza *st)
{
	const char	*name = host->name(st);

	if (strcmp(name, "iq") == 0)
		return host->child(st, "query", NS_REGISTER) == NULL &&
		    host->child(st, "query", NS_VREGISTER) == NULL &&
		    host->child(st, "query", NS_IQAUTH) == NULL;
	return strcmp(name, "presence") == 0 || strcmp(name, "message") == 0;
}

/*
 * Learn the rabbit's bare JID from what it says: a register username or
 * a `from` such as "f81edfee27c1@almacska" or "MAC@DOM/". Only a MAC
 * (12 hex digits, kept in lower case as filter.h promises) is taken:
 * the identity's MAC also names the rabbit's log file under log-dir.
 */
static void
learn_identity(struct nab_ctx *ctx, const struct nab_stanza *st)
{
	const struct nab_identity	*id = host->identity(ctx);
	const char			*from, *at;
	char				 local[13];
	size_t				 i;

	if (id->bare_jid[0] != '\0')
		return;
	if ((from = host->attr(st, "from")) == NULL ||
	    (at = strchr(from, '@')) == NULL || at - from != 12)
		return;
	for (i = 0; i < 12; i++) {
		if (!isxdigit((unsigned char)from[i]))
			return;
		local[i] = (char)tolower((unsigned char)from[i]);
	}
	local[12] = '\0';
	host->set_identity(ctx, local, NULL, NULL);
}

static void
login_done(struct nab_ctx *ctx, const struct nab_login_result *r, void *arg)
{
	struct auth_state	*st = host->filter_state(ctx);
	struct auth_sess	*s = host->get_data(ctx);
	struct backoff		*b;
	unsigned		 wait;

	s->logging_in = 0;
	if (r->ok) {
		if ((b = backoff_find(st, s->jid, 0)) != NULL)
			memset(b, 0, sizeof(*b));
		host->log(ctx, NAB_LOG_INFO, "authenticated upstream as %s "
		    "with %s on the rabbit's behalf", s->jid, r->mechanism);
	} else if ((b = backoff_find(st, s->jid, 1)) != NULL) {
		wait = (unsigned)st->min << (b->failures < 16 ? b->failures : 16);
		if (wait > st->max || wait == 0)
			wait = (unsigned)st->max;
		b->failures++;
		b->until = time(NULL) + wait;
		host->log(ctx, NAB_LOG_WARN, "upstream login for %s failed "
		    "(%s: %s); held stanzas go to the server unauthenticated; "
		    "next attempt for this account in %u s", s->jid,
		    r->mechanism, r->reason, wait);
	}
	host->release(ctx);
}

/* Start a login for the rabbit if we can; 1 if the stanza is now held. */
static int
start_login(struct nab_ctx *ctx, struct auth_sess *s)
{
	const struct nab_identity	*id = host->identity(ctx);
	struct auth_state		*st = host->filter_state(ctx);
	struct backoff			*b;
	const char			*pw;
	char				 local[128], *at;

	if (id->bare_jid[0] == '\0')
		return 0;
	/* Cut short, it would name another account. */
	if (strlen(id->bare_jid) >= sizeof(s->jid)) {
		if (!s->warned)
			host->log(ctx, NAB_LOG_WARN, "the rabbit's JID is longer "
			    "than %zu bytes: not logging in for it",
			    sizeof(s->jid) - 1);
		s->warned = 1;
		return 0;
	}
	snprintf(s->jid, sizeof(s->jid), "%s", id->bare_jid);
	if (id->proof == NULL || id->proof[0] == '\0') {
		if (!s->warned)
			host->log(ctx, NAB_LOG_WARN, "%s has not proven its "
			    "password on this connection: passing its stanzas "
			    "through unrepaired (a MAC is not a secret; the "
			    "rabbit proves its password by registering or by "
			    "its own SASL login)", s->jid);
		s->warned = 1;
		return 0;
	}
	if ((pw = host->cred_get(ctx, s->jid)) == NULL) {
		if (!s->warned)
			host->log(ctx, NAB_LOG_WARN, "no credentials known for "
			    "%s: its stanzas go to the server unauthenticated; "
			    "add them with: nabproxy credentials add %s",
			    s->jid, s->jid);
		s->warned = 1;
		return 0;
	}
	if ((b = backoff_find(st, s->jid, 0)) != NULL &&
	    b->until > time(NULL)) {
		if (!s->warned)
			host->log(ctx, NAB_LOG_WARN, "%s is backing off after "
			    "%u failed logins (%ld s left): not logging in",
			    s->jid, b->failures, (long)(b->until - time(NULL)));
		s->warned = 1;
		return 0;
	}
	snprintf(local, sizeof(local), "%s", s->jid);
	if ((at = strchr(local, '@')) != NULL)
		*at = '\0';
	/* Set first: the callback may run before upstream_login returns. */
	s->logging_in = 1;
	host->hold(ctx);
	if (host->upstream_login(ctx, local, pw, login_done, NULL) == -1) {
		s->logging_in = 0;
		host->release(ctx);
		return 0;
	}
	return 1;
}

static enum nab_verdict
auth_stanza(struct nab_ctx *ctx, enum nab_dir d, struct nab_stanza *st)
{
	struct auth_sess	*s = host->get_data(ctx);
	const char		*ns;

	if (d != NAB_FROM_RABBIT || s->rabbit_sasl ||
	    host->upstream_authenticated(ctx))
		return NAB_PASS;
	if (strcmp(host->name(st), "auth") == 0 &&
	    (ns = host->xmlns(st)) != NULL && strcmp(ns, NS_SASL) == 0) {
		s->rabbit_sasl = 1;
		return NAB_PASS;
	}
	learn_identity(ctx, st);
	if (s->logging_in || !needs_auth(st))
		return NAB_PASS;
	start_login(ctx, s);
	return NAB_PASS;
}

const struct nab_filter nab_builtin_auth = {
	NAB_FILTER_INIT,
	.name = "auth",
	.version = "1.1",
	.description = "SASL on the rabbit's behalf: hold, log in upstream, release",
	.init = auth_init,
	.on_stanza = auth_stanza,
	.settings = auth_settings,
	.state_size = sizeof(struct auth_state),
	.session_size = sizeof(struct auth_sess),
};
