/*
 * events_mqtt: the events filter's MQTT client. libmosquitto does the
 * protocol; nabproxy's loop does the waiting: its socket is watched
 * through the host's watch service (mosquitto_loop_read/_write on
 * readiness, write interest while mosquitto_want_write), a one-second
 * filter timer runs mosquitto_loop_misc (keep-alive), and the broker's
 * name is resolved by the host's asynchronous resolver so libmosquitto
 * only ever gets a numeric address (its own lookup would block). There
 * is no libmosquitto thread. A lost or refused connection, or one not
 * accepted within 15 s, is retried with backoff (1 s doubling to 60 s); QoS 1 throughout; the will is
 * PREFIX/bridge/status = offline (retained), and online is published on
 * every connect. With tls libmosquitto gets our own OpenSSL context,
 * which checks the certificate against the broker name as written.
 */
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <mosquitto.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "events-int.h"

#define MQ_KEEPALIVE	60
#define MQ_BACKOFF_MAX	60000
#define MQ_CONNECT_S	15	/* connect and CONNACK within this */

struct ev_mqtt {
	struct ev_state		*st;
	struct mosquitto	*mosq;
	struct nab_watch	*w;
	int			 wfd;
	struct nab_ftimer	*tick;		/* loop_misc, every second */
	struct nab_ftimer	*retry;
	struct nab_resolve	*res;
	unsigned		 backoff;	/* ms */
	unsigned		 waited;	/* s connecting without CONNACK */
	int			 connected;
	int			 connecting;
	char			 will[300];
	struct ev_mqtt		*next;		/* in all */
};

static int	lib_users;
static unsigned	client_seq;
/*
 * After a reload the old instance lives on with the sessions that still
 * use the old chain: only the newest takes commands (each would send the
 * packet otherwise), and only the last one says the bridge is offline.
 */
static struct ev_mqtt	*all;		/* every live instance, newest first */

static void	mq_update(struct ev_mqtt *);
static void	mq_lost(struct ev_mqtt *, const char *why);
static void	mq_try(void *);

#define H(m)	((m)->st->h)

static void
mq_fd(int fd, unsigned what, void *arg)
{
	struct ev_mqtt	*m = arg;
	int		 rc = MOSQ_ERR_SUCCESS;

	(void)fd;
	if (what & NAB_FD_READ)
		rc = mosquitto_loop_read(m->mosq, 1);
	if (rc == MOSQ_ERR_SUCCESS && (what & NAB_FD_WRITE))
		rc = mosquitto_loop_write(m->mosq, 1);
	if (rc != MOSQ_ERR_SUCCESS) {
		mq_lost(m, mosquitto_strerror(rc));
		return;
	}
	mq_update(m);
}

/* Watch libmosquitto's current socket for what it needs now. */
static void
mq_update(struct ev_mqtt *m)
{
	int		 fd = mosquitto_socket(m->mosq);
	unsigned	 what = NAB_FD_READ;

	if (fd != m->wfd && m->w != NULL) {
		H(m)->watch_del(m->w);
		m->w = NULL;
	}
	m->wfd = fd;
	if (fd < 0)
		return;
	if (mosquitto_want_write(m->mosq))
		what |= NAB_FD_WRITE;
	if (m->w == NULL)
		m->w = H(m)->watch_add(fd, what, mq_fd, m);
	else
		H(m)->watch_set(m->w, what);
}

static void
mq_tick(void *arg)
{
	struct ev_mqtt	*m = arg;

	m->tick = H(m)->ftimer_add(1000, mq_tick, m);
	if (!m->connecting && !m->connected)
		return;
	/* A broker that takes the connection but never answers it. */
	if (m->connecting && !m->connected && ++m->waited > MQ_CONNECT_S) {
		mq_lost(m, "no answer to CONNECT");
		return;
	}
	if (mosquitto_loop_misc(m->mosq) != MOSQ_ERR_SUCCESS &&
	    m->connected) {
		mq_lost(m, "keep-alive failed");
		return;
	}
	mq_update(m);
}

/* Forget the connection and try again after the backoff. */
static void
mq_lost(struct ev_mqtt *m, const char *why)
{
	if (m->w != NULL)
		H(m)->watch_del(m->w);
	m->w = NULL;
	m->wfd = -1;
	if (m->connected || m->backoff == 0 || m->backoff >= 8000)
		H(m)->flog(&nab_filter, NAB_LOG_WARN, "MQTT broker %s:%d: %s; "
		    "retrying in %u ms", m->st->set.broker, m->st->port, why,
		    m->backoff ? m->backoff : 1000);
	m->connected = m->connecting = 0;
	(void)mosquitto_disconnect(m->mosq);	/* closes its socket */
	m->backoff = m->backoff == 0 ? 1000 : m->backoff * 2;
	if (m->backoff > MQ_BACKOFF_MAX)
		m->backoff = MQ_BACKOFF_MAX;
	if (m->retry == NULL)
		m->retry = H(m)->ftimer_add(m->backoff, mq_try, m);
}

static void
mq_resolved(const char *addr, const char *why, void *arg)
{
	struct ev_mqtt	*m = arg;
	int		 rc;

	m->res = NULL;
	if (addr == NULL) {
		mq_lost(m, why);
		return;
	}
	m->connecting = 1;
	m->waited = 0;
	rc = mosquitto_connect_async(m->mosq, addr, m->st->port,
	    MQ_KEEPALIVE);
	if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_CONN_PENDING) {
		mq_lost(m, rc == MOSQ_ERR_ERRNO ? "cannot connect" :
		    mosquitto_strerror(rc));
		return;
	}
	mq_update(m);
}

static void
mq_try(void *arg)
{
	struct ev_mqtt	*m = arg;

	m->retry = NULL;
	if ((m->res = H(m)->resolve(m->st->set.broker, mq_resolved, m)) == NULL)
		mq_lost(m, "cannot resolve");
}

static void
on_connect(struct mosquitto *mosq, void *obj, int rc)
{
	struct ev_mqtt	*m = obj;
	char		 topic[300];

	if (rc != 0) {
		H(m)->flog(&nab_filter, NAB_LOG_WARN, "MQTT broker %s:%d "
		    "refused the connection: %s", m->st->set.broker,
		    m->st->port, mosquitto_connack_string(rc));
		return;		/* the broker closes; mq_lost retries */
	}
	H(m)->flog(&nab_filter, NAB_LOG_INFO, "MQTT broker %s:%d connected",
	    m->st->set.broker, m->st->port);
	m->connected = 1;
	m->connecting = 0;
	m->backoff = 0;
	snprintf(topic, sizeof(topic), "%s/+/set/+", m->st->set.prefix);
	(void)mosquitto_subscribe(mosq, NULL, topic, 1);
	(void)mosquitto_publish(mosq, NULL, m->will, 6, "online", 1, true);
	ev_broker_up(m->st);
}

static void
on_message(struct mosquitto *mosq, void *obj,
    const struct mosquitto_message *msg)
{
	(void)mosq;
	if (obj != all)
		return;
	ev_command(((struct ev_mqtt *)obj)->st, msg->topic, msg->payload,
	    msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0);
}

/*
 * Our own TLS context for libmosquitto (MOSQ_OPT_SSL_CTX, no defaults):
 * peer verification against tls-ca or the system store, and the broker
 * name as configured (its IP names when it is an address) set on the
 * context, so every SSL object libmosquitto makes from it checks it from
 * the first byte, whatever address it connects to. NULL on error.
 */
static SSL_CTX *
mq_tls_ctx(const struct ev_settings *c)
{
	SSL_CTX			*ctx;
	X509_VERIFY_PARAM	*vp;
	unsigned char		 a[16];
	int			 ip;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	vp = SSL_CTX_get0_param(ctx);
	ip = inet_pton(AF_INET, c->broker, a) == 1 ||
	    inet_pton(AF_INET6, c->broker, a) == 1;
	if ((c->ca[0] != '\0' ? SSL_CTX_load_verify_locations(ctx, c->ca,
	    NULL) : SSL_CTX_set_default_verify_paths(ctx)) != 1 ||
	    (ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, c->broker) :
	    X509_VERIFY_PARAM_set1_host(vp, c->broker, 0)) != 1) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

static int
mq_tls(struct ev_mqtt *m)
{
	SSL_CTX	*ctx;
	int	 rc;

	if ((ctx = mq_tls_ctx(&m->st->set)) == NULL)
		return -1;
	rc = mosquitto_int_option(m->mosq, MOSQ_OPT_SSL_CTX_WITH_DEFAULTS, 0) ||
	    mosquitto_void_option(m->mosq, MOSQ_OPT_SSL_CTX, ctx) ? -1 : 0;
	SSL_CTX_free(ctx);	/* libmosquitto holds its own reference */
	return rc;
}

struct ev_mqtt *
ev_mqtt_new(struct ev_state *st, char *err, size_t errlen)
{
	struct ev_mqtt	*m;
	char		 id[64];
	const struct ev_settings *c = &st->set;

	if ((m = calloc(1, sizeof(*m))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	m->st = st;
	m->wfd = -1;
	if (lib_users++ == 0)
		mosquitto_lib_init();
	snprintf(id, sizeof(id), "nabproxy-%ld-%u", (long)getpid(),
	    ++client_seq);
	snprintf(m->will, sizeof(m->will), "%s/bridge/status", c->prefix);
	if ((m->mosq = mosquitto_new(id, true, m)) == NULL ||
	    mosquitto_will_set(m->mosq, m->will, 7, "offline", 1, true) ||
	    (c->username[0] != '\0' && mosquitto_username_pw_set(m->mosq,
	    c->username, c->password[0] ? c->password : NULL)) ||
	    (c->tls && mq_tls(m) == -1)) {
		snprintf(err, errlen, "cannot set up the MQTT client%s",
		    c->tls ? " (tls: tls-ca?)" : "");
		ev_mqtt_free(m);
		return NULL;
	}
	m->next = all;
	all = m;
	mosquitto_connect_callback_set(m->mosq, on_connect);
	mosquitto_message_callback_set(m->mosq, on_message);
	return m;
}

void
ev_mqtt_start(struct ev_mqtt *m)
{
	if ((m->tick = H(m)->ftimer_add(1000, mq_tick, m)) == NULL)
		return;
	mq_try(m);
}

int
ev_mqtt_publish(struct ev_mqtt *m, const char *topic, const char *payload,
    int retain)
{
	int	rc;

	if (m == NULL || !m->connected)
		return -1;
	rc = mosquitto_publish(m->mosq, NULL, topic, (int)strlen(payload),
	    payload, 1, retain ? true : false);
	if (rc != MOSQ_ERR_SUCCESS) {
		mq_lost(m, mosquitto_strerror(rc));
		return -1;
	}
	mq_update(m);
	return 0;
}

void
ev_mqtt_free(struct ev_mqtt *m)
{
	struct ev_mqtt	**mp;

	if (m == NULL)
		return;
	if (m->w != NULL)
		H(m)->watch_del(m->w);
	H(m)->ftimer_del(m->tick);
	H(m)->ftimer_del(m->retry);
	H(m)->resolve_cancel(m->res);
	if (m->mosq != NULL) {
		if (m->connected && lib_users == 1) {
			/* A clean goodbye: the bridge is offline, no will. */
			(void)mosquitto_publish(m->mosq, NULL, m->will, 7,
			    "offline", 1, true);
			(void)mosquitto_loop_write(m->mosq, 4);
		}
		(void)mosquitto_disconnect(m->mosq);
		(void)mosquitto_loop_write(m->mosq, 1);
		mosquitto_destroy(m->mosq);
	}
	for (mp = &all; *mp != NULL; mp = &(*mp)->next)
		if (*mp == m) {
			*mp = m->next;
			break;
		}
	if (--lib_users == 0)
		mosquitto_lib_cleanup();
	free(m);
}
