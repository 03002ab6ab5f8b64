/*
 * demo_proc: the process and file helpers of `nabproxy demo` (demo.h).
 * Every process is started with PR_SET_PDEATHSIG, so nothing outlives the
 * demo even if it is killed; a port counts as the server's only when the
 * server's own process listens on it.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "demo.h"

unsigned short
demo_free_port(void)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	int			fd;
	unsigned short		port = 0;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return 0;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

/* Is inode among pid's socket fds? */
static int
pid_has_socket(pid_t pid, unsigned long inode)
{
	char		 path[64], link[64], want[40];
	struct dirent	*de;
	DIR		*d;
	ssize_t		 n;
	int		 found = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	snprintf(want, sizeof(want), "socket:[%lu]", inode);
	if ((d = opendir(path)) == NULL)
		return 0;
	while (!found && (de = readdir(d)) != NULL) {
		snprintf(path, sizeof(path), "/proc/%d/fd/%s", (int)pid,
		    de->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n > 0) {
			link[n] = '\0';
			found = strcmp(link, want) == 0;
		}
	}
	closedir(d);
	return found;
}

int
demo_owns_listener(pid_t pid, unsigned short port)
{
	FILE		*f;
	char		 line[512];
	unsigned	 addr, lport, state;
	unsigned long	 inode;
	int		 owned = 0;

	if ((f = fopen("/proc/net/tcp", "r")) == NULL)
		return 0;
	while (!owned && fgets(line, sizeof(line), f) != NULL) {
		/* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
		if (sscanf(line, " %*u: %8x:%4x %*x:%*x %2x %*x:%*x %*x:%*x "
		    "%*x %*u %*u %lu", &addr, &lport, &state, &inode) != 4)
			continue;
		if (state == 0x0A && lport == port &&
		    addr == htonl(INADDR_LOOPBACK))
			owned = pid_has_socket(pid, inode);
	}
	fclose(f);
	return owned;
}

pid_t
demo_spawn(const char *const argv[], const char *dir, int out_fd)
{
	pid_t	pid, parent = getpid();
	int	devnull;

	if ((pid = fork()) != 0)
		return pid;
	/* The child: nothing here returns. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != parent)
		_exit(127);
	(void)setsid();
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	if ((devnull = open("/dev/null", O_RDONLY)) == -1 ||
	    dup2(devnull, 0) == -1 || dup2(out_fd, 1) == -1 ||
	    dup2(out_fd, 2) == -1 || (dir && chdir(dir) == -1))
		_exit(127);
	execvp(argv[0], (char *const *)argv);
	fprintf(stderr, "%s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

static long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* waitpid with a deadline: status, or -2 on timeout, -1 if lost. */
static int
wait_until(pid_t pid, long deadline)
{
	int	st;
	pid_t	r;

	for (;;) {
		r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return st;
		if (r == -1 && errno != EINTR)
			return -1;
		if (now_ms() >= deadline)
			return -2;
		(void)poll(NULL, 0, 10);	/* a condition with a deadline */
	}
}

int
demo_reap(pid_t pid, int timeout_ms, int sig)
{
	int	st;

	if (pid <= 0)
		return -1;
	if ((st = wait_until(pid, now_ms() + timeout_ms)) != -2)
		return st;
	if (sig != 0) {
		(void)kill(pid, sig);
		if ((st = wait_until(pid, now_ms() + 5000)) != -2)
			return st;
	}
	(void)kill(pid, SIGKILL);
	return wait_until(pid, now_ms() + 5000);
}

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

int
demo_rmtree(const char *dir)
{
	return nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int
exe_at(char *out, size_t outlen, const char *dir, const char *rel,
    const char *name)
{
	snprintf(out, outlen, "%s%s/%s", dir, rel, name);
	return access(out, X_OK) == 0;
}

int
demo_find_exe(const char *name, char *out, size_t outlen)
{
	char		 self[PATH_MAX], *slash, *path, *p, *tok;
	ssize_t		 n;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL)
			*slash = '\0';
		if (exe_at(out, outlen, self, "", name) ||
		    exe_at(out, outlen, self, "/../bin", name))
			return 0;
	}
	if ((p = getenv("PATH")) == NULL || (path = strdup(p)) == NULL)
		return -1;
	for (tok = strtok(path, ":"); tok; tok = strtok(NULL, ":"))
		if (*tok && exe_at(out, outlen, tok, "", name)) {
			free(path);
			return 0;
		}
	free(path);
	return -1;
}

int
demo_in_path(const char *name)
{
	char	buf[PATH_MAX], *path, *p, *tok;
	int	found = 0;

	if ((p = getenv("PATH")) == NULL || (path = strdup(p)) == NULL)
		return 0;
	for (tok = strtok(path, ":"); tok && !found; tok = strtok(NULL, ":"))
		found = *tok && exe_at(buf, sizeof(buf), tok, "", name);
	free(path);
	return found;
}
