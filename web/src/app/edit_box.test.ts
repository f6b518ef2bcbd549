// @vitest-environment jsdom
import { h, render } from 'preact';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EditBox } from './edit_box';

const kOld = 'Kickoff is Monday at 10.';
const kNew = 'Kickoff is Monday at 11.';

/** Longer than any deferred (after-paint) effect takes: Preact's fallback is 35 ms. */
const afterFrames = () => new Promise((r) => setTimeout(r, 120));

let host: HTMLElement | null = null;

function mount(onSave = vi.fn(async (_body: string) => {}), onCancel = vi.fn()) {
  host = document.createElement('div');
  document.body.append(host);
  render(h(EditBox, { initial: kOld, onSave, onCancel, errorText: (e: unknown) => (e as Error).message }), host);
  const box = host.querySelector('textarea')!;
  return { box, onSave, onCancel };
}

/** What a user (or Playwright's fill) does: select everything, type the replacement. */
function replaceAll(box: HTMLTextAreaElement, text: string) {
  box.setRangeText(text, box.selectionStart ?? 0, box.selectionEnd ?? 0, 'end');
  box.dispatchEvent(new Event('input', { bubbles: true }));
}

function pressEnter(box: HTMLTextAreaElement) {
  box.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true, cancelable: true }));
}

afterEach(() => {
  if (host) { render(null, host); host.remove(); host = null; }
});

describe('EditBox', () => {
  it('has focus with the caret at the end as soon as it is shown', () => {
    const { box } = mount();
    expect(document.activeElement).toBe(box);
    expect([box.selectionStart, box.selectionEnd]).toEqual([kOld.length, kOld.length]);
  });

  it('keeps a selection made right after it opened, so typing replaces the old text', async () => {
    const { box, onSave } = mount();
    box.setSelectionRange(0, box.value.length); // select all within the first frame
    await afterFrames();                         // nothing the box does later may move it
    expect([box.selectionStart, box.selectionEnd]).toEqual([0, kOld.length]);
    replaceAll(box, kNew);
    pressEnter(box);
    expect(onSave).toHaveBeenCalledTimes(1);
    expect(onSave).toHaveBeenCalledWith(kNew);
  });

  it('shows why a save failed and keeps the text for a retry', async () => {
    let attempt = 0;
    const onSave = vi.fn(async (_body: string) => { if (++attempt === 1) throw new Error('body: longer than 16384 bytes'); });
    const { box } = mount(onSave);
    box.setSelectionRange(0, box.value.length);
    replaceAll(box, kNew);
    pressEnter(box);
    await afterFrames();
    expect(host!.querySelector('[role=alert]')?.textContent).toBe('Not saved: body: longer than 16384 bytes');
    expect(box.value).toBe(kNew);
    pressEnter(box);
    await afterFrames();
    expect(onSave).toHaveBeenCalledTimes(2);
    expect(host!.querySelector('[role=alert]')).toBeNull();
  });

  it('does not save blank text, and Escape cancels', () => {
    const { box, onSave, onCancel } = mount();
    box.setSelectionRange(0, box.value.length);
    replaceAll(box, '   ');
    pressEnter(box);
    expect(onSave).not.toHaveBeenCalled();
    box.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true, cancelable: true }));
    expect(onCancel).toHaveBeenCalledTimes(1);
  });
});
