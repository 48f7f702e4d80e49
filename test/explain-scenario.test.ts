/**
 * `explain --scenario FILE --buffer NAME` (issue 14: hand a scenario's buffer to explain): the
 * buffer a step made, decoded with the run's own CPU and kernel (booted options included).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { explainScenarioBuffer } from '../src/commands/explain.js';
import { InputError } from '../src/errors.js';

const SCEN = join(import.meta.dirname, '..', 'scenarios', 'xsave-boot-options.yaml');
const err = (f: () => unknown): string => {
  try { f(); } catch (e) { if (e instanceof InputError) return e.message; throw e; }
  throw new Error('accepted');
};

describe('explain a scenario buffer', () => {
  it('decodes the run\'s buffer with the run\'s kernel: the layout follows its XCR0', () => {
    const plain = explainScenarioBuffer(SCEN, 'img', {});
    expect(plain.split('\n')[0]).toBe("scenario xsave-boot-options, buffer 'img' (11008 bytes) of the run on intel-sapphire-rapids with linux-6.18");
    expect(plain).toMatch(/layout from mask 0x602e7/);
    const booted = explainScenarioBuffer(SCEN, 'img', { kernel: 'linux-6.18+noxsaves' });
    expect(booted.split('\n')[0]).toMatch(/\(2696 bytes\).*linux-6\.18\+noxsaves$/);
    expect(booted).toMatch(/layout from mask 0x2e7/);
    const j = JSON.parse(explainScenarioBuffer(SCEN, 'img', { kernel: 'linux-6.18+clearcpuid=avx512f', json: true })) as { run: { kernel: string }; size: number; layoutMask: number };
    expect(j.run.kernel).toBe('linux-6.18+clearcpuid=avx512f');
    expect(j.layoutMask).toBe(0x60207);
  });
  it('names what is wrong: an unknown buffer, a CPU or kernel not the scenario\'s', () => {
    expect(err(() => explainScenarioBuffer(SCEN, 'nope', {}))).toMatch(/--buffer: the run on intel-sapphire-rapids\/linux-6.18 made no buffer 'nope' \(it made: img\)/);
    expect(err(() => explainScenarioBuffer(SCEN, 'img', { kernel: 'linux-6.2' }))).toMatch(/--kernel: 'linux-6.2' is not one of the scenario's kernels/);
    expect(err(() => explainScenarioBuffer(SCEN, 'img', { cpu: 'amd-zen4' }))).toMatch(/--cpu: 'amd-zen4' is not one of the scenario's CPUs/);
  });
});
