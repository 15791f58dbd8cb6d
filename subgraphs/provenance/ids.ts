import { badInput } from '../common/errors';

/** Global ids `Type:key` (Image:42, ImportOrder:<uuid>, WorkflowRun:<uuid>). */
export type NodeType = 'Image' | 'ImportOrder' | 'WorkflowRun';

export interface NodeRef {
  type: NodeType;
  key: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function parseGlobalId(value: string): NodeRef {
  const idx = value.indexOf(':');
  const type = value.slice(0, idx);
  const key = value.slice(idx + 1);
  if (type === 'Image' && /^\d{1,18}$/.test(key)) return { type, key: String(Number(key)) };
  if ((type === 'ImportOrder' || type === 'WorkflowRun') && UUID.test(key)) return { type, key: key.toLowerCase() };
  throw badInput('`of` must be a global id such as Image:42, ImportOrder:<uuid> or WorkflowRun:<uuid>.', 'of');
}

export function globalId(ref: NodeRef): string {
  return `${ref.type}:${ref.key}`;
}

export const PROV_KIND: Record<NodeType, 'ENTITY' | 'ACTIVITY'> = { Image: 'ENTITY', ImportOrder: 'ACTIVITY', WorkflowRun: 'ACTIVITY' };
