/** The source registry: type -> definition, and content-based detection. */
import type { SourceDefinition, SourceType } from './types.js';
import { awsVpcFlow } from './aws_vpc_flow/index.js';
import { awsRoute53 } from './aws_route53/index.js';
import { awsCloudtrail } from './aws_cloudtrail/index.js';
import { ocsfSource } from './ocsf/index.js';

export const SOURCES: readonly SourceDefinition[] = [awsVpcFlow, awsRoute53, awsCloudtrail, ocsfSource];

export const SOURCE_TYPES = SOURCES.map((s) => s.type);

export function sourceByType(type: string): SourceDefinition | undefined {
  return SOURCES.find((s) => s.type === type);
}

/** Minimum confidence for auto-detection. */
export const DETECT_THRESHOLD = 0.5;

/** The most confident source for this content, or undefined if none reaches the threshold. */
export function detectSource(head: string, name: string, columns?: string[]): { source: SourceDefinition; confidence: number } | undefined {
  let best: { source: SourceDefinition; confidence: number } | undefined;
  for (const source of SOURCES) {
    let confidence = 0;
    try {
      confidence = source.detect(head, name, columns);
    } catch {
      confidence = 0;
    }
    if (confidence >= DETECT_THRESHOLD && (!best || confidence > best.confidence)) best = { source, confidence };
  }
  return best;
}

export function isSourceType(t: string): t is SourceType {
  return SOURCE_TYPES.includes(t as SourceType);
}
