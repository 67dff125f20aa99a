-- AWS's documented example queries for Amazon Security Lake, AWS source version 2 (OCSF 1.1.0), for the sources
-- seclake ingests (Amazon VPC Flow Logs, Route 53 resolver query logs, CloudTrail management events), and the
-- reference solution's training queries. Each block: `-- query:` id, `-- title:` as the page gives it, `-- source:`
-- the page, `-- changed:` what was substituted (only what the documentation itself tells the user to substitute),
-- then the SQL verbatim. test/lake/documented-queries.test.ts runs every block unchanged. See README.md here.

-- query: sq2-log-source-table-vpc-flow
-- title: Log source table (DB_Region = us_east_1, SECURITY_LAKE_TABLE = vpc_flow_2_0)
-- source: https://docs.aws.amazon.com/security-lake/latest/userguide/subscriber-query-examples2.html
-- changed: DB_Region and SECURITY_LAKE_TABLE placeholders filled in, as the page says to
SELECT *
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_vpc_flow_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
LIMIT 25

-- query: sq2-log-source-table-route53
-- title: Log source table (DB_Region = us_east_1, SECURITY_LAKE_TABLE = route53_2_0)
-- source: https://docs.aws.amazon.com/security-lake/latest/userguide/subscriber-query-examples2.html
-- changed: DB_Region and SECURITY_LAKE_TABLE placeholders filled in, as the page says to
SELECT *
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_route53_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
LIMIT 25

-- query: sq2-log-source-table-cloud-trail-mgmt
-- title: Log source table (DB_Region = us_east_1, SECURITY_LAKE_TABLE = cloud_trail_mgmt_2_0)
-- source: https://docs.aws.amazon.com/security-lake/latest/userguide/subscriber-query-examples2.html
-- changed: DB_Region and SECURITY_LAKE_TABLE placeholders filled in, as the page says to
SELECT *
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_cloud_trail_mgmt_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
LIMIT 25

-- query: sq2-retention-clause
-- title: 60-day retention clause, in the page's log source table query (vpc_flow_2_0)
-- source: https://docs.aws.amazon.com/security-lake/latest/userguide/subscriber-query-examples2.html
-- changed: the page's clause `WHERE time_dt > DATE_ADD('day', -59, CURRENT_TIMESTAMP)` in place of the log source table query's WHERE
SELECT *
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_vpc_flow_2_0"
WHERE time_dt > DATE_ADD('day', -59, CURRENT_TIMESTAMP)
LIMIT 25

-- query: sq2-vpc-activity-from-source-ip
-- title: Example: List Amazon Virtual Private Cloud activity from source IP
-- source: https://docs.aws.amazon.com/security-lake/latest/userguide/subscriber-query-examples2.html
SELECT *
    FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_vpc_flow_2_0"
    WHERE time_dt > TIMESTAMP '2023-03-01'
    AND src_endpoint.ip = '192.0.2.1'
    ORDER BY time_dt desc
LIMIT 25

-- query: sq2-partition-date
-- title: Partition date: an example query using the time_dt partition to query the logs after the time March 01, 2023
-- source: https://docs.aws.amazon.com/security-lake/latest/userguide/subscriber-query-examples2.html
SELECT *
    FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_vpc_flow_2_0"
WHERE time_dt > TIMESTAMP '2023-03-01'
AND src_endpoint.ip = '192.0.2.1'
ORDER BY time desc
LIMIT 25

-- query: sq2-time-dt-last-1-year
-- title: Common values for time_dt: Events occurring in the last 1 year (in the log source table query, vpc_flow_2_0)
-- source: https://docs.aws.amazon.com/security-lake/latest/userguide/subscriber-query-examples2.html
-- changed: the page's WHERE clause in place of the log source table query's WHERE
SELECT *
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_vpc_flow_2_0"
WHERE time_dt > CURRENT_TIMESTAMP - INTERVAL '1' YEAR
LIMIT 25

-- query: sq2-time-dt-last-1-month
-- title: Common values for time_dt: Events occurring in the last 1 month (in the log source table query, vpc_flow_2_0)
-- source: https://docs.aws.amazon.com/security-lake/latest/userguide/subscriber-query-examples2.html
-- changed: the page's WHERE clause in place of the log source table query's WHERE
SELECT *
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_vpc_flow_2_0"
WHERE time_dt > CURRENT_TIMESTAMP - INTERVAL '1' MONTH
LIMIT 25

-- query: sq2-time-dt-last-30-days
-- title: Common values for time_dt: Events occurring in the last 30 days (in the log source table query, vpc_flow_2_0)
-- source: https://docs.aws.amazon.com/security-lake/latest/userguide/subscriber-query-examples2.html
-- changed: the page's WHERE clause in place of the log source table query's WHERE
SELECT *
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_vpc_flow_2_0"
WHERE time_dt > CURRENT_TIMESTAMP - INTERVAL '30' DAY
LIMIT 25

-- query: sq2-time-dt-last-12-hours
-- title: Common values for time_dt: Events occurring in the last 12 hours (in the log source table query, vpc_flow_2_0)
-- source: https://docs.aws.amazon.com/security-lake/latest/userguide/subscriber-query-examples2.html
-- changed: the page's WHERE clause in place of the log source table query's WHERE
SELECT *
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_vpc_flow_2_0"
WHERE time_dt > CURRENT_TIMESTAMP - INTERVAL '12' HOUR
LIMIT 25

-- query: sq2-time-dt-last-5-minutes
-- title: Common values for time_dt: Events occurring in the last 5 minutes (in the log source table query, vpc_flow_2_0)
-- source: https://docs.aws.amazon.com/security-lake/latest/userguide/subscriber-query-examples2.html
-- changed: the page's WHERE clause in place of the log source table query's WHERE
SELECT *
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_vpc_flow_2_0"
WHERE time_dt > CURRENT_TIMESTAMP - INTERVAL '5' MINUTE
LIMIT 25

-- query: sq2-time-dt-7-to-14-days-ago
-- title: Common values for time_dt: Events occurring between 7–14 days ago (in the log source table query, vpc_flow_2_0)
-- source: https://docs.aws.amazon.com/security-lake/latest/userguide/subscriber-query-examples2.html
-- changed: the page's WHERE clause in place of the log source table query's WHERE
SELECT *
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_vpc_flow_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '14' DAY AND CURRENT_TIMESTAMP - INTERVAL '7' DAY
LIMIT 25

-- query: sq2-time-dt-on-or-after-date
-- title: Common values for time_dt: Events occurring on or after a specific date (in the log source table query, vpc_flow_2_0)
-- source: https://docs.aws.amazon.com/security-lake/latest/userguide/subscriber-query-examples2.html
-- changed: the page's WHERE clause in place of the log source table query's WHERE
SELECT *
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_vpc_flow_2_0"
WHERE time_dt >= TIMESTAMP '2023-03-01'
LIMIT 25

-- query: sq2-observables
-- title: Querying Security Lake observables: the logs across VPC Flow and Route53 tables containing the IP value '172.01.02.03'
-- source: https://docs.aws.amazon.com/security-lake/latest/userguide/subscriber-query-examples2.html
WITH a AS
    (SELECT
    time_dt,
    observable.name,
    observable.value
    FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_vpc_flow_2_0",
    UNNEST(observables) AS t(observable)
    WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
    AND observable.value='172.01.02.03'
    AND observable.name='src_endpoint.ip'),
b as
    (SELECT
    time_dt,
    observable.name,
    observable.value
    FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_route53_2_0",
    UNNEST(observables) AS t(observable)
    WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
    AND observable.value='172.01.02.03'
    AND observable.name='src_endpoint.ip')
SELECT * FROM a
LEFT JOIN b ON a.value=b.value and a.name=b.name
LIMIT 25

-- query: ct2-unauthorized-attempts
-- title: Unauthorized attempts against AWS services in the last 7 days
-- source: https://docs.aws.amazon.com/security-lake/latest/userguide/cloudtrail-query-examples-sourceversion2.html
SELECT
    time_dt,
    api.service.name,
    api.operation,
    api.response.error,
    api.response.message,
    api.response.data,
    cloud.region,
    actor.user.uid,
    src_endpoint.ip,
    http_request.user_agent
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_cloud_trail_mgmt_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
AND api.response.error in (
    'Client.UnauthorizedOperation',
    'Client.InvalidPermission.NotFound',
    'Client.OperationNotPermitted',
    'AccessDenied')
ORDER BY time desc
LIMIT 25

-- query: ct2-activity-from-source-ip
-- title: List of all CloudTrail activity from source IP 192.0.2.1 in the last 7 days
-- source: https://docs.aws.amazon.com/security-lake/latest/userguide/cloudtrail-query-examples-sourceversion2.html
SELECT
    api.request.uid,
    time_dt,
    api.service.name,
    api.operation,
    cloud.region,
    actor.user.uid,
    src_endpoint.ip,
    http_request.user_agent
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_cloud_trail_mgmt_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
AND src_endpoint.ip = '192.0.2.1.'
ORDER BY time desc
LIMIT 25

-- query: ct2-iam-activity
-- title: List of all IAM activity in the last 7 days
-- source: https://docs.aws.amazon.com/security-lake/latest/userguide/cloudtrail-query-examples-sourceversion2.html
SELECT *
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_cloud_trail_mgmt_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
AND api.service.name = 'iam.amazonaws.com'
ORDER BY time desc
LIMIT 25

-- query: ct2-credential-used
-- title: Instances where the credential AIDACKCEVSQ6C2EXAMPLE was used in the last 7 days
-- source: https://docs.aws.amazon.com/security-lake/latest/userguide/cloudtrail-query-examples-sourceversion2.html
SELECT
      actor.user.uid,
      actor.user.uid_alt,
      actor.user.account.uid,
      cloud.region
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_cloud_trail_mgmt_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
AND actor.user.credential_uid = 'AIDACKCEVSQ6C2EXAMPLE'
LIMIT 25

-- query: ct2-failed-records
-- title: List of failed CloudTrail records in the last 7 days
-- source: https://docs.aws.amazon.com/security-lake/latest/userguide/cloudtrail-query-examples-sourceversion2.html
SELECT
      actor.user.uid,
      actor.user.uid_alt,
      actor.user.account.uid,
      cloud.region
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_cloud_trail_mgmt_2_0"
WHERE status='failed' and time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
ORDER BY time DESC
LIMIT 25

-- query: r53-2-dns-queries
-- title: List of DNS queries from CloudTrail in the last 7 days
-- source: https://docs.aws.amazon.com/security-lake/latest/userguide/route53-query-examples-sourceversion2.html
SELECT
    time_dt,
    src_endpoint.instance_uid,
    src_endpoint.ip,
    src_endpoint.port,
    query.hostname,
    rcode
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_route53_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
ORDER BY time DESC
LIMIT 25

-- query: r53-2-s3-amazonaws-com
-- title: List of DNS queries that match s3.amazonaws.com in the last 7 days
-- source: https://docs.aws.amazon.com/security-lake/latest/userguide/route53-query-examples-sourceversion2.html
SELECT
    time_dt,
    src_endpoint.instance_uid,
    src_endpoint.ip,
    src_endpoint.port,
    query.hostname,
    rcode,
    answers
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_route53_2_0"
WHERE query.hostname LIKE 's3.amazonaws.com.' and time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
ORDER BY time DESC
LIMIT 25

-- query: r53-2-did-not-resolve
-- title: List of DNS queries that didn't resolve in the last 7 days
-- source: https://docs.aws.amazon.com/security-lake/latest/userguide/route53-query-examples-sourceversion2.html
SELECT
    time_dt,
    src_endpoint.instance_uid,
    src_endpoint.ip,
    src_endpoint.port,
    query.hostname,
    rcode,
    answers
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_route53_2_0"
WHERE cardinality(answers) = 0 and time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
LIMIT 25

-- query: r53-2-resolved-to-ip
-- title: List of DNS queries that resolved to 192.0.2.1 in the last 7 days
-- source: https://docs.aws.amazon.com/security-lake/latest/userguide/route53-query-examples-sourceversion2.html
SELECT
    time_dt,
    src_endpoint.instance_uid,
    src_endpoint.ip,
    src_endpoint.port,
    query.hostname,
    rcode,
    answer.rdata
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_route53_2_0",
UNNEST(answers) as st(answer)
WHERE answer.rdata='192.0.2.1'
AND time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP
LIMIT 25

-- query: vpc2-regions
-- title: Traffic in specific AWS Regions in the last 7 days
-- source: https://docs.aws.amazon.com/security-lake/latest/userguide/vpc-query-examples-sourceversion2.html
SELECT *
    FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_vpc_flow_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP 
AND region in ('us-east-1','us-east-2','us-west-2')
LIMIT 25

-- query: vpc2-source-ip-port-22
-- title: List of activity from source IP 192.0.2.1 and source port 22 in the last 7 days
-- source: https://docs.aws.amazon.com/security-lake/latest/userguide/vpc-query-examples-sourceversion2.html
SELECT *
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_vpc_flow_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP 
AND src_endpoint.ip = '192.0.2.1'
AND src_endpoint.port = 22
LIMIT 25

-- query: vpc2-distinct-destinations
-- title: Count of distinct destination IP addresses in the last 7 days
-- source: https://docs.aws.amazon.com/security-lake/latest/userguide/vpc-query-examples-sourceversion2.html
SELECT 
    COUNT(DISTINCT dst_endpoint.ip) AS "Total"
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_vpc_flow_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP 
LIMIT 25

-- query: vpc2-from-198-51-100
-- title: Traffic originating from 198.51.100.0/24 in the last 7 days
-- source: https://docs.aws.amazon.com/security-lake/latest/userguide/vpc-query-examples-sourceversion2.html
SELECT *
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_vpc_flow_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP 
AND split_part(src_endpoint.ip,'.', 1)='198'AND split_part(src_endpoint.ip,'.', 2)='51'
LIMIT 25

-- query: vpc2-https
-- title: All HTTPS traffic in the last 7 days
-- source: https://docs.aws.amazon.com/security-lake/latest/userguide/vpc-query-examples-sourceversion2.html
SELECT 
    dst_endpoint.ip as dst, 
    src_endpoint.ip as src, 
    traffic.packets
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_vpc_flow_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP 
AND dst_endpoint.port = 443
GROUP BY 
    dst_endpoint.ip, 
    traffic.packets, 
    src_endpoint.ip 
ORDER BY traffic.packets DESC 
LIMIT 25

-- query: vpc2-port-443-by-packets
-- title: Order by packet count for connections destined to port 443 in the last 7 days
-- source: https://docs.aws.amazon.com/security-lake/latest/userguide/vpc-query-examples-sourceversion2.html
SELECT 
    traffic.packets,
    dst_endpoint.ip
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_vpc_flow_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP 
AND dst_endpoint.port = 443 
GROUP BY 
    traffic.packets,
    dst_endpoint.ip
ORDER BY traffic.packets DESC
LIMIT 25

-- query: vpc2-between-two-ips
-- title: All traffic between IP 192.0.2.1 and 192.0.2.2 in the last 7 days
-- source: https://docs.aws.amazon.com/security-lake/latest/userguide/vpc-query-examples-sourceversion2.html
SELECT 
    start_time_dt, 
    end_time_dt, 
    src_endpoint.interface_uid, 
    connection_info.direction,
    src_endpoint.ip,
    dst_endpoint.ip,
    src_endpoint.port,
    dst_endpoint.port,
    traffic.packets,
    traffic.bytes
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_vpc_flow_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP 
AND(
    src_endpoint.ip = '192.0.2.1'
AND dst_endpoint.ip = '192.0.2.2')
OR (
    src_endpoint.ip = '192.0.2.2'
AND dst_endpoint.ip = '192.0.2.1')
ORDER BY start_time_dt ASC
LIMIT 25

-- query: vpc2-inbound
-- title: All inbound traffic in the last 7 days
-- source: https://docs.aws.amazon.com/security-lake/latest/userguide/vpc-query-examples-sourceversion2.html
SELECT *
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_vpc_flow_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP 
AND connection_info.direction = 'Inbound'
LIMIT 25

-- query: vpc2-outbound
-- title: All outbound traffic in the last 7 days
-- source: https://docs.aws.amazon.com/security-lake/latest/userguide/vpc-query-examples-sourceversion2.html
SELECT *
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_vpc_flow_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP 
AND connection_info.direction = 'Outbound'
LIMIT 25

-- query: vpc2-rejected
-- title: All rejected traffic in the last 7 days
-- source: https://docs.aws.amazon.com/security-lake/latest/userguide/vpc-query-examples-sourceversion2.html
SELECT *
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_vpc_flow_2_0"
WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP 
AND action = 'Denied'
LIMIT 25

-- query: ref-vpc-flow-training-pairs
-- title: Reference solution, notebook cell 3: query VPC flow logs from security lake glue table
-- source: https://github.com/aws-samples/amazon-security-lake-sagemaker-workshop/blob/3a4db7d/01_ipinsights/01.01-securitylake-sagemaker-ipinsights.ipynb
-- changed: the notebook builds the table name from its region ("amazon_security_lake_table_"+seclakeregion+"_vpc_flow_1_0") and passes database="amazon_security_lake_glue_db_us_east_1" separately: region us_east_1, and this lake's source version 2_0 for 1_0
SELECT src_endpoint.instance_uid as instance_id, src_endpoint.ip as sourceip FROM amazon_security_lake_table_us_east_1_vpc_flow_2_0 WHERE src_endpoint.ip IS NOT NULL AND src_endpoint.instance_uid IS NOT NULL AND src_endpoint.instance_uid != '-' AND src_endpoint.ip != '-'

-- query: ref-route53-training-pairs
-- title: Reference solution, notebook cell 4: query Route53 logs from security lake glue table
-- source: https://github.com/aws-samples/amazon-security-lake-sagemaker-workshop/blob/3a4db7d/01_ipinsights/01.01-securitylake-sagemaker-ipinsights.ipynb
-- changed: as cell 3 ("..._route53_1_0" -> amazon_security_lake_table_us_east_1_route53_2_0)
SELECT src_endpoint.instance_uid as instance_id, src_endpoint.ip as sourceip FROM amazon_security_lake_table_us_east_1_route53_2_0 WHERE src_endpoint.ip IS NOT NULL AND src_endpoint.instance_uid IS NOT NULL AND src_endpoint.instance_uid != '-' AND src_endpoint.ip != '-'

-- The queries below are for source version 1 tables (OCSF 1.0.0-rc.2), which filter on the eventDay partition with
-- Trino's date_format; they run here because seclake's views keep the eventDay partition column. The table's source
-- version is this lake's (2_0).

-- query: sq1-log-source-table-route53
-- title: Log source table (source version 1; DB_Region = us_east_1, SECURITY_LAKE_TABLE = route53, this lake's version 2_0)
-- source: https://docs.aws.amazon.com/security-lake/latest/userguide/subscriber-query-examples1.html
-- changed: DB_Region and SECURITY_LAKE_TABLE placeholders filled in, as the page says to
SELECT * FROM amazon_security_lake_glue_db_us_east_1.amazon_security_lake_table_us_east_1_route53_2_0 WHERE eventDay BETWEEN cast(date_format(current_timestamp - INTERVAL '7' day, '%Y%m%d%H') as varchar) and cast(date_format(current_timestamp - INTERVAL '0' day, '%Y%m%d%H') as varchar) LIMIT 25

-- query: sq1-retention-clause
-- title: 60-day retention clause (source version 1), in the page's log source table query (vpc_flow, version 2_0)
-- source: https://docs.aws.amazon.com/security-lake/latest/userguide/subscriber-query-examples1.html
-- changed: the page's clause `WHERE eventDay BETWEEN cast(date_format(current_date - INTERVAL '59' day, '%Y%m%d') AS varchar) AND cast(date_format(current_date, '%Y%m%d') AS varchar)` in place of the log source table query's WHERE
SELECT * FROM amazon_security_lake_glue_db_us_east_1.amazon_security_lake_table_us_east_1_vpc_flow_2_0 WHERE eventDay BETWEEN cast(date_format(current_date - INTERVAL '59' day, '%Y%m%d') AS varchar) AND cast(date_format(current_date, '%Y%m%d') AS varchar) LIMIT 25

-- query: vpc1-regions
-- title: Traffic in specific AWS Regions in the last 7 days (source version 1)
-- source: https://docs.aws.amazon.com/security-lake/latest/userguide/vpc-query-examples.html
-- changed: table vpc_flow_1_0 -> vpc_flow_2_0 (this lake's source version)
SELECT * FROM amazon_security_lake_glue_db_us_east_1.amazon_security_lake_table_us_east_1_vpc_flow_2_0 WHERE eventDay BETWEEN cast(date_format(current_timestamp - INTERVAL '7' day, '%Y%m%d%H') as varchar) and cast(date_format(current_timestamp - INTERVAL '0' day, '%Y%m%d%H') as varchar) AND region in ('us-east-1','us-east-2','us-west-2') LIMIT 25

-- query: vpc1-source-ip-port-22
-- title: List of activity from source IP 192.0.2.1 and source port 22 in the last 7 days (source version 1)
-- source: https://docs.aws.amazon.com/security-lake/latest/userguide/vpc-query-examples.html
-- changed: table vpc_flow_1_0 -> vpc_flow_2_0 (this lake's source version)
SELECT * FROM amazon_security_lake_glue_db_us_east_1.amazon_security_lake_table_us_east_1_vpc_flow_2_0 WHERE eventDay BETWEEN cast(date_format(current_timestamp - INTERVAL '7' day, '%Y%m%d%H') as varchar) and cast(date_format(current_timestamp - INTERVAL '0' day, '%Y%m%d%H') as varchar) AND src_endpoint.ip = '192.0.2.1' AND src_endpoint.port = 22 LIMIT 25

-- The Amazon Security Lake OCSF Queries GitHub directory the user guide links to ("For more examples"), written for
-- source version 1 tables; the queries whose fields OCSF 1.1.0 keeps.

-- query: gh-vpc-past-30-days
-- title: VPC Flow: Preview first 10 rows with all fields, limited to the past 30 days (relative)
-- source: https://github.com/awslabs/aws-security-analytics-bootstrap/blob/f7b8795c/AWSSecurityAnalyticsBootstrap/amazon_security_lake_queries/ocsf/amazon_security_lake_queries_vpcflow.md
-- changed: table vpc_flow_1_0 -> vpc_flow_2_0 (this lake's source version)
SELECT * FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_vpc_flow_2_0"
WHERE eventday >= date_format(date_add('day',-30,current_timestamp), '%Y%m%d')
LIMIT 10;

-- query: gh-cloudtrail-past-30-days
-- title: Cloudtrail Management Events: Preview first 10 rows with all fields, limited to the past 30 days (relative)
-- source: https://github.com/awslabs/aws-security-analytics-bootstrap/blob/f7b8795c/AWSSecurityAnalyticsBootstrap/amazon_security_lake_queries/ocsf/amazon_security_lake_queries_cloudtrail_management.md
-- changed: table cloud_trail_mgmt_1_0 -> cloud_trail_mgmt_2_0 (this lake's source version)
SELECT * FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_cloud_trail_mgmt_2_0"
WHERE eventday >= date_format(date_add('day',-30,current_timestamp), '%Y%m%d')
LIMIT 10;

-- query: gh-route53-past-30-days
-- title: Route53: Preview first 10 rows with all fields, limited to the past 30 days (relative)
-- source: https://github.com/awslabs/aws-security-analytics-bootstrap/blob/f7b8795c/AWSSecurityAnalyticsBootstrap/amazon_security_lake_queries/ocsf/amazon_security_lake_queries_route53.md
-- changed: table route53_1_0 -> route53_2_0 (this lake's source version)
SELECT * FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_route53_2_0"
WHERE eventday >= date_format(date_add('day',-30,current_timestamp), '%Y%m%d')
LIMIT 10;

-- query: gh-route53-instances-per-hostname
-- title: Route53: Sort queries by the number of isntances that requested each hostname
-- source: https://github.com/awslabs/aws-security-analytics-bootstrap/blob/f7b8795c/AWSSecurityAnalyticsBootstrap/amazon_security_lake_queries/ocsf/amazon_security_lake_queries_route53.md
-- changed: table route53_1_0 -> route53_2_0 (this lake's source version)
SELECT  query.hostname, query.type, cardinality(array_distinct(filter(array_agg(src_endpoint), q -> q.instance_uid IS NOT NULL))) as instance_count, array_distinct(filter(array_agg(src_endpoint), q -> q.instance_uid IS NOT NULL)) as instances
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_route53_2_0"
WHERE eventday >= '20230530'
AND eventday <= '20230631'
AND accountid = '111122223333'
AND region in ('us-east-1','us-east-2','us-west-2', 'us-west-2')
GROUP BY query.hostname, query.type
ORDER by instance_count DESC;

-- query: gh-route53-tld-sld
-- title: Route53: Summary with count of each time an A record type of a hostname was queried. Split out TLD and SLD
-- source: https://github.com/awslabs/aws-security-analytics-bootstrap/blob/f7b8795c/AWSSecurityAnalyticsBootstrap/amazon_security_lake_queries/ocsf/amazon_security_lake_queries_route53.md
-- changed: table route53_1_0 -> route53_2_0 (this lake's source version)
SELECT element_at(split(query.hostname,'.'),-2) AS tld, 
        element_at(split(query.hostname,'.'),-3) AS sld, 
        query.hostname, query.type, 
        count(*) AS query_count
FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_route53_2_0"
WHERE query.type = 'A'
AND eventday >= '20230530'
AND eventday <= '20230631'
AND accountid = '111122223333'
AND region in ('us-east-1','us-east-2','us-west-2', 'us-west-2')
GROUP BY  query.hostname, query.type
ORDER BY  query_count DESC;

-- query: gh-route53-resolves-to-ip
-- title: Route53: Get records that that resolve to a specific IP (e.g., 203.0.113.2)
-- source: https://github.com/awslabs/aws-security-analytics-bootstrap/blob/f7b8795c/AWSSecurityAnalyticsBootstrap/amazon_security_lake_queries/ocsf/amazon_security_lake_queries_route53.md
-- changed: table route53_1_0 -> route53_2_0 (this lake's source version)
SELECT * FROM "amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_route53_2_0"
WHERE contains(transform(answers, x-> x.rdata), '203.0.113.2')
AND eventday >= '20230530'
AND eventday <= '20230631'
AND accountid = '111122223333'
AND region in ('us-east-1','us-east-2','us-west-2', 'us-west-2');
