/*
 * events_cmd: MQTT commands to rabbits. A message on
 * PREFIX/MAC/set/CMD becomes one Violet packet (events_packet.c) sent to
 * that rabbit if it is online, else it is dropped with a log line; a
 * payload that does not parse is dropped with a log line too. ears and
 * ambient go to resource idle (as OpenJabNab addresses them); sleep,
 * wake and reboot to urgent, which the firmware runs in any state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events-int.h"

/* OpenJabNab's ambient services, by name. */
static const struct {
	const char	*name;
	int		 svc;
} services[] = {
	{ "disable", 0 }, { "weather", 1 }, { "stockmarket", 2 },
	{ "periph", 3 }, { "left", 4 }, { "right", 5 }, { "email", 6 },
	{ "airquality", 7 }, { "nose", 8 }, { "taichi", 14 },
};

struct amb {
	int	svc[32], val[32];
	size_t	n;
};

static int
amb_cb(const char *key, long v, void *arg)
{
	struct amb	*a = arg;
	size_t		 i;
	char		*end;
	long		 s = -1;

	for (i = 0; i < sizeof(services) / sizeof(services[0]); i++)
		if (strcmp(services[i].name, key) == 0)
			s = services[i].svc;
	if (s == -1 && ((s = strtol(key, &end, 10)) < 0 || *end != '\0' ||
	    end == key))
		return -1;
	if (a->n == 32 || s > 255 || v < 0 || v > 255)
		return -1;
	a->svc[a->n] = (int)s;
	a->val[a->n++] = (int)v;
	return 0;
}

/* The packet for a command; its length, or -1 (bad payload). */
static int
encode(const char *cmd, const char *pl, size_t len, unsigned char *pkt,
    size_t cap, const char **res)
{
	struct amb	a = { .n = 0 };
	char		b64[EV_PACKET_MAX * 2];
	long		l, r;
	size_t		s = 0, e = len;
	int		n;

	*res = "idle";
	if (strcmp(cmd, "ears") == 0) {
		if (ev_json_int(pl, len, "left", &l) == -1 ||
		    ev_json_int(pl, len, "right", &r) == -1)
			return -1;
		return ev_pkt_ears(pkt, cap, (int)l, (int)r);
	}
	if (strcmp(cmd, "ambient") == 0) {
		if (ev_json_each_int(pl, len, amb_cb, &a) == -1 || a.n == 0)
			return -1;
		return ev_pkt_ambient(pkt, cap, a.svc, a.val, a.n);
	}
	*res = "urgent";
	if (strcmp(cmd, "sleep") == 0 || strcmp(cmd, "wake") == 0)
		return ev_pkt_mode(pkt, cap, strcmp(cmd, "sleep") == 0);
	if (strcmp(cmd, "reboot") == 0)
		return ev_pkt_reboot(pkt, cap);
	if (strcmp(cmd, "packet") != 0)
		return -1;
	*res = "idle";
	while (s < e && (pl[s] == ' ' || pl[s] == '\n' || pl[s] == '\r'))
		s++;
	while (e > s && (pl[e - 1] == ' ' || pl[e - 1] == '\n' ||
	    pl[e - 1] == '\r'))
		e--;
	if (e - s >= sizeof(b64))
		return -1;
	memcpy(b64, pl + s, e - s);
	b64[e - s] = '\0';
	if ((n = ev_b64dec(b64, e - s, pkt, cap)) == -1 ||
	    !ev_pkt_valid(pkt, (size_t)n))
		return -1;
	return n;
}

static int
known(const char *cmd)
{
	static const char *const cmds[] = { "ears", "ambient", "sleep",
	    "wake", "reboot", "packet", NULL };
	size_t	i;

	for (i = 0; cmds[i] != NULL; i++)
		if (strcmp(cmds[i], cmd) == 0)
			return 1;
	return 0;
}

void
ev_command(struct ev_state *st, const char *topic, const char *pl,
    size_t len)
{
	unsigned char	 pkt[EV_PACKET_MAX];
	char		 mac[13];
	const char	*p, *cmd, *res;
	size_t		 plen = strlen(st->set.prefix);
	int		 n;

	if (pl == NULL)		/* an empty message (mosquitto_pub -n) */
		pl = "", len = 0;
	/* PREFIX/MAC/set/CMD, MAC 12 lowercase hex digits. */
	if (strncmp(topic, st->set.prefix, plen) != 0 || topic[plen] != '/')
		return;
	p = topic + plen + 1;
	if (strlen(p) < 18 || strncmp(p + 12, "/set/", 5) != 0 ||
	    strspn(p, "0123456789abcdef") != 12)
		return;
	memcpy(mac, p, 12);
	mac[12] = '\0';
	cmd = p + 17;
	if (!known(cmd)) {
		st->h->flog(&nab_filter, NAB_LOG_WARN, "command for %s dropped: "
		    "unknown command (ears, ambient, sleep, wake, reboot, "
		    "packet)", mac);
		return;
	}
	if ((n = encode(cmd, pl, len, pkt, sizeof(pkt), &res)) == -1) {
		st->h->flog(&nab_filter, NAB_LOG_WARN, "command %s for %s "
		    "dropped: the payload is not what docs/events.md says",
		    cmd, mac);
		return;
	}
	if (ev_send_packet(st, mac, pkt, (size_t)n, res) == -1) {
		st->h->flog(&nab_filter, NAB_LOG_WARN, "command %s for %s "
		    "dropped: that rabbit is not online", cmd, mac);
		return;
	}
	st->h->flog(&nab_filter, NAB_LOG_INFO, "command %s sent to %s", cmd,
	    mac);
}
