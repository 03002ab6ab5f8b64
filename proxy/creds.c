/*
 * creds: owns the credential file and its copy in memory.
 *
 * It promises that the file on disk is always a whole store, the old one
 * or the new one, never a truncated mix (temporary file, fsync, rename,
 * fsync of the directory), that memory matches the file after every call,
 * and that a password leaves this module only through creds_get() and
 * creds_get_rabbit(). An account has one password, the server's, unless
 * the operator opened an allow-register window and the rabbit registered
 * in it: then the rabbit's own password is kept beside it (the rabbit
 * proves itself with that one, nabproxy logs in upstream with the
 * server's). The file's format is in creds_file.c.
 * Passwords, and every buffer the file is read into or written from, are
 * wiped with explicit_bzero before they are freed. Entries are kept
 * sorted by JID, so lookups are binary searches. In the daemon the
 * file is written by a thread (creds_writer.c): memory is then ahead of
 * the file until the thread has written it.
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
#include "creds-int.h"

/*
 * Copies the len bytes at s into out (outlen bytes) in ASCII lower case,
 * if they form a bare JID: 1..CREDS_JID_MAX bytes, no white space,
 * control byte or '/', and no leading '#' (that would be a comment).
 * Returns 0, or -1 if s is not a bare JID or does not fit.
 */
int
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
void
pw_free(char *pw)
{
	if (pw == NULL)
		return;
	explicit_bzero(pw, strlen(pw));
	free(pw);
}

/* Frees every entry of c (passwords wiped); c is then empty. */
void
ents_clear(struct creds *c)
{
	size_t	i;

	for (i = 0; i < c->cr_n; i++) {
		free(c->cr_ent[i].ce_jid);
		pw_free(c->cr_ent[i].ce_pw);
		pw_free(c->cr_ent[i].ce_rpw);
	}
	free(c->cr_ent);
	c->cr_ent = NULL;
	c->cr_n = c->cr_cap = 0;
}

/*
 * Binary search for the normalised jid. Returns 1 with *idx its index,
 * or 0 with *idx where it would be inserted.
 */
int
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
int
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
void
ent_take(struct creds *c, size_t idx, struct creds_entry *e)
{
	*e = c->cr_ent[idx];
	memmove(&c->cr_ent[idx], &c->cr_ent[idx + 1],
	    (c->cr_n - idx - 1) * sizeof(*c->cr_ent));
	c->cr_n--;
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
	writer_stop(c);
	ents_clear(c);
	free(c->cr_path);
	free(c);
}

/* The entry of bare_jid (ASCII case ignored), or NULL. */
static const struct creds_entry *
ent_lookup(const struct creds *c, const char *bare_jid)
{
	char	key[CREDS_JID_MAX + 1];
	size_t	idx;

	if (jid_norm(bare_jid, strlen(bare_jid), key, sizeof(key)) == -1 ||
	    !ent_find(c, key, &idx))
		return NULL;
	return &c->cr_ent[idx];
}

const char *
creds_get(const struct creds *c, const char *bare_jid)
{
	const struct creds_entry	*e = ent_lookup(c, bare_jid);

	return e != NULL ? e->ce_pw : NULL;
}

/*
 * The store's key for jid in key, or -1 with err set.
 */
static int
key_of(const char *jid, char key[CREDS_JID_MAX + 1], char *err, size_t errlen)
{
	if (jid_norm(jid, strlen(jid), key, CREDS_JID_MAX + 1) == 0)
		return 0;
	snprintf(err, errlen, "not a bare JID: allowed 1..%d bytes without "
	    "white space, control bytes or '/', not starting with '#'",
	    CREDS_JID_MAX);
	return -1;
}

/* A password creds_put takes, or -1 with err set. */
static int
pw_ok(const char *key, const char *password, char *err, size_t errlen)
{
	size_t	plen = strlen(password);

	if (plen > 0 && plen <= CREDS_PASSWORD_MAX &&
	    strchr(password, '\n') == NULL)
		return 0;
	snprintf(err, errlen, "bad password for %s: allowed 1..%d bytes "
	    "without a newline", key, CREDS_PASSWORD_MAX);
	return -1;
}

/* Frees an entry's strings (passwords wiped). */
static void
ent_free(struct creds_entry *e)
{
	free(e->ce_jid);
	pw_free(e->ce_pw);
	pw_free(e->ce_rpw);
	memset(e, 0, sizeof(*e));
}

/*
 * e: a copy of `from` (every string duplicated), then pw or rpw replaced
 * when not NULL (rpw "" clears it). 0, or -1 on ENOMEM with e empty.
 */
static int
ent_copy(struct creds_entry *e, const struct creds_entry *from,
    const char *pw, const char *rpw)
{
	const char	*r = rpw != NULL ? rpw : from->ce_rpw;

	memset(e, 0, sizeof(*e));
	e->ce_allow = from->ce_allow;
	if ((e->ce_jid = strdup(from->ce_jid)) == NULL ||
	    (e->ce_pw = strdup(pw != NULL ? pw : from->ce_pw)) == NULL ||
	    (r != NULL && *r != '\0' && (e->ce_rpw = strdup(r)) == NULL)) {
		ent_free(e);
		return -1;
	}
	return 0;
}

/* A copy of from; a removal (no password) stays one. -1 on ENOMEM. */
int
ent_dup(struct creds_entry *e, const struct creds_entry *from)
{
	if (from->ce_pw != NULL)
		return ent_copy(e, from, NULL, NULL);
	memset(e, 0, sizeof(*e));
	return (e->ce_jid = strdup(from->ce_jid)) == NULL ? -1 : 0;
}

int
op_replay(struct creds *c, const struct creds_entry *op)
{
	struct creds_entry	e;
	size_t			idx;
	int			found = ent_find(c, op->ce_jid, &idx);

	if (op->ce_pw == NULL) {
		if (found) {
			ent_take(c, idx, &e);
			ent_free(&e);
		}
		return 0;
	}
	if (ent_dup(&e, op) == -1)
		return -1;
	if (found) {
		ent_free(&c->cr_ent[idx]);
		c->cr_ent[idx] = e;
	} else if (ent_insert(c, idx, &e) == -1) {
		ent_free(&e);
		return -1;
	}
	return 0;
}

/*
 * Before a change: without a writer thread, the store's directory is
 * locked (creds_writer.c) and the file read again, so what another
 * process wrote is kept; the fd to hand to end(), or -1. With the
 * thread, memory is the newest and the thread does both.
 */
static int
begin(struct creds *c)
{
	char	err[256];
	int	lk;

	if (c->cr_w != NULL)
		return -1;
	lk = store_lock(c->cr_path, err, sizeof(err));
	resync(c);
	return lk;
}

static int
end(int lk, int rc)
{
	if (lk != -1)
		close(lk);
	return rc;
}

/*
 * Writes c with entry idx replaced by *e (inserted there if !found); c
 * then owns e's strings. Returns what store_write() returns; on -1 c is
 * as it was and e's strings are freed.
 */
static int
commit(struct creds *c, size_t idx, int found, struct creds_entry *e,
    char *err, size_t errlen)
{
	struct creds_entry	old;
	int			rc;

	if (found) {
		old = c->cr_ent[idx];
		c->cr_ent[idx] = *e;
	} else if (ent_insert(c, idx, e) == -1) {
		snprintf(err, errlen, "%s: out of memory", c->cr_path);
		ent_free(e);
		return -1;
	}
	if (c->cr_w != NULL) {
		if ((rc = writer_queue(c, &c->cr_ent[idx], NULL)) == -1)
			snprintf(err, errlen, "%s: out of memory", c->cr_path);
	} else
		rc = store_write(c, err, errlen);
	if (rc == -1) {
		if (found)
			c->cr_ent[idx] = old;
		else
			ent_take(c, idx, e);
		ent_free(e);
		return -1;
	}
	if (found)
		ent_free(&old);
	return rc;
}

int
creds_put(struct creds *c, const char *jid, const char *password,
    char *err, size_t errlen)
{
	struct creds_entry	 e, fresh;
	char			 key[CREDS_JID_MAX + 1];
	size_t			 idx;
	int			 found, lk;

	if (key_of(jid, key, err, errlen) == -1 ||
	    pw_ok(key, password, err, errlen) == -1)
		return -1;
	lk = begin(c);
	/* The server's password is the rabbit's again; any window closes. */
	memset(&fresh, 0, sizeof(fresh));
	fresh.ce_jid = key;
	fresh.ce_pw = (char *)password;
	if (ent_copy(&e, &fresh, NULL, NULL) == -1) {
		snprintf(err, errlen, "%s: out of memory", c->cr_path);
		return end(lk, -1);
	}
	found = ent_find(c, key, &idx);
	return end(lk, commit(c, idx, found, &e, err, errlen));
}

int
creds_remove(struct creds *c, const char *jid, char *err, size_t errlen)
{
	struct creds_entry	 e;
	char			 key[CREDS_JID_MAX + 1];
	size_t			 idx;
	int			 rc, lk;

	if (jid_norm(jid, strlen(jid), key, sizeof(key)) == -1)
		return 2;
	lk = begin(c);
	if (!ent_find(c, key, &idx))
		return end(lk, 2);
	ent_take(c, idx, &e);
	if (c->cr_w != NULL) {
		if ((rc = writer_queue(c, NULL, key)) == -1)
			snprintf(err, errlen, "%s: out of memory", c->cr_path);
	} else
		rc = store_write(c, err, errlen);
	if (rc == -1) {
		(void)ent_insert(c, idx, &e);
		return end(lk, -1);
	}
	ent_free(&e);
	return end(lk, rc);
}

const char *
creds_get_rabbit(const struct creds *c, const char *bare_jid)
{
	const struct creds_entry	*e = ent_lookup(c, bare_jid);

	if (e == NULL)
		return NULL;
	return e->ce_rpw != NULL ? e->ce_rpw : e->ce_pw;
}

long long
creds_window(const struct creds *c, const char *bare_jid)
{
	const struct creds_entry	*e = ent_lookup(c, bare_jid);

	return e != NULL ? e->ce_allow : 0;
}

int
creds_allow_register(struct creds *c, const char *jid, long long until,
    char *err, size_t errlen)
{
	struct creds_entry	 e;
	char			 key[CREDS_JID_MAX + 1];
	size_t			 idx;
	int			 lk;

	if (key_of(jid, key, err, errlen) == -1)
		return -1;
	lk = begin(c);
	if (!ent_find(c, key, &idx)) {
		snprintf(err, errlen, "%s has no password in the store: add the "
		    "server's password first (nabproxy credentials add %s)",
		    key, key);
		return end(lk, -1);
	}
	if (ent_copy(&e, &c->cr_ent[idx], NULL, NULL) == -1) {
		snprintf(err, errlen, "%s: out of memory", c->cr_path);
		return end(lk, -1);
	}
	e.ce_allow = until > 0 ? until : 0;
	return end(lk, commit(c, idx, 1, &e, err, errlen));
}

int
creds_put_rabbit(struct creds *c, const char *jid, const char *password,
    long long now, char *err, size_t errlen)
{
	struct creds_entry	 e;
	char			 key[CREDS_JID_MAX + 1];
	size_t			 idx;
	int			 lk;

	if (key_of(jid, key, err, errlen) == -1 ||
	    pw_ok(key, password, err, errlen) == -1)
		return -1;
	lk = begin(c);
	if (!ent_find(c, key, &idx) || c->cr_ent[idx].ce_allow <= now) {
		snprintf(err, errlen, "no allow-register window is open for %s",
		    key);
		return end(lk, -1);
	}
	if (ent_copy(&e, &c->cr_ent[idx], NULL, password) == -1) {
		snprintf(err, errlen, "%s: out of memory", c->cr_path);
		return end(lk, -1);
	}
	e.ce_allow = 0;
	return end(lk, commit(c, idx, 1, &e, err, errlen));
}

/* 1 if the two strings (either may be NULL) are the same. */
static int
str_same(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

/*
 * Entries of fresh that equal one of c (both sorted) take c's strings,
 * and c gets fresh's copies to free: a pointer creds_get() lent stays
 * valid across a reload that did not change that entry (the daemon
 * reloads after each of its own writes).
 */
static void
keep_unchanged(struct creds *c, struct creds *fresh)
{
	struct creds_entry	*o, *f, t;
	size_t			 i = 0, j = 0;
	int			 r;

	while (i < c->cr_n && j < fresh->cr_n) {
		o = &c->cr_ent[i];
		f = &fresh->cr_ent[j];
		if ((r = strcmp(o->ce_jid, f->ce_jid)) < 0) {
			i++;
			continue;
		}
		if (r > 0) {
			j++;
			continue;
		}
		if (str_same(o->ce_pw, f->ce_pw) &&
		    str_same(o->ce_rpw, f->ce_rpw) && o->ce_allow == f->ce_allow) {
			t = *o;
			*o = *f;
			*f = t;
		}
		i++;
		j++;
	}
}

int
creds_reload(struct creds *c, char *err, size_t errlen)
{
	struct creds		fresh;
	unsigned long long	upto;

	memset(&fresh, 0, sizeof(fresh));
	fresh.cr_path = c->cr_path;
	/* Before the file: what is written by then is in what load() reads. */
	upto = c->cr_w != NULL ? writer_written(c) : 0;
	if (load(c->cr_path, c->cr_owner, &fresh, err, errlen) == -1)
		return -1;
	/* Changes the writer had not put in the file yet stay. */
	if (c->cr_w != NULL && writer_replay(c, &fresh, upto) == -1) {
		ents_clear(&fresh);
		snprintf(err, errlen, "%s: out of memory", c->cr_path);
		return -1;
	}
	keep_unchanged(c, &fresh);
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
