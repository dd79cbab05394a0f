/*
 * ipcctl_table.c: how ipcctl writes for people: tables (aligned columns on a
 * terminal, tab-separated with the same header when piped, so that scripts
 * can cut them), colours (only on a terminal, never with NO_COLOR or
 * --json) and the progress bar of long dumps and loads (stderr, terminal
 * only). Nothing here talks to the daemon.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "ipcctl.h"

/* ---- colours ---------------------------------------------------------------- */

static int color_stdout, color_stderr;

void color_init(enum cli_color mode, int json)
{
	const char *no = getenv("NO_COLOR");
	if (mode == CLI_COLOR_NEVER || (mode == CLI_COLOR_AUTO && no && *no)) {
		color_stdout = color_stderr = 0;
		return;
	}
	int always = mode == CLI_COLOR_ALWAYS;
	color_stdout = !json && (always || isatty(STDOUT_FILENO));
	color_stderr = always || isatty(STDERR_FILENO);
}

int color_out(void)
{
	return color_stdout;
}

int color_err(void)
{
	return color_stderr;
}

const char *color_of_type(const char *type)
{
	if (strcmp(type, "queue") == 0)
		return "\033[36m";     /* cyan */
	if (strcmp(type, "list") == 0)
		return "\033[32m";     /* green */
	if (strcmp(type, "dict") == 0)
		return "\033[33m";     /* yellow */
	if (strcmp(type, "ns") == 0)
		return "\033[35m";     /* magenta */
	return "";
}

/* ---- cells ------------------------------------------------------------------- */

char *cell_text(const char *p, size_t n)
{
	if (!p || !n)
		p = "-", n = 1;
	char *s = malloc(n + 1);
	if (!s)
		cli_oom();
	for (size_t i = 0; i < n; i++)
		s[i] = (unsigned char)p[i] < 0x20 || p[i] == 0x7f ? '?' : p[i];
	s[n] = '\0';
	return s;
}

char *cell_printf(const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	return cell_text(tmp, strlen(tmp));
}

char *cell_str(const msgpack_object *m, const char *key)
{
	const char *p = NULL;
	size_t n = 0;
	const msgpack_object *v = wire_map_get(m, key);
	if (v && ipcd_obj_str(v, &p, &n))
		p = NULL, n = 0;
	return cell_text(p, n);
}

char *cell_age(double secs)
{
	long long s = secs > 0 ? (long long)secs : 0;
	if (s < 60)
		return cell_printf("%llds", s);
	if (s < 3600)
		return cell_printf("%lldm%02llds", s / 60, s % 60);
	if (s < 86400)
		return cell_printf("%lldh%02lldm", s / 3600, s % 3600 / 60);
	return cell_printf("%lldd%02lldh", s / 86400, s % 86400 / 3600);
}

char *cell_bytes(uint64_t n, int human)
{
	static const char units[] = "KMGTPE";
	if (!human || n < 1024)
		return cell_printf("%llu", (unsigned long long)n);
	double v = (double)n;
	int u = -1;
	while (v >= 1024 && u < 5)
		v /= 1024, u++;
	return cell_printf(v < 10 ? "%.1f%c" : "%.0f%c", v, units[u]);
}

char *cell_number(const msgpack_object *o)
{
	if (!o)
		return cell_text(NULL, 0);
	switch (o->type) {
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		return cell_printf("%llu", (unsigned long long)o->via.u64);
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		return cell_printf("%lld", (long long)o->via.i64);
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		if (!(fabs(o->via.f64) < 1e15))     /* huge, NaN: no fixed point */
			return cell_printf("%.3g", o->via.f64);
		return cell_printf(o->via.f64 == floor(o->via.f64) ? "%.0f" : "%.1f", o->via.f64);
	default:
		return cell_text(NULL, 0);
	}
}

/* ---- tables ------------------------------------------------------------------ */

void table_init(struct table *t, size_t ncols, const char *const *headers, const int *right)
{
	*t = (struct table){ .ncols = ncols, .headers = headers, .right = right };
}

char **table_row(struct table *t)
{
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		char **more = realloc(t->cells, cap * t->ncols * sizeof(*more));
		if (!more)
			cli_oom();
		t->cells = more;
		t->cap = cap;
	}
	char **row = t->cells + t->nrows++ * t->ncols;
	memset(row, 0, t->ncols * sizeof(*row));
	return row;
}

void table_print(FILE *f, const struct table *t, int aligned, int color, size_t max_rows)
{
	size_t width[TABLE_MAX_COLS] = { 0 }, nrows = t->nrows;
	if (max_rows && nrows > max_rows)
		nrows = max_rows;
	for (size_t j = 0; j < t->ncols; j++) {
		width[j] = strlen(t->headers[j]);
		for (size_t i = 0; i < nrows; i++) {
			size_t w = strlen(t->cells[i * t->ncols + j]);
			width[j] = w > width[j] ? w : width[j];
		}
	}
	for (size_t i = 0; i <= nrows; i++) {
		for (size_t j = 0; j < t->ncols; j++) {
			const char *s = i ? t->cells[(i - 1) * t->ncols + j] : t->headers[j];
			int last = j + 1 == t->ncols;
			/* The colour goes around the text, the padding outside it, so
			 * that widths count only what shows. */
			const char *sgr = !color ? "" : !i ? SGR_BOLD : t->tint && t->tint[j] ? t->tint[j](s) : "";
			if (!aligned) {
				fprintf(f, "%s%s%s%s", sgr, s, *sgr ? SGR_RESET : "", last ? "\n" : "\t");
				continue;
			}
			int pad = last && !t->right[j] ? 0 : (int)(width[j] - strlen(s));
			if (t->right[j])
				fprintf(f, "%*s", pad, "");
			fprintf(f, "%s%s%s", sgr, s, *sgr ? SGR_RESET : "");
			if (last)
				fputc('\n', f);
			else
				fprintf(f, "%*s  ", t->right[j] ? 0 : pad, "");
		}
	}
}

void table_free(struct table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->nrows = t->cap = 0;
}

/* ---- progress bar ------------------------------------------------------------ */

/* Redraw at most this often: a terminal is slower than a fast load. */
#define PROGRESS_EVERY_MS 100
#define PROGRESS_WIDTH 30

static int64_t progress_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Draw the bar over the line it is on. */
static void progress_draw(struct progress *p)
{
	uint64_t done = p->done > p->total ? p->total : p->done;
	int fill = p->total ? (int)(done * PROGRESS_WIDTH / p->total) : PROGRESS_WIDTH;
	char bar[PROGRESS_WIDTH + 1];
	memset(bar, '#', (size_t)fill);
	memset(bar + fill, '.', (size_t)(PROGRESS_WIDTH - fill));
	bar[PROGRESS_WIDTH] = '\0';
	fprintf(stderr, "\r%s [%s] %3d%% %llu/%llu items\033[K", p->what, bar,
	        p->total ? (int)(done * 100 / p->total) : 100, (unsigned long long)p->done,
	        (unsigned long long)p->total);
	fflush(stderr);
	p->drawn_ms = progress_now_ms();
}

void progress_start(struct progress *p, const char *what, uint64_t total, int allowed)
{
	*p = (struct progress){ .what = what, .total = total, .drawn_ms = -1, .on = allowed && isatty(STDERR_FILENO) };
	if (p->on)
		progress_draw(p);
}

void progress_add(struct progress *p, uint64_t n)
{
	p->done += n;
	if (p->on && progress_now_ms() - p->drawn_ms >= PROGRESS_EVERY_MS)
		progress_draw(p);
}

void progress_end(struct progress *p)
{
	if (!p->on)
		return;
	fputs("\r\033[K", stderr);
	fflush(stderr);
	p->on = 0;
}
