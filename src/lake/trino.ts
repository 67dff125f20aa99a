/**
 * Trino (Athena engine version 3) functions as DuckDB macros, so that queries written for Security Lake's Athena
 * tables run unchanged on the local lake: `date_format(ts, '%Y-%m-%d %H:%i:%s')`, `from_unixtime(time / 1000)`,
 * `json_extract_scalar(j, '$.a.b')`, `cardinality(answers)`, `date_add('day', -59, CURRENT_TIMESTAMP)`, ...
 *
 * Every connection the DuckDB wrapper (duckdb.ts) opens runs TRINO_SESSION_SQL once: one batch of
 * `CREATE OR REPLACE TEMP MACRO` statements (temporary: nothing is written into a database file) and the session
 * time zone UTC (Athena's), so `CURRENT_TIMESTAMP - INTERVAL '7' DAY` compares with the lake's UTC timestamps the
 * way it does in Athena on any machine.
 *
 * A temporary macro takes precedence over a DuckDB built-in of the same name. Where DuckDB has a function of the
 * same name and different semantics, the macro follows Trino and keeps DuckDB's other signatures working:
 * - `date_add(date, interval)` (DuckDB) still works beside Trino's `date_add(unit, value, timestamp)`;
 * - `date_diff(unit, t1, t2)` counts whole units as Trino does (DuckDB's counts unit boundaries crossed, which is
 *   still available as `system.main.date_diff`);
 * - `element_at` returns the value (DuckDB's returns a one-element list for maps) and accepts arrays;
 * - `cardinality` accepts arrays as well as maps; `millisecond` is the millisecond of the second.
 * DuckDB built-ins whose semantics differ from Trino's only at the edges are left alone because seclake's own
 * SQL relies on them: `split_part` and `regexp_extract` return '' where Trino returns NULL; `contains` is also
 * DuckDB's substring test (Trino's `contains(array, x)` works; its `contains(cidr, ipaddress)` does not).
 *
 * Trino functions that take a lambda (`transform`, `any_match`, `all_match`, `none_match`, `zip_with`,
 * `reduce`) cannot be macros (DuckDB cannot pass a lambda to a macro); DuckDB's own `filter` and `list_transform`
 * take Trino's `x -> ...` lambdas. docs/sql.md lists what is supported and what is not.
 */

/** One Trino function provided as a macro: its name, Trino's signatures, and the macro's DuckDB overloads. */
export interface TrinoMacro {
  name: string;
  /** Trino signatures it covers (for the docs), e.g. `date_format(timestamp, format) -> varchar`. */
  trino: string[];
  /** Overloads: `(params) AS expression`, joined with ', ' after the macro name. */
  overloads: string[];
  /** How it differs from Trino, if it does. */
  differs?: string;
}

/**
 * Specifiers Trino rejects: an invalid strftime specifier, so the query fails naming it ("Failed to parse format
 * specifier %<Trino does not support %D>"). error() would do, but keeps the format from folding to the constant
 * strftime/strptime need.
 */
const unsupported = (spec: string): string => `'%<Trino does not support ${spec}>'`;

/**
 * MySQL-style format specifiers (Trino's date_format/date_parse) -> DuckDB strftime/strptime specifiers.
 * https://trino.io/docs/current/functions/datetime.html#mysql-date-functions
 */
const MYSQL_FORMAT: readonly [string, string][] = [
  ['%a', "'%a'"],
  ['%b', "'%b'"],
  ['%c', "'%-m'"],
  ['%d', "'%d'"],
  ['%e', "'%-d'"],
  // Printing: six digits, truncated to milliseconds (000000 .. 999000); parsing: the fraction as given.
  ['%f', "CASE WHEN parsing THEN '%f' ELSE '%g000' END"],
  ['%H', "'%H'"],
  ['%h', "'%I'"],
  ['%I', "'%I'"],
  ['%i', "'%M'"],
  ['%j', "'%j'"],
  ['%k', "'%-H'"],
  ['%l', "'%-I'"],
  ['%M', "'%B'"],
  ['%m', "'%m'"],
  ['%p', "'%p'"],
  ['%r', "'%I:%M:%S %p'"],
  ['%S', "'%S'"],
  ['%s', "'%S'"],
  ['%T', "'%H:%M:%S'"],
  ['%v', "'%V'"],
  ['%W', "'%A'"],
  ['%x', "'%G'"],
  ['%Y', "'%Y'"],
  ['%y', "'%y'"],
  ['%%', "'%%'"],
  ...['%D', '%U', '%u', '%V', '%w', '%X'].map((s): [string, string] => [s, unsupported(s)]),
];

/** Internal helper macros (not Trino functions). */
const HELPERS: readonly string[] = [
  // A Trino (MySQL) format string as a strftime/strptime one: tokens are `%x` or literal runs; `%x` for an x not
  // listed is x itself.
  `CREATE OR REPLACE TEMP MACRO seclake_trino_format(f, parsing) AS array_to_string(list_transform(` +
    `regexp_extract_all(f, '(?s)%.|%$|[^%]+'), t -> CASE WHEN t[1] <> '%' THEN t ` +
    MYSQL_FORMAT.map(([k, v]) => `WHEN t = '${k}' THEN ${v}`).join(' ') +
    ` ELSE t[2] END), '')`,
  'CREATE OR REPLACE TEMP MACRO seclake_trino_parse_format(f) AS f',
  // The parts of a URI, RFC 3986 appendix B: 2 scheme, 4 authority, 5 path, 7 query, 9 fragment.
  `CREATE OR REPLACE TEMP MACRO seclake_url_part(u, g) AS ` +
    `regexp_extract(u, '^(([^:/?#]+):)?(//([^/?#]*))?([^?#]*)(\\?([^#]*))?(#(.*))?', g)`,
  // Host and port of an authority (userinfo dropped; an IPv6 host keeps its brackets, as in Trino).
  `CREATE OR REPLACE TEMP MACRO seclake_url_hostport(u, g) AS ` +
    `regexp_extract(seclake_url_part(u, 4), '^(?:[^@]*@)?(\\[[^\\]]*\\]|[^:]*)(?::([0-9]*))?$', g)`,
];

/** Interval units of date_add (Trino: millisecond .. year) as DuckDB interval constructors. */
const addUnit = (value: string): string =>
  `CASE lower(unit) WHEN 'millisecond' THEN to_milliseconds(${value}) WHEN 'second' THEN to_seconds(${value}) ` +
  `WHEN 'minute' THEN to_minutes(${value}) WHEN 'hour' THEN to_hours(${value}) WHEN 'day' THEN to_days(${value}) ` +
  `WHEN 'week' THEN to_weeks(${value}) WHEN 'month' THEN to_months(${value}) WHEN 'quarter' THEN to_months(3 * ${value}) ` +
  `WHEN 'year' THEN to_years(${value}) ELSE error('date_add: unknown unit ' || unit) END`;

export const TRINO_MACROS: readonly TrinoMacro[] = [
  // ---- date and time ----
  {
    name: 'date_format',
    trino: ['date_format(timestamp, format) -> varchar'],
    overloads: ['(ts, f) AS strftime(ts, seclake_trino_format(f, false))'],
    differs: 'a timestamp with time zone is formatted in the session zone (UTC)',
  },
  {
    name: 'date_parse',
    trino: ['date_parse(string, format) -> timestamp(3)'],
    // DuckDB checks, when a macro is created, that strptime's format is a constant (a parameter passes, an
    // expression of one does not): the format goes through a helper that is the identity while date_parse is
    // created and is redefined afterwards (TRINO_SESSION_SQL); a call with a literal format folds to a constant.
    overloads: ['(s, f) AS strptime(s, seclake_trino_parse_format(f))'],
    differs: "two-digit year 69 (%y) is 1969 (DuckDB's pivot), where Trino reads 2069",
  },
  {
    name: 'from_unixtime',
    trino: [
      'from_unixtime(unixtime) -> timestamp(3) with time zone',
      'from_unixtime(unixtime, zone) -> timestamp(3) with time zone',
      'from_unixtime(unixtime, hours, minutes) -> timestamp(3) with time zone',
    ],
    overloads: [
      '(x) AS to_timestamp(x)',
      '(x, zone) AS timezone(zone, to_timestamp(x))',
      "(x, h, m) AS timezone('UTC', to_timestamp(x)) + to_hours(h) + to_minutes(m)",
    ],
    differs: 'with a zone or offset: the wall-clock time there, as a timestamp without time zone',
  },
  { name: 'to_unixtime', trino: ['to_unixtime(timestamp) -> double'], overloads: ['(ts) AS epoch(ts)'] },
  {
    name: 'from_iso8601_timestamp',
    trino: ['from_iso8601_timestamp(string) -> timestamp(3) with time zone'],
    overloads: ['(s) AS CAST(s AS TIMESTAMPTZ)'],
  },
  {
    name: 'from_iso8601_date',
    trino: ['from_iso8601_date(string) -> date'],
    overloads: [
      // Calendar date, ISO week date (2020-W10[-1]) or ordinal date (2020-123).
      // Week date: the Monday of week 1 is the Monday on or before 4 January.
      `(s) AS CASE WHEN regexp_full_match(s, '[0-9]{4}-W[0-9]{2}(-[1-7])?') THEN ` +
        `list_transform([make_date(CAST(s[1:4] AS INTEGER), 1, 4)], j -> j - CAST(isodow(j) AS INTEGER) + 1 ` +
        `+ (CAST(s[7:8] AS INTEGER) - 1) * 7 + coalesce(CAST(nullif(s[10:10], '') AS INTEGER), 1) - 1)[1] ` +
        `WHEN regexp_full_match(s, '[0-9]{4}-[0-9]{3}') THEN ` +
        `make_date(CAST(s[1:4] AS INTEGER), 1, 1) + CAST(s[6:8] AS INTEGER) - 1 ` +
        `ELSE CAST(s AS DATE) END`,
    ],
  },
  {
    name: 'to_iso8601',
    trino: ['to_iso8601(x) -> varchar'],
    overloads: [
      "(x DATE) AS strftime(x, '%Y-%m-%d')",
      "(x TIMESTAMP WITH TIME ZONE) AS strftime(timezone('UTC', x), '%Y-%m-%dT%H:%M:%S.%gZ')",
      "(x TIMESTAMP) AS strftime(x, '%Y-%m-%dT%H:%M:%S.%g')",
    ],
  },
  {
    name: 'date_add',
    trino: ['date_add(unit, value, timestamp) -> [same as input]'],
    overloads: [
      // DuckDB's own date_add(date, interval).
      '(d, i) AS d + i',
      `(unit, value, ts DATE) AS CAST(ts + ${addUnit('value')} AS DATE)`,
      `(unit, value, ts) AS ts + ${addUnit('value')}`,
    ],
  },
  {
    name: 'date_diff',
    trino: ['date_diff(unit, timestamp1, timestamp2) -> bigint'],
    // DuckDB's date_sub counts whole units, as Trino's date_diff does.
    overloads: ['(unit, t1, t2) AS date_sub(unit, t1, t2)'],
    differs: "replaces DuckDB's date_diff (boundaries crossed); DuckDB's stays available as system.main.date_diff",
  },
  {
    name: 'at_timezone',
    trino: ['at_timezone(timestamp, zone) -> timestamp with time zone'],
    overloads: ['(ts, zone) AS timezone(zone, CAST(ts AS TIMESTAMPTZ))'],
    differs: 'returns the wall-clock time in the zone as a timestamp without time zone (DuckDB keeps no zone per value)',
  },
  {
    name: 'with_timezone',
    trino: ['with_timezone(timestamp, zone) -> timestamp with time zone'],
    overloads: ['(ts, zone) AS timezone(zone, CAST(ts AS TIMESTAMP))'],
  },
  { name: 'current_timezone', trino: ['current_timezone() -> varchar'], overloads: ["() AS current_setting('TimeZone')"] },
  { name: 'day_of_week', trino: ['day_of_week(x) -> bigint'], overloads: ['(x) AS isodow(x)'] },
  { name: 'dow', trino: ['dow(x) -> bigint'], overloads: ['(x) AS isodow(x)'] },
  { name: 'day_of_month', trino: ['day_of_month(x) -> bigint'], overloads: ['(x) AS day(x)'] },
  { name: 'day_of_year', trino: ['day_of_year(x) -> bigint'], overloads: ['(x) AS dayofyear(x)'] },
  { name: 'doy', trino: ['doy(x) -> bigint'], overloads: ['(x) AS dayofyear(x)'] },
  { name: 'week_of_year', trino: ['week_of_year(x) -> bigint'], overloads: ['(x) AS week(x)'] },
  { name: 'year_of_week', trino: ['year_of_week(x) -> bigint'], overloads: ['(x) AS isoyear(x)'] },
  { name: 'yow', trino: ['yow(x) -> bigint'], overloads: ['(x) AS isoyear(x)'] },
  { name: 'last_day_of_month', trino: ['last_day_of_month(x) -> date'], overloads: ['(x) AS last_day(x)'] },
  {
    name: 'millisecond',
    trino: ['millisecond(x) -> bigint'],
    // DuckDB's millisecond() includes the seconds (12.345 s -> 12345).
    overloads: ['(x) AS system.main.millisecond(x) % 1000'],
  },
  // ---- JSON ----
  {
    name: 'json_extract_scalar',
    trino: ['json_extract_scalar(json, json_path) -> varchar'],
    overloads: [
      "(j, p) AS TRY(CASE WHEN json_type(j, p) IN ('OBJECT', 'ARRAY') THEN NULL ELSE json_extract_string(j, p) END)",
    ],
  },
  { name: 'json_parse', trino: ['json_parse(string) -> json'], overloads: ['(s) AS json(s)'] },
  { name: 'json_format', trino: ['json_format(json) -> varchar'], overloads: ['(j) AS CAST(json(j) AS VARCHAR)'] },
  {
    name: 'json_size',
    trino: ['json_size(json, json_path) -> bigint'],
    overloads: [
      "(j, p) AS TRY(CASE WHEN json_type(j, p) IS NULL THEN NULL WHEN json_type(j, p) = 'ARRAY' THEN json_array_length(j, p) " +
        "WHEN json_type(j, p) = 'OBJECT' THEN len(json_keys(j, p)) ELSE 0 END)",
    ],
  },
  // ---- arrays and maps ----
  {
    name: 'cardinality',
    trino: ['cardinality(x) -> bigint'],
    overloads: ['(x MAP(VARCHAR, VARCHAR)) AS system.main.cardinality(x)', '(x) AS len(x)'],
  },
  {
    name: 'element_at',
    trino: ['element_at(array(E), index) -> E', 'element_at(map(K, V), key) -> V'],
    // Arrays: 1-based, negative from the end, NULL past the end; maps: the value or NULL.
    overloads: ['(x, k) AS x[k]'],
  },
  {
    name: 'array_join',
    trino: ['array_join(x, delimiter) -> varchar', 'array_join(x, delimiter, null_replacement) -> varchar'],
    overloads: [
      '(x, d) AS array_to_string(x, d)',
      '(x, d, n) AS array_to_string(list_transform(x, e -> coalesce(CAST(e AS VARCHAR), n)), d)',
    ],
  },
  {
    name: 'array_position',
    trino: ['array_position(x, element) -> bigint'],
    overloads: ['(x, e) AS CASE WHEN x IS NOT NULL THEN coalesce(list_position(x, e), 0) END'],
  },
  // ---- strings, regular expressions, URLs ----
  { name: 'regexp_like', trino: ['regexp_like(string, pattern) -> boolean'], overloads: ['(s, p) AS regexp_matches(s, p)'] },
  { name: 'url_extract_protocol', trino: ['url_extract_protocol(url) -> varchar'], overloads: ['(u) AS nullif(seclake_url_part(u, 2), \'\')'] },
  { name: 'url_extract_host', trino: ['url_extract_host(url) -> varchar'], overloads: ["(u) AS nullif(seclake_url_hostport(u, 1), '')"] },
  {
    name: 'url_extract_port',
    trino: ['url_extract_port(url) -> bigint'],
    overloads: ["(u) AS CAST(nullif(seclake_url_hostport(u, 2), '') AS BIGINT)"],
  },
  { name: 'url_extract_path', trino: ['url_extract_path(url) -> varchar'], overloads: ['(u) AS seclake_url_part(u, 5)'] },
  {
    name: 'url_extract_query',
    trino: ['url_extract_query(url) -> varchar'],
    overloads: ["(u) AS CASE WHEN seclake_url_part(u, 6) <> '' THEN seclake_url_part(u, 7) END"],
  },
  {
    name: 'url_extract_fragment',
    trino: ['url_extract_fragment(url) -> varchar'],
    overloads: ["(u) AS CASE WHEN seclake_url_part(u, 8) <> '' THEN seclake_url_part(u, 9) END"],
  },
  {
    name: 'url_extract_parameter',
    trino: ['url_extract_parameter(url, name) -> varchar'],
    overloads: [
      "(u, name) AS list_transform(list_filter(string_split(seclake_url_part(u, 7), '&'), kv -> split_part(kv, '=', 1) = name), " +
        "kv -> substr(kv, length(name) + 2))[1]",
    ],
  },
  // ---- aggregates ----
  // Exact: DuckDB's approx_count_distinct errs by 3-25% on simple inputs (10,000 integers: 8,571), beyond Trino's
  // documented 2.3% standard error; a local lake can afford the exact answer.
  {
    name: 'approx_distinct',
    trino: ['approx_distinct(x) -> bigint', 'approx_distinct(x, e) -> bigint'],
    overloads: ['(x) AS count(DISTINCT x)', '(x, e) AS count(DISTINCT x)'],
    differs: 'exact',
  },
  {
    name: 'approx_percentile',
    trino: ['approx_percentile(x, percentage) -> [same as x]', 'approx_percentile(x, percentages) -> array<[same as x]>'],
    overloads: ['(x, p) AS quantile_disc(x, p)'],
    differs: 'exact (a value of x at that rank)',
  },
];

/**
 * Trino functions that DuckDB has under the same name with the same behaviour for the uses Security Lake's
 * documentation makes of them (no macro needed; listed in docs/sql.md).
 */
export const TRINO_NATIVE: readonly string[] = [
  'arbitrary', 'array_agg', 'array_distinct', 'array_intersect', 'array_sort', 'bool_and', 'bool_or', 'ceiling',
  'contains', 'count_if', 'date_trunc', 'day', 'filter', 'flatten', 'hour', 'json_array_length', 'json_extract',
  'lower', 'map_keys', 'map_values', 'max_by', 'min_by', 'minute', 'month', 'quarter', 'regexp_replace',
  'second', 'split', 'split_part', 'starts_with', 'strpos', 'try', 'typeof', 'upper', 'week', 'year',
];

/**
 * Trino functions known not to work (lambda-taking functions cannot be macros; IPADDRESS is not a DuckDB type;
 * Joda-time formats are not translated).
 */
export const TRINO_UNSUPPORTED: readonly string[] = [
  'all_match', 'any_match', 'none_match', 'reduce', 'transform', 'transform_keys', 'transform_values', 'zip_with',
  'contains(cidr, CAST(ip AS IPADDRESS))', 'format_datetime', 'parse_datetime', 'from_unixtime_nanos', 'to_milliseconds',
  'parse_duration', 'human_readable_seconds',
];

/**
 * The session setup every connection runs, in one transaction (a few ms less than one commit per statement):
 * Athena's session time zone, the helpers, then one macro per function.
 */
export const TRINO_SESSION_SQL: string = [
  'BEGIN TRANSACTION',
  "SET TimeZone = 'UTC'",
  ...HELPERS,
  ...TRINO_MACROS.map((m) => `CREATE OR REPLACE TEMP MACRO ${m.name}${m.overloads.join(', ')}`),
  // See date_parse.
  'CREATE OR REPLACE TEMP MACRO seclake_trino_parse_format(f) AS seclake_trino_format(f, true)',
  'COMMIT',
].join(';\n') + ';';
