/*
 * creds: the credential store, bare JID to password.
 *
 * One text file, one "bare-jid password" per line: the password is the
 * rest of the line after the first space, taken byte for byte. Blank
 * lines and lines whose first non-blank byte is '#' are ignored; a JID
 * appears at most once (ASCII case ignored). Lines starting with '/'
 * hold an operator's allow-register window and a rabbit-side password
 * (creds_file.c). The file is mode 0600,
 * owned by the user that runs nabproxy, and replaced atomically on every
 * change. Nothing here logs; no message ever holds a password.
 *
 * Not thread-safe; one store per process, used from one thread. Without
 * creds_async() (the command line) a change blocks for fsync(2); after
 * it (the daemon) a change is made in memory and written by a thread,
 * so the event loop never waits for the disk. Writers of one store
 * (the daemon's thread, `nabproxy credentials`) take turns through an
 * exclusive flock(2) on its directory and read the file again first.
 */
#ifndef NAB_CREDS_H
#define NAB_CREDS_H

#include <sys/types.h>

#include <stddef.h>

#include "attrib.h"

struct event_base;

#define CREDS_JID_MAX		3071	/* bytes of a bare JID (RFC 7622) */
#define CREDS_PASSWORD_MAX	1023	/* bytes of a password */
#define CREDS_FILE_MAX		(64 * 1024 * 1024)
#define CREDS_RETRY_MS		10000	/* the daemon retries a failed write */

struct creds;

/*
 * Opens the store at path and loads it. A missing file is an empty store;
 * the file is created on the first creds_put(). Refused, with the path in
 * err: a file group or others may access, one another user owns, a
 * symbolic link, anything but a regular file, and a malformed line
 * ("path:line: ..."). Returns the store, owned by the caller until
 * creds_close(), or NULL with err set.
 */
struct creds	*creds_open(const char *path, char *err, size_t errlen)
		    NONNULL(1, 2) WUNRES;
/*
 * creds_open(), but the file must belong to owner rather than to the
 * effective uid: the daemon reads the store as root, before it drops to
 * `user`, who owns the store and rewrites it later. creds_reload() and
 * the re-read before a rewrite check the same owner.
 */
struct creds	*creds_open_owner(const char *path, uid_t owner, char *err,
		    size_t errlen) NONNULL(1, 3) WUNRES;

/* Wipes every password with explicit_bzero and frees c. NULL is fine. */
void		 creds_close(struct creds *c);

/*
 * Password of bare_jid (ASCII case ignored), or NULL if there is none or
 * bare_jid is not a valid bare JID. The pointer is borrowed: valid until
 * the next creds_put, creds_remove or creds_close, or a creds_reload
 * that found this entry changed.
 */
const char	*creds_get(const struct creds *c, const char *bare_jid)
		    NONNULL(1, 2);

/*
 * Sets the (server's) password of jid, stored in ASCII lower case, drops
 * a rabbit-side password and a window jid had, and rewrites the
 * file at once: temporary file (O_EXCL, 0600) in the same directory,
 * fsync, rename over the store, fsync of the directory. The file is read
 * again first (when it can be), so what another process (`nabproxy
 * credentials`) changed since c read it is kept. jid must be a bare JID:
 * no white space or control bytes, no '/', not starting with '#'. The
 * password must be 1..CREDS_PASSWORD_MAX bytes without '\n'.
 * After creds_async(), 0 means done in memory and queued for the file
 * (the callback tells how writing went), -1 out of memory.
 * Returns:
 *   0	done, on disk and in memory;
 *   1	done, but fsync of the directory failed (err says so): the new
 *	file is in place and c holds it, but a crash may bring back the
 *	old one;
 *  -1	nothing changed on disk, nor in memory but for that re-read;
 *	err says why.
 * Borrowed pointers from creds_get() are invalid after the call.
 */
int		 creds_put(struct creds *c, const char *jid,
		    const char *password, char *err, size_t errlen)
		    NONNULL(1, 2, 3, 4) WUNRES;

/*
 * Removes jid and rewrites the file as creds_put() does. Returns 0 or 1
 * as creds_put(), 2 if jid was not there (nothing written), or -1 with
 * nothing changed.
 */
int		 creds_remove(struct creds *c, const char *jid, char *err,
		    size_t errlen) NONNULL(1, 2, 3) WUNRES;

/*
 * The password the rabbit proves itself with for bare_jid: the one the
 * rabbit registered in an operator's allow-register window, else the
 * server's (creds_get). NULL and borrowed as for creds_get.
 */
const char	*creds_get_rabbit(const struct creds *c, const char *bare_jid)
		    NONNULL(1, 2);

/*
 * The end of jid's allow-register window (seconds since the epoch; a
 * window is open while now < end), or 0 if none was opened.
 */
long long	 creds_window(const struct creds *c, const char *bare_jid)
		    NONNULL(1, 2);

/*
 * Opens (until > 0) or closes (0) jid's allow-register window and
 * rewrites the file as creds_put() does. jid must have a password in the
 * store: the server's, which nabproxy keeps using upstream. Returns as
 * creds_put().
 */
int		 creds_allow_register(struct creds *c, const char *jid,
		    long long until, char *err, size_t errlen)
		    NONNULL(1, 2, 4) WUNRES;

/*
 * Sets the rabbit's own password for jid, if jid's allow-register window
 * is open at `now`, and closes the window (it is good for one
 * registration); rewrites the file as creds_put() does. The server's
 * password is kept. Returns as creds_put(); -1 if no window is open.
 * creds_put() on jid later drops the rabbit's password: the two are one
 * again.
 */
int		 creds_put_rabbit(struct creds *c, const char *jid,
		    const char *password, long long now, char *err,
		    size_t errlen) NONNULL(1, 2, 3, 5) WUNRES;

/*
 * Reads the file again (on SIGHUP) with the checks of creds_open().
 * Returns 0 with the new content, or -1 with err set and the old content
 * kept.
 */
int		 creds_reload(struct creds *c, char *err, size_t errlen)
		    NONNULL(1, 2) WUNRES;

/*
 * For listing: the number of JIDs, and the i-th JID in sorted order
 * (borrowed as for creds_get; NULL if i is out of range). There is
 * deliberately no way to iterate over passwords.
 */
size_t		 creds_count(const struct creds *c) NONNULL(1);
const char	*creds_jid(const struct creds *c, size_t i) NONNULL(1);

/*
 * How a background write went, on the loop thread: rc 0 (nops changes
 * written), 1 (written but the directory's fsync failed), -1 (not
 * written: err says why; the changes stay in memory and are tried again
 * after retry_ms), or -2 at creds_close() for changes that could not be
 * written and are lost. err never holds a password.
 */
typedef void creds_written_cb(void *arg, int rc, size_t nops,
    const char *err);
/*
 * From now on, changes go to the file through a writer thread whose
 * results come back on base's loop (see creds_written_cb);
 * creds_close() writes what is still queued first. 0, or -1 with err
 * set (the store keeps writing synchronously).
 */
int		 creds_async(struct creds *c, struct event_base *base,
		    unsigned retry_ms, creds_written_cb *cb, void *arg,
		    char *err, size_t errlen) NONNULL(1, 2, 6) WUNRES;
/* Changes made in memory and not yet written to the file. */
size_t		 creds_unwritten(const struct creds *c) NONNULL(1);

/* The path given to creds_open(). */
const char	*creds_path(const struct creds *c) NONNULL(1);

#endif /* NAB_CREDS_H */
