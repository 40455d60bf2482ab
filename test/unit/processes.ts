import { readFileSync } from 'node:fs';

/** Whether `pid` is a live process (a zombie, exited but not yet reaped, counts as gone). Linux. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}
