/*
 * ctl_client: `nabproxy ctl`, the command-line side of the control socket.
 * It finds the socket (-s, or the configuration's control-socket), sends
 * one command line, and copies the answer to standard output until the
 * daemon closes (a tap: until interrupted). An "error: " answer goes to
 * standard error and the exit status is 1; no daemon there is status 1
 * too; a usage error is 2.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chain.h"
#include "config.h"
#include "ctl.h"
#include "main-int.h"

static int	ctl_connect(const char *);
static int	ctl_copy(int);
static int	ctl_socket_of(const char *, char *, size_t);

/* The socket the configuration names; 0, or -1 after printing why. */
static int
ctl_socket_of(const char *conf, char *path, size_t len)
{
	struct config_errors	 errs;
	struct config		*cfg;
	size_t			 i;
	int			 rc = 0;

	config_errors_init(&errs);
	if ((cfg = config_load(conf, chain_builtin_names(), &errs)) == NULL) {
		for (i = 0; i < errs.ce_count; i++)
			fprintf(stderr, "%s\n", errs.ce_msg[i]);
		config_errors_free(&errs);
		return -1;
	}
	config_errors_free(&errs);
	if (ctl_path(cfg->control_socket, cfg->state_dir, path, len) == -1 ||
	    path[0] == '\0') {
		fprintf(stderr, "nabproxy ctl: %s has no control socket "
		    "(control-socket = none, or too long)\n", conf);
		rc = -1;
	}
	config_free(cfg);
	return rc;
}

static int
ctl_connect(const char *path)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "nabproxy ctl: %s: path too long\n", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		fprintf(stderr, "nabproxy ctl: %s: %s (is nabproxy running?)\n",
		    path, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

/* Copy the answer out; 0, or 1 when the daemon answered an error. */
static int
ctl_copy(int fd)
{
	char	buf[16384];
	ssize_t	n;
	size_t	off;
	int	first = 1, err = 0;
	FILE	*to = stdout;

	for (;;) {
		if ((n = read(fd, buf, sizeof(buf))) == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (first) {
			first = 0;
			if ((size_t)n >= 7 && memcmp(buf, "error: ", 7) == 0) {
				err = 1;
				to = stderr;
			}
		}
		off = fwrite(buf, 1, (size_t)n, to);
		if (off < (size_t)n)
			break;
		fflush(to);
	}
	return err;
}

int
cmd_ctl(int argc, char **argv)
{
	const char	*conf = NAB_DEFAULT_CONF, *sock = NULL, *fmt = NULL;
	char		 path[128], line[CTL_LINE_MAX + 2];
	size_t		 len = 0;
	int		 a, fd, rc, json = 0, nwords = 0;

	for (a = 1; a < argc; a++) {
		if ((strcmp(argv[a], "-c") == 0 ||
		    strcmp(argv[a], "--config") == 0) && a + 1 < argc)
			conf = argv[++a];
		else if ((strcmp(argv[a], "-s") == 0 ||
		    strcmp(argv[a], "--socket") == 0) && a + 1 < argc)
			sock = argv[++a];
		else if (strcmp(argv[a], "--format") == 0 && a + 1 < argc)
			fmt = argv[++a];
		else if (strcmp(argv[a], "--json") == 0)
			json = 1;
		else if (argv[a][0] == '-')
			errx_usage("ctl: unknown option '%s'", argv[a]);
		else {
			rc = snprintf(line + len, sizeof(line) - len, "%s%s",
			    nwords++ ? " " : "", argv[a]);
			if (rc < 0 || (size_t)rc >= sizeof(line) - len)
				errx_usage("ctl: command too long");
			len += (size_t)rc;
		}
	}
	if (nwords == 0)
		errx_usage("ctl: which command? list [--json], history [MAC] "
		    "[--json], tap all|ID|MAC [--format vm|raw|both], kick ID, "
		    "stats, reload");
	rc = snprintf(line + len, sizeof(line) - len, "%s%s%s\n",
	    fmt ? " " : "", fmt ? fmt : "", json ? " --json" : "");
	if (rc < 0 || (size_t)rc >= sizeof(line) - len)
		errx_usage("ctl: command too long");
	len += (size_t)rc;
	if (sock != NULL)
		snprintf(path, sizeof(path), "%s", sock);
	else if (ctl_socket_of(conf, path, sizeof(path)) == -1)
		return 1;
	if ((fd = ctl_connect(path)) == -1)
		return 1;
	if (write(fd, line, len) != (ssize_t)len) {
		fprintf(stderr, "nabproxy ctl: %s: write: %s\n", path,
		    strerror(errno));
		close(fd);
		return 1;
	}
	rc = ctl_copy(fd);
	close(fd);
	return rc;
}
