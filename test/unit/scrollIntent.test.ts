import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Window } from 'happy-dom';
import { ScrollIntent } from '../../src/webview/scrollIntent';

// Which of the page's scroll events may move the editor (src/webview/scrollIntent.ts).

function setup() {
  const window = new Window();
  let t = 10_000;
  const intent = new ScrollIntent(window as unknown as Window & typeof globalThis, () => t, 1000);
  const fire = (type: string): void => void window.dispatchEvent(new window.Event(type));
  return { intent, fire, advance: (ms: number) => void (t += ms) };
}

describe('ScrollIntent', () => {
  it('a scroll with no input before it is the page\'s own, however late it comes', () => {
    const { intent, advance } = setup();
    assert.equal(intent.byReader(), false, 'no input yet');
    advance(5000);
    assert.equal(intent.byReader(), false, 'still no input');
  });

  for (const type of ['wheel', 'touchstart', 'touchmove', 'keydown']) {
    it(`a ${type} makes the next second's scrolls the reader's`, () => {
      const { intent, fire, advance } = setup();
      fire(type);
      assert.equal(intent.byReader(), true, `right after ${type}`);
      advance(900);
      assert.equal(intent.byReader(), true, `900 ms after ${type}`);
      advance(200);
      assert.equal(intent.byReader(), false, `1.1 s after ${type}`);
    });
  }

  it('a pointer held down (dragging the scrollbar) counts for as long as it is held', () => {
    const { intent, fire, advance } = setup();
    fire('pointerdown');
    advance(10_000);
    assert.equal(intent.byReader(), true, 'held 10 s');
    fire('pointerup');
    advance(500);
    assert.equal(intent.byReader(), true, 'just released (the last scroll events)');
    advance(600);
    assert.equal(intent.byReader(), false, 'released 1.1 s ago');
  });

  for (const [why, event] of [['lost with the window\'s focus', 'blur'], ['cancelled', 'pointercancel']] as const) {
    it(`a pointer ${why} is not held forever`, () => {
      const { intent, fire, advance } = setup();
      fire('pointerdown');
      fire(event);
      advance(1100);
      assert.equal(intent.byReader(), false, `${event} released the pointer`);
    });
  }
});
