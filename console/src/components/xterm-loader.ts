import type { ITheme, Terminal } from '@xterm/xterm';
import type { FitAddon } from '@xterm/addon-fit';

/** xterm touches `window` when imported: load it in the browser only (from an effect). */
export async function loadXterm(): Promise<{ Terminal: typeof Terminal; FitAddon: typeof FitAddon }> {
  const [xterm, fit] = await Promise.all([import('@xterm/xterm'), import('@xterm/addon-fit')]);
  return { Terminal: xterm.Terminal, FitAddon: fit.FitAddon };
}

/** The terminal's colours from the console's CSS variables, so it follows the dark and light themes. */
export function consoleTerminalTheme(): ITheme {
  const css = getComputedStyle(document.documentElement);
  const v = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
  return {
    background: v('--bg-sunken', '#0a0d11'),
    foreground: v('--text', '#d9e1ea'),
    cursor: v('--accent', '#5aa9e6'),
    cursorAccent: v('--bg-sunken', '#0a0d11'),
    selectionBackground: v('--info-bg', 'rgba(90,169,230,0.3)'),
    red: v('--bad', '#ef6461'),
    green: v('--ok', '#3fb68b'),
    yellow: v('--warn', '#e0a43a'),
    blue: v('--accent', '#5aa9e6'),
    magenta: v('--chart-2', '#c792ea'),
    brightBlack: v('--text-faint', '#7c8898'),
  };
}

export const TERMINAL_FONT = 'ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, Consolas, monospace';
