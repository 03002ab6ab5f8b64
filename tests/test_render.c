/*
 * test_render: proxy/render.c on the golden captures from the seed log.
 * Each tests/golden/NAME.xml must render byte for byte as NAME.vm; the
 * seed's whole server stream renders the four trees in order; the
 * rabbit's stream renders as "[vm] Sending : ...(end)"; the raw and both
 * formats and the prefix; captures that stop being XMPP return 1 with the
 * verdict, keep what was rendered before and go on with the firmware's
 * reading; the hand-written render_*.xml captures (unquoted attributes,
 * none between them, an undefined entity, text between stanzas, a
 * violet:packet, one read against one read per stanza) render as their
 * .vm files; a capture without a stream header gets an implicit one. `nabproxy render` (cmd_render) is run with its stdin
 * and stdout redirected to files.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/buffer.h>

#include "main-int.h"
#include "proxy.h"
#include "render.h"
#define TU_ERRX_USAGE
#include "testutil.h"

#define S(s)		(s), strlen(s)
#define GOLDEN		NAB_SOURCE_DIR "/tests/golden/"
#define LONG_HEAD	"[vm] Receive : \n[vm]     |message\n[vm]     |..body\n" \
			"[vm]     !...."
/* The seed log itself, kept in the repository (tests/golden/README.md). */
#define SEED_LOG	GOLDEN "seed.txt"

static const char *const golden[] = {
	"features", "register_form", "error_409", "bind_result"
};

static char *
golden_file(const char *name, const char *ext, size_t *len)
{
	char	path[512];

	snprintf(path, sizeof(path), GOLDEN "%s.%s", name, ext);
	return tu_slurp(path, len);
}

/*
 * Render buf with the options; returns the output as a string and the
 * return code in *rc, the error in err.
 */
static int	one_read;	/* render()'s --one-read */

static char *
render(const char *buf, size_t len, int from_server, int format,
    const char *prefix, int *rc, char *err, size_t errlen)
{
	struct render_opts	 o = { from_server, format, prefix, one_read };
	struct evbuffer		*out = evbuffer_new();
	size_t			 n;
	char			*s;

	CHECK(out != NULL, "evbuffer_new");
	err[0] = '\0';
	*rc = render_capture(out, &o, buf, len, err, errlen);
	n = evbuffer_get_length(out);
	s = malloc(n + 1);
	CHECK(s != NULL, "malloc");
	CHECK(evbuffer_remove(out, s, n) == (int)n, "evbuffer_remove");
	s[n] = '\0';
	evbuffer_free(out);
	return s;
}

/* Every golden capture renders exactly as its .vm file. */
static void
test_golden(void **state)
{
	char	*xml, *vm, *got, err[256];
	size_t	 i, xl;
	int	 rc;

	for (i = 0; i < sizeof(golden) / sizeof(golden[0]); i++) {
		xml = golden_file(golden[i], "xml", &xl);
		vm = golden_file(golden[i], "vm", NULL);
		got = render(xml, xl, 1, LOGFMT_VM, "", &rc, err, sizeof(err));
		CHECK(rc == 0, "%s: rc %d: %s", golden[i], rc, err);
		CHECK(strcmp(got, vm) == 0, "%s renders as\n%s\nwant\n%s",
		    golden[i], got, vm);
		free(got);
		/* Leading white space and a stream header change nothing. */
		got = malloc(xl + 200);
		CHECK(got != NULL, "malloc");
		snprintf(got, xl + 200, "<?xml version='1.0'?>\n<stream:stream "
		    "xmlns='jabber:client' xmlns:stream='http://etherx.jabber."
		    "org/streams'>\n%s\n", xml);
		free(xml);
		xml = got;
		got = render(xml, strlen(xml), 1, LOGFMT_VM, "", &rc, err,
		    sizeof(err));
		CHECK(rc == 0 && strcmp(got, vm) == 0,
		    "%s with a stream header: rc %d\n%s", golden[i], rc, got);
		free(got);
		free(xml);
		free(vm);
	}
}

/*
 * The golden .vm files are the seed's own lines: each tree is in the
 * seed log as it stands (error_409 under the seed's "XML in=[" header).
 */
static void
test_golden_from_seed(void **state)
{
	char	*seed, *vm, *tree;
	size_t	 i;

	/* A missing seed log fails here: it is part of the repository. */
	seed = tu_slurp(SEED_LOG, NULL);
	for (i = 0; i < sizeof(golden) / sizeof(golden[0]); i++) {
		vm = golden_file(golden[i], "vm", NULL);
		tree = strchr(vm, '\n') + 1;
		CHECK(strncmp(vm, "[vm] Receive : \n", 16) == 0,
		    "%s.vm does not start with the Receive line", golden[i]);
		CHECK(strstr(seed, tree) != NULL,
		    "%s.vm tree is not in the seed log", golden[i]);
		if (strcmp(golden[i], "error_409") != 0)
			CHECK(strstr(seed, vm) != NULL,
			    "%s.vm is not in the seed log", golden[i]);
		free(vm);
	}
	free(seed);
}

/* The seed's whole server stream: the four trees, in order, nothing else. */
static void
test_seed_server(void **state)
{
	char	*xml, *got, *want, *vm, err[256];
	size_t	 xl, i, wl = 0;
	int	 rc;

	want = calloc(1, 8192);
	CHECK(want != NULL, "calloc");
	for (i = 0; i < sizeof(golden) / sizeof(golden[0]); i++) {
		vm = golden_file(golden[i], "vm", NULL);
		CHECK(wl + strlen(vm) < 8192, "golden too big");
		memcpy(want + wl, vm, strlen(vm) + 1);
		wl += strlen(vm);
		free(vm);
	}
	xml = golden_file("seed_server", "xml", &xl);
	got = render(xml, xl, 1, LOGFMT_VM, "", &rc, err, sizeof(err));
	CHECK(rc == 0, "rc %d: %s", rc, err);
	CHECK(strcmp(got, want) == 0, "seed server stream renders as\n%s", got);
	free(got);

	free(xml);
	free(want);

	/* A stanza longer than one parser feed (4 KiB) is one tree. */
	xml = malloc(20100);
	want = malloc(20200);
	CHECK(xml != NULL && want != NULL, "malloc");
	memset(want, 0, 20200);
	memset(want, 'a', 20000);
	snprintf(xml, 20100, "<message><body>%s</body></message>", want);
	snprintf(want + 20000, 200, "\n");
	got = render(xml, strlen(xml), 1, LOGFMT_VM, "", &rc, err, sizeof(err));
	CHECK(rc == 0, "long stanza: rc %d: %s", rc, err);
	CHECK(strncmp(got, LONG_HEAD, strlen(LONG_HEAD)) == 0 &&
	    strcmp(got + strlen(LONG_HEAD), want) == 0,
	    "long stanza renders as %.100s...", got);
	free(got);
	free(xml);
	free(want);
}

/* The rabbit's side: one "[vm] Sending : ...(end)" per unit. */
static void
test_from_rabbit(void **state)
{
	static const char want[] =
	    "[vm] Sending : <?xml version='1.0' encoding='UTF-8'?>\n"
	    "[vm] <stream:stream to='almacska' xmlns='jabber:client' "
	    "xmlns:stream='http://etherx.jabber.org/streams' "
	    "version='1.0'>(end)\n"
	    "[vm] Sending : <iq type='get' id='1'><query "
	    "xmlns='jabber:iq:register'/></iq>(end)\n"
	    "[vm] Sending : <iq to='almacska' type='set' id='2'>\n"
	    "[vm] \t<query xmlns=\"jabber:iq:register\">\n"
	    "[vm] \t\t<username>f81edfee27c1</username>\n"
	    "[vm] \t\t<password>83279de2ea5c</password>\n"
	    "[vm] \t\t<name>f81edfee27c1</name>\n"
	    "[vm] \t\t<email>f81edfee27c1@bunny.lab</email>\n"
	    "[vm] \t</query>\n"
	    "[vm] </iq>(end)\n"
	    "[vm] Sending : <iq from=\"f81edfee27c1@almacska\" to=\"almacska\" "
	    "type='set' id='3'>\n"
	    "[vm] \t<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>\n"
	    "[vm] \t\t<resource>idle</resource>\n"
	    "[vm] \t</bind>\n"
	    "[vm] </iq>(end)\n"
	    "[vm] Sending : <iq from='almacska/d4379d2a' to='almacska' "
	    "type='set' id='4'>\n"
	    "[vm] \t<session xmlns='urn:ietf:params:xml:ns:xmpp-session'/>\n"
	    "[vm] </iq>(end)\n";
	char	*xml, *got, err[256];
	size_t	 xl;
	int	 rc;

	xml = golden_file("seed_rabbit", "xml", &xl);
	got = render(xml, xl, 0, LOGFMT_VM, "", &rc, err, sizeof(err));
	CHECK(rc == 0, "rc %d: %s", rc, err);
	CHECK(strcmp(got, want) == 0, "rabbit stream renders as\n%s", got);
	free(got);
	free(xml);

	/* Without a header the implicit one is not shown; the end is. */
	got = render("<presence/>\n</stream:stream>", 28, 0, LOGFMT_VM, "",
	    &rc, err, sizeof(err));
	CHECK(rc == 0 && strcmp(got, "[vm] Sending : <presence/>(end)\n"
	    "[vm] Sending : </stream:stream>(end)\n") == 0,
	    "headerless rabbit capture: rc %d\n%s", rc, got);
	free(got);
}

/* Raw blocks, "both", and a prefix on every line. */
static void
test_raw_both_prefix(void **state)
{
	static const char *const starts[] = {
		"<stream:features>", "<iq type=\"result\" id=\"1\"",
		"<iq type=\"error\"", "<iq type=\"result\" id=\"3\""
	};
	static const char *const ends[] = {
		"</stream:features>", "</iq>", "</iq>", "</iq>"
	};
	struct evbuffer	*want = evbuffer_new(), *wboth = evbuffer_new();
	char		*xml, *got, *p, *q, *line, *vm, err[256];
	const char	*from;
	size_t		 xl, i, wl, plen = strlen("rabbit-42 ");
	int		 rc;

	CHECK(want != NULL && wboth != NULL, "evbuffer_new");
	xml = golden_file("seed_server", "xml", &xl);
	/* Expected raw: the header, then each stanza, white space skipped. */
	p = strstr(xml, starts[0]);
	CHECK(p != NULL, "no features in seed_server.xml");
	evbuffer_add_printf(want, "RECEIVE:\n\n%.*s\n\n", (int)(p - xml), xml);
	evbuffer_add_printf(wboth, "RECEIVE:\n\n%.*s\n\n", (int)(p - xml), xml);
	for (i = 0, from = xml; i < 4; i++) {
		p = strstr(from, starts[i]);
		CHECK(p != NULL, "no %s", starts[i]);
		q = strstr(p, ends[i]);
		CHECK(q != NULL, "no end of %s", starts[i]);
		q += strlen(ends[i]);
		evbuffer_add_printf(want, "RECEIVE:\n\n%.*s\n\n", (int)(q - p), p);
		evbuffer_add_printf(wboth, "RECEIVE:\n\n%.*s\n\n", (int)(q - p),
		    p);
		vm = golden_file(golden[i], "vm", NULL);
		evbuffer_add(wboth, vm, strlen(vm));
		free(vm);
		from = q;
	}
	evbuffer_add(want, "", 1);
	evbuffer_add(wboth, "", 1);

	got = render(xml, xl, 1, LOGFMT_RAW, "", &rc, err, sizeof(err));
	CHECK(rc == 0, "raw rc %d: %s", rc, err);
	CHECK(strcmp(got, (char *)evbuffer_pullup(want, -1)) == 0,
	    "raw renders as\n%s", got);
	free(got);
	got = render(xml, xl, 1, LOGFMT_BOTH, "", &rc, err, sizeof(err));
	CHECK(rc == 0, "both rc %d: %s", rc, err);
	CHECK(strcmp(got, (char *)evbuffer_pullup(wboth, -1)) == 0,
	    "both renders as\n%s", got);
	free(got);

	/* The prefix starts every line, empty ones and continuations too. */
	got = render(xml, xl, 1, LOGFMT_BOTH, "rabbit-42 ", &rc, err,
	    sizeof(err));
	CHECK(rc == 0, "prefixed rc %d: %s", rc, err);
	wl = 0;
	for (line = got; *line != '\0'; line = p + 1) {
		CHECK(strncmp(line, "rabbit-42 ", plen) == 0,
		    "line without the prefix: %.40s", line);
		p = strchr(line, '\n');
		CHECK(p != NULL, "output does not end with a newline");
		/* Strip the prefix in place to compare with the plain output. */
		memmove(got + wl, line + plen, (size_t)(p - line) - plen + 1);
		wl += (size_t)(p - line) - plen + 1;
	}
	got[wl] = '\0';
	CHECK(strcmp(got, (char *)evbuffer_pullup(wboth, -1)) == 0,
	    "prefixed output differs beyond the prefix:\n%s", got);
	free(got);

	/* Raw from the rabbit: SEND blocks. */
	got = render("<iq id='9'/> <iq id='10'/>", 26, 0, LOGFMT_RAW, "> ",
	    &rc, err, sizeof(err));
	CHECK(rc == 0 && strcmp(got, "> SEND:\n> \n> <iq id='9'/>\n> \n"
	    "> SEND:\n> \n> <iq id='10'/>\n> \n") == 0,
	    "raw rabbit capture: rc %d\n%s", rc, got);
	free(got);
	evbuffer_free(want);
	evbuffer_free(wboth);
	free(xml);
}

/*
 * Captures that stop being XMPP: 1, the verdict, what came before is
 * kept, then the note and the firmware's reading of the rest.
 */
static void
test_errors(void **state)
{
#define NOTE(v)	"[vm] !! not XMPP from here on: " v "; the rest as the " \
		"firmware reads it in one read\n"
	static const struct {
		const char	*tail;
		const char	*err;
		const char	*rest;
	} cases[] = {
		{ "<iq type='get'><query", "capture ends inside a stanza "
		    "(21 bytes)", NOTE("capture ends inside a stanza (21 bytes)")
		    "[vm] !! firmware parser waits: no end tag for element "
		    "\"iq\" (21 bytes stay in its buffer)\n" },
		{ "<iq></a>", "not-well-formed (mismatched tag)",
		    NOTE("not-well-formed (mismatched tag)") "[vm] !! firmware "
		    "parser waits: no end tag for element \"iq\" (8 bytes stay "
		    "in its buffer)\n" },
		{ "hello<iq/>", "not-well-formed (text between stanzas)",
		    NOTE("not-well-formed (text between stanzas)") "[vm] !! "
		    "rabbit deaf for good: its buffer starts with text "
		    "\"hello\", not \"<\"; it keeps that text and drops the "
		    "rest\n" },
		{ "<!-- c --><iq/>", "restricted-xml (XML comment)",
		    NOTE("restricted-xml (XML comment)") "[vm] !! firmware "
		    "parser would stall: no closing quote for attribute NIL "
		    "(endless recursion: the rabbit runs out of memory and "
		    "reboots)\n" },
		{ "<iq>&foo;</iq>", "restricted-xml (undefined entity)",
		    NOTE("restricted-xml (undefined entity)") "[vm] Receive : \n"
		    "[vm]     |iq\n[vm]     !..&foo;\n" },
		{ "<iq a='1' a='2'></iq>", "not-well-formed (duplicate "
		    "attribute)", NOTE("not-well-formed (duplicate attribute)")
		    "[vm] Receive : \n[vm]     |iq\n[vm]     | a => 1\n"
		    "[vm]     | a => 2\n" },
	};
	char	*xml, *vm, *buf, *got, err[256];
	size_t	 xl, i, vl;
	int	 rc;

	xml = golden_file("bind_result", "xml", &xl);
	vm = golden_file("bind_result", "vm", NULL);
	vl = strlen(vm);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf = malloc(xl + strlen(cases[i].tail) + 1);
		CHECK(buf != NULL, "malloc");
		memcpy(buf, xml, xl);
		strcpy(buf + xl, cases[i].tail);
		got = render(buf, strlen(buf), 1, LOGFMT_VM, "", &rc, err,
		    sizeof(err));
		CHECK(rc == 1, "'%s': rc %d", cases[i].tail, rc);
		CHECK(strcmp(err, cases[i].err) == 0, "'%s': err '%s'",
		    cases[i].tail, err);
		CHECK(strncmp(got, vm, vl) == 0 && strcmp(got + vl,
		    cases[i].rest) == 0, "'%s': rendered\n%s", cases[i].tail,
		    got);
		free(got);
		free(buf);
	}
	free(xml);
	free(vm);
}

/* The header cut short, the rabbit's side, and nothing to render. */
static void
test_errors_edges(void **state)
{
	char	*got, err[256];
	int	 rc;

	/* A stream header cut short: the stream never opens. */
	got = render("<stream:stream xmlns='jabber:client'", 36, 1, LOGFMT_VM,
	    "", &rc, err, sizeof(err));
	CHECK(rc == 1 && strcmp(got, NOTE("capture ends inside a stanza (36 "
	    "bytes)") "[vm] !! the stream never opens: no \">\" after "
	    "\"<stream:stream\"\n") == 0 && strcmp(err, "capture ends "
	    "inside a stanza (36 bytes)") == 0, "cut header: %d '%s'", rc, got);
	free(got);
	/* From the rabbit, the rest is one "Sending". */
	got = render("<iq/><iq a=b/>", 14, 0, LOGFMT_VM, "", &rc, err,
	    sizeof(err));
	CHECK(rc == 1 && strcmp(got, "[vm] Sending : <iq/>(end)\n"
	    NOTE("not-well-formed (invalid token)")
	    "[vm] Sending : <iq a=b/>(end)\n") == 0, "rabbit: %d '%s'", rc,
	    got);
	free(got);
	/* The rabbit's click, decoded after its one read. */
	one_read = 1;
	got = render(S("<message to='i@x/int'><button><clic>1</clic></button>"
	    "</message><ears a=b>"), 0, LOGFMT_VM, "", &rc, err, sizeof(err));
	one_read = 0;
	CHECK(rc == 1 && strcmp(got, "[vm] !! the whole capture as one read "
	    "(73 bytes)\n[vm] !! not XMPP: not-well-formed (invalid token)\n"
	    "[vm] Sending : <message to='i@x/int'><button><clic>1</clic>"
	    "</button></message><ears a=b>(end)\n[vm] !! button: 1 click\n") ==
	    0, "rabbit, one read: %d '%s'", rc, got);
	free(got);
	/* Empty and white space only captures are fine and print nothing. */
	got = render("", 0, 1, LOGFMT_BOTH, "", &rc, err, sizeof(err));
	CHECK(rc == 0 && *got == '\0', "empty capture: %d '%s'", rc, got);
	free(got);
	got = render(" \n\t", 3, 1, LOGFMT_VM, "", &rc, err, sizeof(err));
	CHECK(rc == 0 && *got == '\0', "blank capture: %d '%s'", rc, got);
	free(got);
#undef NOTE
}

/*
 * Hand-written captures (tests/golden/README.md): NAME.xml renders byte
 * for byte as NAME.vm, with the status the verdict gives; render_oneread
 * as one read and, as render_oneread_reads.vm, one stanza per read.
 */
static void
test_golden_captures(void **state)
{
	static const struct {
		const char	*xml;
		const char	*vm;
		int		 one;
		int		 rc;
	} cases[] = {
		{ "render_unquoted", "render_unquoted", 0, 1 },
		{ "render_nospace", "render_nospace", 0, 1 },
		{ "render_entity", "render_entity", 0, 1 },
		{ "render_text", "render_text", 0, 1 },
		{ "render_packet", "render_packet", 0, 0 },
		{ "render_oneread", "render_oneread", 1, 0 },
		{ "render_oneread", "render_oneread_reads", 0, 0 },
	};
	char	*xml, *vm, *got, err[256];
	size_t	 xl, i;
	int	 rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		xml = golden_file(cases[i].xml, "xml", &xl);
		vm = golden_file(cases[i].vm, "vm", NULL);
		one_read = cases[i].one;
		got = render(xml, xl, 1, LOGFMT_VM, "", &rc, err, sizeof(err));
		one_read = 0;
		CHECK(rc == cases[i].rc, "%s: rc %d", cases[i].vm, rc);
		CHECK(strcmp(got, vm) == 0, "%s renders as\n%s\nwant\n%s",
		    cases[i].vm, got, vm);
		free(got);
		free(xml);
		free(vm);
	}
	/* One read, both formats: the whole capture is one raw block. */
	one_read = 1;
	got = render("<a></a>\n<b></b>", 15, 1, LOGFMT_BOTH, "P ", &rc, err,
	    sizeof(err));
	one_read = 0;
	CHECK(rc == 0 && strcmp(got, "P [vm] !! the whole capture as one read "
	    "(15 bytes)\nP RECEIVE:\nP \nP <a></a>\nP <b></b>\nP \n"
	    "P [vm] Receive : \nP [vm]     |a\nP [vm] !! rabbit deaf for "
	    "good: its buffer starts with text \"\\n\", not \"<\"; it keeps "
	    "that text and drops the rest\n") == 0, "one read, both: %d\n%s",
	    rc, got);
	free(got);
}

/* Run cmd_render with stdin from `in`; output and messages returned. */
static int
run_render(int argc, char **argv, const char *in, size_t inlen, char **out,
    char **errout, int *usage)
{
	char		 ipath[64], opath[64], epath[64];
	volatile int	 rc = -1;
	int		 ifd, si, so, se;

	snprintf(ipath, sizeof(ipath), "/tmp/test_render.in.XXXXXX");
	CHECK((ifd = mkstemp(ipath)) != -1 && write(ifd, in, inlen) ==
	    (ssize_t)inlen && lseek(ifd, 0, SEEK_SET) == 0, "stdin file");
	unlink(ipath);
	CHECK((si = dup(0)) != -1 && dup2(ifd, 0) == 0, "stdin");
	close(ifd);
	so = tu_redirect(1, "/tmp", opath, sizeof(opath));
	se = tu_redirect(2, "/tmp", epath, sizeof(epath));
	*usage = 0;
	usage_msg[0] = '\0';
	if (setjmp(usage_jmp) == 0)
		rc = cmd_render(argc, argv);
	else
		*usage = 1;
	*errout = tu_restore(2, se, epath);
	*out = tu_restore(1, so, opath);
	CHECK(dup2(si, 0) == 0, "stdin back");
	close(si);
	return rc;
}

/* `nabproxy render` end to end, options included. */
static void
test_cmd_render(void **state)
{
	char	*xml, *out, *err, *vm;
	char	*a_default[] = { "render", NULL };
	char	*a_rabbit[] = { "render", "--from-rabbit", "--format", "raw",
		    "--prefix", "R ", NULL };
	char	*a_server[] = { "render", "--from-rabbit", "--from-server",
		    "--format", "vm", NULL };
	char	*a_badfmt[] = { "render", "--format", "xml", NULL };
	char	*a_badarg[] = { "render", "--bogus", NULL };
	char	*a_help[] = { "render", "--help", NULL };
	size_t	 xl;
	int	 rc, usage;

	xml = golden_file("features", "xml", &xl);
	vm = golden_file("features", "vm", NULL);
	rc = run_render(1, a_default, xml, xl, &out, &err, &usage);
	CHECK(rc == 0 && !usage && strcmp(out, vm) == 0 && *err == '\0',
	    "default render: rc %d out\n%s\nerr %s", rc, out, err);
	free(out);
	free(err);
	rc = run_render(5, a_server, xml, xl, &out, &err, &usage);
	CHECK(rc == 0 && strcmp(out, vm) == 0, "last direction wins: %s", out);
	free(out);
	free(err);
	rc = run_render(6, a_rabbit, "<iq/>", 5, &out, &err, &usage);
	CHECK(rc == 0 && strcmp(out, "R SEND:\nR \nR <iq/>\nR \n") == 0,
	    "rabbit raw: rc %d\n%s", rc, out);
	free(out);
	free(err);

	/* Not XMPP: the note, the firmware's reading, status 0. */
	xml = realloc(xml, xl + 8);
	CHECK(xml != NULL, "realloc");
	memcpy(xml + xl, "<iq><a>", 7);
	rc = run_render(1, a_default, xml, xl + 7, &out, &err, &usage);
	CHECK(rc == 0 && strncmp(out, vm, strlen(vm)) == 0 &&
	    strcmp(out + strlen(vm), "[vm] !! not XMPP from here on: capture "
	    "ends inside a stanza (7 bytes); the rest as the firmware reads it "
	    "in one read\n[vm] !! firmware parser waits: no end tag for "
	    "element \"iq\" (7 bytes stay in its buffer)\n") == 0,
	    "not XMPP: rc %d\n%s", rc, out);
	CHECK(strcmp(err, "nabproxy render: note: not XMPP: capture ends "
	    "inside a stanza (7 bytes)\n") == 0, "stderr '%s'", err);
	free(out);
	free(err);
	/* An empty capture renders nothing, successfully. */
	rc = run_render(1, a_default, "", 0, &out, &err, &usage);
	CHECK(rc == 0 && *out == '\0' && *err == '\0', "empty capture: rc %d "
	    "out '%s' err '%s'", rc, out, err);
	free(out);
	free(err);

	/* Usage errors go through errx_usage before anything is read. */
	rc = run_render(3, a_badfmt, "", 0, &out, &err, &usage);
	CHECK(usage && strcmp(usage_msg, "render: --format vm, raw or both") ==
	    0 && *out == '\0', "bad format: usage %d '%s'", usage, usage_msg);
	free(out);
	free(err);
	rc = run_render(2, a_badarg, "", 0, &out, &err, &usage);
	CHECK(usage && strcmp(usage_msg, "render: unknown argument "
	    "'--bogus'") == 0, "bad argument: usage %d '%s'", usage, usage_msg);
	free(out);
	free(err);
	rc = run_render(2, a_help, "", 0, &out, &err, &usage);
	CHECK(rc == 0 && !usage && strncmp(out, "usage: nabproxy render ",
	    23) == 0, "help: rc %d '%s'", rc, out);
	free(out);
	free(err);
	free(xml);
	free(vm);
}

/* `nabproxy render --one-read`: the note, then the one read. */
static void
test_cmd_render_one(void **state)
{
	char	*out, *err;
	char	*a_one[] = { "render", "--one-read", NULL };
	int	 rc, usage;

	rc = run_render(2, a_one, "<iq/>", 5, &out, &err, &usage);
	CHECK(rc == 0 && strcmp(out, "[vm] !! the whole capture as one read "
	    "(5 bytes)\n[vm] !! firmware parser would stall: element \"iq/\" "
	    "(\"<x/>\" without attributes) can never end (5 bytes stay in its "
	    "buffer)\n") == 0 && *err == '\0', "--one-read: rc %d\n%s", rc,
	    out);
	free(out);
	free(err);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_golden_from_seed),
		cmocka_unit_test(test_seed_server),
		cmocka_unit_test(test_from_rabbit),
		cmocka_unit_test(test_raw_both_prefix),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_errors_edges),
		cmocka_unit_test(test_golden_captures),
		cmocka_unit_test(test_cmd_render),
		cmocka_unit_test(test_cmd_render_one),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
