// Money and time as the citizen reads them.
import { str } from './util.js';

/** Integer fen → "¥123.45", with integer arithmetic only. */
export function yuan(fen) {
  const n = typeof fen === 'string' && /^-?\d+$/.test(fen) ? Number(fen) : fen;
  if (!Number.isSafeInteger(n)) return '—';
  const abs = Math.abs(n);
  const cents = abs % 100;
  return `${n < 0 ? '-' : ''}¥${(abs - cents) / 100}.${String(cents).padStart(2, '0')}`;
}

const BEIJING = new Intl.DateTimeFormat('en-US', {
  timeZone: 'Asia/Shanghai', hourCycle: 'h23',
  year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
});

/** UTC milliseconds → Beijing time "YYYY-MM-DD HH:mm", whatever the device's time zone. */
export function fmtTime(ms) {
  if (typeof ms === 'string' && !/^\d+$/.test(ms)) return ms;
  const d = new Date(Number(ms));
  if (ms == null || Number.isNaN(d.getTime())) return '';
  const p = Object.fromEntries(BEIJING.formatToParts(d).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
}

