/*
 * identity: who a rabbit is, how this connection proved it, and the
 * process-wide guard on password proofs by login probe. See identity.h.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "identity.h"
#include "sasl.h"
#include "stanza.h"

#define NS_SASL		"urn:ietf:params:xml:ns:xmpp-sasl"
#define NS_BIND		"urn:ietf:params:xml:ns:xmpp-bind"

/* What an unset string points at (never written). */
static char	id_empty[1];

/* *dst = s cut to size - 1 bytes; the old string is freed. ENOMEM: "". */
static void
id_set(char **dst, size_t size, const char *s)
{
	size_t	 n = strnlen(s, size - 1);
	char	*p;

	if (strncmp(*dst, s, n) == 0 && (*dst)[n] == '\0')
		return;		/* unchanged (s may be *dst) */
	p = n > 0 ? malloc(n + 1) : NULL;
	if (p != NULL) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	if (*dst != id_empty)
		free(*dst);
	*dst = p != NULL ? p : id_empty;
}

/* The filters' view follows the strings. */
static void
id_repoint(struct identity *id)
{
	id->pub.bare_jid = id->bare_jid;
}

void
identity_free(struct identity *id)
{
	id_set(&id->bare_jid, 1, "");
	id_set(&id->sasl_user, 1, "");
	id_repoint(id);
}

void
identity_init(struct identity *id, const char *peer, uint64_t session_id)
{
	memset(id, 0, sizeof(*id));
	id->pub.peer = peer;
	id->pub.mac = id->mac;
	id->bare_jid = id->sasl_user = id_empty;
	id->pub.domain = id->domain;
	id->pub.bare_jid = id->bare_jid;
	id->pub.firmware = id->firmware;
	id->pub.profile = "";
	id->pub.session_id = session_id;
	id->pub.proof = id->proof;
}

static int
is_mac(const char *s)
{
	size_t	i;

	for (i = 0; i < 12; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return s[12] == '\0';
}

static void
update_jid(struct identity *id)
{
	char	jid[ID_JID_MAX];

	if (id->mac[0] != '\0' && id->domain[0] != '\0') {
		snprintf(jid, sizeof(jid), "%s@%s", id->mac, id->domain);
		id_set(&id->bare_jid, sizeof(jid), jid);
		id_repoint(id);
	}
}

void
identity_claim(struct identity *id, const char *mac, const char *domain,
    const char *firmware)
{
	size_t	i;

	if (firmware != NULL)
		snprintf(id->firmware, sizeof(id->firmware), "%s", firmware);
	if (id->proof[0] != '\0')
		return;
	if (mac != NULL && is_mac(mac))
		for (i = 0; i <= 12; i++)
			id->mac[i] = (char)tolower((unsigned char)mac[i]);
	if (domain != NULL)
		snprintf(id->domain, sizeof(id->domain), "%s", domain);
	update_jid(id);
}

int
identity_prove(struct identity *id, const char *user, const char *how)
{
	char	jid[ID_JID_MAX];
	size_t	i;
	int	n;

	n = snprintf(jid, sizeof(jid), "%s@%s", user, id->domain);
	if (n < 0 || (size_t)n >= sizeof(jid) || user[0] == '\0' ||
	    id->domain[0] == '\0')
		return -1;
	if (id->proof[0] != '\0')
		return strcmp(jid, id->bare_jid) == 0 ? 0 : -1;
	/* The proven account names the rabbit from now on. */
	if (is_mac(user)) {
		for (i = 0; i <= 12; i++)
			id->mac[i] = (char)tolower((unsigned char)user[i]);
	} else
		id->mac[0] = '\0';
	id_set(&id->bare_jid, sizeof(jid), jid);
	id_repoint(id);
	snprintf(id->proof, sizeof(id->proof), "%s", how);
	return 0;
}

int
identity_proven(const struct identity *id)
{
	return id->proof[0] != '\0';
}

int
identity_is(const struct identity *id, const char *jid)
{
	return id->proof[0] != '\0' && strcmp(jid, id->bare_jid) == 0;
}

/*
 * Table A, A1 of bootcode-xmpp.md (the seed's simulator sends the same):
 * <?xml version='1.0' encoding='UTF-8'?>\n<stream:stream to='DOM'
 * xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'
 * version='1.0'>
 */
int
identity_nabaztag_header(const char *b, size_t len)
{
	static const char	head[] = "<?xml version='1.0' encoding='UTF-8'?>"
	    "\n<stream:stream to='";
	static const char	tail[] = "' xmlns='jabber:client' xmlns:stream="
	    "'http://etherx.jabber.org/streams' version='1.0'>";
	const char		*q;
	size_t			 hl = sizeof(head) - 1, tl = sizeof(tail) - 1;

	if (len < hl + tl + 1 || memcmp(b, head, hl) != 0)
		return 0;
	if ((q = memchr(b + hl, '\'', len - hl)) == NULL || q == b + hl)
		return 0;
	if ((size_t)(b + len - q) != tl || memcmp(q, tail, tl) != 0)
		return 0;
	return 1;
}

const char *
identity_detect(const struct st_node *st, int nabaztag_header)
{
	const struct st_node	*q;
	const char		*from, *mech, *ns, *type;
	size_t			 n;

	if (strcmp(st->name, "auth") == 0 && (ns = st_xmlns(st)) != NULL &&
	    strcmp(ns, NS_SASL) == 0 && nabaztag_header &&
	    (mech = st_attr(st, "mechanism")) != NULL &&
	    strcmp(mech, "DIGEST-MD5") == 0)
		return "bootcode-18673";
	if (strcmp(st->name, "iq") != 0)
		return NULL;
	if (st_child(st, "query", "violet:iq:register") != NULL)
		return "bootcode-18673";
	if ((q = st_child(st, "query", "jabber:iq:register")) != NULL &&
	    (st_child(q, "name", NULL) != NULL ||
	    st_child(q, "email", NULL) != NULL))
		return "simulator";
	if (st_child(st, "bind", NS_BIND) != NULL &&
	    (from = st_attr(st, "from")) != NULL && strchr(from, '@') != NULL) {
		n = strlen(from);
		return from[n - 1] == '/' ? "bootcode-18673" : "simulator";
	}
	/* The simulator asks for the jabber:iq:register form first. */
	if (nabaztag_header && (type = st_attr(st, "type")) != NULL &&
	    strcmp(type, "get") == 0 &&
	    st_child(st, "query", "jabber:iq:register") != NULL)
		return "simulator";
	return NULL;
}

int
identity_register_mac(const struct st_node *st, char mac[13])
{
	const struct st_node	*q, *u, *t;
	const char		*type;
	size_t			 i, n = 0;

	if (strcmp(st->name, "iq") != 0 ||
	    (type = st_attr(st, "type")) == NULL || strcmp(type, "set") != 0)
		return -1;
	if ((q = st_child(st, "query", "jabber:iq:register")) == NULL &&
	    (q = st_child(st, "query", "violet:iq:register")) == NULL)
		return -1;
	if ((u = st_child(q, "username", NULL)) == NULL)
		return -1;
	for (t = u->first; t != NULL; t = t->next) {
		if (t->name != NULL)
			return -1;
		for (i = 0; i < t->textlen; i++) {
			if (n == 12 || !isxdigit((unsigned char)t->text[i]))
				return -1;
			mac[n++] = (char)tolower((unsigned char)t->text[i]);
		}
	}
	if (n != 12)
		return -1;
	mac[n] = '\0';
	return 0;
}

/* The first direct text child, or "". */
static const char *
text_of(const struct st_node *st)
{
	return st->first != NULL && st->first->name == NULL ?
	    st->first->text : "";
}

/* Copy the value of key (quoted or not) from a DIGEST-MD5 response. */
static void
digest_user(const char *s, size_t len, char *out, size_t cap)
{
	const char	*p = s, *end = s + len, *v;
	size_t		 n;

	while (p < end) {
		while (p < end && (*p == ',' || *p == ' '))
			p++;
		if ((size_t)(end - p) > 9 && memcmp(p, "username=", 9) == 0) {
			v = p + 9;
			if (v < end && *v == '"')
				v++;
			for (n = 0; v + n < end && v[n] != '"' && v[n] != ',' &&
			    n + 1 < cap; n++)
				out[n] = v[n];
			out[n] = '\0';
			return;
		}
		while (p < end && *p != ',')
			p++;
	}
}

/* Username from a decoded initial response or response, by mechanism. */
static void
sasl_user(const char *mech, const char *d, size_t len, char *out, size_t cap)
{
	const char	*a, *b, *e;
	size_t		 n;

	if (strcmp(mech, "PLAIN") == 0) {
		/* authzid NUL authcid NUL password: keep only authcid. */
		if ((a = memchr(d, '\0', len)) == NULL)
			return;
		a++;
		if ((b = memchr(a, '\0', len - (size_t)(a - d))) == NULL)
			return;
		n = (size_t)(b - a);
		if (n < cap) {
			memcpy(out, a, n);
			out[n] = '\0';
		}
	} else if (strncmp(mech, "SCRAM-", 6) == 0) {
		/* gs2 header "n,," or "y,,", then "n=user,r=..." */
		e = d + len;
		if ((a = memchr(d, ',', len)) == NULL ||
		    (a = memchr(a + 1, ',', (size_t)(e - a - 1))) == NULL)
			return;
		a++;
		if (e - a < 2 || a[0] != 'n' || a[1] != '=')
			return;
		a += 2;
		for (n = 0; a + n < e && a[n] != ',' && n + 1 < cap; n++)
			out[n] = a[n];
		out[n] = '\0';
	} else if (strcmp(mech, "DIGEST-MD5") == 0)
		digest_user(d, len, out, cap);
}

void
identity_note_sasl(struct identity *id, const struct st_node *st)
{
	const char	*ns, *mech, *b64;
	unsigned char	 buf[2048];
	char		 user[ID_USER_MAX];
	size_t		 len = 0;

	/* Every rabbit stanza comes here: the name first, it is cheaper. */
	if ((strcmp(st->name, "auth") != 0 &&
	    strcmp(st->name, "response") != 0) ||
	    (ns = st_xmlns(st)) == NULL || strcmp(ns, NS_SASL) != 0)
		return;
	if (strcmp(st->name, "auth") == 0) {
		mech = st_attr(st, "mechanism");
		snprintf(id->sasl_mech, sizeof(id->sasl_mech), "%s",
		    mech != NULL ? mech : "");
		id_set(&id->sasl_user, 1, "");
	}
	b64 = text_of(st);
	if (*b64 == '\0' || *b64 == '=' ||
	    sasl_b64_decode_lenient(b64, strlen(b64), buf, sizeof(buf) - 1,
	    &len) == -1)
		return;
	buf[len] = '\0';
	if (id->sasl_user[0] == '\0') {
		user[0] = '\0';
		sasl_user(id->sasl_mech, (const char *)buf, len, user,
		    sizeof(user));
		id_set(&id->sasl_user, sizeof(user), user);
	}
	OPENSSL_cleanse(buf, sizeof(buf));
}

const char *
identity_sasl_user(const struct identity *id)
{
	return id->sasl_user;
}
