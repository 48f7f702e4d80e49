/**
 * The comparison loop the kernel referees share: each case's host answer against the model's,
 * two more host runs for a disagreeing case (preemption between a probe's steps can change what
 * the host shows; a case counts only when the model matches none of them), mismatches printed
 * in full for the first few and summarized by field.
 */
export interface TallyOptions<C> {
  cases: readonly C[];
  /** Differences (empty when equal) between the host's answer to case k and the model's. */
  compare: (k: number) => string[];
  /** Differences on a fresh host run of one case. */
  rerun: (k: number) => string[];
  describe: (c: C) => string;
  log: (l: string) => void;
  detail?: number;
}

export function tallyMismatches<C>(o: TallyOptions<C>): number {
  let mismatches = 0, shown = 0, unstable = 0;
  const byKind = new Map<string, number>();
  o.cases.forEach((c, k) => {
    let d = o.compare(k);
    if (d.length && [o.rerun(k), o.rerun(k)].some((x) => x.length === 0)) { d = []; unstable++; }
    if (!d.length) return;
    mismatches++;
    for (const x of d) { const key = x.replace(/0x[0-9a-f]+|\d+/g, 'N').replace(/: kernel.*/, ''); byKind.set(key, (byKind.get(key) ?? 0) + 1); }
    if (shown++ < (o.detail ?? 5)) { o.log(`MISMATCH case ${k}: ${o.describe(c)}`); for (const x of d.slice(0, 10)) o.log(`  ${x}`); }
  });
  if (byKind.size) { o.log('mismatches by field:'); for (const [kk, n] of [...byKind].sort((a, b) => b[1] - a[1]).slice(0, 20)) o.log(`  ${String(n).padStart(6)}  ${kk}`); }
  if (unstable) o.log(`note: ${unstable} case(s) differed on the first host run and matched on a re-run`);
  return mismatches;
}
