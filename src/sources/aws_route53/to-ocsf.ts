/**
 * Route 53 Resolver query log record -> OCSF 1.1.0 DNS Activity (4003), as Security Lake source version 2
 * maps it (ocsf/examples AWS v1.1.0 Route53 dossier). Sets only `*_id` enums and raw values; names,
 * captions, `type_uid`, `category_uid` and `*_dt` are derived by `src/ocsf/derive.ts`.
 * Sections: lookup tables / classification / context / occurrence / primary / observables / unmapped.
 */
import type { OcsfEvent } from '../types.js';
import { HOSTNAME_RE, compact, flattenUnmapped, isIpAddress } from '../ocsf/values.js';
import type { Route53Record } from './parse.js';

export const OCSF_VERSION = '1.1.0';

// ---- lookup tables -------------------------------------------------------------------------------

/** DNS RCODE text as Route 53 logs it -> OCSF `rcode_id` (IANA numbers; 16 is BADVERS/BADSIG). */
export const RCODE_ID: Readonly<Record<string, number>> = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  YXDOMAIN: 6,
  YXRRSET: 7,
  NXRRSET: 8,
  NOTAUTH: 9,
  NOTZONE: 10,
  DSOTYPENI: 11,
  BADVERS: 16,
  BADSIG: 16,
  BADKEY: 17,
  BADTIME: 18,
  BADMODE: 19,
  BADNAME: 20,
  BADALG: 21,
  BADTRUNC: 22,
  BADCOOKIE: 23,
};

/** DNS Firewall rule action -> { action_id, disposition_id } (v2 sample: ALERT -> Allowed/Alert). */
export const FIREWALL_ACTION: Readonly<Record<string, { action_id: number; disposition_id: number }>> = {
  ALLOW: { action_id: 1, disposition_id: 1 }, // Allowed / Allowed
  ALERT: { action_id: 1, disposition_id: 19 }, // Allowed / Alert
  BLOCK: { action_id: 2, disposition_id: 2 }, // Denied / Blocked
};

const ACTIVITY_TRAFFIC = 6;
const CLASS_DNS_ACTIVITY = 4003;
const SEVERITY_INFORMATIONAL = 1;
const DIRECTION_UNKNOWN = 0;
const OBSERVABLE_HOSTNAME = 1;
const OBSERVABLE_IP = 2;
const OBSERVABLE_RESOURCE_UID = 10;

/**
 * Whether a query name can go to `query.hostname` as Route 53 delivered it, as Security Lake writes it: an
 * absolute DNS name (`s3.amazonaws.com.`, with its trailing dot) whose labels are `hostname_t` labels, underscores
 * allowed (SRV, DMARC, DKIM names), or the root `.`. The validator takes the trailing dot and the underscores as
 * warnings (src/ocsf/validate.ts); any other name (spaces, escaped bytes, empty labels) fails `hostname_t`.
 */
export function isQueryHostname(queryName: string): boolean {
  if (queryName === '.') return true;
  const name = queryName.endsWith('.') ? queryName.slice(0, -1) : queryName;
  return HOSTNAME_RE.test(name.replaceAll('_', 'a'));
}

export function toOcsf(r: Route53Record): OcsfEvent {
  const unmapped: Record<string, unknown> = { ...r.extra };

  // ---- classification
  const ev: OcsfEvent = {
    class_uid: CLASS_DNS_ACTIVITY,
    activity_id: ACTIVITY_TRAFFIC,
    severity_id: SEVERITY_INFORMATIONAL,
  };

  // ---- context
  const fw = r.firewall_rule_action !== undefined ? FIREWALL_ACTION[r.firewall_rule_action.toUpperCase()] : undefined;
  const firewall = r.firewall_rule_action !== undefined || r.firewall_rule_group_id !== undefined;
  ev.metadata = {
    product: {
      name: 'Route 53',
      vendor_name: 'AWS',
      feature: { name: 'Resolver Query Logs' },
      version: r.version,
    },
    // security_control only when DNS Firewall matched: the profile makes action_id required.
    profiles: firewall ? ['cloud', 'security_control', 'datetime'] : ['cloud', 'datetime'],
    version: OCSF_VERSION,
  };
  ev.cloud = { provider: 'AWS', region: r.region, account: { uid: r.account_id } };

  // ---- occurrence
  ev.time = r.time;

  // ---- primary
  // query.hostname is the query name as delivered, trailing dot kept, as Security Lake writes it (its samples:
  // `ip-127-0-0-62.alert.firewall.canary.`, `15.3.4.32.in-addr.arpa.`), so its documented queries
  // (`query.hostname LIKE 's3.amazonaws.com.'`) find the same rows.
  const hostname = r.query_name;
  const validHostname = isQueryHostname(hostname);
  if (validHostname) {
    ev.query = { hostname, type: r.query_type, class: r.query_class };
  } else {
    // Names hostname_t cannot hold even as an absolute name with underscores (spaces, ...): the query object
    // (whose hostname is required) is left out and the raw fields are kept in unmapped.
    Object.assign(unmapped, { query_name: r.query_name, query_type: r.query_type, query_class: r.query_class });
  }
  if (r.rcode !== undefined) {
    const id = RCODE_ID[r.rcode.toUpperCase()];
    if (id !== undefined) ev.rcode_id = id;
    else {
      ev.rcode_id = 99;
      ev.rcode = r.rcode; // Other: the sibling carries the source's own label
    }
  }
  // Always an array, [] when the query got no answers (or the record has no `answers`): Security Lake's documented
  // "didn't resolve" query is `cardinality(answers) = 0`, which a NULL would never match.
  ev.answers = r.answers.map((a) => ({ rdata: a.rdata, type: a.type, class: a.class }));
  r.answers.forEach((a, i) => {
    if (Object.keys(a.extra).length > 0) unmapped[`answers.${i}`] = a.extra;
  });
  const srcids = { ...r.srcids };
  const take = (k: string): string | undefined => {
    const v = srcids[k];
    delete srcids[k];
    return v;
  };
  ev.src_endpoint = { ip: r.srcaddr, port: r.srcport, vpc_uid: r.vpc_id, instance_uid: take('instance') };
  ev.dst_endpoint = { instance_uid: take('resolver_endpoint'), interface_uid: take('resolver_network_interface') };
  if (Object.keys(srcids).length > 0) unmapped.srcids = srcids;
  ev.connection_info = { direction_id: DIRECTION_UNKNOWN, protocol_name: r.transport };

  if (r.firewall_rule_action !== undefined) {
    if (fw) {
      ev.action_id = fw.action_id;
      ev.disposition_id = fw.disposition_id;
    } else {
      ev.action_id = 0; // the security_control profile asks not to use 99 for action_id
      ev.disposition_id = 99;
      ev.disposition = r.firewall_rule_action;
    }
  } else if (firewall) {
    ev.action_id = 0; // a rule group without an action: unknown
  }
  if (r.firewall_rule_group_id !== undefined) ev.firewall_rule = { uid: r.firewall_rule_group_id };
  if (r.firewall_domain_list_id !== undefined) unmapped.firewall_domain_list_id = r.firewall_domain_list_id;

  // ---- observables (as the v1.1.0 sample lists them)
  const observables: Record<string, unknown>[] = [];
  for (const a of r.answers) {
    if (isIpAddress(a.rdata)) observables.push({ name: 'answers[].rdata', type_id: OBSERVABLE_IP, value: a.rdata });
  }
  const dst = ev.dst_endpoint as Record<string, unknown>;
  const src = ev.src_endpoint as Record<string, unknown>;
  if (dst.instance_uid !== undefined) observables.push({ name: 'dst_endpoint.instance_uid', type_id: OBSERVABLE_RESOURCE_UID, value: dst.instance_uid });
  if (src.ip !== undefined) observables.push({ name: 'src_endpoint.ip', type_id: OBSERVABLE_IP, value: src.ip });
  if (src.instance_uid !== undefined) observables.push({ name: 'src_endpoint.instance_uid', type_id: OBSERVABLE_RESOURCE_UID, value: src.instance_uid });
  if (validHostname) observables.push({ name: 'query.hostname', type_id: OBSERVABLE_HOSTNAME, value: hostname });
  if (observables.length > 0) ev.observables = observables;

  // ---- unmapped
  const flat = flattenUnmapped(unmapped);
  if (Object.keys(flat).length > 0) ev.unmapped = flat;

  return compact(ev);
}
