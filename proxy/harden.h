/*
 * harden: the process's own protection, applied by the daemon at start.
 *
 * No core dumps and no ptrace by others (the daemon holds plaintext
 * passwords), a file-descriptor limit that fits max-connections, safe
 * owners and modes of the state directory and the credential store, a
 * pid file, and the drop from root to `user` (optionally into `chroot`)
 * once everything that needs root is open. Each step is checked; every
 * refusal is one message saying what is wrong and what would do.
 *
 * Privilege phases, in run_daemon order: harden_nocore (any user),
 * harden_user_resolve and harden_nofile (root), harden_check_state (root,
 * before the store is read), listeners bound, harden_pidfile_write (after
 * daemon(3)), harden_drop; from then on nothing can regain root.
 */
#ifndef NAB_HARDEN_H
#define NAB_HARDEN_H

#include <sys/types.h>

#include <stddef.h>

#include "attrib.h"

struct config;

/* Who the daemon runs as after harden_drop(). */
struct harden_user {
	char	hu_name[64];	/* "" when `user` is not set */
	uid_t	hu_uid;
	gid_t	hu_gid;
	int	hu_switch;	/* 1: root now, hu_uid after the drop */
};

/*
 * File descriptors the daemon may hold at once, so that the soft
 * RLIMIT_NOFILE can be sized:
 *
 *   per connection: 2 (the rabbit, the server), + 1 with log-dir (the
 *   rabbit's own log file, open for the session);
 *   + max-probes (login probe connections);
 *   + one per listen address;
 *   + HARDEN_FD_RESERVE (stdio, log file, event loop, signal pipe, DNS
 *   sockets, a credential or pin rewrite, config and filter files read on
 *   reload, one accept that is refused when full).
 */
#define HARDEN_FD_RESERVE	32

unsigned long	harden_fds_needed(unsigned int max_connections,
		    unsigned int max_probes, size_t nlisten, int log_dir);
/* The largest max-connections whose need fits in limit (0 if none). */
unsigned long	harden_conns_fitting(unsigned long limit,
		    unsigned int max_probes, size_t nlisten, int log_dir);

/*
 * RLIMIT_CORE 0 (soft and hard) and prctl(PR_SET_DUMPABLE, 0). Returns 0,
 * or -1 with err set.
 */
int	harden_nocore(char *err, size_t errlen) NONNULL(1) WUNRES;

/*
 * Raises the soft RLIMIT_NOFILE to what cfg needs (harden_fds_needed),
 * never above the hard limit, and never lowers it. Returns 0 (it already
 * fitted), 1 (raised: err says from what to what, for the log), or -1
 * with err saying what the hard limit allows: the daemon must not start.
 */
int	harden_nofile(const struct config *cfg, char *err, size_t errlen)
	    NONNULL(1, 2) WUNRES;

/*
 * Who to run as, from `user` (cfg->user) and the effective uid euid:
 * - no user, not root: stay (hu_switch 0);
 * - no user, root: refused (set user = NAME, or user = root to stay);
 * - user = root or the euid's own name: stay;
 * - another user: as root, switch to it; otherwise refused.
 * getpwnam(3) is called here (it reads /etc/passwd: before any chroot).
 * Returns 0 with *u filled, or -1 with err set.
 */
int	harden_user_resolve(const char *user, uid_t euid,
	    struct harden_user *u, char *err, size_t errlen)
	    NONNULL(1, 3, 4) WUNRES;

/*
 * Checks where the daemon writes secrets, before it reads them:
 * state_dir must be a directory owned by u->hu_uid that group and others
 * cannot write (a missing one is created 0700 and given to the user); so
 * must the store's directory; the store itself, if it exists, a regular
 * file (not a symbolic link) owned by u->hu_uid with mode 0600 or
 * stricter. Returns 0, or -1 with err naming the path, what is wrong and
 * the command that fixes it.
 */
int	harden_check_state(const char *state_dir, const char *store,
	    const struct harden_user *u, char *err, size_t errlen)
	    NONNULL(1, 2, 3, 4) WUNRES;

/*
 * Writes pid and a newline to path atomically (a temporary file beside
 * it, mode 0644, renamed over it). Returns 0, or -1 with err set.
 */
int	harden_pidfile_write(const char *path, pid_t pid, char *err,
	    size_t errlen) NONNULL(1, 3) WUNRES;
/*
 * Removes path if it still holds pid (another instance may own it now).
 * Returns 0 (removed, or not ours), or -1 with errno set (typically
 * EACCES: the directory does not let the dropped user remove it).
 */
int	harden_pidfile_remove(const char *path, pid_t pid) NONNULL(1);

/*
 * The path that names path once the root directory is root: the rest of
 * path after root ("/" for root itself), a pointer into path, or NULL
 * when path is not below root or has a ".." component. Purely textual:
 * symbolic links are not followed. root may end in '/'.
 */
const char *harden_inside(const char *root, const char *path)
	    NONNULL(1, 2);

/*
 * chroot = DIR is possible for cfg and u: u switches from root, DIR is an
 * absolute path to a directory, and state-dir, credentials and log-dir
 * (when set) lie below it (harden_inside). Nothing to check without
 * chroot. Returns 0, or -1 with err saying what to change.
 */
int	harden_check_chroot(const struct config *cfg,
	    const struct harden_user *u, char *err, size_t errlen)
	    NONNULL(1, 2, 3) WUNRES;

/*
 * Becomes u for good when u->hu_switch (else does nothing): initgroups,
 * chroot(root) and chdir("/") when root is not "", setresgid, setresuid,
 * each checked, then verifies with getresuid and getresgid that every id
 * is the user's and that setuid(0) fails, and sets PR_SET_DUMPABLE 0
 * again (a change of ids resets it). A root without a switch is refused.
 * Returns 0, or -1 with err set: the caller must exit, the process may be
 * half-dropped.
 */
int	harden_drop(const struct harden_user *u, const char *root, char *err,
	    size_t errlen) NONNULL(1, 2, 3) WUNRES;

#endif /* NAB_HARDEN_H */
