/*
 * test_login: the XMPP SASL state machine of proxy/login.c, driven with
 * stanzas built through the stanza API against server-side SCRAM and
 * DIGEST-MD5 computations done here (SCRAM) or by the sasl.c server
 * helper (DIGEST-MD5).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "login.h"
#include "sasl.h"
#include "stanza.h"
#include "testutil.h"

#define NS	LOGIN_NS_SASL
#define PASS	"Zanzib4r"
#define SALT64	"QSXCR+Q6sek8bf92"
#define AUTH256	"<auth xmlns='" NS "' mechanism='SCRAM-SHA-256'>"
#define PLAINIR	"\0" "0013d3845678\0" PASS

/* One test's world: a stanza arena and the output buffer. */
struct world {
	struct stanza	*w_st;
	struct evbuffer	*w_out;
	char		 w_elem[16];	/* name of the last element written */
	unsigned char	 w_data[1024];	/* its decoded content */
	size_t		 w_len;
	int		 w_present;	/* it had content */
};

static struct st_node *features(struct world *, const char *const *,
		    size_t);
static struct st_node *elem(struct world *, const char *, const char *,
		    const char *);
static void	 take_output(struct world *);
static int	 feed(struct world *, struct login *, const char *,
		    const void *, size_t);
static struct login *new_login(struct login_opts *);
static void	 scram_server(struct world *, struct login *, enum sasl_mech,
		    int, int);

static const char *const all_mechs[] = {
	"PLAIN", "DIGEST-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256", "CRAM-MD5"
};

/* Fresh world per test: a 64 KiB stanza arena and an output buffer. */
static int
setup(void **state)
{
	struct world	*w = calloc(1, sizeof(*w));

	CHECK(w != NULL, "calloc");
	w->w_st = stanza_new(65536);
	w->w_out = evbuffer_new();
	CHECK(w->w_st != NULL && w->w_out != NULL, "world setup");
	*state = w;
	return 0;
}

/* Free the world of one test. */
static int
teardown(void **state)
{
	struct world	*w = *state;

	stanza_free(w->w_st);
	evbuffer_free(w->w_out);
	free(w);
	return 0;
}

/* <stream:features><mechanisms xmlns=sasl><mechanism>..</></></>. */
static struct st_node *
features(struct world *w, const char *const *mechs, size_t n)
{
	struct st_node	*f, *ms, *m;
	size_t		 i;

	f = st_elem_new(w->w_st, "stream:features");
	ms = st_elem_new(w->w_st, "mechanisms");
	CHECK(f != NULL && ms != NULL, "features elements");
	CHECK(st_attr_set(w->w_st, ms, "xmlns", NS) == 0, "xmlns");
	st_append(f, ms);
	for (i = 0; i < n; i++) {
		m = st_elem_new(w->w_st, "mechanism");
		CHECK(m != NULL, "mechanism element");
		CHECK(st_text_append(w->w_st, m, mechs[i], strlen(mechs[i])) ==
		    0, "mechanism text");
		st_append(ms, m);
	}
	return f;
}

/* <name xmlns=ns>text</name>; text NULL for no content. */
static struct st_node *
elem(struct world *w, const char *name, const char *ns, const char *text)
{
	struct st_node	*e = st_elem_new(w->w_st, name);

	CHECK(e != NULL, "element %s", name);
	if (ns != NULL)
		CHECK(st_attr_set(w->w_st, e, "xmlns", ns) == 0, "xmlns");
	if (text != NULL)
		CHECK(st_text_append(w->w_st, e, text, strlen(text)) == 0,
		    "text");
	return e;
}

/*
 * Parse the one element login wrote to w_out: check its framing
 * (xmlns, never self-closing), keep its name and decoded content, drain.
 */
static void
take_output(struct world *w)
{
	size_t	 len = evbuffer_get_length(w->w_out), nl, b64l;
	char	*p, *gt, *lt, close[32];

	CHECK(len > 0, "nothing written");
	p = (char *)evbuffer_pullup(w->w_out, -1);
	CHECK(p[0] == '<', "output does not start with '<'");
	nl = strcspn(p + 1, " >");
	CHECK(nl < sizeof(w->w_elem), "element name too long");
	(void)memcpy(w->w_elem, p + 1, nl);
	w->w_elem[nl] = '\0';
	CHECK(strncmp(p + 1 + nl, " xmlns='" NS "'", strlen(NS) + 9) == 0,
	    "%s lacks the SASL xmlns: %.*s", w->w_elem, (int)len, p);
	gt = memchr(p, '>', len);
	CHECK(gt != NULL && gt[-1] != '/', "self-closing or unterminated: "
	    "%.*s", (int)len, p);
	(void)snprintf(close, sizeof(close), "</%s>", w->w_elem);
	lt = p + len - strlen(close);
	CHECK(lt > gt && memcmp(lt, close, strlen(close)) == 0,
	    "bad end tag: %.*s", (int)len, p);
	b64l = (size_t)(lt - gt - 1);
	w->w_present = b64l > 0;
	w->w_len = 0;
	if (b64l > 0 && !(b64l == 1 && gt[1] == '='))
		CHECK(sasl_b64_decode(gt + 1, b64l, w->w_data,
		    sizeof(w->w_data) - 1, &w->w_len) == 0, "bad base64: %.*s",
		    (int)b64l, gt + 1);
	w->w_data[w->w_len] = '\0';
	CHECK(evbuffer_drain(w->w_out, len) == 0, "drain");
}

/* Send <name xmlns=sasl> with base64 of data (NULL: no content). */
static int
feed(struct world *w, struct login *l, const char *name, const void *data,
    size_t len)
{
	char	b64[1400];

	if (data == NULL)
		return login_input(l, elem(w, name, NS, NULL), w->w_out);
	CHECK(sasl_b64_encode(data, len, b64, sizeof(b64)) == 0, "encode");
	return login_input(l, elem(w, name, NS, len == 0 ? "=" : b64),
	    w->w_out);
}

/* Login for 0013d3845678@nabz.example; o NULL for defaults. */
static struct login *
new_login(struct login_opts *o)
{
	struct login	*l;
	char		 err[128];

	l = login_new("0013d3845678", "nabz.example", PASS, o, err,
	    sizeof(err));
	CHECK(l != NULL, "login_new: %s", err);
	CHECK(strcmp(login_mech(l), "none") == 0 && *login_error(l) == '\0',
	    "fresh login state");
	return l;
}

/*
 * Play a SCRAM server for the <auth> just written: server-first, check
 * the client proof, then v= in <success> or (final_as_challenge) as a
 * challenge. With bad_sig the signature is corrupted.
 */
static void
scram_server(struct world *w, struct login *l, enum sasl_mech mech,
    int final_as_challenge, int bad_sig)
{
	const EVP_MD	*md = mech == SASL_MECH_SCRAM_SHA_1 ? EVP_sha1() :
			    EVP_sha256();
	unsigned char	 salt[16], sp[64], ck[64], sk[64], st[64], cs[64];
	unsigned char	 ss[64], proof[64];
	char		 sfirst[256], am[2048], cfinal[1024], v[128];
	char		*bare;
	size_t		 saltlen, hl = (size_t)EVP_MD_get_size(md), i;
	unsigned	 l1;
	int		 r;

	take_output(w);
	CHECK(strcmp(w->w_elem, "auth") == 0, "first element %s", w->w_elem);
	CHECK(strncmp((char *)w->w_data, "n,,n=0013d3845678,r=", 20) == 0,
	    "client-first %s", w->w_data);
	bare = strdup((char *)w->w_data + 3);
	CHECK(bare != NULL, "strdup");
	(void)snprintf(sfirst, sizeof(sfirst), "r=%s%s,s=%s,i=4096",
	    bare + 17, "srvNonce", SALT64);
	r = feed(w, l, "challenge", sfirst, strlen(sfirst));
	CHECK(r == LOGIN_CONTINUE, "server-first: %s", login_error(l));
	take_output(w);
	CHECK(strcmp(w->w_elem, "response") == 0, "got %s", w->w_elem);
	(void)snprintf(cfinal, sizeof(cfinal), "%s", (char *)w->w_data);
	CHECK(strstr(cfinal, ",p=") != NULL, "no proof: %s", cfinal);
	*strstr(cfinal, ",p=") = '\0';
	(void)snprintf(am, sizeof(am), "%s,%s,%s", bare, sfirst, cfinal);
	CHECK(sasl_b64_decode(SALT64, strlen(SALT64), salt, sizeof(salt),
	    &saltlen) == 0, "salt");
	CHECK(sasl_scram_hi(mech, PASS, strlen(PASS), salt, saltlen, 4096, sp,
	    hl) == 0, "Hi");
	CHECK(HMAC(md, sp, (int)hl, (unsigned char *)"Client Key", 10, ck,
	    &l1) && EVP_Digest(ck, hl, st, &l1, md, NULL) &&
	    HMAC(md, st, (int)hl, (unsigned char *)am, strlen(am), cs, &l1) &&
	    HMAC(md, sp, (int)hl, (unsigned char *)"Server Key", 10, sk,
	    &l1) && HMAC(md, sk, (int)hl, (unsigned char *)am, strlen(am),
	    ss, &l1), "server-side key derivation");
	for (i = 0; i < hl; i++)
		proof[i] = ck[i] ^ cs[i];
	CHECK(sasl_b64_encode(proof, hl, v, sizeof(v)) == 0 &&
	    strcmp(strstr((char *)w->w_data, ",p=") + 3, v) == 0,
	    "client proof %s, want %s", w->w_data, v);
	if (bad_sig)
		ss[0] ^= 1;
	(void)memcpy(v, "v=", 2);
	CHECK(sasl_b64_encode(ss, hl, v + 2, sizeof(v) - 2) == 0, "encode");
	free(bare);
	if (final_as_challenge) {
		r = feed(w, l, "challenge", v, strlen(v));
		CHECK(r == (bad_sig ? LOGIN_FAIL : LOGIN_CONTINUE),
		    "v= challenge: %d %s", r, login_error(l));
		if (bad_sig)
			return;
		take_output(w);
		CHECK(strcmp(w->w_elem, "response") == 0 && !w->w_present,
		    "response to v= must be empty");
		r = feed(w, l, "success", NULL, 0);
	} else
		r = feed(w, l, "success", v, strlen(v));
	CHECK(r == (bad_sig ? LOGIN_FAIL : LOGIN_SUCCESS), "success: %d %s",
	    r, login_error(l));
}

static void
test_scram256(void **state)
{
	struct world	*w = *state;
	struct login	*l = new_login(NULL);

	CHECK(login_features(l, features(w, all_mechs, 5), w->w_out) ==
	    LOGIN_CONTINUE, "features: %s", login_error(l));
	CHECK(strcmp(login_mech(l), "SCRAM-SHA-256") == 0, "mech %s",
	    login_mech(l));
	CHECK(strncmp((char *)evbuffer_pullup(w->w_out, -1), AUTH256,
	    strlen(AUTH256)) == 0, "auth open tag");
	scram_server(w, l, SASL_MECH_SCRAM_SHA_256, 0, 0);
	CHECK(feed(w, l, "success", NULL, 0) == LOGIN_FAIL,
	    "second success accepted");
	login_free(l);
}

static void
test_scram1_final_in_challenge(void **state)
{
	struct world	*w = *state;
	struct login	*l = new_login(NULL);

	CHECK(login_features(l, features(w, all_mechs + 1, 2), w->w_out) ==
	    LOGIN_CONTINUE, "features: %s", login_error(l));
	CHECK(strcmp(login_mech(l), "SCRAM-SHA-1") == 0, "mech %s",
	    login_mech(l));
	scram_server(w, l, SASL_MECH_SCRAM_SHA_1, 1, 0);
	login_free(l);
}

static void
test_scram_bad_server(void **state)
{
	struct world	*w = *state;
	struct login	*l = new_login(NULL);

	CHECK(login_features(l, features(w, all_mechs + 2, 1), w->w_out) ==
	    LOGIN_CONTINUE, "features: %s", login_error(l));
	scram_server(w, l, SASL_MECH_SCRAM_SHA_1, 0, 1);
	CHECK(strstr(login_error(l), "SCRAM-SHA-1: SCRAM server signature "
	    "mismatch") != NULL, "reason: %s", login_error(l));
	CHECK(strstr(login_error(l), PASS) == NULL, "password in reason");
	login_free(l);
	l = new_login(NULL);
	CHECK(login_features(l, features(w, all_mechs + 3, 1), w->w_out) ==
	    LOGIN_CONTINUE, "features: %s", login_error(l));
	scram_server(w, l, SASL_MECH_SCRAM_SHA_256, 1, 1);
	login_free(l);
}

static void
test_digest(void **state)
{
	struct world	*w = *state;
	struct login	*l;
	char		 nonce[33], chal[200], ra[SASL_DIGEST_HEXSIZE];
	char		 rsp[64];
	int		 n, v, pass;

	for (pass = 0; pass < 3; pass++) {
		l = new_login(NULL);
		CHECK(login_features(l, features(w, all_mechs, 2), w->w_out) ==
		    LOGIN_CONTINUE, "features: %s", login_error(l));
		CHECK(strcmp(login_mech(l), "DIGEST-MD5") == 0, "mech %s",
		    login_mech(l));
		take_output(w);
		CHECK(strcmp(w->w_elem, "auth") == 0 && !w->w_present,
		    "DIGEST-MD5 auth must be empty");
		CHECK(sasl_digest_server_nonce(nonce, sizeof(nonce)) == 0,
		    "nonce");
		n = sasl_digest_server_challenge(nonce, chal, sizeof(chal));
		CHECK(feed(w, l, "challenge", chal, (size_t)n) ==
		    LOGIN_CONTINUE, "challenge: %s", login_error(l));
		take_output(w);
		v = sasl_digest_server_verify((char *)w->w_data, w->w_len,
		    "0013d3845678", PASS, nonce, "nabz.example", ra,
		    sizeof(ra));
		CHECK(v == SASL_DIGEST_OK, "server verify: %s",
		    sasl_digest_strerror(v));
		if (pass == 2)
			ra[0] = ra[0] == '0' ? '1' : '0';
		n = snprintf(rsp, sizeof(rsp), "rspauth=%s", ra);
		if (pass == 0) {
			CHECK(feed(w, l, "challenge", rsp, (size_t)n) ==
			    LOGIN_CONTINUE, "rspauth: %s", login_error(l));
			take_output(w);
			CHECK(!w->w_present, "response to rspauth not empty");
			CHECK(feed(w, l, "success", NULL, 0) == LOGIN_SUCCESS,
			    "success: %s", login_error(l));
		} else
			CHECK(feed(w, l, "success", rsp, (size_t)n) ==
			    (pass == 1 ? LOGIN_SUCCESS : LOGIN_FAIL),
			    "rspauth in success, pass %d: %s", pass,
			    login_error(l));
		login_free(l);
	}
}

static void
test_plain_policy(void **state)
{
	struct world		*w = *state;
	struct login		*l;
	struct login_opts	 o = { 0 };
	const char		*plain[] = { "PLAIN" };
	const char		*weak[] = { "CRAM-MD5", "ANONYMOUS" };

	l = new_login(&o);
	CHECK(login_features(l, features(w, plain, 1), w->w_out) ==
	    LOGIN_FAIL, "PLAIN chosen without TLS");
	CHECK(strcmp(login_error(l), "server offers no usable mechanism "
	    "(offered: PLAIN; PLAIN refused without TLS)") == 0, "reason: %s",
	    login_error(l));
	CHECK(evbuffer_get_length(w->w_out) == 0, "bytes written on failure");
	login_free(l);
	l = new_login(&o);
	CHECK(login_features(l, features(w, weak, 2), w->w_out) ==
	    LOGIN_FAIL, "CRAM-MD5/ANONYMOUS chosen");
	CHECK(strcmp(login_error(l), "server offers no usable mechanism "
	    "(offered: CRAM-MD5, ANONYMOUS)") == 0, "reason: %s",
	    login_error(l));
	login_free(l);
	for (o.tls_active = 1; o.tls_active >= 0; o.tls_active--) {
		o.allow_plain_cleartext = !o.tls_active;
		l = new_login(&o);
		CHECK(login_features(l, features(w, plain, 1), w->w_out) ==
		    LOGIN_CONTINUE, "PLAIN refused: %s", login_error(l));
		take_output(w);
		CHECK(w->w_len == sizeof(PLAINIR) - 1 && memcmp(w->w_data,
		    PLAINIR, w->w_len) == 0, "PLAIN message");
		CHECK(login_input(l, elem(w, "success", NS, "="), w->w_out) ==
		    LOGIN_SUCCESS, "PLAIN success: %s", login_error(l));
		login_free(l);
	}
}

static void
test_failure(void **state)
{
	struct world	*w = *state;
	struct login	*l = new_login(NULL);
	struct st_node	*f, *t;

	CHECK(login_features(l, features(w, all_mechs + 3, 1), w->w_out) ==
	    LOGIN_CONTINUE, "features");
	f = elem(w, "failure", NS, NULL);
	t = elem(w, "text", NULL, " Invalid\x01 credentials ");
	st_append(f, elem(w, "not-authorized", NULL, NULL));
	st_append(f, t);
	CHECK(st_attr_set(w->w_st, t, "xml:lang", "en") == 0, "attr");
	CHECK(login_input(l, f, w->w_out) == LOGIN_FAIL, "failure accepted");
	CHECK(strcmp(login_error(l), "server refused authentication: "
	    "not-authorized (Invalid? credentials)") == 0, "reason: %s",
	    login_error(l));
	login_free(l);
	l = new_login(NULL);
	CHECK(login_features(l, features(w, all_mechs + 3, 1), w->w_out) ==
	    LOGIN_CONTINUE, "features");
	CHECK(login_input(l, elem(w, "failure", NS, NULL), w->w_out) ==
	    LOGIN_FAIL && strcmp(login_error(l), "server refused "
	    "authentication: unknown-condition") == 0, "reason: %s",
	    login_error(l));
	login_free(l);
}

static void
test_protocol_errors(void **state)
{
	struct world	*w = *state;
	struct login	*l;
	struct st_node	*f;
	char		 err[128];

	l = new_login(NULL);
	CHECK(login_input(l, elem(w, "challenge", NS, "=") , w->w_out) ==
	    LOGIN_FAIL, "challenge before features accepted");
	login_free(l);
	l = new_login(NULL);
	f = elem(w, "stream:features", NULL, NULL);
	st_append(f, elem(w, "starttls", "urn:ietf:params:xml:ns:xmpp-tls",
	    NULL));
	CHECK(login_features(l, f, w->w_out) == LOGIN_FAIL &&
	    strcmp(login_error(l), "server offers no SASL mechanisms") == 0,
	    "features without mechanisms: %s", login_error(l));
	login_free(l);
	l = new_login(NULL);
	CHECK(login_features(l, features(w, all_mechs + 3, 1), w->w_out) ==
	    LOGIN_CONTINUE, "features");
	take_output(w);
	CHECK(login_features(l, features(w, all_mechs + 3, 1), w->w_out) ==
	    LOGIN_FAIL, "features twice accepted");
	login_free(l);
	l = new_login(NULL);
	CHECK(login_features(l, features(w, all_mechs + 3, 1), w->w_out) ==
	    LOGIN_CONTINUE, "features");
	take_output(w);
	CHECK(login_input(l, elem(w, "iq", "jabber:client", NULL), w->w_out) ==
	    LOGIN_FAIL && strcmp(login_error(l), "unexpected <iq> during SASL "
	    "negotiation") == 0, "iq: %s", login_error(l));
	CHECK(login_input(l, elem(w, "success", NS, NULL), w->w_out) ==
	    LOGIN_FAIL, "input after failure accepted");
	login_free(l);
	l = new_login(NULL);
	CHECK(login_features(l, features(w, all_mechs + 3, 1), w->w_out) ==
	    LOGIN_CONTINUE, "features");
	take_output(w);
	CHECK(login_input(l, elem(w, "challenge", "jabber:client", "="),
	    w->w_out) == LOGIN_FAIL, "challenge in the wrong namespace");
	login_free(l);
	l = new_login(NULL);
	CHECK(login_features(l, features(w, all_mechs + 3, 1), w->w_out) ==
	    LOGIN_CONTINUE, "features");
	take_output(w);
	CHECK(login_input(l, elem(w, "challenge", NS, "cj1*"), w->w_out) ==
	    LOGIN_FAIL && strstr(login_error(l), "base64") != NULL,
	    "bad base64: %s", login_error(l));
	CHECK(evbuffer_get_length(w->w_out) == 0, "bytes written on failure");
	login_free(l);
	l = new_login(NULL);
	CHECK(login_features(l, features(w, all_mechs + 3, 1), w->w_out) ==
	    LOGIN_CONTINUE, "features");
	take_output(w);
	CHECK(login_input(l, elem(w, "success", NS, NULL), w->w_out) ==
	    LOGIN_FAIL, "success without server proof accepted");
	login_free(l);
	CHECK(login_new("", "d", "p", NULL, err, sizeof(err)) == NULL &&
	    err[0] != '\0', "empty user accepted");
	CHECK(login_new("u", "d", NULL, NULL, NULL, 0) == NULL,
	    "NULL password accepted");
	login_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_scram256, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_scram1_final_in_challenge,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_scram_bad_server, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_digest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plain_policy, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_protocol_errors, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
