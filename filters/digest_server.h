/*
 * digest_server.h: what the two halves of the digest-server filter share
 * (digest_server.c terminates DIGEST-MD5 here; digest_relay.c relays it
 * to a server that offers it). Private to the filter; both halves use
 * the public filter ABI only.
 */
#ifndef NAB_FILTER_DIGEST_SERVER_H
#define NAB_FILTER_DIGEST_SERVER_H

#include <nabproxy/filter.h>

#define NS_SASL		"urn:ietf:params:xml:ns:xmpp-sasl"

/* Longest server nonce the relay remembers (longer: relayed unverified). */
#define DS_NONCEMAX	256

enum ds_state {
	DS_IDLE = 0,		/* no exchange of ours running */
	DS_CHALLENGED,		/* our challenge sent, waiting for the response */
	DS_VERIFIED,		/* rspauth sent, waiting for the empty response */
	DS_LOGGING_IN,		/* upstream login running, rabbit held */
	DS_WAIT_HEADER,		/* success sent, waiting for the new header */
	DS_DONE,		/* the rabbit is on its authenticated stream */
	DS_RELAY_AUTH,		/* <auth> forwarded, waiting for the challenge */
	DS_RELAY_CHALLENGED,	/* challenge relayed, waiting for the response */
	DS_RELAY_SENT,		/* response relayed, waiting for the server */
	DS_RELAY_RSPAUTH	/* server's rspauth relayed, waiting for A6 */
};

struct ds_sess {
	enum ds_state	  state;
	int		  held;		/* our hold() is in force */
	int		  aborting;	/* <abort> sent upstream, no answer yet */
	struct nab_timer *abort_timer;
	char		  nonce[DS_NONCEMAX + 1];	/* ours or the server's */
	char		  user[128];
	char		  jid[384];
	char		 *password;	/* from the store; wiped on free */
};

/* digest_server.c */
void		 ds_forget(struct ds_sess *);
void		 ds_fail(struct nab_ctx *, struct ds_sess *);
int		 ds_send_sasl(struct nab_ctx *, const char *, const char *,
		    const char *);
struct nab_stanza *ds_sasl_stanza(struct nab_ctx *, const char *,
		    const char *);
enum nab_verdict ds_local_challenge(struct nab_ctx *, struct ds_sess *);
void		 ds_login_start(struct nab_ctx *, struct ds_sess *);
const char	*ds_rabbit_password(struct nab_ctx *, const char *);
int		 ds_keep_password(struct nab_ctx *, struct ds_sess *,
		    const char *);

/* digest_relay.c */
void		 dr_init(const struct nab_host *);
int		 dr_possible(struct nab_ctx *);
enum nab_verdict dr_server(struct nab_ctx *, struct ds_sess *,
		    struct nab_stanza *);
enum nab_verdict dr_response(struct nab_ctx *, struct ds_sess *,
		    struct nab_stanza *);

#endif /* NAB_FILTER_DIGEST_SERVER_H */
