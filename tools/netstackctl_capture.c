/*
 * netstackctl capture: frames netstackd receives and sends, as a pcap
 * file (-w) or one summary line per frame, like tcpdump.
 *
 * The CaptureRequest's reply brings a stream socket (proto/capture.h).
 * We read records until COUNT frames or SIGINT/SIGTERM, then shut down
 * our writing side, which tells netstackd to detach; we keep reading
 * (without writing) until its end record, which gives the counts printed
 * at the end, as tcpdump's "packets captured" / "packets dropped by
 * kernel".
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proto/capture.h"
#include "tools/netstackctl.h"

#define CAP_END_WAIT_MS 5000

/* The pcap file header (classic format, nanosecond timestamps). */
static int cap_write_header(FILE *f, uint32_t snaplen)
{
	struct {
		uint32_t magic;
		uint16_t major, minor;
		int32_t thiszone;
		uint32_t sigfigs, snaplen, linktype;
	} h = { 0xa1b23c4du, 2, 4, 0, 0, snaplen, 1 };

	return fwrite(&h, sizeof(h), 1, f) == 1 ? 0 : -1;
}

static int cap_write_frame(FILE *f, const struct ns_capture_rec *rec, const uint8_t *data)
{
	uint32_t h[4] = {
		(uint32_t)(rec->tstamp_ns / 1000000000u), (uint32_t)(rec->tstamp_ns % 1000000000u),
		rec->caplen, rec->len,
	};

	if (fwrite(h, sizeof(h), 1, f) != 1)
		return -1;
	return rec->caplen && fwrite(data, rec->caplen, 1, f) != 1 ? -1 : 0;
}

/* One line: time, device, direction, then what L3/L4 say. */
static void cap_print_summary(const struct ns_capture_rec *rec, const uint8_t *p)
{
	char when[32], s[INET_ADDRSTRLEN], d[INET_ADDRSTRLEN];
	time_t secs = (time_t)(rec->tstamp_ns / 1000000000u);
	struct tm tm;
	uint32_t n = rec->caplen;
	uint16_t type;

	localtime_r(&secs, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	printf("%s.%06u %s %-3s ", when, (unsigned int)(rec->tstamp_ns % 1000000000u / 1000u),
	       rec->ifname, rec->dir == NS_CAPTURE_OUT ? "Out" : "In");
	if (n < 14) {
		printf("truncated frame, length %u\n", rec->len);
		return;
	}
	type = (uint16_t)(p[12] << 8 | p[13]);
	if (type == 0x0806 && n >= 14 + 28) {
		inet_ntop(AF_INET, p + 14 + 14, s, sizeof(s));
		inet_ntop(AF_INET, p + 14 + 24, d, sizeof(d));
		if (p[14 + 7] == 1)
			printf("ARP, Request who-has %s tell %s, length %u\n", d, s, rec->len);
		else
			printf("ARP, Reply %s is-at %02x:%02x:%02x:%02x:%02x:%02x, length %u\n", s,
			       p[22], p[23], p[24], p[25], p[26], p[27], rec->len);
		return;
	}
	if (type != 0x0800 || n < 14 + 20) {
		printf("ethertype 0x%04x, length %u\n", type, rec->len);
		return;
	}
	{
		const uint8_t *ip = p + 14, *l4;
		uint32_t ihl = (ip[0] & 0x0fu) * 4u, avail = n - 14;
		uint16_t tot = (uint16_t)(ip[2] << 8 | ip[3]), off = (uint16_t)(ip[6] << 8 | ip[7]);

		inet_ntop(AF_INET, ip + 12, s, sizeof(s));
		inet_ntop(AF_INET, ip + 16, d, sizeof(d));
		l4 = ip + ihl;
		if ((off & 0x1fff) || ihl < 20 || avail < ihl + 8) {
			printf("IP %s > %s: proto %u, length %u%s\n", s, d, ip[9], tot,
			       (off & 0x1fff) ? " (fragment)" : "");
			return;
		}
		switch (ip[9]) {
		case 6: {
			static const char fl[] = "FSRPAUEW";
			char flags[9];
			int k = 0;
			uint32_t thl = (uint32_t)(l4[12] >> 4) * 4u;

			for (int b = 0; b < 8; b++)
				if (l4[13] & (1u << b))
					flags[k++] = fl[b];
			flags[k] = '\0';
			printf("IP %s.%u > %s.%u: tcp [%s] seq %" PRIu32 " ack %" PRIu32
			       " win %u, length %u\n", s, l4[0] << 8 | l4[1], d, l4[2] << 8 | l4[3],
			       k ? flags : ".",
			       (uint32_t)l4[4] << 24 | (uint32_t)l4[5] << 16 | (uint32_t)l4[6] << 8 | l4[7],
			       avail >= ihl + 12 ? (uint32_t)l4[8] << 24 | (uint32_t)l4[9] << 16 |
							   (uint32_t)l4[10] << 8 | l4[11] : 0,
			       avail >= ihl + 16 ? (unsigned int)(l4[14] << 8 | l4[15]) : 0,
			       tot > ihl + thl ? tot - ihl - thl : 0);
			break;
		}
		case 17:
			printf("IP %s.%u > %s.%u: udp, length %u\n", s, l4[0] << 8 | l4[1], d,
			       l4[2] << 8 | l4[3], tot > ihl + 8 ? tot - ihl - 8 : 0);
			break;
		case 1:
			printf("IP %s > %s: icmp type %u code %u%s, length %u\n", s, d, l4[0], l4[1],
			       l4[0] == 8 ? " (echo request)" : l4[0] == 0 ? " (echo reply)" :
			       l4[0] == 3 ? " (unreachable)" : "", tot - ihl);
			break;
		default:
			printf("IP %s > %s: proto %u, length %u\n", s, d, ip[9], tot);
		}
	}
}

int ctl_run_capture(int argc, char **argv, const struct ctl_opts *o)
{
	Netstack__Request req = NETSTACK__REQUEST__INIT;
	Netstack__CaptureRequest creq = NETSTACK__CAPTURE_REQUEST__INIT;
	Netstack__Reply *reply;
	const char *file = NULL;
	uint32_t count = 0, snaplen = 0;
	uint64_t seen = 0;
	struct ns_capture_end end = { 0 };
	bool have_end = false, shut = false, timed_out = false;
	FILE *out = NULL;
	uint8_t *data = NULL;
	int i, fd = -1, ret = EXIT_FAIL;

	for (i = 0; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		const char *opt = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(opt, "--")) {
			i++;
			break;
		}
		if (!v)
			return ctl_usage_error("capture: '%s' needs a value", opt);
		if (!strcmp(opt, "-i")) {
			creq.dev = (char *)(strcmp(v, "any") ? v : "");
		} else if (!strcmp(opt, "-c")) {
			if (ctl_parse_u32(v, UINT32_MAX, &count) || !count)
				return ctl_usage_error("capture: bad count '%s'", v);
		} else if (!strcmp(opt, "-w")) {
			file = v;
		} else if (!strcmp(opt, "-B")) {
			if (ctl_parse_u32(v, 256u * 1024u, &creq.buffer_kb) || creq.buffer_kb < 128)
				return ctl_usage_error("capture: -B takes 128..262144 KiB, not '%s'", v);
		} else if (!strcmp(opt, "-s")) {
			if (ctl_parse_u32(v, 65535, &creq.snaplen))
				return ctl_usage_error("capture: bad snaplen '%s'", v);
		} else {
			return ctl_usage_error("capture: unknown option '%s'", opt);
		}
		i++;
	}
	creq.n_filter = (size_t)(argc - i);
	creq.filter = argv + i;

	req.seq = 2;
	req.body_case = NETSTACK__REQUEST__BODY_CAPTURE;
	req.capture = &creq;
	reply = ctl_call_stream(o, &req, NETSTACK__REPLY__BODY_CAPTURE, "capture", &fd);
	if (!reply)
		return EXIT_FAIL;
	snaplen = reply->capture->snaplen;
	data = malloc(65536 + 8);
	if (!data) {
		ctl_err("out of memory");
		goto out_reply;
	}
	if (file) {
		out = strcmp(file, "-") ? fopen(file, "wb") : stdout;
		if (!out) {
			ctl_err("cannot open %s: %s", file, strerror(errno));
			goto out_reply;
		}
		if (cap_write_header(out, snaplen)) {
			ctl_err("cannot write %s: %s", file, strerror(errno));
			goto out_file;
		}
		fflush(out);
	}
	ctl_catch_interrupt();
	fprintf(stderr, PROG ": capturing on %s, link-type EN10MB (Ethernet), snapshot length %u bytes\n",
		creq.dev && *creq.dev ? creq.dev : "every device", snaplen);

	for (;;) {
		struct ns_capture_rec rec;
		int r;

		if (!shut && (ctl_interrupted || (count && seen >= count))) {
			/* Tell netstackd to stop; its end record follows what it holds. */
			shutdown(fd, SHUT_WR);
			shut = true;
		}
		r = ctl_read_record(fd, &rec, sizeof(rec), !shut, CAP_END_WAIT_MS, &timed_out);
		if (r < 0 && !shut && ctl_interrupted)
			continue;
		if (r <= 0)
			break;
		if (rec.caplen > 65536) {
			ctl_err("corrupt capture stream (record of %u bytes)", rec.caplen);
			break;
		}
		if (ctl_read_record(fd, data, NS_CAPTURE_ALIGN(rec.caplen), false, CAP_END_WAIT_MS,
				    &timed_out) <= 0)
			break;
		if (rec.type == NS_CAPTURE_END) {
			if (rec.caplen == sizeof(end)) {
				memcpy(&end, data, sizeof(end));
				have_end = true;
			}
			break;
		}
		if (rec.type != NS_CAPTURE_FRAME || (count && seen >= count))
			continue;
		seen++;
		if (out) {
			if (cap_write_frame(out, &rec, data)) {
				ctl_err("cannot write %s: %s", file, strerror(errno));
				goto out_file;
			}
			if (out == stdout)
				fflush(out);
		} else {
			cap_print_summary(&rec, data);
			fflush(stdout);
		}
	}
	if (!have_end) {
		ctl_err(timed_out ? "no end record from netstackd within %d s"
			: "netstackd ended the capture without an end record", CAP_END_WAIT_MS / 1000);
		fprintf(stderr, "%" PRIu64 " packets captured\n", seen);
		goto out_file;
	}
	fprintf(stderr, "%" PRIu64 " packets captured\n%" PRIu64
		" packets received by filter\n%" PRIu64 " packets dropped by netstackd\n",
		seen, end.captured + end.dropped, end.dropped);
	ret = 0;
out_file:
	if (out && out != stdout && fclose(out) != 0 && ret == 0) {
		ctl_err("cannot write %s: %s", file, strerror(errno));
		ret = EXIT_FAIL;
	}
out_reply:
	free(data);
	if (fd >= 0)
		close(fd);
	netstack__reply__free_unpacked(reply, NULL);
	return ret;
}
