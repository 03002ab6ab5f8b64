/*
 * logsafe: redaction from expat's reading of a unit, and escaping of peer
 * bytes for every traffic line (daemon log, per-rabbit files, taps).
 *
 * The unit is parsed on its own, without namespace processing (prefixes
 * declared on the stream header are not in the unit), with xmlns
 * declarations tracked here per element. The byte offsets expat reports
 * for each start and end tag give the exact span of a secret element's
 * content, whatever whitespace, attributes, CDATA or entities it holds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <expat.h>

#include "logsafe.h"
#include "xmlstream.h"
#include "proxy.h"
#include "vmlog.h"
#include "vpacket.h"

#define NS_SASL		"urn:ietf:params:xml:ns:xmpp-sasl"
#define LS_MAX_DEPTH	256
#define LS_MAX_BINDS	128	/* xmlns declarations in scope */
#define LS_MAX_SPANS	64	/* secrets in one unit */

struct ls_bind {
	char		prefix[32];	/* "" = the default namespace */
	int		sasl;		/* bound to NS_SASL */
	int		depth;		/* declared on the element at depth */
};

struct ls_span {
	size_t		from, to;	/* content hidden: [from, to) */
};

struct ls_parse {
	XML_Parser	 p;
	size_t		 base;		/* offset of this parser's input */
	int		 depth;
	int		 secret;	/* depth of the open secret, or -1 */
	size_t		 secret_from;
	int		 failed;	/* a limit was hit: withhold the rest */
	struct ls_bind	 binds[LS_MAX_BINDS];
	size_t		 nbinds;
	struct ls_span	 spans[LS_MAX_SPANS];
	size_t		 nspans;
};

static void	ls_start(void *, const XML_Char *, const XML_Char **);
static void	ls_end(void *, const XML_Char *);
static int	ls_is_secret(const struct ls_parse *, const char *);
static int	ls_resolve(const struct ls_parse *, const char *, size_t);
static void	ls_declare(struct ls_parse *, const XML_Char **);
static size_t	ls_run(struct ls_parse *, const char *, size_t, size_t);
static size_t	ls_utf8(const unsigned char *, size_t);

/* Note the xmlns declarations of the element now at ls->depth. */
static void
ls_declare(struct ls_parse *ls, const XML_Char **attr)
{
	struct ls_bind	*b;
	const char	*pfx;
	size_t		 i;

	for (i = 0; attr[i] != NULL && attr[i + 1] != NULL; i += 2) {
		if (strcmp(attr[i], "xmlns") == 0)
			pfx = "";
		else if (strncmp(attr[i], "xmlns:", 6) == 0)
			pfx = attr[i] + 6;
		else
			continue;
		if (ls->nbinds == LS_MAX_BINDS ||
		    strlen(pfx) >= sizeof(ls->binds[0].prefix)) {
			ls->failed = 1;
			return;
		}
		b = &ls->binds[ls->nbinds++];
		snprintf(b->prefix, sizeof(b->prefix), "%s", pfx);
		b->sasl = strcmp(attr[i + 1], NS_SASL) == 0;
		b->depth = ls->depth;
	}
}

/* 1: prefix (plen bytes) is bound to SASL; 0: to another; -1: unbound. */
static int
ls_resolve(const struct ls_parse *ls, const char *pfx, size_t plen)
{
	size_t	i;

	for (i = ls->nbinds; i > 0; i--)
		if (strlen(ls->binds[i - 1].prefix) == plen &&
		    memcmp(ls->binds[i - 1].prefix, pfx, plen) == 0)
			return ls->binds[i - 1].sasl;
	return -1;
}

/* Is the element name (as written, maybe prefixed) a secret's? */
static int
ls_is_secret(const struct ls_parse *ls, const char *name)
{
	static const char *const sasl[] = { "auth", "response", "challenge",
	    "success", NULL };
	const char	*colon = strchr(name, ':');
	const char	*local = colon != NULL ? colon + 1 : name;
	size_t		 i;

	if (strcmp(local, "password") == 0 || strcmp(local, "digest") == 0)
		return 1;
	for (i = 0; sasl[i] != NULL; i++)
		if (strcmp(local, sasl[i]) == 0)
			return ls_resolve(ls, name, colon != NULL ?
			    (size_t)(colon - name) : 0) != 0;
	return 0;
}

static void
ls_start(void *arg, const XML_Char *name, const XML_Char **attr)
{
	struct ls_parse	*ls = arg;

	if (ls->failed)
		return;
	if (++ls->depth >= LS_MAX_DEPTH) {
		ls->failed = 1;
		XML_StopParser(ls->p, XML_FALSE);
		return;
	}
	ls_declare(ls, attr);
	if (ls->secret < 0 && ls_is_secret(ls, name)) {
		ls->secret = ls->depth;
		ls->secret_from = ls->base +
		    (size_t)XML_GetCurrentByteIndex(ls->p) +
		    (size_t)XML_GetCurrentByteCount(ls->p);
	}
	if (ls->failed)
		XML_StopParser(ls->p, XML_FALSE);
}

static void
ls_end(void *arg, const XML_Char *name)
{
	struct ls_parse	*ls = arg;
	size_t		 to;

	if (ls->failed)
		return;
	if (ls->secret == ls->depth) {
		ls->secret = -1;
		to = ls->base + (size_t)XML_GetCurrentByteIndex(ls->p);
		/* An empty-element tag ends where it starts: nothing hidden. */
		if (to > ls->secret_from) {
			if (ls->nspans == LS_MAX_SPANS) {
				ls->failed = 1;
				XML_StopParser(ls->p, XML_FALSE);
				return;
			}
			ls->spans[ls->nspans++] =
			    (struct ls_span){ ls->secret_from, to };
		}
	}
	while (ls->nbinds > 0 && ls->binds[ls->nbinds - 1].depth == ls->depth)
		ls->nbinds--;
	ls->depth--;
}

/*
 * Parse b[off..n) with one parser; returns where the next top-level
 * element starts (after "junk after document element"), n when all was
 * read, or the offset of the first unreadable byte with ls->failed set.
 */
static size_t
ls_run(struct ls_parse *ls, const char *b, size_t off, size_t n)
{
	enum XML_Status	st;
	size_t		at;

	if ((ls->p = XML_ParserCreate(NULL)) == NULL) {
		ls->failed = 1;
		return off;
	}
	xs_expat_nodefer(ls->p);
	XML_SetUserData(ls->p, ls);
	XML_SetElementHandler(ls->p, ls_start, ls_end);
	ls->base = off;
	ls->depth = 0;
	ls->nbinds = 0;
	st = XML_Parse(ls->p, b + off, (int)(n - off), XML_FALSE);
	at = off + (size_t)XML_GetCurrentByteIndex(ls->p);
	if (st == XML_STATUS_ERROR && !ls->failed && ls->secret < 0 &&
	    XML_GetErrorCode(ls->p) == XML_ERROR_JUNK_AFTER_DOC_ELEMENT &&
	    at > off && at < n) {
		XML_ParserFree(ls->p);
		return at;
	}
	if (st == XML_STATUS_ERROR || ls->failed) {
		ls->failed = 1;
		if (at < off || at > n)
			at = off;
	} else
		at = n;
	XML_ParserFree(ls->p);
	return at;
}

/* See logsafe.h. */
int
logsafe_redact(struct evbuffer *out, const char *b, size_t n)
{
	struct ls_parse	*ls;
	size_t		 off = 0, at = n, i, stop;
	int		 rc = -1;

	if (n > INT32_MAX)
		return -1;
	/* A stream's end tag alone: no content, nothing to parse. */
	if (n >= 3 && b[0] == '<' && b[1] == '/' && b[n - 1] == '>' &&
	    memchr(b + 1, '<', n - 1) == NULL &&
	    memchr(b, '>', n - 1) == NULL)
		return evbuffer_add(out, b, n) == -1 ? -1 : 0;
	if ((ls = calloc(1, sizeof(*ls))) == NULL)
		return -1;
	ls->secret = -1;
	while (off < n && !ls->failed && ls->secret < 0) {
		at = ls_run(ls, b, off, n);
		if (at == n || ls->failed)
			break;
		off = at;
	}
	/* Where the readable part ends: an open secret or a failure. */
	stop = ls->secret >= 0 ? ls->secret_from : ls->failed ? at : n;
	off = 0;
	for (i = 0; i < ls->nspans && ls->spans[i].from <= stop; i++) {
		if (evbuffer_add(out, b + off, ls->spans[i].from - off) == -1 ||
		    evbuffer_add(out, "***", 3) == -1)
			goto done;
		off = ls->spans[i].to;
	}
	if (stop > off && evbuffer_add(out, b + off, stop - off) == -1)
		goto done;
	if (stop < n && evbuffer_add(out, "***", 3) == -1)
		goto done;
	rc = (int)ls->nspans + (stop < n);
done:
	free(ls);
	return rc;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if none. */
static size_t
ls_utf8(const unsigned char *s, size_t n)
{
	size_t		len, i;
	uint32_t	cp;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates, beyond Unicode, C1 controls. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff ||
	    (cp >= 0x80 && cp <= 0x9f))
		return 0;
	return len;
}

/* See logsafe.h. */
int
logsafe_escape(struct evbuffer *out, const char *b, size_t n,
    enum logsafe_mode mode)
{
	const unsigned char	*s = (const unsigned char *)b;
	char			 esc[8];
	size_t			 i, run = 0, k;
	int			 one = mode == LOGSAFE_ONE_LINE;

	for (i = 0; i < n; i += k) {
		/* Printable ASCII but the backslash: kept as is, in a run. */
		for (k = 0; (i > 0 || !one) && i + k < n && s[i + k] >= 0x20 &&
		    s[i + k] < 0x7f && s[i + k] != '\\'; k++)
			;
		if (k > 0) {
			run += k;
			continue;
		}
		k = 1;
		esc[0] = '\0';
		if (one && i == 0 && s[i] != '<' && s[i] != '\\')
			snprintf(esc, sizeof(esc), "\\x%02x", s[i]);
		else if (s[i] >= 0x80) {
			if ((k = ls_utf8(s + i, n - i)) == 0) {
				k = 1;
				snprintf(esc, sizeof(esc), "\\x%02x", s[i]);
			}
		} else if (s[i] == '\\')
			snprintf(esc, sizeof(esc), "\\\\");
		else if (s[i] == '\n' || s[i] == '\t') {
			if (one)
				snprintf(esc, sizeof(esc), "%s",
				    s[i] == '\n' ? "\\n" : "\\t");
		} else if (s[i] == '\r')
			snprintf(esc, sizeof(esc), "\\r");
		else if (s[i] == '\0')
			snprintf(esc, sizeof(esc), "\\0");
		else if (s[i] < 0x20 || s[i] == 0x7f)
			snprintf(esc, sizeof(esc), "\\x%02x", s[i]);
		if (esc[0] == '\0') {
			run += k;
			continue;
		}
		if (evbuffer_add(out, b + i - run, run) == -1 ||
		    evbuffer_add(out, esc, strlen(esc)) == -1)
			return -1;
		run = 0;
	}
	return evbuffer_add(out, b + n - run, run);
}

/* See logsafe.h. */
int
logsafe_render(struct evbuffer *out, const char *prefix, int fmt,
    int from_server, enum logsafe_vm vm, const char *intro,
    const char *bytes, size_t len, int *misread_out)
{
	struct evbuffer	*tmp;
	char		 why[VMLOG_WHY_SIZE], line[VPACKET_LINE_MAX];
	int		 misread = 0, dec, rc = -1;

	if (misread_out != NULL)
		*misread_out = -1;

	if ((tmp = evbuffer_new()) == NULL)
		return -1;
	if (intro != NULL &&
	    evbuffer_add_printf(out, "%s[vm] !! %s:\n", prefix, intro) == -1)
		goto done;
	if ((fmt & LOGFMT_RAW) && (logsafe_escape(tmp, bytes, len,
	    LOGSAFE_ONE_LINE) == -1 || vmlog_raw(out, prefix, from_server,
	    (const char *)evbuffer_pullup(tmp, -1),
	    evbuffer_get_length(tmp)) == -1))
		goto done;
	evbuffer_drain(tmp, evbuffer_get_length(tmp));
	if ((fmt & LOGFMT_VM) && vm != LOGSAFE_VM_NONE) {
		if ((vm == LOGSAFE_VM_SENDING ? vmlog_sending(tmp, prefix,
		    bytes, len) : vmlog_receive(tmp, prefix, bytes, len,
		    &misread)) == -1 ||
		    logsafe_escape(out, (const char *)evbuffer_pullup(tmp, -1),
		    evbuffer_get_length(tmp), LOGSAFE_KEEP_NL) == -1)
			goto done;
		if (misread_out != NULL && vm == LOGSAFE_VM_RECEIVE)
			*misread_out = misread;
		/* Say why, so the operator sees what the rabbit got wrong. */
		if (misread && vmlog_misread(bytes, len, why, sizeof(why)) == 1 &&
		    evbuffer_add_printf(out, "%s[vm] !! rabbit misreads this "
		    "stanza: %s\n", prefix, why) == -1)
			goto done;
	}
	/* Decoded payloads (printable ASCII only), in every format. */
	if (fmt != 0 && vm != LOGSAFE_VM_NONE &&
	    (dec = vpacket_describe(bytes, len, line, sizeof(line))) != 0 &&
	    (dec == -1 || evbuffer_add_printf(out, "%s[vm] !! %s\n", prefix,
	    line) == -1))
		goto done;
	rc = 0;
done:
	evbuffer_free(tmp);
	return rc;
}
