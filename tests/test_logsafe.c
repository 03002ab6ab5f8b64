/*
 * test_logsafe: redaction from the parsed unit and the escaping of peer
 * bytes (proxy/logsafe.c), with the attack inputs of issue 10: a forged
 * daemon line in a message body under log-format raw, and passwords
 * hidden by whitespace inside tags, prefixes, attributes, CDATA and
 * entities. Exact output bytes are asserted.
 */
#include "testutil.h"

#include <event2/buffer.h>

#include "logsafe.h"
#include "proxy.h"
#include "vmlog.h"

#define S(x)	x, sizeof(x) - 1

static char	got[8192];

/* Redact in into got (NUL-terminated); returns logsafe_redact's answer. */
static int
red(const char *in, size_t n)
{
	struct evbuffer	*eb = evbuffer_new();
	size_t		 len;
	int		 rc;

	CHECK(eb != NULL, "evbuffer_new");
	rc = logsafe_redact(eb, in, n);
	len = evbuffer_get_length(eb);
	CHECK(len < sizeof(got), "output too long: %zu", len);
	evbuffer_remove(eb, got, len);
	got[len] = '\0';
	evbuffer_free(eb);
	return rc;
}

static void
esc(const char *in, size_t n, enum logsafe_mode m)
{
	struct evbuffer	*eb = evbuffer_new();
	size_t		 len;

	CHECK(eb != NULL, "evbuffer_new");
	CHECK(logsafe_escape(eb, in, n, m) == 0, "logsafe_escape");
	len = evbuffer_get_length(eb);
	CHECK(len < sizeof(got), "output too long: %zu", len);
	evbuffer_remove(eb, got, len);
	got[len] = '\0';
	evbuffer_free(eb);
}

#define REDACTS(in, want, nsecrets) do {				\
	int rc_ = red(S(in));						\
	EXPECT(strcmp(got, want) == 0, "redact %s:\n got %s\nwant %s",	\
	    in, got, want);						\
	EXPECT(rc_ == (nsecrets), "redact %s: %d secrets, want %d", in,	\
	    rc_, nsecrets);						\
	EXPECT(strstr(got, "SECRET") == NULL, "SECRET left in %s", got);\
} while (0)

static void
test_password_forms(void **state)
{
	REDACTS("<iq type='set' id='1'><query xmlns='violet:iq:register'>"
	    "<username>0013d3840001</username><password>SECRET</password>"
	    "</query></iq>",
	    "<iq type='set' id='1'><query xmlns='violet:iq:register'>"
	    "<username>0013d3840001</username><password>***</password>"
	    "</query></iq>", 1);
	/* Whitespace inside the tags: the text pattern missed it. */
	REDACTS("<iq><query xmlns='jabber:iq:register'><password\n>SECRET"
	    "</password\n></query></iq>",
	    "<iq><query xmlns='jabber:iq:register'><password\n>***"
	    "</password\n></query></iq>", 1);
	/* Any prefix. */
	REDACTS("<iq><x:query xmlns:x='jabber:iq:auth'><x:password>SECRET"
	    "</x:password></x:query></iq>",
	    "<iq><x:query xmlns:x='jabber:iq:auth'><x:password>***"
	    "</x:password></x:query></iq>", 1);
	/* Attributes, CDATA, entities, nested markup. */
	REDACTS("<query xmlns='jabber:iq:register'><password a='1' b=\"2\">"
	    "<![CDATA[SECRET]]>&amp;SE&#67;RET<b>SECRET</b></password></query>",
	    "<query xmlns='jabber:iq:register'><password a='1' b=\"2\">"
	    "***</password></query>", 1);
	/* Two secrets, an empty one hides nothing. */
	REDACTS("<q><password/><password></password><password>SECRET"
	    "</password><digest>SECRET</digest></q>",
	    "<q><password/><password></password><password>***</password>"
	    "<digest>***</digest></q>", 2);
	/* A secret never closed (a split read) hides everything after it. */
	REDACTS("<q><password>SECRET and more",
	    "<q><password>***", 1);
}

static void
test_sasl(void **state)
{
	REDACTS("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
	    "mechanism='PLAIN'>AHVzZXIAU0VDUkVU</auth>",
	    "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
	    "mechanism='PLAIN'>***</auth>", 1);
	REDACTS("<s:response xmlns:s='urn:ietf:params:xml:ns:xmpp-sasl'>"
	    "SECRET</s:response>",
	    "<s:response xmlns:s='urn:ietf:params:xml:ns:xmpp-sasl'>***"
	    "</s:response>", 1);
	/* An undeclared prefix (declared on the stream header) counts. */
	REDACTS("<sasl:challenge>SECRET</sasl:challenge>",
	    "<sasl:challenge>***</sasl:challenge>", 1);
	/* <auth> of another namespace is not SASL: kept. */
	assert_int_equal(red(S("<iq><auth xmlns='x:y'>visible</auth></iq>")),
	    0);
	assert_string_equal(got, "<iq><auth xmlns='x:y'>visible</auth></iq>");
}

static void
test_units(void **state)
{
	/* A stream header is not closed and holds no secret. */
	assert_int_equal(red(S("<?xml version='1.0'?><stream:stream "
	    "to='x' xmlns='jabber:client'>\n")), 0);
	assert_string_equal(got, "<?xml version='1.0'?><stream:stream "
	    "to='x' xmlns='jabber:client'>\n");
	/* Several stanzas in one block (a repaired pair). */
	REDACTS("<a/><b><password>SECRET</password></b> <c>x</c>",
	    "<a/><b><password>***</password></b> <c>x</c>", 1);
	/* Bytes expat cannot read are withheld from there on. */
	REDACTS("<a>ok</a><b x=1>SECRET</b>", "<a>ok</a><b x=***", 1);
	REDACTS("<a>&bogus;SECRET</a>", "<a>***", 1);
	assert_int_equal(red(S("</stream:stream>")), 0);
	assert_string_equal(got, "</stream:stream>");
	assert_int_equal(red(S(" \n\t")), 0);
	assert_string_equal(got, " \n\t");
}

static void
test_escape(void **state)
{
	esc(S("<m>a\\b\r\x1b[2J\x7f\x01</m>\n[vm] x\tt"), LOGSAFE_KEEP_NL);
	assert_string_equal(got, "<m>a\\\\b\\r\\x1b[2J\\x7f\\x01</m>\n"
	    "[vm] x\tt");
	esc(S("<m>l\xc3\xa9vre \xe2\x82\xac \xc2\x9b \xff \xc3</m>"),
	    LOGSAFE_KEEP_NL);
	assert_string_equal(got, "<m>l\xc3\xa9vre \xe2\x82\xac \\xc2\\x9b "
	    "\\xff \\xc3</m>");
	esc(S("<b>x\n2026-12-06T00:00:00.000Z nabproxy[info]: y\t\0</b>"),
	    LOGSAFE_ONE_LINE);
	assert_string_equal(got, "<b>x\\n2026-12-06T00:00:00.000Z "
	    "nabproxy[info]: y\\t\\0</b>");
	esc(S("2026"), LOGSAFE_ONE_LINE);
	assert_string_equal(got, "\\x32026");
	esc(S(" "), LOGSAFE_ONE_LINE);
	assert_string_equal(got, "\\x20");
}

/* The forged line: raw and [vm] renderings of one message. */
static void
test_render_forgery(void **state)
{
	static const char body[] = "<message to='a@b'><body>hi\n"
	    "2026-12-06T22:00:00.000Z nabproxy[info]: session 7: auth: "
	    "authenticated upstream as admin@example.org</body></message>";
	struct evbuffer	*eb = evbuffer_new();
	size_t		 len;
	char		*line, *save = NULL, why[VMLOG_WHY_SIZE];
	int		 mis = 7;

	CHECK(eb != NULL, "evbuffer_new");
	CHECK(logsafe_render(eb, "", LOGFMT_BOTH, 1, LOGSAFE_VM_RECEIVE, NULL,
	    S(body), &mis) == 0, "render");
	/* The [vm] rendering's verdict is the hazard check's own. */
	assert_int_equal(mis, vmlog_misread(S(body), why, sizeof(why)));
	len = evbuffer_get_length(eb);
	evbuffer_remove(eb, got, len);
	got[len] = '\0';
	evbuffer_free(eb);
	EXPECT(strncmp(got, "RECEIVE:\n\n<message to='a@b'><body>hi\\n2026-",
	    42) == 0, "raw block: %s", got);
	for (line = strtok_r(got, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		EXPECT(strncmp(line, "2026-", 5) != 0 &&
		    (strncmp(line, "[vm] ", 5) == 0 || line[0] == '<' ||
		    strcmp(line, "RECEIVE:") == 0), "line starts badly: %s",
		    line);
	EXPECT(strstr(body, "\n2026") != NULL, "input holds the forgery");
}

/* Decoded payloads: one note line after the unit, in every format. */
static void
test_render_decoded(void **state)
{
	static const char msg[] = "<message to='a@b/idle'><packet "
	    "xmlns='violet:packet' format='1.0'>fwsAAAEB/w==</packet></message>";
	static const char clic[] = "<message to='int@x/int' id='4'><button "
	    "xmlns=\"violet:nabaztag:button\"><clic>2</clic></button></message>";
	struct evbuffer	*eb;
	size_t		 len;
	int		 mis = 7;

	(void)state;
	CHECK((eb = evbuffer_new()) != NULL, "evbuffer_new");
	CHECK(logsafe_render(eb, "7 ", LOGFMT_RAW, 1, LOGSAFE_VM_RECEIVE, NULL,
	    S(msg), &mis) == 0, "render raw");
	assert_int_equal(mis, -1);	/* no [vm] rendering: not looked at */
	CHECK(logsafe_render(eb, "7 ", LOGFMT_VM, 0, LOGSAFE_VM_SENDING, NULL,
	    S(clic), &mis) == 0, "render vm");
	assert_int_equal(mis, -1);
	CHECK(logsafe_render(eb, "", LOGFMT_BOTH, 1, LOGSAFE_VM_NONE, NULL,
	    S(msg), NULL) == 0, "render none");
	len = evbuffer_get_length(eb);
	evbuffer_remove(eb, got, len);
	got[len] = '\0';
	evbuffer_free(eb);
	assert_string_equal(got, "7 RECEIVE:\n7 \n7 <message to='a@b/idle'>"
	    "<packet xmlns='violet:packet' format='1.0'>fwsAAAEB/w==</packet>"
	    "</message>\n7 \n7 [vm] !! packet: sleep\n"
	    "7 [vm] Sending : <message to='int@x/int' id='4'><button "
	    "xmlns=\"violet:nabaztag:button\"><clic>2</clic></button>"
	    "</message>(end)\n7 [vm] !! button: 2 clicks\n"
	    "RECEIVE:\n\n<message to='a@b/idle'><packet xmlns='violet:packet' "
	    "format='1.0'>fwsAAAEB/w==</packet></message>\n\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_password_forms),
		cmocka_unit_test(test_sasl),
		cmocka_unit_test(test_units),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_render_forgery),
		cmocka_unit_test(test_render_decoded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
