import { readFileSync } from 'node:fs';

/** The parts of a V8 .cpuprofile (as written by `node --cpu-prof`) that the summary needs. */
interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

export interface Entry {
  readonly name: string;
  readonly ms: number;
  readonly share: number;
}

export interface ProfileSummary {
  readonly totalMs: number;
  /** Functions by self time: where the CPU actually was (native work shows in the JS frame that called it). */
  readonly selfByFunction: readonly Entry[];
  /** Self time grouped by where the code lives (our modules, each dependency, Node internals, GC). */
  readonly selfByArea: readonly Entry[];
  /** Inclusive time of every function, recursion counted once. */
  readonly inclusiveByFunction: readonly Entry[];
}

export function summarizeProfile(file: string): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = selfTimes(profile);
  const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const entries = (m: Map<string, number>): Entry[] =>
    [...m].map(([name, us]) => ({ name, ms: us / 1000, share: us / totalUs })).sort((a, b) => b.ms - a.ms);

  const selfByFunction = new Map<string, number>();
  const selfByArea = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    add(selfByFunction, functionKey(node), us);
    add(selfByArea, areaOf(node.callFrame.url, node.callFrame.functionName), us);
  }
  const inclusive = new Map<string, number>();
  const root = profile.nodes[0];
  if (root) inclusiveTimes(root, byId, selfUs, inclusive, new Set());
  return { totalMs: totalUs / 1000, selfByFunction: entries(selfByFunction), selfByArea: entries(selfByArea), inclusiveByFunction: entries(inclusive) };
}

// Each sample's time delta is charged to the function on top of the stack at that sample.
function selfTimes(profile: CpuProfile): Map<number, number> {
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] as number;
    const next = profile.timeDeltas[i + 1] ?? 0;
    self.set(id, (self.get(id) ?? 0) + next);
  }
  return self;
}

/** Returns the node's inclusive time; charges it to each function once per stack, however deep the recursion. */
function inclusiveTimes(
  node: ProfileNode,
  byId: Map<number, ProfileNode>,
  selfUs: Map<number, number>,
  out: Map<string, number>,
  onStack: Set<string>,
): number {
  let total = selfUs.get(node.id) ?? 0;
  const key = functionKey(node);
  const first = !onStack.has(key);
  if (first) onStack.add(key);
  for (const childId of node.children ?? []) {
    const child = byId.get(childId);
    if (child) total += inclusiveTimes(child, byId, selfUs, out, onStack);
  }
  if (first) {
    onStack.delete(key);
    add(out, key, total);
  }
  return total;
}

function add(m: Map<string, number>, key: string, us: number): void {
  m.set(key, (m.get(key) ?? 0) + us);
}

function functionKey(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const name = functionName === '' ? '(anonymous)' : functionName;
  if (url === '') return name;
  return `${name} ${shortUrl(url)}:${lineNumber + 1}`;
}

function shortUrl(url: string): string {
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) return url.slice(nm + '/node_modules/'.length);
  const dist = url.lastIndexOf('/dist/');
  if (dist >= 0) return url.slice(dist + '/dist/'.length);
  return url.replace(/^file:\/\//, '');
}

/** Where code lives: "(garbage collector)" etc., node:<module>, a dependency's name, or our src/<area>. */
function areaOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return url.replace(/^node:(internal\/)?/, 'node:').split('/').slice(0, 2).join('/');
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const parts = url.slice(nm + '/node_modules/'.length).split('/');
    return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0] ?? url;
  }
  const src = url.lastIndexOf('/dist/src/');
  if (src >= 0) return `src/${url.slice(src + '/dist/src/'.length).split('/')[0]}`;
  return shortUrl(url);
}
