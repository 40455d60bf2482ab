import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DiagnosticsPolicy, errorsUnderCursors, type PolicyTimers } from '../../src/core/formulas/diagnosticsPolicy';
import { render } from './helpers';

/** A clock that only moves when the test says so. */
class FakeClock implements PolicyTimers {
  t = 0;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private next = 1;
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((x) => x.id !== handle);
  }
  advance(ms: number): void {
    this.t += ms;
    for (;;) {
      const due = this.timers.filter((x) => x.at <= this.t).sort((a, b) => a.at - b.at)[0];
      if (!due) return;
      this.timers = this.timers.filter((x) => x !== due);
      due.fn();
    }
  }
}

function setup() {
  const clock = new FakeClock();
  const checks: string[] = [];
  const policy = new DiagnosticsPolicy(clock, (key) => checks.push(`${key}@${clock.t}`), 1000);
  return { clock, checks, policy };
}

const NOTE = '# 笔记\n\n噪声 $x+\\fr$ 结束\n\n旧的 $\\frac{1}{$ 错误\n';
const errorsOf = (text: string) => render(text).doc.diagnostics;
const nowhere = () => false;

describe('diagnostics policy: when formula errors are reported', () => {
  it('checks at once on open and on save', () => {
    const { checks, policy } = setup();
    policy.opened('a.md');
    policy.saved('a.md');
    assert.deepEqual(checks, ['a.md@0', 'a.md@0']);
  });

  it('after edits, checks once when the user paused for the whole pause', () => {
    const { clock, checks, policy } = setup();
    policy.edited('a.md');
    clock.advance(600);
    policy.edited('a.md'); // typing on: the pause starts again
    clock.advance(999);
    assert.deepEqual(checks, [], 'no check while typing');
    clock.advance(1);
    assert.deepEqual(checks, ['a.md@1600']);
    clock.advance(5000);
    assert.equal(checks.length, 1, 'one check per pause');
  });

  it('a render while typing adds no new error; after the pause it does', () => {
    const { clock, policy } = setup();
    const errors = errorsOf('噪声 $x+\\fr$ 结束\n');
    assert.equal(errors.length, 1);
    policy.edited('a.md');
    clock.advance(60); // the preview's render
    assert.deepEqual(policy.select('a.md', errors, nowhere), []);
    clock.advance(1000);
    assert.deepEqual(policy.select('a.md', errors, nowhere), errors);
  });

  it('while typing elsewhere, errors already shown stay; fixed ones go', () => {
    const { clock, policy } = setup();
    policy.opened('a.md');
    const two = errorsOf('$\\frac{$\n\n$\\sqrt{$\n');
    assert.equal(policy.select('a.md', two, nowhere).length, 2);
    policy.edited('a.md');
    clock.advance(100);
    assert.deepEqual(policy.select('a.md', two, nowhere), two, 'no flicker while typing elsewhere');
    assert.deepEqual(policy.select('a.md', [two[1]!], nowhere), [two[1]!], 'a fixed error disappears at once');
  });

  it('the formula under the cursor is not reported while typing, even if it was before', () => {
    const { clock, policy } = setup();
    policy.opened('a.md');
    const errors = errorsOf(NOTE);
    assert.equal(errors.length, 2);
    assert.equal(policy.select('a.md', errors, nowhere).length, 2);
    policy.edited('a.md');
    clock.advance(50);
    const cursorInFr = errorsUnderCursors(NOTE, [{ line: 2, character: 9 }]); // right after `\fr`
    assert.deepEqual(policy.select('a.md', errors, cursorInFr).map((e) => e.line), [4]);
    clock.advance(1000);
    assert.equal(policy.select('a.md', errors, cursorInFr).length, 2, 'after the pause it is reported');
  });

  it('save reports everything at once, even mid-typing', () => {
    const { clock, policy } = setup();
    const errors = errorsOf(NOTE);
    policy.edited('a.md');
    clock.advance(10);
    policy.saved('a.md');
    assert.equal(policy.select('a.md', errors, errorsUnderCursors(NOTE, [{ line: 2, character: 9 }])).length, 2);
  });

  it('documents are independent; close forgets one', () => {
    const { clock, checks, policy } = setup();
    policy.edited('a.md');
    policy.edited('b.md');
    policy.closed('a.md');
    clock.advance(1000);
    assert.deepEqual(checks, ['b.md@1000']);
  });
});

describe('errorsUnderCursors', () => {
  const errors = errorsOf(NOTE);
  it('matches the formula whose text holds the cursor, delimiters included', () => {
    assert.deepEqual(errors.filter(errorsUnderCursors(NOTE, [{ line: 2, character: 3 }])).map((e) => e.source), ['x+\\fr']); // on the opening `$`
    assert.deepEqual(errors.filter(errorsUnderCursors(NOTE, [{ line: 4, character: 8 }])).map((e) => e.source), ['\\frac{1}{']);
  });
  it('matches nothing when the cursor is in prose', () => {
    assert.deepEqual(errors.filter(errorsUnderCursors(NOTE, [{ line: 2, character: 1 }, { line: 0, character: 2 }])), []);
  });
  it('a display block counts from its opening line', () => {
    const text = '正文\n\n$$\nx + \\fr\n$$\n';
    const errs = errorsOf(text);
    assert.equal(errs.length, 1);
    assert.equal(errs.filter(errorsUnderCursors(text, [{ line: 3, character: 7 }])).length, 1);
  });
});
