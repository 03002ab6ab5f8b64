/*
 * events_conf: the events filter's settings (an ABI 1.4 table: the host
 * checks each key of [filter events] at its file:line, fills in the
 * defaults, and `nabproxy filters` prints the table), its init and fini.
 * Keys (docs/events.md, nabproxy.conf(5)): broker (host name or address;
 * no MQTT without it), port (0: 1883, or 8883 with tls), tls, tls-ca,
 * username, password, topic-prefix (nabaztag), discovery (on),
 * discovery-prefix (homeassistant), webhook (http:// or https:// URL),
 * webhook-ca, webhook-timeout (5s), webhook-retries (3), webhook-queue
 * (64). At least one of broker and webhook. Nothing connects in init: a
 * filter timer starts MQTT once the loop runs (so not at all under
 * --check-config).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events-int.h"

static int
check_host(const char *v, char *why, size_t len)
{
	if (strpbrk(v, " \t/@[]") != NULL) {
		snprintf(why, len, "is not a host name or address");
		return -1;
	}
	return 0;
}

static int
check_topic(const char *v, char *why, size_t len)
{
	if (*v == '\0' || strpbrk(v, "+# ") != NULL || v[strlen(v) - 1] == '/') {
		snprintf(why, len, "is not a topic without +, # or a trailing /");
		return -1;
	}
	return 0;
}

static int
check_url(const char *v, char *why, size_t len)
{
	if (*v != '\0' && strncmp(v, "http://", 7) != 0 &&
	    strncmp(v, "https://", 8) != 0) {
		snprintf(why, len, "is not an http:// or https:// URL");
		return -1;
	}
	return 0;
}

#define S	struct ev_state
const struct nab_setting ev_settings_table[] = {
	NAB_SETTING_STRING("broker", S, set.broker, 0, "", check_host,
	    "MQTT broker, a host name or an address; none: no MQTT"),
	NAB_SETTING_INT("port", S, set.port, 0, 65535, "0",
	    "MQTT port; 0: 1883, or 8883 with tls"),
	NAB_SETTING_BOOL("tls", S, set.tls, "off",
	    "MQTT over TLS, the broker's certificate verified"),
	NAB_SETTING_STRING("tls-ca", S, set.ca, 0, "", NULL,
	    "CA file for the broker (none: the system's)"),
	NAB_SETTING_STRING("username", S, set.username, 0, "", NULL,
	    "MQTT user name"),
	NAB_SETTING_STRING("password", S, set.password, 0, "", NULL,
	    "MQTT password (never logged)"),
	NAB_SETTING_STRING("topic-prefix", S, set.prefix, 1, "nabaztag",
	    check_topic, "topics are PREFIX/MAC/..."),
	NAB_SETTING_BOOL("discovery", S, set.discovery, "on",
	    "Home Assistant MQTT discovery"),
	NAB_SETTING_STRING("discovery-prefix", S, set.disc_prefix, 1,
	    "homeassistant", check_topic, "Home Assistant's discovery prefix"),
	NAB_SETTING_STRING("webhook", S, set.webhook, 0, "", check_url,
	    "URL that gets every event as a JSON POST"),
	NAB_SETTING_STRING("webhook-ca", S, set.webhook_ca, 0, "", NULL,
	    "CA file for an https webhook (none: the system's)"),
	NAB_SETTING_DURATION("webhook-timeout", S, set.webhook_timeout, 1000,
	    300000, "5s", "bound on one POST"),
	NAB_SETTING_INT("webhook-retries", S, set.webhook_retries, 0, 10, "3",
	    "retries after a 5xx, a timeout or no answer (1 s, 2 s, 4 s ...)"),
	NAB_SETTING_INT("webhook-queue", S, set.webhook_queue, 1, 10000, "64",
	    "events waiting for the webhook; more are dropped"),
	NAB_SETTINGS_END
};
#undef S

static void
ev_start(void *arg)
{
	struct ev_state	*st = arg;

	st->start = NULL;
	if (st->mqtt != NULL)
		ev_mqtt_start(st->mqtt);
}

/* Undo init's work; the host frees the state itself. */
static void
ev_release(struct ev_state *st)
{
	st->h->ftimer_del(st->start);
	st->start = NULL;
	ev_mqtt_free(st->mqtt);
	st->mqtt = NULL;
	ev_webhook_free(st->wh);
	st->wh = NULL;
	explicit_bzero(st->set.password, sizeof(st->set.password));
}

int
ev_init(const struct nab_host *h, const struct nab_kv *cfg, size_t n,
    void **state, char *err, size_t errlen)
{
	struct ev_state	*st = *state;

	(void)cfg;
	(void)n;
	if (h->abi_minor < 4 || !NAB_HAS_SERVICE(h, flog) || st == NULL) {
		snprintf(err, errlen, "events needs a nabproxy with filter ABI "
		    "1.4 (its settings and the events services)");
		return -1;
	}
	st->h = h;
	st->port = st->set.port != 0 ? (int)st->set.port :
	    st->set.tls ? 8883 : 1883;
	if (st->set.broker[0] == '\0' && st->set.webhook[0] == '\0') {
		snprintf(err, errlen, "events: set broker (MQTT), webhook, or "
		    "both");
		return -1;
	}
	if ((st->set.broker[0] != '\0' &&
	    (st->mqtt = ev_mqtt_new(st, err, errlen)) == NULL) ||
	    (st->set.webhook[0] != '\0' && (st->wh = ev_webhook_new(st)) == NULL)) {
		ev_release(st);
		return -1;
	}
	st->start = h->ftimer_add(0, ev_start, st);
	return 0;
}

void
ev_fini(void *arg)
{
	if (arg != NULL)
		ev_release(arg);
}
