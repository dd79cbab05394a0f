/* example.c: the README's libipcd example, built with the project so it stays true. */
#include <ipcd.h>
#include <stdio.h>

int main(void)
{
	ipcd *c;
	int64_t hits;
	if (ipcd_connect(&c, NULL) != IPCD_OK) {           /* default socket */
		fprintf(stderr, "ipcd: %s\n", ipcd_errmsg(NULL));
		return 1;
	}
	ipcd_queue_put_str(c, "jobs", "resize a.png", -1); /* -1: wait while full */
	ipcd_dict_incr(c, "stats", "hits", 1, &hits);       /* atomic across processes */
	printf("hits = %lld\n", (long long)hits);
	ipcd_close(c);
	return 0;
}
