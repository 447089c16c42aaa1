// A little CPU load for a demo device, so its charts move: busy for a share of every 200 ms slice,
// the share swinging slowly between --min and --max percent of one core. Bounded in time
// (--seconds), and stopped by the lab with the device.
// node demo-load.js --min 2 --max 15 --period 120 --seconds 43200
import { parseArgs } from 'node:util';

const SLICE_MS = 200;

/** The busy share (0-1) at `elapsedSeconds`: a sine between min and max percent with the given period. */
export function dutyAt(elapsedSeconds: number, minPercent: number, maxPercent: number, periodSeconds: number): number {
  const phase = (1 - Math.cos((2 * Math.PI * elapsedSeconds) / periodSeconds)) / 2;
  return (minPercent + (maxPercent - minPercent) * phase) / 100;
}

export function parseLoadArgs(argv: string[]): { min: number; max: number; period: number; seconds: number } {
  const { values } = parseArgs({
    args: argv,
    options: {
      min: { type: 'string', default: '2' },
      max: { type: 'string', default: '15' },
      period: { type: 'string', default: '120' },
      seconds: { type: 'string', default: '43200' },
    },
  });
  const [min, max, period, seconds] = [values.min, values.max, values.period, values.seconds].map(Number) as [
    number,
    number,
    number,
    number,
  ];
  if (!(min >= 0 && max >= min && max <= 50)) throw new RangeError('need 0 <= --min <= --max <= 50 (percent of one core)');
  if (!(period >= 10 && period <= 3600)) throw new RangeError('--period must be 10-3600 s');
  if (!(seconds > 0 && seconds <= 7 * 86_400)) throw new RangeError('--seconds must be 1-604800');
  return { min, max, period, seconds };
}

async function main(): Promise<void> {
  const { min, max, period, seconds } = parseLoadArgs(process.argv.slice(2));
  const started = Date.now();
  for (;;) {
    const sliceStart = Date.now();
    const elapsed = (sliceStart - started) / 1000;
    if (elapsed >= seconds) return;
    const busyUntil = sliceStart + SLICE_MS * dutyAt(elapsed, min, max, period);
    while (Date.now() < busyUntil) {
      // busy: this share of the slice is the load
    }
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, sliceStart + SLICE_MS - Date.now())));
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    () => process.exit(0),
    (error: Error) => {
      console.error(`demo-load: ${error.message}`);
      process.exit(2);
    },
  );
}
