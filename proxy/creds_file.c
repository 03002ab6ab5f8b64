/*
 * creds_file: the credential store's file. Reads it after the secrecy
 * checks (regular file, not a link, owned by us, mode 0600 or stricter),
 * parses the line format into a sorted store, and replaces it atomically
 * (temporary file O_EXCL 0600, fsync, rename, fsync of the directory).
 * Every buffer holding the file's bytes is wiped before it is freed.
 *
 * The format, one record per line:
 *   JID PASSWORD                the server's password for JID (the rest
 *                               of the line, byte for byte)
 *   /rabbit JID PASSWORD        the rabbit's own password, when the
 *                               operator let it differ (allow-register)
 *   /allow-register JID UNTIL   an operator's window, seconds since 1970
 *   # comment, blank lines
 * A JID cannot contain '/', so the '/' lines cannot be taken for one.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "creds.h"
#include "creds-int.h"

static int	file_read(const char *, uid_t, char **, size_t *, char *,
		    size_t);
static int	file_parse(const char *, char *, size_t, struct creds *,
		    char *, size_t);
static int	parse_line(const char *, unsigned int, char *, size_t,
		    struct creds *, char *, size_t);
static int	parse_extra(const char *, unsigned int, char *, size_t,
		    struct creds *, char *, size_t);
static void	dup_error(const char *, const struct creds *, size_t, char *,
		    size_t);
static char	*serialize(const struct creds *, size_t *);
static int	write_all(int, const char *, size_t);

static int
ent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct creds_entry *)a)->ce_jid,
	    ((const struct creds_entry *)b)->ce_jid);
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
 * Blank lines, comments and the '/' lines (parse_extra) are skipped.
 * Returns 0, or -1 with err set; err never quotes the password.
 */
static int
parse_line(const char *path, unsigned int line, char *s, size_t len,
    struct creds *c, char *err, size_t errlen)
{
	struct creds_entry	 e;
	char			 jid[CREDS_JID_MAX + 1], *sp;
	size_t			 plen;

	if (strspn(s, " \t") >= len || s[strspn(s, " \t")] == '#' ||
	    s[0] == '/')
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
	memset(&e, 0, sizeof(e));
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
 * A '/' line, once c holds the sorted "jid password" lines:
 * "/rabbit JID PASSWORD" (the rabbit's own password for JID, which the
 * operator let differ from the server's) or "/allow-register JID UNTIL"
 * (an operator's window, UNTIL in seconds since the epoch). JID must have
 * its "jid password" line; each appears once per JID.
 */
static int
parse_extra(const char *path, unsigned int line, char *s, size_t len,
    struct creds *c, char *err, size_t errlen)
{
	struct creds_entry	*e;
	char			 jid[CREDS_JID_MAX + 1], *p, *sp, *end;
	size_t			 idx, rest;
	int			 rabbit;

	if (s[0] != '/')
		return 0;
	if (memchr(s, '\0', len) != NULL) {
		snprintf(err, errlen, "%s:%u: NUL byte, refused", path, line);
		return -1;
	}
	rabbit = len > strlen(X_RABBIT) && memcmp(s, X_RABBIT,
	    strlen(X_RABBIT)) == 0;
	if (!rabbit && (len <= strlen(X_ALLOW) ||
	    memcmp(s, X_ALLOW, strlen(X_ALLOW)) != 0)) {
		snprintf(err, errlen, "%s:%u: unknown '/' line (known: "
		    "/rabbit, /allow-register)", path, line);
		return -1;
	}
	p = s + strlen(rabbit ? X_RABBIT : X_ALLOW);
	rest = len - (size_t)(p - s);
	if ((sp = memchr(p, ' ', rest)) == NULL || sp == p ||
	    sp + 1 == p + rest || jid_norm(p, (size_t)(sp - p), jid,
	    sizeof(jid)) == -1 || !ent_find(c, jid, &idx)) {
		snprintf(err, errlen, "%s:%u: expected \"%sJID %s\" for a JID"
		    " of the store", path, line, rabbit ? X_RABBIT : X_ALLOW,
		    rabbit ? "PASSWORD" : "UNTIL");
		return -1;
	}
	e = &c->cr_ent[idx];
	rest -= (size_t)(sp + 1 - p);
	if (rabbit) {
		if (e->ce_rpw != NULL || rest > CREDS_PASSWORD_MAX ||
		    (e->ce_rpw = strndup(sp + 1, rest)) == NULL) {
			snprintf(err, errlen, "%s:%u: a second /rabbit line for "
			    "%s, an overlong password, or out of memory", path,
			    line, jid);
			return -1;
		}
		return 0;
	}
	if (e->ce_allow != 0) {
		snprintf(err, errlen, "%s:%u: a second /allow-register line for "
		    "%s", path, line, jid);
		return -1;
	}
	errno = 0;
	e->ce_allow = rest > 0 && sp[1] >= '1' && sp[1] <= '9' ?
	    strtoll(sp + 1, &end, 10) : 0;
	if (errno != 0 || e->ce_allow <= 0 || end != sp + 1 + rest) {
		snprintf(err, errlen, "%s:%u: allow-register window end is not "
		    "a positive number of seconds", path, line);
		return -1;
	}
	return 0;
}

/* "JID is already at line N": entries i-1 and i have the same JID. */
static void
dup_error(const char *path, const struct creds *c, size_t i, char *err,
    size_t errlen)
{
	unsigned int	a = c->cr_ent[i - 1].ce_line, b = c->cr_ent[i].ce_line;

	snprintf(err, errlen, "%s:%u: %s is already at line %u, allowed once",
	    path, a > b ? a : b, c->cr_ent[i].ce_jid, a > b ? b : a);
}

/*
 * Parses the len bytes at buf (NUL-terminated) into the empty store c,
 * sorted. Returns 0, or -1 with err set and c emptied.
 */
static int
file_parse(const char *path, char *buf, size_t len, struct creds *c,
    char *err, size_t errlen)
{
	char		*s, *end;
	unsigned int	 line;
	size_t		 i;
	int		 pass;

	for (pass = 0; pass < 2; pass++) {
		for (s = buf, line = 1; s < buf + len; s = end + 1, line++) {
			if ((end = memchr(s, '\n', (size_t)(buf + len - s))) ==
			    NULL)
				end = buf + len;
			if ((pass == 0 ? parse_line : parse_extra)(path, line,
			    s, (size_t)(end - s), c, err, errlen) == -1)
				goto fail;
		}
		if (pass == 1)
			break;
		/* qsort(NULL, 0, ...) is undefined: a store of comments only. */
		if (c->cr_n > 1)
			qsort(c->cr_ent, c->cr_n, sizeof(*c->cr_ent), ent_cmp);
		for (i = 1; i < c->cr_n; i++)
			if (strcmp(c->cr_ent[i - 1].ce_jid,
			    c->cr_ent[i].ce_jid) == 0) {
				dup_error(path, c, i, err, errlen);
				goto fail;
			}
	}
	return 0;
 fail:
	ents_clear(c);
	return -1;
}

/* Reads path into the empty store c. Returns 0, or -1 with err set. */
int
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
void
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
	const struct creds_entry	*e;
	size_t				 i, n = sizeof(CREDS_HEADER), off, jl;
	char				*buf;
	int				 w;

	for (i = 0; i < c->cr_n; i++) {
		e = &c->cr_ent[i];
		jl = strlen(e->ce_jid);
		n += jl + strlen(e->ce_pw) + 2;
		if (e->ce_rpw != NULL)
			n += sizeof(X_RABBIT) + jl + strlen(e->ce_rpw) + 1;
		if (e->ce_allow != 0)
			n += sizeof(X_ALLOW) + jl + 22;
	}
	if ((buf = malloc(n)) == NULL)
		return NULL;
	off = (size_t)snprintf(buf, n, "%s", CREDS_HEADER);
	for (i = 0; i < c->cr_n; i++) {
		e = &c->cr_ent[i];
		w = snprintf(buf + off, n - off, "%s %s\n", e->ce_jid, e->ce_pw);
		off += (size_t)w;
		if (e->ce_rpw != NULL)
			off += (size_t)snprintf(buf + off, n - off, "%s%s %s\n",
			    X_RABBIT, e->ce_jid, e->ce_rpw);
		if (e->ce_allow != 0)
			off += (size_t)snprintf(buf + off, n - off, "%s%s %lld\n",
			    X_ALLOW, e->ce_jid, e->ce_allow);
	}
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

/* The directory of path, malloc'd; NULL on ENOMEM. */
static char *
dir_of(const char *path)
{
	const char	*slash = strrchr(path, '/');

	return slash == NULL ? strdup(".") : slash == path ? strdup("/") :
	    strndup(path, (size_t)(slash - path));
}

/*
 * Serialises the writers of one store (the daemon's writer thread and
 * `nabproxy credentials`): an exclusive flock(2) on its directory, held
 * until the returned fd is closed. -1 with err set.
 */
int
store_lock(const char *path, char *err, size_t errlen)
{
	char	*dir;
	int	 fd = -1, r;

	if ((dir = dir_of(path)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		snprintf(err, errlen, "%s: cannot open %s: %s", path, dir,
		    strerror(errno));
	else {
		while ((r = flock(fd, LOCK_EX)) == -1 && errno == EINTR)
			;
		if (r == -1) {
			snprintf(err, errlen, "%s: cannot lock %s: %s", path,
			    dir, strerror(errno));
			close(fd);
			fd = -1;
		}
	}
	free(dir);
	return fd;
}

/*
 * Replaces the file with c's content: a new file made with O_EXCL and
 * mode 0600 (mkostemp) in the same directory, written, fsync'd, renamed
 * over the store, then the directory fsync'd. Returns 0; 1 if only the
 * directory fsync failed (err set; the new file is in place); -1 with
 * err set and the old file untouched (the temporary file removed).
 */
int
store_write(const struct creds *c, char *err, size_t errlen)
{
	const char	*path = c->cr_path, *slash = strrchr(path, '/');
	char		*dir, *tmp = NULL, *buf = NULL;
	size_t		 len = 0;
	int		 fd = -1, dfd, rc = -1;

	dir = dir_of(path);
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
