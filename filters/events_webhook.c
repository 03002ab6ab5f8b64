/*
 * events_webhook: the events filter's webhook. Each event is one JSON
 * POST to the configured URL, from a bounded FIFO (webhook-queue
 * entries; when full a new event is dropped with a log line), one request
 * at a time through the host's http_post (bounded by webhook-timeout).
 * A 2xx answer is done; a 5xx, a timeout or no answer is retried after
 * 1 s, 2 s, 4 s ... up to webhook-retries times, then dropped with a log
 * line; any other status is dropped at once. Nothing here runs in a
 * rabbit's hook except queueing, so a slow or dead endpoint only delays
 * other webhooks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events-int.h"

struct wh_item {
	struct wh_item	*next;
	unsigned	 tries;
	char		 body[];
};

struct ev_webhook {
	struct ev_state		*st;
	struct wh_item		*head, *tail;
	size_t			 n;
	struct nab_http		*busy;
	struct nab_ftimer	*wait;
	unsigned long long	 sent, dropped;
};

#define H(w)	((w)->st->h)

static void	wh_next(struct ev_webhook *);

struct ev_webhook *
ev_webhook_new(struct ev_state *st)
{
	struct ev_webhook	*w;

	if ((w = calloc(1, sizeof(*w))) != NULL)
		w->st = st;
	return w;
}

static void
wh_pop(struct ev_webhook *w)
{
	struct wh_item	*it = w->head;

	if (it == NULL)
		return;
	w->head = it->next;
	if (w->head == NULL)
		w->tail = NULL;
	w->n--;
	free(it);
}

static void
wh_retry(void *arg)
{
	struct ev_webhook	*w = arg;

	w->wait = NULL;
	wh_next(w);
}

static void
wh_done(int status, const char *why, void *arg)
{
	struct ev_webhook	*w = arg;
	struct wh_item		*it = w->head;
	unsigned		 delay;

	w->busy = NULL;
	if (status >= 200 && status < 300) {
		w->sent++;
		wh_pop(w);
		wh_next(w);
		return;
	}
	if ((status == 0 || status >= 500) && it != NULL &&
	    it->tries <= w->st->set.webhook_retries) {
		delay = 1000u << (it->tries > 6 ? 6 : it->tries - 1);
		H(w)->flog(&nab_filter, NAB_LOG_WARN, "webhook: %s%s%.0d, try "
		    "%u of %lld, next in %u ms", status ? "HTTP status " : "",
		    status ? "" : why, status, it->tries,
		    w->st->set.webhook_retries + 1, delay);
		w->wait = H(w)->ftimer_add(delay, wh_retry, w);
		return;
	}
	H(w)->flog(&nab_filter, NAB_LOG_WARN, "webhook: event dropped after "
	    "%u tries (%s%s%.0d)", it ? it->tries : 0, status ?
	    "HTTP status " : "", status ? "" : why, status);
	w->dropped++;
	wh_pop(w);
	wh_next(w);
}

/* Start the head item unless one is running or waiting. */
static void
wh_next(struct ev_webhook *w)
{
	struct wh_item	*it;
	const char	*why = NULL;
	const char	*ca;

	while (w->busy == NULL && w->wait == NULL && (it = w->head) != NULL) {
		it->tries++;
		ca = w->st->set.webhook_ca[0] ? w->st->set.webhook_ca : NULL;
		w->busy = H(w)->http_post(w->st->set.webhook, "application/json",
		    it->body, strlen(it->body),
		    (unsigned)w->st->set.webhook_timeout, ca, wh_done, w, &why);
		if (w->busy != NULL)
			return;
		H(w)->flog(&nab_filter, NAB_LOG_WARN, "webhook: cannot post: "
		    "%s; event dropped", why ? why : "?");
		w->dropped++;
		wh_pop(w);
	}
}

void
ev_webhook_send(struct ev_webhook *w, const char *json)
{
	struct wh_item	*it;
	size_t		 n = strlen(json);

	if (w == NULL)
		return;
	if (w->n >= (size_t)w->st->set.webhook_queue) {
		H(w)->flog(&nab_filter, NAB_LOG_WARN, "webhook: queue full (%lld), "
		    "event dropped", w->st->set.webhook_queue);
		w->dropped++;
		return;
	}
	if ((it = malloc(sizeof(*it) + n + 1)) == NULL)
		return;
	it->next = NULL;
	it->tries = 0;
	memcpy(it->body, json, n + 1);
	if (w->tail != NULL)
		w->tail->next = it;
	else
		w->head = it;
	w->tail = it;
	w->n++;
	wh_next(w);
}

void
ev_webhook_free(struct ev_webhook *w)
{
	if (w == NULL)
		return;
	H(w)->http_cancel(w->busy);
	H(w)->ftimer_del(w->wait);
	while (w->head != NULL)
		wh_pop(w);
	free(w);
}
