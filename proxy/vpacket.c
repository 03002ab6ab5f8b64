/*
 * vpacket: decoded payloads in one line (contract in vpacket.h). The
 * packet framing follows bootcode-xmpp.md section 5; the stanza is read
 * with vmlog's emulation of the firmware's parser (vmlog-int.h), so the
 * line describes what the rabbit itself would find, quirks included.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "vmlog-int.h"
#include "vpacket.h"

/* Bounded line builder; once full, "..." ends the line. */
struct lb {
	char	*p;
	size_t	 sz;
	size_t	 len;
};

static const char b64abc[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Ambient services, by number (OpenJabNab's AmbientPacket::Services). */
static const char *const services[] = {
	"disable", "weather", "stocks", "periph", "left ear", "right ear",
	"mail", "air", "nose", NULL, NULL, NULL, NULL, NULL, "taichi"
};

static void
lb_cat(struct lb *b, const char *s)
{
	size_t	n = strlen(s);

	if (b->sz == 0)
		return;
	if (n > b->sz - 1 - b->len) {
		n = b->sz - 1 - b->len;
		/* Truncated: the last bytes that fit say so. */
		if (b->sz >= 4) {
			memcpy(b->p + b->len, s, n);
			b->len = b->sz - 1;
			memcpy(b->p + b->len - 3, "...", 3);
			b->p[b->len] = '\0';
			return;
		}
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
lb_printf(struct lb *b, const char *fmt, ...) PRINTF(2, 3);

static void
lb_printf(struct lb *b, const char *fmt, ...)
{
	char	tmp[128];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	lb_cat(b, tmp);
}

/* Peer bytes, printable ASCII only, cut at VPACKET_TEXT_MAX. */
static void
lb_text(struct lb *b, const unsigned char *s, size_t n)
{
	char	t[8];
	size_t	i;

	for (i = 0; i < n && i < VPACKET_TEXT_MAX; i++) {
		if (s[i] == '"' || s[i] == '\\')
			snprintf(t, sizeof(t), "\\%c", s[i]);
		else if (s[i] == '\n')
			snprintf(t, sizeof(t), "\\n");
		else if (s[i] < 0x20 || s[i] >= 0x7f)
			snprintf(t, sizeof(t), "\\x%02x", s[i]);
		else
			snprintf(t, sizeof(t), "%c", s[i]);
		lb_cat(b, t);
	}
	if (i < n)
		lb_cat(b, "...");
}

/* Data bytes in hex, cut at 16 bytes. */
static void
lb_hex(struct lb *b, const unsigned char *s, size_t n)
{
	size_t	i;

	for (i = 0; i < n && i < 16; i++)
		lb_printf(b, "%02x", s[i]);
	if (i < n)
		lb_cat(b, "...");
}

/* Type 4: a 4-byte header, then (service, value) pairs. */
static void
blk_ambient(struct lb *b, const unsigned char *d, size_t n)
{
	const char	*name;
	size_t		 i;

	lb_cat(b, "ambient(");
	if (n < 4)
		lb_printf(b, "[header cut: %zu of 4 bytes]", n);
	for (i = 4; i + 2 <= n; i += 2) {
		name = d[i] < sizeof(services) / sizeof(services[0]) ?
		    services[d[i]] : NULL;
		lb_cat(b, i > 4 ? ", " : "");
		if (name != NULL)
			lb_printf(b, "%s=", name);
		else
			lb_printf(b, "service-%u=", d[i]);
		name = d[i] == 0 && d[i + 1] < sizeof(services) /
		    sizeof(services[0]) ? services[d[i + 1]] : NULL;
		if (name != NULL)
			lb_cat(b, name);
		else
			lb_printf(b, "%u", d[i + 1]);
	}
	if (n > 4 && (n - 4) % 2 == 1)
		lb_printf(b, "%s[odd byte %02x]", n > 5 ? ", " : "", d[n - 1]);
	lb_cat(b, ")");
}

/* Type 10: the program text, de-obfuscated (first byte skipped). */
static void
blk_program(struct lb *b, const unsigned char *d, size_t n)
{
	unsigned char	txt[VPACKET_TEXT_MAX + 1], cur = 35;
	size_t		i, k = 0;

	for (i = 1; i < n && k < sizeof(txt); i++) {
		cur = (unsigned char)((d[i] - 47) * (1 + 2 * cur));
		txt[k++] = cur;
	}
	lb_cat(b, "program(\"");
	lb_text(b, txt, k);
	lb_cat(b, "\")");
}

static void
blk_one(struct lb *b, int type, const unsigned char *d, size_t n)
{
	if (type == 4)
		blk_ambient(b, d, n);
	else if (type == 9)
		lb_cat(b, "reboot");
	else if (type == 10)
		blk_program(b, d, n);
	else if (type == 11 && n == 1 && d[0] <= 1)
		lb_cat(b, d[0] == 0 ? "wake" : "sleep");
	else {
		if (type == 3)
			lb_cat(b, "ping-delay(");
		else if (type == 11)
			lb_cat(b, "mode(");
		else
			lb_printf(b, "type-%d(", type);
		lb_hex(b, d, n);
		lb_cat(b, ")");
	}
}

/* The binary payload: 0x7f, blocks, 0xff, trailing NULs of '=' padding. */
static void
payload(struct lb *b, const unsigned char *p, size_t n)
{
	size_t	i = 1, len, k;

	if (n == 0 || p[0] != 0x7f) {
		lb_cat(b, n == 0 ? " [empty]" : " [no 0x7f]");
		if (n == 0)
			return;
		i = 0;
	}
	while (i < n && p[i] != 0xff) {
		if (n - i < 4) {
			lb_printf(b, " [block header cut: %zu of 4 bytes]",
			    n - i);
			return;
		}
		len = (size_t)p[i + 1] << 16 | (size_t)p[i + 2] << 8 | p[i + 3];
		if (len > n - i - 4) {
			lb_printf(b, " [block type %u cut: %zu of %zu bytes]",
			    p[i], n - i - 4, len);
			return;
		}
		lb_cat(b, " ");
		blk_one(b, p[i], p + i + 4, len);
		i += 4 + len;
	}
	if (i >= n) {
		lb_cat(b, " [no 0xff]");
		return;
	}
	for (k = ++i; k < n && p[k] == 0; k++)
		;
	if (k < n)
		lb_printf(b, " [%zu bytes after 0xff]", n - i);
}

/* See vpacket.h. Payloads past sizeof(bin) are cut and said so. */
void
vpacket_decode(const char *b64, size_t n, char *line, size_t linesz)
{
	unsigned char		 bin[3 * 4096 / 4];
	struct lb		 b = { line, linesz, 0 };
	const char		*a;
	uint32_t		 acc = 0;
	size_t			 i, m = 0, k = 0, bad = 0, cut = 0;

	lb_cat(&b, "packet:");
	for (i = 0; i < n; i++) {
		if (b64[i] == '=')
			a = b64abc;	/* a zero sextet */
		else if (b64[i] == '\0' ||
		    (a = strchr(b64abc, b64[i])) == NULL) {
			bad++;
			continue;
		}
		acc = acc << 6 | (uint32_t)(a - b64abc);
		if (++m % 4 != 0)
			continue;
		if (k + 3 > sizeof(bin)) {
			cut++;
			continue;
		}
		bin[k++] = (unsigned char)(acc >> 16);
		bin[k++] = (unsigned char)(acc >> 8);
		bin[k++] = (unsigned char)acc;
	}
	/* A last group of 2 or 3 sextets still gives whole bytes. */
	if (m % 4 >= 2 && k + 2 <= sizeof(bin)) {
		acc <<= 6 * (4 - m % 4);
		bin[k++] = (unsigned char)(acc >> 16);
		if (m % 4 == 3)
			bin[k++] = (unsigned char)(acc >> 8);
	}
	payload(&b, bin, k);
	if (cut)
		lb_printf(&b, " [payload longer than %zu bytes]", sizeof(bin));
	if (bad)
		lb_printf(&b, " [%zu byte%s outside base64]", bad,
		    bad == 1 ? "" : "s");
}

/* Is node i's name (or an attribute's name) exactly s? */
static int
vs_is(const struct fw *f, struct vs v, const char *s)
{
	return v.off != VS_NIL && v.len == strlen(s) &&
	    memcmp(f->buf + v.off, s, v.len) == 0;
}

/* Value of element i's first attribute named name, or nil. */
static struct vs
ev_attr(const struct fw *f, size_t i, const char *name)
{
	size_t	j;

	for (j = i + 1; j < f->nev && f->ev[j].kind == EV_ATTR &&
	    f->ev[j].depth == f->ev[i].depth; j++)
		if (vs_is(f, f->ev[j].a, name))
			return f->ev[j].b;
	return (struct vs){ VS_NIL, 0 };
}

/*
 * Element i's first child (after its attributes) if it is text, else nil;
 * with a name, the text of its first direct child element of that name.
 */
static struct vs
ev_text(const struct fw *f, size_t i, const char *name)
{
	struct vs	nil = { VS_NIL, 0 };
	size_t		j;
	int		d = f->ev[i].depth;

	for (j = i + 1; j < f->nev && f->ev[j].kind == EV_ATTR &&
	    f->ev[j].depth == d; j++)
		;
	if (name == NULL)
		return j < f->nev && f->ev[j].kind == EV_TEXT &&
		    f->ev[j].depth == d + 1 ? f->ev[j].a : nil;
	for (; j < f->nev && f->ev[j].depth > d; j++)
		if (f->ev[j].kind == EV_ELEM && f->ev[j].depth == d + 1 &&
		    vs_is(f, f->ev[j].a, name))
			return ev_text(f, j, NULL);
	return nil;
}

/* A firmware string as peer text, "-" when nil. */
static void
lb_vs(struct lb *b, const struct fw *f, struct vs v)
{
	if (v.off == VS_NIL)
		lb_cat(b, "-");
	else
		lb_text(b, (const unsigned char *)f->buf + v.off, v.len);
}

/* One element's description, if it is one we describe; 1 if written. */
static int
describe_one(struct lb *b, const struct fw *f, size_t i, char *tmp,
    size_t tmpsz)
{
	struct vs	t, u;

	if (vs_is(f, f->ev[i].a, "packet") &&
	    vs_is(f, ev_attr(f, i, "xmlns"), "violet:packet") &&
	    (t = ev_text(f, i, NULL)).off != VS_NIL) {
		vpacket_decode(f->buf + t.off, t.len, tmp, tmpsz);
		lb_cat(b, tmp);
		return 1;
	}
	if (vs_is(f, f->ev[i].a, "button") &&
	    (t = ev_text(f, i, "clic")).off != VS_NIL) {
		lb_cat(b, "button: ");
		if (vs_is(f, t, "1") || vs_is(f, t, "2"))
			lb_printf(b, "%c click%s", f->buf[t.off],
			    f->buf[t.off] == '2' ? "s" : "");
		else {
			lb_cat(b, "clic \"");
			lb_vs(b, f, t);
			lb_cat(b, "\"");
		}
		if ((u = ev_text(f, i, "event")).off != VS_NIL) {
			lb_cat(b, ", event ");
			lb_vs(b, f, u);
		}
		return 1;
	}
	if (vs_is(f, f->ev[i].a, "ears") &&
	    ((t = ev_text(f, i, "left")).off != VS_NIL ||
	    ev_text(f, i, "right").off != VS_NIL)) {
		u = ev_text(f, i, "right");
		lb_cat(b, "ears: left=");
		lb_vs(b, f, t);
		lb_cat(b, " right=");
		lb_vs(b, f, u);
		return 1;
	}
	return 0;
}

/* See vpacket.h. */
int
vpacket_describe(const char *buf, size_t len, char *line, size_t linesz)
{
	struct lb	 b = { line, linesz, 0 };
	struct fw	 f;
	char		 tmp[VPACKET_LINE_MAX];
	size_t		 i, mark;
	int		 n = 0;

	lb_cat(&b, "");
	if (len == 0 || (vmlog_find(buf, len, "violet:packet", 13) == NULL &&
	    vmlog_find(buf, len, "<clic", 5) == NULL &&
	    vmlog_find(buf, len, "<ears", 5) == NULL))
		return 0;
	vmlog_fw_run(&f, buf, len);
	if (f.state == FW_ENOMEM) {
		vmlog_fw_free(&f);
		return -1;
	}
	/* By index: f.ev is NULL when there are no nodes. */
	for (i = 0; i < f.nev; i++) {
		if (f.ev[i].kind != EV_ELEM)
			continue;
		mark = b.len;
		if (n > 0)
			lb_cat(&b, "; ");
		if (describe_one(&b, &f, i, tmp, sizeof(tmp)))
			n++;
		else {
			b.len = mark;
			line[mark] = '\0';
		}
	}
	vmlog_fw_free(&f);
	return n > 0;
}
