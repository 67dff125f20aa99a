/**
 * The Trino functions (trino.ts) against Trino's documented behaviour. Expected values are the examples of Trino's
 * documentation (trino.io/docs/current/functions/*.html; the source is docs/src/main/sphinx/functions/*.md in
 * trinodb/trino) where it gives one, otherwise what its text states. Trino prints timestamps with three fractional
 * digits (2020-03-01 00:01:26.000): `ts3()` formats a result the same way.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Duck } from './duckdb.js';
import { TRINO_MACROS, TRINO_NATIVE } from './trino.js';

let db: Duck;
before(async () => {
  db = await Duck.open();
});
after(() => db.close());

/** The single value of `SELECT <expr>`. */
async function v(expr: string): Promise<unknown> {
  const rows = await db.all(`SELECT ${expr} AS v`);
  return rows[0]!.v;
}
/** A timestamp as Trino prints one (without the zone): 2020-03-01 00:01:26.000. */
const ts3 = (expr: string): Promise<unknown> => v(`strftime(${expr}, '%Y-%m-%d %H:%M:%S.%g')`);
/** A timestamp with time zone as the UTC instant Trino prints for it: 2020-05-11 10:15:05.055 UTC. */
const utc3 = (expr: string): Promise<unknown> => v(`strftime(timezone('UTC', ${expr}), '%Y-%m-%d %H:%M:%S.%g') || ' UTC'`);

test('the session is Athena\'s: time zone UTC, whatever the machine\'s', async () => {
  assert.equal(await v("current_setting('TimeZone')"), 'UTC');
  assert.equal(await v('current_timezone()'), 'UTC');
  // CURRENT_TIMESTAMP - INTERVAL compares with the lake's UTC timestamps (time_dt) as in Athena.
  assert.equal(await v("TIMESTAMP '2020-01-01 00:00:00' < CURRENT_TIMESTAMP - INTERVAL '7' DAY"), true);
});

test('date_format: MySQL specifiers, as Trino documents them (%i minutes, %M month name, %s seconds)', async () => {
  // datetime.md, date_format example.
  assert.equal(await v("date_format(TIMESTAMP '2022-10-20 05:10:00', '%m-%d-%Y %H')"), '10-20-2022 05');
  // The specifier table, on datetime.md's truncation example timestamp 2001-08-22 03:04:05.321 (a Wednesday).
  const t = "TIMESTAMP '2001-08-22 03:04:05.321'";
  const want: [string, string][] = [
    ['%a', 'Wed'], ['%b', 'Aug'], ['%c', '8'], ['%d', '22'], ['%e', '22'], ['%f', '321000'], ['%H', '03'], ['%h', '03'],
    ['%I', '03'], ['%i', '04'], ['%j', '234'], ['%k', '3'], ['%l', '3'], ['%M', 'August'], ['%m', '08'], ['%p', 'AM'],
    ['%r', '03:04:05 AM'], ['%S', '05'], ['%s', '05'], ['%T', '03:04:05'], ['%v', '34'], ['%W', 'Wednesday'], ['%x', '2001'],
    ['%Y', '2001'], ['%y', '01'], ['%%', '%'], ['%Q', 'Q'],
  ];
  for (const [spec, out] of want) assert.equal(await v(`date_format(${t}, '${spec}')`), out, spec);
  // Security Lake's source version 1 partition filter (subscriber-query-examples1.html).
  assert.equal(await v("cast(date_format(TIMESTAMP '2023-03-08 07:00:00' - INTERVAL '7' day, '%Y%m%d%H') as varchar)"), '2023030107');
  assert.equal(await v("date_format(DATE '2023-03-01', '%Y%m%d')"), '20230301');
  // "The following specifiers are not currently supported: %D %U %u %V %w %X": an error naming it.
  await assert.rejects(v(`date_format(${t}, '%D')`), /Trino does not support %D/);
  await assert.rejects(v(`date_format(${t}, 'week %U')`), /Trino does not support %U/);
});

test('date_parse: the same specifiers, parsing', async () => {
  // datetime.md, date_parse example.
  assert.equal(await ts3("date_parse('2022/10/20/05', '%Y/%m/%d/%H')"), '2022-10-20 05:00:00.000');
  assert.equal(await ts3("date_parse('2020-01-02 03:04:05', '%Y-%m-%d %H:%i:%s')"), '2020-01-02 03:04:05.000');
  assert.equal(await ts3("date_parse('2020-01-02 03:04:05.123', '%Y-%m-%d %H:%i:%s.%f')"), '2020-01-02 03:04:05.123');
  assert.equal(await ts3("date_parse('22/Aug/2001:03:04:05 PM', '%d/%b/%Y:%h:%i:%s %p')"), '2001-08-22 15:04:05.000');
  assert.equal(await v("typeof(date_parse('2022', '%Y'))"), 'TIMESTAMP');
});

test('from_unixtime / to_unixtime: seconds since 1970-01-01 00:00:00 UTC, as double', async () => {
  // datetime.md: from_unixtime(unixtime) -> timestamp(3) with time zone; unixtime is the number of seconds.
  assert.equal(await utc3('from_unixtime(1500000000.5)'), '2017-07-14 02:40:00.500 UTC');
  assert.equal(await v('typeof(from_unixtime(0))'), 'TIMESTAMP WITH TIME ZONE');
  // Security Lake stores time as epoch milliseconds: the documented idiom from_unixtime(time/1000).
  assert.equal(await utc3('from_unixtime(1500000000500 / 1000)'), '2017-07-14 02:40:00.500 UTC');
  // With a zone or an offset: the time there (as a wall-clock timestamp, see trino.ts).
  assert.equal(await ts3("from_unixtime(0, 'Asia/Kolkata')"), '1970-01-01 05:30:00.000');
  assert.equal(await ts3('from_unixtime(0, 5, 30)'), '1970-01-01 05:30:00.000');
  // to_unixtime(timestamp) -> double, the inverse.
  assert.equal(await v("to_unixtime(TIMESTAMP '2020-01-01 00:00:01.5')"), 1577836801.5);
  assert.equal(await v('to_unixtime(from_unixtime(1234.25))'), 1234.25);
});

test('from_iso8601_timestamp / from_iso8601_date / to_iso8601', async () => {
  // datetime.md examples (the session zone here is UTC, Athena's, where the docs show America/Vancouver).
  assert.equal(await utc3("from_iso8601_timestamp('2020-05-11')"), '2020-05-11 00:00:00.000 UTC');
  assert.equal(await utc3("from_iso8601_timestamp('2020-05-11T11:15:05')"), '2020-05-11 11:15:05.000 UTC');
  // 2020-05-11 11:15:05.055 +01:00 is the instant 10:15:05.055 UTC.
  assert.equal(await utc3("from_iso8601_timestamp('2020-05-11T11:15:05.055+01:00')"), '2020-05-11 10:15:05.055 UTC');
  assert.equal(await v("typeof(from_iso8601_timestamp('2020-05-11'))"), 'TIMESTAMP WITH TIME ZONE');
  // CloudTrail's eventTime.
  assert.equal(await utc3("from_iso8601_timestamp('2023-07-10T11:45:12Z')"), '2023-07-10 11:45:12.000 UTC');
  // datetime.md: a calendar date, a week date, year and day of year.
  assert.equal(await v("CAST(from_iso8601_date('2020-05-11') AS VARCHAR)"), '2020-05-11');
  assert.equal(await v("CAST(from_iso8601_date('2020-W10') AS VARCHAR)"), '2020-03-02');
  assert.equal(await v("CAST(from_iso8601_date('2020-123') AS VARCHAR)"), '2020-05-02');
  assert.equal(await v("CAST(from_iso8601_date('2020-W10-3') AS VARCHAR)"), '2020-03-04');
  assert.equal(await v("typeof(from_iso8601_date('2020-05-11'))"), 'DATE');
  // Trino's own test (TestDateTimeFunctions.testToIso8601ForTimestampWithoutTimeZone).
  assert.equal(await v("to_iso8601(TIMESTAMP '2001-08-22 03:04:05.321')"), '2001-08-22T03:04:05.321');
  assert.equal(await v("to_iso8601(DATE '2001-08-22')"), '2001-08-22');
  assert.equal(await v("to_iso8601(TIMESTAMPTZ '2001-08-22 03:04:05.321+00')"), '2001-08-22T03:04:05.321Z');
});

test("date_add: Trino's (unit, value, timestamp), and DuckDB's (date, interval) still", async () => {
  // datetime.md examples.
  assert.equal(await ts3("date_add('second', 86, TIMESTAMP '2020-03-01 00:00:00')"), '2020-03-01 00:01:26.000');
  assert.equal(await ts3("date_add('hour', 9, TIMESTAMP '2020-03-01 00:00:00')"), '2020-03-01 09:00:00.000');
  assert.equal(await utc3("date_add('day', -1, TIMESTAMPTZ '2020-03-01 00:00:00 UTC')"), '2020-02-29 00:00:00.000 UTC');
  // "[same as input]": a date stays a date; month arithmetic clamps as the + operator does
  // (datetime.md: timestamp '2012-10-31 01:00' + interval '1' month = 2012-11-30 01:00:00.000).
  assert.equal(await v("typeof(date_add('day', 1, DATE '2020-02-28'))"), 'DATE');
  assert.equal(await v("CAST(date_add('day', 1, DATE '2020-02-28') AS VARCHAR)"), '2020-02-29');
  assert.equal(await ts3("date_add('month', 1, TIMESTAMP '2012-10-31 01:00')"), '2012-11-30 01:00:00.000');
  assert.equal(await ts3("date_add('quarter', 1, TIMESTAMP '2020-01-15 00:00')"), '2020-04-15 00:00:00.000');
  assert.equal(await ts3("date_add('week', 2, TIMESTAMP '2020-01-01 00:00')"), '2020-01-15 00:00:00.000');
  assert.equal(await ts3("date_add('millisecond', 1500, TIMESTAMP '2020-01-01 00:00')"), '2020-01-01 00:00:01.500');
  assert.equal(await ts3("DATE_ADD('YEAR', -1, TIMESTAMP '2020-02-29 00:00')"), '2019-02-28 00:00:00.000');
  // Security Lake's retention clause, DATE_ADD('day', -59, CURRENT_TIMESTAMP) (subscriber-query-examples2.html).
  assert.equal(await v("DATE_ADD('day', -59, CURRENT_TIMESTAMP) = CURRENT_TIMESTAMP - INTERVAL '59' DAY"), true);
  await assert.rejects(v("date_add('fortnight', 1, TIMESTAMP '2020-01-01')"), /unknown unit fortnight/);
  assert.equal(await ts3("date_add(DATE '2020-01-01', INTERVAL 1 DAY)"), '2020-01-02 00:00:00.000');
});

test('date_diff: timestamp2 - timestamp1 in whole units', async () => {
  // datetime.md examples.
  assert.equal(await v("date_diff('second', TIMESTAMP '2020-03-01 00:00:00', TIMESTAMP '2020-03-02 00:00:00')"), 86400);
  assert.equal(await v("date_diff('hour', TIMESTAMPTZ '2020-03-01 00:00:00 UTC', TIMESTAMPTZ '2020-03-02 00:00:00 UTC')"), 24);
  assert.equal(await v("date_diff('day', DATE '2020-03-01', DATE '2020-03-02')"), 1);
  assert.equal(await v("date_diff('second', TIMESTAMP '2020-06-01 12:30:45.000000000', TIMESTAMP '2020-06-02 12:30:45.123456789')"), 86400);
  assert.equal(await v("date_diff('millisecond', TIMESTAMP '2020-06-01 12:30:45.000000000', TIMESTAMP '2020-06-02 12:30:45.123456789')"), 86400123);
  // Whole units: two hours across midnight are 0 days (DuckDB's own date_diff, which counts the midnight, says 1).
  assert.equal(await v("date_diff('day', TIMESTAMP '2020-03-01 23:00', TIMESTAMP '2020-03-02 01:00')"), 0);
  assert.equal(await v("system.main.date_diff('day', TIMESTAMP '2020-03-01 23:00', TIMESTAMP '2020-03-02 01:00')"), 1);
  assert.equal(await v("date_diff('day', TIMESTAMP '2020-03-02 00:00', TIMESTAMP '2020-03-01 00:00')"), -1);
});

test('at_timezone / with_timezone', async () => {
  // datetime.md's at_timezone example has the session in America/New_York: 09:08:07.321 there is 06:08:07.321 in
  // Los Angeles. Here the session is UTC: 09:08:07.321 UTC is 02:08:07.321 in Los Angeles (PDT, UTC-7).
  assert.equal(await ts3("at_timezone(TIMESTAMP '2022-11-01 09:08:07.321', 'America/Los_Angeles')"), '2022-11-01 02:08:07.321');
  assert.equal(await ts3("at_timezone(TIMESTAMPTZ '2022-11-01 13:08:07.321+00', 'America/Los_Angeles')"), '2022-11-01 06:08:07.321');
  // datetime.md: with_timezone(TIMESTAMP '2022-11-01 09:08:07.321', 'America/Los_Angeles') is 09:08:07.321 in Los
  // Angeles, the instant 16:08:07.321 UTC.
  assert.equal(await utc3("with_timezone(TIMESTAMP '2022-11-01 09:08:07.321', 'America/Los_Angeles')"), '2022-11-01 16:08:07.321 UTC');
});

test('extraction: day_of_week (1 Monday .. 7 Sunday), day_of_year, ISO week and year, millisecond of the second', async () => {
  // datetime.md: day_of_week is the ISO day of the week, 1 (Monday) to 7 (Sunday); dow is an alias.
  assert.equal(await v("day_of_week(DATE '2024-01-07')"), 7);
  assert.equal(await v("dow(DATE '2024-01-01')"), 1);
  assert.equal(await v("day_of_month(DATE '2024-02-10')"), 10);
  // day_of_year: 1 to 366; doy is an alias.
  assert.equal(await v("day_of_year(DATE '2024-12-31')"), 366);
  assert.equal(await v("doy(DATE '2024-02-01')"), 32);
  // week / week_of_year and year_of_week / yow are the ISO week and its year: 2021-01-01 is in week 53 of 2020.
  assert.equal(await v("week_of_year(DATE '2021-01-01')"), 53);
  assert.equal(await v("year_of_week(DATE '2021-01-01')"), 2020);
  assert.equal(await v("yow(DATE '2021-01-04')"), 2021);
  assert.equal(await v("CAST(last_day_of_month(DATE '2024-02-10') AS VARCHAR)"), '2024-02-29');
  // millisecond: the millisecond of the second.
  assert.equal(await v("millisecond(TIMESTAMP '2001-08-22 03:04:05.321')"), 321);
});

test('json_extract_scalar and the other JSON functions', async () => {
  // json.md: json_extract_scalar('[1, 2, 3]', '$[2]') and '$.store.book[0].author'; the value must be a scalar.
  assert.equal(await v("json_extract_scalar('[1, 2, 3]', '$[2]')"), '3');
  const store = `'{"store": {"book": [{"author": "Nigel Rees", "price": 8.95}], "open": true}}'`;
  assert.equal(await v(`json_extract_scalar(${store}, '$.store.book[0].author')`), 'Nigel Rees');
  assert.equal(await v(`json_extract_scalar(${store}, '$.store.book[0].price')`), '8.95');
  assert.equal(await v(`json_extract_scalar(${store}, '$.store.open')`), 'true');
  assert.equal(await v(`json_extract_scalar(${store}, '$.store.book')`), null, 'an array is not a scalar');
  assert.equal(await v(`json_extract_scalar(${store}, '$.store')`), null, 'an object is not a scalar');
  assert.equal(await v(`json_extract_scalar(${store}, '$.missing')`), null);
  assert.equal(await v(`json_extract_scalar('{"a": null}', '$.a')`), null);
  assert.equal(await v("json_extract_scalar('not json', '$.a')"), null);
  // json_parse / json_format: json.md, json_format(JSON '[1, 2, 3]') -- '[1,2,3]', json_format(JSON '"a"') -- '"a"'.
  assert.equal(await v("json_format(JSON '[1, 2, 3]')"), '[1,2,3]');
  assert.equal(await v(`json_format(JSON '"a"')`), '"a"');
  assert.equal(await v("json_format(json_parse('[1, 2, 3]'))"), '[1,2,3]');
  // json_size: json.md, the number of members of an object or array, 0 for a scalar.
  assert.equal(await v(`json_size('{"x": {"a": 1, "b": 2}}', '$.x')`), 2);
  assert.equal(await v(`json_size('{"x": [1, 2, 3]}', '$.x')`), 3);
  assert.equal(await v(`json_size('{"x": {"a": 1, "b": 2}}', '$.x.a')`), 0);
  assert.equal(await v(`json_size('{"x": 1}', '$.y')`), null);
});

test('cardinality, element_at, array_join, array_position', async () => {
  // array.md: cardinality(x) is the size of the array; map.md: of a map.
  assert.equal(await v('cardinality(ARRAY[1, 2, 3])'), 3);
  assert.equal(await v("cardinality([{'rdata': '192.0.2.1', 'type': 'A'}])"), 1);
  assert.equal(await v('cardinality(CAST([] AS VARCHAR[]))'), 0);
  assert.equal(await v('cardinality(CAST(NULL AS VARCHAR[]))'), null);
  assert.equal(await v("cardinality(MAP {'a': 1, 'b': 2})"), 2);
  // array.md: element_at is 1-based, negative from the end, NULL past the end; map.md: the value for the key.
  assert.equal(await v('element_at(ARRAY[1, 2, 3], 2)'), 2);
  assert.equal(await v('element_at(ARRAY[1, 2, 3], -1)'), 3);
  assert.equal(await v('element_at(ARRAY[1, 2, 3], 4)'), null);
  assert.equal(await v("element_at(MAP {'a': 1}, 'a')"), 1);
  assert.equal(await v("element_at(MAP {'a': 1}, 'z')"), null);
  // The GitHub queries' TLD split: element_at(split(query.hostname, '.'), -2).
  assert.equal(await v("element_at(split('www.example.com.', '.'), -2)"), 'com');
  // array.md: array_join omits nulls, or replaces them with null_replacement.
  assert.equal(await v("array_join(ARRAY['a', NULL, 'b'], ',')"), 'a,b');
  assert.equal(await v("array_join(ARRAY['a', NULL, 'b'], ',', 'N')"), 'a,N,b');
  assert.equal(await v("array_join(ARRAY[1, 2], '-')"), '1-2');
  // array.md: array_position is the first position of the element, 0 if it is not found.
  assert.equal(await v('array_position(ARRAY[10, 20, 20], 20)'), 2);
  assert.equal(await v('array_position(ARRAY[10, 20], 30)'), 0);
});

test('regexp_like and the URL functions', async () => {
  // regexp.md: a contains operation, not a match.
  assert.equal(await v("regexp_like('1a 2b 14m', '\\d+b')"), true);
  assert.equal(await v("regexp_like('1a 2b 14m', '^\\d+b$')"), false);
  // url.md: url_extract_protocol examples.
  assert.equal(await v("url_extract_protocol('http://localhost:8080/req_path')"), 'http');
  assert.equal(await v("url_extract_protocol('https://127.0.0.1:8080/req_path')"), 'https');
  assert.equal(await v("url_extract_protocol('ftp://path/file')"), 'ftp');
  // url.md: [protocol:][//host[:port]][path][?query][#fragment]; components without their separators.
  const u = "'https://user:pw@www.example.com:8443/a/b?x=1&y=2&x=3#frag'";
  assert.equal(await v(`url_extract_host(${u})`), 'www.example.com');
  assert.equal(await v(`url_extract_port(${u})`), 8443);
  assert.equal(await v(`url_extract_path(${u})`), '/a/b');
  assert.equal(await v(`url_extract_query(${u})`), 'x=1&y=2&x=3');
  assert.equal(await v(`url_extract_fragment(${u})`), 'frag');
  // url_extract_parameter: the first parameter of that name.
  assert.equal(await v(`url_extract_parameter(${u}, 'x')`), '1');
  assert.equal(await v(`url_extract_parameter(${u}, 'z')`), null);
  assert.equal(await v("url_extract_port('https://www.example.com/a')"), null);
  assert.equal(await v("url_extract_query('https://www.example.com/a')"), null);
  assert.equal(await v("url_extract_host('/relative/path')"), null);
});

test('approx_distinct and approx_percentile aggregate (exactly here)', async () => {
  // aggregate.md: approx_distinct has a standard error of 2.3%; approx_percentile returns the value of x at the
  // given percentage (an array of values for an array of percentages).
  const r = await db.all(
    'SELECT approx_distinct(i % 1000) AS d, approx_distinct(i, 0.01) AS d2, approx_percentile(i, 0.5) AS p, approx_percentile(i, [0.1, 0.9]) AS ps FROM range(10000) t(i)',
  );
  assert.deepEqual(r, [{ d: 1000, d2: 10000, p: 4999, ps: [999, 8999] }]);
  const g = await db.all('SELECT k, approx_distinct(v) AS d FROM (VALUES (1, 7), (1, 7), (1, 8), (2, 9)) t(k, v) GROUP BY k ORDER BY k');
  assert.deepEqual(g, [{ k: 1, d: 2 }, { k: 2, d: 1 }]);
});

test("DuckDB built-ins seclake's SQL uses keep their behaviour beside the macros", async () => {
  assert.equal(await v("contains('a::b', '::')"), true);
  assert.equal(await v("contains(ARRAY['a', 'b'], 'b')"), true);
  assert.equal(await v("split_part('198.51.100.7', '.', 2)"), '51');
  assert.equal(await v("regexp_extract('role/x', '^(.*)/[^/]*$', 1)"), 'role');
  assert.deepEqual(await db.all('SELECT arbitrary(x) AS v FROM (VALUES (1)) t(x)'), [{ v: 1 }]);
  assert.equal(await v('try(CAST(\'x\' AS INTEGER))'), null);
  assert.deepEqual(await v("filter(ARRAY[5, -6, NULL, 7], x -> x > 0)"), [5, 7]);
});

test('a connection opened without them has DuckDB alone', async () => {
  const plain = await Duck.open({ trino: false });
  try {
    await assert.rejects(plain.all("SELECT date_format(TIMESTAMP '2020-01-01', '%Y')"), /date_format/);
  } finally {
    plain.close();
  }
});

test('every macro is defined on a connection, and docs/sql.md lists every supported function', async () => {
  const rows = await db.all("SELECT DISTINCT function_name FROM duckdb_functions() WHERE function_type = 'macro' AND schema_name = 'main' AND database_name = 'temp'");
  const defined = new Set(rows.map((r) => String(r.function_name)));
  for (const m of TRINO_MACROS) assert.ok(defined.has(m.name), m.name);
  const doc = readFileSync(fileURLToPath(new URL('../../docs/sql.md', import.meta.url)), 'utf8');
  for (const name of [...TRINO_MACROS.map((m) => m.name), ...TRINO_NATIVE]) assert.match(doc, new RegExp(`\`${name}\\b`), `docs/sql.md lists ${name}`);
});
