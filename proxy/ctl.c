/*
 * ctl: the control socket's server side. It owns the listening unix
 * socket and one bufferevent per client; the registry (ctlreg.c) owns
 * what is reported. Every client is bounded in count, command length and
 * time, and a tap client's queue in bytes (see ctl.h).
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "creds.h"
#include "ctl.h"
#include "ctlreg.h"
#include "log.h"
#include "proxy.h"

struct ctl_client {
	TAILQ_ENTRY(ctl_client)	 entry;
	struct ctl		*ctl;
	struct bufferevent	*bev;
	struct ctltap		*tap;
	unsigned long long	 lost;		/* tap lines not queued */
	int			 closing;	/* answer sent: close when flushed */
};
TAILQ_HEAD(ctl_clients, ctl_client);

struct ctl {
	struct proxy		*px;
	struct ctlreg		*reg;
	struct evconnlistener	*lev;
	struct ctl_clients	 clients;
	unsigned		 nclients;
	ctl_reload_fn		*reload;
	void			*reload_arg;
	char			 path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	unsigned long long	 lost;		/* all taps */
	unsigned long long	 refused;
};

static void	ctl_accept(struct evconnlistener *, evutil_socket_t,
		    struct sockaddr *, int, void *);
static void	ctl_read(struct bufferevent *, void *);
static void	ctl_write(struct bufferevent *, void *);
static void	ctl_event(struct bufferevent *, short, void *);
static void	ctl_drop(struct ctl_client *);
static void	ctl_answer(struct ctl_client *, struct evbuffer *);
static void	ctl_command(struct ctl_client *, char *);
static void	ctl_tap_cmd(struct ctl_client *, char **, int);
static void	ctl_tap_sink(void *, const char *, size_t);
static size_t	ctl_count_lines(const char *, size_t);
static int	ctl_bind(const char *, char *, size_t);

int
ctl_path(const char *control_socket, const char *state_dir, char *path,
    size_t len)
{
	size_t	n = strlen(state_dir);
	int	w;

	if (control_socket != NULL && strcmp(control_socket, "none") == 0) {
		if (len > 0)
			path[0] = '\0';
		return 0;
	}
	if (control_socket != NULL && *control_socket != '\0')
		w = snprintf(path, len, "%s", control_socket);
	else
		w = snprintf(path, len, "%s%s%s", state_dir,
		    n > 0 && state_dir[n - 1] == '/' ? "" : "/",
		    CTL_SOCK_NAME);
	return w < 0 || (size_t)w >= len ? -1 : 0;
}

/* A bound, listening, 0660 socket at path: the fd, or -1 with err. */
static int
ctl_bind(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un	 sun;
	struct stat		 sb;
	mode_t			 old;
	int			 fd, probe;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "control-socket %s: path too long (at "
		    "most %zu bytes)", path, sizeof(sun.sun_path) - 1);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (lstat(path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode)) {
			snprintf(err, errlen, "control-socket %s: exists and "
			    "is not a socket", path);
			return -1;
		}
		/* Another daemon answering there keeps its socket. */
		if ((probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) !=
		    -1 && connect(probe, (struct sockaddr *)&sun,
		    sizeof(sun)) == 0) {
			close(probe);
			snprintf(err, errlen, "control-socket %s: another "
			    "nabproxy is listening there", path);
			return -1;
		}
		if (probe != -1)
			close(probe);
		unlink(path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1) {
		snprintf(err, errlen, "control-socket: socket: %s",
		    strerror(errno));
		return -1;
	}
	old = umask(0117);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		umask(old);
		snprintf(err, errlen, "control-socket %s: bind: %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	umask(old);
	if (chmod(path, 0660) == -1 || listen(fd, 16) == -1) {
		snprintf(err, errlen, "control-socket %s: %s", path,
		    strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	return fd;
}

struct ctl *
ctl_new(struct proxy *px, struct ctlreg *reg, const char *path,
    ctl_reload_fn *reload, void *arg, char *err, size_t errlen)
{
	struct ctl	*c;
	int		 fd;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->px = px;
	c->reg = reg;
	c->reload = reload;
	c->reload_arg = arg;
	TAILQ_INIT(&c->clients);
	snprintf(c->path, sizeof(c->path), "%s", path);
	if ((fd = ctl_bind(path, err, errlen)) == -1) {
		free(c);
		return NULL;
	}
	if ((c->lev = evconnlistener_new(px->base, ctl_accept, c,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd)) == NULL) {
		snprintf(err, errlen, "control-socket %s: out of memory", path);
		close(fd);
		unlink(path);
		free(c);
		return NULL;
	}
	return c;
}

void
ctl_free(struct ctl *c)
{
	struct ctl_client	*cl;

	if (c == NULL)
		return;
	while ((cl = TAILQ_FIRST(&c->clients)) != NULL)
		ctl_drop(cl);
	evconnlistener_free(c->lev);
	unlink(c->path);
	free(c);
}

static void
ctl_accept(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	static const char	 full[] = "error: too many control clients\n";
	struct ctl		*c = arg;
	struct ctl_client	*cl;
	struct timeval		 tv = { CTL_CMD_TIMEOUT, 0 };

	if (c->nclients >= CTL_MAX_CLIENTS ||
	    (cl = calloc(1, sizeof(*cl))) == NULL) {
		c->refused++;
		/* Best effort on a fresh socket: its buffer is empty. */
		(void)!write(fd, full, sizeof(full) - 1);
		close(fd);
		return;
	}
	cl->ctl = c;
	if ((cl->bev = bufferevent_socket_new(c->px->base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		close(fd);
		free(cl);
		return;
	}
	TAILQ_INSERT_TAIL(&c->clients, cl, entry);
	c->nclients++;
	bufferevent_setcb(cl->bev, ctl_read, ctl_write, ctl_event, cl);
	bufferevent_set_timeouts(cl->bev, &tv, NULL);
	bufferevent_enable(cl->bev, EV_READ);
}

static void
ctl_drop(struct ctl_client *cl)
{
	struct ctl	*c = cl->ctl;

	ctlreg_untap(c->reg, cl->tap);
	cl->tap = NULL;
	TAILQ_REMOVE(&c->clients, cl, entry);
	c->nclients--;
	bufferevent_free(cl->bev);
	free(cl);
}

/* Queue an answer and close once it is written. */
static void
ctl_answer(struct ctl_client *cl, struct evbuffer *ans)
{
	cl->closing = 1;
	bufferevent_disable(cl->bev, EV_READ);
	if (bufferevent_write_buffer(cl->bev, ans) == -1 ||
	    evbuffer_get_length(bufferevent_get_output(cl->bev)) == 0)
		ctl_drop(cl);
}

static void
ctl_read(struct bufferevent *bev, void *arg)
{
	struct ctl_client	*cl = arg;
	struct evbuffer		*in = bufferevent_get_input(bev), *ans;
	char			*line;
	size_t			 n;

	if (cl->tap != NULL) {
		/* A tap reader has nothing more to say: ignore, bounded. */
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	line = evbuffer_readln(in, &n, EVBUFFER_EOL_LF);
	if (line == NULL && evbuffer_get_length(in) <= CTL_LINE_MAX)
		return;
	if (line == NULL || n > CTL_LINE_MAX) {
		free(line);
		if ((ans = evbuffer_new()) != NULL) {
			evbuffer_add_printf(ans, "error: command longer than "
			    "%d bytes\n", CTL_LINE_MAX);
			ctl_answer(cl, ans);
			evbuffer_free(ans);
		} else
			ctl_drop(cl);
		return;
	}
	ctl_command(cl, line);
	free(line);
}

static void
ctl_write(struct bufferevent *bev, void *arg)
{
	struct ctl_client	*cl = arg;
	char			 note[96];

	if (cl->closing) {
		ctl_drop(cl);
		return;
	}
	if (cl->lost > 0) {
		snprintf(note, sizeof(note), "nabproxy: tap: %llu lines lost "
		    "(reader too slow)\n", cl->lost);
		if (bufferevent_write(bev, note, strlen(note)) == 0)
			cl->lost = 0;
	}
}

/*
 * EOF from a client that half-closed after its command (`echo list | nc
 * -U`): an answer being written still goes out, and a last line without
 * its newline is still a command. Errors and timeouts end the client.
 */
static void
ctl_event(struct bufferevent *bev, short what, void *arg)
{
	struct ctl_client	*cl = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	char			 line[CTL_LINE_MAX + 1];
	size_t			 n = evbuffer_get_length(in);

	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) &&
	    cl->tap == NULL) {
		if (cl->closing) {
			bufferevent_disable(bev, EV_READ);
			return;
		}
		if (n > 0 && n <= CTL_LINE_MAX) {
			evbuffer_remove(in, line, n);
			line[n] = '\0';
			ctl_command(cl, line);
			return;
		}
	}
	ctl_drop(cl);
}

static size_t
ctl_count_lines(const char *s, size_t n)
{
	size_t	k = 0;

	while (n > 0) {
		const char *nl = memchr(s, '\n', n);
		k++;
		if (nl == NULL)
			break;
		n -= (size_t)(nl + 1 - s);
		s = nl + 1;
	}
	return k;
}

/* Rendered tap lines: queued whole, or lost and counted. */
static void
ctl_tap_sink(void *arg, const char *lines, size_t len)
{
	struct ctl_client	*cl = arg;
	struct evbuffer		*out = bufferevent_get_output(cl->bev);
	size_t			 k;

	if (evbuffer_get_length(out) + len > CTL_TAP_BUF ||
	    (cl->lost > 0 && evbuffer_get_length(out) > 0) ||
	    evbuffer_add(out, lines, len) == -1) {
		k = ctl_count_lines(lines, len);
		cl->lost += k;
		cl->ctl->lost += k;
	}
}

static void
ctl_tap_cmd(struct ctl_client *cl, char **w, int nw)
{
	struct evbuffer	*ans;
	char		 err[128];
	int		 fmt = LOGFMT_VM;

	err[0] = '\0';
	if (nw == 3 && strcmp(w[2], "raw") == 0)
		fmt = LOGFMT_RAW;
	else if (nw == 3 && strcmp(w[2], "both") == 0)
		fmt = LOGFMT_BOTH;
	else if (nw == 3 && strcmp(w[2], "vm") != 0)
		snprintf(err, sizeof(err), "tap: format is vm, raw or both");
	if (nw < 2 || nw > 3)
		snprintf(err, sizeof(err), "usage: tap all|ID|MAC "
		    "[vm|raw|both]");
	/* No command timeout from here on: a tap lasts. */
	bufferevent_set_timeouts(cl->bev, NULL, NULL);
	if (err[0] == '\0')
		cl->tap = ctlreg_tap(cl->ctl->reg, w[1], fmt, ctl_tap_sink, cl,
		    err, sizeof(err));
	if (cl->tap != NULL)
		return;
	if ((ans = evbuffer_new()) == NULL) {
		ctl_drop(cl);
		return;
	}
	evbuffer_add_printf(ans, "error: %s\n", err);
	ctl_answer(cl, ans);
	evbuffer_free(ans);
}

/* One command line from a client: answer it (or start its tap). */
static void
ctl_command(struct ctl_client *cl, char *line)
{
	struct ctl	*c = cl->ctl;
	struct evbuffer	*ans;
	char		*w[8], *save = NULL, msg[512], *end;
	int		 nw = 0, json, rc = 0;

	for (w[0] = strtok_r(line, " \t\r", &save); w[nw] != NULL && nw < 7;)
		w[++nw] = strtok_r(NULL, " \t\r", &save);
	json = nw > 1 && strcmp(w[nw - 1], "--json") == 0;
	if (json)
		nw--;
	if (nw > 0 && strcmp(w[0], "tap") == 0 && !json) {
		ctl_tap_cmd(cl, w, nw);
		return;
	}
	if ((ans = evbuffer_new()) == NULL) {
		ctl_drop(cl);
		return;
	}
	if (nw == 1 && strcmp(w[0], "list") == 0)
		rc = ctlreg_list(c->reg, ans, json);
	else if ((nw == 1 || nw == 2) && strcmp(w[0], "history") == 0) {
		if ((rc = ctlreg_history(c->reg, ans, nw == 2 ? w[1] : NULL,
		    json)) == -2)
			evbuffer_add_printf(ans, "error: history: '%.40s' is "
			    "not a MAC\n", w[1]);
	} else if (nw == 1 && strcmp(w[0], "stats") == 0 && !json) {
		evbuffer_add_printf(ans, "accepted=%llu refused=%llu "
		    "log_dropped=%zu ctl_clients=%u ctl_refused=%llu "
		    "tap_lost=%llu creds_unwritten=%zu ",
		    (unsigned long long)c->px->n_accepted,
		    (unsigned long long)c->px->n_refused, log_dropped(),
		    c->nclients, c->refused, c->lost, c->px->creds != NULL ?
		    creds_unwritten(c->px->creds) : 0);
		rc = ctlreg_stats(c->reg, ans);
	} else if (nw == 2 && strcmp(w[0], "kick") == 0 && !json) {
		unsigned long long id = strtoull(w[1], &end, 10);
		if (*end != '\0' || id == 0 || ctlreg_kick(c->reg, id) == -1)
			evbuffer_add_printf(ans, "error: kick: no session "
			    "%.40s\n", w[1]);
		else
			evbuffer_add_printf(ans, "kicked %llu\n", id);
	} else if (nw == 1 && strcmp(w[0], "reload") == 0 && !json) {
		if (c->reload == NULL ||
		    c->reload(c->reload_arg, msg, sizeof(msg)) == -1) {
			evbuffer_add_printf(ans, "error: reload refused: %s\n",
			    c->reload == NULL ? "not available" : msg);
			log_warnx("control socket: reload refused, keeping the "
			    "running one: %s", c->reload == NULL ? "" : msg);
		} else {
			evbuffer_add_printf(ans, "reload done\n");
			log_info("control socket: reload done");
		}
	} else
		evbuffer_add_printf(ans, "error: unknown command; commands: "
		    "list [--json], history [MAC] [--json], tap all|ID|MAC "
		    "[vm|raw|both], kick ID, stats, reload\n");
	if (rc == -1) {
		evbuffer_drain(ans, evbuffer_get_length(ans));
		evbuffer_add_printf(ans, "error: out of memory\n");
	}
	ctl_answer(cl, ans);
	evbuffer_free(ans);
}
