/*
 * nodelay_shim: LD_PRELOAD library that sets TCP_NODELAY on every socket
 * the process accepts or connects. Used by bench/run.sh for the what-if
 * row "nabproxy none/passthrough + TCP_NODELAY": what nabproxy would do
 * if proxy/leg.c set TCP_NODELAY on both legs, as haproxy does, without
 * touching the proxy's code. Not for production use.
 *
 * Build: gcc -O2 -shared -fPIC -o nodelay_shim.so nodelay_shim.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <sys/socket.h>

static void
nodelay(int fd)
{
	int	on = 1;

	/* Fails harmlessly (ENOTSOCK, EOPNOTSUPP) on non-TCP sockets. */
	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

int
accept(int s, struct sockaddr *a, socklen_t *l)
{
	static int (*real)(int, struct sockaddr *, socklen_t *);
	int	fd;

	if (real == NULL)
		real = (int (*)(int, struct sockaddr *, socklen_t *))
		    dlsym(RTLD_NEXT, "accept");
	fd = real(s, a, l);
	nodelay(fd);
	return fd;
}

int
accept4(int s, struct sockaddr *a, socklen_t *l, int flags)
{
	static int (*real)(int, struct sockaddr *, socklen_t *, int);
	int	fd;

	if (real == NULL)
		real = (int (*)(int, struct sockaddr *, socklen_t *, int))
		    dlsym(RTLD_NEXT, "accept4");
	fd = real(s, a, l, flags);
	nodelay(fd);
	return fd;
}

int
connect(int s, const struct sockaddr *a, socklen_t l)
{
	static int (*real)(int, const struct sockaddr *, socklen_t);

	if (real == NULL)
		real = (int (*)(int, const struct sockaddr *, socklen_t))
		    dlsym(RTLD_NEXT, "connect");
	if (a != NULL && (a->sa_family == AF_INET || a->sa_family == AF_INET6))
		nodelay(s);
	return real(s, a, l);
}
