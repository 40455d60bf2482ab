/**
 * What a block's kernel CodeLens says, from its note's kernel and the block's last In [n]
 * (src/runner/jupyter/blockLens.ts): the state follows the kernel (busy → idle), a restart
 * clears the counts, and a run that was stopped by the restart does not bring its count back.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { blockKernelLens, ExecutionCounts } from '../../src/runner/jupyter/blockLens';

const NOTE = 'file:///notes/扩散.md';

describe('block kernel CodeLens', () => {
  it('no kernel and no count: no lens; the state is always the kernel\'s now', () => {
    assert.equal(blockKernelLens(undefined, undefined), undefined);
    assert.deepEqual(blockKernelLens({ state: 'starting' }, undefined), { count: undefined, state: 'starting', interrupt: false });
    assert.deepEqual(blockKernelLens({ state: 'busy' }, undefined), { count: undefined, state: 'busy', interrupt: true });
  });

  it('busy → idle: the block gets its In [n] and stops offering Interrupt', () => {
    const counts = new ExecutionCounts();
    const g = counts.begin(NOTE);
    assert.deepEqual(blockKernelLens({ state: 'busy' }, counts.get(NOTE, 'a')), { count: undefined, state: 'busy', interrupt: true });
    assert.equal(counts.record(NOTE, 'a', g, 1), true);
    assert.deepEqual(blockKernelLens({ state: 'idle' }, counts.get(NOTE, 'a')), { count: 1, state: 'idle', interrupt: false });
    // Another block running turns every block's lens busy; each keeps its own [n].
    assert.deepEqual(blockKernelLens({ state: 'busy' }, counts.get(NOTE, 'a')), { count: 1, state: 'busy', interrupt: true });
    assert.equal(counts.get(NOTE, 'b'), undefined);
  });

  it('a restart clears the counts; a run it stopped does not bring its count back', () => {
    const counts = new ExecutionCounts();
    counts.record(NOTE, 'a', counts.begin(NOTE), 1);
    counts.record('file:///notes/other.md', 'a', counts.begin('file:///notes/other.md'), 7);
    const running = counts.begin(NOTE);
    counts.forget(NOTE);
    assert.deepEqual(blockKernelLens({ state: 'restarting' }, counts.get(NOTE, 'a')), { count: undefined, state: 'restarting', interrupt: false });
    // The stopped run's result arrives after the restart began.
    assert.equal(counts.record(NOTE, 'b', running, 2), false);
    assert.equal(counts.get(NOTE, 'b'), undefined);
    // Other notes keep theirs; a run started after the restart records as usual.
    assert.equal(counts.get('file:///notes/other.md', 'a'), 7);
    assert.equal(counts.record(NOTE, 'b', counts.begin(NOTE), 1), true);
    assert.deepEqual(blockKernelLens({ state: 'idle' }, counts.get(NOTE, 'b')), { count: 1, state: 'idle', interrupt: false });
  });

  it('after Shut Down (no kernel, counts forgotten) there is no lens', () => {
    const counts = new ExecutionCounts();
    counts.record(NOTE, 'a', counts.begin(NOTE), 3);
    counts.forget(NOTE);
    assert.equal(blockKernelLens(undefined, counts.get(NOTE, 'a')), undefined);
  });
});
