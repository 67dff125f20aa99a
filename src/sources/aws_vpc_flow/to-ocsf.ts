/**
 * A checked VPC flow record -> OCSF 1.1.0 Network Activity (4001), as Amazon Security Lake source
 * version 2 maps it (../shared/docs/ocsf.md §1.6). Pure. Sets only ids and raw values; names,
 * captions, `type_uid`, `category_uid` and `*_dt` come from `deriveEvent` (src/ocsf/derive.ts).
 * Sibling strings are set only for 99 (Other), where they must carry the source's own label.
 */
import type { OcsfEvent } from '../types.js';
import type { FlowAction, FlowRecord } from './parse.js';

// ---- lookup tables ------------------------------------------------------------------------------------

export const CLASS_UID_NETWORK_ACTIVITY = 4001;
export const OCSF_VERSION = '1.1.0';

/** action -> activity_id (6 Traffic, 5 Refuse), action_id (1 Allowed, 2 Denied), disposition_id (1 Allowed, 2 Blocked). */
const ACTIVITY_ID: Readonly<Record<FlowAction, number>> = { ACCEPT: 6, REJECT: 5, '-': 0 };
const ACTION_ID: Readonly<Record<FlowAction, number>> = { ACCEPT: 1, REJECT: 2, '-': 0 };
const DISPOSITION_ID: Readonly<Record<FlowAction, number>> = { ACCEPT: 1, REJECT: 2, '-': 99 };

/** flow-direction -> connection_info.direction_id (1 Inbound, 2 Outbound; `-` -> 99 with label `-`). */
const DIRECTION_ID = { ingress: 1, egress: 2, '-': 99 } as const;

/** traffic-path 1..8 -> connection_info.boundary_id 4..11 (Same VPC ... Internet Gateway). */
const BOUNDARY_ID_BY_TRAFFIC_PATH: readonly (number | undefined)[] = [undefined, 4, 5, 6, 7, 8, 9, 10, 11];


const OBSERVABLE_IP = 2;
const OBSERVABLE_RESOURCE_UID = 10;

/** Values a record may lack that the file or the ingest supplies. */
export interface MapContext {
  /** cloud.region when the record has none (from the object key or `--region`). */
  region: string | undefined;
  /** cloud.account.uid when the record has none. */
  accountId: string | undefined;
  /** `time` when the record has neither start nor end (delivery time from the file name, else read time). */
  fallbackTimeMs: number;
}

type Obj = Record<string, unknown>;

/**
 * Put one side's addresses on its endpoint. With both the interface address and the packet address,
 * `ip` is the packet address and a different interface address goes to `intermediate_ips`. `-` is not
 * an `ip_t`: the endpoint gets no ip and `unmapped` keeps what the record says.
 */
function placeAddresses(ep: Obj, addr: string | undefined, addrKey: string, pkt: string | undefined, pktKey: string, unmapped: Obj): void {
  if (addr === '-') unmapped[addrKey] = '-';
  if (pkt === '-') unmapped[pktKey] = '-';
  const a = addr === '-' ? undefined : addr;
  const p = pkt === '-' ? undefined : pkt;
  if (p !== undefined) {
    ep.ip = p;
    if (a !== undefined && a !== p) ep.intermediate_ips = [a];
  } else if (a !== undefined) {
    ep.ip = a;
  }
}

/** Observable names per side, as constants (no string building per event). */
const SRC_NAMES = { ip: 'src_endpoint.ip', intermediate: 'src_endpoint.intermediate_ips[]', instance: 'src_endpoint.instance_uid' };
const DST_NAMES = { ip: 'dst_endpoint.ip', intermediate: 'dst_endpoint.intermediate_ips[]', instance: 'dst_endpoint.instance_uid' };

function pushEndpointObservables(out: Obj[], ep: Obj, names: typeof SRC_NAMES): void {
  if (typeof ep.ip === 'string') out.push({ name: names.ip, type_id: OBSERVABLE_IP, value: ep.ip });
  const inter = ep.intermediate_ips as string[] | undefined;
  if (inter) for (const ip of inter) out.push({ name: names.intermediate, type_id: OBSERVABLE_IP, value: ip });
  const inst = ep.instance_uid;
  if (typeof inst === 'string' && inst !== '-') out.push({ name: names.instance, type_id: OBSERVABLE_RESOURCE_UID, value: inst });
}

/** Map one checked flow record. Never throws. */
export function toOcsf(r: FlowRecord, ctx: MapContext): OcsfEvent {
  const unmapped: Obj = r.unmapped ?? {};

  // ---- classification
  const action = r.action;
  // log-status NODATA / SKIPDATA: a window without flow data (Unknown activity; addresses are `-`).
  const noData = r.logStatus === 'NODATA' || r.logStatus === 'SKIPDATA';
  const event: OcsfEvent = {
    class_uid: CLASS_UID_NETWORK_ACTIVITY,
    activity_id: noData || action === undefined ? 0 : ACTIVITY_ID[action],
    severity_id: 1,
    action_id: action === undefined ? 0 : ACTION_ID[action],
  };
  if (action !== undefined) {
    const d = DISPOSITION_ID[action];
    event.disposition_id = d;
    if (d === 99) event.disposition = action;
  }

  // ---- context
  const product: Obj = { name: 'Amazon VPC', vendor_name: 'AWS', feature: { name: 'Flowlogs' } };
  if (r.version !== undefined) product.version = r.version;
  event.metadata = { product, profiles: ['cloud', 'security_control', 'datetime'], version: OCSF_VERSION };
  const cloud: Obj = { provider: 'AWS' };
  const region = r.region !== undefined && r.region !== '-' ? r.region : ctx.region;
  if (region !== undefined) cloud.region = region;
  if (r.azId !== undefined) cloud.zone = r.azId;
  const account = r.accountId !== undefined && r.accountId !== '-' ? r.accountId : ctx.accountId;
  if (account !== undefined) cloud.account = { uid: account };
  event.cloud = cloud;

  // ---- occurrence
  const startMs = r.start === undefined ? undefined : r.start * 1000;
  const endMs = r.end === undefined ? undefined : r.end * 1000;
  event.time = startMs ?? endMs ?? ctx.fallbackTimeMs;
  if (startMs !== undefined) event.start_time = startMs;
  if (endMs !== undefined) event.end_time = endMs;

  // ---- primary: endpoints
  const src: Obj = {};
  const dst: Obj = {};
  placeAddresses(src, r.srcaddr, 'srcaddr', r.pktSrcaddr, 'pkt_srcaddr', unmapped);
  placeAddresses(dst, r.dstaddr, 'dstaddr', r.pktDstaddr, 'pkt_dstaddr', unmapped);
  if (r.srcport !== undefined) src.port = r.srcport;
  if (r.dstport !== undefined) dst.port = r.dstport;
  if (r.pktSrcAwsService !== undefined) src.svc_name = r.pktSrcAwsService;
  if (r.pktDstAwsService !== undefined) dst.svc_name = r.pktDstAwsService;
  // The logging interface is the destination of ingress traffic and the source otherwise
  // (Security Lake puts them on src_endpoint when the format has no flow-direction).
  const side = r.flowDirection === 'ingress' ? dst : src;
  if (r.interfaceId !== undefined) side.interface_uid = r.interfaceId;
  if (r.vpcId !== undefined) side.vpc_uid = r.vpcId;
  if (r.subnetId !== undefined) side.subnet_uid = r.subnetId;
  if (r.instanceId !== undefined) side.instance_uid = r.instanceId;
  // Both endpoints are required and must name something (network_endpoint's at-least-one constraint).
  // An endpoint the record says nothing about (NODATA/SKIPDATA, formats without addresses) gets the
  // svc_name `-` that Security Lake writes for such records when the format has pkt-*-aws-service.
  if (isEmpty(src)) src.svc_name = '-';
  if (isEmpty(dst)) dst.svc_name = '-';
  event.src_endpoint = src;
  event.dst_endpoint = dst;

  // ---- primary: connection, traffic, status
  const direction = r.flowDirection;
  const conn: Obj = { direction_id: direction === undefined ? 0 : DIRECTION_ID[direction] };
  if (direction === '-') conn.direction = '-';
  if (r.protocol !== undefined) conn.protocol_num = r.protocol;
  if (r.tcpFlags !== undefined) conn.tcp_flags = r.tcpFlags;
  const type = r.type;
  // `type` stays the raw label in protocol_ver with no protocol_ver_id, as Security Lake writes it: with the id,
  // deriveEvent would replace "IPv4" by the schema caption and queries written for Security Lake would miss.
  if (type !== undefined) conn.protocol_ver = type;
  const path = r.trafficPath;
  if (path !== undefined) {
    const boundary = path === '-' ? undefined : BOUNDARY_ID_BY_TRAFFIC_PATH[path];
    if (boundary !== undefined) conn.boundary_id = boundary;
    else {
      conn.boundary_id = 99;
      conn.boundary = String(path);
    }
  }
  event.connection_info = conn;
  if (r.packets !== undefined || r.bytes !== undefined) {
    const traffic: Obj = {};
    if (r.packets !== undefined) traffic.packets = r.packets;
    if (r.bytes !== undefined) traffic.bytes = r.bytes;
    event.traffic = traffic;
  }
  if (r.logStatus !== undefined) event.status_code = r.logStatus;

  // ---- context: observables and what is left
  const observables: Obj[] = [];
  pushEndpointObservables(observables, src, SRC_NAMES);
  pushEndpointObservables(observables, dst, DST_NAMES);
  if (observables.length > 0) event.observables = observables;
  if (!isEmpty(unmapped)) event.unmapped = unmapped;
  return event;
}

function isEmpty(o: Obj): boolean {
  for (const _ in o) return false;
  return true;
}
