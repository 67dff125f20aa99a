/**
 * Example events, as a mapping emits them (ids and raw values only; names come from `deriveEvent`).
 * Used by the OCSF tests and the derive/validate benchmark.
 */

/** A VPC Flow Logs record mapped to Network Activity (4001): about 40 attributes after derive. */
export function vpcFlowMapped(i = 0): Record<string, unknown> {
  const start = 1_706_700_000_000 + i * 1000;
  return {
    class_uid: 4001,
    activity_id: i % 7 === 0 ? 5 : 6,
    severity_id: 1,
    action_id: i % 7 === 0 ? 2 : 1,
    disposition_id: i % 7 === 0 ? 2 : 1,
    time: start,
    start_time: start,
    end_time: start + 60_000,
    status_code: 'OK',
    cloud: { provider: 'AWS', region: 'us-east-1', zone: 'use1-az1', account: { uid: '123456789012' } },
    connection_info: { direction_id: 1, boundary_id: 4, protocol_num: 6, protocol_ver: 'IPv4', tcp_flags: 19 },
    src_endpoint: { ip: `10.0.${(i >> 8) & 255}.${i & 255}`, port: 40000 + (i % 20000), svc_name: '-' },
    dst_endpoint: {
      ip: '172.31.2.52',
      port: 443,
      instance_uid: 'i-0123456789abcdef0',
      interface_uid: 'eni-0123456789abcdef0',
      subnet_uid: 'subnet-0123456789abcdef0',
      vpc_uid: 'vpc-01234567',
      svc_name: '-',
    },
    traffic: { bytes: 40 + i, packets: 1 + (i % 10) },
    metadata: {
      product: { name: 'Amazon VPC', vendor_name: 'AWS', version: '5', feature: { name: 'Flowlogs' } },
      profiles: ['cloud', 'security_control', 'datetime'],
    },
    observables: [
      { name: 'src_endpoint.ip', type_id: 2, value: `10.0.${(i >> 8) & 255}.${i & 255}` },
      { name: 'dst_endpoint.ip', type_id: 2, value: '172.31.2.52' },
      { name: 'dst_endpoint.instance_uid', type_id: 10, value: 'i-0123456789abcdef0' },
    ],
    unmapped: { sublocation_type: '-', sublocation_id: '-' },
  };
}

