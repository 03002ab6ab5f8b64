/*
 * ctlreg_report: what the registry says to the control socket and to
 * /metrics: one line per record (key=value text or a JSON object), the
 * history, the stats line and the counters. Peer-derived strings are
 * quoted and escaped here, never printed raw.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "ctlreg.h"
#include "ctlreg-int.h"

static int	fmt_rec(struct evbuffer *, const struct ctlrec *, int, int);
static int	fmt_str(struct evbuffer *, const char *, int);

int
ctlreg_list(struct ctlreg *reg, struct evbuffer *out, int json)
{
	struct ctlrec	*r;

	TAILQ_FOREACH(r, &reg->live, entry) {
		ctlreg_rec_identity(r);
		if (fmt_rec(out, r, json, 0) == -1)
			return -1;
	}
	return 0;
}

int
ctlreg_history(struct ctlreg *reg, struct evbuffer *out, const char *mac,
    int json)
{
	struct ctlrec	*r;
	char		 m[16];

	if (mac != NULL && ctlreg_mac_norm(mac, strlen(mac), m) == -1)
		return -2;
	TAILQ_FOREACH(r, &reg->history, entry)
		if ((mac == NULL || strcmp(r->mac, m) == 0) &&
		    fmt_rec(out, r, json, 1) == -1)
			return -1;
	return 0;
}

void
ctlreg_counts(struct ctlreg *reg, struct ctlreg_counts *c)
{
	struct ctlrec	*r;

	memset(c, 0, sizeof(*c));
	c->opened = reg->opened;
	c->never_online = reg->failed;
	c->kicked = reg->kicked;
	memcpy(c->bytes, reg->total, sizeof(c->bytes));
	memcpy(c->units, reg->units, sizeof(c->units));
	memcpy(c->stanzas, reg->stanzas, sizeof(c->stanzas));
	memcpy(c->scanned, reg->scanned, sizeof(c->scanned));
	memcpy(c->reached, reg->reached, sizeof(c->reached));
	memcpy(c->closed, reg->closed, sizeof(c->closed));
	c->auth_failed = reg->auth_failed;
	c->refused = reg->refused;
	c->stream_errors = reg->stream_errors;
	TAILQ_FOREACH(r, &reg->live, entry)
		c->live++;
	c->history = reg->nhistory;
}

int
ctlreg_stats(struct ctlreg *reg, struct evbuffer *out)
{
	struct ctlrec	*r;
	size_t		 live = 0;

	TAILQ_FOREACH(r, &reg->live, entry)
		live++;
	return evbuffer_add_printf(out, "sessions=%zu opened=%llu "
	    "never_online=%llu kicked=%llu history=%zu bytes_from_rabbits=%llu "
	    "bytes_from_server=%llu watch=%zu\n", live, reg->opened,
	    reg->failed, reg->kicked, reg->nhistory, reg->total[0],
	    reg->total[1], reg->nwatch) == -1 ? -1 : 0;
}

/*
 * A peer-derived string: JSON (json 1) or the text format, where a value
 * is bare unless it is empty ("-"), or holds a space, a quote, a
 * backslash or a byte outside printable ASCII: then it is quoted with
 * backslash escapes (\xNN). JSON writes those bytes as \u00NN.
 */
static int
fmt_str(struct evbuffer *out, const char *s, int json)
{
	const unsigned char	*p;
	int			 quote = json || *s == '\0' ? json : 0;

	for (p = (const unsigned char *)s; !quote && *p != '\0'; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == '"' || *p == '\\')
			quote = 1;
	if (!quote)
		return evbuffer_add_printf(out, "%s", *s ? s : "-");
	if (evbuffer_add(out, "\"", 1) == -1)
		return -1;
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\') {
			if (evbuffer_add_printf(out, "\\%c", *p) == -1)
				return -1;
		} else if (*p < ' ' || *p >= 0x7f) {
			if (evbuffer_add_printf(out, json ? "\\u%04x" :
			    "\\x%02x", *p) == -1)
				return -1;
		} else if (evbuffer_add(out, p, 1) == -1)
			return -1;
	}
	return evbuffer_add(out, "\"", 1);
}

/*
 * One record as a line: key=value pairs (text) or one JSON object. ended
 * adds the end time and the reason, for the history.
 */
static int
fmt_rec(struct evbuffer *out, const struct ctlrec *r, int json, int ended)
{
	const char *const keys[] = { "addr", "mac", "jid", "firmware",
	    "profile", "stage", "error", "warning", "hazard" };
	const char	*vals[9];
	char		 since[32];
	struct tm	 tm;
	size_t		 i;
	int		 rc = 0;

	vals[0] = r->peer; vals[1] = r->mac; vals[2] = ctlreg_rec_str(r->jid);
	vals[3] = ctlreg_rec_str(r->firmware);
	vals[4] = ctlreg_rec_str(r->profile);
	vals[5] = ctlreg_stage_name(r->stage);
	vals[6] = ctlreg_rec_str(r->error);
	vals[7] = ctlreg_rec_str(r->warning);
	vals[8] = ctlreg_rec_str(r->hazard);
	gmtime_r(&r->since, &tm);
	strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ", &tm);
	rc |= evbuffer_add_printf(out, json ? "{\"id\":%llu" : "id=%llu",
	    (unsigned long long)r->id);
	for (i = 0; i < 9; i++) {
		rc |= evbuffer_add_printf(out, json ? ",\"%s\":" : " %s=",
		    keys[i]);
		rc |= fmt_str(out, vals[i], json);
	}
	rc |= evbuffer_add_printf(out, json ? ",\"since\":\"%s\","
	    "\"online\":%s,\"bytes_from_rabbit\":%llu,"
	    "\"bytes_from_server\":%llu" : " since=%s online=%s up=%llu "
	    "down=%llu", since, r->online ? (json ? "true" : "yes") :
	    (json ? "false" : "no"), r->bytes[0], r->bytes[1]);
	if (ended) {
		rc |= evbuffer_add_printf(out, json ? ",\"ended_ms\":%lld,"
		    "\"reason\":" : " ended=+%lldms reason=", r->ended_ms);
		rc |= fmt_str(out, r->reason ? r->reason : "", json);
	}
	rc |= evbuffer_add_printf(out, json ? ",\"timeline\":[" :
	    " timeline=");
	for (i = 0; i < r->nsteps; i++)
		rc |= evbuffer_add_printf(out, json ? "%s{\"stage\":\"%s\","
		    "\"ms\":%lld}" : "%s%s@+%lldms", i == 0 ? "" : json ?
		    "," : ",", ctlreg_stage_name(r->steps[i].stage),
		    r->steps[i].ms);
	rc |= evbuffer_add_printf(out, json ? "]}\n" : "\n");
	return rc < 0 ? -1 : 0;
}
