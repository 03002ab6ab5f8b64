/*
 * vmlog_misread: what the rabbit gets wrong, in one sentence.
 *
 * This module owns the reading of a finished emulation (vmlog-int.h): the
 * warning for every way the firmware stops or drops an element, and the
 * misread check, which looks in the firmware's tree for what no
 * conforming XML parser would produce. Every sentence is bounded by the
 * caller's buffer, with peer bytes escaped, quoted and cut at SNIP bytes.
 * It renders no log lines and runs no parser itself.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "vmlog.h"
#include "vmlog-int.h"

#define SNIP		40		/* peer bytes quoted in a warning */

/* Bounded string builder for warnings and reasons. */
struct sb {
	char	*p;
	size_t	 sz;
	size_t	 len;
};

static void	fw_msg(struct sb *, const struct fw *, enum fw_state,
		    struct vs);
static int	is_name(const char *, struct vs);
static int	mis_node(struct sb *, const struct fw *, const struct ev *);
static void	sb_cat(struct sb *, const char *);
static void	sb_vs(struct sb *, const char *, struct vs);

/* One sentence on why the firmware stopped, or dropped `what`. */
static void
fw_msg(struct sb *b, const struct fw *f, enum fw_state st, struct vs what)
{
	char	num[96];
	size_t	i;
	int	odd = 0;

	if (st == FW_POISON) {
		sb_cat(b, "rabbit deaf for good: its buffer starts with text ");
		sb_vs(b, f->buf, what);
		sb_cat(b, ", not \"<\"; it keeps that text and drops the rest");
		return;
	}
	if (st == FW_NOGT || st == FW_NOEND) {
		for (i = 0; st == FW_NOEND && i < what.len; i++)
			odd |= f->buf[what.off + i] != '\0' &&
			    strchr("/\t\r\n<=\"'", f->buf[what.off + i]) != NULL;
		sb_cat(b, odd ? "firmware parser would stall: element " :
		    st == FW_NOEND ? "firmware parser waits: no end tag for "
		    "element " : "firmware parser waits: \"<\" without \">\"");
		if (st == FW_NOEND)
			sb_vs(b, f->buf, what);
		if (odd && f->buf[what.off + what.len - 1] == '/')
			sb_cat(b, " (\"<x/>\" without attributes)");
		sb_cat(b, odd ? " can never end" : "");
		snprintf(num, sizeof(num), " (%zu byte%s stay in its buffer)",
		    f->kept, f->kept == 1 ? "" : "s");
		sb_cat(b, num);
		return;
	}
	if (st == FW_STALL || st == FW_DROP) {
		sb_cat(b, st == FW_STALL ? "firmware parser would stall: no "
		    "closing quote for attribute " : "firmware parser drops "
		    "element ");
		sb_vs(b, f->buf, what);
		sb_cat(b, st == FW_STALL ? " (endless recursion: the rabbit "
		    "runs out of memory and reboots)" : ": its attributes end "
		    "right after a quote");
		return;
	}
	if (st == FW_REBOOT) {
		sb_cat(b, "\"" STREAM_END "\" in the buffer: the rabbit reboots");
		return;
	}
	snprintf(num, sizeof(num), "emulation stopped: %s", st == FW_DEEP ?
	    "elements nested too deep" : st == FW_NODES ? "too many nodes" :
	    st == FW_COSTLY ? "the firmware parser is quadratic on this "
	    "buffer" : "buffer too large");
	sb_cat(b, num);
}

/* See vmlog-int.h. */
void
vmlog_fw_msg(char *msg, size_t msgsz, const struct fw *f, enum fw_state st,
    struct vs what)
{
	struct sb	b = { msg, msgsz, 0 };

	fw_msg(&b, f, st, what);
}

/* 1 if the window is an XML Name (ASCII rules, bytes >= 0x80 allowed). */
static int
is_name(const char *buf, struct vs v)
{
	size_t	i;
	int	c, alpha, digit;

	if (v.off == VS_NIL || v.len == 0)
		return 0;
	for (i = 0; i < v.len; i++) {
		c = (unsigned char)buf[v.off + i];
		if (c >= 0x80)
			continue;
		alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    c == '_' || c == ':';
		digit = (c >= '0' && c <= '9') || c == '.' || c == '-';
		if (!alpha && (!digit || i == 0))
			return 0;
	}
	return 1;
}

/*
 * Describe in b what in node e no conforming XML parser would produce.
 * Returns 1 if something, else 0.
 */
static int
mis_node(struct sb *b, const struct fw *f, const struct ev *e)
{
	const char	*gt;
	struct vs	 v = e->kind == EV_ATTR ? e->b : e->a;

	if (e->kind == EV_DROP)
		fw_msg(b, f, FW_DROP, e->a);
	else if ((e->kind == EV_ELEM || e->kind == EV_ATTR) &&
	    !is_name(f->buf, e->a)) {
		sb_cat(b, e->kind == EV_ELEM ? "element named " :
		    "attribute named ");
		sb_vs(b, f->buf, e->a);
		sb_cat(b, ", not an XML name");
		if (e->kind == EV_ELEM && e->a.len > 1 &&
		    f->buf[e->a.off + e->a.len - 1] == '/')
			sb_cat(b, "; write \"<x />\" for \"<x/>\"");
	} else if (e->kind != EV_ELEM && v.off != VS_NIL &&
	    memchr(f->buf + v.off, '\0', v.len) != NULL) {
		sb_cat(b, "NUL byte (the log shows only what precedes it) in ");
		sb_vs(b, f->buf, v);
	} else if (e->kind != EV_ELEM && !vmlog_vs_blank(f->buf, v) &&
	    memchr(f->buf + v.off, '<', v.len) != NULL) {
		sb_cat(b, e->kind == EV_TEXT ? "markup read as text: " :
		    "markup read as an attribute value: ");
		sb_vs(b, f->buf, v);
		if (e->kind == EV_TEXT && f->buf[v.off] == '<' &&
		    (gt = memchr(f->buf + v.off, '>', v.len)) != NULL &&
		    gt[-1] == '/' && memchr(f->buf + v.off, ' ',
		    (size_t)(gt - f->buf) - v.off) == NULL)
			sb_cat(b, "; write \"<x />\" for \"<x/>\"");
	} else
		return 0;
	return 1;
}

/*
 * See vmlog-int.h. Checks in this order: where the firmware stopped; the
 * first node no conforming parser would produce; bytes lost after a
 * self-closing tag; an entity left encoded. For well-formed XML these
 * cover every way the firmware's reading departs from a clean one
 * (whitespace-only text aside).
 */
int
vmlog_fw_check(const struct fw *f, char *why, size_t whysz)
{
	struct sb	 b = { why, whysz, 0 };
	const struct ev	*e, *amp = NULL;
	size_t		 k;
	const char	*p = vmlog_find(f->buf, f->len, STREAM_END,
			    strlen(STREAM_END));
	size_t		 i = p != NULL ? (size_t)(p - f->buf) : 0;

	sb_cat(&b, "");
	if (p != NULL && vmlog_vs_blank(f->buf, (struct vs){ 0, i }) &&
	    vmlog_vs_blank(f->buf, (struct vs){ i + strlen(STREAM_END),
	    f->len - i - strlen(STREAM_END) }))
		return 0;	/* the stream end, understood as such */
	if (f->state != FW_DONE) {
		fw_msg(&b, f, f->state, f->what);
		return 1;
	}
	/* By index: f->ev is NULL when there are no nodes. */
	for (k = 0; k < f->nev; k++) {
		e = &f->ev[k];
		if (mis_node(&b, f, e))
			return 1;
		if (amp == NULL && (e->kind == EV_TEXT || e->kind == EV_ATTR) &&
		    memchr(f->buf + (e->kind == EV_ATTR ? e->b.off : e->a.off),
		    '&', e->kind == EV_ATTR ? e->b.len : e->a.len) != NULL)
			amp = e;
	}
	if (f->lost.off != VS_NIL) {
		sb_cat(&b, "bytes lost after a self-closing tag (its first "
		    "end tag of the same name bounds it): ");
		sb_vs(&b, f->buf, f->lost);
	} else if (amp != NULL) {
		sb_cat(&b, "entity not decoded by the rabbit in ");
		sb_vs(&b, f->buf, amp->kind == EV_ATTR ? amp->b : amp->a);
	}
	return f->lost.off != VS_NIL || amp != NULL;
}

/* Append s, truncating at the builder's size. */
static void
sb_cat(struct sb *b, const char *s)
{
	size_t	n = strlen(s);

	if (b->sz == 0)
		return;
	if (n > b->sz - 1 - b->len)
		n = b->sz - 1 - b->len;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/*
 * Append a window quoted and escaped (SNIP bytes at most), or NIL. Each
 * byte is appended as it is escaped (this runs for every server stanza
 * with a finding, even when nothing reads the sentence: one snprintf a
 * byte was 40,000 instructions a login in a storm).
 */
static void
sb_vs(struct sb *b, const char *buf, struct vs v)
{
	static const char	hex[] = "0123456789abcdef";
	char			t[SNIP * 4 + 8];
	size_t			i, n = 0;
	int			c;

	if (v.off == VS_NIL) {
		sb_cat(b, "NIL");
		return;
	}
	t[n++] = '"';
	for (i = 0; i < v.len && i < SNIP; i++) {
		c = (unsigned char)buf[v.off + i];
		if (c == '\n' || c == '\t' || c == '\r') {
			t[n++] = '\\';
			t[n++] = c == '\n' ? 'n' : c == '\t' ? 't' : 'r';
		} else if (c == '"' || c == '\\') {
			t[n++] = '\\';
			t[n++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			t[n++] = '\\';
			t[n++] = 'x';
			t[n++] = hex[c >> 4];
			t[n++] = hex[c & 0xf];
		} else
			t[n++] = (char)c;
	}
	memcpy(t + n, i < v.len ? "...\"" : "\"", i < v.len ? 5 : 2);
	sb_cat(b, t);
}

/* See vmlog.h. */
int
vmlog_misread(const char *buf, size_t len, char *why, size_t whysz)
{
	struct fw	f;
	int		rc = -1;

	vmlog_fw_run(&f, len > 0 ? buf : "", len);
	if (f.state != FW_ENOMEM)
		rc = vmlog_fw_check(&f, why, whysz);
	vmlog_fw_free(&f);
	return rc;
}
