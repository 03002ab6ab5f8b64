/*
 * events: rabbits' events out to MQTT (and webhooks), commands back in,
 * with Home Assistant discovery. An external filter on the public ABI
 * only (ABI 1.4 "events" services); docs/events.md is the reference.
 *
 * Out, under topic-prefix P and the rabbit's MAC M (12 lowercase hex):
 * P/M/status online|offline (retained; online at stage idle, or session
 * for the seed simulator's firmware), P/M/stage (retained), P/M/button
 * {"clicks":N[,"event":"v"]}, P/M/ears {"left":L,"right":R} (retained);
 * P/bridge/status online, with the will offline. Button and ears come
 * from the rabbit's <message> (bootcode-xmpp.md A13, A14) and still go
 * to the server. In: P/M/set/ears|ambient|sleep|wake|reboot|packet,
 * sent to that rabbit as a violet:packet <message> (events_packet.c)
 * through the host's rabbit_call, or dropped with a log line when it is
 * not online. Discovery (retained, under discovery-prefix) describes the
 * button triggers, the ear sensors and the online binary sensor.
 * Everything is republished when the broker connection comes back.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events-int.h"

static const struct nab_host	*host;
/*
 * What the filter knows of each rabbit, shared by every instance of the
 * filter (a reload makes a new one while the old one keeps its sessions):
 * a rabbit whose old connection is on the old instance and new one on the
 * new instance is still one rabbit. Freed with the last instance.
 */
static struct ev_rabbit	*rabbits;
static size_t		 nrabbits;
static unsigned		 instances;

static struct ev_rabbit *
rabbit_find(struct ev_state *st, const char *mac, int add)
{
	struct ev_rabbit	*r;
	size_t			 i;

	(void)st;
	for (i = 0; i < nrabbits; i++)
		if (strcmp(rabbits[i].mac, mac) == 0)
			return &rabbits[i];
	if (!add || nrabbits == EV_MAX_RABBITS ||
	    (r = realloc(rabbits, (nrabbits + 1) * sizeof(*r))) == NULL)
		return NULL;
	rabbits = r;
	r = &rabbits[nrabbits++];
	memset(r, 0, sizeof(*r));
	snprintf(r->mac, sizeof(r->mac), "%s", mac);
	r->left = r->right = -1;
	return r;
}

static int
is_mac(const char *s)
{
	size_t	i;

	for (i = 0; i < 12; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return 0;
	return s[12] == '\0';
}

/*
 * Only a connection that proved the account's password speaks for that
 * rabbit (filter.h, `proof`): before that, its MAC is only claimed, and
 * anyone could claim it.
 */
static int
proven(const struct nab_identity *who)
{
	return who->mac != NULL && is_mac(who->mac) && who->proof != NULL &&
	    who->proof[0] != '\0';
}

/* Publish P/M/what; a webhook gets {"mac":M,"event":what,...json}. */
static void
emit(struct ev_state *st, const char *mac, const char *what,
    const char *payload, int retain, const char *hookjson)
{
	char	topic[300], body[1024];

	snprintf(topic, sizeof(topic), "%s/%s/%s", st->set.prefix, mac, what);
	if (ev_mqtt_publish(st->mqtt, topic, payload, retain) == -1 &&
	    st->mqtt != NULL)
		host->flog(&nab_filter, NAB_LOG_DEBUG, "MQTT not connected: %s "
		    "not published now", topic);
	if (st->wh != NULL && hookjson != NULL) {
		snprintf(body, sizeof(body), "{\"mac\":\"%s\",\"event\":\"%s\"%s%s}",
		    mac, what, *hookjson ? "," : "", hookjson);
		ev_webhook_send(st->wh, body);
	}
}

static void
device_json(const char *mac, char *out, size_t cap)
{
	snprintf(out, cap, "{\"identifiers\":[\"nabaztag_%s\"],\"connections\":"
	    "[[\"mac\",\"%.2s:%.2s:%.2s:%.2s:%.2s:%.2s\"]],\"name\":\"Nabaztag "
	    "%s\",\"manufacturer\":\"Violet\",\"model\":\"Nabaztag/tag\","
	    "\"via_device\":\"nabproxy\"}", mac, mac, mac + 2, mac + 4,
	    mac + 6, mac + 8, mac + 10, mac);
}

static void
disc_pub(struct ev_state *st, const char *component, const char *mac,
    const char *obj, const char *json)
{
	char	topic[400];

	snprintf(topic, sizeof(topic), "%s/%s/nabaztag_%s/%s/config",
	    st->set.disc_prefix, component, mac, obj);
	(void)ev_mqtt_publish(st->mqtt, topic, json, 1);
}

/* Home Assistant MQTT discovery for one rabbit (retained). */
static void
discovery(struct ev_state *st, const char *mac)
{
	static const char *const ears[2] = { "left", "right" };
	static const char *const press[2] = { "button_short_press",
	    "button_double_press" };
	char	dev[400], js[1400], base[300];
	int	i;

	if (!st->set.discovery)
		return;
	device_json(mac, dev, sizeof(dev));
	snprintf(base, sizeof(base), "%s/%s", st->set.prefix, mac);
	snprintf(js, sizeof(js), "{\"name\":\"Online\",\"unique_id\":"
	    "\"nabaztag_%s_online\",\"state_topic\":\"%s/status\","
	    "\"payload_on\":\"online\",\"payload_off\":\"offline\","
	    "\"device_class\":\"connectivity\",\"qos\":1,\"device\":%s}",
	    mac, base, dev);
	disc_pub(st, "binary_sensor", mac, "online", js);
	for (i = 0; i < 2; i++) {
		snprintf(js, sizeof(js), "{\"name\":\"%s ear\",\"unique_id\":"
		    "\"nabaztag_%s_ear_%s\",\"state_topic\":\"%s/ears\","
		    "\"value_template\":\"{{ value_json.%s }}\","
		    "\"availability_topic\":\"%s/status\",\"payload_available\":"
		    "\"online\",\"payload_not_available\":\"offline\","
		    "\"icon\":\"mdi:rabbit\",\"qos\":1,\"device\":%s}",
		    i ? "Right" : "Left", mac, ears[i], base, ears[i], base,
		    dev);
		disc_pub(st, "sensor", mac, i ? "ear_right" : "ear_left", js);
	}
	for (i = 0; i < 2; i++) {
		snprintf(js, sizeof(js), "{\"automation_type\":\"trigger\","
		    "\"topic\":\"%s/button\",\"type\":\"%s\",\"subtype\":"
		    "\"button_1\",\"payload\":\"%d\",\"value_template\":"
		    "\"{{ value_json.clicks }}\",\"qos\":1,\"device\":%s}",
		    base, press[i], i + 1, dev);
		disc_pub(st, "device_automation", mac, i ? "double_click" :
		    "click", js);
	}
}

/* Everything a rabbit shows, again (a new broker connection). */
static void
republish(struct ev_state *st, struct ev_rabbit *r)
{
	char	js[64];

	discovery(st, r->mac);
	emit(st, r->mac, "status", r->online ? "online" : "offline", 1, NULL);
	if (r->stage[0] != '\0')
		emit(st, r->mac, "stage", r->stage, 1, NULL);
	if (r->left >= 0) {
		snprintf(js, sizeof(js), "{\"left\":%d,\"right\":%d}", r->left,
		    r->right);
		emit(st, r->mac, "ears", js, 1, NULL);
	}
}

void
ev_broker_up(struct ev_state *st)
{
	size_t	i;

	for (i = 0; i < nrabbits; i++)
		republish(st, &rabbits[i]);
}

static void
set_online(struct ev_state *st, struct ev_rabbit *r, int online)
{
	char	js[64];

	if (r->online == online)
		return;
	r->online = online;
	if (online)
		discovery(st, r->mac);
	snprintf(js, sizeof(js), "\"status\":\"%s\"", online ? "online" :
	    "offline");
	emit(st, r->mac, "status", online ? "online" : "offline", 1, js);
}

/* Per session (host-allocated, session_size): which MAC it counted
   online (a rabbit may reconnect before its old connection is gone: it
   stays online until both are). */
struct ev_sess {
	char	mac[13];
	int	online;
};

static void
ev_on_stage(struct nab_ctx *ctx, const char *stage)
{
	struct ev_state			*st = host->filter_state(ctx);
	const struct nab_identity	*who = host->identity(ctx);
	struct ev_sess			*sd = host->get_data(ctx);
	struct ev_rabbit		*r;
	char				 js[64];
	int				 sim, off = strcmp(stage, "offline") == 0;

	if (sd != NULL && sd->online)
		r = rabbit_find(st, sd->mac, 0);
	else if (!proven(who))
		return;		/* a claimed MAC is not a rabbit's word */
	else
		r = rabbit_find(st, who->mac, 1);
	if (r == NULL)
		return;
	if (off && sd != NULL && sd->online) {
		sd->online = 0;
		r->nonline--;
	}
	if (off && r->nonline > 0)
		return;		/* its newer connection is the one to show */
	if (who->domain != NULL && *who->domain != '\0')
		snprintf(r->domain, sizeof(r->domain), "%s", who->domain);
	snprintf(r->stage, sizeof(r->stage), "%s", stage);
	snprintf(js, sizeof(js), "\"stage\":\"%s\"", r->stage);
	emit(st, r->mac, "stage", r->stage, 1, js);
	sim = who->firmware != NULL && strcmp(who->firmware, "simulator") == 0;
	if (strcmp(stage, "idle") == 0 || (sim && strcmp(stage, "session") == 0)) {
		if (sd != NULL && !sd->online) {
			sd->online = 1;
			snprintf(sd->mac, sizeof(sd->mac), "%s", r->mac);
			r->nonline++;
		}
		set_online(st, r, 1);
	} else if (off)
		set_online(st, r, 0);
}

/* The rabbit's button (A13) and ears (A14) messages. */
static enum nab_verdict
ev_on_stanza(struct nab_ctx *ctx, enum nab_dir d, struct nab_stanza *s)
{
	struct ev_state			*st = host->filter_state(ctx);
	const struct nab_identity	*who = host->identity(ctx);
	struct nab_stanza		*b, *c;
	struct ev_rabbit		*r;
	const char			*t;
	char				 js[600], hk[600];
	long				 clic, l, rr;
	char				*end;

	if (d != NAB_FROM_RABBIT || strcmp(host->name(s), "message") != 0 ||
	    !proven(who))
		return NAB_PASS;
	if ((b = host->child(s, "button", "violet:nabaztag:button")) != NULL) {
		if ((c = host->child(b, "clic", NULL)) == NULL ||
		    (t = host->text(ctx, c)) == NULL ||
		    ((clic = strtol(t, &end, 10)) != 1 && clic != 2) || *end)
			return NAB_PASS;
		snprintf(js, sizeof(js), "{\"clicks\":%ld", clic);
		snprintf(hk, sizeof(hk), "\"clicks\":%ld", clic);
		if ((c = host->child(b, "event", NULL)) != NULL &&
		    (t = host->text(ctx, c)) != NULL && *t != '\0') {
			/* the webhook's "event" is the kind: "value" there */
			strcat(js, ",\"event\":");
			strcat(hk, ",\"value\":");
			if (ev_json_quote(js, sizeof(js) - 1, t) == -1 ||
			    ev_json_quote(hk, sizeof(hk), t) == -1)
				return NAB_PASS;
		}
		strcat(js, "}");
		emit(st, who->mac, "button", js, 0, hk);
		return NAB_PASS;
	}
	if ((b = host->child(s, "ears", "violet:nabaztag:ears")) == NULL)
		return NAB_PASS;
	if ((c = host->child(b, "left", NULL)) == NULL ||
	    (t = host->text(ctx, c)) == NULL || (l = strtol(t, &end, 10)) < 0 ||
	    l > 255 || *end || end == t ||
	    (c = host->child(b, "right", NULL)) == NULL ||
	    (t = host->text(ctx, c)) == NULL || (rr = strtol(t, &end, 10)) < 0 ||
	    rr > 255 || *end || end == t)
		return NAB_PASS;
	if ((r = rabbit_find(st, who->mac, 1)) != NULL) {
		r->left = (int)l;
		r->right = (int)rr;
	}
	snprintf(js, sizeof(js), "{\"left\":%ld,\"right\":%ld}", l, rr);
	snprintf(hk, sizeof(hk), "\"left\":%ld,\"right\":%ld", l, rr);
	emit(st, who->mac, "ears", js, 1, hk);
	return NAB_PASS;
}

struct ev_send {
	const char	*b64;
	const char	*resource;
};

static unsigned	msg_seq;

/* rabbit_call: the packet as a <message> OpenJabNab would send. */
static int
send_cb(struct nab_ctx *ctx, void *arg)
{
	struct ev_send			*e = arg;
	const struct nab_identity	*who = host->identity(ctx);
	struct nab_stanza		*m, *p;
	char				 from[300], to[300], id[32];

	snprintf(from, sizeof(from), "net.violet.platform@%s/services",
	    who->domain);
	snprintf(to, sizeof(to), "%s@%s/%s", who->mac, who->domain,
	    e->resource);
	snprintf(id, sizeof(id), "nabproxy-events-%u", ++msg_seq);
	if ((m = host->stanza_new(ctx, "message")) == NULL ||
	    host->set_attr(ctx, m, "from", from) == -1 ||
	    host->set_attr(ctx, m, "to", to) == -1 ||
	    host->set_attr(ctx, m, "id", id) == -1 ||
	    (p = host->add_child(ctx, m, "packet")) == NULL ||
	    host->set_attr(ctx, p, "xmlns", "violet:packet") == -1 ||
	    host->set_attr(ctx, p, "format", "1.0") == -1 ||
	    host->set_attr(ctx, p, "ttl", "604800") == -1 ||
	    host->add_text(ctx, p, e->b64) == -1)
		return -1;
	return host->inject(ctx, NAB_FROM_SERVER, m);
}

int
ev_send_packet(struct ev_state *st, const char *mac, const unsigned char *pkt,
    size_t n, const char *resource)
{
	struct ev_send	e;
	char		b64[EV_PACKET_MAX * 4 / 3 + 8];

	(void)st;
	if (ev_b64enc(pkt, n, b64, sizeof(b64)) == -1)
		return -1;
	e.b64 = b64;
	e.resource = resource;
	return host->rabbit_call(&nab_filter, mac, send_cb, &e);
}

static int
init(const struct nab_host *h, const struct nab_kv *cfg, size_t n,
    void **state, char *err, size_t errlen)
{
	host = h;
	if (ev_init(h, cfg, n, state, err, errlen) == -1)
		return -1;
	instances++;
	return 0;
}

static void
fini(void *state)
{
	ev_fini(state);
	if (--instances == 0) {
		free(rabbits);
		rabbits = NULL;
		nrabbits = 0;
	}
}

__attribute__((visibility("default")))
const struct nab_filter nab_filter = {
	NAB_FILTER_INIT,
	.name = "events",
	.version = "1.0",
	.description = "rabbits' button, ears and status to MQTT (Home "
	    "Assistant discovery) and webhooks; commands from MQTT",
	.init = init,
	.fini = fini,
	.on_stanza = ev_on_stanza,
	.settings = ev_settings_table,
	.state_size = sizeof(struct ev_state),
	.session_size = sizeof(struct ev_sess),
	.on_stage = ev_on_stage,
};
