/*
 * harden: owns the process-level protections of the daemon (no core
 * dumps, the descriptor limit, the owners and modes of the state it
 * writes, the pid file, the drop from root). It promises that every step
 * is checked and that a refusal says what to change; it logs nothing
 * itself (the caller does, with the message it gets back) and never
 * touches the network or the event loop.
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "harden.h"

static int	dir_check(const char *, const struct harden_user *, char *,
		    size_t);
static int	drop_verify(const struct harden_user *, char *, size_t);

unsigned long
harden_fds_needed(unsigned int max_connections, unsigned int max_probes,
    size_t nlisten, int log_dir)
{
	return (unsigned long)max_connections * (log_dir ? 3 : 2) +
	    max_probes + nlisten + HARDEN_FD_RESERVE;
}

unsigned long
harden_conns_fitting(unsigned long limit, unsigned int max_probes,
    size_t nlisten, int log_dir)
{
	unsigned long	fixed = max_probes + nlisten + HARDEN_FD_RESERVE;

	if (limit <= fixed)
		return 0;
	return (limit - fixed) / (log_dir ? 3 : 2);
}

/* No ptrace and no core by processes of the same user. */
static int
undumpable(char *err, size_t errlen)
{
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1) {
		snprintf(err, errlen, "prctl(PR_SET_DUMPABLE, 0): %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
harden_nocore(char *err, size_t errlen)
{
	struct rlimit	rl = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &rl) == -1) {
		snprintf(err, errlen, "setrlimit(RLIMIT_CORE, 0): %s",
		    strerror(errno));
		return -1;
	}
	if (undumpable(err, errlen) == -1)
		return -1;
	return 0;
}

int
harden_nofile(const struct config *cfg, char *err, size_t errlen)
{
	struct rlimit	rl;
	unsigned long	need, fit;
	int		ld = cfg->log_dir != NULL && cfg->log_dir[0] != '\0';

	need = harden_fds_needed(cfg->max_connections, cfg->max_probes,
	    cfg->nlisten, ld);
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		snprintf(err, errlen, "getrlimit(RLIMIT_NOFILE): %s",
		    strerror(errno));
		return -1;
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
		return 0;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
		fit = harden_conns_fitting(rl.rlim_max, cfg->max_probes,
		    cfg->nlisten, ld);
		snprintf(err, errlen, "max-connections = %u needs %lu file"
		    " descriptors (%d per connection%s, %u probes, %zu"
		    " listeners, %d reserved) but the hard limit"
		    " (RLIMIT_NOFILE) is %lu: raise it (ulimit -Hn %lu,"
		    " systemd LimitNOFILE=%lu) or set max-connections = %lu"
		    " or less", cfg->max_connections, need, ld ? 3 : 2,
		    ld ? " with log-dir" : "", cfg->max_probes, cfg->nlisten,
		    HARDEN_FD_RESERVE, (unsigned long)rl.rlim_max, need, need,
		    fit);
		if (fit == 0)
			snprintf(err, errlen, "the hard file descriptor limit"
			    " (RLIMIT_NOFILE) is %lu: not even one connection"
			    " fits (max-connections = 1 needs %lu): raise it"
			    " (ulimit -Hn, systemd LimitNOFILE=)",
			    (unsigned long)rl.rlim_max, harden_fds_needed(1,
			    cfg->max_probes, cfg->nlisten, ld));
		return -1;
	}
	snprintf(err, errlen, "file descriptor limit raised from %lu to %lu"
	    " for max-connections = %u", (unsigned long)rl.rlim_cur, need,
	    cfg->max_connections);
	rl.rlim_cur = need;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
		snprintf(err, errlen, "setrlimit(RLIMIT_NOFILE, %lu): %s",
		    need, strerror(errno));
		return -1;
	}
	return 1;
}

int
harden_user_resolve(const char *user, uid_t euid, struct harden_user *u,
    char *err, size_t errlen)
{
	struct passwd	*pw;

	memset(u, 0, sizeof(*u));
	u->hu_uid = euid;
	u->hu_gid = getegid();
	if (*user == '\0') {
		if (euid != 0)
			return 0;
		snprintf(err, errlen, "running as root: set user = NAME (an"
		    " unprivileged account, e.g. nabproxy) so that nabproxy"
		    " drops root once its sockets and files are open, or"
		    " user = root to keep root (not advised)");
		return -1;
	}
	if (strlen(user) >= sizeof(u->hu_name)) {
		snprintf(err, errlen, "user = %.64s...: name too long", user);
		return -1;
	}
	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		snprintf(err, errlen, "user = %s: %s", user, errno ?
		    strerror(errno) : "no such user (create it, e.g. adduser"
		    " --system --group --no-create-home nabproxy)");
		return -1;
	}
	snprintf(u->hu_name, sizeof(u->hu_name), "%s", user);
	if (pw->pw_uid == euid)
		return 0;
	if (euid != 0) {
		snprintf(err, errlen, "user = %s: cannot switch to uid %u:"
		    " nabproxy runs as uid %u, not root (start it as root or"
		    " as %s)", user, (unsigned int)pw->pw_uid,
		    (unsigned int)euid, user);
		return -1;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "user = %s: uid 0 is root; write"
		    " user = root to keep root", user);
		return -1;
	}
	u->hu_uid = pw->pw_uid;
	u->hu_gid = pw->pw_gid;
	u->hu_switch = 1;
	return 0;
}

/*
 * dir must be a directory owned by u that group and others cannot write;
 * a missing one is made 0700 and given to u. Returns 0 or -1 with err.
 */
static int
dir_check(const char *dir, const struct harden_user *u, char *err,
    size_t errlen)
{
	struct stat	st;

	if (stat(dir, &st) == -1 && errno == ENOENT) {
		if (mkdir(dir, 0700) == -1 || (u->hu_switch &&
		    chown(dir, u->hu_uid, u->hu_gid) == -1)) {
			snprintf(err, errlen, "%s: cannot create it: %s", dir,
			    strerror(errno));
			return -1;
		}
		return 0;
	}
	if (stat(dir, &st) == -1) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: not a directory", dir);
		return -1;
	}
	if (st.st_uid != u->hu_uid) {
		snprintf(err, errlen, "%s: owned by uid %u, refused: nabproxy"
		    " writes its secrets here as uid %u (chown %u %s)", dir,
		    (unsigned int)st.st_uid, (unsigned int)u->hu_uid,
		    (unsigned int)u->hu_uid, dir);
		return -1;
	}
	if (st.st_mode & 022) {
		snprintf(err, errlen, "%s: mode %04o lets group or others"
		    " write, refused (chmod 700 %s)", dir,
		    (unsigned int)(st.st_mode & 07777), dir);
		return -1;
	}
	return 0;
}

int
harden_check_state(const char *state_dir, const char *store,
    const struct harden_user *u, char *err, size_t errlen)
{
	struct stat	 st;
	char		 sdir[PATH_MAX];
	const char	*slash;

	if (*state_dir != '\0' && dir_check(state_dir, u, err, errlen) == -1)
		return -1;
	if ((slash = strrchr(store, '/')) != NULL) {
		snprintf(sdir, sizeof(sdir), "%.*s", slash == store ? 1 :
		    (int)(slash - store), store);
		if (dir_check(sdir, u, err, errlen) == -1)
			return -1;
	}
	if (lstat(store, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", store, strerror(errno));
		return -1;
	}
	if (S_ISLNK(st.st_mode) || !S_ISREG(st.st_mode))
		snprintf(err, errlen, "%s: %s, refused: the credential store"
		    " must be a regular file", store, S_ISLNK(st.st_mode) ?
		    "a symbolic link" : "not a regular file");
	else if (st.st_uid != u->hu_uid)
		snprintf(err, errlen, "%s: owned by uid %u, refused: it must"
		    " belong to uid %u, which runs nabproxy (chown %u %s)",
		    store, (unsigned int)st.st_uid, (unsigned int)u->hu_uid,
		    (unsigned int)u->hu_uid, store);
	else if (st.st_mode & 077)
		snprintf(err, errlen, "%s: mode %04o gives group or others"
		    " access to passwords, refused (chmod 600 %s)", store,
		    (unsigned int)(st.st_mode & 07777), store);
	else
		return 0;
	return -1;
}

int
harden_pidfile_write(const char *path, pid_t pid, char *err, size_t errlen)
{
	char	tmp[PATH_MAX], buf[32];
	int	fd, n;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >=
	    sizeof(tmp)) {
		snprintf(err, errlen, "pid-file %s: path too long", path);
		return -1;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "pid-file %s: %s", path, strerror(errno));
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)pid);
	if (fchmod(fd, 0644) == -1 || write(fd, buf, (size_t)n) != n ||
	    close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	if (rename(tmp, path) == -1)
		goto fail;
	return 0;
 fail:
	snprintf(err, errlen, "pid-file %s: %s", path, strerror(errno));
	if (fd != -1)
		close(fd);
	unlink(tmp);
	return -1;
}

int
harden_pidfile_remove(const char *path, pid_t pid)
{
	char	buf[32];
	ssize_t	n;
	int	fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return errno == ENOENT ? 0 : -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if (strtol(buf, NULL, 10) != (long)pid)
		return 0;
	return unlink(path) == -1 ? -1 : 0;
}

const char *
harden_inside(const char *root, const char *path)
{
	size_t	n = strlen(root);
	const char	*p;

	while (n > 1 && root[n - 1] == '/')
		n--;
	if (root[0] != '/' || strncmp(root, path, n) != 0)
		return NULL;
	p = n == 1 ? path : path + n;
	if (*p != '/' && *p != '\0')
		return NULL;
	if (strstr(p, "/../") != NULL || (strlen(p) >= 3 &&
	    strcmp(p + strlen(p) - 3, "/..") == 0))
		return NULL;
	return *p == '\0' ? "/" : p;
}

int
harden_check_chroot(const struct config *cfg, const struct harden_user *u,
    char *err, size_t errlen)
{
	const char	*root = cfg->chroot_dir, *what[3], *path[3];
	struct stat	 st;
	size_t		 i;

	if (*root == '\0')
		return 0;
	if (!u->hu_switch) {
		snprintf(err, errlen, "chroot = %s needs nabproxy started as root"
		    " with user = NAME, an account other than root", root);
		return -1;
	}
	if (root[0] != '/') {
		snprintf(err, errlen, "chroot = %s: not an absolute path", root);
		return -1;
	}
	if (stat(root, &st) == -1) {
		snprintf(err, errlen, "chroot = %s: %s", root, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "chroot = %s: not a directory", root);
		return -1;
	}
	what[0] = "state-dir", path[0] = cfg->state_dir;
	what[1] = "credentials", path[1] = cfg->credentials;
	what[2] = "log-dir", path[2] = cfg->log_dir;
	for (i = 0; i < 3; i++)
		if (*path[i] != '\0' && harden_inside(root, path[i]) == NULL) {
			snprintf(err, errlen, "%s = %s is not below chroot = %s:"
			    " nabproxy writes it after the chroot, so it must"
			    " be inside (written as %s/...)", what[i], path[i],
			    root, root);
			return -1;
		}
	return 0;
}

/* After setresuid: every id is the user's and root cannot come back. */
static int
drop_verify(const struct harden_user *u, char *err, size_t errlen)
{
	uid_t	ru, eu, su;
	gid_t	rg, eg, sg;

	if (getresuid(&ru, &eu, &su) == -1 || getresgid(&rg, &eg, &sg) == -1) {
		snprintf(err, errlen, "getresuid: %s", strerror(errno));
		return -1;
	}
	if (ru != u->hu_uid || eu != u->hu_uid || su != u->hu_uid ||
	    rg != u->hu_gid || eg != u->hu_gid || sg != u->hu_gid) {
		snprintf(err, errlen, "after the drop the ids are uid %u/%u/%u"
		    " gid %u/%u/%u, not %u and %u", (unsigned int)ru,
		    (unsigned int)eu, (unsigned int)su, (unsigned int)rg,
		    (unsigned int)eg, (unsigned int)sg,
		    (unsigned int)u->hu_uid, (unsigned int)u->hu_gid);
		return -1;
	}
	if (setuid(0) != -1 || seteuid(0) != -1) {
		snprintf(err, errlen, "root could be regained after the drop");
		return -1;
	}
	return 0;
}

int
harden_drop(const struct harden_user *u, const char *root, char *err,
    size_t errlen)
{
	if (!u->hu_switch && *root != '\0') {
		snprintf(err, errlen, "chroot %s needs root and user = NAME, an"
		    " account other than root", root);
		return -1;
	}
	if (!u->hu_switch)
		return 0;
	if (initgroups(u->hu_name, u->hu_gid) == -1) {
		snprintf(err, errlen, "initgroups(%s): %s", u->hu_name,
		    strerror(errno));
		return -1;
	}
	if (*root != '\0' && (chroot(root) == -1 || chdir("/") == -1)) {
		snprintf(err, errlen, "chroot %s: %s", root, strerror(errno));
		return -1;
	}
	if (setresgid(u->hu_gid, u->hu_gid, u->hu_gid) == -1) {
		snprintf(err, errlen, "setresgid(%u): %s",
		    (unsigned int)u->hu_gid, strerror(errno));
		return -1;
	}
	if (setresuid(u->hu_uid, u->hu_uid, u->hu_uid) == -1) {
		snprintf(err, errlen, "setresuid(%u): %s",
		    (unsigned int)u->hu_uid, strerror(errno));
		return -1;
	}
	if (drop_verify(u, err, errlen) == -1)
		return -1;
	/* A change of ids resets it to fs.suid_dumpable: set it again. */
	if (undumpable(err, errlen) == -1)
		return -1;
	return 0;
}
