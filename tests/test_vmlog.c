/*
 * Unit tests for vmlog: the seed's trees byte for byte (tests/golden/),
 * each firmware parser quirk, the Sending and raw renderings, the prefix,
 * and hostile buffers finishing fast with bounded output. Every rendering
 * also checks that vmlog_misread() agrees with vmlog_receive()'s flag;
 * the reasons themselves are tested in test_vmlog_misread.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <event2/buffer.h>

#include "vmlog.h"

#define GOLDEN	NAB_SOURCE_DIR "/tests/golden/"
#define S(lit)	lit, sizeof(lit) - 1

/* A whole golden file, NUL-terminated for convenience. */
static char *
slurp(const char *name, size_t *len)
{
	char	 path[512], *buf;
	FILE	*fp;
	long	 n;

	snprintf(path, sizeof(path), GOLDEN "%s", name);
	fp = fopen(path, "rb");
	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	assert_true(n >= 0);
	rewind(fp);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	buf[n] = '\0';
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

/* Drain an evbuffer into a NUL-terminated string (caller frees). */
static char *
take(struct evbuffer *eb, size_t *len)
{
	size_t	 n = evbuffer_get_length(eb);
	char	*s = malloc(n + 1);

	assert_non_null(s);
	assert_int_equal(evbuffer_remove(eb, s, n), (int)n);
	s[n] = '\0';
	if (len != NULL)
		*len = n;
	return s;
}

/* vmlog_receive() into a string; checks the misread flag and function. */
static char *
recv_str(const char *prefix, const char *in, size_t len, int *rc, int *mis)
{
	struct evbuffer	*eb = evbuffer_new();
	char		 why[VMLOG_WHY_SIZE];
	char		*s;

	assert_non_null(eb);
	*rc = vmlog_receive(eb, prefix, in, len, mis);
	s = take(eb, NULL);
	evbuffer_free(eb);
	assert_int_equal(vmlog_misread(in, len, why, sizeof(why)), *mis);
	assert_true(*mis == (why[0] != '\0'));
	return s;
}

/* Prefix every line of s with p. */
static char *
prefixed(const char *p, const char *s)
{
	char	*out = malloc(strlen(s) * (strlen(p) + 1) + 1), *o = out;
	int	 bol = 1;

	assert_non_null(out);
	for (; *s != '\0'; s++) {
		if (bol)
			o = stpcpy(o, p);
		*o++ = *s;
		bol = *s == '\n';
	}
	*o = '\0';
	return out;
}

struct golden {
	const char	*name;
	int		 misread;
};

static const struct golden goldens[] = {
	{ "features", 0 },
	{ "register_form", 1 },	/* "<username/>..." swallowed into text */
	{ "error_409", 0 },	/* whitespace-only text skipped */
	{ "bind_result", 0 },
};

/* Each server stanza of the seed renders exactly as the seed shows it. */
static void
test_golden_trees(void **state)
{
	char	 name[64], *in, *vm, *out, *pvm, *pout;
	size_t	 inlen, vmlen, i;
	int	 rc, mis;

	(void)state;
	for (i = 0; i < sizeof(goldens) / sizeof(goldens[0]); i++) {
		snprintf(name, sizeof(name), "%s.xml", goldens[i].name);
		in = slurp(name, &inlen);
		snprintf(name, sizeof(name), "%s.vm", goldens[i].name);
		vm = slurp(name, &vmlen);
		out = recv_str("", in, inlen, &rc, &mis);
		assert_string_equal(out, vm);
		assert_int_equal(rc, 1);
		assert_int_equal(mis, goldens[i].misread);
		pout = recv_str("f81edfee27c1 ", in, inlen, &rc, &mis);
		pvm = prefixed("f81edfee27c1 ", vm);
		assert_string_equal(pout, pvm);
		free(in);
		free(vm);
		free(out);
		free(pout);
		free(pvm);
	}
}

/*
 * The seed's server stream: the header as the firmware skips it, then the
 * four stanzas. As captured (with newlines between stanzas) the rabbit is
 * deaf after the features; without them it reads all four trees.
 */
static void
test_golden_seed_server(void **state)
{
	struct evbuffer	*cat = evbuffer_new();
	char		*srv, *parts[4], *vm, *out, *want;
	size_t		 len, plen[4], vmlen, end, i;
	int		 rc, mis;

	(void)state;
	srv = slurp("seed_server.xml", &len);
	assert_int_equal(vmlog_header_end(srv, len, &end), 1);
	assert_true(strncmp(srv + end, "<stream:features>", 17) == 0);
	for (i = 0; i < 4; i++) {
		char name[64];

		snprintf(name, sizeof(name), "%s.xml", goldens[i].name);
		parts[i] = slurp(name, &plen[i]);
		evbuffer_add(cat, i == 3 ? "\n" : "", i == 3);
		evbuffer_add(cat, parts[i], plen[i]);
		evbuffer_add(cat, "\n", 1);
	}
	/* The file is exactly the header, then each stanza and newline. */
	assert_int_equal(evbuffer_get_length(cat), len - end);
	assert_memory_equal(evbuffer_pullup(cat, -1), srv + end, len - end);
	evbuffer_free(cat);

	out = recv_str("", srv + end, len - end, &rc, &mis);
	vm = slurp("features.vm", &vmlen);
	assert_int_equal(rc, 1);
	assert_int_equal(mis, 1);
	assert_true(strncmp(out, vm, vmlen) == 0);
	assert_string_equal(out + vmlen, "[vm] !! rabbit deaf for good: its "
	    "buffer starts with text \"\\n\", not \"<\"; it keeps that text "
	    "and drops the rest\n");
	free(out);
	free(vm);

	cat = evbuffer_new();
	for (i = 0; i < 4; i++)
		evbuffer_add(cat, parts[i], plen[i]);
	len = evbuffer_get_length(cat);
	out = recv_str("", (char *)evbuffer_pullup(cat, -1), len, &rc, &mis);
	assert_int_equal(rc, 4);
	assert_int_equal(mis, 1);
	want = calloc(1, 4096);
	assert_non_null(want);
	for (i = 0; i < 4; i++) {
		char name[64];

		snprintf(name, sizeof(name), "%s.vm", goldens[i].name);
		vm = slurp(name, &vmlen);
		strcat(want, vm);
		free(vm);
		free(parts[i]);
	}
	assert_string_equal(out, want);
	free(want);
	free(out);
	free(srv);
	evbuffer_free(cat);
}

/* The rabbit's stream: Sending lines and raw blocks of its bytes. */
static void
test_golden_seed_rabbit(void **state)
{
	struct evbuffer	*eb = evbuffer_new();
	const char	*iq;
	char		*rab, *out;
	size_t		 len, hdr, n;

	(void)state;
	rab = slurp("seed_rabbit.xml", &len);
	iq = strstr(rab, "<iq ");
	assert_non_null(iq);
	hdr = (size_t)(iq - rab);
	assert_int_equal(vmlog_sending(eb, "", rab, hdr), 0);
	out = take(eb, NULL);
	assert_string_equal(out, "[vm] Sending : <?xml version='1.0' "
	    "encoding='UTF-8'?>\n[vm] <stream:stream to='almacska' "
	    "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/"
	    "streams' version='1.0'>\n[vm] (end)\n");
	free(out);
	assert_int_equal(vmlog_raw(eb, "", 0, rab, len), 0);
	out = take(eb, &n);
	assert_int_equal(n, len + 9);
	assert_memory_equal(out, "SEND:\n\n", 7);
	assert_memory_equal(out + 7, rab, len);
	assert_memory_equal(out + 7 + len, "\n\n", 2);
	free(out);
	free(rab);
	evbuffer_free(eb);
}

struct quirk {
	const char	*in;
	size_t		 len;
	int		 rc;
	int		 misread;
	const char	*out;
};

static const struct quirk quirks[] = {
	/* §12.1: "<x/>" is element "x/"; at top level it never ends. */
	{ S("<x/>"), 0, 1, "[vm] !! firmware parser would stall: element "
	    "\"x/\" (\"<x/>\" without attributes) can never end (4 bytes stay "
	    "in its buffer)\n" },
	/* ... and inside a parent the rest becomes one text node. */
	{ S("<p><x/><y>t</y></p>"), 1, 1, "[vm] Receive : \n[vm]     |p\n"
	    "[vm]     !..<x/><y>t</y>\n" },
	{ S("<x />"), 1, 0, "[vm] Receive : \n[vm]     |x\n" },
	/* §12.2: the first literal end tag ends an element. */
	{ S("<a><a>t</a></a>"), 1, 1, "[vm] Receive : \n[vm]     |a\n"
	    "[vm]     !..<a>t\n[vm] !! firmware parser would stall: element "
	    "\"/a\" can never end (4 bytes stay in its buffer)\n" },
	{ S("<q><item jid=\"a\"/><item jid=\"b\"><group>x</group></item>"
	    "<item jid=\"c\"/></q>"), 1, 1, "[vm] Receive : \n[vm]     |q\n"
	    "[vm]     |..item\n[vm]     |   jid => a\n"
	    "[vm]     !..<item jid=\"b\"><group>x</group>\n" },
	/* §12.3 and §12.4: quote rules, NIL. */
	{ S("<iq type=result id=\"7\"/>"), 1, 1, "[vm] Receive : \n"
	    "[vm]     |iq\n[vm]     | type => esult id=\n[vm]     | NIL => \n" },
	{ S("<a b='x\"y' c=\"x'y\"/>"), 1, 0, "[vm] Receive : \n[vm]     |a\n"
	    "[vm]     | b => x\"y\n[vm]     | c => x'y\n" },
	{ S("<a b = \"1\"/>"), 1, 1, "[vm] Receive : \n[vm]     |a\n"
	    "[vm]     | b  => \n[vm]     | NIL => \n" },
	/* §12.5: a missing closing quote recurses forever. */
	{ S("<iq type=\"result><query/></iq>"), 0, 1, "[vm] !! firmware "
	    "parser would stall: no closing quote for attribute \"type\" "
	    "(endless recursion: the rabbit runs out of memory and reboots)\n" },
	{ S("<a b>x</a>"), 0, 1, "[vm] !! firmware parser would stall: no "
	    "closing quote for attribute NIL (endless recursion: the rabbit "
	    "runs out of memory and reboots)\n" },
	/* §12.6: the window ends right after a quote: element dropped. */
	{ S("<a b=\"c\"</a><m>t</m>"), 1, 1, "[vm] !! firmware parser drops "
	    "element \"a\": its attributes end right after a quote\n"
	    "[vm] Receive : \n[vm]     |m\n[vm]     !..t\n" },
	/* §12.7: leading text, whitespace included. */
	{ S("\n<iq/>"), 0, 1, "[vm] !! rabbit deaf for good: its buffer starts "
	    "with text \"\\n\", not \"<\"; it keeps that text and drops the "
	    "rest\n" },
	{ S(" "), 0, 1, "[vm] !! rabbit deaf for good: its buffer starts with "
	    "text \" \", not \"<\"; it keeps that text and drops the rest\n" },
	/* §12.8: strings are cut at their first NUL. */
	{ S("<a>x\0y</a>"), 1, 1, "[vm] Receive : \n[vm]     |a\n"
	    "[vm]     !..x\n" },
	{ S("<a\0b c=\"1\">t</a\0b>"), 1, 1, "[vm] Receive : \n[vm]     |a\n"
	    "[vm]     | c => 1\n[vm]     !..t\n" },
	{ S("<a> \0x</a>"), 1, 1, "[vm] Receive : \n[vm]     |a\n" },
	/* Text with newlines continues on lines of their own. */
	{ S("<a>l1\nl2\n</a>"), 1, 0, "[vm] Receive : \n[vm]     |a\n"
	    "[vm]     !..l1\n[vm] l2\n[vm] \n" },
	/* No entity decoding, no CDATA. */
	{ S("<m><body>Tom &amp; Jerry</body></m>"), 1, 1, "[vm] Receive : \n"
	    "[vm]     |m\n[vm]     |..body\n[vm]     !....Tom &amp; Jerry\n" },
	{ S("<a><![CDATA[x]]></a>"), 1, 1, "[vm] Receive : \n[vm]     |a\n"
	    "[vm]     !..<![CDATA[x]]>\n" },
	/* §7.3: a self-closing top-level iq before a later "</iq>". */
	{ S("<iq type=\"result\" id=\"1\"/><iq type=\"get\" id=\"2\"><ping/>"
	    "</iq>"), 1, 1, "[vm] Receive : \n[vm]     |iq\n"
	    "[vm]     | type => result\n[vm]     | id => 1\n[vm] !! firmware "
	    "parser waits: no end tag for element \"iq\" (29 bytes stay in its "
	    "buffer)\n" },
	{ S("<q><x a=\"1\"/>t</x>u</q>"), 1, 1, "[vm] Receive : \n"
	    "[vm]     |q\n[vm]     |..x\n[vm]     |   a => 1\n"
	    "[vm]     !..t\n" },
	/* Waiting for the rest of a split stanza. */
	{ S("<iq type='get'><ping"), 0, 1, "[vm] !! firmware parser waits: no "
	    "end tag for element \"iq\" (20 bytes stay in its buffer)\n" },
	{ S("<"), 0, 1, "[vm] !! firmware parser waits: \"<\" without \">\" "
	    "(1 byte stay in its buffer)\n" },
	/* The stream end reboots the rabbit before any parsing. */
	{ S("</stream:stream>"), 0, 0, "[vm] gate stream closed, rebooting\n" },
	{ S("<m><body></stream:stream></body></m>"), 0, 1,
	    "[vm] gate stream closed, rebooting\n" },
	{ "", 0, 0, 0, "" },
};

static void
test_quirks(void **state)
{
	char	*out;
	size_t	 i;
	int	 rc, mis;

	(void)state;
	for (i = 0; i < sizeof(quirks) / sizeof(quirks[0]); i++) {
		out = recv_str("", quirks[i].in, quirks[i].len, &rc, &mis);
		if (strcmp(out, quirks[i].out) != 0)
			print_error("case %zu: got\n%s", i, out);
		assert_string_equal(out, quirks[i].out);
		assert_int_equal(rc, quirks[i].rc);
		assert_int_equal(mis, quirks[i].misread);
		free(out);
	}
	out = recv_str("", NULL, 0, &rc, &mis);
	assert_string_equal(out, "");
	free(out);
}

/* "Sending :" lines: spans lines, cut at NUL without "(end)", prefix. */
static void
test_sending(void **state)
{
	struct evbuffer	*eb = evbuffer_new();
	char		*out;

	(void)state;
	assert_int_equal(vmlog_sending(eb, NULL, S(" ")), 0);
	assert_int_equal(vmlog_sending(eb, "r1 ", S("<a>\n<b/>\n")), 0);
	assert_int_equal(vmlog_sending(eb, "", S("ab\0cd")), 0);
	assert_int_equal(vmlog_sending(eb, "", NULL, 0), 0);
	out = take(eb, NULL);
	assert_string_equal(out, "[vm] Sending :  (end)\n"
	    "r1 [vm] Sending : <a>\nr1 [vm] <b/>\nr1 [vm] (end)\n"
	    "[vm] Sending : ab\n"
	    "[vm] Sending : (end)\n");
	free(out);
	evbuffer_free(eb);
}

/* Raw blocks: bytes exact (NUL, CR), prefix on every line. */
static void
test_raw(void **state)
{
	struct evbuffer	*eb = evbuffer_new();
	char		*out;
	size_t		 n;

	(void)state;
	assert_int_equal(vmlog_raw(eb, "", 1, S("<a>\r\n\0</a>")), 0);
	out = take(eb, &n);
	assert_int_equal(n, 10 + 10 + 2);
	assert_memory_equal(out, "RECEIVE:\n\n<a>\r\n\0</a>\n\n", n);
	free(out);
	assert_int_equal(vmlog_raw(eb, "f8 ", 0, S("<a/>\n<b/>")), 0);
	assert_int_equal(vmlog_raw(eb, "", 0, NULL, 0), 0);
	out = take(eb, NULL);
	assert_string_equal(out, "f8 SEND:\nf8 \nf8 <a/>\nf8 <b/>\nf8 \n"
	    "SEND:\n\n\n\n");
	free(out);
	evbuffer_free(eb);
}

/* The prefix starts continuation lines too; nothing else changes. */
static void
test_prefix(void **state)
{
	char	*out;
	int	 rc, mis;

	(void)state;
	out = recv_str("f81edfee27c1 ", S("<a x=\"1\n2\">l1\nl2</a>"), &rc,
	    &mis);
	assert_string_equal(out, "f81edfee27c1 [vm] Receive : \n"
	    "f81edfee27c1 [vm]     |a\n"
	    "f81edfee27c1 [vm]     | x => 1\nf81edfee27c1 [vm] 2\n"
	    "f81edfee27c1 [vm]     !..l1\nf81edfee27c1 [vm] l2\n");
	free(out);
}

/* Header search as the firmware does it. */
static void
test_header_end(void **state)
{
	size_t	end = 0;

	(void)state;
	assert_int_equal(vmlog_header_end(S("<?xml?><stream:stream a='1'>"
	    "<x/>"), &end), 1);
	assert_int_equal(end, 28);
	assert_int_equal(vmlog_header_end(S("<stream:stream a='1'"), &end), 0);
	assert_int_equal(vmlog_header_end(S("<stream:strea>"), &end), 0);
	assert_int_equal(vmlog_header_end(NULL, 0, &end), 0);
}

/* One hostile buffer: quick, bounded, expected last line. */
static void
hostile(const char *in, size_t len, const char *last)
{
	struct timespec	 t0, t1;
	char		*out, *nl;
	size_t		 n;
	int		 rc, mis;
	double		 secs;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	out = recv_str("f81edfee27c1 ", in, len, &rc, &mis);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	n = strlen(out);
	assert_true(rc >= 0);
	assert_true(secs < 10.0);	/* milliseconds without sanitizers */
	assert_true(n <= 16 * len + 4096);	/* prefix included */
	if (last != NULL) {
		assert_true(n > 0 && out[n - 1] == '\n');
		out[n - 1] = '\0';
		nl = strrchr(out, '\n');
		if (strstr(nl != NULL ? nl : out, last) == NULL)
			print_error("last line: %s\n", nl != NULL ? nl : out);
		assert_non_null(strstr(nl != NULL ? nl : out, last));
	}
	free(out);
}

/* Repeat pattern p into a new buffer of about n bytes. */
static char *
repeat(const char *head, const char *p, size_t n, const char *tail,
    size_t *len)
{
	size_t	 hl = strlen(head), pl = strlen(p), tl = strlen(tail), i;
	char	*b = malloc(hl + n + pl + tl + 1);

	assert_non_null(b);
	memcpy(b, head, hl);
	for (i = hl; i < hl + n; i += pl)
		memcpy(b + i, p, pl);
	memcpy(b + i, tail, tl);
	*len = i + tl;
	return b;
}

static void
test_hostile(void **state)
{
	const size_t	 mib = 1024 * 1024;
	char		*b;
	size_t		 len, i;
	uint32_t	 x = 12345;

	(void)state;
	b = repeat("<iq type=\"", "x", mib, ">", &len);
	hostile(b, len, "no closing quote for attribute \"type\"");
	b[len - 1] = 'x';
	hostile(b, len, "\"<\" without \">\"");
	free(b);
	b = repeat("", "<", mib, "", &len);
	hostile(b, len, "\"<\" without \">\"");
	free(b);
	b = calloc(1, mib);
	assert_non_null(b);
	hostile(b, mib, "rabbit deaf for good");
	b[0] = '<';
	hostile(b, mib, "\"<\" without \">\"");
	free(b);
	/* 10000 levels, distinct names and the same name. */
	b = malloc(20 * 10000);
	assert_non_null(b);
	for (len = 0, i = 0; i < 10000; i++)
		len += (size_t)sprintf(b + len, "<e%zu>", i);
	while (i-- > 0)
		len += (size_t)sprintf(b + len, "</e%zu>", i);
	hostile(b, len, "emulation stopped: elements nested too deep");
	free(b);
	b = repeat("", "<a>", 30000, "", &len);
	hostile(b, len, "no end tag for element \"a\"");
	free(b);
	/* Node cap, quadratic firmware paths, size cap. */
	b = repeat("", "<a b='1'/>", mib, "", &len);
	hostile(b, len, "emulation stopped: too many nodes");
	free(b);
	b = repeat("<a x=\"1\" ", "'' ", mib, "/>", &len);
	hostile(b, len, "emulation stopped: too many nodes");
	free(b);
	b = malloc(mib + 64);
	assert_non_null(b);
	for (len = 0, i = 0; len < mib; i++)
		len += (size_t)sprintf(b + len, "<a%zu b='1'/>", i);
	hostile(b, len, "the firmware parser is quadratic on this buffer");
	free(b);
	b = repeat("", " ", VMLOG_MAX_INPUT + 1, "", &len);
	b[0] = '<';
	hostile(b, len, "emulation stopped: buffer too large");
	free(b);
	/* Random XML-ish bytes: no crash, sane answers. */
	b = malloc(mib);
	assert_non_null(b);
	for (i = 0; i < mib; i++) {
		x = x * 1103515245 + 12345;
		b[i] = "<>/ ='\"ab\n\0&!"[(x >> 16) % 13];
	}
	b[0] = '<';
	hostile(b, mib, NULL);
	for (i = 0; i + 64 <= mib; i += 64 * 37)
		hostile(b + i, 64, NULL);
	free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_trees),
		cmocka_unit_test(test_golden_seed_server),
		cmocka_unit_test(test_golden_seed_rabbit),
		cmocka_unit_test(test_quirks),
		cmocka_unit_test(test_sending),
		cmocka_unit_test(test_raw),
		cmocka_unit_test(test_prefix),
		cmocka_unit_test(test_header_end),
		cmocka_unit_test(test_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
