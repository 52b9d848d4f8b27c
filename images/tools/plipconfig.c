/*
 * plipconfig: PLIP's handshake time-outs, as net-tools' plipconfig(8)
 *
 *   plipconfig IFACE                       print them
 *   plipconfig IFACE [nibble N] [trigger N] set them (units of 1 us polls)
 *
 * Linux's plip waits for the far end's handshake for "trigger" polls at
 * the start of a packet and "nibble" polls for each nibble (defaults 500
 * and 3000, tuned for two real PCs a cable apart).  The PLIP HOWTO raises
 * them for slow machines; two TCG virtual machines are such machines.
 * A static build of the same ioctl (SIOCDEVPLIP), for the busybox guest:
 * images/build.sh puts it in the image as /usr/bin/plipconfig.
 */
#include <errno.h>
#include <linux/if_plip.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int usage(void)
{
	fprintf(stderr, "usage: plipconfig IFACE [nibble N] [trigger N]\n");
	return 2;
}

static int number(const char *s, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 0);
	/* plip keeps both in 16 bits on their way to the wait loops */
	return errno || *end || !*s || *out == 0 || *out > 65535 ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct ifreq ifr;
	/* plip reads and writes the struct in place of ifr_ifru */
	struct plipconf *pcp = (struct plipconf *)&ifr.ifr_ifru;
	int fd, i;

	if (argc < 2 || argc % 2 || strlen(argv[1]) >= IFNAMSIZ)
		return usage();
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("socket");
		return 1;
	}
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, argv[1]);
	pcp->pcmd = PLIP_GET_TIMEOUT;
	if (ioctl(fd, SIOCDEVPLIP, &ifr) < 0) {
		fprintf(stderr, "plipconfig: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (argc == 2) {
		printf("%s nibble %lu trigger %lu\n", argv[1], pcp->nibble,
		       pcp->trigger);
		return 0;
	}
	for (i = 2; i < argc; i += 2) {
		unsigned long v;

		if (number(argv[i + 1], &v) < 0) {
			fprintf(stderr, "plipconfig: %s %s: give 1-65535\n",
				argv[i], argv[i + 1]);
			return 2;
		}
		if (!strcmp(argv[i], "nibble"))
			pcp->nibble = v;
		else if (!strcmp(argv[i], "trigger"))
			pcp->trigger = v;
		else
			return usage();
	}
	pcp->pcmd = PLIP_SET_TIMEOUT;
	if (ioctl(fd, SIOCDEVPLIP, &ifr) < 0) {
		fprintf(stderr, "plipconfig: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	return 0;
}
