'use client';

import { useEffect, useId, useRef, useState, type KeyboardEvent, type ReactNode } from 'react';
import styles from './menu.module.css';
import { Button } from './ui';

export interface MenuItem {
  key: string;
  label: string;
  group?: string;
  danger?: boolean;
  disabled?: boolean;
  onSelect: () => void;
}

/**
 * A menu button (WAI-ARIA menu pattern): opens below the button, arrow keys move between
 * items, Escape or a click elsewhere closes it and focus returns to the button. `note` is shown
 * above the items (why they are disabled).
 */
export function MenuButton({ label, items, note, testId }: { label: string; items: MenuItem[]; note?: ReactNode; testId?: string }) {
  const [open, setOpen] = useState(false);
  const wrap = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const menu = useRef<HTMLDivElement>(null);
  const menuId = useId();

  useEffect(() => {
    if (!open) return;
    const outside = (event: MouseEvent) => {
      if (wrap.current && !wrap.current.contains(event.target as Node)) setOpen(false);
    };
    // Escape closes it wherever focus is (with every item disabled, focus may still be on the page).
    const escape = (event: globalThis.KeyboardEvent) => {
      if (event.key !== 'Escape') return;
      setOpen(false);
      button.current?.focus();
    };
    document.addEventListener('mousedown', outside);
    document.addEventListener('keydown', escape);
    // First enabled item takes focus, so the keyboard can go on at once; else the menu itself (its note is read).
    const first = menu.current?.querySelector<HTMLButtonElement>('[role="menuitem"]:not(:disabled)');
    (first ?? menu.current)?.focus();
    return () => {
      document.removeEventListener('mousedown', outside);
      document.removeEventListener('keydown', escape);
    };
  }, [open]);

  function close(focusButton: boolean) {
    setOpen(false);
    if (focusButton) button.current?.focus();
  }

  function onKeyDown(event: KeyboardEvent) {
    const enabled = [...(menu.current?.querySelectorAll<HTMLButtonElement>('[role="menuitem"]:not(:disabled)') ?? [])];
    const at = enabled.indexOf(document.activeElement as HTMLButtonElement);
    if (event.key === 'Escape') {
      // The document listener closes it; this keeps a surrounding dialog from seeing the key too.
      event.preventDefault();
    } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      const next = event.key === 'ArrowDown' ? at + 1 : at - 1;
      enabled[(next + enabled.length) % enabled.length]?.focus();
    } else if (event.key === 'Home' || event.key === 'End') {
      event.preventDefault();
      enabled[event.key === 'Home' ? 0 : enabled.length - 1]?.focus();
    } else if (event.key === 'Tab') {
      close(false);
    }
  }

  let lastGroup: string | undefined;
  return (
    <div className={styles.wrap} ref={wrap} data-testid={testId}>
      <Button
        ref={button}
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={open ? menuId : undefined}
        onClick={() => setOpen((o) => !o)}
        onKeyDown={(e) => {
          if (e.key === 'ArrowDown' && !open) {
            e.preventDefault();
            setOpen(true);
          }
        }}
      >
        {label} ▾
      </Button>
      {open && (
        <div className={styles.menu} role="menu" id={menuId} aria-label={label} ref={menu} onKeyDown={onKeyDown} tabIndex={-1}>
          {note && (
            <div className={styles.note} role="note">
              {note}
            </div>
          )}
          {items.map((item) => {
            const header = item.group && item.group !== lastGroup ? item.group : null;
            lastGroup = item.group;
            return (
              <div key={item.key} role="none">
                {header && (
                  <div className={styles.group} role="presentation">
                    {header}
                  </div>
                )}
                <button
                  type="button"
                  role="menuitem"
                  className={`${styles.item} ${item.danger ? styles.danger : ''}`}
                  disabled={item.disabled}
                  onClick={() => {
                    close(true);
                    item.onSelect();
                  }}
                >
                  {item.label}
                </button>
              </div>
            );
          })}
        </div>
      )}
    </div>
  );
}
