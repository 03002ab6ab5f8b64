/*
 * login: client side of XMPP SASL negotiation (RFC 6120 section 6) over
 * parsed stanzas, for the proxy's upstream logins on a rabbit's behalf.
 *
 * It owns the choice of mechanism, the base64 framing of <auth>,
 * <response>, <challenge> and <success>, and the one reason a login
 * failed; the mechanisms themselves are in sasl.c. Every element it emits
 * goes to the caller's evbuffer in a single evbuffer_add(), so a failure
 * never leaves half an element behind. It never touches a socket.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "kdf.h"
#include "login.h"
#include "sasl.h"
#include "stanza.h"

#define LOGIN_MAXMECHS	32
#define LOGIN_MECHLEN	32		/* RFC 4422: at most 20 characters */
#define LOGIN_B64MAX	8192		/* base64 text of one SASL element */
#define LOGIN_ERRMAX	256

enum login_state {
	LOGIN_ST_INIT = 0,	/* waiting for stream features */
	LOGIN_ST_AUTH = 1,	/* <auth> sent, exchanging */
	LOGIN_ST_DONE = 2,
	LOGIN_ST_FAILED = 3
};

struct login {
	enum login_state	 lg_state;
	char			*lg_user;
	char			*lg_domain;
	char			*lg_password;	/* wiped once sasl holds it */
	size_t			 lg_pwlen;
	struct login_opts	 lg_opts;
	struct sasl_client	*lg_sasl;
	char			 lg_err[LOGIN_ERRMAX];
	int			 lg_rejected;	/* the server judged the password */
	struct kdf_job		*lg_job;	/* key derivation under way */
	unsigned char		 lg_key[KDF_OUT_MAX];	/* its result */
	size_t			 lg_keylen;	/* 0: it failed */
};

static int	login_fail(struct login *, const char *, ...) PRINTF(2, 3);
static int	login_derive(struct login *);
static int	login_offered(const struct st_node *,
		    char [LOGIN_MAXMECHS][LOGIN_MECHLEN], size_t *);
static int	login_text(const struct st_node *, char *, size_t, size_t *);
static int	login_isws(char);
static void	login_printable(char *, size_t, const char *, size_t);
static int	login_nomech(struct login *,
		    char [LOGIN_MAXMECHS][LOGIN_MECHLEN], size_t, int);
static int	login_emit(struct login *, struct evbuffer *, const char *,
		    const unsigned char *, size_t, int);
static int	login_decode(struct login *, const struct st_node *,
		    unsigned char **, size_t *);
static int	login_failure(struct login *, const struct st_node *);

/*
 * New negotiation for user@domain with password; o NULL means all
 * defaults. Returns the object (free with login_free()) or NULL with a
 * reason in err: empty or oversized arguments, ENOMEM.
 */
struct login *
login_new(const char *user, const char *domain, const char *password,
    const struct login_opts *o, char *err, size_t errlen)
{
	struct login	*l;

	if (user == NULL || *user == '\0' || domain == NULL ||
	    *domain == '\0' || password == NULL) {
		if (err != NULL && errlen > 0)
			(void)snprintf(err, errlen, "login needs a user, a "
			    "domain and a password");
		return NULL;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (l->lg_user = strdup(user)) == NULL ||
	    (l->lg_domain = strdup(domain)) == NULL ||
	    (l->lg_password = strdup(password)) == NULL) {
		login_free(l);
		if (err != NULL && errlen > 0)
			(void)snprintf(err, errlen, "out of memory");
		return NULL;
	}
	l->lg_pwlen = strlen(password);
	if (o != NULL)
		l->lg_opts = *o;
	l->lg_state = LOGIN_ST_INIT;
	return l;
}

/*
 * Read <mechanisms xmlns=sasl> from a <stream:features> element, choose
 * (SCRAM-SHA-256, SCRAM-SHA-1, DIGEST-MD5, then PLAIN only under TLS or
 * with allow_plain_cleartext) and write <auth> to out. Returns
 * LOGIN_CONTINUE, or LOGIN_FAIL (nothing written) with a reason such as
 * "server offers no usable mechanism (offered: PLAIN; PLAIN refused
 * without TLS)". Called once; a second call fails.
 */
int
login_features(struct login *l, const struct st_node *features,
    struct evbuffer *out)
{
	char		 names[LOGIN_MAXMECHS][LOGIN_MECHLEN];
	const char	*ptrs[LOGIN_MAXMECHS];
	char		 err[LOGIN_ERRMAX];
	unsigned char	*ir;
	size_t		 n, i, irlen;
	enum sasl_mech	 mech;
	int		 allow_plain, rv;

	if (l->lg_state != LOGIN_ST_INIT)
		return login_fail(l, "stream features %s",
		    l->lg_state == LOGIN_ST_FAILED ? "after failure" :
		    "received twice");
	if (features == NULL)
		return login_fail(l, "no stream features");
	if (login_offered(features, names, &n) == -1)
		return login_fail(l, "server offers no SASL mechanisms");
	for (i = 0; i < n; i++)
		ptrs[i] = names[i];
	allow_plain = l->lg_opts.tls_active ||
	    l->lg_opts.allow_plain_cleartext;
	if ((mech = sasl_choose(ptrs, n, allow_plain)) == SASL_MECH_NONE)
		return login_nomech(l, names, n, allow_plain);
	l->lg_sasl = sasl_client_new(mech, l->lg_user, l->lg_password,
	    l->lg_domain, l->lg_opts.max_iterations, err, sizeof(err));
	explicit_bzero(l->lg_password, l->lg_pwlen);
	if (l->lg_sasl == NULL)
		return login_fail(l, "%s: %s", sasl_mech_name(mech), err);
	if (l->lg_opts.kdf != NULL && l->lg_opts.resume != NULL)
		sasl_client_set_async(l->lg_sasl, 1);
	if (sasl_client_start(l->lg_sasl, &ir, &irlen) != SASL_CONTINUE)
		return login_fail(l, "%s: %s", sasl_mech_name(mech),
		    sasl_client_error(l->lg_sasl));
	rv = login_emit(l, out, "auth", ir, irlen, ir != NULL);
	if (rv == LOGIN_CONTINUE)
		l->lg_state = LOGIN_ST_AUTH;
	return rv;
}

/*
 * Feed one element received after <auth>. <challenge> writes a
 * <response> to out and returns LOGIN_CONTINUE; <success> returns
 * LOGIN_SUCCESS only if the mechanism verified the server; <failure>,
 * malformed base64, a hostile challenge or any other element return
 * LOGIN_FAIL with a reason. After LOGIN_SUCCESS or LOGIN_FAIL every call
 * fails.
 */
int
login_input(struct login *l, const struct st_node *st, struct evbuffer *out)
{
	unsigned char	*data, *resp;
	size_t		 len, resplen;
	const char	*ns;
	char		 name[64];
	int		 r;

	if (l->lg_state != LOGIN_ST_AUTH)
		return login_fail(l, "SASL element %s", l->lg_state ==
		    LOGIN_ST_INIT ? "before <auth>" : "after the end of the "
		    "negotiation");
	if (st == NULL || st->name == NULL)
		return login_fail(l, "no element");
	ns = st_xmlns(st);
	if (ns == NULL || strcmp(ns, LOGIN_NS_SASL) != 0 ||
	    (strcmp(st->name, "challenge") != 0 &&
	    strcmp(st->name, "success") != 0 &&
	    strcmp(st->name, "failure") != 0)) {
		login_printable(name, sizeof(name), st->name,
		    strlen(st->name));
		return login_fail(l, "unexpected <%s> during SASL "
		    "negotiation", name);
	}
	if (strcmp(st->name, "failure") == 0)
		return login_failure(l, st);
	if (login_decode(l, st, &data, &len) == LOGIN_FAIL)
		return LOGIN_FAIL;
	if (strcmp(st->name, "success") == 0) {
		r = sasl_client_success(l->lg_sasl, data, len);
		free(data);
		if (r != SASL_DONE)
			return login_fail(l, "%s: %s", login_mech(l),
			    sasl_client_error(l->lg_sasl));
		l->lg_state = LOGIN_ST_DONE;
		return LOGIN_SUCCESS;
	}
	r = sasl_client_step(l->lg_sasl, data, len, &resp, &resplen);
	free(data);
	if (r == SASL_PENDING)
		return login_derive(l);
	if (r != SASL_CONTINUE)
		return login_fail(l, "%s: %s", login_mech(l),
		    sasl_client_error(l->lg_sasl));
	return login_emit(l, out, "response", resp, resplen, resplen > 0);
}

/* The key derivation finished (on the loop): tell the owner. */
static void
login_derived(void *arg, int ok, const unsigned char *key, size_t keylen)
{
	struct login	*l = arg;

	l->lg_job = NULL;
	l->lg_keylen = 0;
	if (ok && keylen <= sizeof(l->lg_key)) {
		memcpy(l->lg_key, key, keylen);
		l->lg_keylen = keylen;
	}
	l->lg_opts.resume(l->lg_opts.resume_arg);
}

/* SCRAM's Hi() goes to the pool; LOGIN_PENDING, or LOGIN_FAIL. */
static int
login_derive(struct login *l)
{
	struct sasl_kdf		k;
	struct kdf_params	p;

	if (sasl_client_kdf(l->lg_sasl, &k) == -1)
		return login_fail(l, "%s: no key to derive", login_mech(l));
	memset(&p, 0, sizeof(p));
	p.md = k.md;
	p.password = k.password;
	p.pwlen = k.pwlen;
	p.salt = k.salt;
	p.saltlen = k.saltlen;
	p.iterations = k.iterations;
	p.outlen = k.outlen;
	l->lg_job = kdf_submit(l->lg_opts.kdf, &p, login_derived, l);
	explicit_bzero(&k, sizeof(k));
	if (l->lg_job == NULL)
		return login_fail(l, "%s: key derivation queue full",
		    login_mech(l));
	return LOGIN_PENDING;
}

int
login_resume(struct login *l, struct evbuffer *out)
{
	unsigned char	*resp;
	size_t		 resplen;
	int		 r;

	if (l->lg_state != LOGIN_ST_AUTH || l->lg_job != NULL)
		return login_fail(l, "resumed with no key derived");
	r = sasl_client_resume(l->lg_sasl, l->lg_keylen ? l->lg_key : NULL,
	    l->lg_keylen, &resp, &resplen);
	explicit_bzero(l->lg_key, sizeof(l->lg_key));
	if (r != SASL_CONTINUE)
		return login_fail(l, "%s: %s", login_mech(l),
		    sasl_client_error(l->lg_sasl));
	return login_emit(l, out, "response", resp, resplen, resplen > 0);
}

/* Name of the chosen mechanism, "none" before login_features() chose. */
const char *
login_mech(const struct login *l)
{
	if (l->lg_sasl == NULL)
		return "none";
	return sasl_mech_name(sasl_client_mech(l->lg_sasl));
}

/* Failure reason, "" while none. Owned by l; peer text escaped. */
const char *
login_error(const struct login *l)
{
	return l->lg_err;
}

/* Wipe the password and the mechanism state, then free. NULL accepted. */
void
login_free(struct login *l)
{
	if (l == NULL)
		return;
	if (l->lg_job != NULL)
		kdf_cancel(l->lg_opts.kdf, l->lg_job);
	if (l->lg_password != NULL) {
		explicit_bzero(l->lg_password, l->lg_pwlen);
		free(l->lg_password);
		l->lg_password = NULL;
	}
	sasl_client_free(l->lg_sasl);
	l->lg_sasl = NULL;
	free(l->lg_user);
	free(l->lg_domain);
	explicit_bzero(l, sizeof(*l));
	free(l);
}

/* Record the first reason, mark l failed, return LOGIN_FAIL. */
static int
login_fail(struct login *l, const char *fmt, ...)
{
	va_list	ap;

	if (l->lg_state != LOGIN_ST_FAILED) {
		va_start(ap, fmt);
		(void)vsnprintf(l->lg_err, sizeof(l->lg_err), fmt, ap);
		va_end(ap);
	}
	l->lg_state = LOGIN_ST_FAILED;
	return LOGIN_FAIL;
}

/*
 * Collect up to LOGIN_MAXMECHS <mechanism> names (trimmed, printable,
 * overlong ones skipped) from features into names. Returns 0 with *n set
 * (possibly 0), or -1 when there is no <mechanisms xmlns=sasl> element.
 */
static int
login_offered(const struct st_node *features,
    char names[LOGIN_MAXMECHS][LOGIN_MECHLEN], size_t *n)
{
	const struct st_node	*mechs, *m;
	char			 buf[LOGIN_MECHLEN];
	size_t			 len;

	*n = 0;
	if ((mechs = st_child(features, "mechanisms", LOGIN_NS_SASL)) == NULL)
		return -1;
	for (m = st_child(mechs, "mechanism", NULL); m != NULL && *n <
	    LOGIN_MAXMECHS; m = st_next_elem(m)) {
		if (strcmp(m->name, "mechanism") != 0 ||
		    login_text(m, buf, sizeof(buf), &len) == -1 || len == 0)
			continue;
		login_printable(names[*n], LOGIN_MECHLEN, buf, len);
		(*n)++;
	}
	return 0;
}

/*
 * Direct character data of n, XML white space trimmed at both ends, into
 * buf (NUL-terminated, *len bytes). Returns 0, or -1 when it does not fit.
 */
static int
login_text(const struct st_node *n, char *buf, size_t cap, size_t *len)
{
	const struct st_node	*c;
	size_t			 o = 0, s = 0;

	for (c = n->first; c != NULL; c = c->next) {
		if (c->name != NULL)
			continue;
		if (c->textlen >= cap - o)
			return -1;
		(void)memcpy(buf + o, c->text, c->textlen);
		o += c->textlen;
	}
	while (o > 0 && login_isws(buf[o - 1]))
		o--;
	while (s < o && login_isws(buf[s]))
		s++;
	(void)memmove(buf, buf + s, o - s);
	*len = o - s;
	buf[*len] = '\0';
	return 0;
}

/* 1 for XML white space (space, tab, CR, LF), else 0. */
static int
login_isws(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* Copy peer text for a log line: printable ASCII kept, else '?'. */
static void
login_printable(char *dst, size_t cap, const char *src, size_t n)
{
	size_t	i;

	for (i = 0; i < n && i + 1 < cap; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
	dst[i] = '\0';
}

/* Fail with the list of what the server offered. Returns LOGIN_FAIL. */
static int
login_nomech(struct login *l, char names[LOGIN_MAXMECHS][LOGIN_MECHLEN],
    size_t n, int allow_plain)
{
	char	list[LOGIN_ERRMAX];
	size_t	i, off = 0;
	int	plain = 0;

	list[0] = '\0';
	for (i = 0; i < n && off < sizeof(list); i++) {
		off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
		    i > 0 ? ", " : "", names[i]);
		if (sasl_mech_byname(names[i]) == SASL_MECH_PLAIN)
			plain = 1;
	}
	return login_fail(l, "server offers no usable mechanism (offered: "
	    "%s%s)", n > 0 ? list : "none", plain && !allow_plain ?
	    "; PLAIN refused without TLS" : "");
}

/*
 * Write <elem xmlns=sasl [mechanism=M]>DATA</elem> to out in one
 * evbuffer_add. DATA is the base64 of data, "=" for present-but-empty,
 * nothing when !present. The staging copy is wiped (it may hold a PLAIN
 * password). Returns LOGIN_CONTINUE, or LOGIN_FAIL on ENOMEM.
 */
static int
login_emit(struct login *l, struct evbuffer *out, const char *elem,
    const unsigned char *data, size_t len, int present)
{
	char	*buf;
	size_t	 cap, off;
	int	 n, rv = LOGIN_CONTINUE;

	cap = 128 + strlen(elem) * 2 + sasl_b64_enclen(len) + 1;
	if ((buf = malloc(cap)) == NULL)
		return login_fail(l, "out of memory");
	if (strcmp(elem, "auth") == 0)
		n = snprintf(buf, cap, "<auth xmlns='%s' mechanism='%s'>",
		    LOGIN_NS_SASL, login_mech(l));
	else
		n = snprintf(buf, cap, "<%s xmlns='%s'>", elem, LOGIN_NS_SASL);
	off = (size_t)n;
	if (present && len == 0)
		buf[off++] = '=';
	else if (present) {
		if (sasl_b64_encode(data, len, buf + off, cap - off) == -1)
			rv = login_fail(l, "base64 buffer too small");
		off += sasl_b64_enclen(len);
	}
	if (rv == LOGIN_CONTINUE) {
		off += (size_t)snprintf(buf + off, cap - off, "</%s>", elem);
		if (evbuffer_add(out, buf, off) == -1)
			rv = login_fail(l, "out of memory");
	}
	explicit_bzero(buf, cap);
	free(buf);
	return rv;
}

/*
 * Base64 text of a <challenge> or <success> into *data (malloc'd, caller
 * frees; NULL when empty). Empty text and "=" both decode to no bytes.
 * Returns LOGIN_CONTINUE or LOGIN_FAIL (too long, malformed, ENOMEM).
 */
static int
login_decode(struct login *l, const struct st_node *st, unsigned char **data,
    size_t *len)
{
	char	*text;
	size_t	 tlen;

	*data = NULL;
	*len = 0;
	if ((text = malloc(LOGIN_B64MAX + 1)) == NULL)
		return login_fail(l, "out of memory");
	if (login_text(st, text, LOGIN_B64MAX + 1, &tlen) == -1) {
		free(text);
		return login_fail(l, "<%s> longer than %d bytes", st->name,
		    LOGIN_B64MAX);
	}
	if (tlen == 0 || (tlen == 1 && text[0] == '=')) {
		free(text);
		return LOGIN_CONTINUE;
	}
	if ((*data = malloc(sasl_b64_declen(tlen))) == NULL) {
		free(text);
		return login_fail(l, "out of memory");
	}
	if (sasl_b64_decode(text, tlen, *data, sasl_b64_declen(tlen),
	    len) == -1) {
		free(text);
		free(*data);
		*data = NULL;
		return login_fail(l, "malformed base64 in <%s>", st->name);
	}
	free(text);
	return LOGIN_CONTINUE;
}

/*
 * <failure>: the first child element names the condition (RFC 6120
 * 6.5), an optional <text> explains. Always LOGIN_FAIL.
 */
static int
login_failure(struct login *l, const struct st_node *st)
{
	const struct st_node	*c, *t;
	char			 cond[64], text[160], raw[1024];
	size_t			 len;

	(void)strcpy(cond, "unknown-condition");
	text[0] = '\0';
	for (c = st_child(st, NULL, NULL); c != NULL; c = st_next_elem(c)) {
		if (strcmp(c->name, "text") != 0) {
			login_printable(cond, sizeof(cond), c->name,
			    strlen(c->name));
			break;
		}
	}
	if ((t = st_child(st, "text", NULL)) != NULL &&
	    login_text(t, raw, sizeof(raw), &len) == 0 && len > 0)
		login_printable(text, sizeof(text), raw, len);
	/* RFC 6120 6.5: the conditions that are a verdict on the credentials. */
	l->lg_rejected = strcmp(cond, "not-authorized") == 0 ||
	    strcmp(cond, "credentials-expired") == 0 ||
	    strcmp(cond, "account-disabled") == 0 ||
	    strcmp(cond, "invalid-authzid") == 0;
	return login_fail(l, "server refused authentication: %s%s%s%s",
	    cond, text[0] != '\0' ? " (" : "", text,
	    text[0] != '\0' ? ")" : "");
}

int
login_rejected(const struct login *l)
{
	return l->lg_rejected;
}

void
login_set_tls(struct login *l, int on)
{
	l->lg_opts.tls_active = on;
}
