/*
 * vmlog: the "[vm]" log of what the rabbit understood.
 *
 * This module owns the emulation of the firmware's XML parser and every
 * rendering of the rabbit's log: trees, "Sending :", the seed's raw blocks.
 * fw_parse() and fw_attrs() follow xmlparser.mtl's ParseXML and
 * BuildAttributes step by step on windows of the input, with the Metal
 * VM's string rules (vinterp.c: nil is -1 in arithmetic, strsub clamps its
 * length and answers nil for a negative start or length, strfind clamps a
 * negative start), so the quirks fall out instead of being special-cased.
 * Searches are cached so the emulation stays linear where the firmware is
 * quadratic; depth, nodes and work are capped. Output lines follow the
 * simulator's logger (log.c): every line it prints starts with "[vm] ".
 * The warning sentences and the misread check, which only read the
 * finished tree, live in vmlog_misread.c (shared types: vmlog-int.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "vmlog.h"
#include "vmlog-int.h"

static const struct vs VSNIL = { VS_NIL, 0 };

/* ParseXML's answer: an element, or text for reason why. */
struct fwres {
	int		elem;
	enum fw_state	why;	/* FW_POISON: no '<' first */
	struct vs	text;
	struct vs	name;
	struct vs	rest;	/* EndStrS */
};

/* Line writer: prefix and tag start every output line. */
struct vw {
	struct evbuffer	*eb;
	const char	*pfx;
	const char	*tag;
	int		 bol;
	int		 err;
	size_t		 n;
	char		 stage[4096];
};

static struct vs	 vs_sub(struct vs, int64_t, int64_t);
static int		 vs_get(const struct fw *, struct vs, int64_t);
static void		 fw_spend(struct fw *, size_t);
static int64_t		 vs_find(struct fw *, struct vs, int, int64_t);
static int64_t		 fw_endtag(struct fw *, struct vs, struct vs);
static int		 fw_push(struct fw *, enum ev_kind, int, struct vs,
			    struct vs);
static int		 fw_attrs(struct fw *, struct vs, int, struct vs *);
static struct fwres	 fw_parse(struct fw *, struct vs, int);
static void		 fw_children(struct fw *, struct vs, int);
static struct evbuffer	*vw_init(struct vw *, const char *, const char *);
static void		 vw_add(struct vw *, const char *, size_t);
static void		 vw_put(struct vw *, const char *, size_t);
static void		 vw_puts(struct vw *, const char *);
static void		 vw_cut(struct vw *, const char *, struct vs);
static void		 vw_fill(struct vw *, int, int);
static int		 vw_finish(struct vw *, struct evbuffer *);
static void		 render_tree(struct vw *, const struct fw *);

/* strsub s start n: nil on a nil s, a negative start or length. */
static struct vs
vs_sub(struct vs s, int64_t start, int64_t n)
{
	if (s.off == VS_NIL)
		return VSNIL;
	if (start + n > (int64_t)s.len)
		n = (int64_t)s.len - start;
	if (start < 0 || n < 0)
		return VSNIL;
	return (struct vs){ s.off + (size_t)start, (size_t)n };
}

/* strget s i: the byte, or -1 (nil) out of range. */
static int
vs_get(const struct fw *f, struct vs s, int64_t i)
{
	if (s.off == VS_NIL || i < 0 || i >= (int64_t)s.len)
		return -1;
	return (unsigned char)f->buf[s.off + (size_t)i];
}

/* See vmlog-int.h; a nil window is not blank, an empty one is. */
int
vmlog_vs_blank(const char *buf, struct vs s)
{
	size_t	i;

	for (i = 0; s.off != VS_NIL && i < s.len; i++)
		if (buf[s.off + i] != ' ' && buf[s.off + i] != '\t' &&
		    buf[s.off + i] != '\r' && buf[s.off + i] != '\n')
			return 0;
	return s.off != VS_NIL;
}

/* Count scanned bytes; over the budget, the emulation stops. */
static void
fw_spend(struct fw *f, size_t n)
{
	f->work += n;
	if (f->work > f->budget && f->state == FW_DONE)
		f->state = FW_COSTLY;
}

/* The cache slot of a byte of FC_BYTES (without a strchr per search). */
static size_t
fc_index(int c)
{
	switch (c) {
	case ' ':
		return 0;
	case '>':
		return 1;
	case '<':
		return 2;
	case '=':
		return 3;
	case '\'':
		return 4;
	default:
		return 5;	/* '"' */
	}
}

/*
 * memmem for the short needles the emulation looks for ("</name>", the
 * stream end): memchr for the first byte, then a compare. glibc's memmem
 * costs several hundred instructions of set-up per call.
 */
const char *
vmlog_find(const char *h, size_t n, const char *needle, size_t m)
{
	const char	*p = h, *end = h + n;

	if (m == 0)
		return h;
	while ((size_t)(end - p) >= m &&
	    (p = memchr(p, needle[0], (size_t)(end - p) - m + 1)) != NULL) {
		if (memcmp(p, needle, m) == 0)
			return p;
		p++;
	}
	return NULL;
}

/*
 * strfind s c from: the window offset of the first c at or after from, or
 * -1 (nil). Answers are for the whole input and cached per byte, and the
 * parser asks in document order, so each byte class is scanned about once.
 */
static int64_t
vs_find(struct fw *f, struct vs s, int c, int64_t from)
{
	struct fcache	*k = &f->fc[fc_index(c)];
	const char	*p;
	size_t		 q, at;

	if (s.off == VS_NIL || from >= (int64_t)s.len)
		return -1;
	q = s.off + (size_t)(from < 0 ? 0 : from);
	if (k->valid && q >= k->from && q <= k->at)	/* at may be SIZE_MAX */
		at = k->at;
	else {
		p = memchr(f->buf + q, c, f->len - q);
		at = p != NULL ? (size_t)(p - f->buf) : SIZE_MAX;
		fw_spend(f, (p != NULL ? at + 1 : f->len) - q);
		*k = (struct fcache){ 0, 0, q, at, 1 };
	}
	return at < s.off + s.len ? (int64_t)(at - s.off) : -1;
}

/*
 * strfind x "</name>": offset in x or -1, cached per name like vs_find().
 * The scratch pattern is sized only when it fits in x. Sets FW_ENOMEM.
 */
static int64_t
fw_endtag(struct fw *f, struct vs x, struct vs name)
{
	struct fcache	*k;
	const char	*p;
	size_t		 n = name.len + 3, h = 5381, i, at;

	if (n > x.len)
		return -1;
	for (i = 0; i < name.len; i++)
		h = h * 33 + (unsigned char)f->buf[name.off + i];
	fw_spend(f, name.len);
	k = &f->ec[h % NCACHE];
	if (k->valid && k->keylen == name.len && x.off >= k->from &&
	    x.off <= k->at && memcmp(f->buf + k->key, f->buf + name.off,
	    name.len) == 0)
		at = k->at;
	else {
		if (f->patcap == 0) {
			f->pat = f->pat0;
			f->patcap = sizeof(f->pat0);
		}
		if (n > f->patcap) {
			if (f->pat != f->pat0)
				free(f->pat);
			f->patcap = 0;
			if ((f->pat = malloc(n)) == NULL) {
				f->state = FW_ENOMEM;
				return -1;
			}
			f->patcap = n;
		}
		memcpy(f->pat + 2, f->buf + name.off, name.len);
		memcpy(f->pat, "</", 2);
		f->pat[n - 1] = '>';
		p = vmlog_find(f->buf + x.off, f->len - x.off, f->pat, n);
		at = p != NULL ? (size_t)(p - f->buf) : SIZE_MAX;
		fw_spend(f, (p != NULL ? at + n : f->len) - x.off);
		*k = (struct fcache){ name.off, name.len, x.off, at, 1 };
	}
	return at != SIZE_MAX && at + n <= x.off + x.len ?
	    (int64_t)(at - x.off) : -1;
}

/* Append a node. Returns 0, or -1 with f->state set (ENOMEM, cap). */
static int
fw_push(struct fw *f, enum ev_kind kind, int depth, struct vs a,
    struct vs b)
{
	struct ev	*v;
	size_t		 cap;

	if (f->nev >= VMLOG_MAX_NODES) {
		f->state = FW_NODES;
		return -1;
	}
	if (f->evcap == 0) {
		f->ev = f->ev0;
		f->evcap = sizeof(f->ev0) / sizeof(f->ev0[0]);
	}
	if (f->nev == f->evcap) {
		cap = f->evcap * 2;
		if ((v = reallocarray(f->ev == f->ev0 ? NULL : f->ev, cap,
		    sizeof(*v))) == NULL) {
			f->state = FW_ENOMEM;
			return -1;
		}
		if (f->ev == f->ev0)
			memcpy(v, f->ev0, sizeof(f->ev0));
		f->ev = v;
		f->evcap = cap;
	}
	f->ev[f->nev++] = (struct ev){ kind, depth, a, b };
	return 0;
}

/*
 * BuildAttributes, its recursion unrolled: push the attributes of window
 * s at depth. Returns 1 with *rest at the '>' or "/>" ending them; 0 when
 * the firmware answers nil (the window ran out; the caller drops what was
 * pushed); -1 with f->state set, FW_STALL when the firmware would recurse
 * forever on the same string (no closing quote).
 */
static int
fw_attrs(struct fw *f, struct vs s, int depth, struct vs *rest)
{
	struct vs	tag, val;
	int64_t		eq, pos;
	int		c, quote;

	for (; f->state == FW_DONE; s = vs_sub(s, pos + 1, (int64_t)s.len)) {
		if (s.len == 0)
			return 0;
		if ((c = vs_get(f, s, 0)) == ' ') {
			pos = 0;
			continue;
		}
		if (c == '>' || (c == '/' && vs_get(f, s, 1) == '>')) {
			*rest = s;
			return 1;
		}
		eq = vs_find(f, s, '=', 0) + 2;	/* EqualTo; nil is -1 */
		quote = vs_get(f, s, eq - 1) == '\'' ? '\'' : '"';
		pos = vs_find(f, s, quote, eq);
		tag = vs_sub(s, 0, eq - 2);
		val = vs_sub(s, eq, pos - eq);
		if (pos == -1 && f->state == FW_DONE) {
			f->state = FW_STALL;
			f->what = tag;
		} else
			fw_push(f, EV_ATTR, depth, tag, val);
	}
	return -1;
}

/*
 * ParseXML on the non-empty window x, for an element at depth: pushes the
 * element and its subtree in document order (nothing if the answer is
 * text) and returns the answer. The caller checks f->state first: all but
 * FW_DONE aborts the whole buffer.
 */
static struct fwres
fw_parse(struct fw *f, struct vs x, int depth)
{
	struct fwres	 r = { 0, FW_POISON, VSNIL, VSNIL, VSNIL };
	struct vs	 now = VSNIL, after, name;
	int64_t		 first, space, ending, end;
	size_t		 mark = f->nev;
	int		 empty = 0, rc;

	if ((first = vs_find(f, x, '<', 0)) != 0) {
		r.text = first == -1 ? x : vs_sub(x, 0, first);
		r.rest = first == -1 ? VSNIL : vs_sub(x, first, (int64_t)x.len);
		return r;
	}
	if (depth >= VMLOG_MAX_DEPTH) {		/* checked before any scan */
		f->state = FW_DEEP;
		return r;
	}
	space = vs_find(f, x, ' ', 0);
	if ((ending = vs_find(f, x, '>', 0)) == -1) {
		r.why = FW_NOGT;
		r.text = x;
		return r;
	}
	if (space == -1)
		space = ending + 1;
	name = vs_sub(x, 1, (ending < space ? ending : space) - 1);
	end = fw_endtag(f, x, name);
	after = end == -1 ? x : vs_sub(x, end + (int64_t)name.len + 3,
	    (int64_t)x.len);
	if (f->state != FW_DONE || fw_push(f, EV_ELEM, depth, name, VSNIL))
		return r;
	if (ending < space) {				/* <name> */
		if (end != -1)
			now = vs_sub(x, ending + 1, end - ending - 1);
	} else if ((rc = fw_attrs(f, vs_sub(x, space + 1, (end == -1 ?
	    (int64_t)x.len : end) - space - 1), depth, &now)) == -1)
		return r;
	else if (rc == 1 && f->buf[now.off] == '/') {	/* <name attrs/> */
		empty = 1;
		r.rest = vs_sub(now, 2, (int64_t)now.len);
		now = VSNIL;
		if (end != -1 && f->lost.off == VS_NIL)	/* from "</name>" on */
			f->lost = vs_sub(x, end, (int64_t)x.len);
	} else
		now = rc == 1 && end != -1 ? vs_sub(now, 1, (int64_t)now.len) :
		    VSNIL;
	if (now.off == VS_NIL && !empty) {	/* ContentText ToAnalyseAfter */
		f->nev = mark;
		r.why = after.off == x.off && after.len == x.len ? FW_NOEND :
		    FW_DROP;
		r.text = after;
		r.name = name;
		return r;
	}
	if (!empty) {
		fw_children(f, now, depth);
		r.rest = after;
	}
	r.elem = 1;
	if (r.rest.len == 0)
		r.rest = VSNIL;
	return r;
}

/* ParseXML's loop over an element's content: children at depth + 1. */
static void
fw_children(struct fw *f, struct vs s, int depth)
{
	struct fwres	r;

	while (s.len > 0 && f->state == FW_DONE) {
		r = fw_parse(f, s, depth + 1);
		if (f->state == FW_DONE && !r.elem)
			fw_push(f, EV_TEXT, depth + 1, r.text, VSNIL);
		s = r.rest;
	}
}

/*
 * See vmlog-int.h. XmppTcpRead's loop: take top-level elements off buf
 * while ParseXMLPacket answers one. A dropped element is noted and
 * parsing goes on, as at the rabbit's next read. On a stall or a limit
 * the unfinished element's nodes are removed: the firmware never printed
 * them.
 */
void
vmlog_fw_run(struct fw *f, const char *buf, size_t len)
{
	struct vs	x = { 0, len };
	struct fwres	r;
	size_t		done = 0;

	memset(f, 0, offsetof(struct fw, ev0));
	f->buf = buf;
	f->len = len;
	f->budget = len * VMLOG_WORK_FACTOR + 65536;
	f->what = f->lost = VSNIL;
	if (len > VMLOG_MAX_INPUT)
		f->state = FW_TOOBIG;
	else if (vmlog_find(buf, len, STREAM_END, strlen(STREAM_END)) != NULL)
		f->state = FW_REBOOT;
	while (f->state == FW_DONE && x.len > 0) {
		r = fw_parse(f, x, 0);
		if (f->state != FW_DONE)
			f->nev = done;
		else if (r.elem) {
			f->trees++;
			x = r.rest;
		} else if (r.why == FW_DROP) {
			if (fw_push(f, EV_DROP, 0, r.name, VSNIL) == 0)
				x = r.text;
		} else {
			f->state = r.why;
			f->what = r.why == FW_POISON ? r.text : r.name;
			f->kept = r.text.len;
		}
		done = f->nev;
	}
}

/* See vmlog-int.h. */
void
vmlog_fw_free(struct fw *f)
{
	if (f->ev != f->ev0)
		free(f->ev);
	f->ev = NULL;
	f->nev = f->evcap = 0;
	if (f->pat != f->pat0)
		free(f->pat);
	f->pat = NULL;
	f->patcap = 0;
}

/* Start a rendering into a new buffer. Returns it, or NULL on ENOMEM. */
static struct evbuffer *
vw_init(struct vw *w, const char *prefix, const char *tag)
{
	w->pfx = prefix != NULL ? prefix : "";
	w->tag = tag;
	w->bol = 1;
	w->err = 0;
	w->n = 0;
	return w->eb = evbuffer_new();
}

/* Append bytes as they are, staged to keep evbuffer calls few. */
static void
vw_add(struct vw *w, const char *s, size_t k)
{
	if (k > sizeof(w->stage) - w->n) {
		if (evbuffer_add(w->eb, w->stage, w->n) == -1)
			w->err = 1;
		w->n = 0;
	}
	if (k > sizeof(w->stage)) {
		if (evbuffer_add(w->eb, s, k) == -1)
			w->err = 1;
		return;
	}
	memcpy(w->stage + w->n, s, k);
	w->n += k;
}

/* Append bytes; each line they start gets the prefix and tag first. */
static void
vw_put(struct vw *w, const char *s, size_t n)
{
	const char	*nl;
	size_t		 k;

	for (; n > 0; s += k, n -= k) {
		if (w->bol) {
			vw_add(w, w->pfx, strlen(w->pfx));
			vw_add(w, w->tag, strlen(w->tag));
		}
		nl = memchr(s, '\n', n);
		k = nl != NULL ? (size_t)(nl - s) + 1 : n;
		vw_add(w, s, k);
		w->bol = nl != NULL;
	}
}

static void
vw_puts(struct vw *w, const char *s)
{
	vw_put(w, s, strlen(s));
}

/* Print a firmware string: up to its first NUL ("%s"), NIL when nil. */
static void
vw_cut(struct vw *w, const char *buf, struct vs v)
{
	const char	*z;

	if (v.off == VS_NIL) {
		vw_puts(w, "NIL");
		return;
	}
	z = v.len > 0 ? memchr(buf + v.off, '\0', v.len) : NULL;
	vw_put(w, buf + v.off, z != NULL ? (size_t)(z - buf) - v.off : v.len);
}

/* n copies of c (the firmware's dots and spaces). */
static void
vw_fill(struct vw *w, int c, int n)
{
	char	chunk[32];

	memset(chunk, c, sizeof(chunk));
	for (; n > 0; n -= (int)sizeof(chunk))
		vw_put(w, chunk, n < (int)sizeof(chunk) ? (size_t)n :
		    sizeof(chunk));
}

/* Move a finished rendering to out: 0, or -1 with nothing moved. */
static int
vw_finish(struct vw *w, struct evbuffer *out)
{
	int	rc;

	if (evbuffer_add(w->eb, w->stage, w->n) == -1)
		w->err = 1;
	rc = !w->err && evbuffer_add_buffer(out, w->eb) == 0 ? 0 : -1;
	evbuffer_free(w->eb);
	return rc;
}

/* XmppGateRead + XMLPrintContent for every tree, then the final state. */
static void
render_tree(struct vw *w, const struct fw *f)
{
	char		 msg[VMLOG_WHY_SIZE];
	const struct ev	*e;
	const char	*z;
	struct vs	 t;
	size_t		 i;

	/* By index: f->ev is NULL when there are no nodes. */
	for (i = 0; i < f->nev; i++) {
		e = &f->ev[i];
		t = e->a;
		if (e->kind == EV_TEXT && t.off != VS_NIL &&
		    (z = memchr(f->buf + t.off, '\0', t.len)) != NULL)
			t.len = (size_t)(z - f->buf) - t.off;
		if (e->kind == EV_TEXT && vmlog_vs_blank(f->buf, t))
			continue;
		vw_puts(w, e->kind == EV_ELEM && e->depth == 0 ?
		    "Receive : \n" : "");
		vw_puts(w, e->kind == EV_ELEM ? "    |" : e->kind == EV_ATTR ?
		    "    | " : e->kind == EV_TEXT ? "    !" : "!! ");
		vw_fill(w, e->kind == EV_ATTR ? ' ' : '.', 2 * e->depth);
		if (e->kind == EV_DROP) {
			vmlog_fw_msg(msg, sizeof(msg), f, FW_DROP, t);
			vw_puts(w, msg);
		} else
			vw_cut(w, f->buf, t);
		if (e->kind == EV_ATTR) {
			vw_puts(w, " => ");
			vw_cut(w, f->buf, e->b);
		}
		vw_puts(w, "\n");
	}
	if (f->state == FW_REBOOT)
		vw_puts(w, "gate stream closed, rebooting\n");
	else if (f->state != FW_DONE) {
		vmlog_fw_msg(msg, sizeof(msg), f, f->state, f->what);
		vw_puts(w, "!! ");
		vw_puts(w, msg);
		vw_puts(w, "\n");
	}
}

/* See vmlog.h. */
int
vmlog_receive(struct evbuffer *out, const char *prefix, const char *buf,
    size_t len, int *misread)
{
	struct fw	f;
	struct vw	w;
	int		mis = 0, rc = -1;

	if (misread != NULL)
		*misread = 0;
	vmlog_fw_run(&f, len > 0 ? buf : "", len);
	if (misread != NULL && f.state != FW_ENOMEM)
		mis = vmlog_fw_check(&f, NULL, 0);
	if (f.state != FW_ENOMEM && vw_init(&w, prefix, "[vm] ") != NULL) {
		render_tree(&w, &f);
		if (vw_finish(&w, out) == 0) {
			rc = f.trees;
			if (misread != NULL)
				*misread = mis;
		}
	}
	vmlog_fw_free(&f);
	return rc;
}

/* See vmlog.h. */
int
vmlog_sending(struct evbuffer *out, const char *prefix, const char *buf,
    size_t len)
{
	struct vw	 w;
	const char	*z;

	if (vw_init(&w, prefix, "[vm] ") == NULL)
		return -1;
	vw_puts(&w, "Sending : ");
	z = len > 0 ? memchr(buf, '\0', len) : NULL;
	vw_put(&w, buf, z != NULL ? (size_t)(z - buf) : len);
	vw_puts(&w, z != NULL ? "\n" : "(end)\n");
	return vw_finish(&w, out);
}

/* See vmlog.h. */
int
vmlog_raw(struct evbuffer *out, const char *prefix, int from_server,
    const char *buf, size_t len)
{
	struct vw	w;

	if (vw_init(&w, prefix, "") == NULL)
		return -1;
	vw_puts(&w, from_server ? "RECEIVE:\n\n" : "SEND:\n\n");
	vw_put(&w, buf, len);
	vw_puts(&w, "\n\n");
	return vw_finish(&w, out);
}

/* See vmlog.h. */
int
vmlog_header_end(const char *buf, size_t len, size_t *end)
{
	const char	*p, *q;

	if (len == 0 || (p = memmem(buf, len, "<stream:stream", 14)) == NULL ||
	    (q = memchr(p, '>', len - (size_t)(p - buf))) == NULL)
		return 0;
	*end = (size_t)(q - buf) + 1;
	return 1;
}
