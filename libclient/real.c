/*
 * The C library's own functions for internal calls (see real.h).  Client
 * context: any thread of the application; no locks.
 */
#include <dlfcn.h>
#include <sys/syscall.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "real.h"

struct ns_real ns_real_fns;

void *ns_real_resolve(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);
	static const char msg1[] = "libnetstack: cannot resolve the C library's ";
	static const char msg2[] = "\n";

	if (!p) {
		/* No stdio: it may call the very functions we failed to find. */
		(void)syscall(SYS_write, 2, msg1, sizeof(msg1) - 1);
		(void)syscall(SYS_write, 2, name, strlen(name));
		(void)syscall(SYS_write, 2, msg2, sizeof(msg2) - 1);
		abort();
	}
	return p;
}

#define NS_REAL_INIT(name) ((void)REAL(name))

void ns_real_init(void)
{
	NS_REAL_INIT(socket);
	NS_REAL_INIT(bind);
	NS_REAL_INIT(connect);
	NS_REAL_INIT(listen);
	NS_REAL_INIT(accept);
	NS_REAL_INIT(accept4);
	NS_REAL_INIT(getsockname);
	NS_REAL_INIT(getpeername);
	NS_REAL_INIT(setsockopt);
	NS_REAL_INIT(getsockopt);
	NS_REAL_INIT(send);
	NS_REAL_INIT(sendto);
	NS_REAL_INIT(sendmsg);
	NS_REAL_INIT(sendmmsg);
	NS_REAL_INIT(recv);
	NS_REAL_INIT(recvfrom);
	NS_REAL_INIT(recvmsg);
	NS_REAL_INIT(recvmmsg);
	NS_REAL_INIT(read);
	NS_REAL_INIT(write);
	NS_REAL_INIT(readv);
	NS_REAL_INIT(writev);
	NS_REAL_INIT(sendfile);
	NS_REAL_INIT(close);
	NS_REAL_INIT(shutdown);
	NS_REAL_INIT(fcntl);
	NS_REAL_INIT(ioctl);
	NS_REAL_INIT(dup);
	NS_REAL_INIT(dup2);
	NS_REAL_INIT(dup3);
	NS_REAL_INIT(fstat);
	NS_REAL_INIT(poll);
	NS_REAL_INIT(ppoll);
	NS_REAL_INIT(select);
	NS_REAL_INIT(pselect);
	NS_REAL_INIT(epoll_create);
	NS_REAL_INIT(epoll_create1);
	NS_REAL_INIT(epoll_ctl);
	NS_REAL_INIT(epoll_wait);
	NS_REAL_INIT(epoll_pwait);
}
