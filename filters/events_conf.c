/*
 * events_conf: the events filter's configuration section, its init and
 * fini. Keys (docs/events.md, nabproxy.conf(5)): broker (host name or
 * address; no MQTT without it), port (1883, 8883 with tls), tls (on|off),
 * tls-ca, username, password, topic-prefix (nabaztag), discovery
 * (on|off, on), discovery-prefix (homeassistant), webhook (http:// or
 * https:// URL), webhook-ca, webhook-timeout (seconds, 5), webhook-retries
 * (3), webhook-queue (64). Errors name the key's file:line. Nothing
 * connects in init: a filter timer starts MQTT once the loop runs (so
 * not at all under --check-config).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events-int.h"

static int
onoff(const struct nab_kv *kv, int *v, char *err, size_t errlen)
{
	if (strcmp(kv->value, "on") == 0 || strcmp(kv->value, "yes") == 0)
		*v = 1;
	else if (strcmp(kv->value, "off") == 0 || strcmp(kv->value, "no") == 0)
		*v = 0;
	else {
		snprintf(err, errlen, "%s:%d: %s '%s', allowed on or off",
		    kv->file, kv->line, kv->key, kv->value);
		return -1;
	}
	return 0;
}

static int
num(const struct nab_kv *kv, long lo, long hi, long *v, char *err,
    size_t errlen)
{
	char	*end;

	*v = strtol(kv->value, &end, 10);
	if (*end != '\0' || end == kv->value || *v < lo || *v > hi) {
		snprintf(err, errlen, "%s:%d: %s '%s', allowed %ld to %ld",
		    kv->file, kv->line, kv->key, kv->value, lo, hi);
		return -1;
	}
	return 0;
}

static int
str(const struct nab_kv *kv, char *out, size_t cap, char *err, size_t errlen)
{
	if (strlen(kv->value) >= cap || strpbrk(kv->value, "\r\n") != NULL) {
		snprintf(err, errlen, "%s:%d: %s is too long", kv->file,
		    kv->line, kv->key);
		return -1;
	}
	memcpy(out, kv->value, strlen(kv->value) + 1);
	return 0;
}

static int
topic_ok(const struct nab_kv *kv, const char *v, char *err, size_t errlen)
{
	if (*v == '\0' || strpbrk(v, "+#") != NULL || v[strlen(v) - 1] == '/') {
		snprintf(err, errlen, "%s:%d: %s '%s': a topic without +, # or "
		    "a trailing /", kv->file, kv->line, kv->key, v);
		return -1;
	}
	return 0;
}

/* One key; -1 with err. */
static int
conf_key(struct ev_conf *c, const struct nab_kv *kv, int *port_set,
    char *err, size_t errlen)
{
	const char	*k = kv->key;
	long		 v;

	if (strcmp(k, "path") == 0)		/* the host's: where the .so is */
		return 0;
	if (strcmp(k, "broker") == 0)
		return str(kv, c->broker, sizeof(c->broker), err, errlen);
	if (strcmp(k, "port") == 0) {
		*port_set = 1;
		if (num(kv, 1, 65535, &v, err, errlen) == -1)
			return -1;
		c->port = (int)v;
		return 0;
	}
	if (strcmp(k, "tls") == 0)
		return onoff(kv, &c->tls, err, errlen);
	if (strcmp(k, "tls-ca") == 0)
		return str(kv, c->ca, sizeof(c->ca), err, errlen);
	if (strcmp(k, "username") == 0)
		return str(kv, c->username, sizeof(c->username), err, errlen);
	if (strcmp(k, "password") == 0)
		return str(kv, c->password, sizeof(c->password), err, errlen);
	if (strcmp(k, "topic-prefix") == 0)
		return str(kv, c->prefix, sizeof(c->prefix), err, errlen) ||
		    topic_ok(kv, c->prefix, err, errlen) ? -1 : 0;
	if (strcmp(k, "discovery") == 0)
		return onoff(kv, &c->discovery, err, errlen);
	if (strcmp(k, "discovery-prefix") == 0)
		return str(kv, c->disc_prefix, sizeof(c->disc_prefix), err,
		    errlen) || topic_ok(kv, c->disc_prefix, err, errlen) ? -1 : 0;
	if (strcmp(k, "webhook") == 0) {
		if (str(kv, c->webhook, sizeof(c->webhook), err, errlen) == -1)
			return -1;
		if (strncmp(c->webhook, "http://", 7) != 0 &&
		    strncmp(c->webhook, "https://", 8) != 0) {
			snprintf(err, errlen, "%s:%d: webhook must be an http:// "
			    "or https:// URL", kv->file, kv->line);
			return -1;
		}
		return 0;
	}
	if (strcmp(k, "webhook-ca") == 0)
		return str(kv, c->webhook_ca, sizeof(c->webhook_ca), err, errlen);
	if (strcmp(k, "webhook-timeout") == 0) {
		if (num(kv, 1, 300, &v, err, errlen) == -1)
			return -1;
		c->webhook_timeout = (unsigned)v * 1000;
		return 0;
	}
	if (strcmp(k, "webhook-retries") == 0) {
		if (num(kv, 0, 10, &v, err, errlen) == -1)
			return -1;
		c->webhook_retries = (unsigned)v;
		return 0;
	}
	if (strcmp(k, "webhook-queue") == 0) {
		if (num(kv, 1, 10000, &v, err, errlen) == -1)
			return -1;
		c->webhook_queue = (unsigned)v;
		return 0;
	}
	snprintf(err, errlen, "%s:%d: unknown key '%s' (broker, port, tls, "
	    "tls-ca, username, password, topic-prefix, discovery, "
	    "discovery-prefix, webhook, webhook-ca, webhook-timeout, "
	    "webhook-retries, webhook-queue)", kv->file, kv->line, k);
	return -1;
}

static void
ev_start(void *arg)
{
	struct ev_state	*st = arg;

	st->start = NULL;
	if (st->mqtt != NULL)
		ev_mqtt_start(st->mqtt);
}

int
ev_init(const struct nab_host *h, const struct nab_kv *cfg, size_t n,
    void **state, char *err, size_t errlen)
{
	struct ev_state	*st;
	size_t		 i;
	int		 port_set = 0;

	if (!NAB_HAS_SERVICE(h, flog)) {
		snprintf(err, errlen, "events needs a nabproxy with filter ABI "
		    "1.4 (events services)");
		return -1;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	st->h = h;
	snprintf(st->c.prefix, sizeof(st->c.prefix), "nabaztag");
	snprintf(st->c.disc_prefix, sizeof(st->c.disc_prefix), "homeassistant");
	st->c.discovery = 1;
	st->c.webhook_timeout = 5000;
	st->c.webhook_retries = 3;
	st->c.webhook_queue = 64;
	for (i = 0; i < n; i++)
		if (conf_key(&st->c, &cfg[i], &port_set, err, errlen) == -1) {
			free(st);
			return -1;
		}
	if (!port_set)
		st->c.port = st->c.tls ? 8883 : 1883;
	if (st->c.broker[0] == '\0' && st->c.webhook[0] == '\0') {
		snprintf(err, errlen, "events: set broker (MQTT), webhook, or "
		    "both");
		free(st);
		return -1;
	}
	if ((st->c.broker[0] != '\0' &&
	    (st->mqtt = ev_mqtt_new(st, err, errlen)) == NULL) ||
	    (st->c.webhook[0] != '\0' && (st->wh = ev_webhook_new(st)) == NULL)) {
		ev_fini(st);
		return -1;
	}
	st->start = h->ftimer_add(0, ev_start, st);
	*state = st;
	return 0;
}

void
ev_fini(void *arg)
{
	struct ev_state	*st = arg;

	if (st == NULL)
		return;
	st->h->ftimer_del(st->start);
	ev_mqtt_free(st->mqtt);
	ev_webhook_free(st->wh);
	explicit_bzero(st->c.password, sizeof(st->c.password));
	free(st);
}
