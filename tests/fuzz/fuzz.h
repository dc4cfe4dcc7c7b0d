/*
 * Shared by the fuzz entry points and the plain driver.
 */
#ifndef NS_TESTS_FUZZ_H
#define NS_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#define FUZZ_OUR_IP 0x0ac80002u   /* 10.200.0.2 */
#define FUZZ_PEER_IP 0x0ac80001u  /* 10.200.0.1 */

extern const uint8_t fuzz_our_mac[6];
extern const uint8_t fuzz_peer_mac[6];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Free everything the entry point set up (for leak checking). */
void fuzz_cleanup(void);
unsigned long fuzz_frames_sent(void);

#endif
