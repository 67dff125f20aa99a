/**
 * Read-only AWS API calls an enumeration tool tries with stolen credentials (the calls of tools like
 * enumerate-iam, Pacu's `iam__enum_permissions` / `*__enum` modules, ScoutSuite): CloudTrail event source and event
 * name, as CloudTrail records them (Lambda's names carry their API version, e.g. `ListFunctions20150331`).
 */

/** [eventSource, eventName...] per service. */
const SERVICES: readonly (readonly [string, readonly string[]])[] = [
  ['iam.amazonaws.com', [
    'GetAccountAuthorizationDetails', 'GetAccountSummary', 'GetAccountPasswordPolicy', 'ListAccountAliases', 'ListUsers', 'ListRoles',
    'ListGroups', 'ListPolicies', 'ListInstanceProfiles', 'ListAttachedRolePolicies', 'ListAttachedUserPolicies', 'ListAttachedGroupPolicies',
    'ListRolePolicies', 'ListUserPolicies', 'ListGroupPolicies', 'ListGroupsForUser', 'ListAccessKeys', 'ListMFADevices', 'ListVirtualMFADevices',
    'ListSSHPublicKeys', 'ListServiceSpecificCredentials', 'ListSigningCertificates', 'ListServerCertificates', 'ListSAMLProviders',
    'ListOpenIDConnectProviders', 'ListPolicyVersions', 'ListEntitiesForPolicy', 'ListRoleTags', 'ListUserTags', 'ListInstanceProfilesForRole',
    'GetUser', 'GetRole', 'GetGroup', 'GetPolicy', 'GetPolicyVersion', 'GetRolePolicy', 'GetUserPolicy', 'GetGroupPolicy', 'GetLoginProfile',
    'GetInstanceProfile', 'GetCredentialReport', 'GetAccessKeyLastUsed', 'GetServiceLastAccessedDetails', 'SimulatePrincipalPolicy',
    'GetContextKeysForPrincipalPolicy',
  ]],
  ['sts.amazonaws.com', ['GetCallerIdentity', 'GetAccessKeyInfo']],
  ['ec2.amazonaws.com', [
    'DescribeInstances', 'DescribeInstanceStatus', 'DescribeInstanceAttribute', 'DescribeImages', 'DescribeSnapshots', 'DescribeVolumes',
    'DescribeVpcs', 'DescribeSubnets', 'DescribeSecurityGroups', 'DescribeSecurityGroupRules', 'DescribeNetworkAcls', 'DescribeRouteTables',
    'DescribeInternetGateways', 'DescribeNatGateways', 'DescribeVpcEndpoints', 'DescribeVpcPeeringConnections', 'DescribeTransitGateways',
    'DescribeNetworkInterfaces', 'DescribeAddresses', 'DescribeKeyPairs', 'DescribeLaunchTemplates', 'DescribeLaunchTemplateVersions',
    'DescribeRegions', 'DescribeAvailabilityZones', 'DescribeAccountAttributes', 'DescribeFlowLogs', 'DescribeDhcpOptions',
    'DescribeCustomerGateways', 'DescribeVpnGateways', 'DescribeVpnConnections', 'DescribeReservedInstances', 'DescribeSpotInstanceRequests',
    'DescribeHosts', 'DescribeIamInstanceProfileAssociations', 'DescribeTags', 'DescribeSnapshotAttribute', 'DescribeImageAttribute',
    'DescribeVolumeStatus', 'DescribePrefixLists', 'DescribeManagedPrefixLists', 'DescribeCapacityReservations', 'DescribeFleets',
    'DescribeClientVpnEndpoints', 'DescribeInstanceTypes', 'GetEbsEncryptionByDefault', 'GetEbsDefaultKmsKeyId', 'GetConsoleOutput',
    'GetPasswordData', 'GetLaunchTemplateData',
  ]],
  ['s3.amazonaws.com', [
    'ListBuckets', 'GetBucketPolicy', 'GetBucketAcl', 'GetBucketLocation', 'GetBucketVersioning', 'GetBucketLogging', 'GetBucketEncryption',
    'GetBucketPublicAccessBlock', 'GetBucketTagging', 'GetBucketCors', 'GetBucketWebsite', 'GetBucketLifecycle', 'GetBucketReplication',
    'GetBucketNotification', 'GetBucketOwnershipControls', 'GetBucketPolicyStatus', 'GetAccountPublicAccessBlock', 'GetBucketObjectLockConfiguration',
    'GetBucketRequestPayment', 'GetBucketAccelerateConfiguration',
  ]],
  ['lambda.amazonaws.com', [
    'ListFunctions20150331', 'GetFunction20150331v2', 'GetPolicy20150331v2', 'ListAliases20150331', 'ListVersionsByFunction20150331',
    'GetAccountSettings20160819', 'ListEventSourceMappings20150331', 'ListLayers20181031', 'GetFunctionConfiguration20150331v2', 'ListTags20170331',
  ]],
  ['rds.amazonaws.com', [
    'DescribeDBInstances', 'DescribeDBClusters', 'DescribeDBSnapshots', 'DescribeDBClusterSnapshots', 'DescribeDBSubnetGroups',
    'DescribeDBParameterGroups', 'DescribeDBClusterParameterGroups', 'DescribeEventSubscriptions', 'DescribeOptionGroups', 'DescribeDBProxies',
    'DescribeGlobalClusters', 'DescribeAccountAttributes', 'DescribeCertificates', 'DescribeReservedDBInstances', 'DescribeDBSnapshotAttributes',
  ]],
  ['dynamodb.amazonaws.com', [
    'ListTables', 'DescribeTable', 'ListBackups', 'ListGlobalTables', 'DescribeLimits', 'DescribeContinuousBackups', 'DescribeTimeToLive',
    'ListTagsOfResource', 'DescribeEndpoints', 'ListExports',
  ]],
  ['kms.amazonaws.com', ['ListKeys', 'ListAliases', 'DescribeKey', 'GetKeyPolicy', 'GetKeyRotationStatus', 'ListGrants', 'ListKeyPolicies', 'ListResourceTags', 'ListRetirableGrants', 'GetPublicKey']],
  ['secretsmanager.amazonaws.com', ['ListSecrets', 'DescribeSecret', 'GetResourcePolicy', 'ListSecretVersionIds', 'GetSecretValue', 'BatchGetSecretValue']],
  ['ssm.amazonaws.com', [
    'DescribeParameters', 'GetParametersByPath', 'GetParameters', 'GetParameter', 'DescribeInstanceInformation', 'ListDocuments', 'DescribeDocument',
    'ListCommands', 'ListCommandInvocations', 'DescribeSessions', 'GetInventory', 'ListAssociations', 'DescribeAssociation',
    'DescribeMaintenanceWindows', 'DescribePatchBaselines', 'GetServiceSetting', 'ListComplianceItems', 'DescribeAutomationExecutions',
    'ListResourceDataSync', 'GetConnectionStatus',
  ]],
  ['cloudtrail.amazonaws.com', ['DescribeTrails', 'GetTrailStatus', 'GetEventSelectors', 'ListTrails', 'GetTrail', 'LookupEvents', 'GetInsightSelectors', 'ListEventDataStores', 'ListChannels']],
  ['guardduty.amazonaws.com', ['ListDetectors', 'GetDetector', 'ListFindings', 'GetFindings', 'ListFilters', 'ListIPSets', 'ListThreatIntelSets', 'ListMembers', 'GetMasterAccount', 'GetAdministratorAccount']],
  ['organizations.amazonaws.com', [
    'DescribeOrganization', 'ListAccounts', 'ListRoots', 'ListPolicies', 'ListOrganizationalUnitsForParent', 'ListDelegatedAdministrators',
    'DescribeAccount', 'ListHandshakesForAccount', 'ListAWSServiceAccessForOrganization',
  ]],
  ['config.amazonaws.com', [
    'DescribeConfigurationRecorders', 'DescribeConfigurationRecorderStatus', 'DescribeDeliveryChannels', 'DescribeConfigRules',
    'DescribeComplianceByConfigRule', 'GetDiscoveredResourceCounts', 'DescribeConformancePacks', 'DescribeAggregationAuthorizations',
  ]],
  ['cloudformation.amazonaws.com', [
    'ListStacks', 'DescribeStacks', 'GetTemplate', 'ListStackResources', 'DescribeStackResources', 'ListExports', 'ListImports',
    'GetTemplateSummary', 'DescribeStackEvents', 'ListStackSets', 'DescribeAccountLimits', 'ListTypes',
  ]],
  ['monitoring.amazonaws.com', ['DescribeAlarms', 'ListMetrics', 'ListDashboards', 'GetDashboard', 'DescribeAlarmHistory', 'DescribeAnomalyDetectors', 'ListTagsForResource']],
  ['logs.amazonaws.com', [
    'DescribeLogGroups', 'DescribeLogStreams', 'DescribeMetricFilters', 'DescribeSubscriptionFilters', 'DescribeResourcePolicies',
    'DescribeDestinations', 'DescribeExportTasks', 'DescribeQueryDefinitions', 'FilterLogEvents', 'GetLogEvents',
  ]],
  ['ecr.amazonaws.com', [
    'DescribeRepositories', 'GetAuthorizationToken', 'ListImages', 'DescribeImages', 'GetRepositoryPolicy', 'GetLifecyclePolicy',
    'DescribeRegistry', 'GetRegistryPolicy', 'DescribeImageScanFindings', 'BatchGetImage',
  ]],
  ['ecs.amazonaws.com', ['ListClusters', 'DescribeClusters', 'ListServices', 'ListTaskDefinitions', 'DescribeTaskDefinition', 'ListContainerInstances', 'ListTasks', 'ListAccountSettings']],
  ['eks.amazonaws.com', ['ListClusters', 'DescribeCluster', 'ListNodegroups', 'ListFargateProfiles', 'ListAddons', 'ListIdentityProviderConfigs', 'ListAccessEntries']],
  ['elasticloadbalancing.amazonaws.com', [
    'DescribeLoadBalancers', 'DescribeTargetGroups', 'DescribeListeners', 'DescribeRules', 'DescribeTargetHealth', 'DescribeLoadBalancerAttributes',
    'DescribeSSLPolicies', 'DescribeAccountLimits',
  ]],
  ['autoscaling.amazonaws.com', [
    'DescribeAutoScalingGroups', 'DescribeLaunchConfigurations', 'DescribeAutoScalingInstances', 'DescribePolicies', 'DescribeScheduledActions',
    'DescribeLifecycleHooks', 'DescribeAccountLimits', 'DescribeTags',
  ]],
  ['route53.amazonaws.com', ['ListHostedZones', 'GetHostedZone', 'ListResourceRecordSets', 'ListHealthChecks', 'GetHostedZoneCount', 'ListQueryLoggingConfigs', 'ListTrafficPolicies', 'GetAccountLimit']],
  ['sns.amazonaws.com', ['ListTopics', 'GetTopicAttributes', 'ListSubscriptions', 'ListPlatformApplications', 'GetSMSAttributes', 'ListSubscriptionsByTopic']],
  ['sqs.amazonaws.com', ['ListQueues', 'GetQueueAttributes', 'ListQueueTags', 'GetQueueUrl', 'ListDeadLetterSourceQueues']],
  ['kinesis.amazonaws.com', ['ListStreams', 'DescribeStream', 'DescribeStreamSummary', 'ListStreamConsumers', 'DescribeLimits']],
  ['firehose.amazonaws.com', ['ListDeliveryStreams', 'DescribeDeliveryStream']],
  ['glue.amazonaws.com', ['GetDatabases', 'GetTables', 'GetConnections', 'GetCrawlers', 'GetJobs', 'GetDevEndpoints', 'GetTriggers', 'GetSecurityConfigurations', 'GetDataCatalogEncryptionSettings', 'GetResourcePolicy']],
  ['athena.amazonaws.com', ['ListWorkGroups', 'ListDataCatalogs', 'ListNamedQueries', 'ListQueryExecutions', 'GetWorkGroup', 'ListDatabases']],
  ['redshift.amazonaws.com', ['DescribeClusters', 'DescribeClusterSnapshots', 'DescribeClusterParameterGroups', 'DescribeLoggingStatus', 'DescribeClusterSubnetGroups']],
  ['elasticache.amazonaws.com', ['DescribeCacheClusters', 'DescribeReplicationGroups', 'DescribeCacheSubnetGroups', 'DescribeSnapshots', 'DescribeUsers']],
  ['es.amazonaws.com', ['ListDomainNames', 'DescribeDomains', 'DescribeDomainConfig', 'GetCompatibleVersions']],
  ['apigateway.amazonaws.com', ['GetRestApis', 'GetApiKeys', 'GetDomainNames', 'GetUsagePlans', 'GetVpcLinks', 'GetAccount', 'GetClientCertificates']],
  ['acm.amazonaws.com', ['ListCertificates', 'DescribeCertificate', 'GetAccountConfiguration']],
  ['wafv2.amazonaws.com', ['ListWebACLs', 'ListIPSets', 'ListRuleGroups', 'GetLoggingConfiguration', 'ListLoggingConfigurations']],
  ['securityhub.amazonaws.com', ['DescribeHub', 'GetEnabledStandards', 'ListMembers', 'GetFindings', 'DescribeStandards', 'ListEnabledProductsForImport']],
  ['access-analyzer.amazonaws.com', ['ListAnalyzers', 'ListFindings', 'GetAnalyzer']],
  ['inspector2.amazonaws.com', ['ListFindings', 'ListCoverage', 'BatchGetAccountStatus', 'ListMembers']],
  ['backup.amazonaws.com', ['ListBackupVaults', 'ListBackupPlans', 'ListBackupJobs', 'ListProtectedResources', 'GetBackupVaultAccessPolicy']],
  ['codebuild.amazonaws.com', ['ListProjects', 'BatchGetProjects', 'ListBuilds', 'ListSourceCredentials']],
  ['codecommit.amazonaws.com', ['ListRepositories', 'GetRepository']],
  ['codepipeline.amazonaws.com', ['ListPipelines', 'GetPipeline']],
  ['sso.amazonaws.com', ['ListInstances', 'ListPermissionSets']],
  ['states.amazonaws.com', ['ListStateMachines', 'ListActivities', 'DescribeStateMachine']],
  ['events.amazonaws.com', ['ListRules', 'ListEventBuses', 'ListTargetsByRule', 'DescribeEventBus']],
  ['ses.amazonaws.com', ['ListIdentities', 'GetSendQuota', 'ListEmailIdentities', 'GetAccount']],
  ['elasticbeanstalk.amazonaws.com', ['DescribeApplications', 'DescribeEnvironments']],
  ['elasticfilesystem.amazonaws.com', ['DescribeFileSystems', 'DescribeMountTargets', 'DescribeAccessPoints']],
  ['cognito-idp.amazonaws.com', ['ListUserPools']],
  ['cognito-identity.amazonaws.com', ['ListIdentityPools']],
  ['sagemaker.amazonaws.com', ['ListNotebookInstances', 'ListEndpoints', 'ListModels', 'ListTrainingJobs', 'ListDomains']],
  ['transfer.amazonaws.com', ['ListServers']],
  ['health.amazonaws.com', ['DescribeEvents']],
];

export interface ApiCall {
  /** CloudTrail eventSource, e.g. `iam.amazonaws.com`. */
  source: string;
  /** CloudTrail eventName, e.g. `ListUsers`. */
  name: string;
  /** The IAM action it needs, e.g. `iam:ListUsers` (Lambda's version suffix dropped). */
  action: string;
}

/** The IAM service prefix of an event source (`monitoring.amazonaws.com` -> `cloudwatch`). */
function actionPrefix(source: string): string {
  const s = source.replace(/\.amazonaws\.com$/, '');
  return s === 'monitoring' ? 'cloudwatch' : s === 'elasticfilesystem' ? 'elasticfilesystem' : s;
}

/** Every read call of the catalogue, service by service. */
export const ENUMERATION_CALLS: readonly ApiCall[] = SERVICES.flatMap(([source, names]) =>
  names.map((name) => ({ source, name, action: `${actionPrefix(source)}:${name.replace(/\d{8}(v\d)?$/, '')}` })),
);

/** Distinct services of the catalogue. */
export const ENUMERATION_SERVICES: readonly string[] = SERVICES.map(([s]) => s);

/**
 * The error code a denied call gets, per the service's protocol: EC2's query API `Client.UnauthorizedOperation`,
 * the XML services (IAM, STS, S3, RDS, CloudFormation, ...) `AccessDenied`, the JSON ones `AccessDeniedException`.
 */
export function deniedCode(source: string): string {
  const s = source.replace(/\.amazonaws\.com$/, '');
  if (s === 'ec2') return 'Client.UnauthorizedOperation';
  if (['iam', 'sts', 's3', 'rds', 'cloudformation', 'autoscaling', 'elasticloadbalancing', 'sns', 'sqs', 'redshift', 'elasticache', 'elasticbeanstalk', 'monitoring', 'ses', 'route53'].includes(s)) return 'AccessDenied';
  return 'AccessDeniedException';
}
