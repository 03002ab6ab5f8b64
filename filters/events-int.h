/*
 * events filter internals, shared by events.c (hooks, rabbits, topics),
 * events_mqtt.c (libmosquitto on the host's loop), events_webhook.c
 * (queued POSTs) and events_packet.c (Violet packets, base64, JSON).
 * Nothing else includes it.
 */
#ifndef NAB_EVENTS_INT_H
#define NAB_EVENTS_INT_H

#include <stddef.h>

#include <nabproxy/filter.h>

extern const struct nab_filter nab_filter;

#define EV_MAX_RABBITS	1024
#define EV_PACKET_MAX	4096

struct ev_mqtt;
struct ev_webhook;

/* A rabbit the filter has seen reach a stage. */
struct ev_rabbit {
	char	mac[13];
	char	domain[256];
	char	stage[16];
	int	online;
	unsigned nonline;		/* its sessions that got online */
	int	left, right;		/* ears, -1 unknown */
};


/* The settings as the host fills them (ABI 1.4 table, events_conf.c). */
struct ev_settings {
	char		 broker[256];
	long long	 port;
	int		 tls;
	char		 ca[512];
	char		 username[128];
	char		 password[256];
	char		 prefix[128];
	int		 discovery;
	char		 disc_prefix[128];
	char		 webhook[1024];
	char		 webhook_ca[512];
	long long	 webhook_timeout;	/* ms */
	long long	 webhook_retries;
	long long	 webhook_queue;
};

/* Per load, allocated by the host (state_size): settings first. */
struct ev_state {
	struct ev_settings	 set;
	const struct nab_host	*h;
	int			 port;		/* set.port, or TLS ? 8883 : 1883 */
	struct ev_mqtt		*mqtt;
	struct ev_webhook	*wh;
	struct nab_ftimer	*start;
};

/* events.c: what the MQTT side calls back. */
void	ev_broker_up(struct ev_state *);
void	ev_command(struct ev_state *, const char *topic, const char *payload,
	    size_t len);

/* events.c: a packet to the online rabbit with this MAC; -1 if not. */
int	ev_send_packet(struct ev_state *, const char *mac,
	    const unsigned char *pkt, size_t n, const char *resource);

/* events_conf.c: the settings table, the filter's init and fini. */
extern const struct nab_setting ev_settings_table[];
int	ev_init(const struct nab_host *, const struct nab_kv *, size_t,
	    void **, char *, size_t);
void	ev_fini(void *);

/* events_mqtt.c */
struct ev_mqtt *ev_mqtt_new(struct ev_state *, char *err, size_t errlen);
void	ev_mqtt_start(struct ev_mqtt *);
void	ev_mqtt_free(struct ev_mqtt *);
/* QoS 1; -1 when not connected (dropped, the caller logs). */
int	ev_mqtt_publish(struct ev_mqtt *, const char *topic, const char *payload,
	    int retain);

/* events_webhook.c */
struct ev_webhook *ev_webhook_new(struct ev_state *);
void	ev_webhook_free(struct ev_webhook *);
void	ev_webhook_send(struct ev_webhook *, const char *json);

/* events_packet.c: no host calls, unit-tested alone. */
/* A Violet packet, 0x7f blocks 0xff; each returns its length or -1. */
int	ev_pkt_ears(unsigned char *out, size_t cap, int left, int right);
/* Ambient block from (service, value) pairs, sorted by service. */
int	ev_pkt_ambient(unsigned char *out, size_t cap, const int *svc,
	    const int *val, size_t n);
int	ev_pkt_mode(unsigned char *out, size_t cap, int sleep);
int	ev_pkt_reboot(unsigned char *out, size_t cap);
/* 1 if p is a well-formed packet (framing only), else 0. */
int	ev_pkt_valid(const unsigned char *p, size_t n);
int	ev_b64enc(const unsigned char *in, size_t n, char *out, size_t cap);
int	ev_b64dec(const char *in, size_t n, unsigned char *out, size_t cap);

/*
 * JSON, just what the commands need: a flat object whose values are
 * integers or strings. ev_json_int/ev_json_str look a key up (0, or -1
 * if absent, of another type or the text is not such an object).
 * ev_json_each calls cb for every key with an integer value.
 */
int	ev_json_int(const char *js, size_t n, const char *key, long *v);
int	ev_json_str(const char *js, size_t n, const char *key, char *out,
	    size_t cap);
int	ev_json_each_int(const char *js, size_t n,
	    int (*cb)(const char *key, long v, void *arg), void *arg);
/*
 * Append s as a JSON string (quoted, escaped) to out; -1 (out as it
 * was) if it does not fit.
 */
int	ev_json_quote(char *out, size_t cap, const char *s);

#endif /* NAB_EVENTS_INT_H */
