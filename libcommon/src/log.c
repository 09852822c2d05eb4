/*
 * JSON-lines logging to stderr. Each line is built in a stack buffer and written with one
 * write(2), so lines from many threads never interleave.
 *
 * Fields come from the FORMAT, never from the formatted message: a word `key=` of the format
 * string (a literal the code chose) names a field, and its value is what that part of the
 * format produced, its conversions formatted one by one from the same arguments. So
 * `st_log(..., "batch rows=%zu path=%s", n, path)` gives the fields rows and path, and a path
 * holding "a b sub=x" stays the one value of path: text from a client can neither end a field
 * nor make one. Everything from outside is escaped as JSON, invalid UTF-8 included.
 */
#define _GNU_SOURCE
#include "strata/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <wchar.h>

#include "strata/text.h"

#define LINE_MAX_BYTES    4096
#define MSG_MAX_BYTES     2048
#define FIELD_VALUE_BYTES 2048 /* all the values of one line together */
#define MAX_FIELDS        16

volatile int st_log_threshold = ST_LOG_INFO;
static char service_name[64] = "strata";
static _Thread_local char thread_request_id[80];

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void
st_log_init(const char *service, enum st_log_level level)
{
	if (service != NULL)
		st_strlcpy(service_name, service, sizeof(service_name));
	st_log_threshold = (int)level;
}

void
st_log_set_level(enum st_log_level level)
{
	st_log_threshold = (int)level;
}

bool
st_log_level_parse(const char *s, enum st_log_level *out)
{
	for (size_t i = 0; i < ST_ARRAY_LEN(level_names); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum st_log_level)i;
			return true;
		}
	}
	if (strcmp(s, "warning") == 0) {
		*out = ST_LOG_WARN;
		return true;
	}
	return false;
}

void
st_log_set_request_id(const char *request_id)
{
	if (request_id == NULL)
		request_id = "";
	st_strlcpy(thread_request_id, request_id, sizeof(thread_request_id));
}

const char *
st_log_request_id(void)
{
	return thread_request_id;
}

/* A bounded writer: appends while there is room and remembers whether anything was cut. */
struct out {
	char *buf;
	size_t cap, len;
	bool cut;
};

static void
put_raw(struct out *o, const char *s, size_t n)
{
	/* Keep 3 bytes for the closing `"}` of a cut line and the NUL. Once a piece has been cut,
	 * nothing more goes in: a shorter piece after it would end the line in the wrong place. */
	if (o->cut || o->len + n + 3 > o->cap) {
		o->cut = true;
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

static void
put_str(struct out *o, const char *s)
{
	put_raw(o, s, strlen(s));
}

static void
put_u_escape(struct out *o, unsigned cp)
{
	static const char hex[] = "0123456789abcdef";
	char esc[6] = {
		'\\',        'u', hex[(cp >> 12) & 15], hex[(cp >> 8) & 15], hex[(cp >> 4) & 15],
		hex[cp & 15]
	};

	put_raw(o, esc, sizeof(esc));
}

/*
 * Appends s (n bytes) as the inside of a JSON string. Control characters (C0, DEL, C1) and
 * U+2028/U+2029 become \u escapes. A byte that does not start a valid UTF-8 sequence
 * (st_utf8_seq) becomes \ufffd, U+FFFD REPLACEMENT CHARACTER, one for each such byte, as
 * Go's encoding/json does: the line stays valid UTF-8, and the byte is not passed off as the
 * Latin-1 character a \u00XX escape would name. A sequence is appended whole or not at all.
 */
static void
put_escaped(struct out *o, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;

	for (size_t i = 0; i < n && !o->cut;) {
		unsigned char c = u[i];
		size_t seq;

		if (c >= 0x80) {
			seq = st_utf8_seq(u + i, n - i);
			if (seq == 0) {
				put_u_escape(o, 0xfffd);
				i++;
			} else if (seq == 2 && c == 0xc2 && u[i + 1] < 0xa0) {
				put_u_escape(o, u[i + 1]); /* C1: U+0080..U+009F */
				i += 2;
			} else if (seq == 3 && c == 0xe2 && u[i + 1] == 0x80 &&
				   (u[i + 2] == 0xa8 || u[i + 2] == 0xa9)) {
				put_u_escape(o, 0x2000u + 0x0028u + (u[i + 2] - 0xa8u));
				i += 3;
			} else {
				put_raw(o, s + i, seq);
				i += seq;
			}
			continue;
		}
		switch (c) {
		case '"':
			put_raw(o, "\\\"", 2);
			break;
		case '\\':
			put_raw(o, "\\\\", 2);
			break;
		case '\n':
			put_raw(o, "\\n", 2);
			break;
		case '\r':
			put_raw(o, "\\r", 2);
			break;
		case '\t':
			put_raw(o, "\\t", 2);
			break;
		default:
			if (c < 0x20 || c == 0x7f)
				put_u_escape(o, c);
			else
				put_raw(o, s + i, 1);
		}
		i++;
	}
}

static void
put_kv(struct out *o, const char *key, const char *val)
{
	put_str(o, ",\"");
	put_str(o, key);
	put_str(o, "\":\"");
	put_escaped(o, val, strlen(val));
	put_str(o, "\"");
}

/* ---- fields from the format ---- */

/* The type of one conversion's argument, as printf reads it after the default promotions. */
enum arg_kind {
	ARG_NONE, /* %% */
	ARG_INT,
	ARG_UINT,
	ARG_LONG,
	ARG_ULONG,
	ARG_LLONG,
	ARG_ULLONG,
	ARG_SIZE,
	ARG_INTMAX,
	ARG_UINTMAX,
	ARG_PTRDIFF,
	ARG_DOUBLE,
	ARG_LDOUBLE,
	ARG_STR,
	ARG_PTR,
};

/* One conversion of a format: its text (from '%' to the conversion character) and types. */
struct conv {
	const char *start;
	size_t len;
	int stars; /* '*' width and precision: one int argument each, before the value */
	enum arg_kind kind;
};

/* Skips a width or a precision at p: digits, or '*' (one more int argument). */
static const char *
skip_count(const char *p, struct conv *cv)
{
	if (*p == '*') {
		cv->stars++;
		return p + 1;
	}
	while (*p >= '0' && *p <= '9')
		p++;
	return p;
}

/*
 * Reads the conversion at fmt ('%'): flags, width, precision, length and conversion. Returns
 * false for what this walker does not know (%n, wide strings, %m...): the caller then stops
 * collecting fields, since it can no longer tell which argument comes next.
 */
static bool
conv_parse(const char *fmt, struct conv *cv)
{
	const char *p = fmt + 1;
	int length = 0; /* 'H' hh, 'h', 'l', 'q' ll, 'z', 'j', 't', 'L' */

	cv->start = fmt;
	cv->stars = 0;
	while (*p != '\0' && strchr("-+ #0'", *p) != NULL)
		p++;
	p = skip_count(p, cv);
	if (*p == '.')
		p = skip_count(p + 1, cv);
	if (p[0] == 'h' && p[1] == 'h') {
		length = 'H';
		p += 2;
	} else if (p[0] == 'l' && p[1] == 'l') {
		length = 'q';
		p += 2;
	} else if (*p != '\0' && strchr("hlzjtL", *p) != NULL) {
		length = *p++;
	}
	switch (*p) {
	case '%':
		cv->kind = ARG_NONE;
		break;
	case 'd':
	case 'i':
	case 'o':
	case 'u':
	case 'x':
	case 'X': {
		bool sign = *p == 'd' || *p == 'i';

		switch (length) {
		case 0:
		case 'H':
		case 'h':
			cv->kind = sign ? ARG_INT : ARG_UINT;
			break;
		case 'l':
			cv->kind = sign ? ARG_LONG : ARG_ULONG;
			break;
		case 'q':
			cv->kind = sign ? ARG_LLONG : ARG_ULLONG;
			break;
		case 'z':
			cv->kind = ARG_SIZE; /* size_t, or its signed twin: same size */
			break;
		case 'j':
			cv->kind = sign ? ARG_INTMAX : ARG_UINTMAX;
			break;
		case 't':
			cv->kind = ARG_PTRDIFF;
			break;
		default:
			return false;
		}
		break;
	}
	case 'c':
		if (length != 0)
			return false; /* %lc: a wint_t */
		cv->kind = ARG_INT;
		break;
	case 'e':
	case 'E':
	case 'f':
	case 'F':
	case 'g':
	case 'G':
	case 'a':
	case 'A':
		if (length == 'L')
			cv->kind = ARG_LDOUBLE;
		else if (length == 0 || length == 'l')
			cv->kind = ARG_DOUBLE;
		else
			return false;
		break;
	case 's':
		if (length != 0)
			return false; /* %ls: wide */
		cv->kind = ARG_STR;
		break;
	case 'p':
		cv->kind = ARG_PTR;
		break;
	default:
		return false; /* %n never; %m and the rest are not used here */
	}
	cv->len = (size_t)(p + 1 - fmt);
	return true;
}

/*
 * Takes the conversion's arguments from ap and formats it into out (cap bytes). Returns the
 * length it needs, as snprintf does; out may be NULL with cap 0 to only consume arguments.
 * The spec is a piece of the caller's format, which ST_PRINTF checked against the arguments.
 */
static int
conv_format(const struct conv *cv, va_list *ap, char *out, size_t cap)
{
	char spec[32];
	int star[2] = { 0, 0 };
	int n = 0;

	if (cv->kind == ARG_NONE) {
		if (cap > 1)
			memcpy(out, "%", 2);
		return 1;
	}
	for (int i = 0; i < cv->stars; i++)
		star[i] = va_arg(*ap, int);
	if (cv->len >= sizeof(spec))
		return -1;
	memcpy(spec, cv->start, cv->len);
	spec[cv->len] = '\0';
#define FORMAT_ARG(type)                                                                           \
	do {                                                                                       \
		type v = va_arg(*ap, type);                                                        \
		if (cv->stars == 0)                                                                \
			n = snprintf(out, cap, spec, v);                                           \
		else if (cv->stars == 1)                                                           \
			n = snprintf(out, cap, spec, star[0], v);                                  \
		else                                                                               \
			n = snprintf(out, cap, spec, star[0], star[1], v);                         \
	} while (0)
	switch (cv->kind) {
	case ARG_INT:
		FORMAT_ARG(int);
		break;
	case ARG_UINT:
		FORMAT_ARG(unsigned int);
		break;
	case ARG_LONG:
		FORMAT_ARG(long);
		break;
	case ARG_ULONG:
		FORMAT_ARG(unsigned long);
		break;
	case ARG_LLONG:
		FORMAT_ARG(long long);
		break;
	case ARG_ULLONG:
		FORMAT_ARG(unsigned long long);
		break;
	case ARG_SIZE:
		FORMAT_ARG(size_t);
		break;
	case ARG_INTMAX:
		FORMAT_ARG(intmax_t);
		break;
	case ARG_UINTMAX:
		FORMAT_ARG(uintmax_t);
		break;
	case ARG_PTRDIFF:
		FORMAT_ARG(ptrdiff_t);
		break;
	case ARG_DOUBLE:
		FORMAT_ARG(double);
		break;
	case ARG_LDOUBLE:
		FORMAT_ARG(long double);
		break;
	case ARG_STR:
		FORMAT_ARG(const char *);
		break;
	case ARG_PTR:
		FORMAT_ARG(void *);
		break;
	case ARG_NONE:
		break;
	}
#undef FORMAT_ARG
	return n;
}

static bool
is_key_start(char c)
{
	return (c >= 'a' && c <= 'z') || c == '_';
}

static bool
is_key_char(char c)
{
	return is_key_start(c) || (c >= '0' && c <= '9') || c == '.';
}

/* The length of the `key=` that starts p in the format (a field name, then '='), or 0. */
static size_t
key_len(const char *p)
{
	size_t n = 0;

	if (!is_key_start(p[0]))
		return 0;
	while (is_key_char(p[n]))
		n++;
	return p[n] == '=' ? n : 0;
}

/* What fields_collect builds: the fields found and where their values are kept. */
struct collect {
	struct st_log_field *fields;
	size_t max, n;
	char *vals;
	size_t vals_cap, vals_len;
	bool in_field, quoted, empty_spec, full;
	size_t lit_tail; /* trailing ":;," from the format: punctuation, not value */
};

static bool
key_seen(const struct collect *c, const char *key, size_t len)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->fields[i].key_len == len && memcmp(c->fields[i].key, key, len) == 0)
			return true;
	return false;
}

static void
field_begin(struct collect *c, const char *key, size_t len, bool quoted)
{
	struct st_log_field *f;

	if (c->full || c->n >= c->max || key_seen(c, key, len))
		return; /* a key named twice keeps its first value: JSON keys stay unique */
	f = &c->fields[c->n];
	f->key = key;
	f->key_len = len;
	f->val = c->vals + c->vals_len;
	f->val_len = 0;
	c->in_field = true;
	c->quoted = quoted;
	c->empty_spec = true;
	c->lit_tail = 0;
}

static void
field_end(struct collect *c)
{
	struct st_log_field *f = &c->fields[c->n];

	if (!c->in_field)
		return;
	c->in_field = false;
	if (c->empty_spec)
		return; /* "key=" followed by nothing in the format: not a field */
	f->val_len -= c->lit_tail;
	c->vals_len = (size_t)(f->val - c->vals) + f->val_len;
	c->n++;
}

/* Appends literal format text to the open field's value. */
static void
field_lit(struct collect *c, char ch)
{
	struct st_log_field *f = &c->fields[c->n];

	if (!c->in_field)
		return;
	c->empty_spec = false;
	if (c->vals_len + f->val_len + 1 > c->vals_cap) {
		c->in_field = false; /* the values' room is spent: no more fields */
		c->full = true;
		return;
	}
	c->vals[c->vals_len + f->val_len++] = ch;
	c->lit_tail = (ch == ':' || ch == ';' || ch == ',') ? c->lit_tail + 1 : 0;
}

/*
 * Walks fmt and the arguments together and fills fields (at most max) with the format's
 * `key=` words and the text each one's value produced: up to the next space of the format,
 * or between the quotes of `key="..."`, without trailing ':', ';' or ','. Values are kept in
 * vals (cap bytes, not NUL-terminated). Returns the number of fields.
 */
static size_t
fields_collect(const char *fmt, va_list ap, struct st_log_field *fields, size_t max, char *vals,
	       size_t cap)
{
	struct collect c = { .fields = fields, .max = max, .vals = vals, .vals_cap = cap };
	va_list aq;
	bool word_start = true;

	va_copy(aq, ap);
	for (const char *p = fmt; *p != '\0';) {
		struct conv cv;

		if (*p == '%') {
			int need;

			if (!conv_parse(p, &cv)) {
				c.in_field = false; /* its value would lack this conversion */
				break;
			}
			if (c.in_field) {
				struct st_log_field *f = &c.fields[c.n];
				size_t at = c.vals_len + f->val_len;

				need = conv_format(&cv, &aq, c.vals + at, c.vals_cap - at);
				c.empty_spec = false;
				c.lit_tail = 0;
				if (need < 0 || (size_t)need >= c.vals_cap - at) {
					c.in_field = false;
					c.full = true;
				} else {
					f->val_len += (size_t)need;
				}
			} else if (conv_format(&cv, &aq, NULL, 0) < 0) {
				break;
			}
			p += cv.len;
			word_start = false;
			continue;
		}
		if (c.in_field && c.quoted && *p == '"') {
			field_end(&c);
			p++;
			word_start = false;
			continue;
		}
		if (*p == ' ' && !(c.in_field && c.quoted)) {
			field_end(&c);
			p++;
			word_start = true;
			continue;
		}
		if (word_start && !c.in_field) {
			size_t klen = key_len(p);

			word_start = false;
			if (klen > 0) {
				bool quoted = p[klen + 1] == '"';

				field_begin(&c, p, klen, quoted);
				p += klen + 1 + (quoted ? 1 : 0);
				continue;
			}
		}
		field_lit(&c, *p);
		p++;
	}
	if (c.in_field && !c.quoted)
		field_end(&c);
	va_end(aq);
	return c.n;
}

/* Appends `"fields":{...}`, if there are any. Keys are [a-z_][a-z0-9_.]*: nothing to escape. */
static void
put_fields(struct out *o, const struct st_log_field *fields, size_t nfields)
{
	for (size_t i = 0; i < nfields; i++) {
		put_str(o, i == 0 ? ",\"fields\":{\"" : ",\"");
		put_raw(o, fields[i].key, fields[i].key_len);
		put_str(o, "\":\"");
		put_escaped(o, fields[i].val, fields[i].val_len);
		put_str(o, "\"");
	}
	if (nfields > 0)
		put_str(o, "}");
}

/* Ends a line whose message string was cut: put_raw kept room for these three bytes. */
static void
put_closing(struct out *o)
{
	memcpy(o->buf + o->len, "\"}", 3);
	o->len += 2;
}

size_t
st_log_format(char *buf, size_t cap, int64_t epoch_ms, enum st_log_level level, const char *service,
	      const char *component, const char *request_id, const char *msg,
	      const struct st_log_field *fields, size_t nfields)
{
	struct out o = { buf, cap, 0, false };
	char when[32];
	int lvl = (int)level;
	size_t before_fields;
	bool in_msg;

	if (cap < 8) {
		if (cap > 0)
			buf[0] = '\0';
		return 0;
	}
	if (lvl < 0 || lvl > ST_LOG_ERROR)
		lvl = ST_LOG_ERROR;
	st_time_format_rfc3339(epoch_ms, when, sizeof(when));
	put_str(&o, "{\"time\":\"");
	put_str(&o, when);
	put_str(&o, "\",\"level\":\"");
	put_str(&o, level_names[lvl]);
	put_str(&o, "\"");
	put_kv(&o, "service", service ? service : "");
	put_kv(&o, "component", component ? component : "");
	if (request_id != NULL && request_id[0] != '\0')
		put_kv(&o, "request_id", request_id);
	put_str(&o, ",\"msg\":\"");
	in_msg = !o.cut;
	put_escaped(&o, msg, strlen(msg));
	put_str(&o, "\"");
	if (o.cut && !in_msg) {
		/* Not even the members before the message fit: an empty object is still JSON. */
		memcpy(buf, "{}", 3);
		return 2;
	}
	if (o.cut) {
		/* The message was cut inside its string: close the string and the object. */
		put_closing(&o);
		return o.len;
	}
	before_fields = o.len;
	put_fields(&o, fields, nfields);
	if (o.cut) {
		/* No room for every field: drop them, the message still carries them. */
		o.len = before_fields;
		o.cut = false;
	}
	/* Not put_str: the brace and the NUL go into the room put_raw kept. */
	memcpy(o.buf + o.len, "}", 2);
	return o.len + 1;
}

size_t
st_log_vformat(char *buf, size_t cap, int64_t epoch_ms, enum st_log_level level,
	       const char *service, const char *component, const char *request_id, const char *fmt,
	       va_list ap)
{
	char msg[MSG_MAX_BYTES];
	char vals[FIELD_VALUE_BYTES];
	struct st_log_field fields[MAX_FIELDS];
	size_t nfields;
	va_list aq;

	va_copy(aq, ap);
	vsnprintf(msg, sizeof(msg), fmt, aq);
	va_end(aq);
	nfields = fields_collect(fmt, ap, fields, ST_ARRAY_LEN(fields), vals, sizeof(vals));
	return st_log_format(buf, cap, epoch_ms, level, service, component, request_id, msg, fields,
			     nfields);
}

void
st_log_write(enum st_log_level level, const char *component, const char *fmt, ...)
{
	char line[LINE_MAX_BYTES];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = st_log_vformat(line, sizeof(line) - 1, st_now_wall_ms(), level, service_name, component,
			   thread_request_id, fmt, ap);
	va_end(ap);
	line[n++] = '\n';
	/* One write per line; a short write to stderr is not worth retrying here. */
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}
