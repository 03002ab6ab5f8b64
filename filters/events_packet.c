/*
 * events_packet: the bytes the events filter sends a rabbit and reads
 * from MQTT, with no host services (unit-tested on its own).
 *
 * Violet packets (bootcode-xmpp.md section 5): 0x7f, blocks
 * [type:1][len:3 BE][data], 0xff. As OpenJabNab's packet classes encode
 * them: ambient (type 4) is 7f ff ff fe then (service, value) byte pairs
 * in ascending service order, ears being services 4 (left) and 5
 * (right); mode (type 11) is one byte, 1 sleep, 0 wake; reboot (type 9)
 * has no data. Base64 is standard with padding. The JSON reader takes
 * one flat object of integer and string values and refuses the rest.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events-int.h"

/* One block into a whole packet: 0x7f, block, 0xff. */
static int
pkt_one(unsigned char *out, size_t cap, int type, const unsigned char *d,
    size_t n)
{
	if (n > 0xffffff || cap < n + 6)
		return -1;
	out[0] = 0x7f;
	out[1] = (unsigned char)type;
	out[2] = (unsigned char)(n >> 16);
	out[3] = (unsigned char)(n >> 8);
	out[4] = (unsigned char)n;
	if (n > 0)
		memcpy(out + 5, d, n);
	out[5 + n] = 0xff;
	return (int)(n + 6);
}

int
ev_pkt_ambient(unsigned char *out, size_t cap, const int *svc,
    const int *val, size_t n)
{
	unsigned char	d[4 + 2 * 256];
	size_t		i, k = 4;
	int		s;

	if (n > 255)
		return -1;
	memcpy(d, "\x7f\xff\xff\xfe", 4);
	/* Ascending service order, the last value of a repeated one. */
	for (s = 0; s < 256; s++) {
		int	have = 0, v = 0;

		for (i = 0; i < n; i++)
			if (svc[i] == s) {
				have = 1;
				v = val[i];
			}
		if (!have)
			continue;
		if (v < 0 || v > 255)
			return -1;
		d[k++] = (unsigned char)s;
		d[k++] = (unsigned char)v;
	}
	for (i = 0; i < n; i++)
		if (svc[i] < 0 || svc[i] > 255)
			return -1;
	return pkt_one(out, cap, 4, d, k);
}

int
ev_pkt_ears(unsigned char *out, size_t cap, int left, int right)
{
	int	svc[2] = { 4, 5 }, val[2] = { left, right };

	if (left < 0 || left > 16 || right < 0 || right > 16)
		return -1;
	return ev_pkt_ambient(out, cap, svc, val, 2);
}

int
ev_pkt_mode(unsigned char *out, size_t cap, int sleep)
{
	unsigned char	b = sleep ? 1 : 0;

	return pkt_one(out, cap, 11, &b, 1);
}

int
ev_pkt_reboot(unsigned char *out, size_t cap)
{
	return pkt_one(out, cap, 9, NULL, 0);
}

int
ev_pkt_valid(const unsigned char *p, size_t n)
{
	size_t	i = 1, len;

	if (n < 2 || p[0] != 0x7f)
		return 0;
	while (i < n && p[i] != 0xff) {
		if (i + 4 > n)
			return 0;
		len = (size_t)p[i + 1] << 16 | (size_t)p[i + 2] << 8 | p[i + 3];
		if (len > n || i + 4 + len > n)
			return 0;
		i += 4 + len;
	}
	return i == n - 1 && p[i] == 0xff;
}

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int
ev_b64enc(const unsigned char *in, size_t n, char *out, size_t cap)
{
	size_t		i, o = 0;
	unsigned	v;

	if (cap < (n + 2) / 3 * 4 + 1)
		return -1;
	for (i = 0; i < n; i += 3) {
		v = (unsigned)in[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = b64chars[v >> 18 & 63];
		out[o++] = b64chars[v >> 12 & 63];
		out[o++] = i + 1 < n ? b64chars[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? b64chars[v & 63] : '=';
	}
	out[o] = '\0';
	return (int)o;
}

/* Strict: the alphabet, '=' only as the final padding, length % 4 == 0. */
int
ev_b64dec(const char *in, size_t n, unsigned char *out, size_t cap)
{
	size_t		i, o = 0, pad = 0;
	unsigned	v = 0;
	const char	*p;
	int		k;

	if (n % 4 != 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (in[i] == '=') {
			if (i + 2 < n || (i + 1 < n && in[i + 1] != '='))
				return -1;
			pad++;
			k = 0;
		} else if (pad > 0 || in[i] == '\0' ||
		    (p = strchr(b64chars, in[i])) == NULL)
			return -1;
		else
			k = (int)(p - b64chars);
		v = v << 6 | (unsigned)k;
		if (i % 4 == 3) {
			if (o + 3 - pad > cap)
				return -1;
			out[o++] = (unsigned char)(v >> 16);
			if (pad < 2)
				out[o++] = (unsigned char)(v >> 8);
			if (pad < 1)
				out[o++] = (unsigned char)v;
			v = 0;
		}
	}
	return (int)o;
}

/* ---- JSON: one flat object of integers and strings ---- */

struct jtok {
	const char	*p, *end;
};

static void
jws(struct jtok *t)
{
	while (t->p < t->end && (*t->p == ' ' || *t->p == '\t' ||
	    *t->p == '\n' || *t->p == '\r'))
		t->p++;
}

/* A string into out (NUL-terminated, \uXXXX only below 0x80); -1 bad. */
static int
jstr(struct jtok *t, char *out, size_t cap)
{
	size_t	o = 0;
	char	c;

	if (t->p >= t->end || *t->p != '"')
		return -1;
	for (t->p++; t->p < t->end && *t->p != '"'; t->p++) {
		c = *t->p;
		if ((unsigned char)c < 0x20)
			return -1;
		if (c == '\\') {
			if (++t->p >= t->end)
				return -1;
			switch (*t->p) {
			case '"': case '\\': case '/': c = *t->p; break;
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case 'r': c = '\r'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'u': {
				char	hex[5] = { 0 };
				long	u;

				if (t->end - t->p < 5)
					return -1;
				memcpy(hex, t->p + 1, 4);
				if (strspn(hex, "0123456789abcdefABCDEF") != 4 ||
				    (u = strtol(hex, NULL, 16)) == 0 || u >= 0x80)
					return -1;
				c = (char)u;
				t->p += 4;
				break;
			}
			default:
				return -1;
			}
		}
		if (o + 1 >= cap)
			return -1;
		out[o++] = c;
	}
	if (t->p >= t->end)
		return -1;
	t->p++;
	out[o] = '\0';
	return 0;
}

/* An integer (no fraction, no exponent); -1 bad. */
static int
jint(struct jtok *t, long *v)
{
	const char	*s = t->p;
	char		 buf[24];
	size_t		 n;

	if (s < t->end && *s == '-')
		s++;
	if (s >= t->end || !isdigit((unsigned char)*s) ||
	    (*s == '0' && s + 1 < t->end && isdigit((unsigned char)s[1])))
		return -1;
	while (s < t->end && isdigit((unsigned char)*s))
		s++;
	if (s < t->end && (*s == '.' || *s == 'e' || *s == 'E'))
		return -1;
	if ((n = (size_t)(s - t->p)) >= sizeof(buf) - 1)
		return -1;
	memcpy(buf, t->p, n);
	buf[n] = '\0';
	*v = strtol(buf, NULL, 10);
	t->p = s;
	return 0;
}

/*
 * Walk the object: cb(key, isstr, str, num, arg) per member; cb returns
 * 1 to stop. 0 when well formed, -1 otherwise.
 */
static int
jwalk(const char *js, size_t n, int (*cb)(const char *, int, const char *,
    long, void *), void *arg)
{
	struct jtok	t = { js, js + n };
	char		key[128], str[512];
	long		num = 0;
	int		isstr, stop = 0;

	jws(&t);
	if (t.p >= t.end || *t.p++ != '{')
		return -1;
	jws(&t);
	if (t.p < t.end && *t.p == '}') {
		t.p++;
		goto end;
	}
	for (;;) {
		jws(&t);
		if (jstr(&t, key, sizeof(key)) == -1)
			return -1;
		jws(&t);
		if (t.p >= t.end || *t.p++ != ':')
			return -1;
		jws(&t);
		isstr = t.p < t.end && *t.p == '"';
		if (isstr ? jstr(&t, str, sizeof(str)) : jint(&t, &num))
			return -1;
		if (!stop)
			stop = cb(key, isstr, isstr ? str : NULL, num, arg);
		jws(&t);
		if (t.p < t.end && *t.p == ',') {
			t.p++;
			continue;
		}
		if (t.p >= t.end || *t.p++ != '}')
			return -1;
		break;
	}
 end:
	jws(&t);
	return t.p == t.end ? 0 : -1;
}

struct jfind {
	const char	*key;
	int		 want_str, found;
	long		 num;
	char		*out;
	size_t		 cap;
	int		 toolong;
};

static int
jfind_cb(const char *key, int isstr, const char *str, long num, void *arg)
{
	struct jfind	*f = arg;

	if (strcmp(key, f->key) != 0)
		return 0;
	if (isstr != f->want_str)
		return 1;
	f->found = 1;
	if (isstr) {
		if (strlen(str) >= f->cap)
			f->toolong = 1;
		else
			memcpy(f->out, str, strlen(str) + 1);
	} else
		f->num = num;
	return 1;
}

int
ev_json_int(const char *js, size_t n, const char *key, long *v)
{
	struct jfind	f = { key, 0, 0, 0, NULL, 0, 0 };

	if (jwalk(js, n, jfind_cb, &f) == -1 || !f.found)
		return -1;
	*v = f.num;
	return 0;
}

int
ev_json_str(const char *js, size_t n, const char *key, char *out,
    size_t cap)
{
	struct jfind	f = { key, 1, 0, 0, out, cap, 0 };

	if (jwalk(js, n, jfind_cb, &f) == -1 || !f.found || f.toolong)
		return -1;
	return 0;
}

struct jeach {
	int	(*cb)(const char *, long, void *);
	void	*arg;
	int	 bad;
};

static int
jeach_cb(const char *key, int isstr, const char *str, long num, void *arg)
{
	struct jeach	*e = arg;

	(void)str;
	if (isstr || e->cb(key, num, e->arg) == -1) {
		e->bad = 1;
		return 1;
	}
	return 0;
}

int
ev_json_each_int(const char *js, size_t n,
    int (*cb)(const char *, long, void *), void *arg)
{
	struct jeach	e = { cb, arg, 0 };

	if (jwalk(js, n, jeach_cb, &e) == -1 || e.bad)
		return -1;
	return 0;
}

int
ev_json_quote(char *out, size_t cap, const char *s)
{
	size_t	o = strlen(out), o0 = o;
	char	esc[8];

	if (o + 1 >= cap)
		return -1;
	out[o++] = '"';
	for (; *s != '\0'; s++) {
		unsigned char	c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			snprintf(esc, sizeof(esc), "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			snprintf(esc, sizeof(esc), "\\u%04x", c);
		else {
			esc[0] = (char)c;
			esc[1] = '\0';
		}
		if (o + strlen(esc) + 2 > cap) {
			out[o0] = '\0';	/* out as it was */
			return -1;
		}
		memcpy(out + o, esc, strlen(esc));
		o += strlen(esc);
	}
	out[o++] = '"';
	out[o] = '\0';
	return 0;
}
