/**
 * The built-in feature sets: network (vpc_flow), dns (route53), api (cloudtrail_*), host (third-party OCSF process,
 * authentication and file activity). Each is SQL over the lake's views with one row per (entity, window); see
 * types.ts (FeatureSet) for what the SQL sees and README.md for the feature list.
 *
 * Entities are chosen so that the sets of one machine meet on one entity: a flow record's instance (the side whose
 * interface logged it), the instance that sent a DNS query, an instance role's session (CloudTrail's
 * `assumed-role/<role>/<instance id>`), and a host agent's `device.instance_uid`. The windows of one entity then
 * carry the features of every set (0 where a set saw nothing).
 */
import type { FeatureSet } from './types.js';

// ---- network: VPC flow logs -------------------------------------------------------------------------------------

/** The flow record's own instance: the destination side of an inbound record, the source side of an outbound one. */
const FLOW_SIDE = (field: string): string => `CASE connection_info.direction_id WHEN 1 THEN dst_endpoint.${field} ELSE src_endpoint.${field} END`;
const FLOW_PEER = 'CASE connection_info.direction_id WHEN 1 THEN src_endpoint.ip ELSE dst_endpoint.ip END';
const FLOW_FILTER = `connection_info.direction_id IN (1, 2) AND (${FLOW_SIDE('instance_uid')}) IS NOT NULL AND (${FLOW_SIDE('instance_uid')}) <> '-'`;

const NETWORK_SQL = `
WITH f AS (
  -- The lookback and the windows: per-peer aggregates of earlier windows feed new_peers.
  SELECT ${FLOW_SIDE('instance_uid')} AS entity,
         coalesce('subnet:' || (${FLOW_SIDE('subnet_uid')}), 'vpc:' || (${FLOW_SIDE('vpc_uid')}), 'account:' || cloud.account.uid) AS entity_group,
         ${FLOW_PEER} AS peer,
         connection_info.direction_id = 1 AS inbound,
         src_endpoint.port AS src_port,
         dst_endpoint.port AS dst_port,
         coalesce(traffic.bytes, 0) AS bytes,
         coalesce(traffic.packets, 0) AS packets,
         coalesce(action_id = 2 OR activity_id = 5, false) AS rejected,
         window_start
  FROM vpc_flow_history
  WHERE ${FLOW_FILTER}
),
by_peer AS (
  SELECT entity, window_start, peer, min(entity_group) AS entity_group,
         sum(bytes) FILTER (WHERE inbound) AS bytes_in, sum(bytes) FILTER (WHERE NOT inbound) AS bytes_out,
         sum(packets) FILTER (WHERE inbound) AS packets_in, sum(packets) FILTER (WHERE NOT inbound) AS packets_out,
         count(*) AS flows, count(*) FILTER (WHERE rejected) AS rejected_flows
  FROM f GROUP BY entity, window_start, peer
),
totals AS (
  SELECT entity, window_start, min(entity_group) AS entity_group,
         coalesce(sum(bytes_in), 0) AS bytes_in, coalesce(sum(bytes_out), 0) AS bytes_out,
         coalesce(sum(packets_in), 0) AS packets_in, coalesce(sum(packets_out), 0) AS packets_out,
         sum(flows) AS flows, count(peer) AS peers,
         sum(rejected_flows)::DOUBLE / sum(flows) AS rejected_share,
         coalesce(sum(bytes_out) FILTER (WHERE NOT internal), 0) AS external_bytes_out,
         coalesce(sum(coalesce(bytes_in, 0) + coalesce(bytes_out, 0)) FILTER (WHERE NOT internal), 0)::DOUBLE
           / nullif(sum(coalesce(bytes_in, 0) + coalesce(bytes_out, 0)), 0) AS external_share,
         count(peer) FILTER (WHERE internal) AS internal_peers,
         count(peer) FILTER (WHERE NOT internal) AS external_peers
  FROM (SELECT *, seclake_ip_internal(peer) AS internal FROM by_peer WHERE window_start >= $start)
  GROUP BY entity, window_start
),
ports AS (
  -- Connections the instance initiates: outbound records whose destination port is below the source port.
  SELECT entity, window_start, count(DISTINCT dst_port) AS dst_ports
  FROM f WHERE window_start >= $start AND NOT inbound AND dst_port < src_port GROUP BY entity, window_start
),
new_peers AS (
  -- A peer is new in a window when the entity did not talk to it in the $history_ms before. An entity's first
  -- window in the lookback has nothing to compare with: 0 there.
  SELECT entity, window_start, count(*) FILTER (WHERE window_start > first_window AND (prev IS NULL OR window_start - prev > $history_ms)) AS new_peers
  FROM (
    SELECT entity, window_start, lag(window_start) OVER (PARTITION BY entity, peer ORDER BY window_start) AS prev,
           min(window_start) OVER (PARTITION BY entity) AS first_window
    FROM by_peer WHERE peer IS NOT NULL
  )
  WHERE window_start >= $start
  GROUP BY entity, window_start
)
SELECT t.entity, t.entity_group, t.window_start,
       t.bytes_in, t.bytes_out, t.packets_in, t.packets_out, t.flows, t.peers,
       coalesce(p.dst_ports, 0) AS dst_ports, t.rejected_share, coalesce(n.new_peers, 0) AS new_peers,
       t.external_bytes_out, t.external_share, t.internal_peers, t.external_peers
FROM totals t
LEFT JOIN ports p ON p.entity = t.entity AND p.window_start = t.window_start
LEFT JOIN new_peers n ON n.entity = t.entity AND n.window_start = t.window_start
`;

export const NETWORK_SET: FeatureSet = {
  name: 'network',
  description: 'VPC flow logs per instance (the side whose interface logged the record; needs flow-direction, flow logs v5+)',
  source: ['vpc_flow'],
  entity: 'instance (instance_uid of the logging side)',
  columns: {
    vpc_flow: [
      'connection_info.direction_id',
      'src_endpoint.instance_uid', 'src_endpoint.subnet_uid', 'src_endpoint.vpc_uid', 'src_endpoint.ip', 'src_endpoint.port',
      'dst_endpoint.instance_uid', 'dst_endpoint.subnet_uid', 'dst_endpoint.vpc_uid', 'dst_endpoint.ip', 'dst_endpoint.port',
      'traffic.bytes', 'traffic.packets', 'action_id', 'activity_id', 'cloud.account.uid',
    ],
  },
  features: [
    { name: 'bytes_in', description: 'bytes received (inbound records)', unit: 'bytes' },
    { name: 'bytes_out', description: 'bytes sent (outbound records)', unit: 'bytes' },
    { name: 'packets_in', description: 'packets received', unit: 'packets' },
    { name: 'packets_out', description: 'packets sent', unit: 'packets' },
    { name: 'flows', description: 'flow records', unit: 'count' },
    { name: 'peers', description: 'distinct addresses at the other end', unit: 'count' },
    { name: 'dst_ports', description: 'distinct destination ports of connections it initiates (outbound, destination port below source port)', unit: 'count' },
    { name: 'rejected_share', description: 'share of flow records rejected (action Denied / activity Refuse)', unit: 'share', transform: 'none', support: 'flows' },
    { name: 'new_peers', description: 'peers not seen in the entity\'s history window before this window', unit: 'count' },
    { name: 'external_bytes_out', description: 'bytes sent to external addresses (not RFC 1918/ULA/local, not a known subnet)', unit: 'bytes' },
    { name: 'external_share', description: 'share of bytes exchanged with external addresses', unit: 'share', transform: 'none' },
    { name: 'internal_peers', description: 'distinct internal peers (RFC 1918/ULA/local or a known subnet)', unit: 'count' },
    { name: 'external_peers', description: 'distinct external peers', unit: 'count' },
  ],
  sql: NETWORK_SQL,
};

// ---- dns: Route 53 Resolver query logs --------------------------------------------------------------------------

const DNS_SQL = `
WITH q AS (
  SELECT coalesce(nullif(src_endpoint.instance_uid, '-'), src_endpoint.ip) AS entity,
         coalesce('vpc:' || src_endpoint.vpc_uid, 'account:' || cloud.account.uid) AS entity_group,
         window_start, seclake_dns_name(query.hostname) AS name, rcode_id
  FROM route53
),
names AS (
  -- Per distinct name, not per query: the string work is done once per name.
  SELECT name, seclake_etld1(name) AS domain, seclake_mean_label_length(name) AS label_length,
         seclake_entropy(replace(name, '.', '')) AS entropy
  FROM (SELECT DISTINCT name FROM q WHERE name IS NOT NULL AND name <> '')
)
SELECT q.entity, min(q.entity_group) AS entity_group, q.window_start,
       count(*) AS queries,
       count(DISTINCT q.name) AS distinct_names,
       count(DISTINCT n.domain) AS distinct_domains,
       avg(CASE WHEN q.rcode_id = 3 THEN 1.0 ELSE 0.0 END) AS nxdomain_share,
       avg(n.label_length) AS mean_label_length,
       avg(n.entropy) AS name_entropy
FROM q LEFT JOIN names n ON n.name = q.name
WHERE q.entity IS NOT NULL AND q.entity <> ''
GROUP BY q.entity, q.window_start
`;

export const DNS_SET: FeatureSet = {
  name: 'dns',
  description: 'Route 53 Resolver queries per querying instance (or source address when the query names no instance)',
  source: ['route53'],
  entity: 'instance (src_endpoint.instance_uid, else src_endpoint.ip)',
  columns: { route53: ['src_endpoint.instance_uid', 'src_endpoint.ip', 'src_endpoint.vpc_uid', 'cloud.account.uid', 'query.hostname', 'rcode_id'] },
  features: [
    { name: 'queries', description: 'DNS queries', unit: 'count' },
    { name: 'distinct_names', description: 'distinct query names', unit: 'count' },
    { name: 'distinct_domains', description: 'distinct registrable domains (eTLD+1, small public-suffix table)', unit: 'count' },
    { name: 'nxdomain_share', description: 'share of queries answered NXDOMAIN', unit: 'share', transform: 'none', support: 'queries' },
    { name: 'mean_label_length', description: 'mean characters per label of the query names (per query)', unit: 'chars', transform: 'none', support: 'queries' },
    { name: 'name_entropy', description: 'mean Shannon entropy of the query names\' characters (bits per character, dots excluded)', unit: 'bits', transform: 'none', support: 'queries' },
  ],
  sql: DNS_SQL,
};

// ---- api: CloudTrail management events --------------------------------------------------------------------------

const CT_COLUMNS = [
  'actor.user.type', 'actor.user.uid', 'actor.user.name', 'actor.user.account.uid', 'actor.session.issuer',
  'api.service.name', 'api.operation', 'api.response.error', 'status_id', 'class_uid', 'activity_id', 'unmapped', 'cloud.account.uid',
  'src_endpoint.ip',
];
const CT_SELECT = 'window_start, class_uid, activity_id, status_id, actor, api, unmapped, cloud, src_endpoint';
/** An EC2 instance profile's session is named after the instance: `arn:aws:sts::<acct>:assumed-role/<role>/i-...`. */
const INSTANCE_SESSION = "'/(i-[0-9a-f]{8,17})$'";

const API_SQL = `
WITH c AS (
  -- The lookback and the windows: per-API and per-address first uses of earlier windows feed new_apis, new_source_ips.
  SELECT ${CT_SELECT} FROM cloudtrail_api_history
  UNION ALL BY NAME SELECT ${CT_SELECT} FROM cloudtrail_auth_history
  UNION ALL BY NAME SELECT ${CT_SELECT} FROM cloudtrail_account_history
),
e AS (
  SELECT CASE
           WHEN actor.user.type = 'AssumedRole' AND regexp_matches(actor.user.uid, ${INSTANCE_SESSION}) THEN regexp_extract(actor.user.uid, ${INSTANCE_SESSION}, 1)
           WHEN actor.user.type = 'AssumedRole' THEN coalesce(actor.session.issuer, regexp_extract(actor.user.uid, '^(.*)/[^/]*$', 1))
           ELSE coalesce(actor.user.name, actor.user.uid)
         END AS entity,
         CASE
           WHEN actor.user.type = 'AssumedRole' THEN 'role:' || coalesce(actor.session.issuer, regexp_extract(actor.user.uid, 'assumed-role/([^/]+)', 1))
           ELSE 'account:' || coalesce(actor.user.account.uid, cloud.account.uid)
         END AS entity_group,
         window_start, api.service.name AS service, api.operation AS operation, api.response.error AS error,
         status_id, class_uid, activity_id, unmapped['readOnly'] AS read_only, src_endpoint.ip AS src_ip
  FROM c
),
totals AS (
  SELECT entity, min(entity_group) AS entity_group, window_start,
         count(*) AS calls,
         count(DISTINCT coalesce(service, '') || ':' || coalesce(operation, '')) AS distinct_apis,
         avg(CASE WHEN error IS NOT NULL OR status_id = 2 THEN 1.0 ELSE 0.0 END) AS error_share,
         avg(CASE WHEN regexp_matches(coalesce(error, ''), '(?i)accessdenied|unauthorized|notauthorized|forbidden') THEN 1.0 ELSE 0.0 END) AS access_denied_share,
         count(*) FILTER (WHERE CASE WHEN read_only IS NOT NULL THEN lower(read_only) = 'false'
                                     ELSE class_uid = 3001 OR (class_uid = 6003 AND activity_id IN (1, 3, 4)) END) AS write_calls,
         count(*) FILTER (WHERE service = 'iam.amazonaws.com') AS iam_calls
  FROM e
  WHERE entity IS NOT NULL AND entity <> '' AND window_start >= $start
  GROUP BY entity, window_start
),
uses AS (
  -- One row per (entity, window, kind, value): the APIs it called and the addresses it called from.
  SELECT DISTINCT entity, window_start, 'api' AS kind, coalesce(service, '') || ':' || coalesce(operation, '') AS v FROM e WHERE entity IS NOT NULL AND entity <> ''
  UNION ALL
  SELECT DISTINCT entity, window_start, 'ip' AS kind, src_ip AS v FROM e WHERE entity IS NOT NULL AND entity <> '' AND src_ip IS NOT NULL AND src_ip <> ''
),
first_uses AS (
  -- New in a window: the entity did not use it in the $history_ms before. An entity's first window in the lookback
  -- has nothing to compare with: 0 there.
  SELECT entity, window_start,
         count(*) FILTER (WHERE kind = 'api' AND is_new) AS new_apis,
         count(*) FILTER (WHERE kind = 'ip' AND is_new) AS new_source_ips
  FROM (
    SELECT entity, window_start, kind,
           window_start > min(window_start) OVER (PARTITION BY entity)
             AND (lag(window_start) OVER (PARTITION BY entity, kind, v ORDER BY window_start) IS NULL
                  OR window_start - lag(window_start) OVER (PARTITION BY entity, kind, v ORDER BY window_start) > $history_ms) AS is_new
    FROM uses
  )
  WHERE window_start >= $start
  GROUP BY entity, window_start
)
SELECT t.entity, t.entity_group, t.window_start, t.calls, t.distinct_apis, t.error_share, t.access_denied_share, t.write_calls, t.iam_calls,
       coalesce(f.new_apis, 0) AS new_apis, coalesce(f.new_source_ips, 0) AS new_source_ips
FROM totals t
LEFT JOIN first_uses f ON f.entity = t.entity AND f.window_start = t.window_start
`;

export const API_SET: FeatureSet = {
  name: 'api',
  description: 'CloudTrail management events (API activity, sign-ins, account changes) per user or role session',
  source: ['cloudtrail_api', 'cloudtrail_auth', 'cloudtrail_account'],
  entity: 'IAM user (name); an instance role session as its instance id; another assumed role as the role',
  columns: { cloudtrail_api: CT_COLUMNS, cloudtrail_auth: CT_COLUMNS, cloudtrail_account: CT_COLUMNS },
  features: [
    { name: 'calls', description: 'management events (API calls, sign-ins, account changes)', unit: 'count' },
    { name: 'distinct_apis', description: 'distinct service:operation pairs', unit: 'count' },
    { name: 'error_share', description: 'share of calls that failed (an error code or status Failure)', unit: 'share', transform: 'none', support: 'calls' },
    { name: 'access_denied_share', description: 'share of calls denied (AccessDenied, UnauthorizedOperation, ...)', unit: 'share', transform: 'none', support: 'calls' },
    { name: 'write_calls', description: 'calls that change something (readOnly false; else create/update/delete or account changes)', unit: 'count' },
    { name: 'iam_calls', description: 'calls to IAM (iam.amazonaws.com)', unit: 'count' },
    { name: 'new_apis', description: 'service:operation pairs the entity did not call in its history window before this window', unit: 'count' },
    { name: 'new_source_ips', description: 'source addresses the entity did not call from in its history window before this window', unit: 'count' },
  ],
  sql: API_SQL,
};

// ---- host: third-party OCSF process, authentication and file activity --------------------------------------------

const HOST_ENTITY = 'coalesce(device.instance_uid, device.hostname, device.uid)';
const HOST_GROUP = "coalesce('subnet:' || device.subnet_uid, 'vpc:' || device.vpc_uid, 'domain:' || device.domain)";
const DEVICE_COLUMNS = ['device.instance_uid', 'device.hostname', 'device.uid', 'device.subnet_uid', 'device.vpc_uid', 'device.domain'];

const HOST_SQL = `
WITH pa AS (
  SELECT ${HOST_ENTITY} AS entity, min(${HOST_GROUP}) AS entity_group, window_start,
         count(*) FILTER (WHERE activity_id = 1) AS process_launches,
         count(DISTINCT coalesce(process.file.path, process.name)) AS distinct_processes
  FROM ocsf_process_activity GROUP BY 1, 3
),
au AS (
  SELECT ${HOST_ENTITY} AS entity, min(${HOST_GROUP}) AS entity_group, window_start,
         count(*) AS auth_attempts,
         avg(CASE WHEN status_id = 2 THEN 1.0 ELSE 0.0 END) AS auth_failure_share,
         count(DISTINCT "user"."name") AS distinct_auth_users
  FROM ocsf_authentication GROUP BY 1, 3
),
fa AS (
  SELECT ${HOST_ENTITY} AS entity, min(${HOST_GROUP}) AS entity_group, window_start,
         count(*) AS file_events,
         count(*) FILTER (WHERE activity_id IN (1, 3, 4, 5, 10)) AS file_modifications,
         count(DISTINCT file.path) AS distinct_files
  FROM ocsf_file_activity GROUP BY 1, 3
),
k AS (
  SELECT entity, window_start, min(entity_group) AS entity_group FROM (
    SELECT entity, window_start, entity_group FROM pa
    UNION ALL SELECT entity, window_start, entity_group FROM au
    UNION ALL SELECT entity, window_start, entity_group FROM fa
  ) WHERE entity IS NOT NULL GROUP BY entity, window_start
)
SELECT k.entity, k.entity_group, k.window_start,
       coalesce(pa.process_launches, 0) AS process_launches, coalesce(pa.distinct_processes, 0) AS distinct_processes,
       coalesce(au.auth_attempts, 0) AS auth_attempts, coalesce(au.auth_failure_share, 0) AS auth_failure_share,
       coalesce(au.distinct_auth_users, 0) AS distinct_auth_users,
       coalesce(fa.file_events, 0) AS file_events, coalesce(fa.file_modifications, 0) AS file_modifications,
       coalesce(fa.distinct_files, 0) AS distinct_files
FROM k
LEFT JOIN pa ON pa.entity = k.entity AND pa.window_start = k.window_start
LEFT JOIN au ON au.entity = k.entity AND au.window_start = k.window_start
LEFT JOIN fa ON fa.entity = k.entity AND fa.window_start = k.window_start
`;

export const HOST_SET: FeatureSet = {
  name: 'host',
  description: 'OCSF process (1007), authentication (3002) and file (1001) activity of third-party sources, per device',
  source: ['ocsf_process_activity', 'ocsf_authentication', 'ocsf_file_activity'],
  entity: 'device (device.instance_uid, else hostname, else uid)',
  columns: {
    ocsf_process_activity: [...DEVICE_COLUMNS, 'activity_id', 'process.name', 'process.file.path'],
    ocsf_authentication: [...DEVICE_COLUMNS, 'status_id', 'user.name'],
    ocsf_file_activity: [...DEVICE_COLUMNS, 'activity_id', 'file.path'],
  },
  features: [
    { name: 'process_launches', description: 'processes launched', unit: 'count' },
    { name: 'distinct_processes', description: 'distinct process executables (file path, else name)', unit: 'count' },
    { name: 'auth_attempts', description: 'authentication events on the device', unit: 'count' },
    { name: 'auth_failure_share', description: 'share of authentication events that failed', unit: 'share', transform: 'none', support: 'auth_attempts' },
    { name: 'distinct_auth_users', description: 'distinct users authenticating', unit: 'count' },
    { name: 'file_events', description: 'file activity events', unit: 'count' },
    { name: 'file_modifications', description: 'file creations, updates, deletions, renames and encryptions', unit: 'count' },
    { name: 'distinct_files', description: 'distinct file paths touched', unit: 'count' },
  ],
  sql: HOST_SQL,
};

/** The built-in sets by name, in the order their features appear in a window. */
export const BUILTIN_FEATURE_SETS: readonly FeatureSet[] = [NETWORK_SET, DNS_SET, API_SET, HOST_SET];

/** Names of the sets used when none are chosen. */
export const DEFAULT_FEATURE_SET_NAMES: readonly string[] = BUILTIN_FEATURE_SETS.map((s) => s.name);
