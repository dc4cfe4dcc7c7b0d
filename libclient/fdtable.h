/*
 * The fd table: which file descriptors of the process are the library's.
 *
 * A stack socket is a real descriptor (its notify eventfd), so the kernel
 * hands out the numbers and they never collide with kernel fds; this table
 * only records, per number, the library object behind it.  Objects are
 * struct ns_file (a socket, an epoll instance, or an internal fd the
 * application must not close), shared by every descriptor dup'd from the
 * same one, like the kernel's struct file.
 *
 * References.  Each table slot holds one reference, and every call in
 * flight holds one (ns_fd_get .. ns_file_put), so an object outlives a
 * close() racing with a call that still uses it; the last put calls the
 * object's release function, which is where a socket tells the daemon it
 * is closed.
 *
 * Concurrency.  Lookups of fds that are not ours are lock-free (one atomic
 * load); lookups of ours take a read lock for the increment; installs and
 * removals take the write lock.  Any thread.  fork(): the child inherits
 * the table (ns_fd_atfork_* keep the lock consistent).
 */
#ifndef NS_LIBCLIENT_FDTABLE_H
#define NS_LIBCLIENT_FDTABLE_H

#include <stdbool.h>

enum ns_file_kind {
	NS_FILE_SOCK = 1,       /* a stack socket (struct ns_sock) */
	NS_FILE_EPOLL,          /* an epoll instance with stack fds (struct ns_epoll) */
	NS_FILE_INTERNAL,       /* the daemon connection, a doorbell: hands off */
};

struct ns_file {
	enum ns_file_kind kind;
	int refs;               /* atomic: slots + calls in flight */
	/* Called once when the last reference goes; may be NULL. */
	void (*release)(struct ns_file *f);
};

/* Initialise a new object with one reference (the caller's). */
void ns_file_init(struct ns_file *f, enum ns_file_kind kind,
		  void (*release)(struct ns_file *f));
void ns_file_hold(struct ns_file *f);
void ns_file_put(struct ns_file *f);

/*
 * Make @fd refer to @f, taking a new reference for the slot.  An object
 * already in the slot is removed and put (its descriptor number was
 * reused, i.e. the kernel closed it behind our back).  0, or -ENOMEM /
 * -EBADF (negative fd).
 */
int ns_fd_install(int fd, struct ns_file *f);

/* The object behind @fd with a new reference, or NULL if @fd is not ours. */
struct ns_file *ns_fd_get(int fd);

/* Like ns_fd_get, but only for @kind (NULL otherwise). */
struct ns_file *ns_fd_get_kind(int fd, enum ns_file_kind kind);

/* True if @fd may be ours (a cheap check, no reference). */
bool ns_fd_is_ours(int fd);

/*
 * Empty the slot of @fd and return its object with the slot's reference
 * (the caller puts it), or NULL if @fd was not ours.
 */
struct ns_file *ns_fd_remove(int fd);

/*
 * Call @fn for every fd that refers to an object of @kind, under the read
 * lock (@fn must not change the table).  Stops early if @fn returns
 * non-zero and returns that value.
 */
int ns_fd_foreach(enum ns_file_kind kind, int (*fn)(int fd, struct ns_file *f, void *arg),
		  void *arg);

/* Number of slots in use (for tests and for a cheap "nothing is ours"). */
unsigned int ns_fd_count(void);

/* fork(): take the write lock before, release it after (parent), reset it (child). */
void ns_fd_atfork_prepare(void);
void ns_fd_atfork_parent(void);
void ns_fd_atfork_child(void);

/* Forget everything (tests only; does not release objects). */
void ns_fd_reset(void);

#endif
