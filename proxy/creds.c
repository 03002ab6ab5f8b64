/*
 * creds: owns the credential file and its copy in memory.
 *
 * It promises that the file on disk is always a whole store, the old one
 * or the new one, never a truncated mix (temporary file, fsync, rename,
 * fsync of the directory), that memory matches the file after every call,
 * and that a password leaves this module only through creds_get().
 * Passwords, and every buffer the file is read into or written from, are
 * wiped with explicit_bzero before they are freed. Entries are kept
 * sorted by JID, so lookups are binary searches.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "creds.h"

#define CREDS_HEADER	"# nabproxy credential store: \"bare-jid password\"" \
			" per line, written by nabproxy.\n"

struct creds_entry {
	char		*ce_jid;	/* ASCII lower case */
	char		*ce_pw;
	unsigned int	 ce_line;	/* while loading, for messages */
};

struct creds {
	char			*cr_path;
	uid_t			 cr_owner;	/* the file's required owner */
	struct creds_entry	*cr_ent;	/* sorted by ce_jid */
	size_t			 cr_n;
	size_t			 cr_cap;
};

static int	jid_norm(const char *, size_t, char *, size_t);
static void	pw_free(char *);
static void	ents_clear(struct creds *);
static int	ent_cmp(const void *, const void *);
static int	ent_find(const struct creds *, const char *, size_t *);
static int	ent_insert(struct creds *, size_t, struct creds_entry *);
static void	ent_take(struct creds *, size_t, struct creds_entry *);
static int	file_read(const char *, uid_t, char **, size_t *, char *,
		    size_t);
static int	file_parse(const char *, char *, size_t, struct creds *,
		    char *, size_t);
static int	parse_line(const char *, unsigned int, char *, size_t,
		    struct creds *, char *, size_t);
static int	load(const char *, uid_t, struct creds *, char *, size_t);
static void	resync(struct creds *);
static char	*serialize(const struct creds *, size_t *);
static int	write_all(int, const char *, size_t);
static int	store_write(const struct creds *, char *, size_t);

/*
 * Copies the len bytes at s into out (outlen bytes) in ASCII lower case,
 * if they form a bare JID: 1..CREDS_JID_MAX bytes, no white space,
 * control byte or '/', and no leading '#' (that would be a comment).
 * Returns 0, or -1 if s is not a bare JID or does not fit.
 */
static int
jid_norm(const char *s, size_t len, char *out, size_t outlen)
{
	size_t		i;
	unsigned char	c;

	if (len == 0 || len > CREDS_JID_MAX || len >= outlen || s[0] == '#')
		return -1;
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c <= 0x20 || c == 0x7f || c == '/')
			return -1;
		out[i] = (char)(c < 0x80 ? tolower(c) : c);
	}
	out[len] = '\0';
	return 0;
}

/* Wipes and frees a password; NULL is fine. */
static void
pw_free(char *pw)
{
	if (pw == NULL)
		return;
	explicit_bzero(pw, strlen(pw));
	free(pw);
}

/* Frees every entry of c (passwords wiped); c is then empty. */
static void
ents_clear(struct creds *c)
{
	size_t	i;

	for (i = 0; i < c->cr_n; i++) {
		free(c->cr_ent[i].ce_jid);
		pw_free(c->cr_ent[i].ce_pw);
	}
	free(c->cr_ent);
	c->cr_ent = NULL;
	c->cr_n = c->cr_cap = 0;
}

static int
ent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct creds_entry *)a)->ce_jid,
	    ((const struct creds_entry *)b)->ce_jid);
}

/*
 * Binary search for the normalised jid. Returns 1 with *idx its index,
 * or 0 with *idx where it would be inserted.
 */
static int
ent_find(const struct creds *c, const char *jid, size_t *idx)
{
	size_t	lo = 0, hi = c->cr_n, mid;
	int	r;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((r = strcmp(jid, c->cr_ent[mid].ce_jid)) == 0) {
			*idx = mid;
			return 1;
		}
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	*idx = lo;
	return 0;
}

/*
 * Inserts *e at idx (c takes its strings). Returns 0, or -1 on ENOMEM
 * with c unchanged and *e still the caller's. Never fails right after
 * ent_take(), since the room is still there.
 */
static int
ent_insert(struct creds *c, size_t idx, struct creds_entry *e)
{
	struct creds_entry	*v;
	size_t			 cap;

	if (c->cr_n == c->cr_cap) {
		cap = c->cr_cap ? c->cr_cap * 2 : 16;
		if ((v = reallocarray(c->cr_ent, cap, sizeof(*v))) == NULL)
			return -1;
		c->cr_ent = v;
		c->cr_cap = cap;
	}
	memmove(&c->cr_ent[idx + 1], &c->cr_ent[idx],
	    (c->cr_n - idx) * sizeof(*c->cr_ent));
	c->cr_ent[idx] = *e;
	c->cr_n++;
	return 0;
}

/* Moves entry idx out of c into *e; the caller owns its strings. */
static void
ent_take(struct creds *c, size_t idx, struct creds_entry *e)
{
	*e = c->cr_ent[idx];
	memmove(&c->cr_ent[idx], &c->cr_ent[idx + 1],
	    (c->cr_n - idx - 1) * sizeof(*c->cr_ent));
	c->cr_n--;
}

/*
 * Reads the whole file at path into *buf (malloc'd, *len bytes, NUL
 * added; the caller wipes and frees it) after the secrecy checks.
 * Returns 1 if read, 0 if there is no file (*buf NULL), or -1 with err
 * set.
 */
static int
file_read(const char *path, uid_t owner, char **buf, size_t *len, char *err,
    size_t errlen)
{
	struct stat	 st;
	ssize_t		 n = 0;
	size_t		 got = 0;
	int		 fd;

	*buf = NULL;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NOCTTY |
	    O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, errno == ELOOP ?
		    "is a symbolic link, refused: the store must be a"
		    " regular file" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1)
		snprintf(err, errlen, "%s: fstat: %s", path, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		snprintf(err, errlen, "%s: not a regular file, refused", path);
	else if (st.st_uid != owner)
		snprintf(err, errlen, "%s: owned by uid %u, refused: it must"
		    " belong to uid %u, which runs nabproxy", path,
		    (unsigned int)st.st_uid, (unsigned int)owner);
	else if (st.st_mode & 077)
		snprintf(err, errlen, "%s: mode %04o gives group or others"
		    " access, refused: chmod 600 %s", path,
		    (unsigned int)(st.st_mode & 07777), path);
	else if (st.st_size > CREDS_FILE_MAX)
		snprintf(err, errlen, "%s: larger than %d bytes, refused",
		    path, CREDS_FILE_MAX);
	else if ((*buf = malloc((size_t)st.st_size + 1)) == NULL)
		snprintf(err, errlen, "%s: out of memory", path);
	else {
		/* One byte more than fstat said tells a growing file. */
		while (got <= (size_t)st.st_size) {
			n = read(fd, *buf + got, (size_t)st.st_size + 1 - got);
			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			got += (size_t)n;
		}
		if (n == -1)
			snprintf(err, errlen, "%s: read: %s", path,
			    strerror(errno));
		else if (got > (size_t)st.st_size)
			snprintf(err, errlen, "%s: grew while being read, try"
			    " again", path);
		else {
			(*buf)[got] = '\0';
			*len = got;
			close(fd);
			return 1;
		}
		explicit_bzero(*buf, got);
		free(*buf);
		*buf = NULL;
	}
	close(fd);
	return -1;
}

/*
 * One "jid password" line (len bytes at s, no newline) into c, unsorted.
 * Blank lines and comments are skipped. Returns 0, or -1 with err set;
 * err never quotes the password.
 */
static int
parse_line(const char *path, unsigned int line, char *s, size_t len,
    struct creds *c, char *err, size_t errlen)
{
	struct creds_entry	 e;
	char			 jid[CREDS_JID_MAX + 1], *sp;
	size_t			 plen;

	if (strspn(s, " \t") >= len || s[strspn(s, " \t")] == '#')
		return 0;
	if (memchr(s, '\0', len) != NULL) {
		snprintf(err, errlen, "%s:%u: NUL byte, refused", path, line);
		return -1;
	}
	if ((sp = memchr(s, ' ', len)) == NULL || (plen = len -
	    (size_t)(sp - s) - 1) == 0) {
		snprintf(err, errlen, "%s:%u: expected \"JID PASSWORD\","
		    " one space between", path, line);
		return -1;
	}
	if (jid_norm(s, (size_t)(sp - s), jid, sizeof(jid)) == -1) {
		snprintf(err, errlen, "%s:%u: not a bare JID", path, line);
		return -1;
	}
	if (plen > CREDS_PASSWORD_MAX) {
		snprintf(err, errlen, "%s:%u: password longer than %d bytes",
		    path, line, CREDS_PASSWORD_MAX);
		return -1;
	}
	e.ce_line = line;
	e.ce_jid = strdup(jid);
	e.ce_pw = strndup(sp + 1, plen);
	if (e.ce_jid == NULL || e.ce_pw == NULL ||
	    ent_insert(c, c->cr_n, &e) == -1) {
		free(e.ce_jid);
		pw_free(e.ce_pw);
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	return 0;
}

/*
 * Parses the len bytes at buf (NUL-terminated) into the empty store c,
 * sorted. Returns 0, or -1 with err set and c emptied.
 */
static int
file_parse(const char *path, char *buf, size_t len, struct creds *c,
    char *err, size_t errlen)
{
	char		*s = buf, *end;
	unsigned int	 line = 0;
	size_t		 i;

	while (s < buf + len) {
		line++;
		if ((end = memchr(s, '\n', (size_t)(buf + len - s))) == NULL)
			end = buf + len;
		if (parse_line(path, line, s, (size_t)(end - s), c, err,
		    errlen) == -1)
			goto fail;
		s = end + 1;
	}
	/* qsort(NULL, 0, ...) is undefined: a store of comments only. */
	if (c->cr_n > 1)
		qsort(c->cr_ent, c->cr_n, sizeof(*c->cr_ent), ent_cmp);
	for (i = 1; i < c->cr_n; i++)
		if (strcmp(c->cr_ent[i - 1].ce_jid, c->cr_ent[i].ce_jid) == 0) {
			snprintf(err, errlen, "%s:%u: %s is already at line"
			    " %u, allowed once", path,
			    c->cr_ent[i].ce_line > c->cr_ent[i - 1].ce_line ?
			    c->cr_ent[i].ce_line : c->cr_ent[i - 1].ce_line,
			    c->cr_ent[i].ce_jid,
			    c->cr_ent[i].ce_line > c->cr_ent[i - 1].ce_line ?
			    c->cr_ent[i - 1].ce_line : c->cr_ent[i].ce_line);
			goto fail;
		}
	return 0;
 fail:
	ents_clear(c);
	return -1;
}

/* Reads path into the empty store c. Returns 0, or -1 with err set. */
static int
load(const char *path, uid_t owner, struct creds *c, char *err,
    size_t errlen)
{
	char	*buf;
	size_t	 len;
	int	 r;

	if ((r = file_read(path, owner, &buf, &len, err, errlen)) <= 0)
		return r;
	r = file_parse(path, buf, len, c, err, errlen);
	explicit_bzero(buf, len);
	free(buf);
	return r;
}

/*
 * Takes in what another writer (`nabproxy credentials` while the daemon
 * runs) put in the file since c read it, so that the rewrite that follows
 * does not undo it. A missing or unreadable file leaves c as it is.
 */
static void
resync(struct creds *c)
{
	struct creds	 fresh;
	char		*buf, err[256];
	size_t		 len;
	int		 r;

	if (file_read(c->cr_path, c->cr_owner, &buf, &len, err,
	    sizeof(err)) != 1)
		return;
	memset(&fresh, 0, sizeof(fresh));
	r = file_parse(c->cr_path, buf, len, &fresh, err, sizeof(err));
	explicit_bzero(buf, len);
	free(buf);
	if (r == -1)
		return;
	ents_clear(c);
	c->cr_ent = fresh.cr_ent;
	c->cr_n = fresh.cr_n;
	c->cr_cap = fresh.cr_cap;
}

/*
 * The file's bytes for c, malloc'd (*len bytes, NUL added); the caller
 * wipes and frees them. NULL on ENOMEM.
 */
static char *
serialize(const struct creds *c, size_t *len)
{
	size_t	 i, n = sizeof(CREDS_HEADER) - 1, off, jl, pl;
	char	*buf;

	for (i = 0; i < c->cr_n; i++)
		n += strlen(c->cr_ent[i].ce_jid) + strlen(c->cr_ent[i].ce_pw) +
		    2;
	if ((buf = malloc(n + 1)) == NULL)
		return NULL;
	memcpy(buf, CREDS_HEADER, sizeof(CREDS_HEADER) - 1);
	off = sizeof(CREDS_HEADER) - 1;
	for (i = 0; i < c->cr_n; i++) {
		jl = strlen(c->cr_ent[i].ce_jid);
		pl = strlen(c->cr_ent[i].ce_pw);
		memcpy(buf + off, c->cr_ent[i].ce_jid, jl);
		buf[off + jl] = ' ';
		memcpy(buf + off + jl + 1, c->cr_ent[i].ce_pw, pl);
		buf[off + jl + 1 + pl] = '\n';
		off += jl + pl + 2;
	}
	buf[off] = '\0';
	*len = off;
	return buf;
}

/* write(2) until done. Returns 0, or -1 with errno set. */
static int
write_all(int fd, const char *p, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Replaces the file with c's content: a new file made with O_EXCL and
 * mode 0600 (mkostemp) in the same directory, written, fsync'd, renamed
 * over the store, then the directory fsync'd. Returns 0; 1 if only the
 * directory fsync failed (err set; the new file is in place); -1 with
 * err set and the old file untouched (the temporary file removed).
 */
static int
store_write(const struct creds *c, char *err, size_t errlen)
{
	const char	*path = c->cr_path, *slash = strrchr(path, '/');
	char		*dir, *tmp = NULL, *buf = NULL;
	size_t		 len = 0;
	int		 fd = -1, dfd, rc = -1;

	dir = slash == NULL ? strdup(".") : slash == path ? strdup("/") :
	    strndup(path, (size_t)(slash - path));
	if (dir != NULL && asprintf(&tmp, "%s/.%s.XXXXXX", dir,
	    slash ? slash + 1 : path) == -1)
		tmp = NULL;
	if (tmp == NULL || (buf = serialize(c, &len)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto done;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: cannot create a temporary file in"
		    " %s: %s", path, dir, strerror(errno));
		goto done;
	}
	if (fchmod(fd, 0600) == -1 || write_all(fd, buf, len) == -1 ||
	    fsync(fd) == -1) {
		snprintf(err, errlen, "%s: writing %s: %s", path, tmp,
		    strerror(errno));
		close(fd);
		goto unlink;
	}
	if (close(fd) == -1) {
		snprintf(err, errlen, "%s: writing %s: %s", path, tmp,
		    strerror(errno));
		goto unlink;
	}
	if (rename(tmp, path) == -1) {
		snprintf(err, errlen, "%s: rename from %s: %s", path, tmp,
		    strerror(errno));
		goto unlink;
	}
	rc = 0;
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fsync(dfd) == -1) {
		snprintf(err, errlen, "%s: written, but fsync of %s failed:"
		    " %s", path, dir, strerror(errno));
		rc = 1;
	}
	if (dfd != -1)
		close(dfd);
	goto done;
 unlink:
	unlink(tmp);
 done:
	if (buf != NULL)
		explicit_bzero(buf, len);
	free(buf);
	free(tmp);
	free(dir);
	return rc;
}

struct creds *
creds_open(const char *path, char *err, size_t errlen)
{
	return creds_open_owner(path, geteuid(), err, errlen);
}

struct creds *
creds_open_owner(const char *path, uid_t owner, char *err, size_t errlen)
{
	struct creds	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->cr_path = strdup(path)) == NULL) {
		free(c);
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	c->cr_owner = owner;
	if (load(path, owner, c, err, errlen) == -1) {
		creds_close(c);
		return NULL;
	}
	return c;
}

void
creds_close(struct creds *c)
{
	if (c == NULL)
		return;
	ents_clear(c);
	free(c->cr_path);
	free(c);
}

const char *
creds_get(const struct creds *c, const char *bare_jid)
{
	char	key[CREDS_JID_MAX + 1];
	size_t	idx;

	if (jid_norm(bare_jid, strlen(bare_jid), key, sizeof(key)) == -1 ||
	    !ent_find(c, key, &idx))
		return NULL;
	return c->cr_ent[idx].ce_pw;
}

int
creds_put(struct creds *c, const char *jid, const char *password,
    char *err, size_t errlen)
{
	struct creds_entry	 e = { NULL, NULL, 0 };
	char			 key[CREDS_JID_MAX + 1], *old = NULL;
	size_t			 idx, plen = strlen(password);
	int			 found, rc;

	if (jid_norm(jid, strlen(jid), key, sizeof(key)) == -1) {
		snprintf(err, errlen, "not a bare JID: allowed 1..%d bytes"
		    " without white space, control bytes or '/', not"
		    " starting with '#'", CREDS_JID_MAX);
		return -1;
	}
	if (plen == 0 || plen > CREDS_PASSWORD_MAX ||
	    strchr(password, '\n') != NULL) {
		snprintf(err, errlen, "bad password for %s: allowed 1..%d"
		    " bytes without a newline", key, CREDS_PASSWORD_MAX);
		return -1;
	}
	if ((e.ce_pw = strdup(password)) == NULL)
		goto nomem;
	resync(c);
	if ((found = ent_find(c, key, &idx))) {
		old = c->cr_ent[idx].ce_pw;
		c->cr_ent[idx].ce_pw = e.ce_pw;
	} else if ((e.ce_jid = strdup(key)) == NULL ||
	    ent_insert(c, idx, &e) == -1)
		goto nomem;
	if ((rc = store_write(c, err, errlen)) == -1) {
		if (found)
			c->cr_ent[idx].ce_pw = old;
		else
			ent_take(c, idx, &e);
		free(e.ce_jid);
		pw_free(e.ce_pw);
		return -1;
	}
	pw_free(old);
	return rc;
 nomem:
	free(e.ce_jid);
	pw_free(e.ce_pw);
	snprintf(err, errlen, "%s: out of memory", c->cr_path);
	return -1;
}

int
creds_remove(struct creds *c, const char *jid, char *err, size_t errlen)
{
	struct creds_entry	 e;
	char			 key[CREDS_JID_MAX + 1];
	size_t			 idx;
	int			 rc;

	if (jid_norm(jid, strlen(jid), key, sizeof(key)) == -1 ||
	    !ent_find(c, key, &idx))
		return 2;
	ent_take(c, idx, &e);
	if ((rc = store_write(c, err, errlen)) == -1) {
		(void)ent_insert(c, idx, &e);
		return -1;
	}
	free(e.ce_jid);
	pw_free(e.ce_pw);
	return rc;
}

int
creds_reload(struct creds *c, char *err, size_t errlen)
{
	struct creds	fresh;

	memset(&fresh, 0, sizeof(fresh));
	if (load(c->cr_path, c->cr_owner, &fresh, err, errlen) == -1)
		return -1;
	ents_clear(c);
	c->cr_ent = fresh.cr_ent;
	c->cr_n = fresh.cr_n;
	c->cr_cap = fresh.cr_cap;
	return 0;
}

size_t
creds_count(const struct creds *c)
{
	return c->cr_n;
}

const char *
creds_jid(const struct creds *c, size_t i)
{
	return i < c->cr_n ? c->cr_ent[i].ce_jid : NULL;
}

const char *
creds_path(const struct creds *c)
{
	return c->cr_path;
}
