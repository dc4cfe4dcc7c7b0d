/*
 * Drop reason names and per-thread counting.  Workers count on their own
 * table (no atomics with a lock prefix); the registry of tables is changed
 * only at start-up and shutdown, under a mutex that the control thread also
 * takes when it sums.
 */
#include <pthread.h>

#include "core/debug.h"
#include "core/drop.h"

static const char *const drop_names[] = {
#define SKB_DROP_NAME(name, text) #name,
	SKB_DROP_REASONS(SKB_DROP_NAME)
#undef SKB_DROP_NAME
};

static const char *const drop_texts[] = {
#define SKB_DROP_TEXT(name, text) text,
	SKB_DROP_REASONS(SKB_DROP_TEXT)
#undef SKB_DROP_TEXT
};

#define DROP_MAX_TABLES 256

static _Thread_local struct drop_stats *current_drops;
static struct drop_stats fallback_drops;
static struct drop_stats *tables[DROP_MAX_TABLES];
static pthread_mutex_t tables_lock = PTHREAD_MUTEX_INITIALIZER;

const char *skb_drop_reason_name(enum skb_drop_reason reason)
{
	if ((unsigned)reason >= SKB_DROP_REASON_MAX)
		return "INVALID";
	return drop_names[reason];
}

const char *skb_drop_reason_text(enum skb_drop_reason reason)
{
	if ((unsigned)reason >= SKB_DROP_REASON_MAX)
		return "invalid drop reason";
	return drop_texts[reason];
}

void drop_stats_set_current(struct drop_stats *stats)
{
	current_drops = stats;
}

void drop_count(enum skb_drop_reason reason)
{
	if ((unsigned)reason >= SKB_DROP_REASON_MAX)
		reason = SKB_DROP_REASON_NOT_SPECIFIED;
	if (current_drops)
		ns_counter_inc(&current_drops->count[reason]);
	else
		ns_counter_add_shared(&fallback_drops.count[reason], 1);
}

void drop_stats_register(struct drop_stats *stats)
{
	pthread_mutex_lock(&tables_lock);
	for (unsigned i = 0; i < DROP_MAX_TABLES; i++) {
		if (!tables[i]) {
			tables[i] = stats;
			break;
		}
	}
	pthread_mutex_unlock(&tables_lock);
}

void drop_stats_unregister(struct drop_stats *stats)
{
	pthread_mutex_lock(&tables_lock);
	for (unsigned i = 0; i < DROP_MAX_TABLES; i++) {
		if (tables[i] == stats) {
			/* Keep the counts: fold them into the fallback table. */
			for (unsigned r = 0; r < SKB_DROP_REASON_MAX; r++)
				ns_counter_add_shared(&fallback_drops.count[r],
						      ns_counter_read(&stats->count[r]));
			tables[i] = NULL;
		}
	}
	pthread_mutex_unlock(&tables_lock);
}

uint64_t drop_stats_total(enum skb_drop_reason reason)
{
	uint64_t sum;

	if ((unsigned)reason >= SKB_DROP_REASON_MAX)
		return 0;
	pthread_mutex_lock(&tables_lock);
	sum = ns_counter_read(&fallback_drops.count[reason]);
	for (unsigned i = 0; i < DROP_MAX_TABLES; i++)
		if (tables[i])
			sum += ns_counter_read(&tables[i]->count[reason]);
	pthread_mutex_unlock(&tables_lock);
	return sum;
}
