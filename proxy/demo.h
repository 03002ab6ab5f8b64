/*
 * demo: `nabproxy demo`, and `nabproxy` with no upstream. Starts a
 * throwaway Prosody on a free loopback port (config and data in a temp
 * dir), this nabproxy in front of it (a forked child running the daemon,
 * profile auto), and the installed nabrabbit through it, the seed
 * simulator then bootcode 18673; shows the [vm] log and prints the
 * verdict. On every exit path it kills only the processes it started and
 * removes its temp dir. Runs nothing from the source tree.
 *
 * demo_proc.c holds its process and file helpers.
 */
#ifndef NAB_DEMO_H
#define NAB_DEMO_H

#include <stddef.h>
#include <sys/types.h>

#include "attrib.h"

struct config;

/*
 * Runs the demo on cfg's profiles and filters (cfg NULL: the built-in
 * profiles of demo_builtin_conf). Takes cfg. Returns the exit status:
 * 0 if both rabbits reached idle, 1 if not or if Prosody is missing.
 */
int	demo_run(struct config *cfg);

/*
 * The config the demo uses when no file is there (an uninstalled binary):
 * the two profiles of etc/profiles, which test_demo compares with them.
 * Written into dir/nabproxy.conf; returns 0 or -1 (errno).
 */
int	demo_write_builtin_conf(const char *path);
/*
 * Prosody's config for the demo: c2s only, on 127.0.0.1:port, domain
 * `domain`, everything in dir. Returns the length written into out or
 * -1 if it does not fit.
 */
int	demo_prosody_conf(char *out, size_t outlen, const char *dir,
	    unsigned short port, const char *domain);
/*
 * From one nabrabbit JSON line: whether it reached idle (1/0, -1 if the
 * line is not a rabbit's), its jid and, if it failed, the step and the
 * reason (each NUL-terminated, truncated).
 */
int	demo_rabbit_verdict(const char *line, char *jid, size_t jidlen,
	    char *step, size_t steplen, char *reason, size_t reasonlen);

/* demo_proc.c */
/* A free TCP port on 127.0.0.1 now (bind to 0); 0 if none. */
unsigned short	demo_free_port(void);
/*
 * 1 if process pid has a TCP socket listening on 127.0.0.1:port (its
 * /proc/PID/fd inodes against /proc/net/tcp), else 0: the port is ours
 * only if our own child holds it.
 */
int		demo_owns_listener(pid_t pid, unsigned short port);
/*
 * fork and exec argv (PATH searched) in dir, stdin from /dev/null,
 * stdout and stderr to out_fd, its own session (so a terminal's ^C
 * reaches only us) and SIGKILL when we die. Returns the pid or -1.
 */
pid_t		demo_spawn(const char *const argv[], const char *dir,
		    int out_fd);
/*
 * Wait up to timeout_ms for pid; on timeout send sig (0: none) and wait
 * again up to 5 s, then SIGKILL. Returns the wait status, -1 if lost.
 */
int		demo_reap(pid_t pid, int timeout_ms, int sig);
/* Remove dir and everything under it (not following links); 0 or -1. */
int		demo_rmtree(const char *dir);
/*
 * The program `name` next to this executable, in ../bin from it, or in
 * PATH, in that order, into out. Returns 0, or -1 if none is executable.
 */
int		demo_find_exe(const char *name, char *out, size_t outlen);
/* 1 if name is an executable in PATH. */
int		demo_in_path(const char *name);

#endif /* NAB_DEMO_H */
