-- seclake catalog ddl --engine athena: 7 tables over s3://example-bucket/lake
-- Partition folders are camelCase (accountId=, eventDay=), which MSCK REPAIR TABLE cannot discover:
-- partitions are projected (TBLPROPERTIES projection.*); regenerate when new accounts appear.

CREATE DATABASE IF NOT EXISTS `amazon_security_lake_glue_db_ap_southeast_2`;

CREATE DATABASE IF NOT EXISTS `amazon_security_lake_glue_db_unknown`;

CREATE DATABASE IF NOT EXISTS `amazon_security_lake_glue_db_us_east_1`;

CREATE DATABASE IF NOT EXISTS `amazon_security_lake_glue_db_us_east_2`;

-- VPC_FLOW in ap-southeast-2: 1 objects, 2 rows
CREATE EXTERNAL TABLE IF NOT EXISTS `amazon_security_lake_glue_db_ap_southeast_2`.`amazon_security_lake_table_ap_southeast_2_vpc_flow_2_0` (
  `class_uid` int,
  `activity_id` int,
  `severity_id` int,
  `action_id` int,
  `disposition_id` int,
  `metadata` struct<`product`:struct<`name`:string,`vendor_name`:string,`feature`:struct<`name`:string>,`version`:string>,`profiles`:array<string>,`version`:string>,
  `cloud` struct<`provider`:string,`region`:string,`zone`:string,`account`:struct<`uid`:string>>,
  `time` bigint,
  `start_time` bigint,
  `end_time` bigint,
  `src_endpoint` struct<`ip`:string,`port`:int,`svc_name`:string,`interface_uid`:string,`vpc_uid`:string,`subnet_uid`:string,`instance_uid`:string>,
  `dst_endpoint` struct<`ip`:string,`port`:int,`svc_name`:string,`interface_uid`:string,`vpc_uid`:string,`subnet_uid`:string,`instance_uid`:string>,
  `connection_info` struct<`direction_id`:int,`protocol_num`:int,`tcp_flags`:int,`protocol_ver`:string,`boundary_id`:int,`boundary`:string,`direction`:string>,
  `traffic` struct<`packets`:bigint,`bytes`:bigint>,
  `status_code` string,
  `observables` array<struct<`name`:string,`type_id`:int,`value`:string,`type`:string>>,
  `unmapped` map<string,string>,
  `category_uid` int,
  `type_uid` bigint,
  `action` string,
  `activity_name` string,
  `category_name` string,
  `class_name` string,
  `disposition` string,
  `severity` string,
  `type_name` string,
  `end_time_dt` string,
  `start_time_dt` string,
  `time_dt` string
)
PARTITIONED BY (`region` string, `accountid` string, `eventday` string)
ROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'
STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat'
LOCATION 's3://example-bucket/lake/aws/VPC_FLOW/2.0/'
TBLPROPERTIES (
  'classification' = 'parquet',
  'parquet.compression' = 'ZSTD',
  'projection.enabled' = 'true',
  'projection.region.type' = 'enum',
  'projection.region.values' = 'ap-southeast-2',
  'projection.accountid.type' = 'enum',
  'projection.accountid.values' = '123456789012',
  'projection.eventday.type' = 'date',
  'projection.eventday.format' = 'yyyyMMdd',
  'projection.eventday.range' = '20210326,NOW',
  'projection.eventday.interval' = '1',
  'projection.eventday.interval.unit' = 'DAYS',
  'storage.location.template' = 's3://example-bucket/lake/aws/VPC_FLOW/2.0/region=${region}/accountId=${accountid}/eventDay=${eventday}/'
);

-- VPC_FLOW in unknown: 8 objects, 25 rows
CREATE EXTERNAL TABLE IF NOT EXISTS `amazon_security_lake_glue_db_unknown`.`amazon_security_lake_table_unknown_vpc_flow_2_0` (
  `class_uid` int,
  `activity_id` int,
  `severity_id` int,
  `action_id` int,
  `metadata` struct<`product`:struct<`name`:string,`vendor_name`:string,`feature`:struct<`name`:string>,`version`:string>,`profiles`:array<string>,`version`:string>,
  `cloud` struct<`provider`:string,`account`:struct<`uid`:string>>,
  `time` bigint,
  `src_endpoint` struct<`ip`:string,`interface_uid`:string,`instance_uid`:string,`intermediate_ips`:array<string>,`port`:int,`vpc_uid`:string,`subnet_uid`:string>,
  `dst_endpoint` struct<`ip`:string,`intermediate_ips`:array<string>,`port`:int,`svc_name`:string>,
  `connection_info` struct<`direction_id`:int,`direction`:string,`protocol_num`:int,`tcp_flags`:int,`protocol_ver`:string>,
  `observables` array<struct<`name`:string,`type_id`:int,`value`:string,`type`:string>>,
  `category_uid` int,
  `type_uid` bigint,
  `action` string,
  `activity_name` string,
  `category_name` string,
  `class_name` string,
  `severity` string,
  `type_name` string,
  `time_dt` string,
  `disposition_id` int,
  `start_time` bigint,
  `end_time` bigint,
  `traffic` struct<`packets`:bigint,`bytes`:bigint>,
  `status_code` string,
  `disposition` string,
  `end_time_dt` string,
  `start_time_dt` string,
  `unmapped` map<string,string>
)
PARTITIONED BY (`region` string, `accountid` string, `eventday` string)
ROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'
STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat'
LOCATION 's3://example-bucket/lake/aws/VPC_FLOW/2.0/'
TBLPROPERTIES (
  'classification' = 'parquet',
  'parquet.compression' = 'ZSTD',
  'projection.enabled' = 'true',
  'projection.region.type' = 'enum',
  'projection.region.values' = 'unknown',
  'projection.accountid.type' = 'enum',
  'projection.accountid.values' = '123456789010,unknown',
  'projection.eventday.type' = 'date',
  'projection.eventday.format' = 'yyyyMMdd',
  'projection.eventday.range' = '20141214,NOW',
  'projection.eventday.interval' = '1',
  'projection.eventday.interval.unit' = 'DAYS',
  'storage.location.template' = 's3://example-bucket/lake/aws/VPC_FLOW/2.0/region=${region}/accountId=${accountid}/eventDay=${eventday}/'
);

-- CLOUD_TRAIL_MGMT in us-east-1: 112 objects, 2909 rows
CREATE EXTERNAL TABLE IF NOT EXISTS `amazon_security_lake_glue_db_us_east_1`.`amazon_security_lake_table_us_east_1_cloud_trail_mgmt_2_0` (
  `class_uid` int,
  `activity_id` int,
  `severity_id` int,
  `activity_name` string,
  `metadata` struct<`product`:struct<`name`:string,`vendor_name`:string,`version`:string,`feature`:struct<`name`:string>>,`profiles`:array<string>,`uid`:string,`event_code`:string,`version`:string>,
  `cloud` struct<`provider`:string,`region`:string,`account`:struct<`uid`:string>>,
  `time` bigint,
  `actor` struct<`user`:struct<`type`:string,`uid_alt`:string,`name`:string,`account`:struct<`uid`:string>,`uid`:string,`credential_uid`:string>,`session`:struct<`created_time`:bigint,`is_mfa`:boolean,`created_time_dt`:string,`issuer`:string>,`invoked_by`:string>,
  `src_endpoint` struct<`ip`:string,`domain`:string,`svc_name`:string,`uid`:string>,
  `http_request` struct<`user_agent`:string>,
  `api` struct<`operation`:string,`service`:struct<`name`:string>,`response`:struct<`data`:string,`message`:string,`error`:string>,`request`:struct<`uid`:string,`data`:string>,`version`:string>,
  `status_id` int,
  `user` struct<`uid_alt`:string,`name`:string,`uid`:string,`account`:struct<`uid`:string>>,
  `service` struct<`name`:string>,
  `observables` array<struct<`name`:string,`type_id`:int,`value`:string,`type`:string>>,
  `unmapped` map<string,string>,
  `category_uid` int,
  `type_uid` bigint,
  `category_name` string,
  `class_name` string,
  `severity` string,
  `status` string,
  `type_name` string,
  `time_dt` string,
  `is_mfa` boolean,
  `dst_endpoint` struct<`svc_name`:string>,
  `resources` array<struct<`uid`:string,`type`:string,`owner`:struct<`account`:struct<`uid`:string>>>>
)
PARTITIONED BY (`region` string, `accountid` string, `eventday` string)
ROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'
STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat'
LOCATION 's3://example-bucket/lake/aws/CLOUD_TRAIL_MGMT/2.0/'
TBLPROPERTIES (
  'classification' = 'parquet',
  'parquet.compression' = 'ZSTD',
  'projection.enabled' = 'true',
  'projection.region.type' = 'enum',
  'projection.region.values' = 'us-east-1',
  'projection.accountid.type' = 'enum',
  'projection.accountid.values' = '111122223333,123837392027',
  'projection.eventday.type' = 'date',
  'projection.eventday.format' = 'yyyyMMdd',
  'projection.eventday.range' = '20221110,NOW',
  'projection.eventday.interval' = '1',
  'projection.eventday.interval.unit' = 'DAYS',
  'storage.location.template' = 's3://example-bucket/lake/aws/CLOUD_TRAIL_MGMT/2.0/region=${region}/accountId=${accountid}/eventDay=${eventday}/'
);

-- EXT_cloudtrail_insights in us-east-1: 1 objects, 2 rows
CREATE EXTERNAL TABLE IF NOT EXISTS `amazon_security_lake_glue_db_us_east_1`.`amazon_security_lake_table_us_east_1_ext_cloudtrail_insights_2_0` (
  `class_uid` int,
  `activity_id` int,
  `severity_id` int,
  `metadata` struct<`product`:struct<`name`:string,`vendor_name`:string,`version`:string,`feature`:struct<`name`:string>>,`profiles`:array<string>,`uid`:string,`event_code`:string,`version`:string>,
  `cloud` struct<`provider`:string,`region`:string,`account`:struct<`uid`:string>>,
  `time` bigint,
  `finding_info` struct<`uid`:string,`title`:string,`types`:array<string>,`analytic`:struct<`type_id`:int,`name`:string,`type`:string>>,
  `evidences` array<struct<`api`:struct<`operation`:string,`service`:struct<`name`:string>>>>,
  `unmapped` map<string,string>,
  `category_uid` int,
  `type_uid` bigint,
  `activity_name` string,
  `category_name` string,
  `class_name` string,
  `severity` string,
  `type_name` string,
  `time_dt` string
)
PARTITIONED BY (`region` string, `accountid` string, `eventday` string)
ROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'
STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat'
LOCATION 's3://example-bucket/lake/ext/cloudtrail_insights/2.0/'
TBLPROPERTIES (
  'classification' = 'parquet',
  'parquet.compression' = 'ZSTD',
  'projection.enabled' = 'true',
  'projection.region.type' = 'enum',
  'projection.region.values' = 'us-east-1',
  'projection.accountid.type' = 'enum',
  'projection.accountid.values' = '123456789012',
  'projection.eventday.type' = 'date',
  'projection.eventday.format' = 'yyyyMMdd',
  'projection.eventday.range' = '20191114,NOW',
  'projection.eventday.interval' = '1',
  'projection.eventday.interval.unit' = 'DAYS',
  'storage.location.template' = 's3://example-bucket/lake/ext/cloudtrail_insights/2.0/region=${region}/accountId=${accountid}/eventDay=${eventday}/'
);

-- EXT_seclake_findings in us-east-1: 1 objects, 6 rows
CREATE EXTERNAL TABLE IF NOT EXISTS `amazon_security_lake_glue_db_us_east_1`.`amazon_security_lake_table_us_east_1_ext_seclake_findings_2_0` (
  `time` bigint,
  `class_uid` int,
  `category_uid` int,
  `type_uid` bigint,
  `activity_id` int,
  `severity_id` int,
  `severity` string,
  `message` string,
  `count` int,
  `confidence_score` int,
  `finding_info` struct<`uid`:string,`title`:string,`first_seen_time`:bigint,`last_seen_time`:bigint,`analytic`:struct<`name`:string,`version`:string,`uid`:string,`type_id`:int,`type`:string>,`desc`:string,`types`:array<string>,`data_sources`:array<string>,`first_seen_time_dt`:string,`last_seen_time_dt`:string,`created_time`:bigint,`created_time_dt`:string>,
  `metadata` struct<`uid`:string,`correlation_uid`:string,`version`:string,`product`:struct<`name`:string,`vendor_name`:string,`version`:string,`feature`:struct<`name`:string>>,`profiles`:array<string>,`log_name`:string,`processed_time`:bigint,`processed_time_dt`:string>,
  `unmapped` map<string,string>,
  `raw_data` string,
  `status_id` int,
  `confidence_id` int,
  `evidences` array<struct<`src_endpoint`:struct<`ip`:string,`port`:int,`svc_name`:string,`instance_uid`:string,`uid`:string,`vpc_uid`:string>,`dst_endpoint`:struct<`ip`:string,`port`:int,`instance_uid`:string,`interface_uid`:string,`subnet_uid`:string,`vpc_uid`:string,`svc_name`:string>,`connection_info`:struct<`direction_id`:int,`boundary_id`:int,`protocol_num`:int,`protocol_ver`:string,`tcp_flags`:int,`boundary`:string,`direction`:string,`protocol_name`:string>,`data`:string,`actor`:struct<`user`:struct<`type`:string,`uid`:string,`name`:string,`credential_uid`:string,`account`:struct<`uid`:string>>>,`api`:struct<`operation`:string,`service`:struct<`name`:string>,`request`:struct<`uid`:string>>,`query`:struct<`hostname`:string,`type`:string,`class`:string>>>,
  `resources` array<struct<`uid`:string,`type`:string,`region`:string>>,
  `observables` array<struct<`name`:string,`type_id`:int,`value`:string,`type`:string>>,
  `cloud` struct<`provider`:string,`region`:string,`zone`:string,`account`:struct<`uid`:string>>,
  `activity_name` string,
  `category_name` string,
  `class_name` string,
  `status` string,
  `type_name` string,
  `time_dt` string
)
PARTITIONED BY (`region` string, `accountid` string, `eventday` string)
ROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'
STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat'
LOCATION 's3://example-bucket/lake/ext/seclake_findings/2.0/'
TBLPROPERTIES (
  'classification' = 'parquet',
  'parquet.compression' = 'ZSTD',
  'projection.enabled' = 'true',
  'projection.region.type' = 'enum',
  'projection.region.values' = 'us-east-1',
  'projection.accountid.type' = 'enum',
  'projection.accountid.values' = '123456789012',
  'projection.eventday.type' = 'date',
  'projection.eventday.format' = 'yyyyMMdd',
  'projection.eventday.range' = '20240101,NOW',
  'projection.eventday.interval' = '1',
  'projection.eventday.interval.unit' = 'DAYS',
  'storage.location.template' = 's3://example-bucket/lake/ext/seclake_findings/2.0/region=${region}/accountId=${accountid}/eventDay=${eventday}/'
);

-- ROUTE53 in us-east-1: 1 objects, 1 rows
CREATE EXTERNAL TABLE IF NOT EXISTS `amazon_security_lake_glue_db_us_east_1`.`amazon_security_lake_table_us_east_1_route53_2_0` (
  `class_uid` int,
  `activity_id` int,
  `severity_id` int,
  `metadata` struct<`product`:struct<`name`:string,`vendor_name`:string,`feature`:struct<`name`:string>,`version`:string>,`profiles`:array<string>,`version`:string>,
  `cloud` struct<`provider`:string,`region`:string,`account`:struct<`uid`:string>>,
  `time` bigint,
  `query` struct<`hostname`:string,`type`:string,`class`:string>,
  `rcode_id` int,
  `answers` array<struct<`rdata`:string,`type`:string,`class`:string>>,
  `src_endpoint` struct<`ip`:string,`port`:int,`vpc_uid`:string,`instance_uid`:string>,
  `connection_info` struct<`direction_id`:int,`protocol_name`:string,`direction`:string>,
  `action_id` int,
  `disposition_id` int,
  `firewall_rule` struct<`uid`:string>,
  `observables` array<struct<`name`:string,`type_id`:int,`value`:string,`type`:string>>,
  `unmapped` map<string,string>,
  `category_uid` int,
  `type_uid` bigint,
  `action` string,
  `activity_name` string,
  `category_name` string,
  `class_name` string,
  `disposition` string,
  `rcode` string,
  `severity` string,
  `type_name` string,
  `time_dt` string
)
PARTITIONED BY (`region` string, `accountid` string, `eventday` string)
ROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'
STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat'
LOCATION 's3://example-bucket/lake/aws/ROUTE53/2.0/'
TBLPROPERTIES (
  'classification' = 'parquet',
  'parquet.compression' = 'ZSTD',
  'projection.enabled' = 'true',
  'projection.region.type' = 'enum',
  'projection.region.values' = 'us-east-1',
  'projection.accountid.type' = 'enum',
  'projection.accountid.values' = '111122223333',
  'projection.eventday.type' = 'date',
  'projection.eventday.format' = 'yyyyMMdd',
  'projection.eventday.range' = '20210204,NOW',
  'projection.eventday.interval' = '1',
  'projection.eventday.interval.unit' = 'DAYS',
  'storage.location.template' = 's3://example-bucket/lake/aws/ROUTE53/2.0/region=${region}/accountId=${accountid}/eventDay=${eventday}/'
);

-- CLOUD_TRAIL_MGMT in us-east-2: 8 objects, 8 rows
CREATE EXTERNAL TABLE IF NOT EXISTS `amazon_security_lake_glue_db_us_east_2`.`amazon_security_lake_table_us_east_2_cloud_trail_mgmt_2_0` (
  `class_uid` int,
  `activity_id` int,
  `severity_id` int,
  `metadata` struct<`product`:struct<`name`:string,`vendor_name`:string,`version`:string,`feature`:struct<`name`:string>>,`profiles`:array<string>,`uid`:string,`event_code`:string,`version`:string>,
  `cloud` struct<`provider`:string,`region`:string,`account`:struct<`uid`:string>>,
  `time` bigint,
  `actor` struct<`user`:struct<`type`:string,`uid`:string,`uid_alt`:string,`name`:string,`account`:struct<`uid`:string>,`credential_uid`:string>,`session`:struct<`created_time`:bigint,`is_mfa`:boolean,`created_time_dt`:string>>,
  `src_endpoint` struct<`ip`:string>,
  `http_request` struct<`user_agent`:string>,
  `api` struct<`operation`:string,`service`:struct<`name`:string>,`response`:struct<`data`:string,`error`:string,`message`:string>,`request`:struct<`uid`:string,`data`:string>>,
  `status_id` int,
  `user` struct<`uid`:string,`uid_alt`:string,`name`:string>,
  `is_mfa` boolean,
  `dst_endpoint` struct<`svc_name`:string>,
  `observables` array<struct<`name`:string,`type_id`:int,`value`:string,`type`:string>>,
  `unmapped` map<string,string>,
  `category_uid` int,
  `type_uid` bigint,
  `activity_name` string,
  `category_name` string,
  `class_name` string,
  `severity` string,
  `status` string,
  `type_name` string,
  `time_dt` string
)
PARTITIONED BY (`region` string, `accountid` string, `eventday` string)
ROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'
STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat'
LOCATION 's3://example-bucket/lake/aws/CLOUD_TRAIL_MGMT/2.0/'
TBLPROPERTIES (
  'classification' = 'parquet',
  'parquet.compression' = 'ZSTD',
  'projection.enabled' = 'true',
  'projection.region.type' = 'enum',
  'projection.region.values' = 'us-east-2',
  'projection.accountid.type' = 'enum',
  'projection.accountid.values' = '111122223333,123456789012',
  'projection.eventday.type' = 'date',
  'projection.eventday.format' = 'yyyyMMdd',
  'projection.eventday.range' = '20140306,NOW',
  'projection.eventday.interval' = '1',
  'projection.eventday.interval.unit' = 'DAYS',
  'storage.location.template' = 's3://example-bucket/lake/aws/CLOUD_TRAIL_MGMT/2.0/region=${region}/accountId=${accountid}/eventDay=${eventday}/'
);
