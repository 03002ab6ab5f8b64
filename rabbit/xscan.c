/*
 * xscan: tag-level reading of a server's stream (see xscan.h). Quoted
 * attribute values may hold '>'; everything else is bytes.
 */
#include <string.h>

#include "xscan.h"

static const char stag[] = "<stream:stream";

long
xs_header(const char *buf, size_t n)
{
	const char	*at, *gt;
	size_t		 k, tl = sizeof(stag) - 1;

	at = memmem(buf, n, stag, tl);
	if (at == NULL) {
		for (k = 1; k < tl && k <= n; k++)
			if (memcmp(buf + n - k, stag, k) == 0)
				return -1;
		return 0;
	}
	gt = memchr(at, '>', n - (size_t)(at - buf));
	if (gt == NULL)
		return -1;
	return (long)(gt - buf) + 1;
}

/* End of the tag starting at buf[i] ('<'): index of its '>', or -1. */
static long
tag_end(const char *buf, size_t n, size_t i)
{
	char	q = 0;

	for (i++; i < n; i++) {
		if (q) {
			if (buf[i] == q)
				q = 0;
		} else if (buf[i] == '\'' || buf[i] == '"')
			q = buf[i];
		else if (buf[i] == '>')
			return (long)i;
	}
	return -1;
}

/* Tab, CR or LF outside the quoted values of the tag buf[i..gt]? */
static int
tag_ws(const char *buf, size_t i, size_t gt)
{
	char	q = 0;

	for (; i < gt; i++) {
		if (q) {
			if (buf[i] == q)
				q = 0;
		} else if (buf[i] == '\'' || buf[i] == '"')
			q = buf[i];
		else if (buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n')
			return 1;
	}
	return 0;
}

long
xs_element(const char *buf, size_t n, int *flags)
{
	size_t	i = 0, depth = 0, k;
	long	gt;

	*flags = 0;
	if (n == 0)
		return 0;
	if (buf[0] != '<')
		return -2;
	if (n > 1 && buf[1] == '/')
		return -1;
	while (i < n) {
		if (buf[i] != '<') {
			if (depth == 0)
				return -2;
			if (buf[i] == '&')
				*flags |= XS_ENTITY;
			i++;
			continue;
		}
		if ((gt = tag_end(buf, n, i)) == -1)
			return 0;
		if (memchr(buf + i, '&', (size_t)gt - i) != NULL)
			*flags |= XS_ENTITY;
		if (buf[i + 1] != '/' && tag_ws(buf, i, (size_t)gt))
			*flags |= XS_TAG_WS;
		if (buf[i + 1] == '/') {
			if (depth == 0)
				return -2;
			depth--;
		} else if (buf[i + 1] == '!' || buf[i + 1] == '?')
			*flags |= XS_MARKUP;
		else if (buf[gt - 1] == '/') {
			for (k = i + 1; k < (size_t)gt && buf[k] != ' ' &&
			    buf[k] != '\t' && buf[k] != '\n'; k++)
				;
			if (k == (size_t)gt)
				*flags |= XS_BARE_EMPTY;
		} else
			depth++;
		i = (size_t)gt + 1;
		if (depth == 0)
			return (long)i;
	}
	return 0;
}

size_t
xs_name(const char *el, size_t n, char *out, size_t outlen)
{
	size_t	i = 1, o = 0;

	while (i < n && el[i] != ' ' && el[i] != '>' && el[i] != '/' &&
	    el[i] != '\t' && el[i] != '\n' && el[i] != '\r') {
		if (o + 1 < outlen)
			out[o++] = el[i];
		i++;
	}
	if (outlen)
		out[o] = '\0';
	return o;
}

/* Copy buf[a..b) into out, NUL-terminated and truncated. */
static void
copy(const char *a, const char *b, char *out, size_t outlen)
{
	size_t	len = (size_t)(b - a);

	if (outlen == 0)
		return;
	if (len >= outlen)
		len = outlen - 1;
	memcpy(out, a, len);
	out[len] = '\0';
}

int
xs_attr(const char *el, size_t n, const char *name, char *out,
    size_t outlen)
{
	long		 gt = tag_end(el, n, 0);
	size_t		 nl = strlen(name), i;
	const char	*v, *close;

	if (gt == -1)
		return 0;
	for (i = 1; i + nl + 2 < (size_t)gt; i++) {
		if ((el[i - 1] != ' ' && el[i - 1] != '\t' &&
		    el[i - 1] != '\n') || memcmp(el + i, name, nl) != 0 ||
		    el[i + nl] != '=' ||
		    (el[i + nl + 1] != '\'' && el[i + nl + 1] != '"'))
			continue;
		v = el + i + nl + 2;
		close = memchr(v, el[i + nl + 1], (size_t)(el + gt - v));
		if (close == NULL)
			return 0;
		copy(v, close, out, outlen);
		return 1;
	}
	return 0;
}

/* The first start tag named name: pointer to its '<', or NULL. */
static const char *
find_tag(const char *el, size_t n, const char *name)
{
	size_t		 nl = strlen(name);
	const char	*p = el, *end = el + n;
	char		 c;

	while ((p = memchr(p, '<', (size_t)(end - p))) != NULL) {
		if ((size_t)(end - p) > nl + 1 &&
		    memcmp(p + 1, name, nl) == 0) {
			c = p[nl + 1];
			if (c == ' ' || c == '>' || c == '/' || c == '\t' ||
			    c == '\n')
				return p;
		}
		p++;
	}
	return NULL;
}

int
xs_child_text(const char *el, size_t n, const char *name, char *out,
    size_t outlen)
{
	const char	*p = find_tag(el + 1, n - 1, name), *end = el + n;
	const char	*gt, *lt;
	long		 g;

	if (outlen)
		out[0] = '\0';
	if (p == NULL || (g = tag_end(p, (size_t)(end - p), 0)) == -1)
		return 0;
	gt = p + g;
	if (gt[-1] == '/')
		return 1;
	if ((lt = memchr(gt + 1, '<', (size_t)(end - gt - 1))) == NULL)
		return 0;
	copy(gt + 1, lt, out, outlen);
	return 1;
}

int
xs_has_child(const char *el, size_t n, const char *name)
{
	return n > 1 && find_tag(el + 1, n - 1, name) != NULL;
}

void
xs_text(const char *el, size_t n, char *out, size_t outlen)
{
	long		 g = tag_end(el, n, 0);
	const char	*lt;

	if (outlen)
		out[0] = '\0';
	if (g == -1 || el[g - 1] == '/')
		return;
	if ((lt = memchr(el + g + 1, '<', n - (size_t)g - 1)) != NULL)
		copy(el + g + 1, lt, out, outlen);
}
